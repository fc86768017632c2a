"""The one registry of activation functions.

Each activation is defined once, as a small class body holding its kernels side by side
(``f``, ``df`` and, where f is twice differentiable almost everywhere, ``d2f``) under the
:func:`activation` decorator, which carries its metadata. Entries whose kernels are the
same code derive their class from one kernel class (leaky_relu and prelu): the decorator
reads the kernels through the class's bases too. Everything else in actlab (the network
engine, the command line, plots, the accuracy table, the report, the tests) iterates
:data:`REGISTRY`; no list of names is written anywhere else.

The decorator replaces the class by an :class:`Activation`, whose docstring doctest would
not find; it also records the docstring in the ``__test__`` dict of the defining module,
so ``pytest --doctest-modules`` runs every entry's examples.

The numerics contract that every entry keeps, enforced here and by the test suite:

* float16, float32 and float64 in give the same dtype out (float16 computes in float32);
  integer and bool inputs are promoted to float64; the shape is kept; non-native byte
  order (big-endian data) is read as the same values and gives native results; complex,
  object and string arrays are refused with one :class:`~actlab.errors.ActlabError`;
* the input is never modified; results can be written into a caller's ``out=`` buffer,
  which may be the input itself or overlap it (``f(x, out=x)``, in-place activation: see
  :func:`_apply`), and for ``vjp`` the cotangent ``v`` too;
* ``f``, ``df`` and ``d2f`` return their mathematical limits at +-inf where they exist,
  propagate NaN, and emit no RuntimeWarning for any input;
* at a kink, ``df`` returns the value listed in ``kinks`` (PyTorch's convention);
* ``domain`` is where f is real (log1mexp: x > 0); outside it f, f' and f'' are NaN;
* ``zero_centred`` means f is odd (f(-x) = -f(x)), so a symmetric input distribution
  gives a zero-mean output; ``monotonic`` means non-decreasing;
* accuracy: at most ``ULP_BOUNDS`` ulp against mpmath (see :mod:`actlab.verify.accuracy`).

Kernels receive a float32 or float64 array ``x`` and an ``out`` array of the same shape
and dtype, write the result into ``out`` and return it. A vector entry whose output has
another shape (glu halves its axis) defines ``out_shape(shape, axis, ...)`` in its class
body; ``f`` then gets an ``out`` of that shape (``vjp`` keeps x's shape). An empty
input (no rows, or rows of length 0) gives an empty result of the right shape and dtype
from ``f``, ``vjp`` and ``jacobian``, as in PyTorch and JAX.
"""

from __future__ import annotations

import ast
import functools
import math
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import QUOTE_LIMIT, ActlabError, InvalidParameterError, check_real, shorten, unknown
from ._kernels import flat_blocks, for_blocks

__all__ = ["Param", "Activation", "Bound", "REGISTRY", "activation", "get", "names", "parse_spec",
           "set_spec_resolver"]

inf = math.inf
Kernel = Callable[..., np.ndarray]


@dataclass(frozen=True)
class Param:
    """A real parameter of an activation, with its default and allowed interval."""

    name: str
    default: float
    low: float = -inf
    high: float = inf
    low_open: bool = False
    high_open: bool = False
    doc: str = ""

    def check(self, value: object, owner: str) -> float:
        return check_real(value, self.name, owner, self.low, self.high, self.low_open, self.high_open)


