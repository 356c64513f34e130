"""The local web dashboard: server-rendered pages over the JSON API of :mod:`ltvkit.web.api`.

``create_app(workspace)`` builds the app; ``ltv serve`` runs it with uvicorn. Everything it shows is served
by the app itself (the chart library included), so it works offline.

Safety: with an access ``token`` every request must carry it (``Authorization: Bearer …``, the ``ltv_token``
cookie, or ``?token=…`` once, which sets the cookie); ``ltv serve`` requires one whenever it binds beyond the
loopback. A request whose ``Host`` is not one of ``allowed_hosts`` is refused (DNS rebinding), and so is a
state-changing request (any method but GET, HEAD, OPTIONS) whose ``Origin``, or without one its ``Referer``,
is another site (cross-site writes); both with 403 before the body is read. Every response carries a strict
Content-Security-Policy and no CORS header. Errors answer as JSON ``{"error": kind, "message": …}``, never
with a stack trace.
"""

from __future__ import annotations

import errno
import hmac
import ipaddress
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from urllib.parse import urlsplit

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.exceptions import HTTPException
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ltvkit import __version__, columns, formatting, i18n
from ltvkit.data.sources import Source
from ltvkit.errors import InputError, LtvError, MissingDataError, NotFittedError, WorkspaceError
from ltvkit.io.presets import PRESETS
from ltvkit.web.api import router
from ltvkit.web.state import Hub, os_problem, problem_of, public_message

PAGES = ("overview", "actions", "cohorts", "channels", "value", "segments", "scenarios", "retainers", "data")
DEFAULT_MAX_UPLOAD_MB = 50
log = logging.getLogger("ltvkit.web")

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")
ANY_HOST = "*"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}
_AUTHORITY = re.compile(r"(?P<host>\[[0-9a-f:.]+\]|[a-z0-9._-]+)(?::(?P<port>[0-9]{1,5}))?", re.IGNORECASE)
_DEFAULT_PORTS = {"http": 80, "https": 443}

Origin = tuple[str, str, int]


def _error(status: int, kind: str, message: str) -> JSONResponse:
    return JSONResponse({"error": kind, "message": public_message(message)}, status_code=status)


def _status_of(exc: LtvError) -> int:
    if isinstance(exc, InputError):
        return 422
    if isinstance(exc, MissingDataError):
        return 404
    if isinstance(exc, (WorkspaceError, NotFittedError)):
        return 409
    return 400


def _methods_of(app: FastAPI, path: str) -> list[str]:
    """Every method some route of ``app`` answers on ``path``."""
    return sorted(
        {
            method
            for route in app.routes
            if isinstance(route, Route) and route.path_regex.match(path)
            for method in route.methods or ()
        }
    )


def bound_hosts(host: str, port: int) -> list[str]:
    """The ``Host`` names a server bound to ``host:port`` answers to: any name for a wildcard bind (0.0.0.0,
    ::; its access token protects it), else ``host`` itself, and for a loopback bind the loopback names."""
    if host in ("0.0.0.0", "::", "[::]", ""):
        return [ANY_HOST]
    bare = host.strip("[]").lower()
    try:
        loopback = ipaddress.ip_address(bare).is_loopback
    except ValueError:
        loopback = bare == "localhost"
    name = f"[{bare}]" if ":" in bare else bare
    names = (name, *LOOPBACK_HOSTS) if loopback else (name,)
    return [f"{n}:{port}" for n in dict.fromkeys(names)]


def _split_authority(text: str) -> tuple[str, int | None] | None:
    """``host[:port]`` as (lowercased host, IPv6 in brackets; port or None), or None when it is not a plain
    authority (user info, a path, an impossible port)."""
    match = _AUTHORITY.fullmatch(text.strip())
    if match is None:
        return None
    port = int(match["port"]) if match["port"] else None
    if port is not None and not 0 < port < 65536:
        return None
    return match["host"].lower(), port


def _authority(text: str, scheme: str = "http") -> tuple[str, int] | None:
    """``host[:port]`` as (host, port), the port the scheme's default when none is given."""
    found = _split_authority(text)
    if found is None:
        return None
    port = found[1] if found[1] is not None else _DEFAULT_PORTS.get(scheme)
    return None if port is None else (found[0], port)


def _host_allowed(host: str | None, allowed: list[str]) -> bool:
    """Whether the request's ``Host`` header is one of ``allowed`` (``name`` for any port, ``name:port``,
    or ``*`` for any host at all)."""
    if ANY_HOST in allowed:
        return True
    given = _authority(host or "")
    if given is None:
        return False
    for entry in allowed:
        want = _split_authority(entry)
        if want is not None and want[0] == given[0] and want[1] in (None, given[1]):
            return True
    return False


