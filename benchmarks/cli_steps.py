"""Which ``ltv`` commands take long enough on the demo school to need a progress display (over ~2 s).

    python benchmarks/cli_steps.py                      # the demo's 20,000 customers, each command 3 times
    python benchmarks/cli_steps.py --customers 5000 --repeat 5

Builds the demo (``ltv demo``, timed) into a temporary folder, then times each command on its workspace as
a user runs it: a new process, wall time from start to exit, output to a pipe (so no progress is drawn).
The commands run in turns (A, B, C, A, B, C …) so that the machine's load falls on all alike; the table
gives each command's median and range, and the 1-minute load average before and after.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# the ltv beside this interpreter (the project's virtual environment), else the one on PATH
LTV = (
    [str(Path(sys.executable).with_name("ltv"))]
    if Path(sys.executable).with_name("ltv").exists()
    else ["ltv"]
)
THRESHOLD = 2.0  # seconds: a step longer than this shows progress

COMMANDS = {
    "summary": ["summary"],
    "fit": ["fit"],
    "fit --model paretonbd": ["fit", "--model", "paretonbd"],
    "predict": ["predict", "--out", "{dir}/predictions.csv"],
    "compare": ["compare"],
    "report": ["report", "--out", "{dir}/report.html"],
    "segments --model": ["segments", "--scheme", "lifecycle", "--model"],
    "channels --predicted": ["channels", "--predicted"],
}


def timed(args: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run([*LTV, *args], check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    options = parser.parse_args()
    load_before = os.getloadavg()[0]
    times: dict[str, list[float]] = {"demo": [], **{name: [] for name in COMMANDS}}
    with tempfile.TemporaryDirectory() as folder:
        ws = f"{folder}/ltv.duckdb"
        demo = ["demo", "-w", ws, "--dir", folder, "--customers", str(options.customers)]
        for _ in range(options.repeat):
            times["demo"].append(timed(demo))
            for name, args in COMMANDS.items():
                times[name].append(timed([*(a.format(dir=folder) for a in args), "-w", ws]))
    load_after = os.getloadavg()[0]
    print(f"ltv on the demo school ({options.customers:,} customers), {options.repeat} runs each")
    print(f"load average (1 min): {load_before:.2f} before, {load_after:.2f} after\n")
    print(f"| {'command':<22} | median, s | range, s    | progress shown |")
    print(f"|{'-' * 24}|-----------|-------------|----------------|")
    for name, runs in times.items():
        median = statistics.median(runs)
        span = f"{min(runs):.1f}–{max(runs):.1f}"
        print(f"| {name:<22} | {median:9.1f} | {span:<11} | {'yes' if median > THRESHOLD else 'no':<14} |")


if __name__ == "__main__":
    main()
