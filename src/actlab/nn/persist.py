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
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from typing import TYPE_CHECKING, Any

import numpy as np

from .._io import write_atomic
from ..errors import ActlabError
from .model import Sequential, from_architecture

if TYPE_CHECKING:  # pragma: no cover
    from .optim import Optimizer

def save(model: Sequential, path: str | os.PathLike) -> None:
    """Write weights, running statistics and architecture (JSON) to one .npz, atomically."""
    path = os.fspath(path)
    arrays = dict(model.state())
    arrays["__architecture__"] = np.array(json.dumps(model.architecture()))
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    write_atomic(path, buf.getvalue())


def load(path: str | os.PathLike) -> Sequential:
    """The model saved by :func:`save`."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise ActlabError(f"No model file at {path!r}.")
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (OSError, ValueError) as err:
        raise ActlabError(f"Cannot read model file {path!r}: {err}") from None
    if "__architecture__" not in arrays:
        raise ActlabError(f"{path!r} is not an actlab model file (no architecture record).")
    arch = json.loads(str(arrays.pop("__architecture__")))
    model = from_architecture(arch)
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


def load_checkpoint(path: str | os.PathLike) -> dict[str, Any] | None:
    """The checkpoint at ``path`` (meta dict with an ``"arrays"`` entry), or None if absent."""
    path = os.fspath(path)
    if not os.path.exists(path):
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        meta = json.loads(str(arrays.pop("__checkpoint__")))
    except (OSError, ValueError, KeyError) as err:
        raise ActlabError(f"Cannot read checkpoint {path!r} ({err}); delete it or restart.") from None
    if meta.get("format") != FORMAT:
        raise ActlabError(f"{path!r} is not an actlab checkpoint ({FORMAT}).")
    meta["arrays"] = arrays
    return meta


def restore(ck: dict[str, Any], model: Sequential, opt: Optimizer, rng: np.random.Generator) -> None:
    """Put a model, its optimiser and the shuffling generator in the checkpointed state."""
    arrays = ck["arrays"]
    model.load_state({k[6:]: v for k, v in arrays.items() if k.startswith("model/")})
    for i, state in ck["dropout_rngs"].items():
        model.layers[int(i)].rng.bit_generator.state = state
    opt.load_state_dict({**ck["opt"], **{k[4:]: v for k, v in arrays.items() if k.startswith("opt/")}})
    rng.bit_generator.state = ck["shuffle_rng"]
