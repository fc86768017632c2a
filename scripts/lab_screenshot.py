"""The README's picture of the lab, made from the real page.

Usage: .venv/bin/python scripts/lab_screenshot.py [--out docs/lab.png] [--view playground] [--seconds 6]

Starts the lab (``actlab.lab.app.serve`` on a free port), opens it in Debian's headless
Chromium through Playwright, trains the view's run for a few seconds (the Playground:
the spiral with x1, x2, sin x1 and sin x2 into two tanh layers; MNIST: 784-64-10), pauses
and saves a PNG of the page. Nothing is drawn by hand: the picture is what a learner sees.
"""

from __future__ import annotations

import argparse
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HASHES = {
    "playground": "#v=playground&ds=spiral&noise=5&feat=x1,x2,sin_x1,sin_x2&layers=8:tanh;6:tanh&lr=0.03"
                  "&opt=adam&batch=10&seed=1",
    "activations": "#v=activations&a=relu;gelu;elu(alpha=1.0);sigmoid&d=f,df",
    "mnist": "#v=mnist&m_layers=64:relu",
    "claims": "#v=claims",
}
PLAY = {"playground": "#pg-play", "mnist": "#mn-play"}
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default="docs/lab.png")
    ap.add_argument("--view", default="playground", choices=sorted(HASHES))
    ap.add_argument("--seconds", type=float, default=6.0, help="training time before the picture")
    ap.add_argument("--width", type=int, default=1400)
    ap.add_argument("--height", type=int, default=1000)
    ap.add_argument("--chromium", default="/usr/bin/chromium")
    a = ap.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        code = "from actlab.lab.app import serve; serve(open_browser=False, report=None)"
        proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, cwd=tmp,
                                env={"ACTLAB_CACHE": str(Path(tmp) / "cells.sqlite"), "PATH": "/usr/bin:/bin",
                                     "PYTHONUNBUFFERED": "1", "OPENBLAS_NUM_THREADS": "1"})
        try:
            url = re.search(r"http://\S+", proc.stdout.readline()).group(0)
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=a.chromium, args=ARGS)
                page = browser.new_page(viewport={"width": a.width, "height": a.height})
                page.goto(url + HASHES[a.view])
                wait(page, "window.lab && window.lab.ready === true")
                if a.view in PLAY:
                    run = "pg" if a.view == "playground" else "mnist"
                    wait(page, f"window.lab.{run}.frames >= 1")
                    page.click(PLAY[a.view])
                    time.sleep(a.seconds)
                    page.click(PLAY[a.view])
                    wait(page, f"!window.lab.{run}.latest.meta.playing")
                time.sleep(1.0)  # the last charts' redraw
                Path(a.out).parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=a.out, full_page=False)
                browser.close()
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(15)
    print(f"wrote {a.out}")
    return 0


def wait(page, expr: str, timeout: float = 60.0) -> None:
    """Poll ``expr`` through the DevTools protocol (the page's CSP refuses eval-based waits)."""
    t = time.monotonic()
    while time.monotonic() - t < timeout:
        if page.evaluate(expr):
            return
        time.sleep(0.05)
    raise TimeoutError(expr)


if __name__ == "__main__":
    sys.exit(main())
