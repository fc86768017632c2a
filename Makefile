# Two entry points for a fresh machine (see README): `make report` and `make test`.
# Each creates .venv in the repository and installs what it needs into it.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: report test venv clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# The stamps re-run the install when pyproject.toml changes.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[test,peers]"
	touch $@ $(VENV)/.installed

venv: $(VENV)/.installed

report: $(VENV)/.installed
	$(BIN)/actlab report --out report

# Lint (ruff), the import contracts between the rooms (docs/architecture.md), then the suite.
test: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -n 2 --dist loadgroup -q

clean:
	rm -rf $(VENV) report
