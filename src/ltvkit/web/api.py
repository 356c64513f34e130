"""The JSON API: everything the CLI does, over HTTP, as thin calls into the core."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import tempfile
import zlib
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from fastapi import APIRouter, File, Form, HTTPException, Query, Request, UploadFile
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from ltvkit import __version__, i18n
from ltvkit.choices import METRICS, SCHEMES, SPLITS
from ltvkit.data.workspace import Workspace
from ltvkit.errors import FileFormatError, MappingError, MissingDataError, collect_notes
from ltvkit.io.normalize import ImportOptions
from ltvkit.io.writers import csv_bytes
from ltvkit.serialize import jsonable, records
from ltvkit.service import descriptive
from ltvkit.service import whatif as what_if
from ltvkit.service.actions import Assumptions
from ltvkit.service.actions import actions as plan_actions
from ltvkit.service.comparison import compare
from ltvkit.service.contacts import segment_contacts_bytes
from ltvkit.service.retainer import client_book, invoice_plan
from ltvkit.service.segments import segments as segments_of
from ltvkit.service.summary import headline_ltv
from ltvkit.service.summary import summary as summarise
from ltvkit.service.valuation import (
    MODELS,
    PURCHASE_MODELS,
    fit_model,
    predict_customers,
)
from ltvkit.service.whatif import Scenario, TripwireScenario
from ltvkit.service.workbook import workbook_bytes
from ltvkit.web.state import Hub, Job

UPLOAD_SUFFIXES = {".csv", ".tsv", ".txt", ".xlsx", ".parquet", ".jsonl", ".ndjson", ".json"}
CHUNK = 1 << 20
GZIP_MAGIC = b"\x1f\x8b"


class ApiError(BaseModel):
    """Every error the API answers: a kind (``validation``, ``http``, ``internal`` or the ltvkit error's class
    name) and one sentence for a person."""

    error: str
    message: str
    messages: dict[str, str] | None = Field(
        None, description="The message in en, ru and uk, for errors that carry their own texts"
    )
    columns: list[str] | None = Field(None, description="The file's columns, when a needed one is missing")
    found: dict[str, str] | None = Field(None, description="Fields mapped to a column (field → column)")
    missing: list[list[str]] | None = Field(
        None, description="Groups of fields still without a column; one field of each group is needed"
    )


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    meaning = {
        400: "An option the data cannot answer with",
        401: "The server's access token is missing or wrong",
        403: "A cross-site request or a foreign Host",
        404: "Not in the data (a currency, a product, a segment, a job)",
        405: "Method not allowed",
        409: "The workspace has no orders yet, or is busy",
        413: "The upload is larger than the limit",
        415: "A file type that is not read",
        422: "The request or the uploaded file is not valid",
        500: "An unexpected error (the server log has the details)",
        507: "No space left on the server's disk; nothing was written",
    }
    return {code: {"model": ApiError, "description": meaning[code]} for code in codes}


router = APIRouter(prefix="/api", responses=_errors(400, 401, 403, 404, 405, 409, 413, 415, 422, 500, 507))

Currency = Annotated[
    str | None,
    Query(max_length=3, pattern="^[A-Za-z]{3}$", description="ISO code, when the orders have several."),
]
Margin = Annotated[float | None, Query(gt=0, le=1, description="Share of revenue kept, e.g. 0.3.")]
RegularizationChoice = Literal["auto", "none", "map"]  # service.valuation.REGULARIZATIONS
REGULARIZATION_HELP = (
    "How the models are fitted: auto (weakly informative priors when the data are thin), none (the data "
    "alone, maximum likelihood) or map (always with the priors); the answer's regularization says which "
    "was used and why."
)
Regularization = Annotated[RegularizationChoice, Query(description=REGULARIZATION_HELP)]


def hub_of(request: Request) -> Hub:
    return request.app.state.hub


def _require_orders(ws: Workspace) -> None:
    if not ws.count("orders"):
        raise HTTPException(
            409, "the workspace has no orders yet; upload an orders file first (POST /api/imports)"
        )


def _read(source: Request | Hub, key: tuple, compute: Any) -> Any:
    """A cached read of the orders (409 while there are none)."""

    def guarded(ws: Workspace) -> Any:
        _require_orders(ws)
        return compute(ws)

    return (source if isinstance(source, Hub) else hub_of(source)).cached(key, guarded)


def _notes_in(found: dict[str, Any], lang: str) -> dict[str, Any]:
    """``found`` with its notes in ``lang`` (those that know their translations; the others in English)."""
    return {**found, "notes": [i18n.localized(note, lang) for note in found.get("notes", [])]}


@router.get("/health", summary="Server and workspace status")
def health(request: Request) -> dict[str, Any]:
    hub = hub_of(request)
    with hub.reader() as ws:
        return {
            "status": "ok",
            "version": __version__,
            "data_version": ws.data_version(),
            "read_only": hub.read_only,
        }


# --- data ------------------------------------------------------------------------------------------------


def safe_name(name: str | None) -> str:
    """The upload's file name reduced to a plain name (no folders, no hidden files, nothing but letters,
    digits, ``.``, ``-``, ``_`` and spaces); it is only shown, never used to find a file."""
    base = re.split(r"[\\/]", name or "")[-1]
    cleaned = re.sub(r"[^\w.\- ]", "_", base).strip(" .")[:120]
    return cleaned or "upload"


async def _save_upload(upload: UploadFile, folder: Path, limit: int) -> Path:
    name = safe_name(upload.filename)
    suffix = Path(name).suffix.lower()
    if suffix not in UPLOAD_SUFFIXES:
        raise HTTPException(
            415,
            f"{name}: unsupported file type {suffix or '(none)'}; "
            f"upload {', '.join(sorted(UPLOAD_SUFFIXES))}",
        )
    path = folder / name
    size = 0
    with path.open("wb") as out:
        while chunk := await upload.read(CHUNK):
            size += len(chunk)
            if size > limit:
                raise HTTPException(
                    413,
                    f"{name} is larger than the {limit // CHUNK} MB upload limit (ltv serve --max-upload-mb)",
                )
            out.write(chunk)
    if size == 0:
        raise HTTPException(400, f"{name} is empty")
    await run_in_threadpool(_check_gzip, path, name, limit)  # inflating takes a moment: not on the loop
    return path


def _check_gzip(path: Path, name: str, limit: int) -> None:
    """A gzip file (the readers unpack one whatever its name) must unpack to at most ``limit`` bytes (413),
    hold no gzip file again (415) and be undamaged (422): a small upload must not unpack to fill memory."""
    with path.open("rb") as packed:
        if packed.read(2) != GZIP_MAGIC:
            return
        packed.seek(0)
        unpack, size, head = zlib.decompressobj(wbits=31), 0, b""
        try:
            while data := packed.read(CHUNK):
                while data:
                    out = unpack.decompress(data, CHUNK)
                    head, size = (head + out)[:2], size + len(out)
                    if size > limit:
                        raise HTTPException(
                            413, f"{name} unpacks to more than the {limit // CHUNK} MB upload limit"
                        )
                    if unpack.eof:  # a gzip file may hold several members one after the other
                        data, unpack = unpack.unused_data, zlib.decompressobj(wbits=31)
                    else:
                        data = unpack.unconsumed_tail
        except zlib.error as exc:
            raise FileFormatError(f"is a damaged gzip file ({exc})", file=name) from exc
    if head == GZIP_MAGIC:
        raise HTTPException(415, f"{name}: a gzip file inside a gzip file is not read; upload the inner one")


def _column_mapping(text: str, kind: str) -> dict[str, Any]:
    """The mapping form's ``{"field": "column"}`` as a mapping's content (whose fields
    :func:`ltvkit.io.presets.load_mapping` checks)."""
    try:
        columns = json.loads(text)
    except json.JSONDecodeError as exc:
        raise MappingError(f"the column mapping is not JSON ({exc.msg})") from exc
    if not isinstance(columns, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in columns.items()
    ):
        raise MappingError('the column mapping must be an object of texts: {"field": "column", …}')
    chosen = {field: column for field, column in columns.items() if column}
    return {"name": "mapping", "kind": "spend" if kind == "spend" else "orders", "columns": chosen}


def _import(hub: Hub, path: Path, options: ImportOptions, job: Job | None) -> dict[str, Any]:
    try:
        account = hub.import_file(path, options, progress=job.progress if job else None)
    except RecursionError as exc:  # JSON nested deeper than Python reads: content, not a server fault
        raise FileFormatError(
            "is nested too deeply to read as a table", file=path.name, hint="upload flat JSON lines or CSV"
        ) from exc
    finally:
        shutil.rmtree(path.parent, ignore_errors=True)
    result = account.to_dict()
    result["file"] = path.name
    return jsonable(result)


WAITED: dict[int | str, dict[str, Any]] = {
    200: {"description": "With wait=true: the finished result instead of a job"}
}


@router.post(
    "/imports",
    summary="Upload and import an orders or spend file",
    status_code=202,
    responses=WAITED,
)
async def import_upload(
    request: Request,
    file: Annotated[UploadFile, File(description="CSV, TSV, XLSX, Parquet or JSON lines")],
    kind: Annotated[Literal["auto", "orders", "spend"], Form()] = "auto",
    preset: Annotated[str | None, Form(max_length=40)] = None,
    decimal: Annotated[Literal[".", ","] | None, Form()] = None,
    date_format: Annotated[str | None, Form(max_length=40)] = None,
    currency: Annotated[str | None, Form(pattern="^[A-Za-z]{3}$")] = None,
    sheet: Annotated[
        str | None, Form(max_length=100, description="The worksheet of a workbook to read")
    ] = None,
    exclude_tax_shipping: Annotated[
        bool, Form(description="Take an order's tax and shipping out of its revenue (Shopify)")
    ] = False,
    columns: Annotated[
        str | None,
        Form(
            max_length=8000,
            description='Which column holds which field, as JSON: {"customer_id": "Покупатель", …} '
            "(the fields of a mapping file's [columns]; the dashboard's mapping form sends it)",
        ),
    ] = None,
    wait: Annotated[
        bool, Query(description="Answer with the account when the import ends, not a job.")
    ] = False,
) -> Any:
    hub = hub_of(request)
    folder = Path(tempfile.mkdtemp(prefix="ltv-upload-"))
    try:
        path = await _save_upload(file, folder, request.app.state.max_upload)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    options = ImportOptions(
        kind=None if kind == "auto" else kind,
        preset=preset or None,
        decimal=decimal,
        date_format=date_format or None,
        currency=currency,
        sheet=sheet or None,
        exclude_tax_shipping=exclude_tax_shipping,
        mapping=_column_mapping(columns, kind) if columns else None,
    )
    if wait:
        return JSONResponse(await run_in_threadpool(_import, hub, path, options, None), status_code=200)
    job = hub.submit("import", lambda j: _import(hub, path, options, j))
    return JSONResponse(job.to_dict(), status_code=202)


@router.get("/jobs/{job_id}", summary="Progress and result of a background job")
def job_status(request: Request, job_id: str) -> dict[str, Any]:
    job = hub_of(request).job(job_id)
    if job is None:
        raise HTTPException(404, f"no job {job_id}")
    return job.to_dict()


@router.get("/imports", summary="The ledger of every import")
def imports(request: Request) -> list[dict[str, Any]]:
    def compute(ws: Workspace) -> list[dict[str, Any]]:
        return records(ws.imports().drop(columns=["file_path"]))  # where the server keeps files is not shown

    return hub_of(request).cached(("imports",), compute)  # type: ignore[no-any-return]


@router.get("/rejected", summary="Rejected rows with file, row, column and reason")
def rejected(
    request: Request,
    import_id: Annotated[int | None, Query(ge=0)] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> list[dict[str, Any]]:
    with hub_of(request).reader() as ws:
        return records(ws.rejected(import_id).head(limit))


# --- analytics -------------------------------------------------------------------------------------------


@router.get("/summary", summary="Customers, revenue and LTV = AOV × frequency × lifetime per currency")
def summary(
    request: Request, margin: Margin = None, inactive_days: Annotated[int, Query(ge=1, le=3650)] = 180
) -> dict[str, Any]:
    def compute(ws: Workspace) -> dict[str, Any]:
        return jsonable(summarise(ws, margin=margin, inactive_after_days=inactive_days).to_dict())

    return _read(request, ("summary", margin, inactive_days), compute)


Lang = Annotated[Literal["en", "ru", "uk"], Query(description="The language of the texts in the answer.")]


@router.get(
    "/ltv/headline",
    summary="The LTV to use for CAC: the models' 12-month LTV or the formula's, with interval and grade",
)
def headline(request: Request, margin: Margin = None, currency: Currency = None, lang: Lang = "en") -> Any:
    def compute(ws: Workspace) -> dict[str, Any]:
        return jsonable(headline_ltv(ws, margin=margin, currency=currency).to_dict(lang))

    return _read(request, ("headline", margin, currency, lang), compute)


@router.get("/cohorts", summary="Cohort × age matrix of a metric")
def cohorts(
    request: Request,
    period: Literal["month", "week"] = "month",
    metric: Annotated[str, Query(pattern="^(" + "|".join(METRICS) + ")$")] = "retention",
    split: Annotated[str | None, Query(pattern="^(" + "|".join(SPLITS) + ")$")] = None,
    value: Annotated[str | None, Query(max_length=200, description="The split's value to show.")] = None,
    currency: Currency = None,
) -> dict[str, Any]:
    def compute(ws: Workspace) -> dict[str, Any]:
        found = descriptive.cohorts(ws, period=period, metric=metric, split=split, currency=currency)
        values = found.split_values
        chosen = value if value is not None else (values[0] if values else None)
        matrix = found.matrix(chosen)
        return jsonable(
            {
                "currency": found.currency,
                "other_currencies": found.other_currencies,
                "period": period,
                "metric": metric,
                "split": split,
                "value": chosen,
                "split_values": values,
                "cohorts": [c.date().isoformat() for c in matrix.index],
                "ages": [int(a) for a in matrix.columns],
                "values": matrix.to_numpy().tolist(),
                "sizes": found.sizes().reindex(matrix.index).tolist() if split is None else None,
            }
        )

    return _read(request, ("cohorts", period, metric, split, value, currency), compute)


@router.get(
    "/cohorts/compare",
    summary="Two cohorts or two groups at equal ages: retention and LTV, differences with 90% intervals",
)
def cohorts_compare(
    request: Request,
    a: Annotated[str | None, Query(max_length=200, description="First cohort (YYYY-MM) or group.")] = None,
    b: Annotated[str | None, Query(max_length=200, description="Second cohort (YYYY-MM) or group.")] = None,
    by: Annotated[
        str | None,
        Query(pattern="^(" + "|".join(SPLITS) + ")$", description="Compare two groups of this split."),
    ] = None,
    currency: Currency = None,
    lang: Lang = "en",
) -> Any:
    """Without ``a`` and ``b``, the default pair: the two largest recent cohorts old enough to compare (or,
    with ``by``, its two largest groups); 404 when the data has no two groups."""

    def compute(ws: Workspace) -> dict[str, Any]:
        found = compare(ws, a, b, split=by, currency=currency)
        if found is None:
            raise MissingDataError("there are no two groups of customers to compare yet")
        return found.to_dict(lang)

    return _read(request, ("compare", a, b, by, currency, lang), compute)


@router.get("/channels", summary="LTV, retention, repeat rate and AOV by channel or first product")
def channels(
    request: Request,
    by: Annotated[str, Query(pattern="^(" + "|".join(SPLITS) + ")$")] = "channel",
    margin: Margin = None,
    currency: Currency = None,
) -> list[dict[str, Any]]:
    return _read(
        request,
        ("channels", by, margin, currency),
        lambda ws: records(descriptive.channels(ws, by=by, currency=currency, margin=margin).table),
    )


@router.get(
    "/channels/predicted",
    summary="Predicted LTV per group with its 90% interval, the CAC it bears and (by channel) the CAC paid",
)
def predicted_channels(
    request: Request,
    by: Annotated[str, Query(pattern="^(cohort|" + "|".join(SPLITS) + ")$")] = "channel",
    horizon: Annotated[int, Query(ge=1, le=60)] = 12,
    target: Annotated[float, Query(ge=0.5, le=100)] = 3.0,
    margin: Margin = None,
    currency: Currency = None,
    regularization: Regularization = "auto",
    lang: Lang = "en",
) -> dict[str, Any]:
    def compute(ws: Workspace) -> dict[str, Any]:
        found = descriptive.predicted_ltv(
            ws,
            by=by,
            horizon_months=horizon,
            margin=1.0 if margin is None else margin,
            target=target,
            currency=currency,
            regularization=regularization,
        )
        return jsonable(
            {
                "currency": found.currency,
                "by": by,
                "horizon_months": horizon,
                "rows": records(found.table),
                "notes": found.notes,
            }
        )

    found = _read(request, ("predicted", by, horizon, target, margin, currency, regularization), compute)
    return _notes_in(found, lang)


@router.get("/cac", summary="CAC, LTV:CAC, payback and the maximum CAC by channel")
def cac(
    request: Request,
    horizon: Annotated[int, Query(ge=1, le=120)] = 12,
    target: Annotated[float, Query(gt=0, le=100)] = 3.0,
    margin: Margin = None,
    monthly: bool = False,
    currency: Currency = None,
) -> list[dict[str, Any]]:
    def compute(ws: Workspace) -> list[dict[str, Any]]:
        found = descriptive.cac(ws, horizon=horizon, target=target, margin=margin, currency=currency)
        return records(found.by_month if monthly else found.by_channel)

    return _read(request, ("cac", horizon, target, margin, monthly, currency), compute)


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.get(
    "/workbook",
    summary="A workbook for Excel and Google Sheets: LTV calculator with live formulas, cohorts, channels",
    response_class=Response,
    responses={200: {"content": {XLSX: {"schema": {"type": "string", "format": "binary"}}}}},
)
def workbook(
    request: Request,
    lang: Literal["en", "ru", "uk"] = "en",
    horizon: Annotated[int, Query(ge=1, le=120)] = 12,
    target: Annotated[float, Query(gt=0, le=100)] = 3.0,
    margin: Margin = None,
    currency: Currency = None,
) -> Response:
    def compute(ws: Workspace) -> bytes:
        return workbook_bytes(ws, lang=lang, currency=currency, margin=margin, target=target, horizon=horizon)

    content = _read(request, ("workbook", lang, horizon, target, margin, currency), compute)
    return Response(
        content,
        media_type=XLSX,
        headers={"Content-Disposition": f'attachment; filename="ltv-{lang}.xlsx"'},
    )


@router.get("/pareto", summary="Revenue share of the top customers and the Gini coefficient")
def pareto(request: Request, currency: Currency = None) -> dict[str, Any]:
    def compute(ws: Workspace) -> dict[str, Any]:
        found = descriptive.pareto(ws, currency=currency)
        return jsonable(
            {
                "currency": found.currency,
                "table": records(found.table),
                "gini": found.gini,
                "lorenz": records(found.curve),
            }
        )

    return _read(request, ("pareto", currency), compute)


_ASSUMED = Assumptions()  # the assumptions the levers are valued at unless a request changes them


@router.get(
    "/actions",
    summary="What to do first: upsell, repeat purchases, retention, channel budget, win-back by money",
)
def actions(
    request: Request,
    horizon: Annotated[int, Query(ge=1, le=60, description="Months the levers are valued over.")] = 12,
    target: Annotated[float, Query(ge=0.5, le=100, description="Target LTV:CAC for the max CAC.")] = 3.0,
    margin: Margin = None,
    currency: Currency = None,
    aov_change: Annotated[
        float, Query(gt=0, le=10, description="Upsell: the average check grows by this share (0.1: +10%).")
    ] = _ASSUMED.aov_change,
    frequency_change: Annotated[
        float, Query(gt=0, le=10, description="Repeat purchases grow by this share (0.1: +10%).")
    ] = _ASSUMED.frequency_change,
    churn_cut: Annotated[
        float, Query(gt=0, lt=1, description="Retention: this share fewer customers lost a month.")
    ] = _ASSUMED.churn_cut,
    budget_share: Annotated[
        float,
        Query(
            gt=0, le=1, description="Budget: the share of the spend on channels above their max CAC moved."
        ),
    ] = _ASSUMED.budget_share,
    budget_growth: Annotated[
        float,
        Query(
            gt=0, le=1, description="Budget: a receiving channel takes at most this share of its spend more."
        ),
    ] = _ASSUMED.budget_growth,
    at_risk: Annotated[
        float, Query(gt=0, le=1, description="Win-back: the share of the at-risk customers back.")
    ] = _ASSUMED.at_risk,
    hibernating: Annotated[
        float, Query(gt=0, le=1, description="Win-back: the share of the dormant customers back.")
    ] = _ASSUMED.hibernating,
    lost: Annotated[
        float, Query(gt=0, le=1, description="Win-back: the share of the lost customers back.")
    ] = _ASSUMED.lost,
    lang: Literal["en", "ru", "uk"] = "en",
) -> dict[str, Any]:
    """The levers ranked by money; the assumptions each is valued at can be changed (shares, 0.1 = 10%)."""
    given = Assumptions(
        aov_change=aov_change,
        frequency_change=frequency_change,
        churn_cut=churn_cut,
        budget_share=budget_share,
        budget_growth=budget_growth,
        at_risk=at_risk,
        hibernating=hibernating,
        lost=lost,
    )
    found = _read(
        request,
        ("actions", horizon, target, margin, currency, given),
        lambda ws: plan_actions(
            ws, horizon=horizon, margin=margin, target=target, currency=currency, assumptions=given
        ),
    )
    return jsonable(found.to_dict(lang))


# --- models ----------------------------------------------------------------------------------------------


class FitRequest(BaseModel):
    model: Literal[tuple(MODELS)] = "bgnbd"  # type: ignore[valid-type]
    unit: Literal["day", "week", "month"] = "week"
    currency: str | None = Field(default=None, pattern="^[A-Za-z]{3}$")
    product: str | None = Field(default=None, max_length=200, description="The subscription product (sbg).")
    regularization: RegularizationChoice = Field(default="auto", description=REGULARIZATION_HELP)


def _fit(hub: Hub, body: FitRequest, job: Job | None) -> dict[str, Any]:
    def compute(ws: Workspace) -> dict[str, Any]:
        if job:
            job.progress("fit", 0, 1)
        return jsonable(
            fit_model(
                ws.table("orders"),
                body.model,
                unit=body.unit,
                currency=body.currency,
                product=body.product,
                regularization=body.regularization,
            ).to_dict()
        )

    key = ("fit", body.model, body.unit, body.currency, body.product, body.regularization)
    return _read(hub, key, compute)


@router.post(
    "/fit",
    summary="Fit a model: parameters with standard errors, fit statistics, notes",
    status_code=202,
    responses=WAITED,
)
def fit(request: Request, body: FitRequest, wait: bool = False) -> Any:
    hub = hub_of(request)
    if wait:
        return JSONResponse(_fit(hub, body, None), status_code=200)
    return JSONResponse(hub.submit("fit", lambda job: _fit(hub, body, job)).to_dict(), status_code=202)


@router.get(
    "/predictions", summary="Per-customer P(alive), expected purchases and CLV; the P(alive) distribution"
)
def predictions(
    request: Request,
    model: Literal[tuple(PURCHASE_MODELS)] = "bgnbd",  # type: ignore[valid-type]
    horizon: Annotated[float, Query(gt=0, le=120)] = 12,
    unit: Literal["day", "week", "month"] = "month",
    margin: Annotated[float, Query(gt=0, le=1)] = 1.0,
    discount_rate: Annotated[float, Query(ge=0, le=1)] = 0.0,
    top: Annotated[int, Query(ge=0, le=1000)] = 20,
    intervals: Annotated[bool, Query(description="90% intervals of CLV (slower).")] = True,
    currency: Currency = None,
    regularization: Regularization = "auto",
    lang: Lang = "en",
) -> dict[str, Any]:
    def compute(ws: Workspace) -> dict[str, Any]:
        with collect_notes() as notes:
            scored, info = predict_customers(
                ws.table("orders"),
                model=model,
                horizon=horizon,
                unit=unit,
                margin=margin,
                discount_rate=discount_rate,
                currency=currency,
                intervals=intervals,
                regularization=regularization,
            )
        counts, edges = np.histogram(scored["probability_alive"], bins=20, range=(0, 1))
        best = scored.sort_values("clv", ascending=False).head(top)
        return jsonable(
            {
                **info,
                "notes": info["notes"] + notes,
                "alive_histogram": {"edges": edges.tolist(), "counts": counts.tolist()},
                "top": records(best),
            }
        )

    asked = (model, horizon, unit, margin, discount_rate, top, intervals, currency, regularization)
    return _notes_in(_read(request, ("predictions", *asked), compute), lang)


# --- segments and scenarios ------------------------------------------------------------------------------

Scheme = Literal[tuple(SCHEMES)]  # type: ignore[valid-type]


UseModel = Annotated[
    bool, Query(description="Lifecycle by BG/NBD P(alive), value tiers by predicted CLV (slower).")
]


def _segmented(
    request: Request, scheme: str, currency: str | None, model: bool, regularization: str = "auto"
) -> Any:
    return _read(
        request,
        ("segmented", scheme, currency, model, regularization),
        lambda ws: segments_of(ws, scheme, currency=currency, use_model=model, regularization=regularization),
    )


@router.get("/segments", summary="Segment sizes, revenue, average LTV and suggested action")
def segments(
    request: Request,
    scheme: Scheme = "rfm",  # type: ignore[valid-type]
    currency: Currency = None,
    model: UseModel = False,
    regularization: Regularization = "auto",
) -> list[dict[str, Any]]:
    return records(_segmented(request, scheme, currency, model, regularization).summary())


@router.get(
    "/segments/export",
    summary="One segment's customers as CSV (UTF-8 with BOM, opens in Excel), or as a contact file for "
    "GetCourse's user import or Unisender",
    response_class=Response,
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}},
)
def segment_export(
    request: Request,
    segment_name: Annotated[str, Query(alias="segment", max_length=100)],
    scheme: Scheme = "rfm",  # type: ignore[valid-type]
    currency: Currency = None,
    model: UseModel = False,
    contacts: Annotated[
        Literal["getcourse", "unisender"] | None,
        Query(description="A contact file (email, phone, name, tag) for this import instead."),
    ] = None,
    lang: Literal["en", "ru", "uk"] = "en",
    regularization: Regularization = "auto",
) -> Response:
    found = _segmented(request, scheme, currency, model, regularization)
    chosen = found.lists().get(segment_name)
    if chosen is None:
        raise HTTPException(404, f"no customers in segment {segment_name!r} of {scheme}")
    name = re.sub(r"[^\w-]", "_", f"{contacts or scheme}-{segment_name}")
    if contacts is not None:

        def compute(ws: Workspace) -> bytes:
            with collect_notes():  # a file has no place for the note on customers without email or phone
                return segment_contacts_bytes(ws, found, segment_name, contacts, lang=lang)

        key = ("segment_contacts", scheme, currency, model, segment_name, contacts, lang)
        content = _read(request, key, compute)
    else:
        content = csv_bytes(chosen)
    return Response(
        content,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )


class ScenarioIn(BaseModel):
    name: str = Field(default="scenario", max_length=80)
    aov_change: float = Field(default=0.0, gt=-1, le=100)
    upsell_rate: float = Field(default=0.0, ge=0, le=1)
    upsell_price: float = Field(default=0.0, ge=0, le=1e9)
    frequency_change: float = Field(default=0.0, gt=-1, le=100)
    churn_change: float = Field(default=0.0, ge=-1, le=1)
    margin: float | None = Field(default=None, gt=0, le=1)


class ScenariosRequest(BaseModel):
    scenarios: list[ScenarioIn] = Field(default_factory=list, max_length=20)
    margin: float = Field(default=1.0, gt=0, le=1)
    horizon: float = Field(default=36, gt=0, le=120)
    target: float = Field(default=3.0, gt=0, le=100)
    currency: str | None = Field(default=None, pattern="^[A-Za-z]{3}$")


@router.post("/scenarios", summary="What-if scenarios: LTV and affordable CAC by formula and by model")
def scenarios(request: Request, body: ScenariosRequest, lang: Lang = "en") -> dict[str, Any]:
    def compute(ws: Workspace) -> dict[str, Any]:
        found = what_if.scenarios(
            ws,
            [Scenario(**s.model_dump()) for s in body.scenarios],
            margin=body.margin,
            horizon=body.horizon,
            target=body.target,
            currency=body.currency,
        )
        return {"currency": found.baseline.currency, "rows": records(found.table), "notes": found.notes}

    return _notes_in(_read(request, ("scenarios", body.model_dump_json()), compute), lang)


class TripwireIn(BaseModel):
    name: str = Field(default="scenario", max_length=80)
    price: float | None = Field(default=None, ge=0, le=1e9)
    conversion: float | None = Field(default=None, ge=0, le=1)
    unit_cost: float | None = Field(default=None, ge=0, le=1e9)
    buyers_change: float = Field(default=0.0, gt=-1, le=100)


class TripwireRequest(BaseModel):
    product: str = Field(max_length=200)
    core: str = Field(max_length=200)
    scenarios: list[TripwireIn] = Field(default_factory=list, max_length=20)
    target: float = Field(default=3.0, gt=0, le=100)
    currency: str | None = Field(default=None, pattern="^[A-Za-z]{3}$")


@router.post("/tripwire", summary="What if the tripwire's price changes?")
def tripwire(request: Request, body: TripwireRequest) -> list[dict[str, Any]]:
    def compute(ws: Workspace) -> list[dict[str, Any]]:
        planned = [TripwireScenario(**s.model_dump()) for s in body.scenarios]
        found = what_if.tripwire(
            ws, body.product, body.core, planned, target=body.target, currency=body.currency
        )
        return records(found.table)

    return _read(request, ("tripwire", body.model_dump_json()), compute)


# --- retainers -------------------------------------------------------------------------------------------


class InvoiceRequest(BaseModel):
    fee: float = Field(gt=0, le=1e9)
    currency: str = Field(pattern="^[A-Za-z]{3}$")
    start: dt.date
    country: str = Field(pattern="^[A-Za-z]{2}$")
    installments: Literal[1, 2] = 1
    due_days: str | None = Field(default=None, max_length=40)
    months: int = Field(default=6, ge=0, le=36)


@router.post("/retainer/invoice", summary="First invoice prorated by working days, then the schedule")
def retainer_invoice(body: InvoiceRequest) -> dict[str, Any]:
    if not dt.date(1990, 1, 1) <= body.start <= dt.date(2100, 12, 31):
        raise MissingDataError(
            "the holiday calendars cover the years 1990 to 2100; choose a start date in them",
            parameter="start",
        )
    plan = invoice_plan(
        body.fee,
        body.currency.upper(),
        body.start,
        body.country.upper(),
        installments=body.installments,
        due_days=body.due_days,
        months=body.months,
    )
    return jsonable(plan.to_dict())


@router.get(
    "/retainer/book",
    summary="Client book: MRR movements, churn, NRR, survival, paid and expected LTV, affordable CAC",
)
def retainer_book(
    request: Request,
    as_of: dt.date | None = None,
    country: Annotated[str | None, Query(pattern="^[A-Za-z]{2}$")] = None,
    margin: Annotated[float, Query(gt=0, le=1)] = 1.0,
    discount_rate: Annotated[float, Query(ge=0, le=1)] = 0.0,
    lang: Literal["en", "ru", "uk"] = "en",
) -> dict[str, Any]:
    day = as_of or dt.date.today()
    if not dt.date(1990, 1, 1) <= day <= dt.date(2100, 12, 31):
        raise MissingDataError("the holiday calendars cover the years 1990 to 2100", parameter="as_of")

    def compute(ws: Workspace) -> dict[str, Any]:
        if not ws.count("clients"):  # nothing imported yet: an empty book, not an error
            return {"as_of": day.isoformat(), "clients": 0, "active": 0, "currencies": [], "months": []}
        book = client_book(ws, as_of=day, country=country, margin=margin, discount_rate=discount_rate)
        return book.to_dict(lang)

    key = ("retainer_book", day, country, margin, discount_rate, lang)
    return hub_of(request).cached(key, compute)  # type: ignore[no-any-return]
