"""The lab in a real browser: Debian's headless Chromium driven by Playwright.

The server runs as ``actlab lab`` would (a separate process, a free port on 127.0.0.1,
stopped with Ctrl-C's SIGINT). The page must log no console error and request nothing
outside the server. The waits poll with ``page.evaluate`` (the DevTools protocol), not
``wait_for_function``, whose string predicates the page's Content-Security-Policy
(no eval) rightly refuses. Screenshots of every view go to the test's temporary folder.
"""

import math
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from actlab import claims as E

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]

pytestmark = pytest.mark.xdist_group("lab")

# make test installs Debian's chromium: its absence is a failure, never a skipped check
assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: run make test, which installs Debian's chromium"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("lab-server")
    env = {**os.environ, "ACTLAB_CACHE": str(tmp / "cells.sqlite"), "PYTHONUNBUFFERED": "1"}
    code = "from actlab.lab.app import serve; serve(open_browser=False, max_sessions=6, report=None)"
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env, cwd=tmp)
    line = proc.stdout.readline()
    match = re.search(r"http://127\.0\.0\.1:\d+/", line)
    assert match, line + proc.stderr.read()
    yield match.group(0)
    proc.send_signal(signal.SIGINT)  # Ctrl-C: a clean stop, sessions ended
    try:
        _, err = proc.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
        pytest.fail(f"the lab did not stop on SIGINT: {err[-2000:]}")
    assert proc.returncode == 0 and "Traceback" not in err, err[-2000:]


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


class Page:
    """A page with its console errors and off-server requests recorded."""

    def __init__(self, browser, url, hash_, viewport=(1400, 1000)):
        self.page = browser.new_page(viewport={"width": viewport[0], "height": viewport[1]})
        self.errors, self.outside = [], []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("request", lambda r: None if r.url.startswith((url, "data:", "blob:"))
                     else self.outside.append(r.url))
        self.page.goto(url + hash_)
        self.wait("window.lab && window.lab.ready === true")

    def js(self, expr):
        return self.page.evaluate(expr)

    def wait(self, expr, timeout=30.0):
        from playwright.sync_api import Error

        t = time.monotonic()
        while time.monotonic() - t < timeout:
            try:
                if self.page.evaluate(expr):
                    return
            except Error:  # the page is (re)loading: a link pasted into the tab reloads it
                pass
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting for {expr}; console errors: {self.errors}")

    def shot(self, path, full=True):
        self.page.screenshot(path=str(path), full_page=full)
        assert path.stat().st_size > 10_000

    def close(self):
        assert self.errors == [], self.errors
        assert self.outside == [], self.outside
        self.page.close()


def test_pick_an_activation_and_see_f_and_df(server, browser, tmp_path):
    pg = Page(browser, server, "#v=activations&a=relu")
    pg.wait("document.querySelectorAll('#act-plot-df .scatterlayer .trace').length >= 1")
    pg.page.fill("#act-search", "elu")
    pg.page.check("#act-list input[data-name=elu]")
    pg.page.fill("#act-search", "")
    pg.wait("document.querySelectorAll('#act-chosen .chip').length === 2")
    # f and f' of both: a line each (relu adds its kink's dots), drawn from the server's arrays
    pg.wait("document.querySelectorAll('#act-plot-f .scatterlayer .trace').length >= 3")
    pg.wait("document.querySelectorAll('#act-plot-df .scatterlayer .trace').length >= 3")
    assert "elu(alpha=1.0)" in pg.js("document.querySelector('#act-plot-f .legend').textContent")
    pg.wait("document.querySelector('#act-props table') !== null")
    assert "alpha" in pg.js("location.hash")  # the parameter is in the link
    pg.wait("document.querySelectorAll('#act-exact tr').length >= 5")
    pg.shot(tmp_path / "activations.png")
    pg.close()


