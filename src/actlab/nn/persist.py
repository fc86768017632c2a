"""Models and training runs on disk: :func:`save` / :func:`load` of a model, and the
checkpoint that ``fit(checkpoint=path)`` writes after each epoch.

A model file is one ``.npz`` of its arrays plus its architecture as JSON (never a
pickle). A checkpoint is one ``.npz`` holds everything needed to continue bit for bit, written atomically (temp
file + ``os.replace``), so an interruption leaves either the previous checkpoint or the
new one, never a torn file:

* the model's arrays (weights, BatchNorm running statistics) and its Dropout generators;
* the optimiser's state (step count, momentum buffers or Adam moments);
* the state of the generator that shuffles the batches;
* the history so far (per-epoch rows, the loss of every step);
* a JSON record (``__checkpoint__``) with the *run key*: everything that determines the
  result (architecture, digest of the initial weights, loss, optimiser and its
  hyperparameters, schedule, batch size, seed, digests of the data). A checkpoint is
  only resumed by a run with the same key; anything else is an error, never a silent
  mix of two runs.

Reading is defensive: a file is opened with :mod:`zipfile` and every member's ``.npy``
header (shape, dtype) is read and checked (against the architecture, for a model) before
any array is; the memory the arrays and the model need is estimated from those headers and
refused beyond the budget (:mod:`actlab._memory`). Arrays must be float32 or float64
(complex, float16, integer, object arrays are refused, never converted), and a model's
arrays must be finite unless ``allow_nonfinite=True``. Whatever is wrong with a file
(empty, truncated, not a zip, damaged bytes, missing or extra arrays, bad or deeply nested
JSON, unknown layer arguments, wrong shapes or dtypes) is one :class:`ActlabError` naming
the file, never a NumPy, zipfile or JSON traceback.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import struct
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import numpy as np

from .._io import write_atomic
from .._memory import MemoryEstimate, check_memory
from ..errors import ActlabError, shorten
from .model import Sequential, arch_name, check_architecture, from_architecture, memory_estimate, state_shapes

if TYPE_CHECKING:  # pragma: no cover
    from .optim import Optimizer

#: the largest JSON record (architecture, checkpoint metadata) a file may hold, in bytes
MAX_RECORD = 16 * 2**20
#: what reading a damaged file can raise (besides ActlabError): each becomes one ActlabError
_READ_ERRORS = (OSError, EOFError, ValueError, KeyError, IndexError, TypeError, AttributeError, OverflowError,
                RecursionError, UnicodeError, zipfile.BadZipFile, zlib.error, NotImplementedError, RuntimeError,
                struct.error, MemoryError, SyntaxError)


class _Unreadable(Exception):
    """Why a file cannot be used (becomes one ActlabError naming the file)."""


def _reason(err: BaseException) -> str:
    if isinstance(err, (_Unreadable, ActlabError)):
        text = str(err)
    elif isinstance(err, (zipfile.BadZipFile, NotImplementedError, RuntimeError, zlib.error)):
        text = f"damaged or not an .npz archive ({err})"
    elif isinstance(err, EOFError):
        text = f"truncated ({str(err) or 'the data ends early'})"
    elif isinstance(err, RecursionError):
        text = "nested too deeply"
    elif isinstance(err, MemoryError):
        text = "not enough memory to read it"
    else:
        text = f"{type(err).__name__}: {err}"
    return text if len(text) <= 400 else text[:397] + "..."


@contextmanager
def _reading(fail: Any) -> Iterator[None]:
    """Turn whatever reading raises into ``fail(reason)`` (an ActlabError to raise)."""
    try:
        yield
    except (_Unreadable, ActlabError, *_READ_ERRORS) as err:
        raise fail(_reason(err)) from None


def _members(zf: zipfile.ZipFile) -> dict[str, tuple[zipfile.ZipInfo, tuple[int, ...], np.dtype]]:
    """name -> (zip entry, shape, dtype) of every .npy member, from the headers alone."""
    infos = zf.infolist()
    names = [i.filename for i in infos]
    if len(set(names)) != len(names):
        raise _Unreadable("it holds a member twice")
    out = {}
    for info in infos:
        if not info.filename.endswith(".npy"):
            raise _Unreadable(f"unexpected member {shorten(info.filename)} (an .npz holds .npy arrays)")
        key = info.filename[:-4]
        with zf.open(info) as f:
            version = np.lib.format.read_magic(f)
            if version == (1, 0):
                shape, _, dtype = np.lib.format.read_array_header_1_0(f)
            elif version == (2, 0):
                shape, _, dtype = np.lib.format.read_array_header_2_0(f)
            else:
                raise _Unreadable(f"array {shorten(key)}: .npy format version {version} is not read here")
            header = f.tell()
        if dtype.hasobject:
            raise _Unreadable(f"array {shorten(key)} holds Python objects (never unpickled)")
        nbytes = math.prod(shape) * dtype.itemsize
        if header + nbytes != info.file_size:
            raise _Unreadable(f"array {shorten(key)}: its header announces {shape} {dtype} ({nbytes:,} bytes) but "
                              f"the archive holds {info.file_size - header:,} bytes for it")
        out[key] = (info, tuple(shape), dtype)
    return out


def _float_array(key: str, dtype: np.dtype, want: np.dtype | None = None) -> None:
    """Refuse an array that is not float32/float64 (or not ``want``)."""
    if dtype.kind != "f" or dtype.itemsize not in (4, 8):
        what = "complex (the imaginary part is not dropped)" if dtype.kind == "c" else dtype.name
        raise _Unreadable(f"array {shorten(key)} is {what}: arrays here are float32 or float64")
    if want is not None and dtype.newbyteorder("=") != want:
        raise _Unreadable(f"array {shorten(key)} is {dtype.name} but the architecture says {want.name}")


def _read(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> np.ndarray:
    with zf.open(info) as f:
        a = np.lib.format.read_array(f, allow_pickle=False)
        if f.read(1):  # also completes the CRC check of the member
            raise _Unreadable(f"array {shorten(info.filename[:-4])}: bytes after its data")
    return a


def _record(zf: zipfile.ZipFile, members: dict[str, Any], key: str) -> Any:
    """The JSON record stored as the 0-d string array ``key``."""
    info, shape, dtype = members[key]
    if dtype.kind != "U" or shape != ():
        raise _Unreadable(f"its {key} record is not a string (shape {shape}, dtype {dtype})")
    if dtype.itemsize > MAX_RECORD:
        raise _Unreadable(f"its {key} record is {dtype.itemsize:,} bytes, more than the {MAX_RECORD:,} read")
    text = str(_read(zf, info)[()])
    try:
        return json.loads(text)
    except RecursionError:
        raise _Unreadable(f"its {key} record is JSON nested too deeply") from None
    except ValueError as err:
        raise _Unreadable(f"its {key} record is not valid JSON ({err})") from None


def _nonfinite(arrays: dict[str, np.ndarray]) -> str | None:
    """How the first array with a NaN or infinity says so, or None."""
    for k, a in arrays.items():
        bad = ~np.isfinite(a)
        if bad.any():
            idx = tuple(int(i) for i in np.argwhere(bad)[0])
            return f"array {k} holds non-finite values (first: {a[idx]} at {idx}, {int(bad.sum()):,} in all)"
    return None


def _model_file(zf: zipfile.ZipFile) -> tuple[dict[str, Any], dict[str, Any]]:
    """The validated architecture of an opened model file and its members, checked against it."""
    members = _members(zf)
    if "__architecture__" not in members:
        raise _Unreadable("not an actlab model file (no architecture record)")
    try:
        arch = check_architecture(_record(zf, members, "__architecture__"))
    except ActlabError as err:
        raise _Unreadable(f"bad architecture record: {err}") from None
    want = np.dtype(arch["dtype"])
    shapes = state_shapes(arch)
    for k, shape in shapes.items():
        if k not in members:
            raise _Unreadable(f"no array {k} (the architecture {arch_name(arch)} needs one of shape {shape})")
        _, got, dtype = members[k]
        _float_array(k, dtype, want)
        if got != shape:
            raise _Unreadable(f"array {k} has shape {got} but the architecture {arch_name(arch)} needs {shape}")
    extra = sorted(set(members) - set(shapes) - {"__architecture__"})
    if extra:
        raise _Unreadable(f"array {shorten(extra[0])} is not part of the architecture {arch_name(arch)}")
    return arch, members


def _fail_model(path: str) -> Any:
    return lambda reason: ActlabError(f"Model file {path!r}: {reason.rstrip('.')}.")


def read_architecture(path: str | os.PathLike) -> dict[str, Any]:
    """The validated architecture record of a model file (no array is read): what a
    caller sizes (:func:`~actlab.nn.model.memory_estimate`) before :func:`load`."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise ActlabError(f"No model file at {path!r}.")
    with _reading(_fail_model(path)), zipfile.ZipFile(path) as zf:
        return _model_file(zf)[0]


