"""Storefronts for the TLS and HTTP tests: one nginx server block per misconfiguration, one
known-good shop on the Mozilla intermediate profile, and Python servers for what nginx can't do.

Debian's OpenSSL refuses old protocols and ciphers at its default security level, so the bad
servers use @SECLEVEL=0. Certificates come from the tests' own CA, made with cryptography;
the SHA-1 one is signed by the openssl command line (cryptography refuses SHA-1 signatures).
"""

from __future__ import annotations

import datetime as dt
import shutil
import socket
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import rsa

from posture.demo.certs import Issued, issue, make_ca, make_key

from .nginx import Nginx, free_port
from .pyservers import renegotiating_server

INTERMEDIATE_CIPHERS = (
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
    "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305"
)
GOOD_HEADERS = """
    add_header Strict-Transport-Security "max-age=63072000; includeSubDomains; preload" always;
    add_header Content-Security-Policy "default-src 'self'; script-src 'self' https://cdn.vendor.test; frame-ancestors 'self'" always;
    add_header X-Content-Type-Options nosniff always;
    add_header Referrer-Policy strict-origin-when-cross-origin always;
    add_header Set-Cookie "sid=abc123; Path=/; Secure; HttpOnly; SameSite=Lax" always;
    server_tokens off;
"""
GOOD_PAGE = (
    "<!doctype html><html><head><title>Good shop</title>"
    '<script src="https://cdn.vendor.test/app.js" integrity="sha384-oqVuAfXRKap7fdgcCY5uykM6+R9GqQ8K/uxy9rx7HNQlGYl1kPzQho1wx4JwY8wC" crossorigin="anonymous"></script>'
    '<link rel="stylesheet" href="/style.css"></head><body><img src="/logo.png"></body></html>'
)
BAD_PAGE = (
    "<!doctype html><html><head><title>Bad shop</title>"
    '<script src="http://insecure.test/app.js"></script>'
    '<script src="https://cdn.tracker.test/tag.js"></script>'
    "</head><body><img src='http://images.test/banner.jpg'></body></html>"
)
CHECKOUT_PAGE = (
    "<!doctype html><html><head><script src='https://js.payments.test/v3/pay.js'></script></head>"
    "<body><form action='/pay'><input name='card'></form></body></html>"
)
PINNED_NAME = "shop.posture.test"
IDN_NAME = "bücher.posture.test"
IDN_ASCII = "xn--bcher-kva.posture.test"
PINNED_PAGE = (
    "<!doctype html><html><head>"
    '<script src="https://cdn.pinned-vendor.test/app.js" integrity="sha384-oqVuAfXRKap7fdgcCY5uykM6+R9GqQ8K/uxy9rx7HNQlGYl1kPzQho1wx4JwY8wC" crossorigin="anonymous"></script>'
    "</head><body>pinned</body></html>"
)
ADMIN_PAGE = (
    "<html><body><form method=post><input name=u><input type=password name=p></form></body></html>"
)


def _directive(text: str) -> str:
    return text.replace("\\", "\\\\").replace("'", "\\'")


@dataclass
class Shops:
    root: Path
    nginx: Nginx
    ca_path: Path
    urls: dict[str, str] = field(default_factory=dict)
    extra: dict[str, object] = field(default_factory=dict)
    # posture.yaml lines added under a storefront (indented 4), and --resolve pins for the scan
    settings: dict[str, str] = field(default_factory=dict)
    resolve: dict[tuple[str, int], str] = field(default_factory=dict)
    threads: list[socket.socket] = field(default_factory=list)

    def stop(self) -> None:
        self.nginx.stop()
        for sock in self.threads:
            sock.close()


def _tls(
    cert: Path, key: Path, protocols: str = "TLSv1.2 TLSv1.3", ciphers: str = INTERMEDIATE_CIPHERS
) -> str:
    return (
        f"    ssl_certificate {cert};\n    ssl_certificate_key {key};\n"
        f"    ssl_protocols {protocols};\n    ssl_ciphers '{ciphers}';\n"
    )