def test_play_loss_falls_and_boundary_changes(server, browser, tmp_path):
    pg = Page(browser, server, "#v=playground&ds=circle&seed=2&layers=6:tanh;4:tanh&lr=0.03")
    pg.wait("window.lab.pg.frames >= 1")
    before = pg.js("document.getElementById('pg-boundary').toDataURL()")
    pg.page.click("#pg-play")
    pg.wait("window.lab.pg.log.length >= 40")
    pg.page.click("#pg-play")  # pause
    pg.wait("window.lab.pg.latest && !window.lab.pg.latest.meta.playing")
    log = pg.js("window.lab.pg.log")
    assert log[-1][1] < 0.7 * log[0][1] and log[-1][2] < log[0][2]
    time.sleep(0.2)
    assert pg.js("document.getElementById('pg-boundary').toDataURL()") != before
    assert int(pg.js("document.getElementById('pg-stepno').textContent").replace(",", "")) > 0
    pg.shot(tmp_path / "playground.png")
    pg.close()


def test_relu_lr_10_std_1_marks_dead_units(server, browser, tmp_path):
    pg = Page(browser, server, "#v=playground&ds=circle&seed=0&layers=8:relu;8:relu&init=normal&std=1&lr=10")
    pg.wait("window.lab.pg.frames >= 1")
    for _ in range(3):
        pg.page.click("#pg-step")
    pg.wait("document.querySelectorAll('#pg-network canvas.unit.dead').length >= 4")
    assert pg.js("document.querySelector('#pg-network canvas.unit.dead').title").count("DEAD") == 1
    assert pg.js("[...document.querySelectorAll('#pg-network .badge')].some(b => !b.hidden && b.textContent === '✕')")
    pg.shot(tmp_path / "dead-units.png")
    pg.close()


def steps(pg, n):
    for k in range(1, n + 1):
        pg.page.click("#pg-step")
        pg.wait(f"window.lab.pg.log.length >= {k + 1}")
    return pg.js("window.lab.pg.log.slice(0, " + str(n + 1) + ")")


def test_a_shared_link_restores_the_config_and_the_first_losses(server, browser):
    a = Page(browser, server, "#v=playground&ds=xor&noise=10&seed=7&layers=5:elu(alpha=0.5);3:sigmoid"
                              "&init=he_normal&opt=adam&lr=0.01&batch=7&drop=0.1&feat=x1,x2,x1x2")
    a.wait("window.lab.pg.frames >= 1")
    a.page.select_option("#pg-l2", "0.01")  # a change made in the page goes into the link
    a.wait("window.lab.pg.log.length === 1 && location.hash.includes('l2=0.01')")
    time.sleep(0.3)  # the rebuilt run's first frame
    a.wait("window.lab.pgState.l2 === 0.01 && window.lab.pg.frames >= 1")
    first = steps(a, 3)
    link, state = a.js("location.href"), a.js("JSON.stringify(window.lab.pgState)")
    a.close()
    b = Page(browser, server, link[len(server):])
    b.wait("window.lab.pg.frames >= 1")
    assert b.js("JSON.stringify(window.lab.pgState)") == state
    assert steps(b, 3) == first  # the same losses, bit for bit (JSON numbers of float64)
    b.close()


def test_mnist_and_claims_views_and_a_phone(server, browser, tmp_path):
    pg = Page(browser, server, "#v=mnist&m_train=1000&m_layers=16:relu&m_batch=100")
    pg.wait("window.lab.mnist.frames >= 1")
    pg.page.click("#mn-step")
    pg.wait("window.lab.mnist.latest && window.lab.mnist.latest.meta.step >= 50")
    pg.wait("document.querySelectorAll('#mn-strip figure').length === 16")
    pg.shot(tmp_path / "mnist.png")
    pg.close()
    cl = Page(browser, server, "#v=claims")
    cl.wait(f"document.querySelectorAll('#cl-body tr').length === {len(E.names())}")
    n = len(E.names())  # every claim and calibration, none in the empty cache
    cl.wait(f"document.querySelectorAll('#cl-body .verdict.none').length === {n}", timeout=60)
    cl.shot(tmp_path / "claims.png")
    cl.close()
    phone = Page(browser, server, "#v=playground&ds=spiral", viewport=(390, 844))
    phone.wait("window.lab.pg.frames >= 1")
    width = phone.js("document.documentElement.scrollWidth")
    assert width <= 400, width  # nothing wider than the screen
    phone.shot(tmp_path / "phone-playground.png")
    phone.close()
    phone = Page(browser, server, "#v=activations&a=sigmoid", viewport=(390, 844))
    phone.wait("document.querySelectorAll('#act-plot-f .scatterlayer .trace').length >= 1")
    phone.shot(tmp_path / "phone-activations.png")
    phone.close()
    print(f"screenshots in {tmp_path}")


