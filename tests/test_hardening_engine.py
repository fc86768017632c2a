"""Issue 9, engine side: work sized before it is validated, tracebacks where one line and
exit 2 belong, damaged or non-finite model files accepted.

Memory checks are by estimate only: nothing here allocates what it refuses. Where a
decision depends on the machine, ``available_memory`` is pinned (monkeypatch) so that the
outcome does not depend on where the tests run.
"""

from __future__ import annotations

import gzip
import io
import json
import re
import struct
import tracemalloc
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest

from actlab import _memory, data, nn
from actlab.cli import main
from actlab.errors import ActlabError

GiB = 2**30
NAMES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}


@pytest.fixture
def machine_8g(monkeypatch):
    """The machine has 8 GiB available, whatever it really has."""
    monkeypatch.setattr(_memory, "available_memory", lambda: 8 * GiB)


def idx_bytes(arr: np.ndarray, type_code: int = 0x08) -> bytes:
    head = struct.pack(">BBBB", 0, 0, type_code, arr.ndim) + struct.pack(f">{arr.ndim}I", *arr.shape)
    return head + np.ascontiguousarray(arr, dtype=">u1").tobytes()


def tiny_set(directory: Path, n_train: int = 24, n_test: int = 9, shape=(2, 2), classes: int = 3) -> Path:
    """An MNIST-format data set of 2x2 images (4 inputs) and 3 classes."""
    rng = np.random.default_rng(0)
    directory.mkdir(parents=True, exist_ok=True)
    for split, n in (("train", n_train), ("test", n_test)):
        (directory / NAMES[f"{split}_images"]).write_bytes(
            idx_bytes(rng.integers(0, 256, (n, *shape), dtype=np.uint8)))
        (directory / NAMES[f"{split}_labels"]).write_bytes(
            idx_bytes((np.arange(n) % classes).astype(np.uint8)))
    return directory


def cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(code: int, err: str, command: str, pattern: str) -> None:
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"actlab {command}: error: "), err
    assert re.search(pattern, lines[0]), lines[0]


# ----------------------------------------------------------------------------- 3. sized first


def test_parse_memory_and_estimates_of_the_issue():
    assert nn.parse_memory("4G") == 4 * GiB and nn.parse_memory("500M") == 500 * 2**20
    assert nn.parse_memory("1.5GiB") == 3 * GiB // 2 and nn.parse_memory(2048) == 2048
    for bad in ("-1G", "0", "4Q", "nan", "", True, None, "9" * 100):
        with pytest.raises(ActlabError, match="max_memory"):
            nn.parse_memory(bad)
    # 784-100000000-10: 79.4e9 float32 parameters, as many gradients (the issue's 584 GiB)
    est = nn.memory_estimate(nn.mlp_architecture("784-100000000-10"))
    assert est.parts["parameters"] == est.parts["gradients"] == (784 * 10**8 + 10**8 + 10**9 + 10) * 4
    assert est.total > 590 * GiB
    # a batch larger than the data is one full batch: it costs what the whole set does
    arch = nn.mlp_architecture("784-64-10")
    big = nn.memory_estimate(arch, batch_size=10_000_000, n_train=60_000, n_eval=10_000, optimizer="sgd")
    full = nn.memory_estimate(arch, batch_size=60_000, n_train=60_000, n_eval=10_000, optimizer="sgd")
    assert big.total == full.total < GiB
    # the optimiser's state: SGD one step buffer, momentum two, Adam four arrays per parameter
    p = est.parts["gradients"]
    assert [nn.memory_estimate(nn.mlp_architecture("784-100000000-10"), optimizer=o).parts["optimiser"]
            for o in ("sgd", "momentum", "adam")] == [p, 2 * p, 4 * p]


def test_mlp_refuses_an_absurd_architecture_by_estimate(machine_8g):
    with pytest.raises(ActlabError, match=r"mlp 784-100000000-10 \(float32\) needs about .* TiB .* 8\.0 GiB are "
                                          r"available"):
        nn.mlp("784-100000000-10")
    with pytest.raises(ActlabError, match="max_memory budget is 1.0 MiB"):
        nn.mlp("784-1000-10", max_memory="1M")
    assert nn.mlp("784-1000-10", max_memory="100M").n_params() == 795_010


