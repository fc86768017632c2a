"""Memory: the check that refuses work before anything is allocated (used by the engine,
the data loaders and the model files alike).

Everything that can ask for an absurd amount of memory (an architecture, a batch size,
a model file's headers, an IDX header) is sized first, from its settings or headers, and
refused with one :class:`~actlab.errors.ActlabError` when the estimate exceeds the budget:

* ``max_memory`` when given (bytes, or a size such as ``"4G"``, ``"500M"``: see
  :func:`parse_memory`); the caller then takes responsibility for it, it may exceed the
  memory available;
* else the memory the machine has available now: ``MemAvailable`` of ``/proc/meminfo``,
  else ``sysconf(SC_AVPHYS_PAGES)`` (free pages), else no check (unknown).

Estimates are sums of the arrays a piece of work keeps at its peak (see
:func:`actlab.nn.model.memory_estimate` for a network), rounded up, never measured by trying; they are
meant to tell 600 GiB from 600 MiB, not to predict the resident size to the megabyte.
Work estimated below :data:`SMALL` is not checked against the machine (no file read).
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field

from .errors import ActlabError, shorten

__all__ = ["SMALL", "MemoryEstimate", "available_memory", "check_memory", "format_bytes", "parse_memory"]

#: below this estimate nothing is checked against the machine (unless max_memory is given)
SMALL = 64 * 2**20

_UNITS = {"": 1, "B": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40, "P": 2**50}


def available_memory() -> int | None:
    """Bytes the machine can give a new allocation now, or None if unknown.

    ``MemAvailable`` from ``/proc/meminfo`` (Linux: free memory plus what the page cache
    can give back), else free physical pages from ``os.sysconf``.
    """
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (OSError, ValueError, AttributeError):
        return None


def parse_memory(value: object, name: str = "max_memory", owner: str = "the memory check") -> int:
    """A memory size in bytes: an int, or a string such as ``"4G"``, ``"500M"``, ``"1.5GiB"``,
    ``"2e9"`` (units K, M, G, T, P are powers of 1024; a trailing ``B``/``iB`` is allowed).

    >>> parse_memory("4G"), parse_memory("500M"), parse_memory(1024)
    (4294967296, 524288000, 1024)
    """
    bad = ActlabError(f"The {name!r} parameter of {owner} must be a positive size such as 4G, 500M or a number of "
                      f"bytes. Got {shorten(value)} instead.")
    if isinstance(value, bool):
        raise bad
    if isinstance(value, int):
        number, unit = float(value), ""
    elif isinstance(value, float):
        number, unit = value, ""
    elif isinstance(value, str) and len(value) <= 40:
        m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*([kKmMgGtTpP]?)(?:i?[bB])?\s*", value)
        if m is None:
            raise bad
        number, unit = float(m.group(1)), m.group(2).upper()
    else:
        raise bad
    if not math.isfinite(number) or number <= 0:
        raise bad
    size = number * _UNITS[unit]
    if size < 1 or size > 2**62:
        raise bad
    return int(size)


def format_bytes(n: float) -> str:
    """``1536`` -> ``"1.5 KiB"``.

    >>> format_bytes(3 * 2**30), format_bytes(100)
    ('3.0 GiB', '100 B')
    """
    n = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(n) < 1024 or unit == "PiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError  # pragma: no cover


@dataclass
class MemoryEstimate:
    """Bytes a piece of work needs at its peak, by part (``parts``: name -> bytes)."""

    parts: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return int(sum(self.parts.values()))

    def add(self, name: str, nbytes: float) -> MemoryEstimate:
        """Add ``nbytes`` to the part ``name`` (parts of zero bytes are not kept)."""
        n = int(math.ceil(nbytes))
        if n:
            self.parts[name] = self.parts.get(name, 0) + n
        return self

    def describe(self, top: int = 3) -> str:
        """``"about 1.2 TiB (parameters 296.0 GiB, gradients 296.0 GiB, ...)"``: the biggest parts."""
        big = sorted(self.parts.items(), key=lambda kv: -kv[1])
        shown = ", ".join(f"{k} {format_bytes(v)}" for k, v in big[:top])
        more = ", ..." if len(big) > top else ""
        return f"about {format_bytes(self.total)}" + (f" ({shown}{more})" if len(big) > 1 else "")


def check_memory(estimate: MemoryEstimate | int, what: str, max_memory: object = None, hint: str = "") -> None:
    """Refuse (one ActlabError) when ``estimate`` exceeds ``max_memory`` (if given) or the
    memory available (:func:`available_memory`). ``what`` names the work, e.g.
    ``"training 784-100000000-10"``; ``hint`` says what to change."""
    est = estimate if isinstance(estimate, MemoryEstimate) else MemoryEstimate({"data": int(estimate)})
    need = est.total
    if max_memory is not None:
        limit, source = parse_memory(max_memory), "the max_memory budget"
    else:
        if need < SMALL:
            return
        limit, source = available_memory(), "available (MemAvailable)"
        if limit is None:
            return
    if need > limit:
        tail = f"; {hint}" if hint else ""
        budget = (f"{format_bytes(limit)} are {source}" if max_memory is None
                  else f"{source} is {format_bytes(limit)}")
        raise ActlabError(f"{what} needs {est.describe()} of memory but {budget}{tail}.")
