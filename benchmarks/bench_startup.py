"""Wall time and peak RSS of `posture --help` and `posture checks list` (run by hand).

    python benchmarks/bench_startup.py [--runs 10]

Each command runs in a fresh process; peak RSS comes from wait4's rusage of that process alone.
Target (issue 3): <= 0.3 s and <= 60 MB each.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time

COMMANDS = [["--help"], ["--version"], ["checks", "list"]]


def measure(args: list[str]) -> tuple[float, float]:
    exe = shutil.which("posture") or sys.executable
    argv = [exe, *args] if exe != sys.executable else [exe, "-m", "posture", *args]
    started = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"posture {' '.join(args)} failed")
    return elapsed, usage.ru_maxrss / 1024  # KiB -> MiB


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    runs = parser.parse_args().runs
    print(f"{'command':<28} {'median s':>9} {'max s':>7} {'peak RSS MiB':>13}")
    for args in COMMANDS:
        measure(args)  # warm the page cache
        samples = [measure(args) for _ in range(runs)]
        times = [s[0] for s in samples]
        rss = max(s[1] for s in samples)
        label = "posture " + " ".join(args)
        print(f"{label:<28} {statistics.median(times):>9.3f} {max(times):>7.3f} {rss:>13.1f}")


if __name__ == "__main__":
    main()
