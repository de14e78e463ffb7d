"""posture demo: scan a deliberately misconfigured shop that runs on loopback, with example files.

No network and no setup. Writes the example posture.yaml, its files and the results into a
folder (default ./posture-demo) so you can read, edit and rescan them.
"""

from __future__ import annotations

import argparse
from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser(
        "demo", help="scan the built-in demo shop and example files", description=__doc__
    )
    p.add_argument(
        "--dir",
        default="posture-demo",
        metavar="DIR",
        help="where to write the demo files (default ./posture-demo)",
    )
    p.add_argument(
        "--keep-serving",
        action="store_true",
        help="keep the demo shop running after the scan, until Ctrl-C",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import sys
    from importlib import resources
    from pathlib import Path

    from posture.config import load_config
    from posture.demo.shop import DemoShop
    from posture.engine import ScanRequest, scan
    from posture.model import Severity
    from posture.plugin import ScanOptions
    from posture.render import write_outputs
    from posture.render._progress import progress_display

    out = Path(args.dir)
    out.mkdir(parents=True, exist_ok=True)
    _copy_tree(resources.files("posture.demo").joinpath("files"), out)
    with DemoShop(out / "demo-shop-certs") as shop:
        template = (out / "posture.yaml.in").read_text(encoding="utf-8")
        (out / "posture.yaml.in").unlink()
        config_path = out / "posture.yaml"
        config_path.write_text(
            template.replace("{shop_url}", shop.url).replace("{http_url}", shop.http_url),
            encoding="utf-8",
        )
        config = load_config(config_path)
        assert shop.ca_path is not None
        from posture.demo.shop import THIRD_PARTY_HOSTS

        options = ScanOptions(
            timeout=5.0,
            ca_bundle=str(shop.ca_path),
            # The pages' third parties resolve to loopback in the browser: nothing leaves.
            resolve={(host, 0): "127.0.0.1" for host in THIRD_PARTY_HOSTS},
            history_db=str((out / "history.sqlite").resolve()),
            evidence_dir=str(out),
        )
        with progress_display(sys.stderr) as progress:
            report = scan(ScanRequest(config=config, options=options, progress=progress))
        report.meta["demo"] = {"http_url": shop.http_url}
        result_path = out / "posture-result.json"
        write_outputs(report, ["json"], str(result_path), None, Severity.HIGH, stdout=sys.stdout)
        report_path = _audit_report(report, out)
        sys.stdout.write(
            f"\nDemo files, posture.yaml and results: {out}/ (results: {result_path}, "
            f"report: {report_path})\n"
        )
        from posture.checks.collectors.chromium import INSTALL_HINT, find_browser

        if find_browser(None)[0] is None:
            sys.stdout.write(
                "Browser checks (trackers before consent, GPC, payment-page scripts) were skipped: "
                f"{INSTALL_HINT} to see them.\n"
            )
        if args.keep_serving:
            import time

            sys.stdout.write(f"Demo shop at {shop.url} - Ctrl-C to stop\n")
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                pass
    return 0


def _audit_report(report: Any, out: Any) -> Any:
    """Record the scan in a history database inside the demo folder (never the user's) and
    write the quarter's HTML report from it."""
    from posture.history import History
    from posture.reporting.formats import write
    from posture.reporting.model import Period, build_report

    history = History.open(str((out / "history.sqlite").resolve()))
    history.record(report)
    started = report.started_at
    period = Period.parse(f"{started.year}-Q{(started.month - 1) // 3 + 1}")
    path = out / f"posture-report-{period.name}.html"
    write(build_report(history, period, declared=report.meta.get("declarations")), "html", path)
    return path


def _copy_tree(source: Any, target: Any) -> None:
    for entry in source.iterdir():
        if entry.name.startswith(("__", ".")):
            continue
        destination = target / entry.name
        if entry.is_dir():
            destination.mkdir(exist_ok=True)
            _copy_tree(entry, destination)
        else:
            destination.write_bytes(entry.read_bytes())
