"""Bounded HTTP(S) fetches for every collector that reads a web page.

Every read has a timeout, a size limit and an overall deadline: a wall-clock watchdog cuts the
connection of any request (connect, TLS handshake, headers and body, every redirect hop) that has
not finished within ``REQUEST_DEADLINE_FACTOR`` x ``--timeout``, so a server that trickles one byte
at a time cannot hold a scan (a read timeout alone restarts with every byte). Redirects are
followed by hand, only to http/https, at most a few times, and recorded (the redirect checks
need the chain). ``--resolve`` pins work like curl's: the connection goes to the pinned address
while SNI, the certificate name check and the Host header keep the name.
``--ca-bundle`` adds trust anchors to the public ones instead of replacing them.
"""

from __future__ import annotations

import functools
import ipaddress
import os
import socket
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

from posture.checks.collectors._imports import preload
from posture.errors import CollectError
from posture.hostnames import a_label
from posture.plugin import ScanOptions

USER_AGENT = "posture-scanner/0.1 (+security posture scan)"
# The TLS 1.2 suites current browsers (Chrome, Firefox) offer, in their order. Python's default
# context refuses the CBC-SHA1 ones at the end; a shop that accepts only those still opens in a
# browser, so its pages are read with this list (and the results say so).
BROWSER_CIPHERS = ":".join(
    (
        "ECDHE-ECDSA-AES128-GCM-SHA256",
        "ECDHE-RSA-AES128-GCM-SHA256",
        "ECDHE-ECDSA-AES256-GCM-SHA384",
        "ECDHE-RSA-AES256-GCM-SHA384",
        "ECDHE-ECDSA-CHACHA20-POLY1305",
        "ECDHE-RSA-CHACHA20-POLY1305",
        "ECDHE-ECDSA-AES128-SHA",
        "ECDHE-ECDSA-AES256-SHA",
        "ECDHE-RSA-AES128-SHA",
        "ECDHE-RSA-AES256-SHA",
        "AES128-GCM-SHA256",
        "AES256-GCM-SHA384",
        "AES128-SHA",
        "AES256-SHA",
    )
)
DEFAULT_MAX_BYTES = 2_000_000
_CHUNK = 65536
# Every request (all its redirect hops included) ends within this many times --timeout.
REQUEST_DEADLINE_FACTOR = 3

_active = threading.local()  # the _Deadline of the request this thread is making, if any


