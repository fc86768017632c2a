"""Per-unit statistics of one activation layer, accumulated on the tensors' device.

Batches are reduced with torch ops to a few per-unit tensors (max |f'(z)|, count of
|f'(z)| < sat_eps, max z, the last step at which the unit was alive, sums of a and a^2,
a histogram) that are folded into running tensors on the same device: nothing is copied
to the host until a result is asked for. A unit is one index along ``unit_dim`` (dim 1:
the features of a Linear layer's (N, C) output, the channels of a convolution's
(N, C, H, W)); every other index is a sample of it.

Small batches are first copied side by side into a buffer and reduced many at a time: a
torch op on a few thousand numbers costs more in dispatch (microseconds) than in
arithmetic, and a watched training step of a small model would otherwise pay for a dozen
of them per layer. Large batches are reduced at once, without a copy.

The derivative (:class:`Derivative`) is actlab's: on the CPU the catalogue's ``df``
kernel runs on the NumPy view of z (no copy), exactly what :mod:`actlab.nn.diagnostics`
does for the engine; on another device torch's own function of the same entry is
differentiated by autograd there (the catalogue follows torch's conventions at kinks, and
elsewhere the two agree to rounding, far below the thresholds).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from ..catalogue.registry import Bound
from ..nn.diagnostics import LayerUnits
from ..verify import peers

__all__ = ["Derivative", "UnitStats", "HIST_EDGES", "BUFFER_BYTES", "HIST_VALUES"]

#: Edges of the activation histograms: fixed, symmetric and roughly logarithmic, so that
#: any activation fits without a first pass to find the range; the bin (-1e-3, 0] holds
#: ReLU's exact zeros.
HIST_EDGES = (-100.0, -10.0, -3.0, -1.0, -0.3, -0.1, -0.01, -1e-3, 0.0, 1e-3, 0.01, 0.1, 0.3, 1.0, 3.0, 10.0, 100.0)


class Derivative:
    """|f'(z)| of a layer, as a tensor on z's device (see the module docstring).

    ``route``: "auto" (actlab's kernel on the CPU, torch's autograd elsewhere), "actlab"
    (actlab's kernel always: a host copy per batch off the CPU) or "torch" (autograd of
    torch's function always). ``prelu_weight``: PReLU's learned slopes, read at each call.
    """

    def __init__(self, bound: Bound | None, route: str = "auto", prelu_weight: torch.Tensor | None = None) -> None:
        self.bound, self.route, self.prelu_weight = bound, route, prelu_weight
        self.peer = None if bound is None else peers.peer(bound.name)

    def __call__(self, z: torch.Tensor) -> torch.Tensor:
        z = z.detach()
        if self.prelu_weight is not None:
            # actlab's definition for PReLU (nn.diagnostics.unit_derivative): 1 for z > 0, |a| elsewhere
            w = self.prelu_weight.detach().abs().to(z.dtype)
            if w.numel() > 1 and z.ndim >= 2:
                w = w.reshape([1, -1] + [1] * (z.ndim - 2))
            return torch.where(z > 0, torch.ones((), dtype=z.dtype, device=z.device), w)
        if self.route == "torch" or (self.route == "auto" and z.device.type != "cpu"):
            if self.peer is not None:
                return self._autograd(z)
        return self._actlab(z)

    def _actlab(self, z: torch.Tensor) -> torch.Tensor:
        host = z if z.device.type == "cpu" else z.cpu()
        if host.dtype not in (torch.float16, torch.float32, torch.float64):
            host = host.float()  # bfloat16 has no NumPy dtype
        d = self.bound.df(host.numpy())
        d = torch.from_numpy(np.abs(d, out=d) if isinstance(d, np.ndarray) else np.abs(np.asarray(d)))
        return d if z.device.type == "cpu" else d.to(z.device)

    def _autograd(self, z: torch.Tensor) -> torch.Tensor:
        with torch.enable_grad():
            zz = z.clone().requires_grad_(True)  # a copy: in-place activations must not touch z
            y = self.peer.call(zz, **self.bound.params)
            (g,) = torch.autograd.grad(y, zz, torch.ones_like(y))
        return g.abs_()


class _Buffer:
    """Small batches copied side by side along dim 0, with the step of each."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity  # bytes
        self.buf: torch.Tensor | None = None
        self.key: tuple | None = None
        self.rows = 0
        self.segments: list[tuple[int, int]] = []  # (rows, step) of each batch held

    def feed(self, t: torch.Tensor, step: int, reduce: Callable[..., None]) -> None:
        """Buffer t, reducing what is held first if t does not fit; a batch too large to
        gain from buffering (a quarter of the capacity or more) is reduced at once, uncopied."""
        n = t.shape[0]
        if 4 * t.numel() * t.element_size() > self.capacity:
            reduce(t, [(n, step)])
            return
        key = (t.shape[1:], t.dtype, t.device)
        if key != self.key or self.rows + n > self.buf.shape[0]:
            self.flush(reduce)
            if key != self.key:
                rows = self.capacity // (t[0].numel() * t.element_size())
                self.buf, self.key = torch.empty((rows, *t.shape[1:]), dtype=t.dtype, device=t.device), key
        self.buf[self.rows:self.rows + n].copy_(t)
        self.rows += n
        self.segments.append((n, step))

    def flush(self, reduce: Callable[..., None]) -> None:
        if self.rows:
            held, segments = self.buf[:self.rows], self.segments
            self.rows, self.segments = 0, []
            reduce(held, segments)


#: bytes per buffered tensor (two per layer, z and a); batches larger than a quarter of it
#: are reduced at once, without a copy
BUFFER_BYTES = 1 << 20
#: at most this many values of each reduction go into the histogram (evenly spaced):
#: searching 17 edges per value costs more than all the other statistics together
HIST_VALUES = 1 << 12


def _segment_max(d: torch.Tensor, segments: list[tuple[int, int]], ud: int) -> torch.Tensor:
    """max of d per segment of rows (dim 0) and unit (dim ``ud``): shape (segments, units)."""
    if ud == 0:  # one batch whose dim 0 is the units
        return d.amax(dim=tuple(range(1, d.ndim)))[None]
    ns = [n for n, _ in segments]
    if len(set(ns)) == 1:  # equal batches (the usual case): one reduction over a view
        v = d.view(len(ns), ns[0], *d.shape[1:])
        return v.amax(dim=tuple(k for k in range(1, v.ndim) if k != ud + 1))
    rest = tuple(k for k in range(d.ndim) if k != ud)
    return torch.stack([part.amax(dim=rest) for part in d.split(ns)])


class UnitStats:
    """Running per-unit statistics of one layer (see the module docstring).

    ``add_input(z, step)`` before the activation runs (an in-place one overwrites z),
    ``add_output(a, step)`` after; results flush the buffers first. ``buffer=False``
    reduces z at once (PReLU: its f' depends on slopes that change between steps).
    """

    def __init__(self, derivative: Derivative, *, dead_eps: float, sat_eps: float, unit_dim: int = 1,
                 buffer: bool = True) -> None:
        self.derivative, self.dead_eps, self.sat_eps, self.unit_dim = derivative, dead_eps, sat_eps, unit_dim
        self.samples = 0  # per unit, over the batches seen
        self.out_samples = 0
        self.units: int | None = None
        self.first_step = self.last_step = None
        self.max_df = self.max_z = self.sat = self.zero = self.last_alive = None
        self.sum = self.sumsq = self.hist = None
        self.error: str | None = None
        self._edges: torch.Tensor | None = None
        self._zbuf = _Buffer(BUFFER_BYTES if buffer else 0)
        self._abuf = _Buffer(BUFFER_BYTES)

    def _layout(self, t: torch.Tensor) -> torch.Tensor | None:
        """t with its unit axis checked (a 1-D t is one sample of units), or None to skip."""
        if self.error is not None or t.ndim == 0 or t.numel() == 0:
            return None
        t = t.detach()
        if t.ndim == 1:
            t = t.unsqueeze(0)
        units = t.shape[self.unit_dim % t.ndim]
        if self.units is None:
            self.units = units
        elif units != self.units:
            self.error = f"the number of units changed from {self.units} to {units}: statistics stopped there"
            return None
        return t

    def _feed(self, t: torch.Tensor | None, step: int, buf: _Buffer, reduce: Callable[..., None]) -> None:
        if t is None:
            return
        if self.unit_dim % t.ndim == 0:
            reduce(t, [(t.shape[0], step)])  # units along dim 0 cannot be stacked along it
        else:
            buf.feed(t, step, reduce)

    def add_input(self, z: torch.Tensor, step: int) -> None:
        """Fold in a batch of pre-activations z seen at forward pass ``step``."""
        self._feed(self._layout(z), step, self._zbuf, self._reduce_input)

    def add_output(self, a: torch.Tensor, step: int) -> None:
        """Fold in a batch of activations a = f(z)."""
        self._feed(self._layout(a), step, self._abuf, self._reduce_output)

    def flush(self) -> None:
        self._zbuf.flush(self._reduce_input)
        self._abuf.flush(self._reduce_output)

    def _reduce_input(self, z: torch.Tensor, segments: list[tuple[int, int]]) -> None:
        ud = self.unit_dim % z.ndim
        dims = tuple(d for d in range(z.ndim) if d != ud)
        d = self.derivative(z)
        # max |f'| per batch (segment) and unit in one pass: its max over the batches is the
        # dead test, and the last batch where it exceeds dead_eps is when the unit was last
        # alive. NaN compares false, so it counts as alive, as in nn.diagnostics.
        seg_max = _segment_max(d, segments, ud)  # (batches, units)
        max_df = seg_max.amax(dim=0)
        steps = torch.tensor([s for _, s in segments], device=z.device)
        last = torch.where(~(seg_max <= self.dead_eps), steps[:, None], -1).amax(dim=0)
        max_z = z.amax(dim=dims)
        # int32 sums of comparisons are the fastest counts on the CPU; one reduction covers at
        # most one buffer or one batch, far below 2^31
        sat = (d < self.sat_eps).sum(dim=dims, dtype=torch.int32)
        zero = (d == 0).sum(dtype=torch.int32)
        if self.max_df is None:
            self.max_df, self.max_z, self.sat, self.zero, self.last_alive = max_df, max_z, sat.long(), zero.long(), last
        else:
            torch.maximum(self.max_df, max_df, out=self.max_df)
            torch.maximum(self.max_z, max_z, out=self.max_z)
            torch.maximum(self.last_alive, last, out=self.last_alive)
            self.sat += sat
            self.zero += zero
        self.samples += z.numel() // self.units
        lo, hi = min(s for _, s in segments), max(s for _, s in segments)
        self.first_step = lo if self.first_step is None else min(self.first_step, lo)
        self.last_step = hi if self.last_step is None else max(self.last_step, hi)

    def _reduce_output(self, a: torch.Tensor, segments: list[tuple[int, int]]) -> None:
        ud = self.unit_dim % a.ndim
        dims = tuple(d for d in range(a.ndim) if d != ud)
        # sums in a's dtype over one buffer (torch sums pairwise), accumulated in float64:
        # a float64 sum straight from float32 costs 5x more
        acc = torch.float32 if a.device.type == "mps" else torch.float64  # MPS has no float64
        s, s2 = a.sum(dim=dims).to(acc), (a * a).sum(dim=dims).to(acc)
        if self._edges is None:
            self._edges = torch.tensor(HIST_EDGES, dtype=a.dtype, device=a.device)
        flat = a.reshape(-1)
        if flat.numel() > HIST_VALUES:  # evenly spaced values, made contiguous for bucketize
            flat = flat[::-(-flat.numel() // HIST_VALUES)].contiguous()
        h = torch.bincount(torch.bucketize(flat, self._edges), minlength=len(HIST_EDGES) + 1)
        if self.sum is None:
            self.sum, self.sumsq, self.hist = s, s2, h
        else:
            self.sum += s
            self.sumsq += s2
            self.hist += h
        self.out_samples += a.numel() // self.units

    def units_report(self, index: int, spec: str, sat_most: float) -> LayerUnits | None:
        """actlab's per-unit verdicts (:class:`actlab.nn.diagnostics.LayerUnits`), or None
        if no batch was seen."""
        self.flush()
        if self.max_df is None or self.samples == 0:
            return None
        max_df = self.max_df.double().cpu().numpy()
        return LayerUnits(
            layer=index, spec=spec, samples=self.samples,
            dead=max_df <= self.dead_eps, inactive=self.max_z.cpu().numpy() <= 0,
            saturated=self.sat.cpu().numpy() >= sat_most * self.samples,
            frac_zero_out=float(self.zero) / (self.samples * max_df.size), max_abs_df=max_df,
        )

    def dead_since(self, steps: int) -> np.ndarray | None:
        """Per unit: dead (|f'(z)| <= dead_eps) on every sample of the last ``steps``
        forward passes seen, i.e. not alive since; None before any batch."""
        self.flush()
        if self.last_alive is None:
            return None
        return self.last_alive.cpu().numpy() <= self.last_step - steps

    def moments(self) -> tuple[np.ndarray, np.ndarray] | None:
        """Per-unit mean and standard deviation of the activations (population std)."""
        self.flush()
        if self.sum is None or self.out_samples == 0:
            return None
        n = self.out_samples
        mean = (self.sum / n).cpu().numpy()
        var = np.maximum((self.sumsq / n).cpu().numpy() - mean * mean, 0.0)
        return mean, np.sqrt(var)

    def histogram(self) -> list[int]:
        """Counts per bin of :data:`HIST_EDGES` (of at most HIST_VALUES values per reduction)."""
        self.flush()
        return [] if self.hist is None else [int(v) for v in self.hist.cpu().tolist()]
