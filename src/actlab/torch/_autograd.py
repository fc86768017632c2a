"""autograd Functions that run actlab's kernels on the NumPy view of CPU tensors.

An elementwise entry is three Functions, each the derivative of the one before:
``_F`` (f, backward ``grad * _D1(x)``), ``_D1`` (f', backward ``grad * _D2(x)``) and
``_D2`` (f'', whose backward raises: the catalogue stops at f''). So a first backward is
actlab's f', a backward of that backward (``create_graph=True``: gradient penalties,
Hessian-vector products, ``gradgradcheck``) is actlab's f'', and only a third derivative
fails, with an ActlabError. A vector entry is ``_VF`` (f along ``dim``) whose backward is
``_VJP`` (the catalogue's vector-Jacobian product); the catalogue has no second derivative
of a vector entry, so differentiating ``_VJP`` again raises.

Tensors are handed to NumPy without a copy: ``x.detach().contiguous().numpy()`` shares
memory for a contiguous CPU tensor, and results are written through ``out=`` into a
tensor allocated by torch, so nothing is copied on the way back either.
"""

from __future__ import annotations

from typing import Any

import torch

from ..catalogue.registry import Bound
from ..errors import ActlabError

__all__ = ["apply", "check_tensor"]

_DTYPES = (torch.float16, torch.float32, torch.float64)


def check_tensor(x: Any, who: str) -> None:
    """The clear error for a tensor actlab's NumPy kernels cannot take."""
    if not isinstance(x, torch.Tensor):
        raise ActlabError(f"{who} takes a torch.Tensor. Got {type(x).__name__} instead.")
    if x.device.type != "cpu":
        raise ActlabError(f"{who} computes with actlab's NumPy kernels, on the CPU: it got a tensor on device "
                          f"{str(x.device)!r}. Move the tensor with .cpu(), or use torch's own function there.")
    if x.layout != torch.strided:
        raise ActlabError(f"{who} takes dense (strided) tensors. Got layout {x.layout} instead.")
    if x.dtype not in _DTYPES:
        raise ActlabError(f"{who} takes float16, float32 or float64 tensors. Got {x.dtype} instead.")


def _numpy(x: torch.Tensor):
    # contiguous() returns x itself when it already is: the NumPy array then shares x's memory
    return x.detach().contiguous().numpy()


def _elementwise(method, x: torch.Tensor) -> torch.Tensor:
    """``method`` (Bound.f, df or d2f) of x as a new tensor of x's dtype, written in place."""
    out = torch.empty(x.shape, dtype=x.dtype)
    method(_numpy(x), out=out.numpy())
    return out


def _times(d: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    # Outside create_graph (grad mode off) d is ours alone: multiply in place, one buffer less.
    return d * g if torch.is_grad_enabled() else d.mul_(g)


class _F(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, act: Bound) -> torch.Tensor:
        ctx.act = act
        ctx.save_for_backward(x)
        return _elementwise(act.f, x)

    @staticmethod
    def backward(ctx, g: torch.Tensor):
        (x,) = ctx.saved_tensors
        return _times(_D1.apply(x, ctx.act), g), None


class _D1(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, act: Bound) -> torch.Tensor:
        ctx.act = act
        ctx.save_for_backward(x)
        return _elementwise(act.df, x)

    @staticmethod
    def backward(ctx, g: torch.Tensor):
        (x,) = ctx.saved_tensors
        return _times(_D2.apply(x, ctx.act), g), None


class _D2(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, act: Bound) -> torch.Tensor:
        ctx.act = act
        return _elementwise(act.d2f, x)  # an entry without f'' raises its own ActlabError

    @staticmethod
    def backward(ctx, g: torch.Tensor):
        raise ActlabError(f"actlab.torch differentiates {ctx.act.spec} at most twice: the catalogue has f, f' and "
                          "f'', no third derivative.")


class _VF(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, act: Bound, dim: int) -> torch.Tensor:
        ctx.act, ctx.dim = act, dim
        ctx.save_for_backward(x)
        return torch.from_numpy(act.f(_numpy(x), axis=dim))  # a fresh array: glu's has another shape

    @staticmethod
    def backward(ctx, g: torch.Tensor):
        (x,) = ctx.saved_tensors
        return _VJP.apply(x, g, ctx.act, ctx.dim), None, None


class _VJP(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, g: torch.Tensor, act: Bound, dim: int) -> torch.Tensor:
        ctx.act = act
        return torch.from_numpy(act.vjp(_numpy(x), _numpy(g), axis=dim))

    @staticmethod
    def backward(ctx, gg: torch.Tensor):
        raise ActlabError(f"{ctx.act.spec} is a vector function: actlab.torch differentiates it once (the catalogue "
                          "has its vector-Jacobian product, no second derivative). Use torch's own function for "
                          "double backward.")


def apply(act: Bound, x: torch.Tensor, dim: int | None = None, who: str | None = None) -> torch.Tensor:
    """f(x) of a catalogue entry with actlab's autograd (vector entries along ``dim``)."""
    check_tensor(x, who or f"actlab.torch.Activation({act.spec!r})")
    if act.definition.vector:
        return _VF.apply(x, act, -1 if dim is None else dim)
    return _F.apply(x, act)