def test_fit_refuses_epochs_whose_record_cannot_fit(machine_8g):
    model = nn.mlp("4-5-3", seed=0)
    X, y = np.zeros((10, 4), np.float32), np.arange(10) % 3
    with pytest.raises(ActlabError, match=r"training 4-5-3 .* needs about .*history"):
        nn.fit(model, X, y, epochs=10**12, progress=False)
    # a batch size beyond the data is one full batch, with buffers of the data's size
    a, b = nn.mlp("4-5-3", seed=1), nn.mlp("4-5-3", seed=1)
    ha = nn.fit(a, X, y, epochs=3, batch_size=10**9, progress=False, max_memory="1M")
    hb = nn.fit(b, X, y, epochs=3, batch_size=10, progress=False)
    assert np.array_equal(ha.step_loss, hb.step_loss) and np.array_equal(a.flat_value, b.flat_value)


def test_cli_train_sizes_the_run_before_loading_anything(tmp_path, capsys, machine_8g, monkeypatch):
    def no_loading(*args, **kwargs):
        raise AssertionError("data was loaded before the run was sized")

    monkeypatch.setattr(data, "load_dataset", no_loading)
    code, _, err = cli(capsys, "train", "--arch", "784-100000000-10", "--out", tmp_path / "r", "--no-progress")
    one_line_error(code, err, "train", r"training 784-100000000-10 .* needs about .* TiB .* 8\.0 GiB are available"
                                       r".*--arch")
    code, _, err = cli(capsys, "train", "--max-memory", "100M", "--out", tmp_path / "r", "--no-progress")
    one_line_error(code, err, "train", r"needs about .* MiB .* the max_memory budget is 100\.0 MiB")
    code, _, err = cli(capsys, "train", "--max-memory", "lots", "--out", tmp_path / "r")
    one_line_error(code, err, "train", "'max_memory' parameter of train")
    assert not (tmp_path / "r").exists()


def test_cli_train_with_a_batch_larger_than_the_data(tmp_path, capsys):
    d = tiny_set(tmp_path / "d")
    code, out, err = cli(capsys, "train", "--data", d, "--arch", "4-5-3", "--epochs", "2", "--batch-size",
                         "10000000", "--max-memory", "50M", "--out", tmp_path / "r", "--no-progress")
    assert code == 0, err
    assert len(json.loads((tmp_path / "r" / "history.json").read_text())["step_loss"]) == 2


@pytest.mark.parametrize("kw", [dict(), dict(batchnorm=True, dropout=0.25), dict(activation="prelu"),
                                dict(activation=["glu", "tanh"], output=None, dtype=np.float64),
                                dict(activation="softmax", output="sigmoid")])
def test_the_architecture_is_known_before_the_model_is_built(kw):
    arch = nn.mlp_architecture("6-8-4-3", **kw)
    assert arch == nn.mlp("6-8-4-3", **kw).architecture() == nn.check_architecture(arch)
    assert nn.from_architecture(arch).architecture() == arch


def test_evaluate_and_diagnose_take_a_memory_budget(tmp_path, capsys):
    d = tiny_set(tmp_path / "d")
    p = tmp_path / "m.npz"
    nn.save(nn.mlp("4-5-3"), p)
    for command in ("evaluate", "diagnose"):
        code, _, err = cli(capsys, command, p, "--data", d, "--max-memory", "1K")
        one_line_error(code, err, command, r"the model 4-5-3 .* needs about .* the max_memory budget is 1\.0 KiB")
        assert cli(capsys, command, p, "--data", d, "--max-memory", "10M")[0] == 0


