"""MNIST-format data: IDX files (decode, verify), locating and loading data sets, helpers.

    Four IDX files (see :data:`FILES`), gzip-compressed or raw. :func:`load_idx` decodes
    one file with the stdlib ``gzip`` module and ``numpy.frombuffer`` (zero copy), after
    checking everything the header promises against the bytes that follow, so a bad
    file gives one :class:`~actlab.errors.ActlabError` naming the file and the fault,
    never a NumPy or gzip traceback. The header is read first: the memory its data needs
    is checked against ``max_memory`` or the memory available, and a gzip stream is
    decompressed chunk by chunk into a buffer of exactly the announced size, so a stream
    that holds more (a small file of zeros that inflates to gigabytes) is refused as soon
    as it passes that size. :func:`idx_header` and :func:`data_shapes` read headers only.
    :func:`load_mnist` / :func:`load_dataset` find the four files, in this order, in

    1. the ``data`` argument (a directory),
    2. the directory named by the environment variable ``ACTLAB_DATA``,
    3. the repository's bundled copy, ``data/mnist`` (``src/actlab/../../data/mnist``);

    in 1 and 2 the files may also sit in a ``mnist`` subdirectory. Any dataset in the same
    format and with the same file names loads the same way (Fashion-MNIST, KMNIST, or
    EMNIST with its ``emnist-digits-`` name prefix). Files are identified by checksum
    (:data:`KNOWN`): a file matching a published checksum is "verified"; an unknown
    checksum is accepted and reported as such (:attr:`Dataset.checksums`,
    ``actlab data info``); only the bundled copy and downloads must verify.

    Decoded arrays are cached in memory (``functools.lru_cache``, keyed by path, size and
    modification time) and returned **read-only**, because experiments load the same data
    many times; take ``.copy()`` to write into one.

Helpers
    :func:`normalize`, :func:`pixel_stats`, :func:`train_val_split`, :func:`one_hot`,
    :func:`batches` (shuffled mini-batches gathered into reused buffers).

Downloads are in :mod:`actlab.data.download`, the Playground 2-D sets in
:mod:`actlab.data.playground`.
"""

from __future__ import annotations

import contextlib
import functools
import gzip
import hashlib
import io
import math
import os
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal

import numpy as np

from .._memory import check_memory
from ..errors import ActlabError, check_choice, check_int, check_real

__all__ = [
    "FILES", "KNOWN", "MIRRORS", "SPLITS", "Dataset", "IdxFile", "batches", "bundled_dir", "data_shapes", "find_data",
    "idx_header", "info", "load_dataset", "load_idx", "load_mnist", "normalize", "one_hot", "pixel_stats", "read_idx",
    "train_val_split",
]

ENV_VAR = "ACTLAB_DATA"

#: The four files of an MNIST-format dataset, by role. Each may end in ``.gz`` or not.
FILES: dict[str, str] = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
SPLITS = ("train", "test")

#: Published checksums, by dataset and role. ``sha256``: of the file as bundled here;
#: ``md5``: of the ``.gz`` as originally distributed; ``content_md5``: of the decompressed
#: IDX bytes as published. A file matching any one of them is that file. MNIST: see
#: data/mnist/README.md (the bundled test files were re-compressed, so their gz MD5 differs
#: from the published one while their content MD5 matches). Fashion-MNIST: the gz MD5s
#: of its README (github.com/zalandoresearch/fashion-mnist), also used by torchvision.
KNOWN: dict[str, dict[str, dict[str, str]]] = {
    "mnist": {
        "train_images": {
            "sha256": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
            "md5": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
            "content_md5": "6bbc9ace898e44ae57da46a324031adb",
        },
        "train_labels": {
            "sha256": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
            "md5": "d53e105ee54ea40749a09fcbcd1e9432",
            "content_md5": "a25bea736e30d166cdddb491f175f624",
        },
        "test_images": {
            "sha256": "1141e110c7bfd7e6deedc3bb3e0a38d4c31841ab3bc99b2bed6d9bedb14c8ebe",
            "md5": "9fb629c4189551a2d022fa330f9573f3",
            "content_md5": "2646ac647ad5339dbf082846283269ea",
        },
        "test_labels": {
            "sha256": "51be193814032ddfce96337c0c5d5aca47b30ca8a457c7b735ed93d96be57a3d",
            "md5": "ec29112dd5afa0611ce80d1b7f02629c",
            "content_md5": "27ae3e4e09519cfbb04c329615203637",
        },
    },
    "fashion-mnist": {
        "train_images": {"md5": "8d4fb7e6c68d591d4c3dfef9ec88bf0d"},
        "train_labels": {"md5": "25c81989df183df01b3e8a0aad5dffbe"},
        "test_images": {"md5": "bef4ecab320f06d8554ea6380940ec79"},
        "test_labels": {"md5": "bb300cfdad3c16e7a12a480ee83cd310"},
    },
}

