"""The lab without a server or a browser: messages, CSV input, frames, runs, curves."""

import json

import numpy as np
import pytest

from actlab import nn
from actlab.errors import ActlabError
from actlab.lab import curves
from actlab.lab.frames import decode, encode, to_u8, to_u8_signed
from actlab.lab.inputs import CsvStore, features, parse_csv
from actlab.lab.protocol import (
    MAX_MESSAGE_BYTES,
    Layer,
    MnistConfig,
    PlaygroundConfig,
    ProtocolError,
    parse_config,
    parse_message,
)
from actlab.lab.training import MnistRun, PlaygroundRun, unit_stats

pytestmark = pytest.mark.xdist_group("lab")


def config_msg(**patch):
    return json.dumps({"type": "config", "config": {"kind": "playground", **patch}})


# Every field the page can get wrong, with the field the answer must name.
INVALID = [
    (config_msg(layers=[{"units": 4}] * 9), "config.layers"),
    (config_msg(layers=[{"units": 33}]), "config.layers.0.units"),
    (config_msg(layers=[{"units": 0}]), "config.layers.0.units"),
    (config_msg(layers=[{"units": 4, "activation": "relux"}]), "config.layers.0.activation"),
    (config_msg(layers=[{"units": 4, "activation": "glu"}]), "config.layers.0.activation"),
    (config_msg(layers=[{"units": 4, "activation": "elu(alpha=-1)"}]), "config.layers.0.activation"),
    (config_msg(layers=[{"units": 4, "activation": "__import__('os')"}]), "config.layers.0.activation"),
    (config_msg(layers=[{"units": 4, "activation": "relu" * 40}]), "config.layers.0.activation"),
    (config_msg(layers=[{"units": 4, "activation": "x" + " + x" * 130}]), "config.layers.0.activation"),
    (config_msg(layers=[{"units": 4, "activation": "x.__class__"}]), "config.layers.0.activation"),
    (config_msg(layers=[{"units": 4, "color": 1}]), "config.layers.0.color"),
    (config_msg(lr=0), "config.lr"),
    (config_msg(lr=11), "config.lr"),
    (config_msg(lr="fast"), "config.lr"),
    (config_msg(batch=0), "config.batch"),
    (config_msg(batch=1001), "config.batch"),
    (config_msg(batch=2.5), "config.batch"),
    (config_msg(n=9), "config.n"),
    (config_msg(n=10_001), "config.n"),
    (config_msg(noise=0.6), "config.noise"),
    (config_msg(noise=-0.1), "config.noise"),
    (config_msg(train_frac=0.05), "config.train_frac"),
    (config_msg(train_frac=0.95), "config.train_frac"),
    (config_msg(features=[]), "config.features"),
    (config_msg(features=["x3"]), "config.features.0"),
    (config_msg(features=["x1", "x1"]), "config.features"),
    (config_msg(dataset="../../etc/passwd"), "config.dataset"),
    (config_msg(dataset="csv:zz"), "config.dataset"),
    (config_msg(init="he2"), "config.init"),
    (config_msg(init_std=0), "config.init_std"),
    (config_msg(init_std=11), "config.init_std"),
    (config_msg(optimizer="rmsprop"), "config.optimizer"),
    (config_msg(l1=-1), "config.l1"),
    (config_msg(l2=11), "config.l2"),
    (config_msg(dropout=0.95), "config.dropout"),
    (config_msg(batchnorm="maybe"), "config.batchnorm"),
    (config_msg(seed=-1), "config.seed"),
    (config_msg(seed=2**31), "config.seed"),
    (config_msg(speed=3), "config.speed"),
    (config_msg(kind="cifar"), "config"),
    (json.dumps({"type": "config", "config": {"kind": "mnist", "layers": [{"units": 8}] * 4}}), "config.layers"),
    (json.dumps({"type": "config", "config": {"kind": "mnist", "layers": [{"units": 257}]}}), "config.layers.0.units"),
    (json.dumps({"type": "config", "config": {"kind": "mnist", "train_size": 999}}), "config.train_size"),
    (json.dumps({"type": "config", "config": {"kind": "mnist", "batch": 1025}}), "config.batch"),
    (json.dumps({"type": "config"}), "config"),
    (json.dumps({"type": "step", "count": 0}), "count"),
    (json.dumps({"type": "step", "count": 1001}), "count"),
    (json.dumps({"type": "play", "now": True}), "now"),
    (json.dumps({"type": "launch"}), ""),
    (json.dumps({"config": {}}), ""),
    ("not json", ""),
    ('{"type": "config", "config": {"lr": NaN}}', "config.lr"),
]


