"""A small, deliberately misconfigured HTTPS storefront on loopback, for ``posture demo``.

It shows most things the storefront checks look for: a certificate close to expiry, suites
without forward secrecy, no HSTS or CSP, version banners, cookies without flags, a third-party
script without Subresource Integrity on the checkout page, mixed content, an admin login page
open to the world, and for the browser checks a tag manager that injects a tracker after load
(before consent, and despite Global Privacy Control), a consent banner, and a checkout script.
Python's ssl and http.server; nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import datetime as dt
import ssl
import tempfile
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType

from posture.demo.certs import Issued, issue, make_ca, make_key

HOST = "127.0.0.1"
NAME = "localhost"

_PAGES = {
    "/": """<!doctype html><html><head><title>Demo Shop</title>
<script src="https://cdn.analytics-demo.example/tag.js"></script>
<script src="/static/gtm.js"></script>
<link rel="stylesheet" href="/static/shop.css">
</head><body><h1>Demo Shop</h1>
<div id="consent">We use cookies. <button onclick="loadPixel()">Accept</button></div>
<img src="http://images.demo-cdn.example/banner.jpg" alt="banner">
<a href="/checkout">Checkout</a> <a href="/privacy">Privacy</a>
</body></html>""",
    "/checkout": """<!doctype html><html><head><title>Checkout</title>
<script src="https://js.payments-demo.example/v3/checkout.js"></script>
<script src="https://cdn.analytics-demo.example/tag.js"></script>
<script src="/static/checkout.js"></script>
<script src="/static/gtm.js"></script>
</head><body><form method="post" action="/pay"><input name="card"></form></body></html>""",
    "/admin": """<!doctype html><html><head><title>Admin login</title></head><body>
<form method="post" action="/admin/login"><input name="user">
<input type="password" name="password"><button>Log in</button></form></body></html>""",
    "/privacy": """<!doctype html><html><head><title>Privacy</title></head><body>
<h1>Privacy policy</h1><p>We collect your name, email address and postal address to ship your
orders. We share them with our payment provider and our delivery partner.</p>
<p>Contact: privacy@demo-shop.example</p></body></html>""",
}

# A tag manager that ignores consent and Global Privacy Control: after load it sets a first-party
# analytics cookie, injects Google Analytics (resolved to 127.0.0.1 by the demo: nothing leaves
# the machine) and runs a snippet of inline code; the consent banner's button would load the
# Facebook pixel, but posture never clicks it.
_SCRIPTS = {
    "/static/gtm.js": """window.addEventListener('load', function () {
  setTimeout(function () {
    document.cookie = '_ga=GA1.1.' + Date.now() + '; max-age=63072000; path=/';
    var s = document.createElement('script');
    s.src = 'https://www.google-analytics.com/analytics.js';
    document.head.appendChild(s);
    var inline = document.createElement('script');
    inline.textContent = 'window.dataLayer = window.dataLayer || []; dataLayer.push({event: "view"});';
    document.head.appendChild(inline);
  }, 50);
});
function loadPixel() {
  var s = document.createElement('script');
  s.src = 'https://connect.facebook.net/en_US/fbevents.js';
  document.head.appendChild(s);
}
""",
    "/static/checkout.js": "window.demoCheckout = {validate: function (form) { return true; }};\n",
}

# Third-party hosts the demo pages name: the browser collector resolves them to 127.0.0.1.
THIRD_PARTY_HOSTS = (
    "cdn.analytics-demo.example",
    "js.payments-demo.example",
    "images.demo-cdn.example",
    "www.google-analytics.com",
    "connect.facebook.net",
)


class _Handler(BaseHTTPRequestHandler):
    server_version = "nginx/1.18.0"
    sys_version = ""

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib name
        return

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        path = self.path.split("?", 1)[0]
        if path in _SCRIPTS:
            script = _SCRIPTS[path].encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/javascript")
            self.send_header("Content-Length", str(len(script)))
            self.end_headers()
            self.wfile.write(script)
            return
        body = _PAGES.get(path)
        if body is None:
            self.send_response(404)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", "9")
            self.end_headers()
            self.wfile.write(b"not found")
            return
        data = body.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("X-Powered-By", "PHP/7.4.3")
        self.send_header("Set-Cookie", "PHPSESSID=d3m0s3ss10n; Path=/")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_HEAD(self) -> None:  # noqa: N802 - stdlib name
        self.do_GET()


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        """Scanners drop connections and send bad handshakes on purpose: nothing to report."""


class _PlainHandler(_Handler):
    """The plain-HTTP side serves the shop too, instead of redirecting to https."""


@dataclass
class DemoShop:
    """Start with ``with DemoShop() as shop:``; ``shop.url`` is the https URL."""

    directory: Path | None = None

    def __post_init__(self) -> None:
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._servers: list[ThreadingHTTPServer] = []
        self.ca: Issued | None = None
        self.ca_path: Path | None = None
        self.port = 0
        self.http_port = 0

    @property
    def url(self) -> str:
        return f"https://{NAME}:{self.port}/"

    @property
    def http_url(self) -> str:
        return f"http://{NAME}:{self.http_port}/"

    def start(self) -> DemoShop:
        if self.directory is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="posture-demo-")
            self.directory = Path(self._tmp.name)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.ca = make_ca("posture demo CA")
        leaf = issue(
            self.ca,
            [NAME, HOST],
            key=make_key("rsa", 2048),
            not_after=dt.datetime.now(dt.UTC) + dt.timedelta(days=20),
        )
        cert_path, key_path = leaf.write(self.directory, "demo-shop")
        self.ca_path = self.directory / "demo-ca.pem"
        self.ca_path.write_bytes(self.ca.cert_pem())
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        # Forward-secret suites plus two static-RSA ones: a finding the TLS checks report.
        context.set_ciphers("ECDHE+AESGCM:AES128-SHA:AES256-SHA256:@SECLEVEL=1")
        context.load_cert_chain(cert_path, key_path)

        tls_server = _QuietServer((HOST, 0), _Handler)
        tls_server.socket = context.wrap_socket(
            tls_server.socket, server_side=True, do_handshake_on_connect=False
        )
        plain_server = _QuietServer((HOST, 0), _PlainHandler)
        for server in (tls_server, plain_server):
            server.daemon_threads = True
            threading.Thread(target=server.serve_forever, daemon=True).start()
            self._servers.append(server)
        self.port = tls_server.server_address[1]
        self.http_port = plain_server.server_address[1]
        return self

    def stop(self) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()
        self._servers.clear()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> DemoShop:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
