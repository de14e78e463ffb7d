"""Time the obligation matrices (all four frameworks) over a large scan: every catalogue check on
each of N storefronts, plus the controls checks, with a mix of passes, failures, waivers and
skips (run by hand).

    python benchmarks/bench_matrix.py [--shops 50]

The matrix is computed for `posture compliance`, the Action's summary, every report and OSCAL
export, so it should stay well under a second for a large estate.
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from posture.compliance import apply_obligations, build_matrices, catalogue  # noqa: E402
from posture.model import Area, Result, Severity, Status, TargetKind, Waiver  # noqa: E402


def results(shops: int, seed: int = 7) -> tuple[list[Result], list[tuple[str, str]]]:
    rng = random.Random(seed)
    out = []
    targets = [("controls", "controls")] + [
        ("storefront", f"https://shop{i}.example") for i in range(shops)
    ]
    for cid, spec in catalogue().items():
        names = [n for k, n in targets if k == spec.target] or [spec.target]
        for name in names:
            for key in (None, "dpa", "admins", "off"):
                status = rng.choice(
                    [Status.PASS] * 6 + [Status.FAIL, Status.SKIPPED, Status.WAIVED]
                )
                out.append(
                    Result(
                        cid,
                        cid,
                        Area(spec.area),
                        rng.choice(list(Severity)),
                        status,
                        name,
                        TargetKind(spec.target),
                        message="synthetic",
                        key=key,
                        evidence={"personal_data": rng.choice([["contact"], ["card"]])},
                        waiver=Waiver("bench", "bench", "ciso", "2027-01-31")
                        if status is Status.WAIVED
                        else None,
                    )
                )
    return out, targets


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--shops", type=int, default=50)
    args = parser.parse_args()
    catalogue()  # registry import cost is start-up, not matrix, time
    data, targets = results(args.shops)
    data = apply_obligations(data)
    start = time.perf_counter()
    matrices = build_matrices(
        data,
        ["gdpr", "ccpa", "pci-dss", "ccpa-cyber-audit"],
        check_areas={c: s.area for c, s in catalogue().items()},
        declared={"personal_data": ["contact", "card"]},
        targets=targets,
    )
    took = time.perf_counter() - start
    rows = sum(len(m.rows) for m in matrices)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{len(data)} results, {rows} rows: {took:.2f} s, peak RSS {rss:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