def _sha1_cert(directory: Path, ca: Issued) -> tuple[Path, Path]:
    """A leaf signed with SHA-1 by our CA, through the openssl command line."""
    openssl = shutil.which("openssl") or "/usr/bin/openssl"
    ca_cert, ca_key = ca.write(directory, "sha1-ca")
    key = directory / "sha1.key"
    csr = directory / "sha1.csr"
    cert = directory / "sha1.pem"
    ext = directory / "sha1.ext"
    ext.write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
    run = {"check": True, "capture_output": True, "timeout": 60}
    subprocess.run(
        [
            openssl,
            "req",
            "-new",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(csr),
            "-subj",
            "/CN=localhost",
        ],
        **run,
    )  # type: ignore[call-overload]
    subprocess.run(
        [
            openssl,
            "x509",
            "-req",
            "-in",
            str(csr),
            "-CA",
            str(ca_cert),
            "-CAkey",
            str(ca_key),
            "-CAcreateserial",
            "-out",
            str(cert),
            "-days",
            "60",
            "-sha1",
            "-extfile",
            str(ext),
        ],
        **run,
    )  # type: ignore[call-overload]
    return cert, key


def _weak_dhparam(directory: Path) -> Path:
    """1024-bit finite-field DH parameters (DSA-style, so openssl makes them in a moment)."""
    openssl = shutil.which("openssl") or "/usr/bin/openssl"
    path = directory / "dh1024.pem"
    subprocess.run(
        [openssl, "dhparam", "-dsaparam", "-out", str(path), "1024"],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return path


def _silent_server() -> tuple[socket.socket, int]:
    """Accepts connections and never says a word."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    held: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                conn, _ = sock.accept()
            except OSError:
                return
            held.append(conn)

    threading.Thread(target=accept, daemon=True).start()
    return sock, int(sock.getsockname()[1])


def build_shops(root: Path) -> Shops:
    root.mkdir(parents=True, exist_ok=True)
    certs = root / "certs"
    certs.mkdir()
    now = dt.datetime.now(dt.UTC)
    ca = make_ca("posture tests root CA")
    intermediate = issue(ca, ["posture tests intermediate CA"], is_ca=True, days=3000)
    ca_path = certs / "ca.pem"
    ca_path.write_bytes(ca.cert_pem())
    names = ["localhost", "127.0.0.1", "shop.posture.test"]  # the last only via --resolve

    def leaf(stem: str, **kw: object) -> tuple[Path, Path]:
        cert = issue(intermediate, kw.pop("names", names), **kw)  # type: ignore[arg-type]
        return cert.write(certs, stem, chain=(intermediate,))

    good = leaf("good", days=90)
    rsa_good = leaf("rsa", key=make_key("rsa", 2048), days=90)
    expired = leaf(
        "expired", not_before=now - dt.timedelta(days=100), not_after=now - dt.timedelta(days=2)
    )
    not_yet = leaf(
        "notyet", not_before=now + dt.timedelta(days=5), not_after=now + dt.timedelta(days=95)
    )
    expiring = leaf("expiring", not_after=now + dt.timedelta(days=4))
    expired_rsa = leaf(
        "expired-rsa",
        key=make_key("rsa", 2048),
        not_before=now - dt.timedelta(days=100),
        not_after=now - dt.timedelta(days=2),
    )
    wrong = leaf("wrongname", names=["shop.other.test"], days=90)
    weak_key = leaf(
        "weakkey", key=rsa.generate_private_key(public_exponent=65537, key_size=1024), days=90
    )
    self_signed_ca = make_ca("localhost")
    self_signed = issue(self_signed_ca, names, days=90)
    ss = self_signed.write(certs, "selfsigned")
    incomplete_leaf = issue(
        intermediate, names, days=90, aia_issuer_url="http://ca.posture.test/intermediate.crt"
    )
    inc = incomplete_leaf.write(certs, "incomplete")  # no chain: the intermediate is missing
    sha1 = _sha1_cert(certs, ca)

    nginx = Nginx(root / "nginx")
    shops = Shops(root, nginx, ca_path)
    shops.extra["good_cert"] = good  # for servers a test starts itself
    big = root / "big.html"
    with big.open("wb") as handle:
        handle.truncate(50 * 1024 * 1024)

    def add(name: str, body: str, tls: bool = True) -> int:
        port = nginx.add(name, body, tls)
        shops.urls[name] = f"{'https' if tls else 'http'}://localhost:{port}/"
        return port

    good_port = add(
        "good",
        _tls(*good)
        + GOOD_HEADERS
        + f"    location = / {{ return 200 '{_directive(GOOD_PAGE)}'; }}\n"
        + f"    location = /checkout {{ return 200 '{_directive(GOOD_PAGE)}'; }}\n"
        + "    location = /.well-known/security.txt { default_type text/plain; "
        "return 200 'Contact: mailto:security@shop.test\\nExpires: 2030-01-01T00:00:00.000Z\\n'; }\n"
        + "    location / { return 404; }\n",
    )
    shops.extra["good_http"] = (
        f"http://localhost:{add('good-http', f'    return 301 https://localhost:{good_port}$request_uri;', tls=False)}/"
    )
    # The good shop declared by its http:// address: everything is judged where it redirects.
    shops.urls["upgrade"] = str(shops.extra["good_http"])
    bad_port = add(
        "bad-web",
        _tls(*good)
        + "    server_tokens on;\n    add_header X-Powered-By 'PHP/8.1.2';\n"
        + "    add_header Set-Cookie 'PHPSESSID=s3cr3t; Path=/';\n"
        + "    add_header Content-Security-Policy \"script-src 'self' 'unsafe-inline'\";\n"
        + f"    location = / {{ return 200 '{_directive(BAD_PAGE)}'; }}\n"
        + f"    location = /checkout {{ return 200 '{_directive(CHECKOUT_PAGE)}'; }}\n"
        + f"    location = /admin {{ return 200 '{_directive(ADMIN_PAGE)}'; }}\n"
        + "    location / { return 404; }\n",
    )
    del bad_port
    shops.extra["bad_http"] = (
        shops.urls["bad-web"]
        .replace("https", "http")
        .replace(
            str(nginx.port("bad-web")),
            str(
                add(
                    "bad-http",
                    f"    location / {{ return 200 '{_directive(BAD_PAGE)}'; }}",
                    tls=False,
                )
            ),
        )
    )
    # Debian's OpenSSL 3 has no RC4, DES/3DES or EXPORT suites at all; NULL and anonymous ECDH
    # are the broken classes it can still serve (at @SECLEVEL=0).
    legacy_ciphers = (
        "ECDHE-RSA-AES128-GCM-SHA256:AES128-SHA:NULL-SHA256:AECDH-AES128-SHA:@SECLEVEL=0"
    )
    add(
        "legacy",
        _tls(*rsa_good, protocols="TLSv1 TLSv1.1 TLSv1.2", ciphers=legacy_ciphers)
        + "    return 200 ok;",
    )
    for name, pair in (
        ("expired", expired),
        ("notyet", not_yet),
        ("expiring", expiring),
        ("wrongname", wrong),
        ("selfsigned", ss),
        ("incomplete", inc),
    ):
        add(name, _tls(*pair) + "    return 200 ok;")
    # Two certificates side by side (nginx picks by what the client supports): a valid ECDSA
    # one for modern clients and a forgotten, expired RSA one for RSA-only clients.
    add(
        "dualcert",
        _tls(*good)
        + f"    ssl_certificate {expired_rsa[0]};\n    ssl_certificate_key {expired_rsa[1]};\n"
        + "    return 200 ok;",
    )
    # DHE with a 1024-bit group beside ECDHE (Logjam territory); @SECLEVEL=0 lets OpenSSL 3 use it.
    add(
        "weakdh",
        _tls(
            *rsa_good,
            protocols="TLSv1.2",
            ciphers="DHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:@SECLEVEL=0",
        )
        + f"    ssl_dhparam {_weak_dhparam(certs)};\n    return 200 ok;",
    )
    add("weakkey", _tls(*weak_key, ciphers="ECDHE+AESGCM:@SECLEVEL=0") + "    return 200 ok;")
    add("sha1", _tls(*sha1, ciphers="ECDHE+AESGCM:@SECLEVEL=0") + "    return 200 ok;")
    add(
        "loop",
        _tls(*good)
        + "    location / { return 302 /again; }\n    location = /again { return 302 /; }",
    )
    add("bigpage", _tls(*good) + f"    location / {{ root {root}; try_files /big.html =404; }}")
    # TLS 1.3 only, EC certificate: fails "TLS 1.2 not offered" under intermediate, matches modern.
    tls13_port = add("tls13only", _tls(*good, protocols="TLSv1.3") + "    return 200 ok;")
    shops.settings["tls13only"] = f"""    pages:
      admin: {{path: "https://localhost:{good_port}/admin", tls_profile: modern}}
"""
    # The same host under modern (per storefront) and the good host under modern (per page).
    shops.urls["modern"] = f"https://127.0.0.1:{tls13_port}/"
    shops.settings["modern"] = f"""    tls_profile: modern
    pages:
      admin: {{path: "https://localhost:{good_port}/admin", tls_profile: modern}}
"""
    # A custom profile in Mozilla's format: TLS 1.2 only, one suite.
    custom = root / "custom-profile.json"
    custom.write_text(
        '{"tls_versions": ["TLSv1.2"], "ciphersuites": [], "certificate_types": ["ecdsa"],'
        ' "ciphers": {"iana": ["TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"], "openssl": []}}'
    )
    shops.urls["custom"] = f"https://127.0.0.1:{good_port}/"
    shops.settings["custom"] = f"    tls_profile: {custom}\n"
    # Reached only through --resolve: DNS does not know the name; the server answers only when
    # both SNI and Host carry it.
    pinned_cert = issue(intermediate, [PINNED_NAME], days=90).write(
        certs, "pinned", chain=(intermediate,)
    )
    pinned_port = add(
        "pinned",
        _tls(*pinned_cert)
        + GOOD_HEADERS
        + f'    if ($ssl_server_name != "{PINNED_NAME}") {{ return 421; }}\n'
        + f'    if ($host != "{PINNED_NAME}") {{ return 421; }}\n'
        + f"    location = / {{ return 200 '{_directive(PINNED_PAGE)}'; }}\n"
        + "    location / { return 404; }\n",
    )
    shops.urls["pinned"] = f"https://{PINNED_NAME}:{pinned_port}/"
    shops.resolve[(PINNED_NAME, pinned_port)] = "127.0.0.1"
    shops.settings["pinned"] = f"    http_url: {shops.extra['good_http']}\n"
    # An internationalised name, pinned and written in Unicode as a user would: SNI, Host and the
    # certificate all carry its A-label.
    idn_cert = issue(intermediate, [IDN_ASCII], days=90).write(certs, "idn", chain=(intermediate,))
    idn_port = add(
        "idn",
        _tls(*idn_cert)
        + GOOD_HEADERS
        + f'    if ($ssl_server_name != "{IDN_ASCII}") {{ return 421; }}\n'
        + f'    if ($host != "{IDN_ASCII}") {{ return 421; }}\n'
        + f"    location = / {{ return 200 '{_directive(GOOD_PAGE)}'; }}\n"
        + "    location / { return 404; }\n",
    )
    shops.urls["idn"] = f"https://{IDN_NAME}:{idn_port}/"
    shops.resolve[(IDN_NAME, idn_port)] = "127.0.0.1"
    shops.settings["idn"] = f"    http_url: {shops.extra['good_http']}\n"
    nginx.start()
    silent, silent_port = _silent_server()
    shops.threads.append(silent)
    shops.urls["silent"] = f"https://localhost:{silent_port}/"
    reneg, reneg_port = renegotiating_server(*good)
    shops.threads.append(reneg)
    shops.urls["reneg"] = f"https://localhost:{reneg_port}/"
    shops.urls["refused"] = f"https://localhost:{free_port()}/"
    shops.urls["plain-on-tls"] = f"https://localhost:{nginx.port('bad-http')}/"
    return shops
