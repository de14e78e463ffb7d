"""Import heavy libraries once, under one lock, before collectors use them from many threads.

Several collector threads importing sslyze (or requests, or checkov) for the first time at the
same moment can trip Python's module-lock deadlock detection on circular imports. The first
collector to need a library imports it here while the others wait.
"""

from __future__ import annotations

import importlib
import threading

_LOCK = threading.Lock()
_DONE: set[str] = set()


def preload(*modules: str) -> None:
    missing = [m for m in modules if m not in _DONE]
    if not missing:
        return
    with _LOCK:
        for name in missing:
            if name not in _DONE:
                importlib.import_module(name)
                _DONE.add(name)
