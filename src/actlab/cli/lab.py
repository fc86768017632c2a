"""``actlab lab``: the live activation lab in the browser (:mod:`actlab.lab`)."""

from __future__ import annotations

import argparse

from ._parser import positive_int


def add(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("lab", help="the live lab in the browser: activations, Playground, MNIST, claims")
    p.add_argument("--port", type=int, default=0, help="port to listen on (default: a free one)")
    p.add_argument("--host", default=None,
                   help="address to listen on (default 127.0.0.1; any other is reachable from elsewhere: "
                        "the lab has no authentication, and says so)")
    p.add_argument("--no-browser", action="store_true", help="print the URL, do not open a browser")
    p.add_argument("--max-sessions", type=positive_int, default=None,
                   help="training sessions at once (default: 2 per core); the next page is told the lab is busy")
    p.set_defaults(func=_lab)


def _lab(a: argparse.Namespace) -> int:
    try:
        from ..lab.app import serve
    except ImportError as err:  # starlette, uvicorn, pydantic or plotly missing
        print(f"actlab lab: error: {err.name or err} is not installed; install the lab extra: "
              "pip install -e '.[lab]'")
        return 2
    if not 0 <= a.port <= 65535:
        print(f"actlab lab: error: --port must be in [0, 65535]. Got {a.port} instead.")
        return 2
    serve(host=a.host or "127.0.0.1", port=a.port, open_browser=not a.no_browser, max_sessions=a.max_sessions,
          warn_host=a.host is not None)
    return 0
