"""The terminal view of a large estate (run by hand): lines printed and render time of the grouped
summary and of the per-result view, for a synthetic scan of N storefronts with 30 checks each and
a known mix of failures and unreachable shops.

    python benchmarks/bench_terminal.py [--shops 300 1000 3000]

Target (issue 19): the summary stays under a screenful per distinct check whatever N is.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from posture.model import Area, Result, Severity, Status, Target, TargetKind  # noqa: E402
from posture.render.terminal import print_report  # noqa: E402
from posture.runner import collector_error  # noqa: E402
from posture.scanreport import ScanReport  # noqa: E402

FAILING = [  # check, severity, every n-th shop fails it
    ("WEB-HSTS", Severity.MEDIUM, 3),
    ("WEB-VERSION-DISCLOSURE", Severity.LOW, 5),
    ("WEB-SCRIPT-INTEGRITY", Severity.MEDIUM, 7),
    ("TLS-LEGACY-PROTOCOL", Severity.HIGH, 11),
    ("TLS-CERT-LIFESPAN", Severity.HIGH, 13),
    ("WEB-SECURITY-TXT", Severity.INFO, 1),
]
PASSING = [f"CHECK-{i:02d}" for i in range(24)]
UNREACHABLE_EVERY = 50


def estate(shops: int) -> ScanReport:
    now = dt.datetime.now(dt.UTC)
    targets, results = [], []
    for i in range(shops):
        url = f"https://shop{i:04d}.example/"
        target = Target(TargetKind.STOREFRONT, url, {"url": url, "name": f"shop{i:04d}"})
        targets.append(target)
        if i % UNREACHABLE_EVERY == 0 and i:
            results.append(collector_error("http", target, [], "cannot connect: refused"))
            continue
        for check_id, severity, every in FAILING:
            status = Status.FAIL if i % every == 0 else Status.PASS
            results.append(
                Result(check_id, check_id.title(), Area.WEB, severity, status, url,
                       TargetKind.STOREFRONT, message="finding" if status is Status.FAIL else "")
            )  # fmt: skip
        for check_id in PASSING:
            results.append(
                Result(check_id, check_id, Area.WEB, Severity.LOW, Status.PASS, url,
                       TargetKind.STOREFRONT)
            )  # fmt: skip
    return ScanReport(results, targets, now, now)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--shops", type=int, nargs="+", default=[300, 1000, 3000])
    args = parser.parse_args()
    print("shops  results  summary lines  summary s  details lines  details s")
    for shops in args.shops:
        report = estate(shops)
        figures = []
        for view in ("summary", "details"):
            out = io.StringIO()
            started = time.perf_counter()
            print_report(report, Severity.HIGH, out, color=False, width=120, view=view)
            figures += [len(out.getvalue().splitlines()), time.perf_counter() - started]
        print(
            f"{shops:5d}  {len(report.results):7d}  {figures[0]:13d}  {figures[1]:9.2f}"
            f"  {figures[2]:13d}  {figures[3]:9.2f}"
        )


if __name__ == "__main__":
    main()
