"""A year of weekly scans of a 50-storefront estate (~1,000 results a scan, ~52,000 in all):
time and peak RSS of recording one scan and of building the quarterly HTML report (run by hand).

    python benchmarks/bench_history.py [--weeks 52] [--shops 50]

Target (issue 9): the report in under 5 s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from posture.compliance import apply_obligations  # noqa: E402
from posture.history import History  # noqa: E402
from posture.model import Area, Result, Severity, Status, Target, TargetKind  # noqa: E402
from posture.reporting.formats import write  # noqa: E402
from posture.reporting.model import Period, build_report  # noqa: E402
from posture.scanreport import ScanReport  # noqa: E402

CHECKS = [
    ("TLS-LEGACY-PROTOCOL", Area.TLS, Severity.HIGH),
    ("TLS-CERT-VALIDITY", Area.TLS, Severity.HIGH),
    ("TLS-WEAK-CIPHER", Area.TLS, Severity.HIGH),
    ("TLS-MOZILLA-PROFILE", Area.TLS, Severity.LOW),
    ("WEB-HSTS", Area.WEB, Severity.MEDIUM),
    ("WEB-CSP", Area.WEB, Severity.MEDIUM),
    ("WEB-COOKIE-FLAGS", Area.WEB, Severity.MEDIUM),
    ("WEB-SCRIPT-INTEGRITY", Area.WEB, Severity.MEDIUM),
    ("WEB-NOSNIFF", Area.WEB, Severity.LOW),
    ("ACCESS-ADMIN-EXPOSED", Area.ACCESS, Severity.HIGH),
]


def weekly_scan(week: int, shops: int, rng: random.Random) -> ScanReport:
    start = dt.datetime(2025, 12, 29, tzinfo=dt.UTC) + dt.timedelta(weeks=week)
    results = []
    targets = []
    for s in range(shops):
        url = f"https://shop{s}.example/"
        targets.append(Target(TargetKind.STOREFRONT, url))
        for check_id, area, severity in CHECKS:
            for key in range(2):
                failing = rng.random() < max(0.05, 0.5 - week * 0.008)
                results.append(
                    Result(
                        check_id,
                        check_id.title(),
                        area,
                        severity,
                        Status.FAIL if failing else Status.PASS,
                        url,
                        TargetKind.STOREFRONT,
                        message="bench",
                        key=str(key),
                        evidence={"week": week},
                    )
                )
    checks = {c: a.value for c, a, _ in CHECKS}
    return ScanReport(
        apply_obligations(results), targets, start, start + dt.timedelta(minutes=5), checks=checks
    )


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--weeks", type=int, default=52)
    parser.add_argument("--shops", type=int, default=50)
    args = parser.parse_args()
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp:
        history = History.open(f"sqlite:///{tmp}/history.sqlite")
        scans = [weekly_scan(w, args.shops, rng) for w in range(args.weeks)]
        started = time.perf_counter()
        for report in scans[:-1]:
            history.record(report)
        fill = time.perf_counter() - started
        started = time.perf_counter()
        history.record(scans[-1])
        one = time.perf_counter() - started
        total = sum(len(s.results) for s in scans)
        print(f"history: {args.weeks} weekly scans, {total} results ({fill:.1f} s to fill)")
        print(f"record one scan ({len(scans[-1].results)} results): {one:.2f} s")
        last = scans[-1].started_at
        period = Period.parse(f"{last.year}-Q{(last.month - 1) // 3 + 1}")
        started = time.perf_counter()
        report = build_report(history, period)
        write(report, "html", Path(tmp) / "report.html")
        elapsed = time.perf_counter() - started
        size = (Path(tmp) / "report.html").stat().st_size
        print(
            f"quarterly HTML report {period.name}: {elapsed:.2f} s, {size / 1024:.0f} KiB; "
            f"peak RSS {peak_mib():.0f} MiB"
        )


if __name__ == "__main__":
    main()