def _own_origin(request: Request) -> Origin | None:
    """The server's origin as the request addressed it: its scheme and its ``Host`` header."""
    scheme = request.url.scheme
    found = _authority(request.headers.get("host", ""), scheme)
    return None if found is None else (scheme, *found)


def _origin_of(url: str) -> Origin | None:
    """The origin (scheme, host, port) of an ``Origin`` or ``Referer`` value; None for ``null``, an opaque or
    a malformed one."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    if parts.scheme not in _DEFAULT_PORTS or "@" in parts.netloc:
        return None
    found = _authority(parts.netloc, parts.scheme)
    return None if found is None else (parts.scheme, *found)


def cross_site_problem(request: Request) -> str | None:
    """Why a state-changing request is refused as cross-site, or None when it may go on.

    It must come from the server's own origin: its ``Origin`` header, or, when a browser sent none, its
    ``Referer``. A request with neither (curl, httpx, the CLI) is not a browser's cross-site request: browsers
    send ``Origin`` with every cross-origin POST (``null`` from sandboxed frames and files, refused too)."""
    if request.method in SAFE_METHODS:
        return None
    origins = request.headers.getlist("origin")
    referers = request.headers.getlist("referer")
    if len(origins) > 1 or len(referers) > 1:
        return "refused: the request has more than one Origin or Referer header"
    if origins:
        claimed, header = origins[0], "Origin"
    elif referers:
        claimed, header = referers[0], "Referer"
    elif request.headers.get("sec-fetch-site", "none") in ("same-origin", "none"):
        return None
    else:
        return "refused: a browser sent this request from another site"
    origin = _origin_of(claimed)
    if origin is None or origin != _own_origin(request):
        return f"refused: a {request.method} from another site ({header} is not this server's origin)"
    return None


def _secure(response: Response) -> Response:
    """``response`` with the security headers."""
    response.headers.setdefault("Content-Security-Policy", CSP)
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


UPLOAD_OVERHEAD = 1 << 20  # multipart boundaries and headers around the file itself


class BodyLimit:
    """ASGI middleware that refuses a request body larger than ``limit`` bytes while it streams in: at once
    when ``Content-Length`` says so, else as soon as the bytes received pass it (a chunked body). The 413
    is sent before the rest is read, so an oversize upload is never stored whole; what the application
    tries to send after that is dropped, and it sees the client as gone."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.limit:
            await self._refuse(scope, receive, send)
            return
        received = 0
        refused = False

        async def counted() -> Message:
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    refused = True
                    await self._refuse(scope, receive, send)
                    return {"type": "http.disconnect"}
            return message

        async def guarded(message: Message) -> None:
            if not refused:
                await send(message)

        await self.app(scope, counted, guarded)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        megabytes = (self.limit - UPLOAD_OVERHEAD) / (1 << 20)
        response = _error(
            413,
            "too_large",
            f"the upload is larger than the {megabytes:g} MB limit (ltv serve --max-upload-mb)",
        )
        await _secure(response)(scope, receive, send)


