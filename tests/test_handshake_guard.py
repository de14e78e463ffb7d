"""The TLS scan's wall-clock bound per connection: it cuts the sockets sslyze opened in the jobs
bound to it, once one outlives the bound, and every later one at once; never a socket that other
code (the HTTP client, another storefront's scan) has open to the same server."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from posture.checks.collectors.handshake_guard import HandshakeGuard


@pytest.fixture()
def echo_port() -> Iterator[int]:
    """A loopback server that echoes and otherwise keeps every connection open."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)

    def serve(conn: socket.socket) -> None:
        with conn:
            try:
                while data := conn.recv(64):
                    conn.sendall(data)
            except OSError:
                pass

    def accept() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    yield int(listener.getsockname()[1])
    listener.close()


def _sslyze_socket(port: int) -> socket.socket:
    from sslyze.connection_helpers import tls_connection
    from sslyze.server_setting import ServerNetworkLocation

    location = ServerNetworkLocation("localhost", port, ip_address="127.0.0.1")
    sock: socket.socket = tls_connection._open_socket(location, 5)
    return sock


def test_cuts_what_sslyze_opened_for_the_scan_and_nothing_else(echo_port: int) -> None:
    with HandshakeGuard(0.3) as guard:
        other = socket.create_connection(("127.0.0.1", echo_port), timeout=5)  # not sslyze's
        unbound = _sslyze_socket(echo_port)  # sslyze's, but in a thread not bound to the guard
        held = guard.bind(lambda: _sslyze_socket(echo_port))()
        started = time.monotonic()
        held.settimeout(5)
        assert held.recv(1) == b""  # shut down by the guard, not answered
        assert 0.3 <= time.monotonic() - started < 4
        assert guard.tripped
        later = guard.bind(lambda: _sslyze_socket(echo_port))()
        later.settimeout(5)
        assert later.recv(1) == b""  # once tripped, a new connection is cut at once
    for sock in (other, unbound):
        sock.settimeout(5)
        sock.sendall(b"x")
        assert sock.recv(1) == b"x"  # untouched
    for sock in (other, unbound, held, later):
        sock.close()


def test_a_scan_whose_connections_all_close_in_time_is_not_tripped(echo_port: int) -> None:
    with HandshakeGuard(5) as guard:
        for _ in range(3):
            guard.bind(lambda: _sslyze_socket(echo_port))().close()
    assert not guard.tripped
