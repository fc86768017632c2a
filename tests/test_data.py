"""actlab.data: IDX loading and verification, helpers, download (local server only), Playground sets.

Independent references: the label counts, first labels and pixel statistics published for
MNIST; IDX files written here with ``struct`` from the format description; PyTorch's
one_hot; geometric facts of the Playground generators (radii, quadrants, arcs).
"""

from __future__ import annotations

import gzip
import http.server
import re
import shutil
import socket
import struct
import threading
from pathlib import Path

import numpy as np
import pytest

from actlab import data
from actlab.cli import main
from actlab.errors import ActlabError, UnknownNameError

BUNDLED = Path(__file__).resolve().parents[1] / "data" / "mnist"
# Published in /work/shared/data/README.md (and data/mnist/README.md).
TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
NAMES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}


def idx_bytes(arr: np.ndarray, type_code: int = 0x08, dtype: str = ">u1") -> bytes:
    """An IDX file per the format description: 0 0 type ndim, big-endian sizes, data."""
    head = struct.pack(">BBBB", 0, 0, type_code, arr.ndim) + struct.pack(f">{arr.ndim}I", *arr.shape)
    return head + np.ascontiguousarray(arr, dtype=dtype).tobytes()


def write_set(directory: Path, n_train=12, n_test=6, shape=(5, 4), classes=3, gz=("test",), seed=0, prefix=""):
    """A small MNIST-format dataset; returns the arrays written."""
    rng = np.random.default_rng(seed)
    directory.mkdir(parents=True, exist_ok=True)
    arrays = {}
    for split, n in (("train", n_train), ("test", n_test)):
        arrays[f"{split}_images"] = rng.integers(0, 256, (n, *shape), dtype=np.uint8)
        arrays[f"{split}_labels"] = rng.integers(0, classes, n, dtype=np.uint8)
    for role, arr in arrays.items():
        raw = idx_bytes(arr)
        name = prefix + NAMES[role]
        if role.split("_")[0] in gz:
            (directory / (name + ".gz")).write_bytes(gzip.compress(raw))
        else:
            (directory / name).write_bytes(raw)
    return arrays


# ----------------------------------------------------------------------------- bundled MNIST