def save(model: Sequential, path: str | os.PathLike) -> None:
    """Write weights, running statistics and architecture (JSON) to one .npz, atomically."""
    path = os.fspath(path)
    arrays = dict(model.state())
    arrays["__architecture__"] = np.array(json.dumps(model.architecture()))
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    write_atomic(path, buf.getvalue())


def load(path: str | os.PathLike, *, allow_nonfinite: bool = False, max_memory: int | str | None = None
         ) -> Sequential:
    """The model saved by :func:`save`.

    Everything is checked before it is used (see the module docstring): every fault of
    the file is one ActlabError naming it. A model whose arrays hold NaN or infinity (a
    diverged run) is refused unless ``allow_nonfinite=True``: its predictions would be
    meaningless (argmax of NaN logits is class 0). The arrays and the model are sized from
    the headers first and refused beyond ``max_memory`` (bytes or e.g. ``"4G"``; default:
    the memory available).
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise ActlabError(f"No model file at {path!r}.")
    with _reading(_fail_model(path)):
        with zipfile.ZipFile(path) as zf:
            arch, members = _model_file(zf)
            est = memory_estimate(arch, build=True).add("file arrays", sum(
                members[k][0].file_size for k in state_shapes(arch)))
            check_memory(est, f"the model {arch_name(arch)} ({arch['dtype']})", max_memory,
                         "pass max_memory= to set the budget")
            arrays = {k: _read(zf, members[k][0]) for k in state_shapes(arch)}
        if not allow_nonfinite and (why := _nonfinite(arrays)) is not None:
            raise _Unreadable(f"{why}; a diverged run? nn.load(path, allow_nonfinite=True) loads it anyway")
        model = from_architecture(arch, max_memory=max_memory)
        model.load_state(arrays)
    return model


# ---- checkpoints

FORMAT = "actlab.checkpoint/1"
#: schedules whose learning rate at step t does not depend on the total number of steps:
#: for them ``epochs``/``max_steps`` may grow between runs (training continues exactly as
#: an uninterrupted longer run would).
TOTAL_FREE = ("constant",)


class CheckpointMismatch(ActlabError):
    """A checkpoint exists but was written by a different run; ``.differences`` lists how."""

    def __init__(self, path: str, differences: list[str], hint: str) -> None:
        self.path, self.differences = path, differences
        super().__init__(f"The checkpoint {path} belongs to a different run ({'; '.join(differences)}). {hint}")


class CheckpointUnreadable(ActlabError):
    """A checkpoint exists but cannot be read (truncated, damaged, not a checkpoint);
    ``.reason`` says why, ``hint`` what to do (delete it, or restart)."""

    def __init__(self, path: str, reason: str, hint: str = "delete it or restart") -> None:
        self.path, self.reason = path, reason
        super().__init__(f"Cannot read checkpoint {path!r} ({reason.rstrip('.')}); {hint}.")


def digest(*arrays: Any) -> str:
    """A short content hash of arrays (shape, dtype and bytes): tells two data sets apart."""
    h = hashlib.blake2b(digest_size=12)
    for a in arrays:
        if a is None:
            h.update(b"none")
            continue
        a = np.ascontiguousarray(a)
        h.update(f"{a.shape}{a.dtype.str}".encode())
        h.update(memoryview(a).cast("B"))
    return h.hexdigest()


def _dropout_rngs(model: Sequential) -> dict[str, Any]:
    return {str(i): layer.rng.bit_generator.state for i, layer in enumerate(model.layers) if hasattr(layer, "rng")}


def model_digest(model: Sequential) -> str:
    """Hash of a model's arrays and Dropout generator states (its initialisation)."""
    state = model.state()
    rngs = json.dumps(_dropout_rngs(model), sort_keys=True).encode()
    return digest(model.flat_value, *(state[k] for k in sorted(state)), np.frombuffer(rngs, np.uint8))