@pytest.mark.parametrize("text, field", INVALID)
def test_every_invalid_field_is_refused_naming_it(text, field):
    with pytest.raises(ProtocolError) as err:
        parse_message(text)
    assert err.value.field == field
    assert err.value.message
    assert err.value.to_dict()["type"] == "error"


def test_valid_messages_and_defaults():
    m = parse_message(json.dumps({"type": "config", "config": {}}))
    assert isinstance(m.config, PlaygroundConfig) and m.config.layers[0] == Layer(units=4, activation="tanh")
    m = parse_message(config_msg(layers=[{"units": 3, "activation": "leaky_relu(slope=0.2)"}], init="normal",
                                 init_std=1, features=["x2", "x1"]))
    assert m.config.layers[0].activation == "leaky_relu(slope=0.2)" and m.config.init_spec == "normal(std=1.0)"
    assert m.config.features == ("x1", "x2")  # one order, whatever the page sent
    m = parse_message(config_msg(layers=[{"units": 3, "activation": "x*tanh(softplus(x))"}]))
    assert m.config.layers[0].activation == "x*tanh(softplus(x))"  # a typed formula is a hidden layer too
    m = parse_message(json.dumps({"type": "config", "config": {"kind": "mnist"}}))
    assert isinstance(m.config, MnistConfig) and m.config.layers[0].units == 64 and m.config.batch == 64
    assert parse_message('{"type": "step"}').count == 1


def test_oversized_and_binary_messages_are_refused():
    with pytest.raises(ProtocolError, match="longer than 64 KB"):
        parse_message(config_msg(dataset="x" * MAX_MESSAGE_BYTES))
    with pytest.raises(ProtocolError, match="not binary"):
        parse_message(b"{}")


# ------------------------------------------------------------------------------ CSV


def csv_text(rows):
    return "x1,x2,label\n" + "".join(f"{a},{b},{c}\n" for a, b, c in rows)


GOOD = [(i * 0.1, -i * 0.2, i % 2) for i in range(12)]


@pytest.mark.parametrize("text, message", [
    (csv_text(GOOD) + "1,2\n", "line 14: expected 3 fields"),
    (csv_text(GOOD[:3]) + "1,two,0\n" + csv_text(GOOD)[12:], "line 5: 'two' is not a number"),
    (csv_text(GOOD) + "nan,1,0\n", "line 14: 'nan' is not a finite number"),
    (csv_text(GOOD) + "1,inf,0\n", "line 14: 'inf' is not a finite number"),
    (csv_text(GOOD) + "1,1,2\n", "line 14: the label '2' is not a class"),
    (csv_text(GOOD) + "1,1,0.5\n", "line 14: the label '0.5' is not a class"),
    (csv_text(GOOD[:5]), "5 data rows"),
    (csv_text([(1, 1, 1)] * 12), "same label"),
    ("x1,x2,label\n" + "1,2,1\n0,0,0\n" * 5001, "line 10002: more than 10,000 rows"),
    (b"\xff\xfe" + b"1,2,3\n" * 20, "not UTF-8"),
    (b"1,2,1\n" * 200_000, "larger than 1024 KB"),
])
def test_a_bad_csv_gets_a_message_naming_the_line(text, message):
    with pytest.raises(ActlabError, match=message):
        parse_csv(text, "classification")


def test_csv_accepts_headers_comments_signs_and_regression():
    pts = parse_csv("# my data\nx,y,c\n" + "".join(f"{i};{-i}\t{1 if i % 2 else -1}\n" for i in range(10)))
    assert pts.X.shape == (10, 2) and sorted(set(pts.y.tolist())) == [0, 1] and pts.name.startswith("csv:")
    reg = parse_csv(csv_text([(i, i, i * 0.37) for i in range(10)]), "regression")
    assert reg.task == "regression" and reg.y[3] == pytest.approx(1.11)
    store = CsvStore(keep=1)
    store.add(pts)
    store.add(reg)
    assert store.get(reg.name) is reg and store.get(pts.name) is None  # bounded: the oldest is forgotten


def test_features_are_computed_in_order():
    X = np.array([[1.0, 2.0], [-3.0, 0.5]])
    F = features(X, ("x1", "x2", "x1^2", "x2^2", "x1x2", "sin_x1", "sin_x2"))
    assert F.dtype == np.float32 and F.shape == (2, 7)
    np.testing.assert_allclose(F[1], [-3, 0.5, 9, 0.25, -1.5, np.sin(-3), np.sin(0.5)], rtol=1e-6)


# ------------------------------------------------------------------------------ frames


