"""Downloading MNIST-format files.

:func:`download` fetches the four files from a mirror with ``urllib``, resumes a
partial ``.part`` file with an HTTP Range request, verifies the checksum and moves
the file into place atomically (``os.replace``).
"""

from __future__ import annotations

import gzip
import http.client
import os
import zlib
from dataclasses import dataclass
from pathlib import Path

from ..errors import ActlabError, check_choice, check_real
from .idx import _GZIP_MAGIC, ENV_VAR, FILES, KNOWN, MIRRORS, _identify, bundled_dir

__all__ = ["Fetched", "download"]


@dataclass(frozen=True)
class Fetched:
    """The outcome of one file of :func:`download`."""

    path: Path
    status: str  # "present", "downloaded", "resumed" or "replaced"
    identity: tuple[str, str, str]


def _verify_file(path: Path, dataset: str, role: str) -> tuple[str, tuple[str, str, str] | None]:
    raw = path.read_bytes()

    def content() -> bytes:
        try:
            return gzip.decompress(raw) if raw[:2] == _GZIP_MAGIC else raw
        except (OSError, EOFError, zlib.error):
            return b""

    sha, ident = _identify(raw, content)
    if ident is not None and ident[:2] != (dataset, role):
        ident = None
    return sha, ident


def _fetch(url: str, part: Path, name: str, timeout: float, progress: bool | None) -> bool:
    """Append the rest of ``url`` to ``part`` (Range request); True if it resumed."""
    import urllib.error
    import urllib.request

    from tqdm import tqdm

    start = part.stat().st_size if part.exists() else 0
    headers = {"User-Agent": "actlab"}
    if start:
        headers["Range"] = f"bytes={start}-"
    try:
        resp = urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout)
    except urllib.error.HTTPError as err:
        if err.code == 416 and start:  # the partial file is already complete (or longer)
            err.close()
            return True
        err.close()
        raise ActlabError(f"Mirror answered HTTP {err.code} ({err.reason}) for {url}") from None
    except urllib.error.URLError as err:
        raise ActlabError(f"Cannot reach mirror for {url}: {err.reason}") from None
    except (OSError, http.client.HTTPException) as err:
        raise ActlabError(f"Cannot reach mirror for {url}: {err}") from None
    with resp:
        resumed = bool(start) and resp.status == 206
        if start and not resumed:
            start = 0  # the server ignored the Range request: start over
        elif resumed and not (resp.headers.get("Content-Range") or "").startswith(f"bytes {start}-"):
            raise ActlabError(f"Mirror sent a bad Content-Range {resp.headers.get('Content-Range')!r} for {url}")
        length = resp.headers.get("Content-Length")
        total = start + int(length) if length and length.isdigit() else None
        got = start
        try:
            with open(part, "ab" if resumed else "wb") as f, tqdm(
                total=total, initial=start, unit="B", unit_scale=True, unit_divisor=1024, desc=name,
                disable=None if progress is None else not progress, leave=False,
            ) as bar:
                while chunk := resp.read(1 << 16):
                    f.write(chunk)
                    got += len(chunk)
                    bar.update(len(chunk))
                f.flush()
                os.fsync(f.fileno())
        except (OSError, http.client.HTTPException) as err:
            raise ActlabError(f"Download of {url} interrupted after {got:,} bytes ({err}); "
                              f"run again to resume") from None
    if total is not None and got != total:
        raise ActlabError(f"Download of {url} interrupted after {got:,} of {total:,} bytes; run again to resume")
    return resumed


def download(
    dataset: str = "mnist",
    *,
    mirror: str | None = None,
    directory: str | os.PathLike | None = None,
    progress: bool | None = None,
    timeout: float = 30.0,
) -> list[Fetched]:
    """Fetch the four ``.gz`` files of ``dataset`` into ``directory`` and verify them.

    ``mirror`` is a base URL (``http://`` or ``https://``; default :data:`MIRRORS`), to
    which the file names are appended. ``directory`` defaults to ``$ACTLAB_DATA/<dataset>``
    or else the repository's ``data/<dataset>``. A file already present that verifies is
    kept; otherwise the bytes go to ``<name>.part`` — continued with an HTTP Range request
    if a previous run left one — and, once the checksum matches one of :data:`KNOWN`,
    ``os.replace`` moves it into place. A checksum mismatch deletes the ``.part`` file
    and raises. ``progress``: tqdm bar (None: only on a terminal).
    """
    check_choice(dataset, "dataset", "download", KNOWN)
    base = (mirror or MIRRORS[dataset]).rstrip("/")
    if not base.startswith(("http://", "https://")):
        raise ActlabError(f"The 'mirror' parameter of download must be an http:// or https:// URL. Got {base!r}.")
    timeout = check_real(timeout, "timeout", "download", low=0, low_open=True)
    if directory is not None:
        target = Path(directory).expanduser()
    elif os.environ.get(ENV_VAR):
        target = Path(os.environ[ENV_VAR]).expanduser() / dataset
    else:
        target = bundled_dir().parent / dataset
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ActlabError(f"Cannot create download directory {target}: {err.strerror or err}") from None
    results = []
    for role, stem in FILES.items():
        name = stem + ".gz"
        dest, part, url = target / name, target / (name + ".part"), f"{base}/{name}"
        status = "downloaded"
        if dest.is_file():
            _, ident = _verify_file(dest, dataset, role)
            if ident is not None:
                results.append(Fetched(dest, "present", ident))
                continue
            status = "replaced"
        if _fetch(url, part, name, timeout, progress):
            status = "resumed"
        sha, ident = _verify_file(part, dataset, role)
        if ident is None:
            part.unlink()
            raise ActlabError(f"Checksum mismatch for {name} from {url}: sha256 {sha} matches no published "
                              f"checksum of {dataset} {role}; the partial file was removed")
        os.replace(part, dest)
        results.append(Fetched(dest, status, ident))
    return results


