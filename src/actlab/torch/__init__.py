"""actlab on PyTorch: the catalogue as ``torch.nn`` modules and diagnostics of a user's model.

* :class:`Activation`: any catalogue entry as an ``nn.Module`` (f, f' and f'' are actlab's
  kernels on the NumPy view of a CPU tensor), e.g. ``Activation("squareplus")``;
* :func:`watch`: a context manager that puts hooks on a model (and its optimiser) and
  measures dead and saturated units with actlab's definitions, activation statistics,
  gradient norms and update-to-weight ratios, without changing outputs or gradients.

The room is optional: ``import actlab`` never imports torch, and importing this room
without PyTorch installed raises an :class:`~actlab.errors.ActlabError` that says how to
install it. Guide: ``docs/torch.md``.
"""

from __future__ import annotations

from ..errors import ActlabError

try:
    import torch  # noqa: F401  (PyTorch itself: absolute import)
except ImportError as err:  # pragma: no cover - exercised in a subprocess by the tests
    raise ActlabError("actlab.torch needs PyTorch, which is not installed: pip install actlab[torch]") from err

from .mapping import module_spec  # noqa: E402
from .modules import Activation  # noqa: E402
from .watcher import Watch, watch  # noqa: E402

__all__ = ["Activation", "watch", "Watch", "module_spec"]
