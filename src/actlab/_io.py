"""Writing results: the one atomic writer, the one JSON-of-NumPy converter, and the one
writer of a Markdown table with its JSON beside it.

Every file actlab writes goes through :func:`write_atomic`, so an interrupted run leaves
either the old file or the new one, never a torn one.
"""

from __future__ import annotations

import json
import math
import os
import secrets
import stat
from typing import Any

from .errors import ActlabError

__all__ = ["write_atomic", "to_jsonable", "dumps", "write_markdown_json"]


def write_atomic(path: str | os.PathLike, data: str | bytes) -> None:
    """Write a file so that readers see the old or the new content, never a partial one
    (a temporary file in the same folder, then ``os.replace``).

    The file gets the mode any new file gets (0o666 minus the umask, 0644 under the usual
    umask 022), or keeps the mode of the file it replaces. :func:`tempfile.mkstemp` would
    create the temporary file 0600, and ``os.replace`` would carry that over; reading the
    umask to correct it is racy (``os.umask`` sets it to read it, process-wide, under other
    threads), so the temporary file is created the way ``open()`` creates one, with mode
    0o666 that the kernel masks by the umask itself.
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = _create_temporary(folder, "." + os.path.basename(path) + ".")
    try:
        try:
            st = os.stat(path)
        except (FileNotFoundError, NotADirectoryError):
            st = None  # a new file: the umask's mode, already given by os.open
        if st is not None and stat.S_ISREG(st.st_mode) and hasattr(os, "fchmod"):
            os.fchmod(fd, stat.S_IMODE(st.st_mode) & 0o777)
        with os.fdopen(fd, "wb") as fh:
            fd = -1
            fh.write(data.encode() if isinstance(data, str) else data)
        os.replace(tmp, path)
    except BaseException:
        if fd >= 0:
            os.close(fd)
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _create_temporary(folder: str, prefix: str) -> tuple[int, str]:
    """Create a new file ``folder/prefix<random>.tmp`` as :func:`tempfile.mkstemp` does
    (``O_EXCL``, another name on a collision) but with mode 0o666 masked by the umask."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
    for _ in range(100):
        tmp = os.path.join(folder, prefix + secrets.token_hex(6) + ".tmp")
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"No usable temporary file name found in {folder}")


def to_jsonable(obj: Any, *, strict: bool = False) -> Any:
    """NumPy scalars and arrays as Python numbers and lists, tuples as lists, keys as strings.

    Non-finite floats stay floats (JSON's NaN/Infinity extension, which :mod:`json` reads
    back exactly: what the cell cache needs), or with ``strict=True`` become the strings
    ``"nan"``, ``"inf"`` and ``"-inf"`` (strict JSON, for files other tools read).

    >>> import numpy as np
    >>> to_jsonable({"a": np.float32(0.5), 1: (np.arange(2), np.nan)})
    {'a': 0.5, '1': [[0, 1], nan]}
    >>> to_jsonable([np.inf, -np.inf], strict=True)
    ['inf', '-inf']
    """
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v, strict=strict) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v, strict=strict) for v in obj]
    if hasattr(obj, "tolist"):  # ndarray and NumPy scalars
        return to_jsonable(obj.tolist(), strict=strict)
    if isinstance(obj, float):
        return str(obj) if strict and not math.isfinite(obj) else obj
    if obj is None or isinstance(obj, (bool, int, str)):
        return obj
    raise ActlabError(f"A result must be JSON-able (numbers, strings, lists, dicts). Got {type(obj).__name__} instead.")


def dumps(obj: Any, *, strict: bool = True, indent: int | None = 1) -> str:
    """``obj`` as JSON text (see :func:`to_jsonable` for ``strict``), ending in a newline."""
    return json.dumps(to_jsonable(obj, strict=strict), indent=indent, allow_nan=not strict) + "\n"


def write_markdown_json(out_dir: str | os.PathLike, stem: str, markdown: str, result: Any) -> list[str]:
    """Write ``stem.md`` (``markdown``) and ``stem.json`` (``result``, strict JSON) into
    ``out_dir`` atomically; return the two paths."""
    md = os.path.join(out_dir, f"{stem}.md")
    js = os.path.join(out_dir, f"{stem}.json")
    write_atomic(md, markdown if markdown.endswith("\n") else markdown + "\n")
    write_atomic(js, dumps(result))
    return [md, js]
