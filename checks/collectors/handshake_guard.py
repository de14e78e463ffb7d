"""A wall-clock bound on every connection of one server's TLS scan.

sslyze applies ``--timeout`` to each read, so a server that answers a byte at a time never times
out: a handshake can take many minutes, and a scan makes hundreds. The guard learns of every
socket sslyze opens in the threads bound to it (sslyze opens them all through one function,
wrapped here once), and a timer thread shuts down any that has been open longer than the bound,
then every other one of that scan, at once or as soon as it opens: like the HTTP client, a
server that trickled once gets no further patience. The scan then ends quickly and the caller
reports it as not done. Sockets other code opens to the same address (the HTTP client's pooled
connections, another storefront on the same CDN address) are never touched.
"""

from __future__ import annotations

import functools
import socket
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

POLL_SECONDS = 0.2
T = TypeVar("T")
_bound = threading.local()
_install_lock = threading.Lock()


class HandshakeGuard:
    """``with HandshakeGuard(seconds) as guard: pool.submit(guard.bind(job))``; afterwards
    ``guard.tripped`` says whether a connection was cut."""

    def __init__(self, seconds: float) -> None:
        _install()
        self.seconds = seconds
        self.tripped = False
        self._lock = threading.Lock()
        self._open: list[tuple[float, int, Any, Any]] = []  # opened at, fd, local, peer
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="tls-guard", daemon=True)

    def __enter__(self) -> HandshakeGuard:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)

    def bind(self, job: Callable[[], T]) -> Callable[[], T]:
        """``job`` with this guard watching the sockets sslyze opens while it runs."""

        @functools.wraps(job)
        def bound() -> T:
            _bound.guard = self
            try:
                return job()
            finally:
                _bound.guard = None

        return bound

    def watch(self, sock: socket.socket) -> None:
        try:
            entry = (time.monotonic(), sock.fileno(), sock.getsockname(), sock.getpeername())
        except OSError:
            return
        with self._lock:
            self._open.append(entry)
            if self.tripped:
                _shut(*entry[1:])

    def _watch(self) -> None:
        while not self._stop.wait(POLL_SECONDS):
            now = time.monotonic()
            with self._lock:
                self._open = [e for e in self._open if _still(*e[1:])]
                if not self.tripped and any(now - e[0] > self.seconds for e in self._open):
                    self.tripped = True
                if self.tripped:
                    for entry in self._open:
                        _shut(*entry[1:])


def _install() -> None:
    """Wrap sslyze's one socket opener, once: a socket opened in a bound thread is watched."""
    from sslyze.connection_helpers import tls_connection

    with _install_lock:
        original = tls_connection._open_socket
        if getattr(original, "_posture_guarded", False):
            return

        def opened(*args: Any, **kwargs: Any) -> socket.socket:
            sock = original(*args, **kwargs)
            guard: HandshakeGuard | None = getattr(_bound, "guard", None)
            if guard is not None:
                guard.watch(sock)
            return sock

        opened._posture_guarded = True  # type: ignore[attr-defined]
        tls_connection._open_socket = opened


def _same(fd: int, local: Any, peer: Any) -> socket.socket | None:
    """A handle on descriptor ``fd`` if it is still the connection recorded (not closed, its
    number not reused by another); the caller detaches it."""
    try:
        sock = socket.socket(fileno=fd)
    except OSError:
        return None
    try:
        if sock.getsockname() == local and sock.getpeername() == peer:
            return sock
    except OSError:
        pass
    sock.detach()
    return None


def _still(fd: int, local: Any, peer: Any) -> bool:
    sock = _same(fd, local, peer)
    if sock is None:
        return False
    sock.detach()
    return True


def _shut(fd: int, local: Any, peer: Any) -> None:
    sock = _same(fd, local, peer)
    if sock is None:
        return
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    finally:
        sock.detach()  # never close a descriptor that belongs to sslyze
