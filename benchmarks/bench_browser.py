"""Browser collector throughput and memory, by hand: pages per second and peak RSS (posture plus
every Chromium process) for 1 and 20 storefronts of 3 pages on loopback, concurrency 4.

    python benchmarks/bench_browser.py [--shops 1 20] [--concurrency 4]

Each storefront page is visited twice (fresh visitor, then with Global Privacy Control), so a
"page" here costs two visits. The shops are the tests' HTTPS site (tests/testbed/browser_site.py):
a tag manager page, a GPC page and a payment page with a processor frame.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from posture.engine import ScanRequest, scan  # noqa: E402
from posture.model import TargetKind  # noqa: E402
from posture.plugin import ScanOptions  # noqa: E402
from posture.runner import Selection  # noqa: E402
from tests.testbed.browser_site import start_site  # noqa: E402

FIELD = "Pss:"


def _tree_rss_kb(root: int) -> int:
    """RSS of ``root`` and all its descendants (Chromium's browser, renderer, GPU... processes)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            # PSS: shared pages split between the processes sharing them, so Chromium's many
            # processes are not counted several times over (their summed RSS is also printed).
            with open(f"/proc/{entry}/smaps_rollup") as f:
                kb = next((int(line.split()[1]) for line in f if line.startswith(FIELD)), 0)
        except (OSError, IndexError, ValueError):
            continue
        pid, ppid = int(entry), int(fields[1])
        children.setdefault(ppid, []).append(pid)
        rss[pid] = kb
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        stack.extend(children.get(pid, []))
    return total


def run(shops: int, concurrency: int) -> tuple[float, float, int]:
    site = start_site()
    try:
        from posture.config import Config, StorefrontConfig
        from posture.model import Target

        targets = [
            Target(
                TargetKind.STOREFRONT,
                site.url(f"/tm/?shop={i}"),
                StorefrontConfig(
                    url=site.url(f"/tm/?shop={i}"),
                    pages={"gpc": f"/gpc-bad/?shop={i}", "checkout": f"/pay/checkout?shop={i}"},
                    payment_pages=["checkout"],
                    serves_eea=True,
                ).model_dump(),
            )
            for i in range(shops)
        ]
        options = ScanOptions(
            timeout=10,
            concurrency=concurrency,
            resolve=site.resolve,
            ca_bundle=str(site.ca_path),
        )
        peak = 0
        done = threading.Event()

        def sample() -> None:
            nonlocal peak
            while not done.is_set():
                peak = max(peak, _tree_rss_kb(os.getpid()))
                time.sleep(0.1)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        started = time.perf_counter()
        from posture.engine import build_targets  # noqa: F401 - the targets are given directly
        from posture.policy import Policy
        from posture.registry import load_registry
        from posture.runner import Runner

        runner = Runner(
            load_registry(),
            options,
            Policy.load(),
            Config(),
            Selection(only=("WEB-BROWSER-VISIT", "PRIV-*", "PAY-PAGE-*", "WEB-FORM-DESTINATION")),
        )
        output = runner.run(targets)
        elapsed = time.perf_counter() - started
        done.set()
        sampler.join()
        errors = [r for r in output.results if r.status.value == "error"]
        if os.environ.get("BENCH_DEBUG"):
            for r in output.results[:8]:
                print(r.check_id, r.status.value, r.message[:150])
        pages = shops * 3
        _ = (ScanRequest, scan)
        return elapsed, pages / elapsed, peak // 1024 if not errors else -len(errors)
    finally:
        site.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--shops", type=int, nargs="+", default=[1, 20])
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()
    print(
        f"{'shops':>5} {'pages':>5} {'seconds':>8} {'pages/s':>8} {'s/page':>7} {'peak PSS MB':>11}"
    )
    for shops in args.shops:
        elapsed, rate, peak = run(shops, args.concurrency)
        print(
            f"{shops:>5} {shops * 3:>5} {elapsed:>8.1f} {rate:>8.2f} {elapsed / (shops * 3):>7.2f} {peak:>11}"
        )


if __name__ == "__main__":
    main()