def test_bundled_counts_and_label_histograms():
    ds = data.load_dataset()
    assert ds.source == "bundled" and ds.name == "mnist" and ds.verified
    assert ds.X_train.shape == (60000, 784) and ds.X_test.shape == (10000, 784)
    assert ds.X_train.dtype == np.float32 and ds.y_train.dtype == np.int64
    assert np.bincount(ds.y_train).tolist() == TRAIN_COUNTS
    assert np.bincount(ds.y_test).tolist() == TEST_COUNTS
    # The first test digits, as shown in countless tutorials: 7 2 1 0 4 1 4 9 5 9.
    assert ds.y_test[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    assert all(s.startswith("verified mnist") for s in ds.checksums.values())
    assert 0.0 == ds.X_train.min() and ds.X_train.max() == 1.0


def test_bundled_pixel_statistics_match_published():
    # The widely published MNIST training normalisation constants 0.1307 / 0.3081.
    X, _ = data.load_mnist(normalize=False, dtype=np.uint8, flatten=False)
    assert X.shape == (60000, 28, 28) and X.dtype == np.uint8
    mean, std = data.pixel_stats(X)
    assert round(mean, 4) == 0.1307 and round(std, 4) == 0.3081
    Xs, _ = data.load_mnist(normalize="standardize", split="test")  # scaled with the training statistics
    expect = (data.load_mnist(split="test", normalize=False, dtype=np.uint8)[0] / 255 - mean) / std
    assert np.allclose(Xs, expect, rtol=1e-5, atol=1e-5)


def test_cached_and_read_only():
    a = data.load_mnist(split="test")
    b = data.load_mnist(split="test")
    assert a[0] is b[0] and a[1] is b[1]
    assert not a[0].flags.writeable and not a[1].flags.writeable
    with pytest.raises(ValueError):
        a[0][0, 0] = 1.0


def test_options_shapes_and_one_hot():
    X, y = data.load_mnist(split="test", flatten=False, dtype=np.float64, one_hot=True)
    assert X.shape == (10000, 28, 28) and X.dtype == np.float64
    _, labels = data.load_mnist(split="test")
    assert y.shape == (10000, 10) and y.dtype == np.float64
    assert np.array_equal(y.argmax(1), labels) and np.all(y.sum(1) == 1)
    raw, _ = data.load_mnist(split="test", normalize=False, dtype=np.uint8)
    assert np.array_equal(X.reshape(10000, -1) * 255, raw.astype(np.float64))


@pytest.mark.parametrize("kwargs, match", [
    (dict(split="valid"), "'split' parameter of load_mnist"),
    (dict(normalize="zscore"), "'normalize' parameter"),
    (dict(dtype=np.int32), "float dtype"),
])
def test_bad_options(kwargs, match):
    with pytest.raises(ActlabError, match=match):
        data.load_mnist(**kwargs)


# ----------------------------------------------------------------------------- bad files

def test_generic_idx_types_and_shape(tmp_path):
    a = np.arange(-6, 6, dtype=np.int16).reshape(3, 4)
    p = tmp_path / "x-idx2-short"
    p.write_bytes(idx_bytes(a, 0x0B, ">i2"))
    out = data.load_idx(p)
    assert out.dtype == np.int16 and out.dtype.isnative and np.array_equal(out, a)
    f = tmp_path / "f-idx1-double.gz"
    f.write_bytes(gzip.compress(idx_bytes(np.array([0.5, -2.25]), 0x0E, ">f8")))
    assert data.load_idx(f).tolist() == [0.5, -2.25]


def _bad_file_cases(tmp_path: Path):
    labels = np.arange(10, dtype=np.uint8)
    good = idx_bytes(labels)
    gz = (BUNDLED / "t10k-labels-idx1-ubyte.gz").read_bytes()
    flipped = bytearray(gz)
    flipped[len(gz) // 2] ^= 0xFF
    return {
        "truncated-data": (good[:-3], "truncated"),
        "truncated-header": (good[:6], "truncated header"),
        "tiny": (b"\x00\x00", "too short"),
        "trailing": (good + b"\x00\x00", "unexpected bytes"),
        "text": (b"<html>404 Not Found</html>", "not an IDX file"),
        "bad-type": (bytes([0, 0, 0x07, 1, 0, 0, 0, 1, 5]), "not an IDX file"),
        "gz-truncated": (gz[: len(gz) // 2], "truncated"),
        "gz-corrupted": (bytes(flipped), "corrupted gzip"),
        "gz-header-only": (gz[:10], "truncated"),
        "gz-bad-crc": (gz[:-8] + bytes(8), "corrupted gzip"),
    }


def test_bad_files_give_actlab_error_naming_the_file(tmp_path):
    for case, (content, what) in _bad_file_cases(tmp_path).items():
        p = tmp_path / f"{case}-labels-idx1-ubyte.gz"
        p.write_bytes(content)
        with pytest.raises(ActlabError, match=re.escape(str(p)) + ".*" + what):
            data.load_idx(p)


def test_every_truncation_of_a_gz_file_is_an_actlab_error(tmp_path):
    gz = gzip.compress(idx_bytes(np.arange(200, dtype=np.uint8).reshape(10, 20)))
    for cut in range(len(gz)):
        p = tmp_path / f"cut{cut}.gz"
        p.write_bytes(gz[:cut])
        with pytest.raises(ActlabError, match=re.escape(p.name)):
            data.load_idx(p)


def test_wrong_magic_and_missing(tmp_path):
    p = tmp_path / "labels.gz"
    p.write_bytes(gzip.compress(idx_bytes(np.zeros(3, np.uint8))))
    with pytest.raises(ActlabError, match=r"labels\.gz: wrong magic number 2049 .* expected 2051"):
        data.load_idx(p, magic=2051)
    with pytest.raises(ActlabError, match="nothing.gz: does not exist"):
        data.load_idx(tmp_path / "nothing.gz")


def test_dataset_with_wrong_magic_in_images_position(tmp_path):
    write_set(tmp_path)
    shutil.copy(tmp_path / NAMES["train_labels"], tmp_path / NAMES["train_images"])
    with pytest.raises(ActlabError, match=re.escape(NAMES["train_images"]) + ".*wrong magic number 2049"):
        data.load_dataset(tmp_path)


def test_mismatched_counts_name_both_files(tmp_path):
    write_set(tmp_path)
    (tmp_path / NAMES["train_labels"]).write_bytes(idx_bytes(np.zeros(11, np.uint8)))
    with pytest.raises(ActlabError, match=r"count mismatch in the train split: .*train-images.*12 images"
                                          r".*train-labels.*11 labels"):
        data.load_mnist(tmp_path)


def test_missing_files_listed(tmp_path):
    write_set(tmp_path)
    (tmp_path / (NAMES["test_labels"] + ".gz")).unlink()
    with pytest.raises(ActlabError, match=r"No MNIST-format data in .*missing t10k-labels-idx1-ubyte\[\.gz\]"):
        data.load_dataset(tmp_path)
    with pytest.raises(ActlabError, match="does not exist"):
        data.load_dataset(tmp_path / "absent")


def test_file_with_the_checksum_of_another_role(tmp_path):
    write_set(tmp_path)
    for role in ("train_labels", "test_labels"):  # real MNIST test labels in both places
        (tmp_path / NAMES[role]).unlink(missing_ok=True)
        (tmp_path / (NAMES[role] + ".gz")).unlink(missing_ok=True)
        shutil.copy(BUNDLED / "t10k-labels-idx1-ubyte.gz", tmp_path / (NAMES[role] + ".gz"))
    with pytest.raises(ActlabError, match=r"train-labels-idx1-ubyte\.gz: its sha256 checksum is that of the "
                                          r"mnist test_labels file"):
        data.load_dataset(tmp_path)


def test_recompressed_or_raw_mnist_verifies_by_content(tmp_path):
    content = gzip.decompress((BUNDLED / "t10k-labels-idx1-ubyte.gz").read_bytes())
    raw = tmp_path / "t10k-labels-idx1-ubyte"
    raw.write_bytes(content)
    rez = tmp_path / "again.gz"
    rez.write_bytes(gzip.compress(content, compresslevel=1, mtime=0))
    for p in (raw, rez):
        f = data.read_idx(p)
        assert f.status == "verified mnist test_labels (content md5)"
        assert np.bincount(f.array).tolist() == TEST_COUNTS


def test_corrupted_bundled_copy_is_refused(tmp_path, monkeypatch):
    fake = tmp_path / "repo" / "data" / "mnist"
    write_set(fake)
    monkeypatch.setattr(data.idx, "bundled_dir", lambda: fake)
    monkeypatch.delenv("ACTLAB_DATA", raising=False)
    with pytest.raises(ActlabError, match="bundled MNIST copy fails its checksum"):
        data.load_dataset()
    shutil.rmtree(fake)
    with pytest.raises(ActlabError, match="bundled MNIST directory .* is missing"):
        data.load_dataset()


# ----------------------------------------------------------------------------- user data, env var

def test_user_directory_in_mnist_format(tmp_path):
    arrays = write_set(tmp_path / "mine", classes=3)
    ds = data.load_dataset(tmp_path / "mine", normalize=False, flatten=False, dtype=np.uint8)
    for role in NAMES:
        split, kind = role.split("_")
        got = getattr(ds, f"{'X' if kind == 'images' else 'y'}_{split}")
        assert np.array_equal(got, arrays[role]), role  # rows x cols order kept (5 x 4)
    assert ds.name == "unknown" and not ds.verified and ds.num_classes == 3
    assert set(ds.checksums.values()) == {"unknown checksum"}
    assert "sha256" in data.info(tmp_path / "mine")  # unknown checksums are reported with their value
    X, y = data.load_mnist(tmp_path / "mine", split="test", one_hot=True)
    assert X.shape == (6, 20) and y.shape == (6, 3)
    assert np.allclose(X, arrays["test_images"].reshape(6, 20) / 255.0, rtol=1e-7, atol=0)


def test_mnist_subdirectory_and_emnist_prefix(tmp_path):
    write_set(tmp_path / "root" / "mnist", n_train=7)
    assert data.load_mnist(tmp_path / "root")[0].shape == (7, 20)
    write_set(tmp_path / "emnist", n_train=9, prefix="emnist-digits-")
    assert data.load_mnist(tmp_path / "emnist")[0].shape == (9, 20)


def test_env_var_and_argument_precedence(tmp_path, monkeypatch):
    write_set(tmp_path / "env", n_train=8)
    write_set(tmp_path / "arg", n_train=5)
    monkeypatch.setenv("ACTLAB_DATA", str(tmp_path / "env"))
    ds = data.load_dataset()
    assert ds.source == "ACTLAB_DATA" and len(ds.X_train) == 8
    assert len(data.load_mnist(tmp_path / "arg")[0]) == 5
    monkeypatch.setenv("ACTLAB_DATA", str(tmp_path / "nowhere"))
    with pytest.raises(ActlabError, match="nowhere .*from ACTLAB_DATA"):
        data.load_mnist()


def test_replaced_file_is_read_again(tmp_path):
    write_set(tmp_path, n_train=4)
    assert len(data.load_mnist(tmp_path)[1]) == 4
    write_set(tmp_path, n_train=6)
    assert len(data.load_mnist(tmp_path)[1]) == 6


# ----------------------------------------------------------------------------- helpers

def test_batches_cover_each_index_once_and_repeat_with_seed():
    n, bs = 103, 10
    X = np.arange(n, dtype=np.float64)[:, None] * np.ones(3)
    y = np.arange(n) * 2

    def epoch(rng):
        xs, ys = [], []
        for xb, yb in data.batches(X, y, bs, rng=rng):
            xs.append(xb[:, 0].copy())
            ys.append(yb.copy())
        return np.concatenate(xs), np.concatenate(ys), [len(v) for v in ys]

    order, labels, sizes = epoch(np.random.default_rng(5))
    assert sorted(order.astype(int).tolist()) == list(range(n))
    assert np.array_equal(labels, order * 2)
    assert sizes == [10] * 10 + [3]
    again, _, _ = epoch(np.random.default_rng(5))
    assert np.array_equal(order, again)
    g = np.random.default_rng(5)
    first, second = epoch(g)[0], epoch(g)[0]
    assert np.array_equal(first, order) and not np.array_equal(first, second)
    assert sorted(second.astype(int).tolist()) == list(range(n))
    kept = [len(b) for b in data.batches(X, batch_size=bs, rng=1, drop_last=True)]
    assert kept == [10] * 10
    plain = np.concatenate([b[:, 0].copy() for b in data.batches(X, batch_size=7, shuffle=False)])
    assert np.array_equal(plain, np.arange(n))


def test_batches_errors():
    with pytest.raises(ActlabError, match="'rng' parameter of batches"):
        next(data.batches(np.zeros((4, 2))))
    with pytest.raises(ActlabError, match="'batch_size' parameter"):
        next(data.batches(np.zeros((4, 2)), batch_size=0, rng=0))
    with pytest.raises(ActlabError, match="X has 4 rows but y has 3"):
        next(data.batches(np.zeros((4, 2)), np.zeros(3), rng=0))


def test_train_val_split():
    X, y = np.arange(50)[:, None], np.arange(50)
    a = data.train_val_split(X, y, 0.2, seed=3)
    b = data.train_val_split(X, y, 10, seed=3)
    for u, v in zip(a, b):
        assert np.array_equal(u, v)
    Xt, yt, Xv, yv = a
    assert len(yv) == 10 and sorted(np.concatenate([yt, yv]).tolist()) == list(range(50))
    assert np.array_equal(Xt[:, 0], yt) and np.array_equal(Xv[:, 0], yv)
    assert not np.array_equal(yv, data.train_val_split(X, y, 0.2, seed=4)[3])
    with pytest.raises(ActlabError, match="'val' parameter"):
        data.train_val_split(X, y, 1.5)


def test_one_hot_matches_torch():
    import torch  # a declared test peer (pyproject [peers])

    y = np.random.default_rng(0).integers(0, 7, (4, 5))
    ref = torch.nn.functional.one_hot(torch.from_numpy(y), 9).numpy()
    assert np.array_equal(data.one_hot(y, 9), ref)
    with pytest.raises(ActlabError, match=r"labels must lie in \[0, 2\]"):
        data.one_hot([0, 3], 3)
    with pytest.raises(ActlabError, match="integer class labels"):
        data.one_hot([0.5])


def test_normalize():
    x = np.array([[0, 255], [51, 102]], dtype=np.uint8)
    before = x.copy()
    out = data.normalize(x)
    assert out.dtype == np.float32 and np.array_equal(x, before)
    assert np.allclose(out, [[0, 1], [0.2, 0.4]], rtol=1e-7)
    z = data.normalize(x, standardize=True, dtype=np.float64)
    assert abs(z.mean()) < 1e-12 and abs(z.std() - 1) < 1e-12
    z2 = data.normalize(x, standardize=True, mean=0.5, std=0.25)
    assert np.allclose(z2, (np.array([[0, 1], [0.2, 0.4]]) - 0.5) / 0.25, rtol=1e-6)


# ----------------------------------------------------------------------------- playground

CLASSIFICATION = [k for k, (_, task) in data.PLAYGROUND.items() if task == "classification"]
REGRESSION = [k for k, (_, task) in data.PLAYGROUND.items() if task == "regression"]


@pytest.mark.parametrize("name", list(data.PLAYGROUND))
def test_playground_reproducible_and_shaped(name):
    X, y = data.playground(name, n=201, noise=0.2, seed=7)
    X2, y2 = data.playground(name, n=201, noise=0.2, seed=7)
    assert np.array_equal(X, X2) and np.array_equal(y, y2)
    assert X.shape == (201, 2) and X.dtype == np.float64 and y.shape == (201,)
    X3, _ = data.playground(name, n=201, noise=0.2, seed=8)
    assert not np.array_equal(X, X3)  # another seed, other points
    if name in CLASSIFICATION:
        assert y.dtype == np.int64 and set(np.unique(y)) <= {0, 1}
        ys = data.playground(name, n=201, noise=0.2, seed=7, signed=True)[1]
        assert np.array_equal(ys, np.where(y == 1, 1.0, -1.0))
    else:
        # plane: (x + y)/10 of a point moved by up to 6 * noise per axis, unclamped as in the Playground
        bound = 1.0 if name == "multigauss" else 1.2 * (1 + 0.2)
        assert y.dtype == np.float64 and np.all(np.abs(y) <= bound + 1e-12)


def test_playground_geometry_without_noise():
    X, y = data.playground("circle", n=400, seed=1)
    r = np.hypot(X[:, 0], X[:, 1])
    assert np.bincount(y).tolist() == [200, 200]
    assert np.all(r[y == 1] <= 2.5) and np.all((r[y == 0] >= 3.5) & (r[y == 0] <= 5))
    X, y = data.playground("xor", n=400, seed=1)
    assert np.all(np.abs(X) >= 0.3) and np.all(np.abs(X) <= 5.3)
    assert np.array_equal(y == 1, X[:, 0] * X[:, 1] > 0)
    X, y = data.playground("spiral", n=400, seed=1, shuffle=False)
    r = np.hypot(X[:, 0], X[:, 1])
    assert np.allclose(r[:200], np.arange(200) / 200 * 5) and np.allclose(r[200:], r[:200])
    assert np.allclose(X[200:], -X[:200], atol=1e-12)  # the second arm is the first turned by pi
    X, y = data.playground("moons", n=300, seed=1)
    upper, lower = X[y == 0], X[y == 1]
    assert np.allclose(np.hypot(*upper.T), 1) and np.allclose(np.hypot(lower[:, 0] - 1, lower[:, 1] - 0.5), 1)
    X, y = data.playground("plane", n=300, seed=1)
    assert np.allclose(y, X.sum(1) / 10)


def test_playground_gauss_moments():
    X, y = data.playground("gauss", n=20000, noise=0.2, seed=3)
    for label, centre in ((1, 2.0), (0, -2.0)):
        pts = X[y == label]
        assert np.allclose(pts.mean(0), centre, atol=0.06)
        assert np.allclose(pts.var(0), 0.5 + 7 * 0.2, rtol=0.05)  # Playground: variance 0.5 + 7 noise


def test_playground_multigauss_follows_the_playground_loop():
    X, y = data.playground("multigauss", n=300, seed=2)
    centres = [(-4, 2.5, 1), (0, 2.5, -1), (4, 2.5, 1), (-4, -2.5, -1), (0, -2.5, 1), (4, -2.5, -1)]
    for (px, py), got in zip(X, y):  # the loop of dataset.ts, literally
        label = 0.0
        for cx, cy, sign in centres:
            d = ((px - cx) ** 2 + (py - cy) ** 2) ** 0.5
            new = sign * min(1.0, max(0.0, 1 - d / 2))
            if abs(new) > abs(label):
                label = new
        assert got == pytest.approx(label, abs=1e-12)


def test_playground_errors():
    with pytest.raises(UnknownNameError, match="Did you mean 'spiral'"):
        data.playground("spirals")
    with pytest.raises(ActlabError, match="'noise' parameter"):
        data.playground("xor", noise=-0.1)
    with pytest.raises(ActlabError, match="'n' parameter"):
        data.playground("xor", n=1)
    assert np.array_equal(data.playground("reg-plane", n=5)[1], data.playground("plane", n=5)[1])


# ----------------------------------------------------------------------------- download (local only)

class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802
        srv = self.server
        srv.requests.append((self.path, self.headers.get("Range")))
        prefix, _, name = self.path.rpartition("/")
        path = srv.root / name
        if prefix != "/mnist" or not path.is_file():
            self.send_error(404)
            return
        body = path.read_bytes()
        rng = self.headers.get("Range")
        start = int(rng[len("bytes="):].rstrip("-")) if rng and srv.honour_range else 0
        if start >= len(body) > 0 and rng:
            self.send_response(416)
            self.send_header("Content-Range", f"bytes */{len(body)}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(206 if start else 200)
        if start:
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        self.send_header("Content-Length", str(len(body) - start))
        self.end_headers()
        cut = srv.cut_after.get(path.name)
        self.wfile.write(body[start:cut] if cut else body[start:])

    def log_message(self, *args):
        pass


@pytest.fixture
def mirror(tmp_path):
    root = tmp_path / "served"
    root.mkdir()
    for f in BUNDLED.glob("*.gz"):
        shutil.copy(f, root / f.name)
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    srv.root, srv.requests, srv.honour_range, srv.cut_after = root, [], True, {}
    srv.daemon_threads = True
    t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    t.start()
    srv.url = f"http://127.0.0.1:{srv.server_address[1]}/mnist"
    yield srv
    srv.shutdown()
    srv.server_close()


def _prefill(target: Path, *roles):
    target.mkdir(parents=True, exist_ok=True)
    for role in roles:
        shutil.copy(BUNDLED / (NAMES[role] + ".gz"), target / (NAMES[role] + ".gz"))


def test_download_all_then_present(mirror, tmp_path):
    target = tmp_path / "dl"
    got = data.download(mirror=mirror.url, directory=target, progress=False)
    assert [f.status for f in got] == ["downloaded"] * 4
    for name in NAMES.values():
        assert (target / (name + ".gz")).read_bytes() == (BUNDLED / (name + ".gz")).read_bytes()
    assert not list(target.glob("*.part"))
    n = len(mirror.requests)
    assert [f.status for f in data.download(mirror=mirror.url + "/", directory=target, progress=False)] == [
        "present"] * 4
    assert len(mirror.requests) == n
    assert data.load_dataset(target).verified


def test_download_resumes_partial_file_with_range(mirror, tmp_path):
    target = tmp_path / "dl"
    _prefill(target, "train_labels", "test_images", "test_labels")
    whole = (BUNDLED / "train-images-idx3-ubyte.gz").read_bytes()
    (target / "train-images-idx3-ubyte.gz.part").write_bytes(whole[:4_000_000])
    got = {f.path.name: f.status for f in data.download(mirror=mirror.url, directory=target, progress=False)}
    assert got["train-images-idx3-ubyte.gz"] == "resumed"
    assert mirror.requests == [("/mnist/train-images-idx3-ubyte.gz", "bytes=4000000-")]
    assert (target / "train-images-idx3-ubyte.gz").read_bytes() == whole


def test_interrupted_download_is_kept_and_resumed(mirror, tmp_path):
    target = tmp_path / "dl"
    _prefill(target, "train_images", "test_images", "test_labels")
    mirror.cut_after["train-labels-idx1-ubyte.gz"] = 10_000
    with pytest.raises(ActlabError, match=r"interrupted after 10,000 .*run again to resume"):
        data.download(mirror=mirror.url, directory=target, progress=False, timeout=5)
    assert (target / "train-labels-idx1-ubyte.gz.part").stat().st_size == 10_000
    mirror.cut_after.clear()
    got = data.download(mirror=mirror.url, directory=target, progress=False)
    assert [f.status for f in got] == ["present", "resumed", "present", "present"]
    assert mirror.requests[-1] == ("/mnist/train-labels-idx1-ubyte.gz", "bytes=10000-")


def test_server_ignoring_range_restarts_from_zero(mirror, tmp_path):
    target = tmp_path / "dl"
    _prefill(target, "train_images", "train_labels", "test_images")
    (target / "t10k-labels-idx1-ubyte.gz.part").write_bytes(b"garbage")
    mirror.honour_range = False
    got = data.download(mirror=mirror.url, directory=target, progress=False)
    assert got[3].status == "downloaded"
    assert (target / "t10k-labels-idx1-ubyte.gz").read_bytes() == (BUNDLED / "t10k-labels-idx1-ubyte.gz").read_bytes()


def test_checksum_mismatch_removes_partial(mirror, tmp_path):
    target = tmp_path / "dl"
    _prefill(target, "train_images", "test_images", "test_labels")
    served = mirror.root / "train-labels-idx1-ubyte.gz"
    served.write_bytes(gzip.compress(gzip.decompress(served.read_bytes())[:-1] + b"\x09"))
    with pytest.raises(ActlabError, match=r"Checksum mismatch for train-labels-idx1-ubyte\.gz from http://127"):
        data.download(mirror=mirror.url, directory=target, progress=False)
    assert not (target / "train-labels-idx1-ubyte.gz.part").exists()
    assert not (target / "train-labels-idx1-ubyte.gz").exists()


def test_unreachable_mirror_and_404(mirror, tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(ActlabError, match="Cannot reach mirror"):
        data.download(mirror=f"http://127.0.0.1:{port}", directory=tmp_path / "a", progress=False, timeout=5)
    with pytest.raises(ActlabError, match="HTTP 404"):
        data.download(mirror=mirror.url + "/nothing-here", directory=tmp_path / "b", progress=False)


def test_cli_data_commands(mirror, tmp_path, capsys):
    target = tmp_path / "dl"
    _prefill(target, "train_images", "train_labels", "test_images")
    assert main(["data", "download", "--mirror", mirror.url, "--dir", str(target)]) == 0
    out = capsys.readouterr().out
    assert out.count("present") == 3 and "downloaded" in out
    assert main(["data", "info", "--data", str(target)]) == 0
    out = capsys.readouterr().out
    assert "verified mnist" in out and " ".join(map(str, TEST_COUNTS)) in out
    assert main(["data", "download", "--dataset", "mnits", "--dir", str(target)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Did you mean 'mnist'" in err