def run_key(model: Sequential, opt: Optimizer, loss: Any, *, X: np.ndarray, y: np.ndarray, val: Any,
            schedule: Any, batch_size: int, seed: Any, shuffle_state: dict[str, Any], shuffle: bool,
            epochs: int, max_steps: int | None) -> dict[str, Any]:
    """Everything that determines a run's weights and history (JSON-able)."""
    hyper = {k: getattr(opt, k) for k in ("momentum", "nesterov", "betas", "eps") if hasattr(opt, k)}
    key: dict[str, Any] = {
        "architecture": model.architecture(),
        "initial_weights": model_digest(model),
        "loss": repr(loss),
        "optimizer": type(opt).__name__,
        **{k: list(v) if isinstance(v, tuple) else v for k, v in hyper.items()},
        "lr": opt.lr,
        "weight_decay": opt.weight_decay,
        "schedule": schedule if isinstance(schedule, str) else "custom",
        "batch_size": batch_size,
        "seed": seed if isinstance(seed, int) else json.dumps(shuffle_state, sort_keys=True),
        "shuffle": shuffle,
        "data": digest(X, y),
        "val": None if val is None else digest(val[0], val[1]),
    }
    if key["schedule"] not in TOTAL_FREE:
        key["epochs"], key["max_steps"] = epochs, max_steps
    return key


