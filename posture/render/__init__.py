"""Output formats. One module per format, named after it, each with ``EXTENSION`` and
``render(report, ctx) -> str``. Modules whose name starts with ``_`` are helpers, not formats.
A format module is imported only when it is used.
"""

from __future__ import annotations

import importlib
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from posture.errors import UsageError
from posture.model import Severity
from posture.scanreport import ScanReport


def format_names() -> list[str]:
    import pkgutil

    here = __path__
    return sorted(m.name for m in pkgutil.iter_modules(here) if not m.name.startswith("_"))


def _module(fmt: str) -> Any:
    if fmt not in format_names():
        raise UsageError(f"unknown format {fmt!r} (known: {', '.join(format_names())})")
    return importlib.import_module(f"posture.render.{fmt}")


@dataclass(frozen=True)
class RenderContext:
    fail_on: Severity = Severity.HIGH
    color: bool = False
    width: int | None = None


def render(report: ScanReport, fmt: str, ctx: RenderContext) -> str:
    text: str = _module(fmt).render(report, ctx)
    return text


def check_formats(formats: list[str], output: str | None, output_dir: str | None) -> None:
    """Fail on a bad format request before a long scan, not after it."""
    for fmt in formats:
        _module(fmt)
    if len(set(formats)) > 1 and not output_dir:
        raise UsageError("several formats need --output-dir DIR")


def write_outputs(
    report: ScanReport,
    formats: list[str],
    output: str | None,
    output_dir: str | None,
    fail_on: Severity,
    stdout: TextIO | None = None,
) -> list[Path]:
    """Write each format where asked; return the files written.

    Machine formats are never mixed with the terminal view on stdout: with no file given, one
    format goes to stdout; with --output-dir every format goes to a file and the terminal view is
    printed as well.
    """
    stdout = stdout or sys.stdout
    check_formats(formats, output, output_dir)
    formats = list(dict.fromkeys(formats))
    written: list[Path] = []
    if output_dir:
        directory = Path(output_dir)
        directory.mkdir(parents=True, exist_ok=True)
        for fmt in formats:
            if fmt == "terminal":
                continue
            path = directory / f"posture.{_module(fmt).EXTENSION}"
            _write_file(report, fmt, RenderContext(fail_on), path)
            written.append(path)
        _print_terminal(report, fail_on, stdout)
        return written
    fmt = formats[0]
    if output:
        Path(output).parent.mkdir(parents=True, exist_ok=True)
        _write_file(report, fmt, RenderContext(fail_on), Path(output))
        written.append(Path(output))
        if fmt != "terminal":
            _print_terminal(report, fail_on, stdout)
        return written
    if fmt == "terminal":
        _print_terminal(report, fail_on, stdout)
    else:
        stdout.write(render(report, fmt, RenderContext(fail_on)))
        if not stdout.isatty():
            stdout.flush()
    return written


def _write_file(report: ScanReport, fmt: str, ctx: RenderContext, path: Path) -> None:
    """Formats with a ``write(report, ctx, handle)`` stream into the file; others render first."""
    module = _module(fmt)
    if hasattr(module, "write"):
        with path.open("w", encoding="utf-8") as handle:
            module.write(report, ctx, handle)
    else:
        path.write_text(render(report, fmt, ctx), encoding="utf-8")


def _print_terminal(report: ScanReport, fail_on: Severity, stdout: TextIO) -> None:
    from posture.render.terminal import print_report

    print_report(report, fail_on, stdout)
