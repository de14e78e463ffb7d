"""An estate of loopback storefronts: posture's storefront scan (TLS + HTTP, no browser) vs the
sslyze CLI on the same hosts, in one run.

    python benchmarks/bench_estate.py [--hosts 31 100 300] [--repeat 3] [--record]

One Debian nginx serves every shop (tests/testbed/estate.py: own port each, a known mix of
failures). Each tool runs in its own process; wall time is the median of --repeat runs, peak
RSS and CPU time (user + system) come from wait4. The tools run in rounds (each once per round,
back to back) and the ratio is the median of the rounds' ratios, so each compares runs under
nearly the same load. The load average is printed beside each row: on a shared machine, wall
time follows the load, CPU time much less.

Targets (issue 17): posture <= 0.25x sslyze's wall time at 100 and 300 hosts; time per host
flat from 31 to 300 (no worse than 1.2x); peak RSS under 150 MB whatever the estate size.
``--record`` adds a row recording each posture scan into a SQLite history.
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

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.testbed.estate import build_estate  # noqa: E402


def run(argv: list[str]) -> tuple[float, float, float]:
    """(wall s, CPU s, peak RSS MiB) of one process."""
    started = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - started
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1, 3):
        raise SystemExit(f"{' '.join(argv[:4])} ... exited {code}")
    return elapsed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--hosts", type=int, nargs="+", default=[31, 100, 300])
    parser.add_argument("--repeat", type=int, default=3, help="runs per row; medians are shown")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--record", action="store_true", help="also time posture recording")
    args = parser.parse_args()
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(REPO / "posture")], check=True)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        estate = build_estate(root / "estate", max(args.hosts))
        try:
            print(
                f"{'tool':<13} {'hosts':>5} {'wall s':>7} {'hosts/s':>8} {'ms/host':>8} "
                f"{'CPU s':>6} {'peak RSS MiB':>12} {'load':>5}"
            )
            for n in args.hosts:
                targets = root / f"targets-{n}.txt"
                targets.write_text("".join(f"{u}\n" for u in estate.urls[:n]))
                posture = [
                    sys.executable,
                    "-m",
                    "posture",
                    "scan",
                    "--targets-file",
                    str(targets),
                    "--no-browser",  # TLS + HTTP, as sslyze's side
                    "--ca-bundle",
                    str(estate.ca_path),
                    "--concurrency",
                    str(args.concurrency),
                    "--format",
                    "json",
                    "--output",
                    str(root / "out.json"),
                ]
                rows = [("posture", [*posture, "--no-record"])]
                if args.record:
                    db = root / f"history-{n}.sqlite"
                    rows.append(("posture+db", [*posture, "--db", str(db)]))
                hosts = [u.split("/")[2] for u in estate.urls[:n]]
                rows.append(("sslyze", [sys.executable, "-m", "sslyze", *hosts]))
                # rounds: every tool once per round, back to back, so that each ratio compares
                # runs under nearly the same load (the machine is shared)
                samples: dict[str, list[tuple[float, float, float]]] = {t: [] for t, _ in rows}
                loads: dict[str, list[float]] = {t: [] for t, _ in rows}
                for _ in range(args.repeat):
                    for tool, argv in rows:
                        loads[tool].append(os.getloadavg()[0])
                        samples[tool].append(run(argv))
                for tool, _ in rows:
                    runs = samples[tool]
                    wall = statistics.median(r[0] for r in runs)
                    cpu = statistics.median(r[1] for r in runs)
                    rss = max(r[2] for r in runs)
                    load = statistics.median(loads[tool])
                    print(
                        f"{tool:<13} {n:>5} {wall:>7.2f} {n / wall:>8.1f} {1000 * wall / n:>8.1f} "
                        f"{cpu:>6.2f} {rss:>12.1f} {load:>5.1f}",
                        flush=True,
                    )
                for tool, _ in rows:
                    if tool == "sslyze":
                        continue
                    pairs = zip(samples[tool], samples["sslyze"], strict=True)
                    ratios = sorted(a[0] / b[0] for a, b in pairs)
                    print(
                        f"  {tool} / sslyze wall time at {n} hosts: median {statistics.median(ratios):.2f}x "
                        f"(rounds: {', '.join(f'{r:.2f}' for r in ratios)})",
                        flush=True,
                    )
        finally:
            estate.stop()


if __name__ == "__main__":
    main()