def differences(saved: dict[str, Any], key: dict[str, Any]) -> list[str]:
    """Human-readable list of the entries where two run keys differ."""
    out = []
    for k in sorted(set(saved) | set(key)):
        a, b = saved.get(k), key.get(k)
        if a == b:
            continue
        if k in ("initial_weights", "data", "val", "architecture") or isinstance(a, (dict, list)) or len(repr(a)) > 40:
            what = {"initial_weights": "initial weights (init or seed)", "data": "training data",
                    "val": "held-out data"}
            out.append(f"{what.get(k, k)} differ")
        else:
            out.append(f"{k} {a!r} -> {b!r}")
    return out


def save_checkpoint(path: str | os.PathLike, *, key: dict[str, Any], model: Sequential, opt: Optimizer,
         rng: np.random.Generator, epochs: list[dict[str, Any]], step_loss: np.ndarray) -> None:
    """Write the checkpoint of a run at the end of an epoch (atomically)."""
    arrays: dict[str, np.ndarray] = {f"model/{k}": v for k, v in model.state().items()}
    ostate = opt.state_dict()
    arrays.update({f"opt/{k}": v for k, v in ostate.items() if isinstance(v, np.ndarray)})
    arrays["step_loss"] = np.asarray(step_loss, np.float64)
    meta = {
        "format": FORMAT, "key": key, "epoch": len(epochs), "step": int(len(step_loss)), "epochs": epochs,
        "opt": {k: v for k, v in ostate.items() if not isinstance(v, np.ndarray)},
        "shuffle_rng": rng.bit_generator.state, "dropout_rngs": _dropout_rngs(model),
    }
    arrays["__checkpoint__"] = np.array(json.dumps(meta))
    path = os.fspath(path)
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    write_atomic(path, buf.getvalue())


