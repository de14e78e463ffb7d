"""The static script inventory counts only scripts a browser runs: a consent manager's held-back
trackers (``type="text/plain"``) are listed as held back, not judged as loaded. On a real nginx
serving a page marked up the way Cookiebot, OneTrust and Klaro hold scripts back."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from posture.checks.collectors.storefront_http import parse_page, script_runs
from posture.config import load_config
from posture.demo.certs import issue, make_ca
from posture.engine import ScanRequest, scan
from posture.model import Status
from posture.plugin import ScanOptions
from posture.runner import Selection
from posture.scanreport import ScanReport

from .testbed.nginx import NGINX, Nginx

pytestmark = pytest.mark.skipif(not Path(NGINX).exists(), reason="Debian nginx is not installed")

SRI = 'integrity="sha384-oqVuAfXRKap7fdgcCY5uykM6+R9GqQ8K/uxy9rx7HNQlGYl1kPzQho1wx4JwY8wC"'
CONSENT_PAGE = (
    "<!doctype html><html><head><title>shop</title>"
    # the consent manager itself runs (and is pinned with SRI)
    f'<script id="Cookiebot" src="https://consent.cmp.test/uc.js" data-cbid="1" {SRI} '
    'crossorigin="anonymous" type="text/javascript"></script>'
    # Cookiebot: held back until the visitor accepts marketing cookies
    '<script type="text/plain" data-cookieconsent="marketing" '
    'src="https://www.analytics.test/gtag.js"></script>'
    # OneTrust: the category class, type text/plain
    '<script type="text/plain" class="optanon-category-C0004" '
    'src="https://ads.pixel.test/pixel.js"></script>'
    # Klaro: data-src and the real type in data-type
    '<script type="text/plain" data-type="application/javascript" data-name="matomo" '
    'data-src="https://stats.matomo.test/matomo.js"></script>'
    # data blocks the browser never runs
    '<script type="application/ld+json">{"@type": "Store"}</script>'
    '<script language="vbscript" src="https://old.vb.test/x.vbs"></script>'
    # a module runs: third party without SRI, the one real finding
    '<script type="module" src="https://cdn.modules.test/app.mjs"></script>'
    "</head><body>shop</body></html>"
)


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ScanReport, str]]:
    root = tmp_path_factory.mktemp("consent")
    ca = make_ca("posture consent test CA")
    ca_path = root / "ca.pem"
    ca_path.write_bytes(ca.cert_pem())
    cert, key = issue(ca, ["localhost", "127.0.0.1"], days=90).write(root, "shop")
    nginx = Nginx(root / "nginx")
    port = nginx.add(
        "consent",
        f"    ssl_certificate {cert};\n    ssl_certificate_key {key};\n"
        f"    location = / {{ default_type text/html; return 200 '{CONSENT_PAGE}'; }}\n"
        "    location / { return 404; }\n",
    )
    nginx.start()
    try:
        url = f"https://localhost:{port}/"
        path = root / "posture.yaml"
        path.write_text(f"version: 1\nstorefronts:\n  - name: consent\n    url: {url}\n")
        options = ScanOptions(timeout=5.0, ca_bundle=str(ca_path), collect_timeout=60)
        selection = Selection(only=("web", "vendor", "privacy"), skip_facts=("browser",))
        yield scan(ScanRequest(config=load_config(path), options=options, selection=selection)), url
    finally:
        nginx.stop()


def test_only_scripts_a_browser_runs_are_judged_for_integrity(
    report: tuple[ScanReport, str],
) -> None:
    found, url = report
    failing = [
        r.evidence["script"]
        for r in found.results
        if r.check_id == "WEB-SCRIPT-INTEGRITY" and r.status is Status.FAIL
    ]
    assert failing == ["https://cdn.modules.test/app.mjs"]


def test_held_back_scripts_are_listed_not_counted_as_loaded(report: tuple[ScanReport, str]) -> None:
    found, url = report
    (inventory,) = [r for r in found.results if r.check_id == "WEB-THIRD-PARTY-INVENTORY"]
    origins = [o["origin"] for o in inventory.evidence["origins"]]
    assert origins == ["https://cdn.modules.test", "https://consent.cmp.test"]
    held = sorted(s["script"] for s in inventory.evidence["held_back_scripts"])
    assert held == [
        "https://ads.pixel.test/pixel.js",
        "https://old.vb.test/x.vbs",
        "https://stats.matomo.test/matomo.js",
        "https://www.analytics.test/gtag.js",
    ]
    assert "4 scripts held back" in inventory.message
    undeclared = " ".join(
        r.message
        for r in found.results
        if r.check_id == "VENDOR-UNDECLARED" and r.status is Status.FAIL
    )
    assert "cdn.modules.test" in undeclared
    for tracker in ("analytics.test", "pixel.test", "matomo.test"):
        assert tracker not in undeclared


@pytest.mark.parametrize(
    ("attrs", "runs"),
    [
        ({}, True),
        ({"type": ""}, True),
        ({"type": " Text/JavaScript "}, True),
        ({"type": "application/x-javascript"}, True),
        ({"type": "module"}, True),
        ({"language": "JavaScript"}, True),
        ({"type": "text/plain"}, False),
        ({"type": "text/javascript; charset=utf-8"}, False),  # an essence match only
        ({"type": "application/ld+json"}, False),
        ({"type": "importmap"}, False),
        ({"type": "text/x-template"}, False),
        ({"language": "vbscript"}, False),
    ],
)
def test_script_types_follow_the_html_standard(attrs: dict[str, str], runs: bool) -> None:
    assert script_runs(attrs) is runs  # type: ignore[arg-type]


def test_inline_held_back_scripts_and_data_src_are_parsed() -> None:
    parsed = parse_page(
        '<script type="text/plain">track()</script>'
        '<script type="text/plain" data-src="/later.js"></script><script src="/now.js"></script>',
        "https://shop.example/",
    )
    assert [r.url for r in parsed.resources] == ["https://shop.example/now.js"]
    assert [r.url for r in parsed.held_back] == ["https://shop.example/later.js"]
