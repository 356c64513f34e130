"""What the web app shares between requests: the workspace, the import lock, background jobs and a cache.

The workspace file is open only while a request or a job uses it, so that the command line can use the same
workspace while the dashboard is idle (DuckDB lets one process at a time open a file for writing); a request
that comes while a command holds the file answers 409 "busy".

Reads run concurrently, each request on its own DuckDB connection (:meth:`Workspace.cursor`), and see the
last committed data; imports take one lock, so they run one at a time, each in its own transaction, and a
reader never sees half of one.

Figures are cached per data version and computed once however many requests ask (single flight); a cached
figure is answered without opening the file or asking DuckDB, the data version being known while the file
is open here or unchanged since it was closed (:meth:`Hub._known_version`). An upload is read and normalised
in a worker process at a lower CPU priority (:func:`prepare_import`: pure Python and pandas work that would
otherwise hold the server's interpreter lock and stall every reader), then written here in one transaction.
Until the figures that pages had asked for are computed again on the new data (:data:`REFRESHED` of them,
the most recently used first, by the import's job), readers are answered from the figures of before the
import: a page shows the data before an import or after it, and does not wait for it.

With a source (``ltv serve --source …``) the app reads a warehouse table instead, read-only: queries run one
at a time on the source's connection (the engine parallelises each), and results are cached for
:data:`SOURCE_TTL` seconds, since the warehouse may change underneath.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import re
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.context import BaseContext
from pathlib import Path
from typing import Any

import pandas as pd

from ltvkit.data.sources import Source
from ltvkit.data.workspace import (
    STAGES,
    ImportAccount,
    PreparedImport,
    ProgressCallback,
    Workspace,
    prepare_import,
)
from ltvkit.errors import LtvError, MappingError, WorkspaceError
from ltvkit.formatting import LOCALES
from ltvkit.i18n import text
from ltvkit.io.normalize import ImportOptions

CACHE_SIZE = 64
REFRESHED = 16  # figures an import's job computes again before pages see the new data
JOBS_KEPT = 200
WORKER_NICENESS = 10  # the upload worker yields the processor to the server's readers
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
    if exc.localizable:
        problem["messages"] = {lang: public_message(exc.localized(lang)) for lang in LOCALES}
    if isinstance(exc, MappingError) and exc.columns:
        problem.update(columns=exc.columns, found=exc.found, missing=exc.missing)
    return problem


def _prepare_telling(path: Path, options: ImportOptions, tell: Connection) -> PreparedImport:
    """:func:`prepare_import` in the worker process, each of its stages (read, map, account) sent back."""
    return prepare_import(path, options, progress=lambda *stage: tell.send(stage))


def _prepared_telling(
    worker: ProcessPoolExecutor, path: Path, options: ImportOptions, report: ProgressCallback
) -> PreparedImport:
    """The upload prepared by ``worker``, the stages it reaches told to ``report`` as they come."""
    receiver, sender = multiprocessing.Pipe(duplex=False)
    with receiver, sender:  # the sender stays open here until the worker is done with its copy
        prepared = worker.submit(_prepare_telling, path, options, sender)
        while not prepared.done() or receiver.poll():
            if receiver.poll(0.05):
                report(*receiver.recv())
        return prepared.result()


def os_problem(exc: OSError) -> dict[str, Any]:
    """An operating-system error (a full disk, a file that cannot be written) as the API answers it: the
    system's reason in one sentence, in every language, without the server's paths."""
    reason = exc.strerror or type(exc).__name__
    messages = {lang: text("cli_os_error", lang, reason=reason, where="") for lang in LOCALES}
    return {"error": "OSError", "message": messages["en"], "messages": messages}


def _stamp(path: Path) -> tuple[int, ...]:
    """The workspace file and its write-ahead log as the file system sees them (inode, size, modification
    time): any write by another process changes it."""
    stamp: list[int] = []
    for file in (path, path.with_name(f"{path.name}.wal")):
        try:
            status = file.stat()
        except FileNotFoundError:
            stamp += [0, 0, 0]
        else:
            stamp += [status.st_ino, status.st_size, status.st_mtime_ns]
    return tuple(stamp)


def _version_of(ws: Workspace) -> int | None:
    """The data version of ``ws``, or None when it cannot be read (the file failed under an import)."""
    try:
        return ws.data_version()
    except Exception:  # noqa: BLE001 - unknown: the next reader asks the file again, and meets the error
        logging.getLogger("ltvkit.web").debug("the data version could not be read", exc_info=True)
        return None


def _lower_priority() -> None:
    """Run in the upload worker as it starts: it yields the processor to the server's readers."""
    if hasattr(os, "nice"):  # not on Windows
        os.nice(WORKER_NICENESS)