def test_frames_round_trip_aligned():
    blobs = {"a": np.arange(5, dtype=np.uint8), "b": np.array([[1.5, -2]], np.float64),
             "c": np.array([-3, 4], np.int8), "d": np.zeros((2, 3, 4), np.float32)}
    data = encode({"step": 7, "x": [1, 2]}, blobs)
    meta, arrays = decode(data)
    assert meta == {"step": 7, "x": [1, 2]}
    for k, v in blobs.items():
        np.testing.assert_array_equal(arrays[k], v)
        assert arrays[k].dtype == v.dtype
    offsets = [o for (_, _, o, _) in json.loads(data[8:8 + int.from_bytes(data[4:8], "little")])["blobs"].values()]
    assert all(o % 8 == 0 for o in offsets)
    with pytest.raises(TypeError):
        encode({}, {"bad": np.array([1], np.int64)})
    assert to_u8(np.array([-1, 0, 0.5, 1, 2, np.nan]), 0, 1).tolist() == [0, 0, 128, 255, 255, 0]
    assert to_u8_signed(np.array([-2.0, 0.0, 2.0]), 2.0).tolist() == [0, 128, 255]


# ------------------------------------------------------------------------------ runs


def small(**kw):
    base = dict(dataset="xor", n=200, layers=(Layer(units=5, activation="tanh"), Layer(units=3, activation="relu")),
                batch=10, seed=4)
    return PlaygroundConfig(**{**base, **kw})


@pytest.mark.parametrize("extra", [{}, {"dropout": 0.3, "batchnorm": True, "optimizer": "adam", "l1": 0.01,
                                        "l2": 0.01, "noise": 0.2}])
def test_same_config_same_losses_bit_for_bit_frames_or_not(extra):
    a, b = PlaygroundRun(small(**extra)), PlaygroundRun(small(**extra))
    log_a, log_b = [], []
    for _ in range(4):
        a.advance(max_log=1)
        meta, arrays = decode(a.frame(True, 0.0))  # frames in between for a only
        log_a.append(arrays["log"])
        b.advance(max_log=1)
    log_b.append(b.take_log()[0])
    la, lb = np.concatenate(log_a), np.concatenate(log_b)
    assert la.shape == (5, 3) and np.array_equal(la, lb)  # bit for bit, epoch 0 included
    assert la[-1, 1] < la[0, 1]
    # reset = a new run from the same config: the same initial weights
    c = PlaygroundRun(small(**extra))
    assert np.array_equal(c.model.flat_value, PlaygroundRun(small(**extra)).model.flat_value)


def test_a_different_seed_gives_a_different_run():
    a, b = PlaygroundRun(small()), PlaygroundRun(small(seed=5))
    assert not np.array_equal(a.model.flat_value, b.model.flat_value)


def test_playground_frame_contents():
    run = PlaygroundRun(small(features=("x1", "x2", "x1x2")))
    meta, arrays = decode(run.ready())
    assert meta["sizes"] == [3, 5, 3, 2] and meta["n_train"] == 100 and meta["task"] == "classification"
    assert arrays["points"].shape == (200, 2) and arrays["fmaps"].shape == (7, 20, 20)
    run.advance(max_log=2)
    meta, arrays = decode(run.frame(True, 123.0))
    assert meta["step"] == 2 * run.log_every and meta["playing"] and meta["sps"] == 123.0
    assert arrays["boundary"].shape == (64, 64) and arrays["boundary"].dtype == np.uint8
    assert arrays["units"].shape == (8, 20, 20) and arrays["uflags"].shape == (8,)
    assert arrays["weights"].size == 3 * 5 + 5 * 3 + 3 * 2 and arrays["wscale"].shape == (3,)
    assert arrays["log"].shape == (3, 3) and arrays["gnorm"].shape == (3, 3) and np.all(arrays["gnorm"] > 0)
    assert arrays["hist"].shape == (2, 24) and [len(meta["layers"])] == [2]
    assert decode(run.frame())[1]["log"].shape == (0, 3)  # rows are sent once


def test_regression_and_no_hidden_layer():
    run = PlaygroundRun(PlaygroundConfig(dataset="plane", layers=(), lr=0.01, seed=1))
    meta, arrays = decode(run.ready())
    assert meta["task"] == "regression" and meta["sizes"] == [2, 1]
    run.advance(max_log=3)
    meta, arrays = decode(run.frame())
    assert meta["layers"] == [] and arrays["log"][-1, 1] < arrays["log"][0, 1]


def test_relu_lr_10_std_1_kills_units_as_diagnose_defines_them():
    cfg = small(dataset="circle", layers=(Layer(units=8, activation="relu"), Layer(units=8, activation="relu")),
                lr=10, init="normal", init_std=1, seed=0)
    run = PlaygroundRun(cfg)
    run.advance(max_log=3)
    meta, arrays = decode(run.frame())
    assert max(layer["dead"] for layer in meta["layers"]) > 0.5
    assert np.count_nonzero(arrays["uflags"] & 1) >= 4
    # the lab's marks are nn.diagnostics' dead units over the training points
    ref = nn.diagnostics.dead_units(run.model, run.Xtr)
    flags = np.split(arrays["uflags"], [8])
    for layer, f in zip(ref, flags):
        assert np.array_equal(layer.dead, (f & 1).astype(bool))
        assert np.array_equal(layer.saturated, (f & 2).astype(bool))


