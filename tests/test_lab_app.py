"""The lab's HTTP and WebSocket API through Starlette's test client (no browser)."""

import json
import math
import os
import time

import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from actlab import claims as E
from actlab.lab.app import create_app
from actlab.lab.frames import decode

from .test_lab_core import INVALID, csv_text

pytestmark = pytest.mark.xdist_group("lab")

ORIGIN = {"origin": "http://testserver"}


@pytest.fixture
def app(tmp_path):
    return create_app(max_sessions=2, allowed_hosts=["testserver"], report=tmp_path / "report",
                      claims_cache=tmp_path / "cells.sqlite")


@pytest.fixture
def client(app):
    with TestClient(app) as c:
        yield c


def lab(client):
    return client.app.state.lab


def wait_for(cond, timeout=10.0):
    t = time.monotonic()
    while time.monotonic() - t < timeout:
        if cond():
            return True
        time.sleep(0.05)
    return False


def receive_frame(ws):
    """The next binary message (frames), skipping nothing: text here is a test failure."""
    msg = ws.receive()
    assert msg.get("bytes") is not None, msg
    return decode(msg["bytes"])


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as f:  # a zombie is not running
        return f.read().split()[2] != "Z"


# ------------------------------------------------------------------------------ HTTP


def test_page_static_files_and_headers(client):
    r = client.get("/")
    assert r.status_code == 200 and "actlab" in r.text and "/static/js/main.js" in r.text
    csp = r.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp and "unsafe-eval" not in csp
    assert r.headers["x-frame-options"] == "DENY"
    js = client.get("/static/js/main.js")
    assert js.status_code == 200 and js.headers["content-type"].startswith("text/javascript")
    plotly = client.get("/static/vendor/plotly.min.js")
    assert plotly.status_code == 200 and len(plotly.content) > 1_000_000


@pytest.mark.parametrize("path", ["/static/../app.py", "/static/%2e%2e/app.py", "/static/..%2fapp.py",
                                  "/static/js/../../app.py", "/static//etc/passwd", "/static/%2fetc%2fpasswd",
                                  "/static/vendor/../../sessions.py", "/static/", "/etc/passwd", "/report/../app.py"])
def test_the_page_can_read_no_other_file(client, path):
    r = client.get(path)
    assert r.status_code == 404
    assert "import" not in r.text and "root:" not in r.text


def test_a_foreign_host_header_is_refused(app):
    with TestClient(app, base_url="http://evil.example") as c:
        assert c.get("/api/limits").status_code == 400


def test_activation_endpoints(client):
    assert len(client.get("/api/catalogue").json()) == 41
    c = client.get("/api/curve", params={"spec": "leaky_relu(slope=0.2)", "lo": -1, "hi": 1, "n": 3}).json()
    assert c["f"] == [-0.2, None, 1.0] and c["kinks"][0]["df"] == {"at": 0.2, "sides": [1.0]}
    assert client.get("/api/properties", params={"spec": "tanh"}).json()["zero_centred"] is True
    assert client.get("/api/eval", params={"spec": "relu", "x": -2}).json()["float32"]["f"] == "0.0"
    acc = client.get("/api/accuracy", params={"spec": "sigmoid", "lo": -50, "hi": 50}).json()
    assert acc["naive"] and float(acc["df"]["max_naive"]) > 1e6  # s(1 - s) cancels
    for params, field in [({"spec": "relux"}, ""), ({"lo": "nan"}, "lo"), ({"n": 10**7}, "n"),
                          ({"lo": 3, "hi": 1}, ""), ({"spec": "x" * 600}, "spec")]:
        r = client.get("/api/curve", params=params)
        assert r.status_code == 400 and r.json()["error"] and r.json()["field"] == field


def test_typed_formulas_are_checked_drawn_and_compared_with_themselves_as_typed(client):
    ok = client.get("/api/check", params={"spec": "log(1 + exp(x))"}).json()
    assert ok == {"ok": True, "spec": "log(1 + exp(x))", "hidden": None}
    assert client.get("/api/check", params={"spec": "elu"}).json()["spec"] == "elu(alpha=1.0)"
    assert "halves" in client.get("/api/check", params={"spec": "glu"}).json()["hidden"]
    for text, reason in [("x.__class__", "attribute access"), ("x * sigmoud(x)", "Did you mean 'sigmoid'"),
                         ("__import__('os').system('true') + x", "not allowed"), ("x ** 10 ** 10", "exponent"),
                         ("+".join(["x"] * 200), "")]:
        r = client.get("/api/check", params={"spec": text})
        assert r.status_code == 200 and r.json()["ok"] is False and reason in r.json()["error"], r.json()
    c = client.get("/api/curve", params={"spec": "x * sigmoid(x)", "lo": -1, "hi": 1, "n": 3}).json()
    assert c["f"][2] == pytest.approx(1 / (1 + math.exp(-1)), rel=1e-15) and c["f"][1] == 0.0
    acc = client.get("/api/accuracy", params={"spec": "log(1 + exp(x))", "lo": -60, "hi": 60, "n": 41}).json()
    assert acc["typed"] and acc["dtype"] == "float64" and acc["source"] == "log(1 + exp(x))"
    assert float(acc["f"]["max_actlab"]) <= 4 < 1e6 < float(acc["f"]["max_naive"])  # as typed, exp(-60) is lost
    hard = {(h["which"], h["x"]): h for h in acc["hard"]}
    assert hard["f", "10000.0"]["naive"] == "inf" and hard["f", "10000.0"]["actlab"] == "10000.0"