#: Default download mirrors (base URLs; the file names are appended).
MIRRORS: dict[str, str] = {
    "mnist": "https://ossci-datasets.s3.amazonaws.com/mnist",
    "fashion-mnist": "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com",
}

# digest -> (dataset, role, which checksum)
_BY_DIGEST: dict[str, tuple[str, str, str]] = {
    digest: (ds, role, kind)
    for ds, roles in KNOWN.items()
    for role, digests in roles.items()
    for kind, digest in digests.items()
}


# --------------------------------------------------------------------------- IDX files

MAGIC_LABELS = 2049  # 0x00000801: unsigned bytes, 1 dimension
MAGIC_IMAGES = 2051  # 0x00000803: unsigned bytes, 3 dimensions
_IDX_TYPES = {
    0x08: np.dtype("u1"),
    0x09: np.dtype("i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_GZIP_MAGIC = b"\x1f\x8b"


def _describe_magic(magic: int) -> str:
    code, ndim = (magic >> 8) & 0xFF, magic & 0xFF
    kind = _IDX_TYPES[code].name if code in _IDX_TYPES else f"unknown type 0x{code:02X}"
    return f"{magic} (0x{magic:08X}: {kind}, {ndim}-D)"


@dataclass(frozen=True, eq=False)
class IdxFile:
    """One decoded IDX file and what its checksum says about it."""

    path: Path
    array: np.ndarray  # read-only, native byte order
    magic: int
    compressed: bool
    sha256: str  # of the file's bytes
    identity: tuple[str, str, str] | None  # (dataset, role, checksum kind) if recognised

    @property
    def status(self) -> str:
        """``"verified mnist train_images (sha256)"`` or ``"unknown checksum"``."""
        if self.identity is None:
            return "unknown checksum"
        ds, role, kind = self.identity
        return f"verified {ds} {role} ({kind.replace('_', ' ')})"


def _fail(path: Path, what: str) -> ActlabError:
    return ActlabError(f"IDX file {path}: {what}")


def _identify(raw: bytes, content: bytes | Callable[[], bytes]) -> tuple[str, tuple[str, str, str] | None]:
    """sha256 of ``raw`` and the (dataset, role, kind) it is recognised as, if any."""
    sha = hashlib.sha256(raw).hexdigest()
    hit = _BY_DIGEST.get(sha)
    if hit is None:
        hit = _BY_DIGEST.get(hashlib.md5(raw, usedforsecurity=False).hexdigest())
    if hit is None and raw[:2] == _GZIP_MAGIC:  # a raw file's content md5 was checked just above
        body = content() if callable(content) else content
        hit = _BY_DIGEST.get(hashlib.md5(body, usedforsecurity=False).hexdigest())
        if hit is not None and hit[2] != "content_md5":
            hit = None
    return sha, hit


# ---- memory: a file's header says how much its data needs; that is checked first

def _check_max_memory(max_memory: int | None, owner: str) -> int | None:
    if max_memory is None:
        return None
    return check_int(max_memory, "max_memory", owner, low=1)


def _check_memory(path: Path, need: int, what: str, max_memory: int | None) -> None:
    try:
        check_memory(need, what, max_memory, hint="pass max_memory= (bytes) to set the budget")
    except ActlabError as err:
        raise _fail(path, str(err)) from None


def _header(path: Path, head: bytes, magic_expected: int | None) -> tuple[int, tuple[int, ...], np.dtype, int]:
    """(magic, shape, dtype, header length) from the first bytes of an IDX file."""
    if len(head) < 4:
        raise _fail(path, f"too short for an IDX header ({len(head)} bytes)")
    magic = int.from_bytes(head[:4], "big")
    code, ndim = head[2], head[3]
    if head[0] or head[1] or code not in _IDX_TYPES or ndim == 0:
        raise _fail(path, f"not an IDX file: bad magic number {_describe_magic(magic)}; "
                          f"expected e.g. {_describe_magic(MAGIC_IMAGES)} for images or "
                          f"{_describe_magic(MAGIC_LABELS)} for labels")
    if magic_expected is not None and magic != magic_expected:
        raise _fail(path, f"wrong magic number {_describe_magic(magic)}; expected {_describe_magic(magic_expected)}")
    header = 4 + 4 * ndim
    if len(head) < header:
        raise _fail(path, f"truncated header: {ndim} dimensions need {header} bytes, the file has {len(head)}")
    shape = tuple(int.from_bytes(head[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    return magic, shape, _IDX_TYPES[code], header


def _length_error(path: Path, shape: tuple[int, ...], dtype: np.dtype, have: int) -> ActlabError:
    need = math.prod(shape) * dtype.itemsize
    dims = "x".join(map(str, shape))
    if have < need:
        return _fail(path, f"truncated: the header announces {dims} {dtype.name} ({need:,} bytes of data) "
                           f"but only {have:,} bytes follow")
    return _fail(path, f"{have - need:,} unexpected bytes after the {dims} {dtype.name} data "
                       f"announced by the header (corrupted or not an IDX file)")


def _array(body: bytes | bytearray, header: int, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    arr = np.frombuffer(body, dtype=dtype, count=math.prod(shape), offset=header).reshape(shape)
    if dtype.byteorder == ">":
        arr = arr.astype(dtype.newbyteorder("="))
    arr.flags.writeable = False
    return arr


def _parse_idx(path: Path, body: bytes, magic_expected: int | None,
               max_memory: int | None = None) -> tuple[np.ndarray, int]:
    magic, shape, dtype, header = _header(path, body, magic_expected)
    need = math.prod(shape) * dtype.itemsize
    if len(body) - header != need:
        raise _length_error(path, shape, dtype, len(body) - header)
    if dtype.byteorder == ">":
        _check_memory(path, need, f"converting its {'x'.join(map(str, shape))} {dtype.name} data", max_memory)
    return _array(body, header, shape, dtype), magic


@contextlib.contextmanager
def _gzip_errors(path: Path) -> Iterator[None]:
    try:
        yield
    except EOFError:
        raise _fail(path, "the gzip stream ends early (truncated file); download it again") from None
    except (OSError, zlib.error) as err:  # gzip.BadGzipFile is an OSError
        raise _fail(path, f"corrupted gzip data ({err}); download it again") from None


def _read_head(stream: BinaryIO) -> bytes:
    """The header bytes of an IDX stream (fewer if the stream ends first)."""
    head = stream.read(4)
    if len(head) == 4:
        head += stream.read(4 * head[3])
    return head


#: decompressed bytes per read: the body is filled in place, chunk by chunk
_CHUNK = 1 << 20


def _decompress(path: Path, raw: bytes, magic_expected: int | None = None,
                max_memory: int | None = None) -> tuple[bytearray, int, tuple[int, ...], np.dtype, int]:
    """Decompress a gzip IDX file into its body, streaming: the header is read first, the
    memory its data needs checked, then exactly that many bytes are decompressed; a stream
    that holds more than the header announces is refused at once (never decompressed to
    its end), as is one that holds less. Returns (body, magic, shape, dtype, header length)."""
    with _gzip_errors(path):
        f = gzip.GzipFile(fileobj=io.BytesIO(raw))
        head = _read_head(f)
        magic, shape, dtype, header = _header(path, head, magic_expected)
        need = math.prod(shape) * dtype.itemsize
        dims = f"{'x'.join(map(str, shape))} {dtype.name}"
        _check_memory(path, len(raw) + header + need * (2 if dtype.byteorder == ">" else 1),
                      f"decompressing the {dims} data its header announces", max_memory)
        body = bytearray(header + need)
        body[:header] = head
        pos = header
        while pos < len(body):
            chunk = f.read(min(_CHUNK, len(body) - pos))
            if not chunk:
                raise _length_error(path, shape, dtype, pos - header)
            body[pos:pos + len(chunk)] = chunk
            pos += len(chunk)
        if f.read(1):  # also completes the CRC and length check of the gzip member
            raise _fail(path, f"unexpected bytes after the {dims} data announced by the header (corrupted or "
                              f"not an IDX file); decompression stopped there")
    return body, magic, shape, dtype, header


@functools.lru_cache(maxsize=8)
def _read_cached(path: str, size: int, mtime_ns: int, inode: int, magic: int | None,
                 max_memory: int | None = None) -> IdxFile:
    # size, mtime and inode are only cache keys: a replaced or rewritten file is read again.
    p = Path(path)
    _check_memory(p, size, "reading the file", max_memory)
    try:
        raw = p.read_bytes()
    except OSError as err:
        raise _fail(p, f"cannot be read ({err.strerror or err})") from None
    compressed = raw[:2] == _GZIP_MAGIC
    if compressed:
        body, found, shape, dtype, header = _decompress(p, raw, magic, max_memory)
        arr = _array(body, header, shape, dtype)
    else:
        body = raw
        arr, found = _parse_idx(p, raw, magic, max_memory)
    sha, identity = _identify(raw, body)
    return IdxFile(path=p, array=arr, magic=found, compressed=compressed, sha256=sha, identity=identity)


def read_idx(path: str | os.PathLike, *, magic: int | None = None, max_memory: int | None = None) -> IdxFile:
    """Decode an IDX file (gzip or raw) with its checksum status; see :func:`load_idx`."""
    max_memory = _check_max_memory(max_memory, "read_idx")
    p = Path(path).expanduser()
    try:
        st = p.resolve().stat()
    except OSError:
        raise _fail(p, "does not exist" if not p.exists() else "cannot be read") from None
    if not p.is_file():
        raise _fail(p, "is not a file")
    return _read_cached(str(p.resolve()), st.st_size, st.st_mtime_ns, st.st_ino, magic, max_memory)


def idx_header(path: str | os.PathLike, *, magic: int | None = None) -> tuple[int, tuple[int, ...], np.dtype]:
    """``(magic, shape, dtype)`` of an IDX file (gzip or raw) from its header alone: only
    its first bytes are read or decompressed. What a caller sizes before loading it.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "tiny-idx1-ubyte"
    >>> _ = p.write_bytes(bytes([0, 0, 8, 1, 0, 0, 0, 3, 7, 8, 9]))
    >>> idx_header(p)
    (2049, (3,), dtype('uint8'))
    """
    p = Path(path).expanduser()
    if not p.is_file():
        raise _fail(p, "does not exist" if not p.exists() else "is not a file")
    try:
        with open(p, "rb") as fh:
            compressed = fh.read(2) == _GZIP_MAGIC
            fh.seek(0)
            if compressed:
                with _gzip_errors(p), gzip.GzipFile(fileobj=fh) as f:
                    head = _read_head(f)
            else:
                head = _read_head(fh)
    except OSError as err:
        raise _fail(p, f"cannot be read ({err.strerror or err})") from None
    found, shape, dtype, _ = _header(p, head, magic)
    return found, shape, dtype.newbyteorder("=")


def load_idx(path: str | os.PathLike, *, magic: int | None = None, max_memory: int | None = None) -> np.ndarray:
    """The array stored in an IDX file, read-only, native byte order.

    IDX: a big-endian header ``0x00 0x00 <type> <ndim>`` then ``ndim`` uint32 sizes, then
    the data row-major. Type codes: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32,
    0x0D float32, 0x0E float64; MNIST images are 2051 (uint8, 3-D), labels 2049 (uint8,
    1-D). Gzip is detected from the content, not the name. ``magic`` demands one magic
    number. The data length must equal what the header announces exactly; a gzip stream
    is decompressed only up to that length (anything beyond it is refused unread).

    The memory the header announces is checked first against ``max_memory`` (bytes;
    default: the memory available, ``MemAvailable``), so an absurd header is refused
    before anything is allocated.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "tiny-idx1-ubyte"
    >>> _ = p.write_bytes(bytes([0, 0, 8, 1, 0, 0, 0, 3, 7, 8, 9]))
    >>> load_idx(p)
    array([7, 8, 9], dtype=uint8)
    >>> load_idx(p, magic=2051)  # doctest: +NORMALIZE_WHITESPACE
    Traceback (most recent call last):
    ...
    actlab.errors.ActlabError: IDX file .../tiny-idx1-ubyte: wrong magic number 2049 (0x00000801: uint8, 1-D);
    expected 2051 (0x00000803: uint8, 3-D)
    """
    return read_idx(path, magic=magic, max_memory=max_memory).array


# --------------------------------------------------------------------------- locating

def bundled_dir() -> Path:
    """The repository's bundled MNIST directory, ``src/actlab/../../data/mnist``."""
    return Path(__file__).resolve().parents[3] / "data" / "mnist"


def _find_file(directory: Path, base: str) -> Path | None:
    for name in (base + ".gz", base):
        if (directory / name).is_file():
            return directory / name
    # Prefixed names, e.g. EMNIST's "emnist-digits-train-images-idx3-ubyte.gz".
    for pattern in (f"*-{base}.gz", f"*-{base}"):
        hits = sorted(p for p in directory.glob(pattern) if p.is_file())
        if len(hits) == 1:
            return hits[0]
        if len(hits) > 1:
            raise ActlabError(f"Several files for {base} in {directory}: {', '.join(h.name for h in hits)}; "
                              f"keep one per directory")
    return None


def _files_in(directory: Path) -> dict[str, Path] | None:
    found = {role: _find_file(directory, base) for role, base in FILES.items()}
    return found if all(found.values()) else None  # type: ignore[return-value]


def find_data(data: str | os.PathLike | None = None) -> tuple[dict[str, Path], str]:
    """The four MNIST-format files (role -> path) and where they were found.

    The second value is ``"argument"``, ``"ACTLAB_DATA"`` or ``"bundled"``. A directory
    given by argument or environment is searched itself, then its ``mnist`` subdirectory;
    it is an error if neither holds the four files (no silent fall-back to other data).
    """
    if data is not None:
        candidates, source = Path(data).expanduser(), "argument"
    elif os.environ.get(ENV_VAR):
        candidates, source = Path(os.environ[ENV_VAR]).expanduser(), ENV_VAR
    else:
        d = bundled_dir()
        files = _files_in(d) if d.is_dir() else None
        if files is None:
            raise ActlabError(f"The bundled MNIST directory {d} is missing or incomplete (is actlab installed "
                              f"outside its repository?); set {ENV_VAR}, pass a directory, or run "
                              f"'actlab data download'")
        return files, "bundled"
    where = f"{candidates} (from {'the data argument' if source == 'argument' else source})"
    if not candidates.is_dir():
        raise ActlabError(f"Data directory {where} does not exist or is not a directory")
    for d in (candidates, candidates / "mnist"):
        if d.is_dir() and (files := _files_in(d)) is not None:
            return files, source
    missing = [b for b in FILES.values() if _find_file(candidates, b) is None]
    raise ActlabError(f"No MNIST-format data in {where}: missing {', '.join(m + '[.gz]' for m in missing)}. "
                      f"Put the four IDX files there or run 'actlab data download --dir {candidates}'")


_MAGIC = {"images": MAGIC_IMAGES, "labels": MAGIC_LABELS}


def data_shapes(data: str | os.PathLike | None = None) -> dict[str, tuple[int, ...]]:
    """role -> shape of the four files of an MNIST-format dataset (found as by
    :func:`find_data`), from their headers alone: what a caller sizes before loading.

    >>> data_shapes()["test_images"]
    (10000, 28, 28)
    """
    files, _ = find_data(data)
    return {role: idx_header(p, magic=_MAGIC[role.split("_")[1]])[1] for role, p in files.items()}


def _checked(files: dict[str, Path], source: str, max_memory: int | None = None) -> dict[str, IdxFile]:
    """Decode the four files and check them against each other and their checksums."""
    out = {role: read_idx(p, magic=_MAGIC[role.split("_")[1]], max_memory=max_memory) for role, p in files.items()}
    for role, f in out.items():
        if f.array.size == 0:
            raise _fail(f.path, f"holds no {role.split('_')[1][:-1]} data (shape "
                                f"{'x'.join(map(str, f.array.shape))}): a data set needs at least one example "
                                f"in each split")
        if f.identity is not None and f.identity[1] != role:
            ds, other, kind = f.identity
            raise _fail(f.path, f"its {kind} checksum is that of the {ds} {other} file, not {role}")
        if source == "bundled" and (f.identity is None or f.identity[0] != "mnist"):
            raise _fail(f.path, f"the bundled MNIST copy fails its checksum (sha256 {f.sha256}); restore it "
                                f"(git checkout data/mnist, or 'actlab data download')")
    for split in SPLITS:
        X, y = out[f"{split}_images"], out[f"{split}_labels"]
        if len(X.array) != len(y.array):
            raise ActlabError(f"Image/label count mismatch in the {split} split: {X.path} holds "
                              f"{len(X.array):,} images but {y.path} holds {len(y.array):,} labels")
    if out["train_images"].array.shape[1:] != out["test_images"].array.shape[1:]:
        raise ActlabError(f"Train and test images differ in size: {out['train_images'].array.shape[1:]} in "
                          f"{out['train_images'].path}, {out['test_images'].array.shape[1:]} in "
                          f"{out['test_images'].path}")
    return out


# --------------------------------------------------------------------------- loading

@dataclass(frozen=True, eq=False)
class Dataset:
    """An MNIST-format dataset, prepared as asked (arrays read-only and cached)."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    directory: Path
    source: str  # "argument", "ACTLAB_DATA" or "bundled"
    files: dict[str, IdxFile]

    @property
    def name(self) -> str:
        """The dataset the checksums identify (``"mnist"``, ...), else ``"unknown"``."""
        names = {f.identity[0] if f.identity else None for f in self.files.values()}
        return names.pop() if len(names) == 1 and None not in names else "unknown"  # type: ignore[return-value]

    @property
    def verified(self) -> bool:
        return all(f.identity is not None for f in self.files.values())

    @property
    def checksums(self) -> dict[str, str]:
        """role -> checksum status, e.g. ``"verified mnist train_images (sha256)"``."""
        return {role: f.status for role, f in self.files.items()}

    @property
    def num_classes(self) -> int:
        return _classes(self.files)


Normalize = bool | Literal["standardize"]


def _stat_key(path: Path) -> tuple[str, int, int, int]:
    st = path.stat()
    return str(path.resolve()), st.st_size, st.st_mtime_ns, st.st_ino


@functools.lru_cache(maxsize=4)
def _train_stats(key: tuple[str, int, int, int]) -> tuple[float, float]:
    return pixel_stats(read_idx(key[0], magic=MAGIC_IMAGES).array)


@functools.lru_cache(maxsize=8)
def _prepared(x_key, y_key, stats_key, norm, flatten, dtype_str, classes, max_memory=None):
    """One split, converted; ``classes`` > 0 asks for one-hot labels."""
    X = read_idx(x_key[0], magic=MAGIC_IMAGES, max_memory=max_memory).array
    y = read_idx(y_key[0], magic=MAGIC_LABELS, max_memory=max_memory).array
    dtype = np.dtype(dtype_str)
    need = X.size * dtype.itemsize + len(y) * (classes * dtype.itemsize if classes else 8)
    _check_memory(Path(x_key[0]), need, f"converting its {len(X):,} images to {dtype.name}", max_memory)
    if norm == "standardize":
        mean, std = _train_stats(stats_key)
        X = normalize(X, standardize=True, mean=mean, std=std, dtype=dtype)
    elif norm:
        X = normalize(X, dtype=dtype)
    elif dtype != X.dtype:
        X = X.astype(dtype)
    if flatten:
        X = X.reshape(len(X), -1)
    y = one_hot(y, classes, dtype=dtype) if classes else y.astype(np.int64)
    for a in (X, y):
        a.flags.writeable = False
    return X, y


def _classes(checked: dict[str, IdxFile]) -> int:
    return int(max(checked["train_labels"].array.max(), checked["test_labels"].array.max())) + 1


def _prepare_args(normalize: Normalize, dtype, owner: str) -> tuple[Normalize, np.dtype]:
    if normalize not in (True, False, "standardize"):
        raise ActlabError(f"The 'normalize' parameter of {owner} must be True, False or 'standardize'. "
                          f"Got {normalize!r} instead.")
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise ActlabError(f"The 'dtype' parameter of {owner} must be a NumPy dtype. Got {dtype!r} instead.") from None
    if normalize and dt.kind != "f":
        raise ActlabError(f"The 'dtype' parameter of {owner} must be a float dtype when normalize={normalize!r}. "
                          f"Got {dt.name} instead.")
    if dt.kind not in "fiu":
        raise ActlabError(f"The 'dtype' parameter of {owner} must be a float or integer dtype. Got {dt.name}.")
    return normalize, dt


def load_dataset(
    data: str | os.PathLike | None = None,
    *,
    normalize: Normalize = True,
    flatten: bool = True,
    dtype: np.typing.DTypeLike = np.float32,
    one_hot: bool = False,
    max_memory: int | None = None,
) -> Dataset:
    """Both splits of an MNIST-format dataset; see :func:`load_mnist` for the options."""
    normalize, dt = _prepare_args(normalize, dtype, "load_dataset")
    max_memory = _check_max_memory(max_memory, "load_dataset")
    files, source = find_data(data)
    checked = _checked(files, source, max_memory)
    stats = _stat_key(files["train_images"])
    classes = _classes(checked) if one_hot else 0
    arrays = {
        split: _prepared(_stat_key(files[f"{split}_images"]), _stat_key(files[f"{split}_labels"]), stats,
                         normalize, bool(flatten), dt.str, classes, max_memory)
        for split in SPLITS
    }
    return Dataset(X_train=arrays["train"][0], y_train=arrays["train"][1], X_test=arrays["test"][0],
                   y_test=arrays["test"][1], directory=files["train_images"].parent, source=source, files=checked)


def load_mnist(
    data: str | os.PathLike | None = None,
    *,
    split: str = "train",
    normalize: Normalize = True,
    flatten: bool = True,
    dtype: np.typing.DTypeLike = np.float32,
    one_hot: bool = False,
    max_memory: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """``(X, y)`` of one split of MNIST (or any dataset in its format) — read-only, cached.

    ``data``: a directory with the four IDX files (else ``$ACTLAB_DATA``, else the bundled
    copy). ``split``: ``"train"`` (60,000) or ``"test"`` (10,000). ``normalize``: True gives
    ``x / 255`` in [0, 1]; ``"standardize"`` gives ``(x/255 - m) / s`` with the training
    split's pixel mean and std (MNIST: m = 0.1307, s = 0.3081); False keeps 0..255 (pass
    ``dtype=np.uint8`` for the raw bytes, zero copy). ``flatten``: ``(n, 784)`` instead of
    ``(n, 28, 28)`` (add a channel axis with ``X[:, None]``). ``y``: int64 class indices,
    or ``(n, classes)`` one-hot rows in ``dtype`` with ``one_hot=True``. ``max_memory``
    (bytes; default: the memory available): files and conversions that would need more
    are refused, from their headers, before anything is decoded. A split with no examples
    is refused.

    >>> X, y = load_mnist(split="test")
    >>> X.shape, X.dtype, y[:5], float(X.max())
    ((10000, 784), dtype('float32'), array([7, 2, 1, 0, 4]), 1.0)
    """
    check_choice(split, "split", "load_mnist", SPLITS)
    normalize, dt = _prepare_args(normalize, dtype, "load_mnist")
    max_memory = _check_max_memory(max_memory, "load_mnist")
    files, source = find_data(data)
    checked = _checked(files, source, max_memory)
    return _prepared(_stat_key(files[f"{split}_images"]), _stat_key(files[f"{split}_labels"]),
                     _stat_key(files["train_images"]), normalize, bool(flatten), dt.str,
                     _classes(checked) if one_hot else 0, max_memory)


# --------------------------------------------------------------------------- helpers

def pixel_stats(x: np.ndarray, scale: float = 255.0) -> tuple[float, float]:
    """Mean and standard deviation of ``x / scale`` over all entries (float64 sums)."""
    x = np.asarray(x)
    n = x.size
    if n == 0:
        raise ActlabError("pixel_stats needs a non-empty array")
    if x.dtype == np.uint8:
        # Exact integer sums S, S2 (per-chunk float64 dots of integers below 2**53), then
        # var = (n S2 - S^2) / n^2 in Python integers: no cancellation, no 8-byte copy of x.
        flat = x.reshape(-1)
        s1 = s2 = 0
        for i in range(0, n, 1 << 20):
            c = flat[i:i + (1 << 20)].astype(np.float64)
            s1 += int(c.sum())
            s2 += int(np.dot(c, c))
        mean = s1 / n / scale
        var = (n * s2 - s1 * s1) / (n * n) / (scale * scale)
    else:
        xs = x.astype(np.float64) / scale
        mean, var = float(xs.mean()), float(xs.var())
    return mean, math.sqrt(var)


def normalize(
    x: np.ndarray,
    *,
    standardize: bool = False,
    mean: float | None = None,
    std: float | None = None,
    scale: float = 255.0,
    dtype: np.typing.DTypeLike = np.float32,
) -> np.ndarray:
    """``x / scale`` as ``dtype``; with ``standardize``, ``(x/scale - mean) / std``.

    ``mean``/``std`` default to this array's own (:func:`pixel_stats`); pass the training
    set's to standardise a test set. Returns a new array; ``x`` is not modified.

    >>> normalize(np.array([0, 51, 255], dtype=np.uint8))
    array([0. , 0.2, 1. ], dtype=float32)
    """
    dt = np.dtype(dtype)
    if dt.kind != "f":
        raise ActlabError(f"The 'dtype' parameter of normalize must be a float dtype. Got {dt.name} instead.")
    scale = check_real(scale, "scale", "normalize", low=0, low_open=True)
    x = np.asarray(x)
    if standardize:
        if mean is None or std is None:
            m, s = pixel_stats(x, scale)
            mean = m if mean is None else mean
            std = s if std is None else std
        mean = check_real(mean, "mean", "normalize")
        std = check_real(std, "std", "normalize", low=0, low_open=True)

    def transform(v: np.ndarray) -> np.ndarray:
        v /= dt.type(scale)
        if standardize:
            v -= dt.type(mean)
            v /= dt.type(std)
        return v

    return transform(x.astype(dt))  # in place on the new array: no further temporaries


def _generator(seed: int | np.random.Generator | None, owner: str) -> np.random.Generator:
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None or isinstance(seed, bool):
        raise ActlabError(f"The 'seed' parameter of {owner} must be an int or a np.random.Generator. "
                          f"Got {seed!r} instead.")
    return np.random.default_rng(check_int(seed, "seed", owner, low=0))


def train_val_split(
    X: np.ndarray,
    y: np.ndarray,
    val: float | int = 0.1,
    *,
    seed: int | np.random.Generator = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(X_train, y_train, X_val, y_val)``: a random validation subset chosen by ``seed``.

    ``val`` is a fraction in (0, 1) or a count. Both parts keep the original order (the
    mini-batch iterator shuffles); they are new arrays.

    >>> X, y = np.arange(10).reshape(10, 1), np.arange(10)
    >>> [a.shape for a in train_val_split(X, y, 0.2, seed=1)]
    [(8, 1), (8,), (2, 1), (2,)]
    """
    X, y = np.asarray(X), np.asarray(y)
    n = len(X)
    if len(y) != n:
        raise ActlabError(f"train_val_split: X has {n} rows but y has {len(y)}")
    if isinstance(val, float):
        frac = check_real(val, "val", "train_val_split", low=0, high=1, low_open=True, high_open=True)
        n_val = int(round(frac * n))
    else:
        n_val = check_int(val, "val", "train_val_split", low=1, high=max(n - 1, 1))
    if not 0 < n_val < n:
        raise ActlabError(f"train_val_split: a validation part of {val!r} leaves an empty part of {n} rows")
    perm = _generator(seed, "train_val_split").permutation(n)
    vi, ti = np.sort(perm[:n_val]), np.sort(perm[n_val:])
    return X[ti], y[ti], X[vi], y[vi]


def one_hot(y: np.ndarray, num_classes: int | None = None, *, dtype: np.typing.DTypeLike = np.float32) -> np.ndarray:
    """Rows of the identity: ``out[..., k] = (y == k)``, shape ``y.shape + (num_classes,)``.

    >>> one_hot(np.array([2, 0]), 3)
    array([[0., 0., 1.],
           [1., 0., 0.]], dtype=float32)
    """
    y = np.asarray(y)
    if y.dtype.kind not in "iu":
        if y.dtype.kind == "f" and y.size and np.all(np.isfinite(y)) and np.all(y == np.round(y)):
            y = y.astype(np.int64)
        elif y.size:
            raise ActlabError(f"one_hot needs integer class labels. Got dtype {y.dtype}.")
        else:
            y = y.astype(np.int64)
    if num_classes is None:
        num_classes = int(y.max()) + 1 if y.size else 0
    k = check_int(num_classes, "num_classes", "one_hot", low=1 if y.size else 0)
    if y.size and (y.min() < 0 or y.max() >= k):
        raise ActlabError(f"one_hot: labels must lie in [0, {k - 1}]. Got values in [{y.min()}, {y.max()}].")
    return np.eye(k, dtype=dtype)[y]


def batches(
    X: np.ndarray,
    y: np.ndarray | None = None,
    batch_size: int = 100,
    *,
    rng: int | np.random.Generator | None = None,
    shuffle: bool = True,
    drop_last: bool = False,
) -> Iterator[tuple[np.ndarray, np.ndarray] | np.ndarray]:
    """One epoch of mini-batches ``(X_batch, y_batch)`` (``X_batch`` alone if ``y`` is None).

    The order is ``rng.permutation(n)`` (or ``0..n-1`` with ``shuffle=False``), so every row
    appears exactly once per epoch and the same generator state gives the same order; call
    again with the same generator for the next epoch. Rows are gathered with ``np.take``
    into two buffers allocated once per call, so an epoch copies only the batches, never
    the dataset. **The yielded arrays are those buffers, overwritten by the next batch**:
    copy one to keep it. The last batch is smaller unless ``drop_last``.

    >>> [b.ravel().tolist() for b in batches(np.arange(5)[:, None], batch_size=2, shuffle=False)]
    [[0, 1], [2, 3], [4]]
    """
    X = np.asarray(X)
    n = len(X)
    if y is not None:
        y = np.asarray(y)
        if len(y) != n:
            raise ActlabError(f"batches: X has {n} rows but y has {len(y)}")
    bs = check_int(batch_size, "batch_size", "batches", low=1)
    if shuffle:
        if rng is None:
            raise ActlabError("The 'rng' parameter of batches must be an int seed or a np.random.Generator "
                              "when shuffle=True. Got None instead.")
        order = _generator(rng, "batches").permutation(n)
    else:
        order = np.arange(n)
    xb = np.empty((min(bs, n),) + X.shape[1:], dtype=X.dtype)
    yb = None if y is None else np.empty((min(bs, n),) + y.shape[1:], dtype=y.dtype)
    stop = n - n % bs if drop_last else n
    for start in range(0, stop, bs):
        idx = order[start:start + bs]
        m = len(idx)
        # mode="clip": indices are valid by construction, and "raise" would buffer `out`.
        xo = np.take(X, idx, axis=0, out=xb[:m], mode="clip")
        if yb is None:
            yield xo
        else:
            yield xo, np.take(y, idx, axis=0, out=yb[:m], mode="clip")



# --------------------------------------------------------------------------- info

def info(data: str | os.PathLike | None = None) -> str:
    """A report of the MNIST-format data found: where, how found, counts, checksums."""
    files, source = find_data(data)
    checked = _checked(files, source)
    lines = [f"directory: {files['train_images'].parent.resolve()}  (found via {source})"]
    dataset = {f.identity[0] if f.identity else "unknown" for f in checked.values()}
    lines.append(f"dataset:   {dataset.pop() if len(dataset) == 1 else 'mixed/unknown'}")
    for role, f in checked.items():
        shape = "x".join(map(str, f.array.shape))
        lines.append(f"  {role:13s} {f.path.name:32s} {shape:>12s} {f.array.dtype.name:6s}"
                     f" {'gzip' if f.compressed else 'raw '}  {f.status}")
        if f.identity is None:
            lines.append(f"  {'':13s} sha256 {f.sha256}")
    for split in SPLITS:
        y = checked[f"{split}_labels"].array
        counts = np.bincount(y, minlength=10)
        lines.append(f"  {split} label counts: {' '.join(map(str, counts))}")
    return "\n".join(lines)
