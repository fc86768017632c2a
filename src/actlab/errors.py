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
import numbers
from collections.abc import Iterable

__all__ = [
    "ActlabError",
    "InvalidParameterError",
    "UnknownNameError",
    "check_real",
    "check_int",
    "check_choice",
    "closest",
    "shorten",
]

#: Messages quote at most about this many characters of what a user gave (a spec string,
#: a value, a name), so that a 3,000-character input cannot flood a terminal or a log.
QUOTE_LIMIT = 80


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


def shorten(value: object, limit: int = QUOTE_LIMIT) -> str:
    """``repr(value)`` for a message, at most about ``limit`` characters long.

    A longer repr keeps its beginning and end around ``...`` and says the length of the
    whole, so a message stays one readable line; huge ints are never converted to decimal
    (quadratic, and refused by Python beyond 4300 digits).

    >>> shorten("elu(alpha=" + "-" * 3000 + "1)")
    "'elu(alpha=-----------------...----------------------1)' (3012 characters)"
    >>> shorten(0.5)
    '0.5'
    >>> shorten(-10 ** 400)
    '-100000000000000000000000000...0000000000000000000000000000 (401 digits)'
    """
    keep = max(limit - 24, 8)  # room for the "(3012 characters)" that follows
    head, tail = keep // 2, keep - keep // 2
    if isinstance(value, str):
        if len(value) <= limit and len(text := repr(value)) <= limit:
            return text
        a, b = value[:head], value[-tail:]
        while len(repr(a)) > head + 2:  # escapes (\x00, \U0001f600) lengthen a repr
            a = a[:-1]
        while len(repr(b)) > tail + 2:
            b = b[1:]
        ra, rb = repr(a), repr(b)
        quoted = ra[:-1] + "..." + rb[1:] if ra[-1] == rb[0] else ra + "..." + rb
        return f"{quoted} ({len(value)} characters)"
    if isinstance(value, int) and not isinstance(value, bool):
        if value.bit_length() > 10_000:  # decimal conversion is quadratic: say the size only
            return f"an int of about {int(value.bit_length() * math.log10(2)) + 1} digits"
        text = repr(value)
        if len(text) <= limit:
            return text
        return f"{text[:head]}...{text[-tail:]} ({len(text.lstrip('-'))} digits)"
    try:
        text = repr(value)
    except Exception:  # a repr that fails (or refuses, like a huge int inside a list)
        return f"a {type(value).__name__}"
    if len(text) <= limit:
        return text
    return f"{text[:head]}...{text[-tail:]} ({len(text)} characters of repr)"


def closest(given: str, allowed: Iterable[str]) -> str | None:
    """The allowed name closest to ``given``, or None if nothing is close (or ``given`` is
    far longer than any name: difflib's cost grows with the product of the lengths)."""
    allowed = list(allowed)
    if len(str(given)) > 2 * max((len(a) for a in allowed), default=0) + 10:
        return None
    matches = difflib.get_close_matches(str(given), allowed, n=1, cutoff=0.6)
    return matches[0] if matches else None


def unknown(kind: str, given: object, allowed: Iterable[str], owner: str | None = None) -> UnknownNameError:
    """Build the error for an unknown name, with the allowed names and a close match."""
    allowed = sorted(allowed)
    where = f" of {owner}" if owner else ""
    hint = closest(str(given), allowed) if isinstance(given, str) else None
    did_you_mean = f" Did you mean {hint!r}?" if hint else ""
    listed = ", ".join(allowed) if allowed else "(none)"
    return UnknownNameError(f"Unknown {kind}{where}: {shorten(given)}.{did_you_mean} Allowed: {listed}.")


def _not_real(value: object) -> bool:
    """True for bools and complex numbers (Python's or NumPy's, scalars or 0-d arrays), and
    NumPy object or string values: ``float()`` would take some of them (a complex with a
    ComplexWarning, dropping its imaginary part), but a bool is not a real parameter and a
    complex number is not a real one."""
    if isinstance(value, bool):
        return True
    if getattr(getattr(value, "dtype", None), "kind", None) in ("b", "c", "O", "S", "U", "V"):
        return True
    return isinstance(value, numbers.Complex) and not isinstance(value, numbers.Real)


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
    msg = f"The {name!r} parameter of {owner} must be a float in the range {interval}. Got {shorten(value)} instead."
    if _not_real(value) or not isinstance(value, (int, float)) and not hasattr(value, "__float__"):
        raise InvalidParameterError(msg)
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):  # OverflowError: an int beyond the float range
        raise InvalidParameterError(msg) from None
    if not math.isfinite(v) or v < low or v > high or (low_open and v == low) or (high_open and v == high):
        raise InvalidParameterError(msg)
    return v


def check_int(value: object, name: str, owner: str, low: int | None = None, high: int | None = None) -> int:
    """Return ``value`` as an int if it is an integer in ``[low, high]``."""
    lo = "-inf" if low is None else str(low)
    hi = "inf" if high is None else str(high)
    msg = f"The {name!r} parameter of {owner} must be an int in the range [{lo}, {hi}]. Got {shorten(value)} instead."
    if _not_real(value):
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
    if isinstance(value, str) and value in choices:
        return value
    hint = closest(value, choices) if isinstance(value, str) else None
    did_you_mean = f" Did you mean {hint!r}?" if hint else ""
    raise InvalidParameterError(
        f"The {name!r} parameter of {owner} must be one of {', '.join(map(repr, choices))}. "
        f"Got {shorten(value)} instead.{did_you_mean}"
    )
