"""A live progress display on stderr, shown only when stderr is a terminal."""

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
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    console = Console(file=stream)
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("collectors"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task("scanning", total=None)
        running: set[str] = set()
        started = 0

        def update(event: str, target: Target, detail: str) -> None:
            nonlocal started
            key = f"{detail} {clean_text(target.name)}"
            if event == "plan":
                bar.update(task, total=int(detail))
                return
            if event == "collect-start":
                started += 1
                running.add(key)
            elif event == "collect-done":
                running.discard(key)
                bar.advance(task)
            else:
                return
            shown = ", ".join(sorted(running)[:2]) or "checks"
            # a description is Rich markup: a file name like "[/]" must stay text
            bar.update(task, description=escape(f"scanning {shown}"[:70]))

        yield update
