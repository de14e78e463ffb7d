"""Browser collector throughput and memory, by hand: pages per second and peak RSS (posture plus
every Chromium process) for 1 and 20 storefronts of 3 pages on loopback, concurrency 4.

    python benchmarks/bench_browser.py [--shops 1 20] [--concurrency 4]
    BENCH_BROWSER=/usr/bin/chromium python benchmarks/bench_browser.py   # another Chromium binary

Each storefront page is visited twice (fresh visitor, then with Global Privacy Control), so a
"page" here costs two visits. The shops are the tests' HTTPS site (tests/testbed/browser_site.py):
a tag manager page, a GPC page and a payment page with a processor frame. The site runs in a child
process of its own, so its threads and buffers are not counted: the peak is posture's process,
Playwright's driver and every Chromium process.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from posture.model import TargetKind  # noqa: E402
from posture.plugin import ScanOptions  # noqa: E402
from posture.runner import Selection  # noqa: E402
from tests.testbed.browser_site import Site, start_site  # noqa: E402

FIELD = "Pss:"


def _tree_pss_kb(root: int, leave_out: int) -> tuple[int, dict[str, int]]:
    """PSS of ``root`` and all its descendants (Playwright's driver; Chromium's browser, renderer,
    GPU... processes), in total and per kind of process; ``leave_out`` is the test site."""
    children: dict[int, list[int]] = {}
    pss: dict[int, tuple[int, str]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            # PSS: shared pages split between the processes sharing them, so Chromium's many
            # processes are not counted several times over.
            with open(f"/proc/{entry}/smaps_rollup") as f:
                kb = next((int(line.split()[1]) for line in f if line.startswith(FIELD)), 0)
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                kind = _kind(f.read(4096))
        except (OSError, IndexError, ValueError):
            continue
        pid, ppid = int(entry), int(fields[1])
        children.setdefault(ppid, []).append(pid)
        pss[pid] = (kb, kind)
    total, kinds, stack = 0, {}, [root]
    while stack:
        pid = stack.pop()
        if pid == leave_out:
            continue
        kb, kind = pss.get(pid, (0, ""))
        total += kb
        if kind:
            kinds[kind] = kinds.get(kind, 0) + kb
        stack.extend(children.get(pid, []))
    return total, kinds


def _serve_site() -> None:
    """Child process: serve the test site and print its port and CA, until stdin closes. The site
    runs apart so its threads and TLS buffers are not counted as posture's memory."""
    site = start_site()
    print(json.dumps({"port": site.port, "ca": str(site.ca_path)}), flush=True)
    sys.stdin.read()
    site.close()


def _start_site_process() -> tuple[subprocess.Popen[str], Site]:
    child = subprocess.Popen(  # noqa: S603 - this interpreter and this file
        [sys.executable, __file__, "--serve-site"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    info = json.loads(child.stdout.readline())
    return child, Site(port=info["port"], ca_path=Path(info["ca"]), server=None)  # type: ignore[arg-type]


def _kind(cmdline: bytes) -> str:
    text = cmdline.replace(b"\0", b" ").decode(errors="replace")
    found = re.search(r"--type=(\S+)", text)
    if found:
        return found.group(1)
    name = os.path.basename(text.split(" ")[0])
    return name if name in ("node",) or name.startswith("python") else "browser"


def run(shops: int, concurrency: int) -> tuple[float, float, int, dict[str, int]]:
    child, site = _start_site_process()
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
            browser=os.environ.get("BENCH_BROWSER"),
            evidence_dir=tempfile.mkdtemp(prefix="posture-bench-shots-"),  # screenshots, as a scan
        )
        peak = 0
        at_peak: dict[str, int] = {}
        done = threading.Event()

        def sample() -> None:
            nonlocal peak, at_peak
            while not done.is_set():
                total, kinds = _tree_pss_kb(os.getpid(), child.pid)
                if total > peak:
                    peak, at_peak = total, kinds
                time.sleep(0.1)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        started = time.perf_counter()
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
        return elapsed, pages / elapsed, peak // 1024 if not errors else -len(errors), at_peak
    finally:
        assert child.stdin is not None
        child.stdin.close()
        child.wait(10)


def main() -> None:
    if sys.argv[1:] == ["--serve-site"]:
        _serve_site()
        return
    parser = argparse.ArgumentParser()
    parser.add_argument("--shops", type=int, nargs="+", default=[1, 20])
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()
    print(
        f"{'shops':>5} {'pages':>5} {'seconds':>8} {'pages/s':>8} {'s/page':>7} {'peak PSS MB':>11}"
        "  at the peak, per kind of process (MB)"
    )
    for shops in args.shops:
        elapsed, rate, peak, kinds = run(shops, args.concurrency)
        split = ", ".join(
            f"{kind} {kb // 1024}" for kind, kb in sorted(kinds.items(), key=lambda kv: -kv[1])
        )
        print(
            f"{shops:>5} {shops * 3:>5} {elapsed:>8.1f} {rate:>8.2f} {elapsed / (shops * 3):>7.2f}"
            f" {peak:>11}  {split}"
        )


if __name__ == "__main__":
    main()
