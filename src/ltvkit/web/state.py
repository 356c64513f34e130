"""What the web app shares between requests: the workspace, the import lock, background jobs and a cache.

The workspace file is open only while a request or a job uses it, so that the command line can use the same
workspace while the dashboard is idle (DuckDB lets one process at a time open a file for writing); a request
that comes while a command holds the file answers 409 "busy".

Reads run concurrently, each request on its own DuckDB connection (:meth:`Workspace.cursor`), and see the
last committed data; imports take one lock, so they run one at a time, each in its own transaction, and a
reader never sees half of one.

With a source (``ltv serve --source …``) the app reads a warehouse table instead, read-only: queries run one
at a time on the source's connection (the engine parallelises each), and results are cached for
:data:`SOURCE_TTL` seconds, since the warehouse may change underneath.
"""

from __future__ import annotations

import logging
import re
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ltvkit.data.sources import Source
from ltvkit.data.workspace import Workspace
from ltvkit.errors import AllRowsRejectedError, LtvError, MappingError, WorkspaceError
from ltvkit.formatting import LOCALES

CACHE_SIZE = 64
JOBS_KEPT = 200
SOURCE_TTL = 600
_UPLOAD_FOLDER = re.compile(r"\S*ltv-upload-[\w-]+[\\/]")


def public_message(text: str) -> str:
    """An error message as a browser may see it: without the server's temporary upload folder."""
    return _UPLOAD_FOLDER.sub("", text)


def problem_of(exc: LtvError) -> dict[str, Any]:
    """An ltvkit error as the API answers it: its kind and message, the message in every language when the
    error has its own texts (``messages``), and, when columns could not be mapped, the file's ``columns``,
    the fields ``found`` and the fields ``missing`` (for the dashboard's column-mapping form)."""
    problem: dict[str, Any] = {"error": type(exc).__name__, "message": public_message(str(exc))}
    if isinstance(exc, AllRowsRejectedError):
        problem["messages"] = {lang: public_message(exc.localized(lang)) for lang in LOCALES}
    if isinstance(exc, MappingError) and exc.columns:
        problem.update(columns=exc.columns, found=exc.found, missing=exc.missing)
    return problem


class SourceView:
    """A source seen through the workspace methods the API reads; imports are not possible."""

    def __init__(self, source: Source) -> None:
        self.source = source

    def table(self, name: str) -> Any:
        return self.source.table(name)

    def count(self, name: str) -> int:
        if name == "orders":
            return self.source.account().usable
        if name == "spend":
            return int(self.source.table("spend").count().execute())
        return 0

    def data_version(self) -> int:
        """Changes every :data:`SOURCE_TTL` seconds, so cached results are that fresh."""
        return int(time.time() // SOURCE_TTL)

    def imports(self) -> pd.DataFrame:
        """The source's row account as the one entry of the ledger."""
        account = self.source.account()
        return pd.DataFrame(
            [
                {
                    "import_id": 0,
                    "kind": "orders",
                    "file_name": account.table,
                    "file_path": None,
                    "preset": "source",
                    "read": account.rows,
                    "loaded": account.usable,
                    "updated": 0,
                    "duplicates": 0,
                    "rejected": account.rows - account.usable,
                    "notes": account.note(),
                }
            ]
        )

    def rejected(self, import_id: int | None = None) -> pd.DataFrame:
        """The first left-out rows, with their reasons, in the columns of a workspace's rejected rows."""
        rows = (
            self.source.left_out(1000) if self.source.account().left_out else pd.DataFrame(columns=["reason"])
        )
        return pd.DataFrame(
            {
                "import_id": 0,
                "file_name": self.source.name,
                "row_number": None,
                "column": None,
                "value": rows.get("order_id"),
                "reason": rows["reason"],
                "raw": rows.drop(columns="reason").astype(str).to_dict(orient="records"),
            }
        )

    def close(self) -> None:
        """The source stays open for the next request."""


@dataclass
class Job:
    """A long operation running in the background; its ``stage``, ``done`` and ``total`` report progress."""

    id: str
    kind: str
    status: str = "queued"  # queued → running → done | failed
    stage: str = ""
    done: int = 0
    total: int = 0
    result: Any = None
    error: str | None = None
    problem: dict[str, Any] | None = None  # the error as the API answers it (:func:`problem_of`)
    started: float = field(default_factory=time.time)

    def progress(self, stage: str, done: int, total: int) -> None:
        self.stage, self.done, self.total = stage, done, total

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "status": self.status,
            "stage": self.stage,
            "done": self.done,
            "total": self.total,
            "result": self.result,
            "error": self.error,
            "problem": self.problem,
        }