def test_model_file_announcing_huge_arrays_is_refused_unread(tmp_path, machine_8g):
    n = 10**6  # 10^12 weights in the architecture and in the npy header; a few bytes in the file
    arch = {"format": "actlab.nn/1", "output": "softmax", "dtype": "float32",
            "layers": [{"type": "Dense", "n_in": n, "n_out": n, "bias": False}]}
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f4", "fortran_order": False, "shape": (n, n)})
    p = tmp_path / "huge.npz"
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("layer0.W.npy", header.getvalue() + bytes(64))
        buf = io.BytesIO()
        np.save(buf, np.array(json.dumps(arch)))
        z.writestr("__architecture__.npy", buf.getvalue())
    with pytest.raises(ActlabError, match=re.escape(str(p)) + r".*announces \(1000000, 1000000\) float32"):
        nn.load(p)
    # the architecture alone: the model is sized before it is built
    with pytest.raises(ActlabError, match=r"the model 1000000-1000000 \(float32\) needs about .* TiB"):
        nn.from_architecture(arch)
    # a real file beyond a budget
    small = tmp_path / "m.npz"
    nn.save(nn.mlp("20-30-5"), small)
    with pytest.raises(ActlabError, match=re.escape(str(small)) + ".*max_memory budget is 1.0 KiB"):
        nn.load(small, max_memory="1K")


def _zeros_bomb(path: Path, zeros: int) -> None:
    """A gzip holding a valid IDX header for 10 labels, their 10 bytes, then ``zeros`` zero bytes."""
    c = zlib.compressobj(1, zlib.DEFLATED, 31)  # gzip container
    parts = [c.compress(idx_bytes(np.arange(10, dtype=np.uint8)))]
    chunk = bytes(1 << 20)
    for _ in range(zeros >> 20):
        parts.append(c.compress(chunk))
    parts.append(c.flush())
    path.write_bytes(b"".join(parts))


def test_gzip_is_decompressed_only_up_to_what_the_header_announces(tmp_path):
    p = tmp_path / "bomb-labels-idx1-ubyte.gz"
    _zeros_bomb(p, 64 << 20)  # 64 MiB of zeros after the data (about 64 KiB compressed)
    tracemalloc.start()
    try:
        with pytest.raises(ActlabError, match=re.escape(str(p)) + ".*unexpected bytes after the 10 uint8 data"):
            data.load_idx(p)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 << 20, f"decompressed {peak:,} bytes: the stream was read past its announced size"


def test_idx_header_announcing_more_than_the_machine_has(tmp_path, machine_8g):
    p = tmp_path / "huge-images-idx3-ubyte.gz"
    p.write_bytes(gzip.compress(struct.pack(">BBBB3I", 0, 0, 8, 3, 60_000, 100_000, 100_000) + bytes(100)))
    with pytest.raises(ActlabError, match=re.escape(str(p)) + r".*needs about 545\.7 TiB.* of memory but 8\.0 GiB are "
                                                              r"available"):
        data.load_idx(p)
    assert data.idx_header(p) == (2051, (60_000, 100_000, 100_000), np.dtype(np.uint8))
    d = tiny_set(tmp_path / "d")
    with pytest.raises(ActlabError, match=r"max_memory budget is 100 B"):
        data.load_mnist(d, max_memory=100)
    assert data.data_shapes(d)["train_images"] == (24, 2, 2)


# ----------------------------------------------------------------------------- 4. one line, exit 2


def test_negative_seed_is_one_line(tmp_path, capsys):
    code, _, err = cli(capsys, "train", "--seed", "-1", "--out", tmp_path / "r")
    one_line_error(code, err, "train", r"'seed' parameter of train must be an int in the range \[0, inf\]. Got -1")
    with pytest.raises(ActlabError, match="seed"):
        nn.mlp("4-5-3", seed=-1)