@dataclass(frozen=True, eq=False)
class Activation:
    """One catalogue entry: kernels plus metadata. Bind parameters with :meth:`bind`."""

    name: str
    doc: str
    formula: str
    smoothness: str  # "discontinuous", "C0", "C1", "C2" or "Cinf"
    monotonic: bool
    zero_centred: bool
    f_kernel: Kernel
    df_kernel: Kernel | None = None
    d2f_kernel: Kernel | None = None
    vjp_kernel: Kernel | None = None  # vector functions only
    jacobian_kernel: Kernel | None = None  # vector functions only
    out_shape: Callable[..., tuple[int, ...]] | None = None  # f's shape, if not x's (vector functions)
    domain: tuple[float, float] = (-inf, inf)  # where f is real; outside it f, f', f'' are NaN
    range_: Callable[..., tuple[float, float]] | tuple[float, float] = (-inf, inf)
    kinks_: Callable[..., Mapping[float, float]] | Mapping[float, float] = field(default_factory=dict)
    gain_: Callable[..., float] | float | None = None
    params: tuple[Param, ...] = ()
    aliases: tuple[str, ...] = ()
    vector: bool = False
    family: str = ""
    ulp: Mapping[str, float] = field(default_factory=lambda: dict(ULP_BOUNDS))

    @property
    def param_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.params)

    @property
    def defaults(self) -> dict[str, float]:
        return {p.name: p.default for p in self.params}

    def bind(self, **params: object) -> Bound:
        """Fix the parameters, validating each one (unknown names get a close match)."""
        known = {p.name: p for p in self.params}
        for key in params:
            if key not in known:
                raise unknown("parameter", key, known, owner=self.name)
        values = {p.name: p.check(params[p.name], self.name) if p.name in params else p.default for p in self.params}
        self._check_joint(values)
        return Bound(self, values)

    def _check_joint(self, values: dict[str, float]) -> None:
        # The only joint constraint in the catalogue: an interval's ends must be ordered.
        for lo, hi in (("lower", "upper"), ("min_val", "max_val")):
            if lo in values and hi in values and not values[lo] <= values[hi]:
                raise InvalidParameterError(
                    f"The {lo!r} parameter of {self.name} must be <= {hi!r} ({values[hi]!r}). "
                    f"Got {values[lo]!r} instead."
                )

    def __call__(self, x: Any, **params: object) -> np.ndarray:
        return self.bind(**params)(x)

    def __repr__(self) -> str:
        return f"<activation {self.name}>"


def _as_float(x: Any, what: str = "x") -> tuple[np.ndarray, np.dtype]:
    """The array to compute on and the dtype of the result (see the module docstring).

    Non-native byte order (a big-endian file read on a little-endian machine) is converted
    to native, with the same values; the result is native. Anything that is not a real
    number array is refused with one :class:`ActlabError` (``what`` names the argument).
    """
    try:
        a = np.asarray(x)
    except (ValueError, TypeError):  # ragged nested lists, objects NumPy cannot read
        a = None
    if a is not None:
        dt = a.dtype
        if dt.kind == "f" and dt.itemsize in (2, 4, 8):
            if dt.itemsize == 2:
                return a.astype(np.float32), np.dtype(np.float16)
            if not dt.isnative:
                dt = dt.newbyteorder("=")
                a = a.astype(dt)
            return a, dt
        if dt.kind in "biu":
            return a.astype(np.float64), np.dtype(np.float64)
    hint = ""
    if a is None:
        got = f"a {type(x).__name__} NumPy cannot make one array of (ragged, or of mixed types)"
    elif dt.kind == "c":
        got = f"a complex array (dtype {dt})"
        hint = ": activations are real functions (pass x.real or abs(x) if that is what you mean)"
    elif dt.kind == "O":
        got = "an array of Python objects (dtype object)"
        hint = ": convert it with np.asarray(x, dtype=float) first"
    elif dt.kind in "SU":
        got = f"an array of strings (dtype {dt.str})"
    elif dt.kind == "f":
        got = f"a {dt.itemsize * 8}-bit float array (dtype {dt})"
        hint = ": convert it to float64 first"
    else:
        got = f"an array of dtype {dt}"
    raise ActlabError(
        f"The {what!r} argument of an activation must be a real array (float16/32/64, int or bool). "
        f"Got {got} instead{hint}."
    )


#: Elementwise kernels run over blocks of this many bytes, so that the temporaries of a
#: multi-pass kernel stay in cache: on 10^7 float32 elements this made tanh' 2.4x, ELU'
#: 1.7x and hard-swish' 1.9x faster, with single-pass kernels (ReLU) unchanged (measured
#: with `actlab bench kernels`).
_BLOCK_BYTES = 1 << 20


