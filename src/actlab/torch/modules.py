"""Every catalogue entry as a ``torch.nn.Module``.

>>> import torch
>>> from actlab.torch import Activation
>>> act = Activation("elu(alpha=0.5)")
>>> act
Activation('elu(alpha=0.5)')
>>> act(torch.tensor([-1.0, 0.0, 2.0]))
tensor([-0.3161,  0.0000,  2.0000])
>>> Activation("squareplus").spec, Activation("elu", alpha=0.5).spec
('squareplus(b=4.0)', 'elu(alpha=0.5)')
>>> Activation("softmax", dim=0)
Activation('softmax', dim=0)
"""

from __future__ import annotations

from typing import Any

import torch

from ..catalogue.registry import Activation as Entry
from ..catalogue.registry import Bound, get
from ..errors import ActlabError, check_int
from ._autograd import apply

__all__ = ["Activation"]


class Activation(torch.nn.Module):
    """A catalogue entry as a module: f, f' (backward) and f'' (double backward) are
    actlab's kernels, run on the NumPy view of the CPU tensor (no copy).

    ``spec``: a name, alias or spec string (``"elu(alpha=0.5)"``), a bound entry, or an
    entry with ``params`` given as keywords (``Activation("elu", alpha=0.5)``). ``dim``:
    the axis of a vector entry (softmax, log_softmax, softmin, glu, sparsemax; default -1),
    not allowed for elementwise ones.

    Input: a CPU tensor of float16, float32 or float64; the output has the same dtype
    (float16 is computed in float32 and rounded once, as everywhere in actlab). Any other
    device or dtype raises an ActlabError naming it. The parameters are fixed (no
    ``nn.Parameter``): a learnable PReLU is ``torch.nn.PReLU``.
    """

    def __init__(self, spec: str | Bound | Entry = "relu", *, dim: int | None = None, **params: Any) -> None:
        super().__init__()
        self.act = get(spec, **params)
        if self.act.definition.vector:
            self.dim = -1 if dim is None else check_int(dim, "dim", f"Activation({self.act.spec!r})")
        elif dim is not None:
            raise ActlabError(f"The 'dim' argument is for vector entries (softmax, glu, ...): {self.act.spec} is "
                              "elementwise. Got dim={dim!r}.")
        else:
            self.dim = None

    @property
    def spec(self) -> str:
        """The catalogue spec string: ``get(self.spec)`` gives the same entry back."""
        return self.act.spec

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return apply(self.act, x, self.dim)

    def extra_repr(self) -> str:
        return repr(self.spec) + ("" if self.dim is None else f", dim={self.dim}")

    # The bound entry holds kernel functions that pickle cannot name (the decorator replaced
    # their classes): pickle (torch.save of a whole model) stores the spec string instead.
    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["act"] = self.act.spec
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        state = dict(state)
        state["act"] = get(state["act"])
        super().__setstate__(state)
