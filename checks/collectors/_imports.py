"""Import heavy libraries once, under one lock, before collectors use them from many threads.

Several collector threads importing sslyze (or requests, or checkov) for the first time at the
same moment can trip Python's module-lock deadlock detection on circular imports. The first
collector to need a library imports it here while the others wait.
"""

from __future__ import annotations

import atexit
import importlib
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_LOCK = threading.Lock()
_DONE: set[str] = set()


def preload(*modules: str) -> None:
    missing = [m for m in modules if m not in _DONE]
    if not missing:
        return
    with _LOCK:
        for name in missing:
            if name not in _DONE:
                with keeping_streams():
                    importlib.import_module(name)
                _DONE.add(name)


@contextmanager
def keeping_streams() -> Iterator[None]:
    """Undo what some libraries do to the process when imported: checkov calls
    ``colorama.init()``, which swaps sys.stdout/sys.stderr for wrappers (around the live
    progress display's proxy, when it is on) and registers an exit hook that writes a terminal
    reset sequence after posture has finished. Output is posture's to manage."""
    stdout, stderr = sys.stdout, sys.stderr
    try:
        yield
    finally:
        sys.stdout, sys.stderr = stdout, stderr
        colorama = sys.modules.get("colorama.initialise")
        if colorama is not None:
            atexit.unregister(colorama.reset_all)
