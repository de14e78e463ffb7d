"""Wall time of ``posture scan`` against storefronts that trickle one byte every 0.2 s (run by
hand): the figures in docs/security.md.

    python benchmarks/bench_trickle.py [--timeout 1 2]

Bound (issue 14, point 9): every request ends within 3 x --timeout; a host cut once gets no
further request, so a shop trickling every probe costs one deadline.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.testbed.pyservers import trickling_server  # noqa: E402

CASES = [
    ("home page trickles its headers", "headers", ()),
    ("home page trickles its body", "body", ()),
    ("home answers, every probe trickles", "body", ("/",)),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--timeout", type=float, nargs="+", default=[1.0, 2.0])
    args = parser.parse_args()
    print("| case | --timeout | wall time | errors |")
    print("| --- | ---: | ---: | ---: |")
    for title, mode, answered in CASES:
        listener, port = trickling_server(mode, answered=answered)
        try:
            for timeout in args.timeout:
                started = time.monotonic()
                proc = subprocess.run(
                    [sys.executable, "-m", "posture", "scan", "--target",
                     f"http://127.0.0.1:{port}/", "--timeout", str(timeout), "--only", "web",
                     "-f", "json", "--no-record"],
                    capture_output=True, text=True, check=False, timeout=900,
                )  # fmt: skip
                elapsed = time.monotonic() - started
                results = json.loads(proc.stdout)["results"] if proc.stdout else []
                errors = sum(r["status"] == "error" for r in results)
                print(f"| {title} | {timeout:g} | {elapsed:.1f} s | {errors} |")
        finally:
            listener.close()


if __name__ == "__main__":
    main()