def create_app(
    workspace: str | Path,
    *,
    token: str | None = None,
    max_upload_mb: int = DEFAULT_MAX_UPLOAD_MB,
    source: Callable[[], Source] | None = None,
    allowed_hosts: Iterable[str] = LOOPBACK_HOSTS,
) -> FastAPI:
    """The dashboard and API on the workspace at ``workspace`` (created if missing), or, read-only, on the
    source that ``source()`` opens (on the first request).

    ``allowed_hosts`` are the ``Host`` names it answers to, as ``name`` (any port), ``name:port`` or ``*``
    (any host: for a server bound to every interface, which its token protects); by default the loopback
    names. Any other ``Host`` is refused, so that a site whose name is made to point at this machine (DNS
    rebinding) cannot read it."""

    hub = Hub(Path(workspace), source)
    hosts = list(allowed_hosts)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            hub.close()

    app = FastAPI(
        title="ltvkit",
        version=__version__,
        lifespan=lifespan,
        description="Customer lifetime value analytics: the JSON API behind the dashboard.",
        docs_url=None,  # /docs is the app's own page (below): Swagger UI and ReDoc load from a CDN
        redoc_url=None,
    )
    app.state.hub = hub
    app.state.max_upload = max_upload_mb * (1 << 20)
    app.add_middleware(BodyLimit, limit=app.state.max_upload + UPLOAD_OVERHEAD)  # innermost: secured below
    app.include_router(router)
    app.mount(
        "/static/report",
        StaticFiles(directory=str(resources.files("ltvkit.report") / "static")),
        name="report-static",
    )
    app.mount("/static", StaticFiles(directory=str(resources.files("ltvkit.web") / "static")), name="static")
    templates = Environment(
        loader=PackageLoader("ltvkit.web", "templates"), autoescape=select_autoescape(["html", "j2"])
    )

    @app.exception_handler(LtvError)
    async def ltv_error(request: Request, exc: LtvError) -> JSONResponse:
        return JSONResponse(problem_of(exc), status_code=_status_of(exc))

    @app.exception_handler(OSError)
    async def os_error(request: Request, exc: OSError) -> JSONResponse:
        log.warning("%s on %s", exc, request.url.path)
        return JSONResponse(os_problem(exc), status_code=507 if exc.errno == errno.ENOSPC else 500)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        response = _error(exc.status_code, "http", str(exc.detail))
        response.headers.update(exc.headers or {})
        if exc.status_code == 405:  # Starlette names the methods of one route; a path may have several
            response.headers["Allow"] = ", ".join(_methods_of(app, request.url.path))
        return response

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        return _error(422, "validation", problems)

    @app.exception_handler(Exception)
    async def internal(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s", request.url.path)
        # answered outside the middleware below, so it adds the security headers itself
        return _secure(_error(500, "internal", "internal error; the server log has the details"))

    if token:

        @app.middleware("http")
        async def require_token(
            request: Request, call_next: Callable[[Request], Awaitable[Response]]
        ) -> Response:
            given = (
                request.headers.get("authorization", "").removeprefix("Bearer ").strip()
                or request.cookies.get("ltv_token")
                or request.query_params.get("token")
                or ""
            )
            if not hmac.compare_digest(given.encode(), token.encode()):
                return _error(
                    401, "unauthorized", "this server needs its access token (printed by ltv serve)"
                )
            response = await call_next(request)
            if request.query_params.get("token"):
                response.set_cookie("ltv_token", token, httponly=True, samesite="strict")
            return response

    @app.middleware("http")
    async def refuse_foreign(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        """Refuse, before the token check and before the body is read, a request to a ``Host`` this server
        is not (DNS rebinding) and a state-changing request from another site (cross-site writes)."""
        given = request.headers.getlist("host")
        if len(given) > 1 or not _host_allowed(given[0] if given else None, hosts):
            return _error(403, "forbidden", "refused: this server does not answer to that Host name")
        problem = cross_site_problem(request)
        if problem is not None:
            return _error(403, "forbidden", problem)
        return await call_next(request)

    @app.middleware("http")
    async def security_headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        return _secure(await call_next(request))

    def page(name: str, request: Request) -> Response:
        lang = request.query_params.get("lang") or request.cookies.get("ltv_lang") or "en"
        if lang not in i18n.LOCALES:
            lang = "en"
        labels = dashboard_labels(lang)
        html = templates.get_template(f"{name}.html.j2").render(
            page=name,
            pages=PAGES,
            lang=lang,
            t=labels,
            heading=labels["docs_title" if name == "docs" else f"nav_{name}"],
            fmt=formatting.rules(lang),
            reasons=i18n.REASONS,
            columns=columns.rules(),
            presets=list(PRESETS),
            version=__version__,
        )
        response = HTMLResponse(html)
        if request.query_params.get("lang") == lang:
            response.set_cookie("ltv_lang", lang, samesite="strict")
        return response

    @app.get("/", include_in_schema=False)
    def home(request: Request) -> Response:
        return page("overview", request)

    for name in (*PAGES[1:], "docs"):
        app.add_api_route(f"/{name}", _page_route(page, name), include_in_schema=False, methods=["GET"])

    @app.get("/overview", include_in_schema=False)
    def overview_redirect() -> Response:
        return RedirectResponse("/")

    return app


def _page_route(render: Callable[[str, Request], Response], name: str) -> Callable[[Request], Response]:
    def route(request: Request) -> Response:
        return render(name, request)

    route.__name__ = f"page_{name}"
    return route


def dashboard_labels(lang: str) -> dict[str, str]:
    """Every text of ``lang``, placeholders unfilled (``{value}``): the pages fill them in."""
    return {key: texts[lang] for key, texts in i18n.TEXT.items()}
