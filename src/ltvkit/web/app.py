"""The local web dashboard: server-rendered pages over the JSON API of :mod:`ltvkit.web.api`.

``create_app(workspace)`` builds the app; ``ltv serve`` runs it with uvicorn. Everything it shows is served
by the app itself (the chart library included), so it works offline.

Safety: with an access ``token`` every request must carry it (``Authorization: Bearer …``, the ``ltv_token``
cookie, or ``?token=…`` once, which sets the cookie); ``ltv serve`` requires one whenever it binds beyond the
loopback. Errors answer as JSON ``{"error": kind, "message": …}``, never with a stack trace.
"""

from __future__ import annotations

import hmac
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, PackageLoader, select_autoescape

from ltvkit import __version__, i18n
from ltvkit.errors import InputError, LtvError, NotFittedError, WorkspaceError
from ltvkit.sources import Source
from ltvkit.web.api import router
from ltvkit.web.state import Hub

PAGES = ("overview", "cohorts", "channels", "value", "segments", "scenarios", "retainers", "data")
DEFAULT_MAX_UPLOAD_MB = 50
_UPLOAD_FOLDER = re.compile(r"\S*ltv-upload-[\w-]+[\\/]")
log = logging.getLogger("ltvkit.web")


def _error(status: int, kind: str, message: str) -> JSONResponse:
    return JSONResponse({"error": kind, "message": _UPLOAD_FOLDER.sub("", message)}, status_code=status)


def _status_of(exc: LtvError) -> int:
    if isinstance(exc, InputError):
        return 422
    if isinstance(exc, (WorkspaceError, NotFittedError)):
        return 409
    return 400


def create_app(
    workspace: str | Path,
    *,
    token: str | None = None,
    max_upload_mb: int = DEFAULT_MAX_UPLOAD_MB,
    source: Callable[[], Source] | None = None,
) -> FastAPI:
    """The dashboard and API on the workspace at ``workspace`` (created if missing), or, read-only, on the
    source that ``source()`` opens (on the first request)."""

    hub = Hub(Path(workspace), source)

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
    )
    app.state.hub = hub
    app.state.max_upload = max_upload_mb * (1 << 20)
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
        return _error(_status_of(exc), type(exc).__name__, str(exc))

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        return _error(exc.status_code, "http", str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        return _error(422, "validation", problems)

    @app.exception_handler(Exception)
    async def internal(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s", request.url.path)
        return _error(500, "internal", "internal error; the server log has the details")

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
    async def security_headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        return response

    def page(name: str, request: Request) -> Response:
        lang = request.query_params.get("lang") or request.cookies.get("ltv_lang") or "en"
        if lang not in i18n.LOCALES:
            lang = "en"
        html = templates.get_template(f"{name}.html.j2").render(
            page=name,
            pages=PAGES,
            lang=lang,
            t=dashboard_labels(lang),
            version=__version__,
        )
        response = HTMLResponse(html)
        if request.query_params.get("lang") == lang:
            response.set_cookie("ltv_lang", lang, samesite="strict")
        return response

    @app.get("/", include_in_schema=False)
    def home(request: Request) -> Response:
        return page("overview", request)

    for name in PAGES[1:]:
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


_LABELS: tuple[str, ...] = (
    "title",
    "customers",
    "orders",
    "net_revenue",
    "aov",
    "ltv",
    "purchases_per_customer",
    "repeat_rate",
    "breakdown_note",
    "retention_heatmap",
    "ltv_heatmap",
    "cohort",
    "age_months",
    "cac",
    "max_cac",
    "scenarios",
    "scenario",
    "formula_ltv",
    "model_ltv",
    "change",
    "model_note",
    "customer_share",
    "revenue_share",
    "no_data",
    "metric",
    "split",
    "none",
    "compute",
    "alive_histogram",
    "top_customers",
    "download",
    "upload",
    "imports",
    "rejected",
    "invoice",
    "working",
    *(f"nav_{p}" for p in PAGES),
)


def dashboard_labels(lang: str) -> dict[str, str]:
    """The page texts of ``lang``."""
    return {key: i18n.text(key, lang) for key in _LABELS}