def _blocked(kernel: Kernel, a: np.ndarray, buf: np.ndarray, **params: float) -> np.ndarray:
    def run(o: np.ndarray, x: np.ndarray) -> None:
        res = kernel(x, o, **params)
        if res is not o and not np.shares_memory(res, o):
            o[...] = res

    return flat_blocks(run, _BLOCK_BYTES // a.itemsize, a, buf)  # both C-contiguous (see _apply)


def _in_place(out: np.ndarray, a: np.ndarray) -> bool:
    """Whether ``out`` is ``a``'s memory element for element (``f(x, out=x)``), C-contiguous."""
    return (out.__array_interface__["data"][0] == a.__array_interface__["data"][0] and out.shape == a.shape
            and out.dtype == a.dtype and out.flags.c_contiguous and a.flags.c_contiguous)


def _blocked_in_place(kernel: Kernel, a: np.ndarray, **params: float) -> None:
    """An elementwise kernel over ``a`` in place: block by block (as :func:`_blocked`), each
    block computed into a separate scratch block and copied back over the inputs it came
    from, which no later block reads. In-place activation then costs a copy in cache (a
    fresh array-sized buffer would cost page faults and a pass over memory: 6x a ReLU)."""
    step = _BLOCK_BYTES // a.itemsize
    flat = a.reshape(-1)
    tmp = np.empty(min(step, flat.size), a.dtype)

    def run(o: np.ndarray, x: np.ndarray) -> None:  # o and x are the same block
        res = kernel(x, tmp[: x.size], **params)
        o[...] = res

    for_blocks(run, step, flat, flat)


def _check_out(out: object, shape: tuple[int, ...], dtype: np.dtype) -> None:
    if out is not None and (not isinstance(out, np.ndarray) or out.shape != shape or out.dtype != dtype):
        raise ActlabError(
            f"The 'out' argument must be an ndarray of shape {shape} and dtype {dtype}. "
            f"Got {type(out).__name__} {getattr(out, 'shape', '')} {getattr(out, 'dtype', '')} instead."
        )


def _apply(
    kernel: Kernel,
    x: tuple[np.ndarray, np.dtype],
    out: np.ndarray | None,
    *args: Any,
    out_shape: tuple[int, ...] | None = None,
    elementwise: bool = False,
    reads: tuple[np.ndarray, ...] = (),
    unwrap: bool = True,
    **params: float,
) -> Any:
    """Run ``kernel`` on ``x`` (what :func:`_as_float` returned: the float32/float64 array and
    the result's dtype), into ``out`` or a new array.

    ``out_shape`` is the result's shape, if not x's; ``reads`` are the other arrays the
    kernel reads (the cotangent of a VJP). A 0-d result is returned as a NumPy scalar
    unless ``unwrap`` is false.

    A kernel reads its input in several passes and writes its ``out`` in between, so an
    ``out`` that overlaps the input (``out=x``, in-place activation, or a shifted view of
    the same buffer) would be read after being written. When ``np.may_share_memory`` says
    it might (a bounds check: cheap, and conservative), the kernel writes into a fresh
    array that is copied into ``out`` at the end, or, for an elementwise kernel run exactly
    in place (``out`` is x's memory, element for element), into a scratch block copied back
    block by block. Without overlap (the usual case) it writes into ``out`` directly, with
    no extra pass.
    """
    a, result_dtype = x
    shape = a.shape if out_shape is None else out_shape
    _check_out(out, shape, result_dtype)
    if out is None or out.dtype != a.dtype:
        buf = np.empty(shape, dtype=a.dtype)
    elif not any(np.may_share_memory(out, r) for r in (a, *reads)):
        buf = out
    elif elementwise and not reads and _in_place(out, a):
        _blocked_in_place(kernel, a, **params)
        return out
    else:
        buf = np.empty(shape, dtype=a.dtype)
    if elementwise and a.size > 2 * _BLOCK_BYTES // a.itemsize and a.flags.c_contiguous and buf.flags.c_contiguous:
        res = _blocked(kernel, a, buf, **params)
    else:
        res = kernel(a, buf, *args, **params)
    with np.errstate(over="ignore"):  # float16 results round to +-inf above 65504, by design
        if out is not None:
            if res is not out:
                np.copyto(out, res, casting="unsafe")
            return out
        if res.dtype != result_dtype:
            res = res.astype(result_dtype)
    return res if res.ndim or not unwrap else res[()]


def _broadcasts_to(shape: tuple[int, ...], target: tuple[int, ...]) -> bool:
    """Whether an array of ``shape`` broadcasts to ``target`` (without changing ``target``)."""
    return len(shape) <= len(target) and all(n in (1, t) for n, t in zip(shape[::-1], target[::-1]))


@dataclass(frozen=True, eq=False)
class Bound:
    """An activation with its parameters fixed: what :func:`get` returns.

    ``f``, ``df`` and ``d2f`` follow the numerics contract of the module docstring.
    """

    definition: Activation
    params: dict[str, float]

    @property
    def name(self) -> str:
        return self.definition.name

    @property
    def spec(self) -> str:
        """A spec string that :func:`get` turns back into this object."""
        if not self.params:
            return self.name
        inner = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{self.name}({inner})"

    def __repr__(self) -> str:
        return f"<activation {self.spec}>"

    def __call__(self, x: Any, out: np.ndarray | None = None, **kw: Any) -> Any:
        return self.f(x, out=out, **kw)

    def f(self, x: Any, out: np.ndarray | None = None, **kw: Any) -> Any:
        """The activation value f(x)."""
        d = self.definition
        xa = _as_float(x)
        # a vector kernel whose output differs in shape from x (glu halves its axis) declares it
        shape = None if d.out_shape is None else d.out_shape(xa[0].shape, **kw, **self.params)
        return _apply(d.f_kernel, xa, out, out_shape=shape, elementwise=not d.vector, **kw, **self.params)

    def df(self, x: Any, out: np.ndarray | None = None) -> Any:
        """The first derivative f'(x) (elementwise functions)."""
        if self.definition.df_kernel is None:
            raise ActlabError(f"{self.name} is a vector function: use vjp() or jacobian() instead of df().")
        return _apply(self.definition.df_kernel, _as_float(x), out, elementwise=True, **self.params)

    def d2f(self, x: Any, out: np.ndarray | None = None) -> Any:
        """The second derivative f''(x), where f is twice differentiable almost everywhere."""
        if self.definition.d2f_kernel is None:
            raise ActlabError(
                f"{self.name} has no second derivative in the catalogue (smoothness {self.definition.smoothness})."
            )
        return _apply(self.definition.d2f_kernel, _as_float(x), out, elementwise=True, **self.params)

    @property
    def has_d2f(self) -> bool:
        return self.definition.d2f_kernel is not None

    def vjp(self, x: Any, v: Any, out: np.ndarray | None = None, **kw: Any) -> Any:
        """The vector-Jacobian product v^T J(x): the gradient a layer passes backwards, of
        x's shape and result dtype.

        For a vector function the cotangent ``v`` has exactly f(x)'s shape (x's, or glu's
        halved one): it is refused otherwise, as broadcasting it along the rows would be a
        guess. For an elementwise function the product is elementwise, v * f'(x), and ``v``
        may be anything that broadcasts to x's shape without changing it (a scalar, a row).
        ``out`` may be x or v itself, or overlap them.
        """
        d = self.definition
        xa = _as_float(x)
        va, _ = _as_float(v, "v")
        a = xa[0]
        if d.vjp_kernel is None:
            if not _broadcasts_to(va.shape, a.shape):
                raise ActlabError(
                    f"The cotangent 'v' of {self.name} must broadcast to the shape of x, {a.shape}. "
                    f"Got shape {va.shape} instead."
                )
            # df writes its out before the product reads v: an out that overlaps v waits for it
            _check_out(out, a.shape, xa[1])
            fresh = out is not None and np.may_share_memory(out, va)
            g = _apply(d.df_kernel, xa, None if fresh else out, elementwise=True, unwrap=False, **self.params)
            with np.errstate(over="ignore", invalid="ignore"):  # rounded products, 0 * inf = NaN: no warning
                res = np.multiply(g, va, out=g if out is None else out)
            return res if res.ndim or out is not None else res[()]
        expected = a.shape if d.out_shape is None else tuple(d.out_shape(a.shape, **kw, **self.params))
        if va.shape != expected:
            like = f"x, {a.shape}" if d.out_shape is None else f"{self.name}(x), {expected} (x has shape {a.shape})"
            raise ActlabError(f"The cotangent 'v' of {self.name} must have the shape of {like}. "
                              f"Got shape {va.shape} instead.")
        vk = va.astype(a.dtype, copy=False)
        return _apply(functools.partial(d.vjp_kernel, v=vk), xa, out, reads=(vk,), **kw, **self.params)

    def jacobian(self, x: Any, axis: int = -1) -> np.ndarray:
        """The full Jacobian of a vector function along ``axis``: shape (..., m, n), last two axes (out, in)."""
        d = self.definition
        if d.jacobian_kernel is None:
            raise ActlabError(f"{self.name} is elementwise: its Jacobian is diag(df(x)).")
        a, result_dtype = _as_float(x)
        if a.size == 0:
            # no rows, or rows of length 0: nothing to compute (the kernels reduce along the
            # rows). f checks the axis (and glu's even length) and gives the output length m.
            m = np.shape(self.f(a, axis=axis))[axis]
            ax = int(axis) % a.ndim
            return np.zeros((*a.shape[:ax], *a.shape[ax + 1 :], m, a.shape[ax]), result_dtype)
        return d.jacobian_kernel(a, axis=axis, **self.params).astype(result_dtype, copy=False)

    @property
    def range(self) -> tuple[float, float]:
        r = self.definition.range_
        return r(**self.params) if callable(r) else r

    @property
    def kinks(self) -> dict[float, float]:
        """The points where f is not differentiable, each with the value df returns there."""
        k = self.definition.kinks_
        return dict(k(**self.params) if callable(k) else k)

    @property
    def bounded_below(self) -> bool:
        return math.isfinite(self.range[0])

    @property
    def bounded_above(self) -> bool:
        return math.isfinite(self.range[1])

    @property
    def gain(self) -> float | None:
        """Recommended initialisation gain: PyTorch's ``calculate_gain`` where it has one,
        else 1/sqrt(E[f(Z)^2]) for Z ~ N(0, 1), which keeps the second moment of the
        pre-activations of the next layer equal to that of this one (He et al. 2015)."""
        g = self.definition.gain_
        if callable(g):
            return float(g(**self.params))
        if g is not None:
            return float(g)
        if self.definition.vector:
            return None
        return _derived_gain(self.spec)

    @property
    def gain_source(self) -> str:
        if self.definition.vector:
            return "none"
        # "given": set in the catalogue (PyTorch's calculate_gain value where it has one, else a
        # closed form); "derived": 1/sqrt(E[f(Z)^2]) by quadrature
        return "given" if self.definition.gain_ is not None else "derived"


@functools.cache
def _derived_gain(spec: str) -> float:
    from scipy import integrate, stats

    act = get(spec)
    # |z| > 38 carries less than 1e-300 of the Gaussian mass; a finite interval keeps
    # fast-growing f (exponential) from overflowing inside quad.
    second_moment, _ = integrate.quad(
        lambda z: float(act.f(np.float64(z))) ** 2 * stats.norm.pdf(z), -38, 38, limit=200
    )
    return 1.0 / math.sqrt(second_moment)


#: The accuracy contract, in ulp against mpmath over :func:`actlab.verify.accuracy.grid`, float32
#: and float64. An entry may loosen one with the ``ulp=`` argument of :func:`activation`
#: only together with a sentence in its docstring saying why and what was measured.
ULP_BOUNDS = {"f": 4.0, "df": 4.0, "d2f": 16.0}

REGISTRY: dict[str, Activation] = {}
_ALIASES: dict[str, str] = {}


def activation(
    name: str,
    *,
    formula: str,
    smoothness: str,
    monotonic: bool,
    zero_centred: bool,
    range: Callable[..., tuple[float, float]] | tuple[float, float] = (-inf, inf),
    kinks: Callable[..., Mapping[float, float]] | Mapping[float, float] | None = None,
    gain: Callable[..., float] | float | None = None,
    params: tuple[Param, ...] = (),
    aliases: tuple[str, ...] = (),
    family: str = "",
    ulp: Mapping[str, float] | None = None,
    domain: tuple[float, float] = (-inf, inf),
) -> Callable[[type], Activation]:
    """Register the class body below as an activation (see the module docstring).

    The kernels are read from the class and its bases (a kernel class shared by entries
    with the same body); the docstring is the class's own. It is also put into the
    ``__test__`` dict of the module that defines the class, which doctest collects.
    """
    if smoothness not in ("discontinuous", "C0", "C1", "C2", "Cinf"):
        raise ValueError(f"bad smoothness {smoothness!r} for {name}")

    def register(cls: type) -> Activation:
        body: dict[str, Any] = {}
        for klass in reversed(cls.__mro__[:-1]):  # bases first, the class body last; not object
            body.update(vars(klass))
        vector = "vjp" in body
        entry = Activation(
            name=name,
            doc=cls.__doc__ or "",
            formula=formula,
            smoothness=smoothness,
            monotonic=monotonic,
            zero_centred=zero_centred,
            f_kernel=body["f"],
            df_kernel=body.get("df"),
            d2f_kernel=body.get("d2f"),
            vjp_kernel=body.get("vjp"),
            jacobian_kernel=body.get("jacobian"),
            out_shape=body.get("out_shape"),
            domain=domain,
            range_=range,
            kinks_={} if kinks is None else kinks,
            gain_=gain,
            params=params,
            aliases=aliases,
            vector=vector,
            family=family,
            ulp={**ULP_BOUNDS, **(ulp or {})},
        )
        for key in (name, *aliases):
            if key in REGISTRY or key in _ALIASES:
                raise ValueError(f"activation name {key!r} registered twice")
        REGISTRY[name] = entry
        for alias in aliases:
            _ALIASES[alias] = name
        # doctest does not look inside the Activation left in the module in place of the
        # class: hand it the docstring (`pytest --doctest-modules` then runs its examples)
        module = sys.modules.get(cls.__module__)
        if module is not None:
            vars(module).setdefault("__test__", {})[name] = entry.doc
        return entry

    return register


def names(vector: bool | None = None) -> list[str]:
    """Registered names in catalogue order (optionally only vector or elementwise ones)."""
    return [n for n, a in REGISTRY.items() if vector is None or a.vector == vector]


def lookup(name: str) -> Activation:
    """The catalogue entry for a name or alias."""
    key = _ALIASES.get(name, name)
    if key not in REGISTRY:
        raise unknown("activation", name, [*REGISTRY, *_ALIASES])
    return REGISTRY[key]


#: The longest spec string :func:`parse_spec` reads (the longest in the catalogue is ~40
#: characters); a longer one is refused before it is parsed, which bounds the parser's work.
MAX_SPEC_LENGTH = 1000

_SPEC_FORM = "expected NAME or NAME(param=number, ...), e.g. 'leaky_relu(slope=0.1)'"
_NON_FINITE = {"inf": math.inf, "infinity": math.inf, "nan": math.nan}


def _spec_value(node: ast.expr) -> object:
    """The value of one ``param=value`` of a spec, or ``_NOT_A_VALUE``.

    A number literal with at most one sign (``0.1``, ``-2``, ``1e-3``; ``inf`` and ``nan``
    too, so that the parameter's own check refuses them by name). Other constants (strings,
    True/False, None, complex literals) are handed on as they are, for the same reason; any
    other expression (a list, a dict, a call, a sum, a second sign) is not a value.
    """
    sign = 1
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        sign = -1 if isinstance(node.op, ast.USub) else 1
        node = node.operand
        if not (isinstance(node, ast.Name) or isinstance(node, ast.Constant) and type(node.value) in (int, float)):
            return _NOT_A_VALUE
    if isinstance(node, ast.Name) and node.id.lower() in _NON_FINITE:
        return sign * _NON_FINITE[node.id.lower()]
    if isinstance(node, ast.Constant):
        return sign * node.value if type(node.value) in (int, float) else node.value
    return _NOT_A_VALUE


_NOT_A_VALUE = object()


def parse_spec(spec: str) -> tuple[str, dict[str, object]]:
    """Split ``"leaky_relu(slope=0.1)"`` into ``("leaky_relu", {"slope": 0.1})``.

    The spec is read, never evaluated: a name, optionally followed by ``param=value``
    pairs in parentheses, each value a number (see :func:`_spec_value`). Anything else
    (positional arguments, a parameter given twice, a value that is an expression, a spec
    over :data:`MAX_SPEC_LENGTH` characters) is one :class:`ActlabError`.

    >>> parse_spec("elu(alpha=0.5)")
    ('elu', {'alpha': 0.5})
    >>> parse_spec("elu(alpha=1, alpha=2)")
    Traceback (most recent call last):
    ...
    actlab.errors.InvalidParameterError: The 'alpha' parameter is given twice in the spec 'elu(alpha=1, alpha=2)'.
    """
    if not isinstance(spec, str):
        raise ActlabError(f"A spec is a string such as 'leaky_relu(slope=0.1)'. Got {shorten(spec)} instead.")
    quoted = shorten(spec)
    if len(spec) > MAX_SPEC_LENGTH:
        raise ActlabError(f"A spec string has at most {MAX_SPEC_LENGTH} characters. Got {quoted} instead.")
    bad = ActlabError(f"Cannot read activation spec {quoted}: {_SPEC_FORM}.")
    try:
        node = ast.parse(spec.strip(), mode="eval").body
    except (SyntaxError, ValueError, RecursionError, MemoryError):  # ValueError: a null byte
        raise bad from None
    if isinstance(node, ast.Name):
        return node.id, {}
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
        raise bad
    if node.args or any(kw.arg is None for kw in node.keywords):
        raise ActlabError(f"Cannot read activation spec {quoted}: parameters are given by name, {_SPEC_FORM}.")
    params: dict[str, object] = {}
    for kw in node.keywords:
        if kw.arg in params:
            raise InvalidParameterError(f"The {kw.arg!r} parameter is given twice in the spec {quoted}.")
        value = _spec_value(kw.value)
        if value is _NOT_A_VALUE:
            text = ast.get_source_segment(spec.strip(), kw.value) or ""
            raise InvalidParameterError(
                f"The {kw.arg!r} parameter in the spec {quoted} must be a number, e.g. {kw.arg}=0.5. "
                f"Got {text if len(text) <= QUOTE_LIMIT and text.isprintable() else shorten(text)} instead."
            )
        params[kw.arg] = value
    return node.func.id, params


def get(spec: str | Bound | Activation, **params: object) -> Bound:
    """An activation by name, alias or spec string, with its parameters bound.

    >>> get("leaky_relu", slope=0.1)
    <activation leaky_relu(slope=0.1)>
    >>> get("leaky_relu(slope=0.1)").spec
    'leaky_relu(slope=0.1)'
    >>> get("relu").df([-1.0, 0.0, 2.0])
    array([0., 0., 1.])
    """
    if isinstance(spec, Bound):
        return spec.definition.bind(**{**spec.params, **params}) if params else spec
    if isinstance(spec, Activation):
        return spec.bind(**params)
    if not isinstance(spec, str):
        raise ActlabError(f"An activation is given by name or spec string, e.g. 'relu'. Got {shorten(spec)} instead.")
    try:
        name, parsed = parse_spec(spec)
        entry = lookup(name)
    except InvalidParameterError:  # NAME(param=value) with a bad value: the registry's error stands
        raise
    except ActlabError:
        # not a registry name or NAME(param=value): a formula ("x * sigmoid(x)") if the
        # resolver installed by actlab.formula takes it; otherwise this error stands
        bound = _SPEC_RESOLVER(spec) if _SPEC_RESOLVER is not None else None
        if bound is None:
            raise
        return bound.definition.bind(**{**bound.params, **params}) if params else bound
    return entry.bind(**{**parsed, **params})


#: What :func:`get` asks about a spec the registry does not know: a function returning a
#: Bound, or None when the spec is not its kind (then the registry's error stands).
#: actlab.formula installs one when imported; the catalogue never imports the rooms above it.
_SPEC_RESOLVER: Callable[[str], Bound | None] | None = None


def set_spec_resolver(fn: Callable[[str], Bound | None] | None) -> None:
    """Install the resolver :func:`get` calls for specs that are not registry names (None removes it)."""
    global _SPEC_RESOLVER
    _SPEC_RESOLVER = fn


def iter_bound() -> Iterator[Bound]:
    """Every registry entry bound to its default parameters."""
    for entry in REGISTRY.values():
        yield entry.bind()
