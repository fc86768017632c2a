"""The lab's web app (Starlette) and :func:`serve` (uvicorn), the ``actlab lab`` command.

Routes (all answers are JSON unless said otherwise):

* ``GET /`` the page; ``GET /static/NAME`` its files, from a table of the files shipped in
  ``actlab/lab/static`` made at start-up, plus ``vendor/plotly.min.js`` from the installed
  ``plotly`` package: a name not in the table is a 404, so no request can read any other
  file on the server (no path is ever joined from a request);
* ``GET /api/limits``, ``/api/catalogue``, ``/api/curve``, ``/api/properties``,
  ``/api/eval``, ``/api/accuracy``: the Activations view (:mod:`~actlab.lab.curves`);
* ``GET /api/check?spec=``: whether a spec (a typed formula, say) builds: ``{"ok": true,
  "spec", "hidden": null or why it cannot be a hidden layer}`` or ``{"ok": false,
  "error"}``, both with status 200 (a refused formula is an answer, not a failed request);
* ``POST /api/csv?task=classification`` (body: the CSV text, at most 1 MB): validates and
  keeps an uploaded data set (:mod:`~actlab.lab.inputs`); answers its name or the line at fault;
* ``GET /api/claims``, ``GET /api/claims/status``, ``POST /api/claims/run``: the Claims view;
* ``GET /report``: the claims report ``report/report.html`` if ``actlab report`` wrote one;
* ``WS /ws``: one training session (:mod:`~actlab.lab.sessions`), messages
  :mod:`~actlab.lab.protocol` in, frames :mod:`~actlab.lab.frames` out.

Safety: the server binds 127.0.0.1 unless told otherwise; every request must name an
allowed host (``Host`` header: the loopback names, so a DNS-rebinding page cannot talk
to it); a WebSocket whose ``Origin`` is not the page's own is refused before it opens (a
page on another site cannot drive a user's lab); every response carries a strict
Content-Security-Policy (scripts and connections to this origin only). Nothing the page
sends is evaluated.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import mimetypes
import os
import signal
import socket
import sys
import threading
import webbrowser
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from ..errors import ActlabError
from . import curves
from .claims_view import MODES, SIZES, ClaimsJob, claims_list
from .inputs import TASKS, CsvStore, parse_csv
from .protocol import (
    LIMITS,
    MAX_CSV_BYTES,
    MAX_MESSAGE_BYTES,
    SPEC_CHARS,
    ProtocolError,
    hidden_activation,
    parse_message,
)
from .sessions import Session, SessionLimit, default_max_sessions

__all__ = ["create_app", "serve", "LOOPBACK"]

STATIC = Path(__file__).parent / "static"
LOOPBACK = ("127.0.0.1", "localhost", "::1", "[::1]")
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
       "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
       "form-action 'none'")
HEADERS = [(b"content-security-policy", CSP.encode()), (b"x-content-type-options", b"nosniff"),
           (b"referrer-policy", b"no-referrer"), (b"x-frame-options", b"DENY")]


def _static_table() -> dict[str, tuple[Path, str]]:
    """name -> (file, media type) of every file the page may load: built once, looked up."""
    table: dict[str, tuple[Path, str]] = {}
    for p in sorted(STATIC.rglob("*")):
        if p.is_file() and not p.name.startswith("."):
            name = p.relative_to(STATIC).as_posix()
            kind = mimetypes.guess_type(p.name)[0] or "application/octet-stream"
            if p.suffix == ".js":
                kind = "text/javascript"
            table[name] = (p, kind)
    try:
        import plotly

        js = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
        if js.is_file():
            table["vendor/plotly.min.js"] = (js, "text/javascript")
    except ImportError:  # pragma: no cover - plotly is in the lab extra
        pass
    return table


class _SecurityHeaders:
    """Adds :data:`HEADERS` to every HTTP response (a plain ASGI wrapper)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: dict) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *HEADERS]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _error(message: str, status: int = 400, field: str = "") -> JSONResponse:
    return JSONResponse({"error": message, "field": field}, status_code=status)


class _Query(BaseModel):
    model_config = ConfigDict(extra="ignore", allow_inf_nan=False)
    spec: str = Field("relu", max_length=SPEC_CHARS)
    lo: float = Field(-5.0, ge=-curves.MAX_ABS_X, le=curves.MAX_ABS_X)
    hi: float = Field(5.0, ge=-curves.MAX_ABS_X, le=curves.MAX_ABS_X)
    n: int = Field(801, ge=2, le=curves.MAX_POINTS)
    x: float = Field(0.0, ge=-1e300, le=1e300)


