"""posture's storefront scan (TLS + HTTP) vs the sslyze CLI's default scan, same loopback hosts.

    python benchmarks/bench_storefront.py [--hosts 1 20] [--rtt-ms 10]

Starts Debian nginx with N server blocks on the Mozilla intermediate profile (full security
headers), counts TLS connections at the server (nginx stub_status 'accepts', read on a separate
plain port), and measures wall time and peak RSS (wait4) of each tool in its own process
(wall: median of --repeat runs).
Target (issue 4): posture <= 0.5x sslyze's wall time and <= 1/5 of its connections per host.

Also printed: the floor, a fresh interpreter that only imports sslyze and requests (what any tool
built on sslyze's Python API pays before its first connection). With ``--rtt-ms N`` both tools
reach the hosts through benchmarks/latency_relay.py, as if the shop were N ms away; connections
are still counted at nginx.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from posture.demo.certs import issue, make_ca  # noqa: E402
from tests.testbed.nginx import Nginx  # noqa: E402
from tests.testbed.shops import GOOD_HEADERS, GOOD_PAGE, _directive, _tls  # noqa: E402


def accepted(status_url: str) -> int:
    with urllib.request.urlopen(status_url, timeout=5) as response:  # noqa: S310 - loopback
        lines = response.read().decode().splitlines()
    return int(lines[2].split()[0])


def run(argv: list[str]) -> tuple[float, float]:
    started = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - started
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1, 3):
        raise SystemExit(f"{argv[:3]} exited {code}")
    return elapsed, usage.ru_maxrss / 1024


def in_process(
    n: int, ports: list[int], config: Path, ca_path: Path, status: str
) -> list[tuple[str, float, float]]:
    """The scan work alone, without interpreter start-up and imports: both tools in this process.

    sslyze through its Python API with the commands its CLI runs by default (all of them);
    posture through engine.scan with the same selection as the CLI run above.
    """
    from sslyze import Scanner, ServerNetworkLocation, ServerScanRequest

    from posture.config import load_config
    from posture.engine import ScanRequest, scan
    from posture.plugin import ScanOptions
    from posture.runner import Selection

    rows = []
    request = ScanRequest(
        config=load_config(config),
        options=ScanOptions(ca_bundle=str(ca_path), concurrency=8),
        selection=Selection(("tls", "web", "ACCESS-ADMIN-EXPOSED")),
    )
    scan(request)  # warm imports, trust stores and policy data
    before = accepted(status)
    started = time.perf_counter()
    scan(request)
    rows.append(("posture", time.perf_counter() - started, (accepted(status) - before - 1) / n))
    scanner = Scanner()
    scanner.queue_scans(
        [ServerScanRequest(ServerNetworkLocation("localhost", port)) for port in ports[:n]]
    )
    before = accepted(status)
    started = time.perf_counter()
    for _ in scanner.get_results():
        pass
    rows.append(("sslyze", time.perf_counter() - started, (accepted(status) - before - 1) / n))
    return rows


def start_relay(ports: list[int], rtt_ms: float) -> tuple[subprocess.Popen[str], dict[int, int]]:
    relay = subprocess.Popen(
        [
            sys.executable,
            str(REPO / "benchmarks" / "latency_relay.py"),
            "--rtt-ms",
            str(rtt_ms),
            *map(str, ports),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert relay.stdout is not None
    mapping = {int(k): v for k, v in json.loads(relay.stdout.readline()).items()}
    return relay, mapping


def floor() -> float:
    """Best of 5: a fresh interpreter importing sslyze and requests, nothing else."""
    return min(run([sys.executable, "-c", "import sslyze, requests"])[0] for _ in range(5))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--hosts", type=int, nargs="+", default=[1, 20])
    parser.add_argument("--rtt-ms", type=float, default=0.0)
    parser.add_argument("--repeat", type=int, default=5, help="runs per row; the median is shown")
    args = parser.parse_args()
    counts = args.hosts
    # As pip leaves an installed package: byte-compiled (an editable tree under
    # PYTHONDONTWRITEBYTECODE would be compiled from source on every run).
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(REPO / "posture")], check=True)
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["POSTURE_BENCH_DIR"] = tmp
        root = Path(tmp)
        ca = make_ca("bench CA")
        ca_path = root / "ca.pem"
        ca_path.write_bytes(ca.cert_pem())
        cert, key = issue(ca, ["localhost", "127.0.0.1"], days=90).write(root, "leaf")
        nginx = Nginx(root / "nginx")
        ports = [
            nginx.add(
                f"shop{i}",
                _tls(cert, key)
                + GOOD_HEADERS
                + f"    location / {{ return 200 '{_directive(GOOD_PAGE)}'; }}\n",
            )
            for i in range(max(counts))
        ]
        status_port = nginx.add("status", "    location / { stub_status; }", tls=False)
        nginx.start()
        status = f"http://127.0.0.1:{status_port}/"
        relay = None
        if args.rtt_ms:
            relay, relayed = start_relay(ports, args.rtt_ms)
            ports = [relayed[p] for p in ports]
            print(f"through a relay adding {args.rtt_ms:g} ms round trip")
        posture = [sys.executable, "-m", "posture"]
        print(f"{'tool':<8} {'hosts':>5} {'wall s':>8} {'peak RSS MiB':>13} {'TLS conns/host':>15}")
        try:
            for n in counts:
                targets = [f"localhost:{p}" for p in ports[:n]]
                config = root / f"posture-{n}.yaml"
                config.write_text(
                    "version: 1\nstorefronts:\n"
                    + "".join(
                        f"  - url: https://{t}/\n    http_url: http://127.0.0.1:{status_port}/\n"
                        for t in targets
                    )
                )
                for tool, argv in (
                    (
                        "posture",
                        [
                            *posture,
                            "scan",
                            "--no-record",  # history recording (SQLAlchemy) costs ~0.12 s more
                            "-c",
                            str(config),
                            "--ca-bundle",
                            str(ca_path),
                            "--only",
                            "tls",
                            "--only",
                            "web",
                            "--only",
                            "ACCESS-ADMIN-EXPOSED",
                            "--concurrency",
                            "8",
                            "--format",
                            "json",
                            "-o",
                            str(root / "out.json"),
                        ],
                    ),
                    ("sslyze", [sys.executable, "-m", "sslyze", *targets]),
                ):
                    before = accepted(status)
                    wall, rss = run(argv)
                    # status requests themselves are counted: one per reading
                    conns = (accepted(status) - before - 1) / n
                    # median of --repeat runs (the first one counted the connections)
                    runs = [wall] + [run(argv)[0] for _ in range(args.repeat - 1)]
                    wall = sorted(runs)[len(runs) // 2]
                    if tool == "posture":
                        doc = json.loads((root / "out.json").read_text())
                        errors = [r["message"] for r in doc["results"] if r["status"] == "error"]
                        if errors:
                            print(f"  posture errors: {len(errors)}, e.g. {errors[0]}")
                    print(f"{tool:<8} {n:>5} {wall:>8.2f} {rss:>13.1f} {conns:>15.1f}")
            print(f"floor: fresh interpreter importing sslyze + requests: {floor():.2f} s")
            if relay is not None:
                print("(in-process figures are taken on loopback only: run without --rtt-ms)")
                return
            print("in one process, after imports (scan work only):")
            for n in counts:
                config = root / f"posture-{n}.yaml"
                for tool, wall, conns in in_process(n, ports, config, ca_path, status):
                    print(f"{tool:<8} {n:>5} {wall:>8.2f} {'-':>13} {conns:>15.1f}")
        finally:
            if relay is not None:
                relay.kill()
                relay.wait()
            nginx.stop()


if __name__ == "__main__":
    main()
