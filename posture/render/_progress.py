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


@contextmanager
def progress_display(stream: TextIO) -> Iterator[ProgressCallback | None]:
    if not stream.isatty():
        yield None
        return
    from rich.console import Console
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
            key = f"{detail} {target.name}"
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
            bar.update(task, description=shown[:60])

        yield update
