"""Dashboard reads while an import runs: latency of the summary endpoints with many concurrent readers.

    python benchmarks/load.py                          # 20 readers on the demo school (20,000 customers)
    python benchmarks/load.py --customers 5000 --after 2
    python benchmarks/load.py --compare main --pairs 3 # paired: a git revision's server, then this tree's

The server runs in a process of its own (``uvicorn`` on a free loopback port, this machine only), as under
``ltv serve``, so the readers' own work does not compete with it. A demo workspace is built once and copied
for each run. The dashboard is warm (every page read once), then a second demo export (a quarter of the
school) is uploaded, and the readers ask, in turn, for the pages' summary endpoints (/api/summary,
/api/cohorts, /api/channels, /api/pareto, /api/imports) until the import's job is done, then ``--after``
rounds more: the reads during the import and the first reads of the new data are both measured.

Prints one table: per run, the latency percentiles over all reads (p50, p99, max), the reads, the errors, how
long the import took and the machine's 1-minute load average (the machine may be shared: quote it beside
the numbers); with ``--compare``, the runs alternate (before, after, before, after, …) and the last rows
are the medians of each side.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from ltvkit.data import demo  # noqa: E402
from ltvkit.data.workspace import Workspace  # noqa: E402

READS = ["/api/summary", "/api/cohorts", "/api/channels", "/api/pareto", "/api/imports"]
SERVE = (
    "import sys, uvicorn; from ltvkit.web.app import create_app; "
    "uvicorn.run(create_app(sys.argv[1]), host='127.0.0.1', port=int(sys.argv[2]), log_level='warning')"
)


@dataclass
class Run:
    side: str
    p50: float
    p99: float
    worst: float
    reads: int
    errors: int
    import_seconds: float
    load: float


def serve(src: Path, workspace: Path) -> tuple[subprocess.Popen[bytes], str]:
    """The app on ``workspace`` from the code in ``src``, in its own process; its URL once it answers."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "PYTHONPATH": str(src)}
    process = subprocess.Popen([sys.executable, "-c", SERVE, str(workspace), str(port)], env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 300  # a loaded machine takes long to import the app
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(f"{url}/api/health", timeout=5).is_success:
                return process, url
        except httpx.TransportError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("the server did not start")


def measure(side: str, src: Path, built: Path, more: Path, readers: int, after: int) -> Run:
    """One run: a fresh copy of the workspace, warm pages, an upload, the readers until ``after`` rounds
    past the import's end."""
    workspace = Path(shutil.copy(built, built.with_name(f"run-{side}.duckdb")))
    process, url = serve(src, workspace)
    latencies: list[float] = []
    errors: list[int] = []
    loads: list[float] = []
    lock = threading.Lock()
    finished = threading.Event()
    try:
        with httpx.Client(base_url=url, timeout=300) as http:
            for path in READS:  # a used dashboard: the figures before the import are cached
                http.get(path)
            started = time.perf_counter()
            upload = {"file": ("more.csv", more.read_bytes(), "text/csv")}
            job = http.post("/api/imports", files=upload).json()

            def reader(_: int) -> None:
                with httpx.Client(base_url=url, timeout=300) as own:
                    rounds_after = 0
                    while rounds_after < after:
                        rounds_after += finished.is_set()
                        for path in READS:
                            began = time.perf_counter()
                            response = own.get(path)
                            elapsed = time.perf_counter() - began
                            with lock:
                                latencies.append(elapsed)
                                loads.append(os.getloadavg()[0])
                                if response.status_code != 200:
                                    errors.append(response.status_code)

            with ThreadPoolExecutor(readers) as pool:
                running = [pool.submit(reader, i) for i in range(readers)]
                while job["status"] in ("queued", "running"):
                    time.sleep(0.1)
                    job = http.get(f"/api/jobs/{job['id']}").json()
                import_seconds = time.perf_counter() - started
                finished.set()
                for future in running:
                    future.result()
            if job["status"] != "done":
                raise RuntimeError(f"the import failed: {job['error']}")
    finally:
        process.terminate()
        process.wait(timeout=60)
        workspace.unlink(missing_ok=True)
    ordered = sorted(latencies)
    return Run(
        side,
        p50=statistics.median(ordered),
        p99=ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))],
        worst=ordered[-1],
        reads=len(ordered),
        errors=len(errors),
        import_seconds=import_seconds,
        load=statistics.median(loads),
    )


def export_revision(revision: str, folder: Path) -> Path:
    """The ``src`` folder of a git revision, unpacked into ``folder``."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", revision, "src"], check=True, capture_output=True
    ).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(folder, filter="data")
    return folder / "src"


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--readers", type=int, default=20)
    parser.add_argument("--after", type=int, default=3, help="rounds of reads after the import ends")
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--compare", metavar="REVISION", help="alternate with this git revision's server")
    parser.add_argument("--pairs", type=int, default=3, help="runs of each side with --compare")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="ltv-load-"))
    try:
        orders, spend = demo.generate(folder / "first", seed=1, customers=args.customers)
        more, _ = demo.generate(folder / "second", seed=2, customers=args.customers // 4)
        built = folder / "ltv.duckdb"
        with Workspace.open(built) as ws:
            ws.import_file(orders)
            ws.import_file(spend)
        sides = [("this tree", ROOT / "src")]
        if args.compare:
            sides.insert(0, (args.compare, export_revision(args.compare, folder / "before")))
        runs = [
            measure(side, src, built, more, args.readers, args.after)
            for _ in range(args.pairs if args.compare else 1)
            for side, src in sides
        ]
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(f"{args.readers} readers, demo school of {args.customers:,} customers, an import of a quarter more")
    print("| code | p50 | p99 | worst | reads | errors | import | load (1 min) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    rows = [(run.side, run) for run in runs]
    if args.compare:
        for side, _ in sides:
            mine = [run for run in runs if run.side == side]
            rows.append(
                (
                    f"**median, {side}**",
                    Run(
                        side,
                        *(
                            statistics.median(getattr(run, name) for run in mine)
                            for name in ("p50", "p99", "worst", "reads", "errors", "import_seconds", "load")
                        ),
                    ),
                )
            )
    for label, run in rows:
        print(
            f"| {label} | {run.p50:.2f} s | {run.p99:.2f} s | {run.worst:.2f} s | {run.reads:.0f} | "
            f"{run.errors:.0f} | {run.import_seconds:.1f} s | {run.load:.1f} |"
        )


if __name__ == "__main__":
    main()
