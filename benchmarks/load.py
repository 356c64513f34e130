"""Dashboard reads while an import runs: latency of the summary endpoints with many concurrent readers.

    python benchmarks/load.py                      # 20 readers, the demo school (20,000 customers)
    python benchmarks/load.py --readers 20 --customers 5000 --rounds 5

A demo workspace is served by uvicorn on a free loopback port (this machine only). The readers ask, in
turn, for the pages' summary endpoints (/api/summary, /api/cohorts, /api/channels, /api/pareto,
/api/imports) with the cache bypassed by the import itself: a second demo export is uploaded at the start,
so every read before it lands and every read after it computes afresh. Prints the latency percentiles over
all reads (p50, p95, p99, max), the errors, and the machine's 1-minute load average, as the machine is
shared: quote it beside the numbers.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.web.conftest import LiveServer  # noqa: E402

from ltvkit.data import demo  # noqa: E402
from ltvkit.data.workspace import Workspace  # noqa: E402

READS = ["/api/summary", "/api/cohorts", "/api/channels", "/api/pareto", "/api/imports"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readers", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--customers", type=int, default=20_000)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="ltv-load-"))
    orders, spend = demo.generate(folder / "first", seed=1, customers=args.customers)
    more, _ = demo.generate(folder / "second", seed=2, customers=args.customers // 4)
    with Workspace.open(folder / "ltv.duckdb") as ws:
        ws.import_file(orders)
        ws.import_file(spend)
    latencies: list[float] = []
    errors: list[int] = []
    lock = threading.Lock()
    loads = []
    with LiveServer(folder / "ltv.duckdb") as server:
        with httpx.Client(base_url=server.url, timeout=300) as http:
            for url in READS:  # warm: the figures before the import are cached, as on a used dashboard
                http.get(url)
            job = http.post("/api/imports", files={"file": ("more.csv", more.read_bytes(), "text/csv")})

        def reader(_: int) -> None:
            with httpx.Client(base_url=server.url, timeout=300) as own:
                for _round in range(args.rounds):
                    for url in READS:
                        started = time.perf_counter()
                        response = own.get(url)
                        elapsed = time.perf_counter() - started
                        with lock:
                            latencies.append(elapsed)
                            if response.status_code != 200:
                                errors.append(response.status_code)
                    loads.append(os.getloadavg()[0])

        started = time.perf_counter()
        with ThreadPoolExecutor(args.readers) as pool:
            list(pool.map(reader, range(args.readers)))
        wall = time.perf_counter() - started
        with httpx.Client(base_url=server.url, timeout=300) as http:
            status = http.get(f"/api/jobs/{job.json()['id']}").json()["status"]
    ordered = sorted(latencies)

    def pct(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    print(f"{len(ordered)} reads by {args.readers} readers in {wall:.1f} s while an import ran ({status})")
    print("| p50 | p95 | p99 | max | errors | load (1 min) |")
    print("|---:|---:|---:|---:|---:|---:|")
    print(
        f"| {pct(0.5):.2f} s | {pct(0.95):.2f} s | {pct(0.99):.2f} s | {ordered[-1]:.2f} s | {len(errors)} | "
        f"{statistics.median(loads):.1f} |"
    )


if __name__ == "__main__":
    main()