class _ClaimsRun(BaseModel):
    model_config = ConfigDict(extra="forbid")
    size: str = Field("quick", pattern="^(" + "|".join(SIZES) + ")$")
    mode: str = Field("run", pattern="^(" + "|".join(MODES) + ")$")
    names: list[str] | None = Field(None, max_length=32)


def _query(request: Request) -> _Query:
    try:
        return _Query.model_validate(dict(request.query_params))
    except ValidationError as err:
        e = err.errors(include_url=False)[0]
        raise ProtocolError(".".join(map(str, e["loc"])), e["msg"]) from None


class Lab:
    """The app's state: session limit, uploaded data sets, the claims job, open sessions."""

    def __init__(self, max_sessions: int, allowed_hosts: list[str], report: Path | None,
                 claims_cache: str | os.PathLike | None) -> None:
        self.limit = SessionLimit(max_sessions)
        self.allowed_hosts = allowed_hosts
        self.csv = CsvStore()
        self.claims = ClaimsJob(claims_cache)
        self.report = report
        self.sessions: set[Session] = set()
        self.static = _static_table()
        self._heavy = asyncio.Semaphore(2)  # mpmath-backed requests: at most two at once

    # -- HTTP ---------------------------------------------------------------------------

    async def index(self, request: Request) -> Response:
        return FileResponse(STATIC / "index.html", media_type="text/html", headers={"cache-control": "no-cache"})

    async def static_file(self, request: Request) -> Response:
        entry = self.static.get(request.path_params["name"])
        if entry is None:
            return _error("Not found.", 404)
        path, kind = entry
        cache = "max-age=86400" if path.name == "plotly.min.js" else "no-cache"
        return FileResponse(path, media_type=kind, headers={"cache-control": cache})

    async def limits(self, request: Request) -> Response:
        return JSONResponse({**LIMITS, "max_sessions": self.limit.limit, "active_sessions": self.limit.active,
                             "cores": os.cpu_count(), "report": self._report_file() is not None})

    async def catalogue(self, request: Request) -> Response:
        return JSONResponse(await run_in_threadpool(curves.catalogue))

    async def _call(self, fn: Any, *args: Any, heavy: bool = False) -> Response:
        try:
            if heavy:
                async with self._heavy:
                    return JSONResponse(await run_in_threadpool(fn, *args))
            return JSONResponse(await run_in_threadpool(fn, *args))
        except ActlabError as err:
            return _error(str(err))

    async def curve(self, request: Request) -> Response:
        q = _query(request)
        return await self._call(curves.curve, q.spec, q.lo, q.hi, q.n)

    async def check(self, request: Request) -> Response:
        spec = _query(request).spec

        def answer() -> dict:
            try:
                canonical = curves.check(spec)
            except ActlabError as err:
                return {"ok": False, "error": str(err)}
            try:
                hidden_activation(canonical)
                hidden = None
            except ValueError as err:
                hidden = str(err)
            return {"ok": True, "spec": canonical, "hidden": hidden}

        return JSONResponse(await run_in_threadpool(answer))

    async def properties(self, request: Request) -> Response:
        return await self._call(curves.properties, _query(request).spec)

    async def evaluate(self, request: Request) -> Response:
        q = _query(request)
        return await self._call(curves.evaluate_at, q.spec, q.x)

    async def accuracy(self, request: Request) -> Response:
        q = _query(request)
        return await self._call(curves.accuracy, q.spec, q.lo, q.hi, min(q.n, 121), heavy=True)

    async def upload_csv(self, request: Request) -> Response:
        task = request.query_params.get("task", "classification")
        if task not in TASKS:
            return _error(f"The task is one of {', '.join(TASKS)}. Got {task[:40]!r} instead.", field="task")
        body = bytearray()
        async for chunk in request.stream():  # count while reading: a huge body is never held
            body += chunk
            if len(body) > MAX_CSV_BYTES:
                return _error(f"The file is larger than {MAX_CSV_BYTES // 1024} KB.", 413, "file")
        try:
            pts = await run_in_threadpool(parse_csv, bytes(body), task)
        except ActlabError as err:
            return _error(str(err), field="file")
        name = self.csv.add(pts)
        return JSONResponse({"name": name, "rows": int(len(pts.y)), "task": pts.task})

    async def claims_index(self, request: Request) -> Response:
        return JSONResponse({"claims": await run_in_threadpool(claims_list),
                             "report": self._report_file() is not None})

    async def claims_status(self, request: Request) -> Response:
        return JSONResponse(await run_in_threadpool(self.claims.status))

    async def claims_run(self, request: Request) -> Response:
        body = await request.body()
        if len(body) > 4096:
            return _error("The request is too long.", 413)
        try:
            req = _ClaimsRun.model_validate_json(body or b"{}")
        except ValidationError as err:
            e = err.errors(include_url=False)[0]
            return _error(e["msg"], field=".".join(map(str, e["loc"])))
        known = set(n["name"] for n in await run_in_threadpool(claims_list))
        bad = [n for n in req.names or [] if n not in known]
        if bad:
            return _error(f"Unknown claim {bad[0][:40]!r}.", field="names")
        started = await run_in_threadpool(self.claims.start, req.size, req.mode, req.names)
        if not started:
            return _error("A claims run is already going; wait for it to finish.", 409)
        return JSONResponse({"started": True})

    def _report_file(self) -> Path | None:
        if self.report is None:
            return None
        f = self.report / "report.html"
        return f if f.is_file() else None

    async def report_page(self, request: Request) -> Response:
        f = self._report_file()
        if f is None:
            return _error("No report yet: run 'actlab report' (or 'make report') in this folder.", 404)
        return FileResponse(f, media_type="text/html")

    # -- WebSocket ------------------------------------------------------------------------

    def origin_ok(self, ws: WebSocket) -> bool:
        """The page's own origin only. A browser always sends Origin on a WebSocket
        handshake, so a page of another site is refused; a client without one (a script,
        the load benchmark) is not a browser page and cannot be driven by one."""
        origin = ws.headers.get("origin")
        if origin is None:
            return True
        host = ws.headers.get("host", "")
        return origin in (f"http://{host}", f"https://{host}")

    async def websocket(self, ws: WebSocket) -> None:
        if not self.origin_ok(ws):
            await ws.close(code=1008)  # before accept: the handshake is refused (HTTP 403)
            return
        await ws.accept()
        session: Session | None = None
        send_lock = asyncio.Lock()

        async def deliver(kind: str, data: Any) -> None:
            async with send_lock:
                if kind == "text":
                    await ws.send_text(data)
                else:
                    await ws.send_bytes(data)

        async def reply(obj: dict) -> None:
            await deliver("text", json.dumps(obj))

        try:
            while True:
                msg = await ws.receive()
                if msg["type"] == "websocket.disconnect":
                    break
                text = msg.get("text")
                if text is None:
                    await reply(ProtocolError("", "messages are JSON text, not binary").to_dict())
                    continue
                if len(text) > MAX_MESSAGE_BYTES:
                    await reply({"type": "error", "field": "",
                                 "message": f"The message is longer than {MAX_MESSAGE_BYTES // 1024} KB."})
                    await ws.close(code=1009)
                    break
                try:
                    m = parse_message(text)
                except ProtocolError as err:
                    await reply(err.to_dict())
                    continue
                if m.type == "config":
                    cmd: dict[str, Any] = {"cmd": "config", "config": m.config.model_dump(mode="json")}
                    ds = getattr(m.config, "dataset", "")
                    if ds.startswith("csv:"):
                        pts = self.csv.get(ds)
                        if pts is None:
                            await reply({"type": "error", "field": "config.dataset",
                                         "message": f"The data set {ds} is not on this lab (uploaded elsewhere, or "
                                                    "long ago): upload the CSV file again."})
                            continue
                        cmd["points"] = {"X": pts.X.tolist(), "y": pts.y.tolist(), "task": pts.task,
                                         "name": pts.name}
                    if session is not None and session.dead:  # its worker died: start afresh
                        self.sessions.discard(session)
                        await session.close()
                        self.limit.release()
                        session = None
                    if session is None:
                        if not self.limit.acquire():
                            await reply({"type": "busy", "message": self.limit.busy_message()})
                            await ws.close(code=1013)
                            return
                        session = Session(deliver)
                        self.sessions.add(session)
                        try:
                            await session.start()
                        except BaseException:
                            self.sessions.discard(session)
                            self.limit.release()
                            session = None
                            raise
                    if not session.command(cmd):
                        await reply({"type": "error", "field": "", "message": "Too many commands at once; slow down."})
                elif session is None:
                    await reply({"type": "error", "field": "", "message": "Send a configuration first."})
                else:
                    cmd = {"cmd": m.type}
                    if m.type == "step":
                        cmd["count"] = m.count
                    if not session.command(cmd):
                        await reply({"type": "error", "field": "", "message": "Too many commands at once; slow down."})
        except WebSocketDisconnect:
            pass
        finally:
            if session is not None:
                self.sessions.discard(session)
                try:
                    await session.close()
                finally:
                    self.limit.release()

    async def shutdown(self) -> None:
        for s in list(self.sessions):
            with contextlib.suppress(Exception):
                await s.close()
        await run_in_threadpool(self.claims.stop)


