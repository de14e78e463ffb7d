"""A live progress display on stderr, shown only when stderr is a terminal.

Estate-wide: targets done of the total, errors so far, an estimate of the time left, and the
collectors running now.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

from posture.model import Target
from posture.runner import ProgressCallback
from posture.sanitize import clean_text


@contextmanager
def progress_display(stream: TextIO, enabled: bool = True) -> Iterator[ProgressCallback | None]:
    """A transient bar while the scan runs; nothing at all unless ``stream`` is a terminal, so
    pipes and CI logs never receive control sequences."""
    if not enabled or not stream.isatty():
        yield None
        return
    from rich.console import Console
    from rich.markup import escape
    from rich.progress import (
        BarColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    console = Console(file=stream)
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.completed}/{task.total} targets"),
        BarColumn(),
        TextColumn("{task.fields[errors]} errors"),
        TimeElapsedColumn(),
        TextColumn("left"),
        TimeRemainingColumn(),
        TextColumn("{task.description}"),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task("", total=None, errors=0)
        running: set[str] = set()
        errors = 0

        def update(event: str, target: Target, detail: str) -> None:
            nonlocal errors
            key = f"{detail} {clean_text(target.name)}"
            if event == "plan-targets":
                bar.update(task, total=int(detail))
                return
            if event == "target-done":
                errors += int(detail)
                bar.update(task, advance=1, errors=errors)
                return
            if event == "collect-start":
                running.add(key)
            elif event == "collect-done":
                running.discard(key)
            else:
                return
            shown = ", ".join(sorted(running)[:2])
            # a description is Rich markup: a file name like "[/]" must stay text
            bar.update(task, description=escape(shown[:60]))

        yield update
