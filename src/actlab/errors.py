"""Errors and argument validation shared by every part of actlab.

Every message follows one form, so that a user always learns the same four things:
which parameter, of what, what is allowed, and what was given, e.g.

    The 'alpha' parameter of elu must be a float in the range [0, inf). Got -1 instead.

All actlab errors derive from :class:`ActlabError` (a ``ValueError``), which the command
line turns into one line on stderr and exit status 2.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable

__all__ = [
    "ActlabError",
    "InvalidParameterError",
    "UnknownNameError",
    "check_real",
    "check_int",
    "check_choice",
    "closest",
]


class ActlabError(ValueError):
    """Base class of the errors actlab raises for bad input."""


class InvalidParameterError(ActlabError):
    """A parameter has a value outside its allowed set."""


class UnknownNameError(ActlabError, KeyError):
    """A name (activation, parameter, experiment, ...) is not known.

    Also a ``KeyError`` so that dict-like lookups behave as usual.
    """

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0])


def closest(given: str, allowed: Iterable[str]) -> str | None:
    """The allowed name closest to ``given``, or None if nothing is close."""
    matches = difflib.get_close_matches(str(given), list(allowed), n=1, cutoff=0.6)
    return matches[0] if matches else None


def unknown(kind: str, given: object, allowed: Iterable[str], owner: str | None = None) -> UnknownNameError:
    """Build the error for an unknown name, with the allowed names and a close match."""
    allowed = sorted(allowed)
    where = f" of {owner}" if owner else ""
    hint = closest(str(given), allowed)
    did_you_mean = f" Did you mean {hint!r}?" if hint else ""
    listed = ", ".join(allowed) if allowed else "(none)"
    return UnknownNameError(
        f"Unknown {kind}{where}: {given!r}.{did_you_mean} Allowed: {listed}."
    )


def _interval(low: float, high: float, low_open: bool, high_open: bool) -> str:
    lo = "-inf" if low == -math.inf else f"{low:g}"
    hi = "inf" if high == math.inf else f"{high:g}"
    left = "(" if low_open or low == -math.inf else "["
    right = ")" if high_open or high == math.inf else "]"
    return f"{left}{lo}, {hi}{right}"


def check_real(
    value: object,
    name: str,
    owner: str,
    low: float = -math.inf,
    high: float = math.inf,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """Return ``value`` as a float if it is a finite real number in the interval.

    >>> check_real(-1, "alpha", "elu", low=0)  # doctest: +NORMALIZE_WHITESPACE
    Traceback (most recent call last):
    ...
    actlab.errors.InvalidParameterError: The 'alpha' parameter of elu must be a float in the range [0, inf).
    Got -1 instead.
    """
    interval = _interval(low, high, low_open, high_open)
    msg = f"The {name!r} parameter of {owner} must be a float in the range {interval}. Got {value!r} instead."
    if isinstance(value, bool) or not isinstance(value, (int, float)) and not hasattr(value, "__float__"):
        raise InvalidParameterError(msg)
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InvalidParameterError(msg) from None
    if not math.isfinite(v) or v < low or v > high or (low_open and v == low) or (high_open and v == high):
        raise InvalidParameterError(msg)
    return v


def check_int(value: object, name: str, owner: str, low: int | None = None, high: int | None = None) -> int:
    """Return ``value`` as an int if it is an integer in ``[low, high]``."""
    lo = "-inf" if low is None else str(low)
    hi = "inf" if high is None else str(high)
    msg = f"The {name!r} parameter of {owner} must be an int in the range [{lo}, {hi}]. Got {value!r} instead."
    if isinstance(value, bool):
        raise InvalidParameterError(msg)
    try:
        v = int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError, OverflowError):
        raise InvalidParameterError(msg) from None
    if v != value or (low is not None and v < low) or (high is not None and v > high):
        raise InvalidParameterError(msg)
    return v


def check_choice(value: object, name: str, owner: str, choices: Iterable[str]) -> str:
    """Return ``value`` if it is one of ``choices``; name a close match otherwise."""
    choices = list(choices)
    if value in choices:
        return value  # type: ignore[return-value]
    hint = closest(str(value), choices)
    did_you_mean = f" Did you mean {hint!r}?" if hint else ""
    raise InvalidParameterError(
        f"The {name!r} parameter of {owner} must be one of {', '.join(map(repr, choices))}. "
        f"Got {value!r} instead.{did_you_mean}"
    )