def test_unit_stats_skips_vector_layers_and_a_softmax_layer_trains():
    run = PlaygroundRun(small(layers=(Layer(units=4, activation="softmax"), Layer(units=3, activation="relu"))))
    assert unit_stats(run.hidden[0], np.zeros((3, 4), np.float32)) is None
    run.advance(max_log=1)
    meta, arrays = decode(run.frame())
    assert meta["layers"][0]["dead"] is None and np.all(arrays["uflags"][:4] == 4)


def test_overflow_stops_the_run_with_a_message():
    run = PlaygroundRun(small(layers=(Layer(units=8, activation="exponential"),), lr=10, init="normal", init_std=10))
    run.advance(max_log=50)
    assert run.stopped and "Lower the learning rate" in run.stopped
    assert decode(run.frame())[0]["stopped"] == run.stopped


def test_csv_runs_need_their_upload():
    pts = parse_csv(csv_text(GOOD * 3))
    cfg = PlaygroundConfig(dataset=pts.name, seed=2)
    with pytest.raises(LookupError, match="upload the CSV file again"):
        PlaygroundRun(cfg, CsvStore())
    run = PlaygroundRun(cfg, pts)
    assert decode(run.ready())[0]["n_train"] == 18


def test_mnist_run_small():
    run = MnistRun(parse_config({"kind": "mnist", "layers": [{"units": 16}], "train_size": 1000, "batch": 100}))
    meta, arrays = decode(run.ready())
    assert meta["sizes"] == [784, 16, 10] and arrays["strip"].shape == (16, 28, 28)
    run.advance(max_log=1)
    meta, arrays = decode(run.frame())
    assert meta["step"] == 50 and arrays["log"].shape == (2, 6) and arrays["log"][1, 4] < arrays["log"][0, 4]
    assert arrays["confusion"].sum() == 2000 and arrays["w_images"].shape == (16, 28, 28)
    assert 0 <= meta["accuracy"] <= 1 and arrays["strip_pred"].shape == (16,)


# ------------------------------------------------------------------------------ curves


def test_curves_come_from_the_catalogue_with_kink_dots():
    c = curves.curve("relu", -1, 1, 5)
    assert c["x"] == [-1.0, -0.5, 0.0, 0.5, 1.0] and c["f"][2] is None  # the line breaks at the kink
    assert c["kinks"] == [{"x": 0.0, "f": {"at": 0.0, "sides": []}, "df": {"at": 0.0, "sides": [1.0]},
                           "d2f": {"at": 0.0, "sides": []}}]
    s = curves.curve("softmax", -2, 2, 9)
    assert s["label"] == "softmax(x, 0)[0]" and s["d2f"] is None
    assert s["f"][4] == pytest.approx(0.5) and s["df"][4] == pytest.approx(0.25)
    p = curves.curve("elu(alpha=0.5)", -50, 1, 3)
    assert p["f"][0] == pytest.approx(-0.5)
    with pytest.raises(ActlabError):
        curves.curve("relu", 1, -1)
    with pytest.raises(ActlabError):
        curves.curve("relu", -1, 1, 10**6)


def test_property_sheet_and_exact_values():
    p = curves.properties("relu")
    assert p["range"] == ["0.0", "inf"] and p["kinks"] == [{"x": "0.0", "df": "0.0"}] and p["monotonic"]
    assert p["limits"]["f"] == ["0.0", "inf"] and p["gain"].startswith("1.41421")
    e = curves.evaluate_at("sigmoid", 40.0)
    assert e["float64"]["df"] == repr(float(np.float64(4.248354255291589e-18)))
    assert len(curves.catalogue()) == 41 and all("words" in e for e in curves.catalogue())


def test_naive_softmax_nan_beside_actlab():
    a = curves.accuracy("softmax", 80, 100, 21)
    hard = {r["x"]: r for r in a["hard"]}
    assert hard["89.0"]["naive"] == "NaN" and hard["89.0"]["actlab"] == "1.0" and hard["89.0"]["exact"] == "1"
    assert a["f"]["max_naive"] == "inf" and float(a["f"]["max_actlab"]) <= 4
    assert curves.accuracy("gelu_tanh")["naive"] is True and curves.accuracy("log1mexp", -5, 5, 11)["x"][0] > 0
