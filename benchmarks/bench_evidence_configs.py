"""Evidence configs: time to read one file with the daemons' parsers (sshd -T, nginx -t) and with
posture's own, over the test fixtures (one file per topic). Run by hand:

    python benchmarks/bench_evidence_configs.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from posture.checks.collectors.evidence_files import parse_evidence  # noqa: E402

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "configs"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    files = sorted(
        (fmt.name, p)
        for fmt in FIXTURES.iterdir()
        if fmt.is_dir()
        for p in fmt.iterdir()
        if p.suffix in (".good", ".bad")
    )
    for mode in ("daemon", "posture"):
        if mode == "posture":
            os.environ["POSTURE_CONFIG_PARSER"] = "posture"
        else:
            os.environ.pop("POSTURE_CONFIG_PARSER", None)
        per_kind: dict[str, list[float]] = {}
        for _ in range(args.rounds):
            for kind, path in files:
                start = time.perf_counter()
                parse_evidence(path, kind, FIXTURES)
                per_kind.setdefault(kind, []).append(time.perf_counter() - start)
        for kind, times in sorted(per_kind.items()):
            print(
                f"{mode:8} {kind:10} files={len(times) // args.rounds:3} "
                f"median={statistics.median(times) * 1000:6.1f} ms  max={max(times) * 1000:6.1f} ms"
            )


if __name__ == "__main__":
    main()
