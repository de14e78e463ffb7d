"""Certificate lifespan, CBC-only servers, TLS 1.3-only servers and pages read with a browser's
cipher list, on real Debian nginx servers; one error result per failed collector in every format.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from posture.checks.collectors.tls_scan import CertificateFacts, Endpoint, TlsFacts, TlsScan
from posture.checks.tls import cert_lifespan, lifespan_limit, validity_days
from posture.config import load_config
from posture.demo.certs import issue, make_ca
from posture.engine import ScanRequest, scan
from posture.model import Result, Severity, Status
from posture.plugin import CheckContext, ScanOptions
from posture.policy import Policy
from posture.render import RenderContext, render
from posture.runner import Selection
from posture.scanreport import ScanReport

from .testbed.nginx import NGINX, Nginx, free_port

pytestmark = pytest.mark.skipif(not Path(NGINX).exists(), reason="Debian nginx is not installed")

TIMEOUT = 3.0
PAGE = "<!doctype html><html><head><title>shop</title></head><body>shop</body></html>"
HEADERS = (
    '    add_header Strict-Transport-Security "max-age=63072000; includeSubDomains" always;\n'
    "    add_header X-Content-Type-Options nosniff always;\n"
)
AEAD = "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-CHACHA20-POLY1305"


@dataclass
class Servers:
    nginx: Nginx
    ca_path: Path
    urls: dict[str, str] = field(default_factory=dict)
    pages: dict[str, str] = field(default_factory=dict)  # storefront -> its checkout page URL


def _server(cert: Path, key: Path, protocols: str, ciphers: str) -> str:
    return (
        f"    ssl_certificate {cert};\n    ssl_certificate_key {key};\n"
        f"    ssl_protocols {protocols};\n    ssl_ciphers '{ciphers}';\n"
        + HEADERS
        + f"    location = / {{ return 200 '{PAGE}'; }}\n    location / {{ return 404; }}\n"
    )


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    root = tmp_path_factory.mktemp("tlsdepth")
    certs = root / "certs"
    certs.mkdir()
    ca = make_ca("posture tls-depth test CA")
    ca_path = certs / "ca.pem"
    ca_path.write_bytes(ca.cert_pem())
    names = ["localhost", "127.0.0.1"]
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    short = issue(ca, names, key=rsa_key, days=90).write(certs, "short")
    # A CA the scan does not know (it could be a public one with a chain we cannot see): its
    # 500-day leaf is judged. The same lifespan under the --ca-bundle root is an internal CA's.
    other = make_ca("posture tls-depth other CA")
    long_lived = issue(other, names, key=rsa_key, days=500).write(certs, "long")
    private_long = issue(ca, names, key=rsa_key, days=500).write(certs, "privatelong")
    nginx = Nginx(root / "nginx")
    built = Servers(nginx, ca_path)

    def add(name: str, body: str) -> None:
        built.urls[name] = f"https://localhost:{nginx.add(name, body)}/"

    add("good", _server(*short, "TLSv1.2 TLSv1.3", AEAD))
    add("longlived", _server(*long_lived, "TLSv1.2 TLSv1.3", AEAD))
    add("privatelong", _server(*private_long, "TLSv1.2 TLSv1.3", AEAD))
    # CBC only, and only the SHA-1 CBC suites Python's default context refuses (browsers still
    # offer them): TLS 1.2 alone, since every TLS 1.3 suite is AEAD.
    add("cbconly", _server(*short, "TLSv1.2", "ECDHE-RSA-AES128-SHA:ECDHE-RSA-AES256-SHA"))
    add("tls13only", _server(*short, "TLSv1.3", AEAD))
    built.urls["unreachable"] = f"https://localhost:{free_port()}/"
    # A shop whose checkout lives on a host that does not answer: the pages and the TLS scan of
    # that endpoint are missing, the rest of the shop is judged.
    add("brokenpage", _server(*short, "TLSv1.2 TLSv1.3", AEAD))
    built.pages["brokenpage"] = f"https://localhost:{free_port()}/checkout"
    nginx.start()
    try:
        yield built
    finally:
        nginx.stop()


@pytest.fixture(scope="module")
def report(servers: Servers, tmp_path_factory: pytest.TempPathFactory) -> ScanReport:
    lines = ["version: 1", "storefronts:"]
    for name, url in servers.urls.items():
        lines += [f"  - name: {name}", f"    url: {url}"]
        if name in servers.pages:
            lines.append(f"    pages: {{checkout: '{servers.pages[name]}'}}")
    path = tmp_path_factory.mktemp("cfg") / "posture.yaml"
    path.write_text("\n".join(lines) + "\n")
    options = ScanOptions(timeout=TIMEOUT, ca_bundle=str(servers.ca_path), collect_timeout=60)
    # TLS and static HTTP only: the browser collector's own errors are not what is tested here
    no_browser = Selection(skip_facts=("browser",))
    return scan(ScanRequest(config=load_config(path), options=options, selection=no_browser))


def of(report: ScanReport, servers: Servers, name: str, check_id: str) -> list[Result]:
    url = servers.urls[name]
    return [r for r in report.results if r.target == url and r.check_id == check_id]


def test_a_leaf_valid_for_more_than_398_days_fails_lifespan(
    report: ScanReport, servers: Servers
) -> None:
    [long] = of(report, servers, "longlived", "TLS-CERT-LIFESPAN")
    assert long.status is Status.FAIL
    assert long.severity is Severity.HIGH
    assert "501 days" in long.message and "398" in long.message  # notAfter inclusive
    assert long.evidence["next_reduction"]["maximum_days"] in (100, 47)
    # Under a root only --ca-bundle trusts (an internal CA) neither browsers' limit nor the
    # Baseline Requirements apply: no result at all, whatever the lifespan.
    assert of(report, servers, "privatelong", "TLS-CERT-LIFESPAN") == []
    assert of(report, servers, "good", "TLS-CERT-LIFESPAN") == []
    [trust] = of(report, servers, "privatelong", "TLS-CERT-UNTRUSTED")
    assert trust.status is Status.PASS


def test_validity_is_counted_as_browsers_count_it() -> None:
    start = dt.datetime(2026, 4, 1, tzinfo=dt.UTC)
    assert validity_days(start, start + dt.timedelta(days=397)) == 398
    assert validity_days(start, start + dt.timedelta(days=398)) == 399  # inclusive: one second more
    assert validity_days(start, start + dt.timedelta(days=90, seconds=-1)) == 90


def test_lifespan_limits_by_issue_date() -> None:
    utc = dt.UTC
    assert lifespan_limit(dt.datetime(2020, 8, 31, tzinfo=utc)) is None
    assert lifespan_limit(dt.datetime(2020, 9, 1, tzinfo=utc)) == (
        398,
        "browsers (since 2020-09-01)",
    )
    assert lifespan_limit(dt.datetime(2026, 3, 15, tzinfo=utc))[0] == 200  # type: ignore[index]
    assert lifespan_limit(dt.datetime(2027, 6, 1, tzinfo=utc))[0] == 100  # type: ignore[index]
    assert lifespan_limit(dt.datetime(2029, 3, 15, tzinfo=utc))[0] == 47  # type: ignore[index]


def _cert(not_before: dt.datetime, days: int) -> CertificateFacts:
    return CertificateFacts(
        subject="CN=shop", issuer="CN=ca", sans=("shop",), not_before=not_before,
        not_after=not_before + dt.timedelta(days=days), key_type="EC", key_size=256,
        signature_hash="sha256", chain_subjects=("CN=shop",), hostname_matches=True, trusted=True,
        trust_errors=(), self_signed=False, has_aia_issuer_url=False,
        verified_chain_has_sha1=False, ocsp_stapled=False, lifespan_days=days,
    )  # fmt: skip


def _lifespan(cert: CertificateFacts, now: dt.datetime) -> list[tuple[Status, Severity | None]]:
    facts = TlsFacts("shop", 443, None, certificate=cert)
    scan_ = TlsScan((Endpoint(facts, "intermediate", {}, ("https://shop/",)),))
    ctx = CheckContext(None, Policy.load(), None, now)  # type: ignore[arg-type]
    return [(o.status, o.severity) for o in cert_lifespan(scan_, ctx)]


def test_lifespan_over_the_cabf_limit_of_its_issue_date_is_low_and_older_leaves_pass() -> None:
    now = dt.datetime(2026, 11, 30, tzinfo=dt.UTC)
    # 250 days, issued after 2026-03-15: within what browsers accept, over SC-081's 200
    assert _lifespan(_cert(dt.datetime(2026, 6, 1, tzinfo=dt.UTC), 250), now) == [
        (Status.FAIL, Severity.LOW)
    ]
    # 825 days issued in 2019: before the 398-day rule, not judged by it
    assert _lifespan(_cert(dt.datetime(2019, 1, 1, tzinfo=dt.UTC), 825), now) == [
        (Status.PASS, None)
    ]
    # 89 days after notBefore (90 counted), issued in 2026: within every limit so far
    assert _lifespan(_cert(dt.datetime(2026, 6, 1, tzinfo=dt.UTC), 89), now) == [
        (Status.PASS, None)
    ]


def test_a_cbc_only_server_is_its_own_finding(report: ScanReport, servers: Servers) -> None:
    [cbc] = of(report, servers, "cbconly", "TLS-NO-AEAD")
    assert cbc.status is Status.FAIL
    assert set(cbc.evidence["suites"]) == {
        "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
        "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
    }
    [good] = of(report, servers, "good", "TLS-NO-AEAD")
    assert good.status is Status.PASS


def test_pages_of_a_cbc_sha1_only_server_are_read_with_a_browser_list_and_say_so(
    report: ScanReport, servers: Servers
) -> None:
    url = servers.urls["cbconly"]
    web = [r for r in report.results if r.target == url and r.check_id.startswith("WEB-")]
    assert web, "the web checks ran"
    assert not [r for r in web if r.status is Status.ERROR]
    assert [r.check_id for r in web if "read_with_browser_ciphers" not in r.evidence] == []
    [hsts] = [r for r in web if r.check_id == "WEB-HSTS"]
    assert hsts.status is Status.PASS  # the page was read and judged: its HSTS header is there
    good = [r for r in report.results if r.target == servers.urls["good"]]
    assert not any("read_with_browser_ciphers" in r.evidence for r in good)


def test_tls13_only_is_at_most_an_informational_note(report: ScanReport, servers: Servers) -> None:
    url = servers.urls["tls13only"]
    mine = [r for r in report.results if r.target == url and r.check_id.startswith("TLS-")]
    failing = [r for r in mine if r.status is Status.FAIL]
    assert failing, "the compatibility note is there"
    assert {r.severity for r in failing} == {Severity.INFO}
    notes = {r.check_id: r.message for r in failing}
    assert "stricter" in notes["TLS-MOZILLA-PROFILE"]
    assert "TLS 1.3 only" in notes["TLS-MODERN-PROTOCOL-MISSING"]


def test_no_result_for_a_check_that_does_not_apply(report: ScanReport, servers: Servers) -> None:
    # Our test CA names no OCSP responder: stapling does not apply; no result, not "skipped".
    assert not [r for r in report.results if r.check_id == "TLS-OCSP-STAPLING"]


def test_one_error_result_per_failed_collector_in_every_format(
    report: ScanReport, servers: Servers
) -> None:
    url = servers.urls["unreachable"]
    errors = [r for r in report.results if r.target == url]
    assert sorted(r.check_id for r in errors) == ["COLLECT-HTTP", "COLLECT-TLS"]
    assert all(r.status is Status.ERROR for r in errors)
    http = next(r for r in errors if r.check_id == "COLLECT-HTTP")
    assert "WEB-HSTS" in http.evidence["blocked_checks"]
    assert len(http.evidence["blocked_checks"]) >= 10
    assert "checks blocked" in http.message and "cannot connect" in http.message

    document = json.loads(render(report, "json", RenderContext()))
    assert sorted(r["check_id"] for r in document["results"] if r["target"] == url) == [
        "COLLECT-HTTP",
        "COLLECT-TLS",
    ]
    sarif = json.loads(render(report, "sarif", RenderContext()))
    notes = [
        n["message"]["text"]
        for run in sarif["runs"]
        for inv in run.get("invocations", [])
        for n in inv.get("toolExecutionNotifications", [])
        if url in n["message"]["text"]
    ]
    assert len(notes) == 2
    junit = ET.fromstring(render(report, "junit", RenderContext()))
    cases = [
        c
        for c in junit.iter("testcase")
        if c.find("error") is not None and url in c.get("name", "")
    ]
    assert len(cases) == 2
    alone = dataclasses.replace(report, results=[r for r in report.results if r.target == url])
    for view in ("summary", "details"):
        text = render(alone, "terminal", RenderContext(view=view))
        lines = [line for line in text.splitlines() if "COLLECT-" in line]
        assert len(lines) == 2, (view, lines)


def test_a_page_that_never_answered_is_one_error_per_collector(
    report: ScanReport, servers: Servers
) -> None:
    """The checkout page's host does not answer: the web checks that read pages and the TLS
    checks of that endpoint all lack the same facts. One error per collector stands for them,
    on the page; the home page is judged as usual."""
    url = servers.urls["brokenpage"]
    mine = [r for r in report.results if r.target == url]
    errors = [r for r in mine if r.status is Status.ERROR]
    assert sorted(r.check_id for r in errors) == ["COLLECT-HTTP", "COLLECT-TLS"], [
        (r.check_id, r.message) for r in errors
    ]
    http = next(r for r in errors if r.check_id == "COLLECT-HTTP")
    assert http.resource == servers.pages["brokenpage"]
    assert "page checkout could not be fetched" in http.message and "affected" in http.message
    assert len(http.evidence["blocked_checks"]) >= 2
    assert all(c.startswith(("WEB-", "ACCESS-")) for c in http.evidence["blocked_checks"])
    tls = next(r for r in errors if r.check_id == "COLLECT-TLS")
    assert len(tls.evidence["blocked_checks"]) >= 10
    [hsts] = [r for r in mine if r.check_id == "WEB-HSTS"]
    assert hsts.status is Status.PASS  # the home page answered and is judged
    assert any(r.check_id == "TLS-NO-AEAD" and r.status is Status.PASS for r in mine)
