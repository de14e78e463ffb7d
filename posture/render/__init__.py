"""Output formats. One module per format, named after it, each with ``EXTENSION`` and
``render(report, ctx) -> str``. Modules whose name starts with ``_`` are helpers, not formats.
A format module is imported only when it is used.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
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
    new_only: bool = False  # with a baseline: only new findings block (the verdict line says so)
    view: str = "auto"  # terminal format only: auto, summary, details, quiet


def render(report: ScanReport, fmt: str, ctx: RenderContext) -> str:
    text: str = _module(fmt).render(report, ctx)
    return text


def check_formats(formats: list[str], output: str | None, output_dir: str | None) -> None:
    """Fail on a bad format request before a long scan, not after it."""
    for fmt in formats:
        _module(fmt)
    if len(set(formats)) > 1 and not output_dir:
        raise UsageError("several formats need --output-dir DIR")
    if output_dir:
        refuse_symlink(Path(output_dir), "--output-dir")
        for fmt in formats:
            if fmt != "terminal":
                refuse_symlink(Path(output_dir) / f"posture.{_module(fmt).EXTENSION}", "output")
    elif output:
        refuse_symlink(Path(output), "--output")


def refuse_symlink(path: Path, what: str) -> None:
    """Reports are never written through a symlink: a committed link would send them elsewhere."""
    if path.is_symlink():
        raise UsageError(f"{what} {path}: is a symlink; posture never writes a report through one")


def write_file(path: Path, text: str | Callable[[TextIO], None]) -> None:
    """Write ``text`` (or what a writer function streams) to ``path`` through a temporary file in
    the same folder, then rename it.

    The rename replaces a symlink itself, never what it points to, and a reader never sees a
    half-written report."""
    import os
    import tempfile

    refuse_symlink(path, "output")
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            if isinstance(text, str):
                handle.write(text)
            else:
                text(handle)
        os.chmod(temp, 0o644)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def write_outputs(
    report: ScanReport,
    formats: list[str],
    output: str | None,
    output_dir: str | None,
    fail_on: Severity,
    stdout: TextIO | None = None,
    new_only: bool = False,
    view: str = "auto",
) -> list[Path]:
    """Write each format where asked; return the files written.

    Machine formats are never mixed with the terminal view on stdout: with no file given, one
    format goes to stdout; with --output-dir every format goes to a file and the terminal view is
    printed as well. ``view`` is the terminal view (auto, summary, details, quiet); beside a
    machine format written to a file, ``auto`` means the grouped summary.
    """
    beside = "summary" if view == "auto" else view
    stdout = stdout or sys.stdout
    check_formats(formats, output, output_dir)
    formats = list(dict.fromkeys(formats))
    written: list[Path] = []
    ctx = RenderContext(fail_on, new_only=new_only, view=view)
    if output_dir:
        directory = Path(output_dir)
        directory.mkdir(parents=True, exist_ok=True)
        refuse_symlink(directory, "--output-dir")
        for fmt in formats:
            if fmt == "terminal":
                continue
            path = directory / f"posture.{_module(fmt).EXTENSION}"
            _write_file(report, fmt, ctx, path)
            written.append(path)
        _print_terminal(report, fail_on, stdout, view if "terminal" in formats else beside, new_only)
        return written
    fmt = formats[0]
    if output:
        Path(output).parent.mkdir(parents=True, exist_ok=True)
        _write_file(report, fmt, ctx, Path(output))
        written.append(Path(output))
        if fmt != "terminal":
            _print_terminal(report, fail_on, stdout, beside, new_only)
        return written
    if fmt == "terminal":
        _print_terminal(report, fail_on, stdout, view, new_only)
    else:
        stdout.write(render(report, fmt, ctx))
        if not stdout.isatty():
            stdout.flush()
    return written


def _write_file(report: ScanReport, fmt: str, ctx: RenderContext, path: Path) -> None:
    """Formats with a ``write(report, ctx, handle)`` stream into the file; others render first."""
    module = _module(fmt)
    if hasattr(module, "write"):
        write_file(path, lambda handle: module.write(report, ctx, handle))
    else:
        write_file(path, render(report, fmt, ctx))


def _print_terminal(
    report: ScanReport, fail_on: Severity, stdout: TextIO, view: str, new_only: bool = False
) -> None:
    from posture.render.terminal import VIEWS, print_report

    print_report(report, fail_on, stdout, view=view if view in VIEWS else "auto", new_only=new_only)
