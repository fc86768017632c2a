"""The README's Python examples are run as doctests, so they stay true."""

import doctest
from pathlib import Path

from actlab.formula import undefine


def test_readme_examples():
    readme = Path(__file__).resolve().parents[1] / "README.md"
    try:
        result = doctest.testfile(str(readme), module_relative=False, optionflags=doctest.ELLIPSIS)
    finally:  # the README defines an activation: the registry is shared with the other tests
        undefine("swish_b")
    assert result.attempted >= 4 and result.failed == 0