def test_csv_upload(client):
    r = client.post("/api/csv", params={"task": "classification"},
                    content=csv_text([(i, -i, i % 2) for i in range(20)]))
    assert r.status_code == 200 and r.json()["rows"] == 20 and r.json()["name"].startswith("csv:")
    bad = client.post("/api/csv", content=csv_text([(i, -i, i % 2) for i in range(20)]) + "1,oops,1\n")
    assert bad.status_code == 400 and bad.json()["error"] == "line 22: 'oops' is not a number"
    big = client.post("/api/csv", content=b"1,2,1\n" * 200_000)
    assert big.status_code == 413 and "1024 KB" in big.json()["error"]
    assert client.post("/api/csv", params={"task": "cluster"}, content="1,2,3").status_code == 400


def test_claims_from_an_empty_cache(client):
    claims = client.get("/api/claims").json()
    assert [c["name"] for c in claims["claims"]] == E.names() and claims["report"] is False
    assert client.post("/api/claims/run", json={"size": "huge"}).status_code == 400
    assert client.post("/api/claims/run", json={"names": ["nope"]}).status_code == 400
    r = client.post("/api/claims/run", json={"mode": "cached", "size": "quick", "names": ["softmax_overflow"]})
    assert r.status_code == 200
    assert wait_for(lambda: not client.get("/api/claims/status").json()["running"], 60)
    status = client.get("/api/claims/status").json()
    assert status["results"] == {"quick:softmax_overflow": None} and status["done"] == 1  # not in the cache
    assert client.get("/report").status_code == 404


# ------------------------------------------------------------------------------ WebSocket


def test_a_valid_run_over_the_socket(client):
    with client.websocket_connect("/ws", headers=ORIGIN) as ws:
        ws.send_text(json.dumps({"type": "config", "config": {"dataset": "xor", "seed": 3}}))
        meta, arrays = receive_frame(ws)
        assert meta["type"] == "ready" and meta["sizes"] == [2, 4, 2, 2]
        meta, arrays = receive_frame(ws)
        assert meta["type"] == "frame" and meta["step"] == 0 and arrays["log"].shape == (1, 3)
        first = arrays["log"][0].tolist()
        ws.send_text(json.dumps({"type": "step", "count": 2}))
        meta, arrays = receive_frame(ws)
        while meta["step"] < 50:
            meta, more = receive_frame(ws)
            arrays["log"] = more["log"] if not len(arrays["log"]) else arrays["log"]
        assert meta["step"] == 50 and not meta["playing"]
        ws.send_text(json.dumps({"type": "play"}))
        steps = [receive_frame(ws)[0]["step"] for _ in range(5)]
        assert steps == sorted(steps) and steps[-1] > 50
        ws.send_text(json.dumps({"type": "reset"}))
        meta, _ = receive_frame(ws)
        while meta["type"] != "ready":
            meta, _ = receive_frame(ws)
        meta, arrays = receive_frame(ws)
        assert meta["step"] == 0 and arrays["log"][0].tolist() == first  # same seed, same start


def test_every_invalid_message_gets_an_error_and_the_session_goes_on(client):
    with client.websocket_connect("/ws", headers=ORIGIN) as ws:
        ws.send_text(json.dumps({"type": "play"}))
        assert json.loads(ws.receive_text())["message"] == "Send a configuration first."
        for text, field in INVALID:
            ws.send_text(text)
            err = json.loads(ws.receive_text())
            assert err["type"] == "error" and err["field"] == field and err["message"], text
        ws.send_bytes(b"\x00\x01")
        assert "not binary" in json.loads(ws.receive_text())["message"]
        ws.send_text(json.dumps({"type": "config", "config": {"dataset": "csv:0123456789abcdef"}}))
        assert "upload the CSV file again" in json.loads(ws.receive_text())["message"]
        ws.send_text(json.dumps({"type": "config", "config": {"dataset": "gauss"}}))
        assert receive_frame(ws)[0]["type"] == "ready"


