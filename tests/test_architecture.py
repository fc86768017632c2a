"""The rooms and their one-way doors (docs/architecture.md), checked.

The import contracts live in pyproject.toml and are checked by import-linter; these tests
run it, show that it catches an upward import, and check at run time that the engine
loads neither mpmath nor torch.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint(src: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(src)}
    return subprocess.run([str(LINT_IMPORTS), "--config", str(ROOT / "pyproject.toml"), "--no-cache"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_the_import_contracts_hold():
    res = _lint(ROOT / "src")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "2 kept, 0 broken" in res.stdout


@pytest.mark.parametrize("module, line, contract", [
    ("nn/model.py", "from actlab.claims import runner", "Rooms import only the rooms below them"),
    ("catalogue/registry.py", "import mpmath", "load neither mpmath nor torch"),
])
def test_an_import_against_the_direction_breaks_a_contract(tmp_path, module, line, contract):
    shutil.copytree(ROOT / "src" / "actlab", tmp_path / "actlab", ignore=shutil.ignore_patterns("__pycache__"))
    path = tmp_path / "actlab" / module
    path.write_text(path.read_text() + f"\n{line}  # noqa\n")
    res = _lint(tmp_path)
    assert res.returncode == 1
    assert contract in res.stdout and "BROKEN" in res.stdout


def test_the_engine_and_the_data_load_neither_mpmath_nor_torch():
    code = ("import sys, actlab, actlab.nn, actlab.data, actlab.runs; "
            "print(sorted(m for m in ('mpmath', 'torch', 'actlab.verify') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.strip() == "[]"
