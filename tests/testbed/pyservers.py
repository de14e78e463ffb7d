"""Python ``ssl`` servers for the cases Debian's nginx cannot express.

nginx (like OpenSSL 3 by default) refuses client-initiated renegotiation; OpenSSL 3 still has the
switch (``SSL_OP_ALLOW_CLIENT_RENEGOTIATION``, which Python does not name), so a Python server can
accept it and show the check failing on a real handshake.
"""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Callable
from pathlib import Path

SSL_OP_ALLOW_CLIENT_RENEGOTIATION = 0x100  # OpenSSL 3.0 ssl.h: SSL_OP_BIT(8)
Handler = Callable[[socket.socket, int], None]  # a connection and its number (1, 2, ...)


def _serve(
    handle: Handler, on_close: Callable[[], None] = lambda: None
) -> tuple[socket.socket, int]:
    """Listen on a free loopback port and run ``handle`` in a thread per connection; closing the
    returned socket stops accepting (and calls ``on_close``). Every connection is closed after
    its handler, whatever the handler raised of OSError or SSLError."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)

    def guarded(conn: socket.socket, number: int) -> None:
        try:
            handle(conn, number)
        except (OSError, ssl.SSLError):
            pass
        finally:
            conn.close()

    def accept() -> None:
        number = 0
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                on_close()
                return
            number += 1
            threading.Thread(target=guarded, args=(conn, number), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    return listener, int(listener.getsockname()[1])


def _tls_context(cert: Path, key: Path) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context


def _drain(conn: socket.socket | ssl.SSLSocket) -> None:
    """Read until the peer closes (TLS renegotiations are processed while reading)."""
    while conn.recv(4096):
        pass


def _read_request(conn: socket.socket | ssl.SSLSocket) -> bytes:
    request = b""
    while b"\r\n\r\n" not in request and len(request) < 65536:
        chunk = conn.recv(4096)
        if not chunk:
            return b""
        request += chunk
    return request


def renegotiating_server(cert: Path, key: Path) -> tuple[socket.socket, int]:
    """A TLS 1.2 server that lets clients renegotiate as often as they like.

    Returns the listening socket (close it to stop accepting) and its port.
    """
    context = _tls_context(cert, key)
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    context.options |= SSL_OP_ALLOW_CLIENT_RENEGOTIATION

    def serve(conn: socket.socket, _: int) -> None:
        conn.settimeout(5)
        with context.wrap_socket(conn, server_side=True) as tls:
            _drain(tls)

    return _serve(serve)


def stalling_server(cert: Path, key: Path, answered: int) -> tuple[socket.socket, int]:
    """A TLS server that completes the first ``answered`` handshakes, then accepts connections
    and never says a word: a server that stops answering part-way through a scan."""
    context = _tls_context(cert, key)

    def serve(conn: socket.socket, number: int) -> None:
        conn.settimeout(10)
        if number > answered:
            _drain(conn)  # swallow the ClientHello, answer nothing
            return
        with context.wrap_socket(conn, server_side=True) as tls:
            _drain(tls)

    return _serve(serve)


def version_ignoring_server(cert: Path, key: Path) -> tuple[socket.socket, int]:
    """A TLS 1.2/1.3 server that stays silent (instead of refusing) when a ClientHello asks for
    anything older, as some CDNs do: silence there means "not offered", not "untestable"."""
    context = _tls_context(cert, key)

    def serve(conn: socket.socket, _: int) -> None:
        conn.settimeout(10)
        hello = conn.recv(11, socket.MSG_PEEK)
        # record header (5) + handshake header (4) + client_version (2); SSLv2 hellos and
        # anything below TLS 1.2 (0x0303) get no answer at all
        if len(hello) < 11 or hello[0] != 0x16 or hello[9:11] < b"\x03\x03":
            _drain(conn)
            return
        with context.wrap_socket(conn, server_side=True) as tls:
            _drain(tls)

    return _serve(serve)


def trickling_server(
    mode: str, interval: float = 0.2, answered: tuple[str, ...] = ()
) -> tuple[socket.socket, int]:
    """A plain HTTP server that sends one byte every ``interval`` seconds, for ever.

    ``mode`` "headers" trickles an endless header line; "body" sends complete headers announcing
    a large body, then trickles the body. No single read ever waits long enough to time out.
    Paths in ``answered`` get a small page at once (a shop that trickles only some paths).
    """
    stop = threading.Event()

    def serve(conn: socket.socket, _: int) -> None:
        conn.settimeout(10)
        request = _read_request(conn)
        if not request:
            return
        path = request.split(b" ", 2)[1].decode("latin-1") if b" " in request else ""
        if path in answered:
            page = b"<html><body>shop</body></html>"
            conn.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nConnection: close\r\n"
                b"Content-Length: " + str(len(page)).encode() + b"\r\n\r\n" + page
            )
            return
        if mode == "headers":
            conn.sendall(b"HTTP/1.1 200 OK\r\nX-Slow: ")
        else:
            conn.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 100000000\r\n\r\n"
            )
        while not stop.wait(interval):
            conn.sendall(b"a")

    return _serve(serve, on_close=stop.set)


def hostile_server(cert: Path, key: Path, text: str) -> tuple[socket.socket, int]:
    """An HTTPS shop whose every string is an attack on the outputs: ``text`` (ANSI escapes,
    Markdown links and images, HTML, @-mentions, backticks, control characters) in its headers
    and in the script URL its page loads. The certificate carries it too, if made so."""
    context = _tls_context(cert, key)
    raw = text.encode("latin-1", "replace")
    body = (
        b'<html><head><script src="https://cdn.evil.example/a.js?q='
        + text.replace('"', "").encode("utf-8", "replace")
        + b'"></script></head><body>shop</body></html>'
    )
    response = (
        b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nServer: hostile/1.0 " + raw + b"\r\n"
        b"X-Powered-By: PHP/8.1 " + raw + b"\r\nConnection: close\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
    )

    def serve(conn: socket.socket, _: int) -> None:
        conn.settimeout(10)
        with context.wrap_socket(conn, server_side=True) as tls:
            if _read_request(tls):
                tls.sendall(response)

    return _serve(serve)


def trickling_proxy(
    upstream: int, interval: float = 0.2, fast_first: int = 0
) -> tuple[socket.socket, int]:
    """A TCP proxy to 127.0.0.1:``upstream`` that passes the client's bytes at once and the
    server's one byte every ``interval`` seconds: a TLS handshake (or anything) that trickles.
    The first ``fast_first`` connections pass at full speed (a server that answers a scanner's
    first handshakes, then holds every later one)."""
    stop = threading.Event()

    def pump_up(client: socket.socket, server: socket.socket) -> None:
        try:
            while data := client.recv(4096):
                server.sendall(data)
        except OSError:
            pass

    def serve(client: socket.socket, number: int) -> None:
        client.settimeout(30)
        with socket.create_connection(("127.0.0.1", upstream), timeout=30) as server:
            threading.Thread(target=pump_up, args=(client, server), daemon=True).start()
            while data := server.recv(4096):
                if number <= fast_first:
                    client.sendall(data)
                    continue
                for byte in data:
                    if stop.wait(interval):
                        return
                    client.sendall(bytes([byte]))

    return _serve(serve, on_close=stop.set)