def test_an_uploaded_csv_trains(client):
    name = client.post("/api/csv", content=csv_text([(i, -i, i % 2) for i in range(30)])).json()["name"]
    with client.websocket_connect("/ws", headers=ORIGIN) as ws:
        ws.send_text(json.dumps({"type": "config", "config": {"dataset": name, "train_frac": 0.5}}))
        meta, arrays = receive_frame(ws)
        assert meta["type"] == "ready" and meta["n_train"] == 15 and arrays["points"].shape == (30, 2)


def test_an_oversized_message_closes_the_socket(client):
    with client.websocket_connect("/ws", headers=ORIGIN) as ws:
        ws.send_text(json.dumps({"type": "config", "config": {"dataset": "x" * 70_000}}))
        assert "longer than 64 KB" in json.loads(ws.receive_text())["message"]
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_text()
        assert closed.value.code == 1009
    assert lab(client).limit.active == 0


def test_a_foreign_origin_is_refused(client):
    for origin in ("http://evil.example", "http://testserver.evil.example", "null"):
        with pytest.raises(WebSocketDisconnect) as refused:
            with client.websocket_connect("/ws", headers={"origin": origin}):
                pass
        assert refused.value.code == 1008
    assert lab(client).limit.active == 0


def test_a_disconnect_mid_training_stops_the_worker(client):
    with client.websocket_connect("/ws", headers=ORIGIN) as ws:
        ws.send_text(json.dumps({"type": "config", "config": {"dataset": "spiral"}}))
        receive_frame(ws)
        ws.send_text(json.dumps({"type": "play"}))
        for _ in range(3):
            receive_frame(ws)
        (session,) = lab(client).sessions
        pid = session.proc.pid
        assert alive(pid) and lab(client).limit.active == 1
    # the socket is closed while the worker trains: the worker ends, the slot is free
    assert wait_for(lambda: lab(client).limit.active == 0 and not lab(client).sessions)
    assert wait_for(lambda: not alive(pid))


def test_a_killed_worker_is_reported_and_replaced(client):
    import signal

    with client.websocket_connect("/ws", headers=ORIGIN) as ws:
        ws.send_text(json.dumps({"type": "config", "config": {}}))
        receive_frame(ws)
        receive_frame(ws)
        (session,) = lab(client).sessions
        os.kill(session.proc.pid, signal.SIGKILL)
        assert "ended unexpectedly" in json.loads(ws.receive_text())["message"]
        ws.send_text(json.dumps({"type": "config", "config": {"dataset": "moons"}}))
        assert receive_frame(ws)[0]["type"] == "ready"
        assert lab(client).limit.active == 1 and len(lab(client).sessions) == 1


def test_the_busy_limit(client):
    cfg = json.dumps({"type": "config", "config": {}})
    with client.websocket_connect("/ws", headers=ORIGIN) as a, client.websocket_connect("/ws", headers=ORIGIN) as b:
        for ws in (a, b):
            ws.send_text(cfg)
            assert receive_frame(ws)[0]["type"] == "ready"
        with client.websocket_connect("/ws", headers=ORIGIN) as c:
            c.send_text(cfg)
            busy = json.loads(c.receive_text())
            assert busy["type"] == "busy" and "2 training sessions" in busy["message"]
            with pytest.raises(WebSocketDisconnect) as closed:
                c.receive_text()
            assert closed.value.code == 1013
        b.send_text(json.dumps({"type": "step"}))  # the others are not affected
        assert receive_frame(b)[0]["type"] == "frame"
    assert wait_for(lambda: lab(client).limit.active == 0)
    with client.websocket_connect("/ws", headers=ORIGIN) as d:  # a slot is free again
        d.send_text(cfg)
        assert receive_frame(d)[0]["type"] == "ready"


# ------------------------------------------------------------------------------ the command


def test_the_command_warns_about_host_and_stops_on_ctrl_c(tmp_path):
    import re
    import signal
    import subprocess
    import sys

    from actlab.cli import _parser
    from actlab.cli import lab as lab_cli

    parser = _parser.Parser(prog="actlab")
    lab_cli.add(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["lab", "--no-browser", "--max-sessions", "3"])
    assert args.port == 0 and args.host is None and args.no_browser and args.max_sessions == 3
    with pytest.raises(SystemExit):
        parser.parse_args(["lab", "--max-sessions", "0"])
    code = ("import sys; from actlab.cli import _parser, lab; p = _parser.Parser(prog='actlab'); "
            "lab.add(p.add_subparsers(dest='command')); a = p.parse_args(sys.argv[1:]); sys.exit(a.func(a))")
    proc = subprocess.Popen([sys.executable, "-c", code, "lab", "--no-browser", "--host", "127.0.0.1"], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    assert re.search(r"http://127\.0\.0\.1:\d+/", line)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0 and "warning: --host 127.0.0.1 given" in err and "Traceback" not in err
