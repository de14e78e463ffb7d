"""What every scanning command shares: turning arguments into a ScanRequest, and exit codes."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from posture.config import Config, load_config
from posture.engine import ScanRequest, load_policy, scan
from posture.errors import UsageError
from posture.model import Severity, Target
from posture.plugin import ScanOptions
from posture.runner import Selection
from posture.scanreport import ScanReport
from posture.shard import Shard

DEFAULT_CONFIG = "posture.yaml"


def parse_resolve(values: list[str]) -> dict[tuple[str, int], str]:
    """curl's --resolve: ``host:port:addr``; addr may be ``[::1]`` or bare ``::1``."""
    pinned: dict[tuple[str, int], str] = {}
    for value in values:
        host, sep1, rest = value.partition(":")
        port_text, sep2, addr = rest.partition(":")
        if not (sep1 and sep2 and host and addr):
            raise UsageError(f"--resolve {value!r}: expected HOST:PORT:ADDR")
        try:
            port = int(port_text) if port_text != "*" else 0
        except ValueError:
            raise UsageError(f"--resolve {value!r}: port {port_text!r} is not a number") from None
        pinned[(host.lower(), port)] = addr.strip("[]")
    return pinned


def load_config_arg(args: argparse.Namespace) -> Config | None:
    root = getattr(args, "root", None)
    if args.config:
        return load_config(args.config, root=root)
    from_cli = args.target or args.iac or getattr(args, "targets_file", None) or getattr(args, "imports", None)
    if not from_cli and Path(DEFAULT_CONFIG).is_file():
        return load_config(DEFAULT_CONFIG, root=root)
    if root:
        raise UsageError("--root needs a posture.yaml (-c FILE)")
    return None


def fail_threshold(args: argparse.Namespace, config: Config | None) -> Severity:
    value = getattr(args, "fail_on", None)
    if value is None:
        value = str(load_policy(config).get("scan.fail_on", "high"))
    try:
        return Severity.parse(value)
    except ValueError as exc:
        raise UsageError(f"--fail-on: {exc}") from None


def request_from_args(args: argparse.Namespace, config: Config | None) -> ScanRequest:
    if args.ca_bundle and not Path(args.ca_bundle).is_file():
        raise UsageError(f"--ca-bundle {args.ca_bundle}: no such file")
    if args.timeout <= 0 or args.concurrency < 1:
        raise UsageError("--timeout must be positive and --concurrency at least 1")
    browser = getattr(args, "browser", None)
    if browser and not (Path(browser).is_file() and os.access(browser, os.X_OK)):
        raise UsageError(f"--browser {browser}: not an executable file")
    options = ScanOptions(
        timeout=args.timeout,
        concurrency=args.concurrency,
        resolve=parse_resolve(args.resolve),
        ca_bundle=args.ca_bundle,
        browser=browser,
        history_db=_history_db(args),
        evidence_dir=_evidence_dir(args),
    )
    return ScanRequest(
        config=config,
        urls=args.target,
        iac_paths=args.iac,
        options=options,
        selection=Selection(
            tuple(args.only),
            tuple(args.skip),
            ("browser",) if getattr(args, "no_browser", False) else (),
        ),
        checks_dirs=args.checks_dir,
        waiver_files=args.waivers,
        baseline=getattr(args, "baseline", None),
        imports=getattr(args, "imports", None) or [],
        targets_file=getattr(args, "targets_file", None),
    )


def _history_db(args: argparse.Namespace) -> str | None:
    """Where earlier scans are (payment-page changes are judged against the last one)."""
    if not hasattr(args, "db"):
        return None
    from posture.history.store import database_url

    return database_url(args.db)


def _evidence_dir(args: argparse.Namespace) -> str | None:
    """Screenshots go beside the outputs: --output-dir, or the folder of --output."""
    if getattr(args, "output_dir", None):
        return str(args.output_dir)
    if getattr(args, "output", None):
        return str(Path(args.output).parent)
    return None


def scan_from_args(
    args: argparse.Namespace,
    shard: Shard | None = None,
    on_targets: Callable[[Sequence[Target]], None] | None = None,
) -> tuple[ScanReport, Severity]:
    from posture.render._progress import progress_display

    config = load_config_arg(args)
    fail_on = fail_threshold(args, config)
    request = request_from_args(args, config)
    request.shard = shard
    request.on_targets = on_targets
    with progress_display(sys.stderr) as progress:
        request.progress = progress
        report = scan(request)
    return report, fail_on


def exit_code(report: ScanReport, fail_on: Severity, new_only: bool = False) -> int:
    return report.gate_code(fail_on, new_only)