def test_a_typed_formula_is_checked_drawn_measured_and_linked(server, browser, tmp_path):
    pg = Page(browser, server, "#v=activations&a=relu")
    pg.wait("document.querySelectorAll('#act-plot-f .scatterlayer .trace').length >= 1")
    # refused with the parser's one-line reason, and nothing is added
    for text, reason in [("x.__class__", "attribute access is not allowed"),
                         ("x * sigmoud(x)", "Did you mean 'sigmoid'"), ("exp(y)", "uses the variable x")]:
        pg.page.fill("#act-formula", text)
        pg.page.click("#act-formula-form button")
        pg.wait(f"document.getElementById('act-formula-error').textContent.includes({reason!r})")
    assert pg.js("document.querySelectorAll('#act-chosen .chip').length") == 1
    pg.page.fill("#act-formula", "log(1 + exp(x))")
    pg.page.press("#act-formula", "Enter")
    pg.wait("document.querySelectorAll('#act-chosen .chip').length === 2")
    pg.wait("document.querySelector('#act-plot-f .legend').textContent.includes('log(1 + exp(x))')")
    assert pg.js("document.getElementById('act-formula-error').textContent") == ""
    # the accuracy panel compares the entry with the formula as typed, which overflows at 1e4
    pg.wait("document.getElementById('act-acc-table').textContent.includes('as typed')")
    text = pg.js("document.getElementById('act-acc-table').textContent")
    assert "float64" in text and "log(1 + exp(x))" in text
    assert pg.js("document.getElementById('act-acc-title').textContent") == "The formula as typed vs actlab (float64)"
    assert pg.js("[...document.querySelectorAll('#act-acc-table td.bad')].length") >= 1  # inf where exact is finite
    pg.wait("document.getElementById('act-props').textContent.includes('the formula as typed')")
    assert "stable = softplus(x, beta=1)" in pg.js("document.getElementById('act-props').textContent")  # its docstring
    assert "log(1 + exp(x))" in pg.js("new URLSearchParams(location.hash.slice(1)).get('a')")
    pg.shot(tmp_path / "formula.png")
    link = pg.js("location.href")
    pg.close()
    again = Page(browser, link.split("#")[0], "#" + link.split("#")[1])
    again.wait("document.querySelectorAll('#act-chosen .chip').length === 2")
    again.wait("document.querySelector('#act-plot-f .legend').textContent.includes('log(1 + exp(x))')")
    again.close()


def test_a_typed_formula_trains_as_a_playground_layer(server, browser):
    pg = Page(browser, server, "#v=playground&ds=circle&seed=1&layers=4:tanh")
    pg.wait("window.lab.pg.frames >= 1")
    sel = "#pg-network select[data-layer='0']"
    pg.page.select_option(sel, label="type a formula…")
    box = "#pg-network .formula-box input"
    pg.page.fill(box, "x * sigmoud(x)")
    pg.page.press(box, "Enter")
    pg.wait("document.querySelector('#pg-network .formula-box small').textContent.includes('sigmoid')")
    assert pg.js(f"document.querySelector(\"{sel}\").value") == "tanh"  # a refused formula changes nothing
    pg.js("window.oldReady = window.lab.pg.ready")
    pg.page.fill(box, "x * tanh(softplus(x))")
    pg.page.press(box, "Enter")
    pg.wait("new URLSearchParams(location.hash.slice(1)).get('layers') === '4:x * tanh(softplus(x))'")
    pg.wait(f"document.querySelector(\"{sel}\") && document.querySelector(\"{sel}\").value === 'x * tanh(softplus(x))'")
    pg.wait("window.lab.pg.ready !== window.oldReady && window.lab.pg.frames >= 1")  # the new network's first frame
    log = steps(pg, 3)
    assert all(math.isfinite(row[1]) for row in log) and log[-1][1] != log[0][1]
    pg.close()
