"""Hardening of the catalogue's inputs (issue 9): ``out=`` overlapping the input, the shape of
a VJP's cotangent, spec strings, dtypes other than native float16/32/64, and the file mode of
the atomic writer.

Every aliasing result is compared bit for bit with the same call on a separate copy of the
input (no overlap); dtype conversions with NumPy's own byte swap. Tests iterate
:data:`REGISTRY`, never a list of names.
"""

import os
import stat
import time

import numpy as np
import pytest

import actlab
from actlab import _io
from actlab.catalogue.registry import MAX_SPEC_LENGTH, REGISTRY, parse_spec
from actlab.errors import ActlabError, InvalidParameterError, check_int, check_real, shorten

FLOATS = (np.float16, np.float32, np.float64)
UINT = {np.dtype(np.float16): np.uint16, np.dtype(np.float32): np.uint32, np.dtype(np.float64): np.uint64}
#: How out may share x's (or v's) buffer: the same memory as another view, the very same
#: object, shifted 3 elements ahead or behind (partial overlap), and interleaved (no common
#: element, but bounds that overlap: what np.may_share_memory cannot tell apart).
OVERLAPS = ("same", "is", "ahead", "behind", "interleaved")


def _kernels(entry):
    if entry.vector:
        return ["f", "vjp_x", "vjp_v"]
    return ["f", "df"] + (["d2f"] if entry.d2f_kernel is not None else []) + ["vjp_x", "vjp_v"]


# out=x itself ("is") needs out and x (or v) of one shape: not glu's f (it halves its axis) or
# its VJP's out over v
CASES = [(name, k, overlap) for name, entry in REGISTRY.items() for k in _kernels(entry) for overlap in OVERLAPS
         if not (overlap == "is" and entry.out_shape is not None and k in ("f", "vjp_v"))]


def _same_bits(got, want):
    got, want = np.asarray(got), np.asarray(want)
    assert got.dtype == want.dtype and got.shape == want.shape
    return np.array_equal(got.view(UINT[got.dtype]), want.view(UINT[want.dtype]))


def _x_values(entry, n, dtype, seed=0):
    """n inputs: the special values of the contract first, then a spread of ordinary ones."""
    rng = np.random.default_rng(seed)
    special = np.array([-np.inf, -40.0, -3.0, -1.0, -0.5, -0.0, 0.0, 1e-6, 0.5, 1.0, 2.0, 3.0, 40.0, np.inf, np.nan])
    x = np.concatenate([special, rng.normal(0.0, 3.0, n)])[:n]
    if entry.vector:
        x[:16] = rng.normal(0.0, 3.0, 16)  # a first row of ordinary numbers (specials give NaN rows)
    return x.astype(dtype)


def _shared(n_x, n_out, dtype, overlap, shift=3):
    """A view x of n_x elements and a view out of n_out elements of one buffer."""
    if overlap == "interleaved":
        buf = np.empty(2 * max(n_x, n_out), dtype)
        return buf[0 : 2 * n_x : 2], buf[1 : 2 * n_out : 2]
    buf = np.empty(max(n_x, n_out) + shift, dtype)
    if overlap in ("same", "is"):
        return buf[:n_x], buf[:n_out]
    if overlap == "ahead":  # out starts 3 elements after x: out[i] is x[i + 3]
        return buf[:n_x], buf[shift : shift + n_out]
    return buf[shift : shift + n_x], buf[:n_out]  # behind: out[i + 3] is x[i]


def _run(act, kernel, x, v, out):
    if kernel == "f":
        return act.f(x, out=out)
    if kernel in ("df", "d2f"):
        return getattr(act, kernel)(x, out=out)
    return act.vjp(x, v, out=out)


def _check_aliasing(name, kernel, dtype, overlap, n_rows, n_cols):
    entry = REGISTRY[name]
    act = entry.bind()
    shape = (n_rows, n_cols)  # vector entries act along the rows; elementwise ones see a 2-D array
    f_shape = shape if entry.out_shape is None else tuple(entry.out_shape(shape))
    n = n_rows * n_cols
    x0 = _x_values(entry, n, dtype).reshape(shape)
    v0 = np.random.default_rng(1).normal(size=f_shape).astype(dtype)
    out_shape = f_shape if kernel == "f" else shape
    n_out = int(np.prod(out_shape))
    want = _run(act, kernel, x0.copy(), v0.copy(), None)  # the same call with nothing shared

    if kernel == "vjp_v":  # out shares the cotangent's memory; x is separate
        v_flat, o_flat = _shared(v0.size, n_out, dtype, overlap)
        v = v_flat.reshape(f_shape)
        v[...] = v0
        x = x0.copy()
        out = v if overlap == "is" else o_flat.reshape(out_shape)
    else:
        x_flat, o_flat = _shared(n, n_out, dtype, overlap)
        x = x_flat.reshape(shape)
        x[...] = x0
        v = v0.copy()
        out = x if overlap == "is" else o_flat.reshape(out_shape)
    assert np.may_share_memory(out, v if kernel == "vjp_v" else x)
    got = _run(act, kernel, x, v, out)
    assert got is out
    assert _same_bits(got, want), f"{name}.{kernel} {np.dtype(dtype).name} {overlap}: {got} != {want}"