def create_app(*, max_sessions: int | None = None, allowed_hosts: list[str] | None = None,
               report: str | os.PathLike | None = "report", claims_cache: str | os.PathLike | None = None) -> Any:
    """The lab as an ASGI app.

    ``max_sessions``: training sessions at once (default 2 per core). ``allowed_hosts``:
    host names requests may address (default: the loopback names; tests add
    "testserver"; ``["*"]`` allows any). ``report``: the folder of ``actlab report``'s
    output, served at ``/report`` when it holds ``report.html``. ``claims_cache``: the
    runner's cell cache (default ``$ACTLAB_CACHE`` or ``.actlab-cache/cells.sqlite``).
    """
    hosts = list(allowed_hosts) if allowed_hosts is not None else list(LOOPBACK)
    lab = Lab(max_sessions or default_max_sessions(), hosts, None if report is None else Path(report), claims_cache)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await lab.shutdown()

    routes = [
        Route("/", lab.index),
        Route("/static/{name:path}", lab.static_file),
        Route("/api/limits", lab.limits),
        Route("/api/catalogue", lab.catalogue),
        Route("/api/curve", lab.curve),
        Route("/api/check", lab.check),
        Route("/api/properties", lab.properties),
        Route("/api/eval", lab.evaluate),
        Route("/api/accuracy", lab.accuracy),
        Route("/api/csv", lab.upload_csv, methods=["POST"]),
        Route("/api/claims", lab.claims_index),
        Route("/api/claims/status", lab.claims_status),
        Route("/api/claims/run", lab.claims_run, methods=["POST"]),
        Route("/report", lab.report_page),
        WebSocketRoute("/ws", lab.websocket),
    ]
    app = Starlette(routes=routes, lifespan=lifespan, exception_handlers={ProtocolError: _protocol_error},
                    middleware=[Middleware(TrustedHostMiddleware, allowed_hosts=[h.strip("[]") for h in hosts]),
                                Middleware(_SecurityHeaders)])
    app.state.lab = lab
    return app