class Hub:
    """The workspace (or the source) behind a running web app."""

    def __init__(self, path: Path, source: Callable[[], Source] | None = None) -> None:
        self.path = path
        self.write_lock = threading.Lock()
        self._open_lock = threading.Lock()
        self._open_source = source
        self._source: Source | None = None
        self._source_lock = threading.RLock()  # a cached read may read again inside
        self._root: Workspace | None = None
        self._users = 0  # requests and jobs holding the workspace open
        if source is None:
            Workspace.open(path).close()  # created (or checked) now, so a bad path fails at start
        self._pool: ThreadPoolExecutor | None = None
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._cache: OrderedDict[tuple, Any] = OrderedDict()
        self._cache_lock = threading.Lock()
        self._running: dict[tuple, threading.Event] = {}  # figures being computed, by key

    def close(self) -> None:
        """Wait for running jobs and close the workspace (the next request opens it again)."""
        with self._open_lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)  # outside the lock: the jobs still read the workspace
        with self._open_lock:
            if self._root is not None:
                self._root.close()
                self._root = None
            if self._source is not None:
                self._source.close()
                self._source = None

    @property
    def read_only(self) -> bool:
        return self._open_source is not None

    def _checkout(self) -> Workspace:
        """A connection of its own on the workspace, opening the file if nobody holds it open."""
        with self._open_lock:
            if self._root is None:
                self._root = Workspace.open(self.path)
            self._users += 1
            return self._root.cursor()

    def _checkin(self, ws: Workspace) -> None:
        """Close ``ws``; the last one out closes the file, so that the CLI can use the workspace while the
        server is idle (DuckDB lets one process at a time write a file)."""
        ws.close()
        with self._open_lock:
            self._users -= 1
            if self._users == 0 and self._root is not None:
                self._root.close()
                self._root = None

    @contextmanager
    def reader(self) -> Iterator[Workspace]:
        """A connection of this request's own (with a source: the source, one request at a time)."""
        if self._open_source is not None:
            with self._source_lock:
                if self._source is None:
                    self._source = self._open_source()
                yield SourceView(self._source)  # type: ignore[misc]
            return
        ws = self._checkout()
        try:
            yield ws
        finally:
            self._checkin(ws)

    @contextmanager
    def writer(self) -> Iterator[Workspace]:
        """A connection holding the import lock."""
        if self._open_source is not None:
            raise WorkspaceError(
                "this dashboard reads a warehouse table (ltv serve --source); imports go to a "
                "workspace: run ltv serve without --source"
            )
        with self.write_lock, self.reader() as ws:
            yield ws

    def cached(self, key: tuple, compute: Callable[[Workspace], Any]) -> Any:
        """``compute(ws)``, remembered until the next import changes the data. Requests that ask for the same
        figure while it is being computed wait for that one computation instead of each running their own
        (after an import, every open page asks again at once)."""
        with self.reader() as ws:
            full_key = (ws.data_version(), *key)
            while True:
                with self._cache_lock:
                    if full_key in self._cache:
                        self._cache.move_to_end(full_key)
                        return self._cache[full_key]
                    running = self._running.get(full_key)
                    if running is None:
                        self._running[full_key] = threading.Event()
                        break
                running.wait()  # then the value is cached, or its computation failed: compute it here
            try:
                value = compute(ws)
                with self._cache_lock:
                    self._cache[full_key] = value
                    while len(self._cache) > CACHE_SIZE:
                        self._cache.popitem(last=False)
            finally:
                with self._cache_lock:
                    self._running.pop(full_key).set()
        return value

    def submit(self, kind: str, work: Callable[[Job], Any]) -> Job:
        """Run ``work(job)`` in the background; its result (or its ltvkit error) lands on the job."""
        job = Job(id=uuid.uuid4().hex, kind=kind)
        self._jobs[job.id] = job
        while len(self._jobs) > JOBS_KEPT:
            self._jobs.popitem(last=False)

        def run() -> None:
            job.status = "running"
            try:
                job.result = work(job)
                job.status = "done"
            except LtvError as exc:
                job.problem = problem_of(exc)
                job.error, job.status = job.problem["message"], "failed"
            except Exception:  # noqa: BLE001 - reported on the job, logged by the server
                logging.getLogger("ltvkit.web").exception("job %s failed", job.id)
                job.error, job.status = "internal error; see the server log", "failed"

        with self._open_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="ltv-job")
            self._pool.submit(run)
        return job

    def job(self, job_id: str) -> Job | None:
        return self._jobs.get(job_id)
