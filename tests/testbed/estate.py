"""An estate of many storefronts served by one Debian nginx on loopback.

Each storefront is its own server block on its own 127.0.0.1 port, so an estate of a few hundred
shops needs no DNS and no --resolve pins. The shops differ on purpose, in a pattern fixed by their
index, so that grouped views and sharded runs have a known mix of passes and failures:

- every third shop (i % 3 == 0) sends no Strict-Transport-Security header;
- every fifth shop (i % 5 == 0) advertises its server version (``server_tokens on``);
- every seventh shop (i % 7 == 0) loads a third-party script without integrity;
- the rest are well configured (Mozilla intermediate TLS, the usual security headers).

Use :func:`build_estate` from a session-scoped fixture and call ``stop()`` when done::

    estate = build_estate(tmp_path_factory.mktemp("estate"), 120)
    try:
        estate.write_config(path)   # a posture.yaml listing every storefront
        ...
    finally:
        estate.stop()
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from posture.demo.certs import issue, make_ca

from .nginx import Nginx

_CIPHERS = (
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
)
_PAGE_SRI = (
    "<!doctype html><html><head><title>shop</title>"
    '<script src="/app.js"></script></head><body>shop</body></html>'
)
_PAGE_3P = (
    "<!doctype html><html><head><title>shop</title>"
    '<script src="https://cdn.tracker.test/tag.js"></script></head><body>shop</body></html>'
)


def shop_name(index: int) -> str:
    """The storefront's name in posture.yaml: shop000, shop001, ..."""
    return f"shop{index:03d}"


@dataclass
class Estate:
    root: Path
    nginx: Nginx
    ca_path: Path
    names: list[str] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)

    def misses_hsts(self, index: int) -> bool:
        return index % 3 == 0

    def shows_version(self, index: int) -> bool:
        return index % 5 == 0

    def loads_tracker(self, index: int) -> bool:
        return index % 7 == 0

    def write_config(self, path: Path, *, extra: str = "") -> Path:
        """A posture.yaml naming every storefront (name + url); ``extra`` is appended as is."""
        lines = ["version: 1", "storefronts:"]
        for name, url in zip(self.names, self.urls, strict=True):
            lines += [f"  - name: {name}", f"    url: {url}"]
        path.write_text("\n".join(lines) + "\n" + extra)
        return path

    def write_targets_file(self, path: Path) -> Path:
        """One URL a line, the plain form of ``--targets-file``."""
        path.write_text("".join(f"{url}\n" for url in self.urls))
        return path

    def stop(self) -> None:
        self.nginx.stop()


def build_estate(root: Path, count: int) -> Estate:
    """Start one nginx serving ``count`` storefronts on loopback; return where they are."""
    root.mkdir(parents=True, exist_ok=True)
    certs = root / "certs"
    certs.mkdir(exist_ok=True)
    ca = make_ca("posture estate test CA")
    ca_path = certs / "ca.pem"
    ca_path.write_bytes(ca.cert_pem())
    cert_path, key_path = issue(ca, ["localhost", "127.0.0.1"], days=90).write(certs, "shop")
    nginx = Nginx(root / "nginx")
    estate = Estate(root, nginx, ca_path)
    for index in range(count):
        headers = [
            "    add_header X-Content-Type-Options nosniff always;",
            "    add_header Referrer-Policy strict-origin-when-cross-origin always;",
            "    add_header Content-Security-Policy \"default-src 'self'; frame-ancestors 'self'\""
            " always;",
        ]
        if not estate.misses_hsts(index):
            headers.append(
                '    add_header Strict-Transport-Security "max-age=63072000; includeSubDomains"'
                " always;"
            )
        headers.append(f"    server_tokens {'on' if estate.shows_version(index) else 'off'};")
        page = _PAGE_3P if estate.loads_tracker(index) else _PAGE_SRI
        body = (
            f"    ssl_certificate {cert_path};\n    ssl_certificate_key {key_path};\n"
            "    ssl_protocols TLSv1.2 TLSv1.3;\n"
            f"    ssl_ciphers {_CIPHERS};\n    ssl_prefer_server_ciphers off;\n"
            + "\n".join(headers)
            + f"\n    location = / {{ return 200 '{page}'; }}\n"
            "    location = /app.js { return 200 'console.log(1)'; }\n"
            "    location / { return 404; }\n"
        )
        port = nginx.add(shop_name(index), body)
        estate.names.append(shop_name(index))
        estate.urls.append(f"https://127.0.0.1:{port}/")
    nginx.start()
    return estate