def _worker_context() -> BaseContext:
    """How the upload worker starts: forked from a server process that has the importer loaded where the
    system can (in milliseconds, with none of the web server's threads), else as a new interpreter."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["ltvkit.web.state"])
    return context


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
        self._recipes: OrderedDict[tuple, Callable[[Workspace], Any]] = OrderedDict()  # how, by figure
        self._serving: int | None = None  # during an import, the data version pages are answered from
        self._version: int | None = None  # the data version while the file is open or unchanged since
        self._stamp: tuple[int, ...] | None = None  # the file as this process closed it (:func:`_stamp`)
        self._parser: ProcessPoolExecutor | None = None
        self._starting: threading.Thread | None = None
        if source is None:  # the worker that reads uploads starts now, so that the first upload need not wait
            self._starting = threading.Thread(target=self._start_worker, daemon=True)
            self._starting.start()

    def close(self) -> None:
        """Wait for running jobs and close the workspace (the next request opens it again)."""
        if self._starting is not None:
            self._starting.join()  # so that the worker it starts is stopped below
        with self._open_lock:
            pool, self._pool = self._pool, None
            parser, self._parser = self._parser, None
        if pool is not None:
            pool.shutdown(wait=True)  # outside the lock: the jobs still read the workspace
        if parser is not None:
            parser.shutdown(wait=True)
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
                self._version = self._root.data_version()
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
                self._stamp = _stamp(self.path)

    def _known_version(self) -> int | None:
        """The data version without opening the file or asking DuckDB: the one read when this process
        opened the file, kept up to date by its own imports, while the file is open here (then no other
        process can write it) or unchanged since it was closed here (``ltv import`` changes it); else None."""
        with self._open_lock:
            if self._root is not None or (self._stamp is not None and self._stamp == _stamp(self.path)):
                return self._version
        return None

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

    def cached(self, key: tuple, compute: Callable[[Workspace], Any]) -> Any:
        """``compute(ws)``, remembered until the next import changes the data. Requests that ask for the same
        figure while it is being computed wait for that one computation instead of each running their own.
        While an import is written and its figures refreshed, the figure of before it is the answer. A
        remembered figure is answered without touching the file (see :meth:`_known_version`)."""
        with self._cache_lock:
            self._recipes[key] = compute
            self._recipes.move_to_end(key)
            while len(self._recipes) > CACHE_SIZE:
                self._recipes.popitem(last=False)
            serving = self._serving
        version = serving if serving is not None else self._known_version()
        with self._cache_lock:
            known = (version, *key)
            if version is not None and known in self._cache:
                self._cache.move_to_end(known)
                return self._cache[known]
        return self._computed(key, compute)

    def _computed(self, key: tuple, compute: Callable[[Workspace], Any]) -> Any:
        """The figure ``key`` on the data as they are now, computed once (single flight)."""
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

    def import_file(
        self, path: Path, options: ImportOptions, *, progress: ProgressCallback | None = None
    ) -> ImportAccount:
        """Import an uploaded file: read and normalised in the worker process, written under the import lock,
        then the pages' figures computed again before readers are answered from the new data."""
        if self._open_source is not None:
            raise WorkspaceError(
                "this dashboard reads a warehouse table (ltv serve --source); imports go to a "
                "workspace: run ltv serve without --source"
            )
        report = progress or (lambda stage, done, total: None)
        report("read", 0, len(STAGES) - 1)
        with self.reader() as ws:
            options = ws.with_orders_currency(options)
        parser = self._worker()
        try:
            prepared = _prepared_telling(parser, path, options, report)
        except BrokenProcessPool:  # the worker died (killed, out of memory): the next import starts another
            with self._open_lock:
                if self._parser is parser:
                    self._parser = None
            raise
        with self.write_lock, self.reader() as ws:
            before = ws.data_version()
            with self._cache_lock:
                self._serving = before
            try:
                account = ws.write_import(prepared, progress=progress)
                self._refresh(before, report)
            finally:
                version = _version_of(ws)
                with self._open_lock, self._cache_lock:
                    self._version, self._serving = version, None
        report("done", len(STAGES) - 1, len(STAGES) - 1)
        return account

    def _worker(self) -> ProcessPoolExecutor:
        """The process that reads uploads, started if needed."""
        with self._open_lock:
            if self._parser is None:
                self._parser = ProcessPoolExecutor(
                    1, mp_context=_worker_context(), initializer=_lower_priority
                )
            return self._parser

    def _start_worker(self) -> None:
        worker = self._worker()
        try:
            worker.submit(int).result()
        except Exception:  # noqa: BLE001 - the first upload starts another, and reports its failure
            logging.getLogger("ltvkit.web").warning("the upload worker did not start", exc_info=True)
            with self._open_lock:
                if self._parser is worker:
                    self._parser = None

    def _refresh(self, before: int, report: ProgressCallback) -> None:
        """Compute again, on the new data, the most recently used figures of data version ``before``."""
        with self._cache_lock:
            keys = [key[1:] for key in reversed(self._cache) if key[0] == before][:REFRESHED]
            recipes = [(key, self._recipes[key]) for key in keys if key in self._recipes]
        for done, (key, compute) in enumerate(recipes):
            report("refresh", done, len(recipes))
            try:
                self._computed(key, compute)
            except Exception:  # noqa: BLE001 - the page that asks again gets the error from its own request
                logging.getLogger("ltvkit.web").debug("refreshing %s failed", key, exc_info=True)

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
            except OSError as exc:
                job.problem = os_problem(exc)
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
