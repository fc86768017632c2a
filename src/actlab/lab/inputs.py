"""The Playground's data: the 2-D sets, the user's own CSV (validated) and input features.

A CSV file is text only: each row ``x1,x2,label`` (an optional header as the first
row, ``#`` comments and blank lines skipped; ``;`` or a tab also separate fields). It is
parsed here by hand, number by number (``float()`` on each field, nothing evaluated),
with a message naming the line of the first problem: a row with the wrong number of
fields, a field that is not a number, NaN or infinity, a label that is not a class
(classification takes 0/1 or -1/+1). At most :data:`~actlab.lab.protocol.MAX_CSV_BYTES` bytes and
:data:`~actlab.lab.protocol.MAX_ROWS` rows.

>>> d = parse_csv("x1,x2,label\\n" + "0.5,1,1\\n-2,0.25,-1\\n" * 5, "classification")
>>> d.X[:2].tolist(), d.y[:2].tolist(), len(d.y), d.task
([[0.5, 1.0], [-2.0, 0.25]], [1, 0], 10, 'classification')
>>> parse_csv("1,2,1\\n3,four,0\\n", "classification")
Traceback (most recent call last):
...
actlab.errors.ActlabError: line 2: 'four' is not a number
"""

from __future__ import annotations

import hashlib
import math
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from ..data import playground
from ..data.playground import PLAYGROUND
from ..errors import ActlabError
from .protocol import FEATURES, MAX_CSV_BYTES, MAX_ROWS

__all__ = ["Points", "parse_csv", "CsvStore", "features", "playground_points", "TASKS"]

TASKS = ("classification", "regression")


@dataclass(frozen=True, eq=False)
class Points:
    """A 2-D data set: ``X`` (n, 2) float64, ``y`` int64 0/1 or float64, and its task."""

    X: np.ndarray
    y: np.ndarray
    task: str
    name: str


def _number(text: str, line: int) -> float:
    t = text.strip()
    try:
        v = float(t)
    except ValueError:
        raise ActlabError(f"line {line}: {t[:40]!r} is not a number") from None
    if not math.isfinite(v):
        raise ActlabError(f"line {line}: {t[:40]!r} is not a finite number (NaN and infinity are refused)")
    return v


def parse_csv(text: str | bytes, task: str = "classification") -> Points:
    """Validated points from CSV text; :class:`ActlabError` naming the line otherwise."""
    if task not in TASKS:
        raise ActlabError(f"The task is 'classification' or 'regression'. Got {task!r} instead.")
    if isinstance(text, (bytes, bytearray)):
        if len(text) > MAX_CSV_BYTES:
            raise ActlabError(f"The file is larger than {MAX_CSV_BYTES // 1024} KB ({len(text):,} bytes).")
        try:
            text = bytes(text).decode("utf-8-sig")
        except UnicodeDecodeError as err:
            raise ActlabError(f"The file is not UTF-8 text (byte {err.start}).") from None
    elif len(text.encode("utf-8")) > MAX_CSV_BYTES:
        raise ActlabError(f"The file is larger than {MAX_CSV_BYTES // 1024} KB.")
    rows: list[tuple[float, float, float]] = []
    header_allowed = True  # the first row that is not a comment may name the columns
    for i, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        fields = [f for f in line.replace(";", ",").replace("\t", ",").split(",")]
        if len(fields) != 3:
            raise ActlabError(f"line {i}: expected 3 fields (x1, x2, label), got {len(fields)}")
        if header_allowed and not _is_number(fields[0]):
            header_allowed = False
            continue
        header_allowed = False
        x1, x2, label = (_number(f, i) for f in fields)
        if task == "classification":
            if label not in (0.0, 1.0, -1.0):
                raise ActlabError(f"line {i}: the label {fields[2].strip()[:40]!r} is not a class "
                                  "(use 0 and 1, or -1 and +1)")
            label = 1.0 if label == 1.0 else 0.0
        rows.append((x1, x2, label))
        if len(rows) > MAX_ROWS:
            raise ActlabError(f"line {i}: more than {MAX_ROWS:,} rows")
    if len(rows) < 10:
        raise ActlabError(f"The file holds {len(rows)} data rows; the Playground needs at least 10.")
    a = np.array(rows, dtype=np.float64)
    X = a[:, :2]
    if np.abs(X).max() > 1e6:
        raise ActlabError("Coordinates beyond 1e6 in magnitude: rescale the data (the input features square them).")
    if task == "classification":
        y = a[:, 2].astype(np.int64)
        if np.unique(y).size < 2:
            raise ActlabError("All rows have the same label: a classifier needs both classes.")
    else:
        y = a[:, 2].copy()
    digest = hashlib.sha256(X.tobytes() + y.tobytes() + task.encode()).hexdigest()[:16]
    return Points(X, y, task, f"csv:{digest}")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


class CsvStore:
    """The uploaded data sets, in memory, by name (``csv:`` + 16 hex digits of their hash).

    Bounded: the oldest are forgotten beyond ``keep`` files, so uploads cannot grow the
    server's memory without limit (a forgotten file is simply uploaded again).
    """

    def __init__(self, keep: int = 32) -> None:
        self.keep = keep
        self._items: OrderedDict[str, Points] = OrderedDict()

    def add(self, points: Points) -> str:
        self._items[points.name] = points
        self._items.move_to_end(points.name)
        while len(self._items) > self.keep:
            self._items.popitem(last=False)
        return points.name

    def get(self, name: str) -> Points | None:
        return self._items.get(name)


def playground_points(name: str, n: int, noise: float, rng: np.random.Generator) -> Points:
    """One of the Playground's sets (``actlab.data.playground``), drawn from ``rng``."""
    X, y = playground(name, n=n, noise=noise, seed=rng)
    return Points(X, y, PLAYGROUND[name][1], name)


def features(X: np.ndarray, names: tuple[str, ...]) -> np.ndarray:
    """The input features ``names`` (from :data:`~actlab.lab.protocol.FEATURES`) of 2-D
    points, as float32 columns in that order (the Playground's: x1, x2, their squares,
    product and sines, on the raw coordinates).

    >>> features(np.array([[1.0, 2.0]]), ("x1", "x1x2", "x2^2")).tolist()
    [[1.0, 2.0, 4.0]]
    """
    x1, x2 = X[:, 0], X[:, 1]
    make = {"x1": lambda: x1, "x2": lambda: x2, "x1^2": lambda: x1 * x1, "x2^2": lambda: x2 * x2,
            "x1x2": lambda: x1 * x2, "sin_x1": lambda: np.sin(x1), "sin_x2": lambda: np.sin(x2)}
    for n in names:
        if n not in FEATURES:
            raise ActlabError(f"Unknown feature {n!r}; the features are {', '.join(FEATURES)}.")
    return np.column_stack([make[n]() for n in names]).astype(np.float32)