class _Deadline:
    """Cuts every socket one request uses when its wall-clock time is up.

    urllib3 applies ``--timeout`` to each read separately, so a server sending a byte every
    second never times out. A timer thread shuts the sockets down at the deadline, which wakes a
    blocked read (it sees end of file); the request then fails as timed out. Sockets are recorded
    with their addresses and only cut while the request runs, so a descriptor reused elsewhere
    is never touched.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.expired = False
        self._done = False
        self._lock = threading.Lock()
        self._sockets: list[tuple[int, Any, Any]] = []
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def __enter__(self) -> _Deadline:
        _active.deadline = self
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self._done = True
        self._timer.cancel()
        _active.deadline = None

    def watch(self, sock: Any) -> None:
        try:
            entry = (sock.fileno(), sock.getsockname(), sock.getpeername())
        except OSError:
            return
        with self._lock:
            if self._done:
                return
            self._sockets.append(entry)
            if self.expired:
                _cut(entry)

    def _expire(self) -> None:
        with self._lock:
            if self._done:
                return
            self.expired = True
            for entry in self._sockets:
                _cut(entry)


def _cut(entry: tuple[int, Any, Any]) -> None:
    """Shut down the socket behind descriptor ``fd`` if it is still the one we recorded.

    By descriptor, because a TLS handshake runs on a wrapper whose Python object we never see."""
    fd, local, peer = entry
    try:
        sock = socket.socket(fileno=fd)
    except OSError:
        return
    try:
        if sock.getsockname() == local and sock.getpeername() == peer:
            sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    finally:
        sock.detach()  # never close a descriptor that belongs to urllib3


def _watch(sock: Any) -> None:
    deadline: _Deadline | None = getattr(_active, "deadline", None)
    if deadline is not None and sock is not None:
        deadline.watch(sock)


@dataclass(frozen=True)
class HttpResponse:
    url: str  # the final URL, after redirects
    status: int
    headers: Mapping[str, str]  # lower-case names; repeated headers joined with ", "
    set_cookies: list[str]
    body: bytes
    truncated: bool
    redirects: list[tuple[str, int]] = field(default_factory=list)  # (url, status) hops
    elapsed: float = 0.0

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    @property
    def text(self) -> str:
        charset = "utf-8"
        ctype = self.headers.get("content-type", "")
        if "charset=" in ctype:
            charset = ctype.split("charset=", 1)[1].split(";")[0].strip().strip('"') or "utf-8"
        try:
            return self.body.decode(charset, errors="replace")
        except LookupError:
            return self.body.decode("utf-8", errors="replace")


def _host_for_url(address: str) -> str:
    try:
        return f"[{address}]" if ipaddress.ip_address(address).version == 6 else address
    except ValueError:
        return address


def _default_port(scheme: str) -> int:
    return 443 if scheme == "https" else 80


def fetch(
    url: str,
    options: ScanOptions,
    *,
    method: str = "GET",
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_redirects: int = 5,
    headers: Mapping[str, str] | None = None,
) -> HttpResponse:
    """Fetch ``url``, following at most ``max_redirects`` http(s) redirects.

    Raises ``CollectError`` with one line naming the URL on any failure (refused, timeout, TLS
    error, redirect loop, a scheme other than http/https). For several requests to one site, use
    ``HttpClient`` instead: it keeps connections alive between them.
    """
    with HttpClient(options) as client:
        return client.fetch(
            url, method=method, max_bytes=max_bytes, max_redirects=max_redirects, headers=headers
        )


class HttpClient:
    """A session of our own per collector run: keep-alive within it, pins and trust never
    leaking between scans."""

    def __init__(
        self, options: ScanOptions, *, verify: bool = True, browser_ciphers: bool = False
    ) -> None:
        """``verify=False`` reads a server whose certificate fails (expired, self-signed,
        unknown issuer) for what its headers and pages say; ``browser_ciphers`` offers the
        suites a browser offers (``BROWSER_CIPHERS``) instead of Python's stricter default.
        Only the storefront collector uses them, after the default attempt failed, and says so
        in its facts."""
        preload("requests", "certifi")
        import requests

        self.options = options
        # Hosts (scheme, host, port) a request to which was cut at its deadline: a server that
        # trickled once gets no further requests from this client, so a shop that trickles every
        # probe costs one deadline, not one per probe.
        self.trickling: set[tuple[str, str, int]] = set()
        self._current_host: tuple[str, str, int] = ("", "", 0)
        self.session = requests.Session()
        self.session.trust_env = False  # no proxies or netrc from the environment
        self.session.verify = verify
        adapter = _make_adapter(options.ca_bundle, verify, browser_ciphers)
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.session.close()

    def fetch(
        self,
        url: str,
        *,
        method: str = "GET",
        max_bytes: int = DEFAULT_MAX_BYTES,
        max_redirects: int = 5,
        headers: Mapping[str, str] | None = None,
    ) -> HttpResponse:
        import requests

        options = self.options
        started = time.monotonic()
        limit = options.timeout * REQUEST_DEADLINE_FACTOR
        with _Deadline(limit) as watchdog:
            try:
                response = self._fetch(url, method, max_bytes, max_redirects, headers, started)
            except Exception as exc:
                if watchdog.expired:
                    self.trickling.add(self._current_host)
                    raise CollectError(_too_slow(url, limit)) from None
                if isinstance(exc, requests.exceptions.RequestException):  # a broken body
                    raise CollectError(f"{url}: {_reason(exc)}") from None
                raise
            if watchdog.expired:  # the cut looked like the end of a body without a length
                self.trickling.add(self._current_host)
                raise CollectError(_too_slow(url, limit))
            return response

    def _fetch(
        self,
        url: str,
        method: str,
        max_bytes: int,
        max_redirects: int,
        headers: Mapping[str, str] | None,
        started: float,
    ) -> HttpResponse:
        import requests

        options = self.options
        session = self.session
        deadline = started + options.timeout * REQUEST_DEADLINE_FACTOR
        hops: list[tuple[str, int]] = []
        seen: set[str] = set()
        current = url
        while True:
            scheme = urlsplit(current).scheme
            if scheme not in ("http", "https"):
                raise CollectError(f"{url}: refusing to follow a redirect to {scheme}: URL")
            if current in seen:
                raise CollectError(f"{url}: redirect loop at {current}")
            seen.add(current)
            self._current_host = _host_key(current)
            if self._current_host in self.trickling:
                raise CollectError(
                    f"{current}: timed out: not requested, an earlier request to this host "
                    f"took over {options.timeout * REQUEST_DEADLINE_FACTOR:g} s "
                    f"({REQUEST_DEADLINE_FACTOR} x --timeout)"
                )
            try:
                response = _send(session, method, current, options, headers)
            except requests.exceptions.SSLError as exc:
                raise CollectError(f"{current}: TLS error: {_reason(exc)}") from None
            except requests.exceptions.ConnectTimeout:
                raise CollectError(f"{current}: connection timed out") from None
            except requests.exceptions.ReadTimeout:
                raise CollectError(f"{current}: no answer within {options.timeout:g} s") from None
            except requests.exceptions.ConnectionError as exc:
                raise CollectError(f"{current}: cannot connect: {_reason(exc)}") from None
            except requests.exceptions.RequestException as exc:
                raise CollectError(f"{current}: {_reason(exc)}") from None
            with response:
                location = response.headers.get("Location")
                if response.is_redirect and location:
                    hops.append((current, response.status_code))
                    if len(hops) > max_redirects:
                        raise CollectError(f"{url}: more than {max_redirects} redirects")
                    current = urljoin(current, location)
                    continue
                body, truncated = _read_body(response, max_bytes, deadline, current)
                raw_headers = response.raw.headers
                cookies = list(raw_headers.getlist("Set-Cookie")) if raw_headers else []
                return HttpResponse(
                    url=current,
                    status=response.status_code,
                    headers={k.lower(): v for k, v in response.headers.items()},
                    set_cookies=cookies,
                    body=body,
                    truncated=truncated,
                    redirects=hops,
                    elapsed=time.monotonic() - started,
                )


def _host_key(url: str) -> tuple[str, str, int]:
    parts = urlsplit(url)
    try:
        port = parts.port or _default_port(parts.scheme)
    except ValueError:
        port = 0
    return (parts.scheme, (parts.hostname or "").lower(), port)


def _too_slow(url: str, limit: float) -> str:
    return (
        f"{url}: timed out: no complete answer within {limit:g} s "
        f"({REQUEST_DEADLINE_FACTOR} x --timeout; the server is too slow or trickles bytes)"
    )


def _reason(exc: BaseException) -> str:
    """The innermost cause (urllib3 wraps the real reason two or three levels deep)."""
    inner: BaseException = exc
    for _ in range(8):
        nested = getattr(inner, "reason", None)
        if not isinstance(nested, BaseException):
            first = inner.args[0] if inner.args else None
            nested = first if isinstance(first, BaseException) else inner.__cause__
        if nested is None or nested is inner:
            break
        inner = nested
    text = str(inner)
    if "] " in text and text.startswith("["):  # "[Errno 111] Connection refused"
        text = text.split("] ", 1)[1]
    return text.split(" (_ssl.c", 1)[0][:200] or inner.__class__.__name__


def _read_body(response: Any, max_bytes: int, deadline: float, url: str) -> tuple[bytes, bool]:
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_content(_CHUNK):
        chunks.append(chunk)
        size += len(chunk)
        if size >= max_bytes:
            return b"".join(chunks)[:max_bytes], True
        if time.monotonic() > deadline:
            raise CollectError(f"{url}: body still arriving after the time limit")
    return b"".join(chunks), False


def _send(
    session: Any,
    method: str,
    url: str,
    options: ScanOptions,
    headers: Mapping[str, str] | None,
) -> Any:
    parts = urlsplit(url)
    host = a_label(parts.hostname or "")
    port = parts.port or _default_port(parts.scheme)
    request_headers = {"User-Agent": USER_AGENT, "Accept": "text/html,*/*;q=0.8"}
    request_headers.update(headers or {})
    target = url
    pinned = options.resolve_address(host, port)
    adapter = session.get_adapter(url)
    if pinned:
        netloc = f"{_host_for_url(pinned)}:{port}"
        target = urlunsplit(parts._replace(netloc=netloc))
        explicit_port = f":{parts.port}" if parts.port else ""
        shown = f"[{host}]" if ":" in host else host
        request_headers["Host"] = shown + explicit_port
        adapter.pin(host)
    else:
        adapter.pin(None)
    return session.request(
        method,
        target,
        headers=request_headers,
        timeout=(options.timeout, options.timeout),
        allow_redirects=False,
        stream=True,
        verify=session.verify,
    )


def _mtime(path: str | None) -> int:
    try:
        return os.stat(path).st_mtime_ns if path else 0
    except OSError:
        return 0  # load_verify_locations names the problem


@functools.lru_cache(maxsize=8)
def _ssl_context(
    public: str, ca_bundle: str | None, mtime: int, verify: bool, browser_ciphers: bool = False
) -> Any:
    """One context per trust configuration, shared by every client and thread: building one
    parses the ~150 public roots, which was the largest CPU cost per storefront of an estate.
    A configured SSLContext is safe to share between threads; nothing changes it afterwards."""
    import ssl

    context = ssl.create_default_context(cafile=public)
    if ca_bundle:
        context.load_verify_locations(cafile=ca_bundle)
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if browser_ciphers:
        context.set_ciphers(BROWSER_CIPHERS)
    return context


def _make_adapter(ca_bundle: str | None, verify: bool = True, browser_ciphers: bool = False) -> Any:
    import warnings

    import certifi
    from requests.adapters import HTTPAdapter
    from urllib3.exceptions import InsecureRequestWarning

    if not verify:  # the caller knows and reports it: no warning per request
        warnings.filterwarnings("ignore", category=InsecureRequestWarning)

    class PinnedAdapter(HTTPAdapter):
        """Keeps the certificate name and SNI on the host while connecting to a pinned address."""

        def __init__(self) -> None:
            self._context = _ssl_context(
                certifi.where(), ca_bundle, _mtime(ca_bundle), verify, browser_ciphers
            )
            super().__init__(max_retries=0)

        def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
            kwargs["ssl_context"] = self._context
            super().init_poolmanager(*args, **kwargs)
            self.poolmanager.pool_classes_by_scheme = _watched_pools()

        def cert_verify(self, conn: Any, url: str, verify: Any, cert: Any) -> None:
            # Our context already trusts the public roots plus --ca-bundle.
            conn.cert_reqs = "CERT_REQUIRED" if verify else "CERT_NONE"
            conn.ca_certs = None
            conn.ca_cert_dir = None

        def pin(self, host: str | None) -> None:
            """SNI and the name check for the next request (pools are keyed on them)."""
            kw = self.poolmanager.connection_pool_kw
            if host is None:
                kw.pop("server_hostname", None)
                kw.pop("assert_hostname", None)
            else:
                kw["server_hostname"] = host
                kw["assert_hostname"] = host if verify else False

    return PinnedAdapter()


def _watched_pools() -> dict[str, Any]:
    """urllib3 pools whose connections put their sockets under the running request's deadline:
    new ones as soon as the TCP connection exists (before any TLS handshake), reused
    keep-alive ones when a request takes them from the pool."""
    from urllib3.connection import HTTPConnection, HTTPSConnection
    from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

    class WatchedHTTPConnection(HTTPConnection):
        def _new_conn(self) -> socket.socket:
            sock = super()._new_conn()
            _watch(sock)
            return sock

    class WatchedHTTPSConnection(HTTPSConnection):
        def _new_conn(self) -> socket.socket:
            sock = super()._new_conn()
            _watch(sock)
            return sock

    class WatchedHTTPConnectionPool(HTTPConnectionPool):
        ConnectionCls = WatchedHTTPConnection

        def _get_conn(self, timeout: float | None = None) -> Any:
            conn = super()._get_conn(timeout)
            _watch(getattr(conn, "sock", None))
            return conn

    class WatchedHTTPSConnectionPool(HTTPSConnectionPool):
        ConnectionCls = WatchedHTTPSConnection

        def _get_conn(self, timeout: float | None = None) -> Any:
            conn = super()._get_conn(timeout)
            _watch(getattr(conn, "sock", None))
            return conn

    return {"http": WatchedHTTPConnectionPool, "https": WatchedHTTPSConnectionPool}