#: the entries of a checkpoint's JSON record and their types
_META = {"format": str, "key": dict, "epoch": int, "step": int, "epochs": list, "opt": dict, "shuffle_rng": dict,
         "dropout_rngs": dict}


def _checkpoint_meta(meta: Any) -> dict[str, Any]:
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise _Unreadable(f"not an actlab checkpoint ({FORMAT})")
    for k, t in _META.items():
        v = meta.get(k)
        if not isinstance(v, t) or isinstance(v, bool) or (t is int and v < 0):
            raise _Unreadable(f"its record has no valid {k!r}")
    return meta


def load_checkpoint(path: str | os.PathLike, *, max_memory: int | str | None = None,
                    hint: str = "delete it or restart") -> dict[str, Any] | None:
    """The checkpoint at ``path`` (meta dict with an ``"arrays"`` entry), or None if absent.

    A file that cannot be read (truncated, damaged, not a checkpoint, arrays that are not
    float32/float64) raises :class:`CheckpointUnreadable` (whose message ends in ``hint``);
    its arrays are sized from their headers and refused beyond ``max_memory`` first."""
    path = os.fspath(path)
    if not os.path.exists(path):
        return None
    with _reading(lambda reason: CheckpointUnreadable(path, reason, hint)), zipfile.ZipFile(path) as zf:
        members = _members(zf)
        if "__checkpoint__" not in members:
            raise _Unreadable(f"no checkpoint record: not an actlab checkpoint ({FORMAT})")
        meta = _checkpoint_meta(_record(zf, members, "__checkpoint__"))
        names = [k for k in members if k != "__checkpoint__"]
        for k in names:
            if k != "step_loss" and not k.startswith(("model/", "opt/")):
                raise _Unreadable(f"unexpected array {shorten(k)}")
            _float_array(k, members[k][2])
        if "step_loss" not in members or members["step_loss"][1] != (meta["step"],):
            raise _Unreadable(f"no step_loss array of its {meta['step']} steps")
        est = MemoryEstimate().add("checkpoint arrays", sum(members[k][0].file_size for k in names))
        check_memory(est, "the checkpoint", max_memory, "pass max_memory= to set the budget")
        meta["arrays"] = {k: _read(zf, members[k][0]) for k in names}
    meta["path"] = path
    return meta


def restore(ck: dict[str, Any], model: Sequential, opt: Optimizer, rng: np.random.Generator) -> None:
    """Put a model, its optimiser and the shuffling generator in the checkpointed state
    (a checkpoint whose arrays or states do not fit them raises CheckpointUnreadable)."""
    arrays = ck["arrays"]
    try:
        state = {k[6:]: v for k, v in arrays.items() if k.startswith("model/")}
        expected = {k: v.shape for k, v in model.state().items()}
        if {k: v.shape for k, v in state.items()} != expected:
            raise _Unreadable("its model arrays do not fit the model")
        model.load_state(state)
        for i, st in ck["dropout_rngs"].items():
            model.layers[int(i)].rng.bit_generator.state = st
        opt.load_state_dict({**ck["opt"], **{k[4:]: v for k, v in arrays.items() if k.startswith("opt/")}})
        rng.bit_generator.state = ck["shuffle_rng"]
    except (_Unreadable, ActlabError, KeyError, ValueError, TypeError, IndexError, AttributeError) as err:
        raise CheckpointUnreadable(ck.get("path", "?"), _reason(err)) from None
