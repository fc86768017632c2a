# Entry points for a fresh machine (see README): `make lab` (the main job), `make test`,
# and `make report`. Each creates .venv in the repository and installs what it needs.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: lab report test venv chromium clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# The stamps re-run the install when pyproject.toml changes.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-lab: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[lab]"
	touch $@ $(VENV)/.installed

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[test,peers,lab,dask]"
	touch $@ $(VENV)/.installed $(VENV)/.installed-lab

venv: $(VENV)/.installed

lab: $(VENV)/.installed-lab
	$(BIN)/actlab lab

report: $(VENV)/.installed
	$(BIN)/actlab report --out report

# The browser tests drive Debian's Chromium (Playwright's own browser download is not
# reachable here): install it when it is missing.
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
	  else sudo apt-get update -qq && sudo apt-get install -y -qq chromium >/dev/null; fi; }

# Lint (ruff), the import contracts between the rooms (docs/architecture.md), then the suite.
test: $(VENV)/.installed-test chromium
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -n 2 --dist loadgroup -q

clean:
	rm -rf $(VENV) report