async def _protocol_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ProtocolError)
    return _error(exc.message, 400, exc.field)


def _bind(host: str, port: int) -> socket.socket:
    """A listening socket on (host, port); port 0 picks a free one."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def serve(host: str = "127.0.0.1", port: int = 0, *, open_browser: bool = True, max_sessions: int | None = None,
          report: str | os.PathLike | None = "report", ready: threading.Event | None = None,
          log_level: str = "warning", warn_host: bool = False) -> None:
    """Run the lab until Ctrl-C: bind ``host``:``port`` (0 = a free port), print the URL,
    open the browser (unless ``open_browser`` is False). ``ready`` is set once it serves.
    A ``host`` other than the loopback names, or any host given explicitly
    (``warn_host``, the CLI's ``--host``), gets a warning: the lab has no authentication."""
    import uvicorn

    sock = _bind(host, port)
    port = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{port}/"
    hosts = list(LOOPBACK)
    loopback = host in ("127.0.0.1", "localhost", "::1")
    if warn_host or not loopback:
        reach = "this machine only" if loopback else f"anyone who can reach this machine on port {port}"
        print(f"actlab lab: warning: --host {host} given: {reach} can use the lab, which has no authentication. "
              "The default, 127.0.0.1, is the safe choice.", file=sys.stderr)
    if not loopback:
        hosts = ["*"] if host in ("0.0.0.0", "::") else [*hosts, host]
    app = create_app(max_sessions=max_sessions, allowed_hosts=hosts, report=report)
    config = uvicorn.Config(app, log_level=log_level, ws_max_size=MAX_MESSAGE_BYTES, lifespan="on",
                            timeout_graceful_shutdown=3, ws="websockets-sansio" if _has_sansio() else "auto")
    server = uvicorn.Server(config)

    # Ctrl-C (or SIGTERM) at any moment, even before uvicorn installs its own handlers,
    # asks the server to finish: no KeyboardInterrupt can surface half-way through start-up
    def stop(signum: int, frame: Any) -> None:
        server.should_exit = True

    main_thread = threading.current_thread() is threading.main_thread()
    old = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)} if main_thread else {}

    async def main() -> None:
        task = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started and not task.done():
            await asyncio.sleep(0.02)
        if server.started and not server.should_exit:
            if ready is not None:
                ready.set()
            if open_browser:
                threading.Thread(target=webbrowser.open, args=(url,), daemon=True).start()
        await task

    try:
        print(f"actlab lab: {url}  (Ctrl-C stops it)", flush=True)
        if not server.should_exit:
            asyncio.run(main())
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)
        sock.close()


def _has_sansio() -> bool:
    """uvicorn's sans-I/O websockets protocol (no deprecated websockets.legacy import)."""
    try:
        import uvicorn.protocols.websockets.websockets_sansio_impl  # noqa: F401
    except ImportError:
        return False
    return True