def test_glu_hidden_layers_feed_half_their_width_on(tmp_path, capsys):
    model = nn.mlp("4-8-6-3", activation="glu", seed=0)
    assert [(d.n_in, d.n_out) for d in model.dense_layers] == [(4, 8), (4, 6), (3, 3)]
    assert model.architecture() == nn.mlp_architecture("4-8-6-3", activation="glu")
    X = np.random.default_rng(0).normal(size=(7, 4))
    assert nn.gradcheck(model.astype(np.float64), X, np.arange(7) % 3) < 1e-6
    with pytest.raises(ActlabError, match=r"mlp 4-7-3: hidden layer 1 has 7 units, which glu cannot take .*even"):
        nn.mlp("4-7-3", activation="glu")
    d = tiny_set(tmp_path / "d")
    code, out, err = cli(capsys, "train", "--data", d, "--arch", "4-6-3", "--activation", "glu", "--epochs", "1",
                         "--out", tmp_path / "r", "--no-progress")
    assert code == 0, err
    code, out, err = cli(capsys, "evaluate", tmp_path / "r" / "model.npz", "--data", d)
    assert code == 0 and "(4-6-3)" in out, err
    code, _, err = cli(capsys, "train", "--data", d, "--arch", "4-5-3", "--activation", "glu", "--out",
                       tmp_path / "r2")
    one_line_error(code, err, "train", "hidden layer 1 has 5 units, which glu cannot take")


def test_zero_image_set_is_one_line(tmp_path, capsys):
    d = tiny_set(tmp_path / "d", n_train=0)
    code, _, err = cli(capsys, "train", "--data", d, "--arch", "4-5-3", "--out", tmp_path / "r")
    one_line_error(code, err, "train", re.escape(str(d / NAMES["train_images"])) + r": holds no image data \(shape "
                                                                                   r"0x2x2\)")
    with pytest.raises(ActlabError, match="holds no image data"):
        data.load_mnist(d, split="test")


def _model(tmp_path: Path) -> tuple[Path, nn.Sequential]:
    model = nn.mlp("4-6-3", activation="prelu", batchnorm=True, seed=0)
    p = tmp_path / "model.npz"
    nn.save(model, p)
    return p, model


def _members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist()}