@pytest.mark.parametrize("dtype", FLOATS, ids=lambda d: d.__name__)
@pytest.mark.parametrize("name,kernel,overlap", CASES)
def test_out_may_overlap_the_input(name, kernel, overlap, dtype):
    """In-place activation (out=x) and shifted partial overlaps give the values computed
    without any overlap, bit for bit: f, f', f'' and the VJP (out over x, and over v)."""
    _check_aliasing(name, kernel, dtype, overlap, 4, 16)


@pytest.mark.parametrize("overlap", ["is", "ahead", "behind"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=lambda d: d.__name__)
@pytest.mark.parametrize("name", list(REGISTRY))
def test_out_may_overlap_the_input_over_many_blocks(name, dtype, overlap):
    """The same over more elements than one block (the 1 MB blocks of elementwise kernels, the
    blocks of rows of vector ones), where a block's out overwrites the next block's input."""
    kernel = "vjp_x" if REGISTRY[name].vector else "df"
    for k in ("f", kernel):
        if not (overlap == "is" and k == "f" and REGISTRY[name].out_shape is not None):
            _check_aliasing(name, k, dtype, overlap, 2**13 + 1, 2**7)


def test_the_issue_example():
    x = np.array([-1.0, 0.5, 2.0])
    y = actlab.get("elu")(x, out=x)
    assert y is x
    np.testing.assert_array_equal(x, actlab.get("elu")(np.array([-1.0, 0.5, 2.0])))


# ---------------------------------------------------------------- the cotangent of a VJP


@pytest.mark.parametrize("name", [n for n, e in REGISTRY.items() if e.vector])
def test_a_vector_vjp_refuses_a_cotangent_of_another_shape(name):
    act = actlab.get(name)
    x = np.linspace(-2, 2, 24).reshape(4, 6)
    f_shape = act.f(x).shape
    good = np.ones(f_shape)
    assert act.vjp(x, good).shape == x.shape
    for v in (np.ones(good.size), good.T, np.ones((1, f_shape[1])), np.ones((f_shape[0], 1)), 1.0,
              np.ones((2, *f_shape))):
        with pytest.raises(ActlabError) as err:
            act.vjp(x, v)
        msg = str(err.value)
        assert "cotangent 'v'" in msg and str(f_shape) in msg and str(np.shape(v)) in msg, msg
        if f_shape != x.shape:
            assert str(x.shape) in msg, msg


@pytest.mark.parametrize("name", [n for n, e in REGISTRY.items() if not e.vector])
def test_an_elementwise_vjp_takes_a_cotangent_that_broadcasts_to_x(name):
    act = actlab.get(name)
    x = np.linspace(-3, 3, 12).reshape(3, 4) + 0.25  # log1mexp is real for x > 0 only: NaN elsewhere
    g = act.df(x)
    for v in (2.0, np.arange(4.0), np.arange(3.0)[:, None], np.ones((1, 4)), np.ones((3, 4))):
        want = g * v
        np.testing.assert_array_equal(act.vjp(x, v), want)
        out = np.empty(x.shape)
        assert act.vjp(x, v, out=out) is out
        np.testing.assert_array_equal(out, want)
    for v in (np.ones((2, 3, 4)), np.ones((4, 3)), np.ones(3), np.ones((3, 1, 1))):
        with pytest.raises(ActlabError) as err:
            act.vjp(x, v)
        msg = str(err.value)
        assert "cotangent 'v'" in msg and str(x.shape) in msg and str(v.shape) in msg, msg
    assert act.vjp(np.float32(0.5), 2.0).dtype == np.float32  # x's dtype, whatever v's


def test_a_cotangent_that_is_not_real_is_refused():
    for name in ("relu", "softmax"):
        for v in (np.ones(4) + 1j, np.array(["a"] * 4)):
            with pytest.raises(ActlabError, match="'v' argument"):
                actlab.get(name).vjp(np.ones(4), v)


# ---------------------------------------------------------------- spec strings


def _refused(spec, error=ActlabError):
    """The error get(spec) raises: an ActlabError of one short line, no chained traceback."""
    with pytest.raises(error) as err:
        actlab.get(spec)
    e = err.value
    assert e.__context__ is None or e.__suppress_context__, repr(e.__context__)
    msg = str(e)
    assert "\n" not in msg and len(msg) < 300, msg
    return msg


def test_a_spec_value_that_is_not_a_number_is_one_error():
    msg = _refused("elu(alpha={[]: 1})", InvalidParameterError)
    assert "'alpha'" in msg and "{[]: 1}" in msg
    for value in ("[1]", "(1, 2)", "1+1", "--1", "abs(1)", "x", "'a' * 99", "{1}", "1 if 1 else 2", "[1,\n2]"):
        msg = _refused(f"elu(alpha={value})", InvalidParameterError)
        assert "'alpha'" in msg and "number" in msg, msg


def test_values_that_are_not_reals_are_refused_by_the_parameter():
    for value in ("'a'", "True", "False", "None", "1j", "nan", "inf", "-inf", "1e999", "NaN", "-Infinity",
                  "9" * 400):
        msg = _refused(f"elu(alpha={value})", InvalidParameterError)
        assert "The 'alpha' parameter of elu must be a float" in msg, msg
    msg = _refused("elu(alpha=" + "9" * 400 + ")")
    assert "(400 digits)" in msg and "9" * 80 not in msg, msg
    with pytest.raises(InvalidParameterError, match="400 digits"):
        actlab.get("elu", alpha=-(10**399))
    assert actlab.get("elu(alpha=-0.5)".replace("-", "+")).params == {"alpha": 0.5}
    assert actlab.get("leaky_relu(slope=+1e-2)").params == {"slope": 0.01}


def test_a_spec_is_bounded_before_it_is_parsed():
    minus = "elu(alpha=" + "-" * 3000 + "1)"
    msg = _refused(minus)
    assert f"at most {MAX_SPEC_LENGTH} characters" in msg and f"({len(minus)} characters)" in msg, msg
    assert "-" * 80 not in msg
    padded = "elu(alpha=0.5)".ljust(MAX_SPEC_LENGTH)
    assert actlab.get(padded).params == {"alpha": 0.5}
    _refused(padded + " ")
    t0 = time.perf_counter()
    _refused("x" * 10**7)
    assert time.perf_counter() - t0 < 1.0
    # below the bound, the parser's own limits (nesting, recursion, null bytes) are one error too
    for spec in ("elu(alpha=" + "(" * 300 + "1" + ")" * 300 + ")", "elu(alpha=" + "-" * 980 + "1)",
                 "elu(alpha=" + "[" * 150 + "]" * 150 + ")", "elu\x00", "elu(", "elu)", "elu(alpha=1", ""):
        _refused(spec)


def test_a_parameter_given_twice_or_by_position_is_refused():
    msg = _refused("elu(alpha=1, alpha=2)", InvalidParameterError)
    assert "'alpha'" in msg and "twice" in msg
    for spec in ("elu(1)", "elu(1, alpha=2)", "elu(**{'alpha': 1})", "elu(*[1])"):
        msg = _refused(spec)
        assert "by name" in msg or "Cannot read" in msg, msg
    assert parse_spec("elu(alpha=1)") == ("elu", {"alpha": 1})


def test_messages_quote_at_most_about_80_characters_of_the_input():
    long_name = "sigmoid" * 100
    for call in (lambda: actlab.get(long_name), lambda: actlab.get("elu", **{long_name: 1}),
                 lambda: actlab.get("elu(alpha=" + "'" + "a" * 900 + "')"),
                 lambda: actlab.get("elu(alpha=[" + "1," * 400 + "])")):
        with pytest.raises(ActlabError) as err:
            call()
        msg = str(err.value)
        assert "a" * 81 not in msg and "sigmoid" * 12 not in msg and "1," * 41 not in msg, msg
        assert "characters" in msg, msg
    with pytest.raises(ActlabError) as err:
        check_real("x" * 10**6, "alpha", "elu")
    assert len(str(err.value)) < 200


def test_shorten():
    assert shorten("elu") == "'elu'" and shorten(0.5) == "0.5"
    s = shorten("elu(alpha=" + "-" * 3000 + "1)")
    assert s.startswith("'elu(alpha=---") and s.endswith("---1)' (3012 characters)") and len(s) <= 85, s
    assert shorten(10**400).endswith("(401 digits)")
    assert shorten(10**50000) == "an int of about 50001 digits"  # never converted to decimal
    assert len(shorten("\x00" * 1000)) <= 85 and len(shorten("\U0001f600" * 1000)) <= 85


def test_check_real_and_check_int_refuse_bools_and_complex_numbers():
    for value in (np.True_, True, np.complex128(1 + 0j), 1j, np.array(1 + 1j), 10**400, -(10**400)):
        with pytest.raises(InvalidParameterError):
            check_real(value, "alpha", "elu")
    for value in (np.True_, True, np.complex128(1), np.float64(np.inf), np.float64(np.nan)):
        with pytest.raises(InvalidParameterError):
            check_int(value, "n", "f")
    assert check_real(np.float32(0.5), "alpha", "elu") == 0.5 and check_int(np.int64(3), "n", "f") == 3


# ---------------------------------------------------------------- dtypes


@pytest.mark.parametrize("name", list(REGISTRY))
def test_non_native_byte_order_is_converted(name):
    """A big-endian (non-native) array gives what the same values in native order give, in
    the native dtype."""
    entry = REGISTRY[name]
    act = entry.bind()
    for dtype in ("f2", "f4", "f8", "i4"):
        swapped = np.dtype(dtype).newbyteorder("S")  # big-endian on a little-endian machine
        x = (np.arange(-12, 12) / (4 if dtype[0] == "f" else 1)).astype(swapped).reshape(4, 6)
        assert not x.dtype.isnative
        native = x.astype(x.dtype.newbyteorder("="))  # NumPy's own byte swap
        calls = ["f", "vjp"] + ([] if entry.vector else ["df"] + (["d2f"] if entry.d2f_kernel else []))
        for call in calls:
            if call == "vjp":
                v = np.ones(act.f(native).shape)
                got, want = act.vjp(x, v.astype(v.dtype.newbyteorder("S"))), act.vjp(native, v)
            else:
                got, want = getattr(act, call)(x), getattr(act, call)(native)
            assert got.dtype == want.dtype and got.dtype.isnative, (call, got.dtype)
            assert _same_bits(got, want), (name, call, dtype)


def test_arrays_that_are_not_real_numbers_get_one_clear_error():
    act = actlab.get("elu")
    cases = {
        "complex": np.arange(3) + 1j,
        "Python objects": np.array([1, None]),
        "strings": np.array(["1.0"]),
        "dtype datetime64": np.array(["2020-01-01"], dtype="M8[D]"),
        "ragged": [[1.0], [1.0, 2.0]],
    }
    if np.dtype(np.longdouble).itemsize > 8:
        cases["convert it to float64"] = np.ones(2, np.longdouble)
    for words, x in cases.items():
        for call in (act.f, act.df, lambda x: actlab.get("softmax").f(x)):
            with pytest.raises(ActlabError) as err:
                call(x)
            msg = str(err.value)
            assert "The 'x' argument" in msg and words in msg, msg
    with pytest.raises(ActlabError, match="real functions"):
        act.f(np.ones(3, np.complex64))


# ---------------------------------------------------------------- the atomic writer


@pytest.fixture
def umask():
    old = os.umask(0o022)
    try:
        yield os.umask
    finally:
        os.umask(old)


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_the_atomic_writer_gives_files_the_umask_mode(tmp_path, umask):
    path = tmp_path / "a.json"
    _io.write_atomic(path, "{}\n")
    assert _mode(path) == 0o644
    umask(0o077)
    _io.write_atomic(tmp_path / "b.md", b"x")
    assert _mode(tmp_path / "b.md") == 0o600
    umask(0o002)
    _io.write_atomic(tmp_path / "c" / "d.md", "x")
    assert _mode(tmp_path / "c" / "d.md") == 0o664
    # replacing a file keeps its mode, whatever the umask
    os.chmod(path, 0o640)
    _io.write_atomic(path, "[]\n")
    assert _mode(path) == 0o640 and path.read_text() == "[]\n"
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["a.json", "b.md", "c", "d.md"]  # no temporary left


def test_the_atomic_writer_leaves_no_temporary_on_failure(tmp_path):
    (tmp_path / "dir").mkdir()
    with pytest.raises(OSError):
        _io.write_atomic(tmp_path / "dir", "x")  # the target is a folder
    assert [p.name for p in tmp_path.iterdir()] == ["dir"] and not list((tmp_path / "dir").iterdir())