def _write(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as z:
        for name, content in members.items():
            z.writestr(name, content)
    return path


def _npy(a) -> bytes:
    buf = io.BytesIO()
    np.save(buf, a, allow_pickle=True)
    return buf.getvalue()


def _arch_npy(text: str) -> bytes:
    return _npy(np.array(text))


def _variants(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    """Damaged copies of a real model file: name -> (path, what the message says)."""
    good, _ = _model(tmp_path)
    raw = good.read_bytes()
    m = _members(good)
    arch = json.loads(str(np.load(io.BytesIO(m["__architecture__.npy"]))))
    W = np.load(io.BytesIO(m["layer0.W.npy"]))

    def with_arch(**change) -> dict[str, bytes]:
        a = json.loads(json.dumps(arch))
        for k, v in change.items():
            if k.startswith("layer") and "_" in k:
                i, key = k[5:].split("_", 1)
                a["layers"][int(i)][key] = v
            else:
                a[k] = v
        return {**m, "__architecture__.npy": _arch_npy(json.dumps(a))}

    def f(name: str) -> Path:
        return tmp_path / f"{name}.npz"

    cases: dict[str, tuple[bytes | dict[str, bytes], str]] = {
        "empty": (b"", "not an .npz"),
        "truncated": (raw[: len(raw) // 2], "not an .npz"),
        "zip-header-then-random": (raw[:4] + np.random.default_rng(0).bytes(2000), "not an .npz"),
        "text": (b"hello", "not an .npz"),
        "no-architecture": ({k: v for k, v in m.items() if k != "__architecture__.npy"}, "no architecture"),
        "missing-array": ({k: v for k, v in m.items() if k != "layer0.b.npy"}, "no array layer0.b"),
        "extra-array": ({**m, "extra.npy": _npy(np.zeros(3, np.float32))}, "'extra' is not part"),
        "not-npy-member": ({**m, "notes.txt": b"hi"}, "unexpected member"),
        "wrong-shape": ({**m, "layer0.W.npy": _npy(W.T.copy())}, r"layer0.W has shape \(6, 4\)"),
        "float64-in-float32": ({**m, "layer0.W.npy": _npy(W.astype(np.float64))}, "float64 but the architecture"),
        "float16": ({**m, "layer0.W.npy": _npy(W.astype(np.float16))}, "float16: arrays here are float32 or"),
        "int32": ({**m, "layer0.W.npy": _npy(W.astype(np.int32))}, "int32"),
        "complex": ({**m, "layer0.W.npy": _npy(W.astype(np.complex64))}, "complex"),
        "object-array": ({**m, "layer0.W.npy": _npy(np.array([{}, 1], dtype=object))}, "Python objects"),
        "header-lies": ({**m, "layer0.W.npy": _npy(W)[:-8]}, "announces"),
        "architecture-not-string": ({**m, "__architecture__.npy": _npy(np.zeros(2))}, "not a string"),
        "bad-json": ({**m, "__architecture__.npy": _arch_npy("{not json")}, "not valid JSON"),
        "deep-json": ({**m, "__architecture__.npy": _arch_npy("[" * 100_000 + "]" * 100_000)}, "nested too deep"),
        "json-list": ({**m, "__architecture__.npy": _arch_npy("[1, 2]")}, "is a JSON object"),
        "unknown-layer-type": (with_arch(layer0_type="Conv2d"), "Unknown layer type"),
        "unknown-layer-argument": (with_arch(layer0_activation="relu"), "Unknown argument of layer 0"),
        "missing-layer-argument": ({**m, "__architecture__.npy": _arch_npy(json.dumps(
            {**arch, "layers": [{"type": "Dense", "n_in": 4}, *arch["layers"][1:]]}))}, "has no 'n_out'"),
        "size-not-int": (with_arch(layer0_n_in="4"), "'n_in' parameter of layer 0"),
        "size-huge": (with_arch(layer0_n_out=10**400), "'n_out' parameter of layer 0"),
        "sizes-do-not-chain": (with_arch(layer3_n_in=5), "layer 3 .* takes 5 inputs but the layer before gives 6"),
        "unknown-dtype": (with_arch(dtype="float8"), "float32 or float64"),
        "unknown-format": (with_arch(format="other/2"), "format"),
        "unknown-key": (with_arch(extra=1), "Unknown key"),
        "bad-activation": (with_arch(output="nope"), "nope"),
        "no-layers": (with_arch(layers=[]), "non-empty list of layers"),
        "bad-dropout": (with_arch(layers=[*arch["layers"], {"type": "Dropout", "p": 2}]), "'p' parameter"),
    }
    out = {}
    for name, (content, what) in cases.items():
        p = f(name)
        if isinstance(content, dict):
            _write(p, content)
        else:
            p.write_bytes(content)
        out[name] = (p, what)
    return out


def test_every_malformed_model_file_is_one_actlab_error_naming_it(tmp_path):
    for name, (p, what) in _variants(tmp_path).items():
        with pytest.raises(ActlabError) as info:
            nn.load(p)
        msg = str(info.value)
        assert str(p) in msg and re.search(what, msg), (name, msg)
        assert "\n" not in msg and len(msg) < 700, (name, msg)


def test_fuzzed_model_files_give_actlab_error_or_the_same_model(tmp_path):
    good, model = _model(tmp_path)
    raw = good.read_bytes()
    rng = np.random.default_rng(1)
    variants: list[tuple[str, bytes]] = [(f"cut{i}", raw[: len(raw) * i // 20]) for i in range(20)]
    for pos in range(0, len(raw), max(1, len(raw) // 200)):
        flipped = bytearray(raw)
        flipped[pos] ^= 0xFF
        variants.append((f"flip{pos}", bytes(flipped)))
    for pos in rng.integers(0, len(raw), 100):
        noisy = bytearray(raw)
        noisy[pos] = int(rng.integers(0, 256))
        variants.append((f"set{pos}", bytes(noisy)))
    members = _members(good)
    junk = [b"", b"\x93NUMPY", rng.bytes(50), _npy(np.zeros((2, 2, 2), np.float32)), _npy(np.array("x")),
            _npy(np.array([1 + 2j])), _npy(np.array([np.nan], np.float32)), _npy(np.array([[1, 2]], np.int64))]
    for name in members:
        for k, content in enumerate(junk):
            buf = io.BytesIO()
            with zipfile.ZipFile(buf, "w") as z:
                for n, c in members.items():
                    z.writestr(n, content if n == name else c)
            variants.append((f"replace-{name}-{k}", buf.getvalue()))
    loaded = refused = 0
    for name, content in variants:
        p = tmp_path / f"{name}.npz"
        p.write_bytes(content)
        try:
            back = nn.load(p)
        except ActlabError as err:
            assert str(p) in str(err), (name, str(err))
            refused += 1
        else:  # a byte the format does not use (e.g. the zip's "made by" version): the same model
            loaded += 1
            state = back.state()
            assert all(np.array_equal(v, state[k]) for k, v in model.state().items()), name
    assert refused > 0.8 * len(variants) and refused + loaded == len(variants) > 300


def test_truncated_checkpoint_says_delete_it_or_restart(tmp_path, capsys):
    d = tiny_set(tmp_path / "d")
    args = ["train", "--data", d, "--arch", "4-5-3", "--epochs", "1", "--out", tmp_path / "r", "--no-progress"]
    assert cli(capsys, *args)[0] == 0
    ck = tmp_path / "r" / "checkpoint.npz"
    raw = ck.read_bytes()
    for content in (raw[: len(raw) // 2], raw[: len(raw) - 30], np.random.default_rng(0).bytes(500), b""):
        ck.write_bytes(content)
        code, _, err = cli(capsys, *args)
        one_line_error(code, err, "train", r"Cannot read checkpoint .*checkpoint\.npz.*; delete it or use --restart\.$")
        with pytest.raises(nn.CheckpointUnreadable, match="delete it or restart"):
            nn.fit(nn.mlp("4-5-3"), np.zeros((6, 4), np.float32), np.arange(6) % 3, checkpoint=ck, progress=False)
    code, _, err = cli(capsys, *args, "--restart")
    assert code == 0, err


# ----------------------------------------------------------------------------- 5. refused, not accepted


def test_nan_weights_are_refused_unless_asked_for(tmp_path, capsys):
    d = tiny_set(tmp_path / "d")
    model = nn.mlp("4-5-3", seed=0)
    model.layers[2].weight.value[1, 2] = np.nan
    model.layers[2].bias.value[0] = np.inf
    p = tmp_path / "nan.npz"
    nn.save(model, p)
    for command in ("evaluate", "diagnose"):
        code, out, err = cli(capsys, command, p, "--data", d)
        one_line_error(code, err, command, re.escape(str(p)) + r".*array layer2.W holds non-finite values \(first: "
                                                              r"nan at \(1, 2\)")
        assert out == ""
    back = nn.load(p, allow_nonfinite=True)
    assert np.isnan(back.layers[2].weight.value[1, 2]) and np.isinf(back.layers[2].bias.value[0])


def test_complex_float16_and_integer_weights_are_refused(tmp_path):
    p, _ = _model(tmp_path)
    m = _members(p)
    W = np.load(io.BytesIO(m["layer0.W.npy"]))
    for dtype, what in ((np.complex128, "complex"), (np.float16, "float16"), (np.int64, "int64"),
                        (np.bool_, "bool")):
        q = _write(tmp_path / f"{np.dtype(dtype).name}.npz", {**m, "layer0.W.npy": _npy(W.astype(dtype))})
        with pytest.raises(ActlabError, match=re.escape(str(q)) + f".*'layer0.W' is {what}"):
            nn.load(q)
    # a big-endian copy of the model's own dtype is the same numbers: accepted
    q = _write(tmp_path / "big-endian.npz", {**m, "layer0.W.npy": _npy(W.astype(">f4"))})
    assert np.array_equal(nn.load(q).layers[0].weight.value, W)
