"""TLS checks on constructed facts, for what no server on this machine can offer.

Debian's OpenSSL 3 cannot serve SSL 2.0/3.0, RC4, DES/3DES or EXPORT suites, and no current
OpenSSL is vulnerable to Heartbleed, CCS injection or compression. The collector is tested on real
servers (test_storefront.py); here the checks get the facts such a server would produce.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import Any

import pytest

from posture.checks import tls
from posture.checks.collectors.tls_scan import (
    CertificateFacts,
    Endpoint,
    Suite,
    TlsFacts,
    TlsScan,
    load_profile,
)
from posture.model import Severity, Status, Target, TargetKind
from posture.plugin import CheckContext, Outcome
from posture.policy import Policy

NOW = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)


def suite(name: str) -> Suite:
    return Suite(name, name, 128, "anon" in name)


def cert(**changes: Any) -> CertificateFacts:
    base: dict[str, Any] = dict(
        subject="CN=shop.example",
        issuer="CN=Example CA",
        sans=("shop.example",),
        not_before=NOW - dt.timedelta(days=10),
        not_after=NOW + dt.timedelta(days=80),
        key_type="EC",
        key_size=256,
        signature_hash="sha256",
        chain_subjects=("CN=shop.example", "CN=Example CA"),
        hostname_matches=True,
        trusted=True,
        trust_errors=(),
        self_signed=False,
        has_aia_issuer_url=True,
        verified_chain_has_sha1=False,
        ocsp_stapled=False,
        has_ocsp_url=True,
    )
    base.update(changes)
    return CertificateFacts(**base)


def scan_of(profile: str = "intermediate", **facts: Any) -> TlsScan:
    accepted = facts.pop("accepted", {})
    data = TlsFacts("shop.example", 443, None, accepted=accepted, **facts)
    return TlsScan((Endpoint(data, profile, load_profile(profile, "."), ("home",)),))


def run(check: Callable[..., Iterable[Outcome]], scan: TlsScan) -> list[Outcome]:
    ctx = CheckContext(
        Target(TargetKind.STOREFRONT, "https://shop.example/"), Policy.load(), None, NOW
    )
    return list(check(scan, ctx))


def test_ssl2_and_ssl3_accepted_fail_critical() -> None:
    found = run(
        tls.ssl_protocols,
        scan_of(
            accepted={
                "SSLv2": (suite("SSL_CK_RC4_128_WITH_MD5"),),
                "SSLv3": (suite("TLS_RSA_WITH_3DES_EDE_CBC_SHA"),),
                "TLSv1.2": (suite("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"),),
            }
        ),
    )
    assert [(o.status, o.key) for o in found] == [(Status.FAIL, "SSLv2"), (Status.FAIL, "SSLv3")]
    assert found[1].evidence == {"suites": ["TLS_RSA_WITH_3DES_EDE_CBC_SHA"]}


def test_rc4_3des_export_suites_fail_with_their_weakness() -> None:
    names = (
        "TLS_RSA_WITH_RC4_128_SHA",
        "TLS_RSA_WITH_3DES_EDE_CBC_SHA",
        "TLS_RSA_EXPORT_WITH_DES40_CBC_SHA",
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    )
    found = run(tls.weak_ciphers, scan_of(accepted={"TLSv1.0": tuple(suite(n) for n in names)}))
    got = {o.evidence["suite"]: (o.evidence["weakness"], o.severity) for o in found}
    assert got == {
        "TLS_RSA_WITH_RC4_128_SHA": ("RC4", Severity.HIGH),
        "TLS_RSA_WITH_3DES_EDE_CBC_SHA": ("DES/3DES", Severity.HIGH),
        "TLS_RSA_EXPORT_WITH_DES40_CBC_SHA": ("EXPORT grade", Severity.CRITICAL),
    }
    assert all(o.resource == "shop.example:443" for o in found)


def test_a_version_that_could_not_be_tested_is_skipped_not_passed() -> None:
    found = run(
        tls.ssl_protocols,
        scan_of(untested={"SSLv2": "this OpenSSL cannot offer SSL 2.0"}),
    )
    assert [(o.status, o.key) for o in found] == [(Status.SKIPPED, "SSLv2")]
    assert "cannot offer" in found[0].message


@pytest.mark.parametrize(
    ("name", "severity"),
    [
        ("heartbleed", Severity.CRITICAL),
        ("ccs_injection", Severity.HIGH),
        ("robot", Severity.HIGH),
        ("insecure_renegotiation", Severity.MEDIUM),
        ("compression", Severity.MEDIUM),
        ("no_fallback_scsv", Severity.LOW),
    ],
)
def test_each_vulnerability_fails_with_its_severity(name: str, severity: Severity) -> None:
    vulns: dict[str, bool | None] = dict.fromkeys(tls._VULNERABILITIES, False)
    vulns[name] = True
    found = run(tls.vulnerabilities, scan_of(vulnerabilities=vulns))
    assert [(o.status, o.key, o.severity) for o in found] == [(Status.FAIL, name, severity)]


def test_an_inconclusive_vulnerability_test_is_skipped() -> None:
    vulns: dict[str, bool | None] = dict.fromkeys(tls._VULNERABILITIES, False)
    vulns["robot"] = None  # sslyze's ROBOT test gave inconsistent results
    del vulns["heartbleed"]  # the Heartbleed plugin raised
    found = run(tls.vulnerabilities, scan_of(vulnerabilities=vulns, errors={"heartbleed": "boom"}))
    assert {(o.status, o.key) for o in found} == {
        (Status.SKIPPED, "robot"),
        (Status.SKIPPED, "heartbleed"),
    }


@pytest.mark.parametrize(
    ("days", "key", "severity"),
    [(3, "expiring", Severity.HIGH), (20, "expiring", Severity.MEDIUM), (45, None, Severity.HIGH)],
)
def test_expiry_window_comes_from_policy(days: int, key: str | None, severity: Any) -> None:
    c = cert(not_after=NOW + dt.timedelta(days=days, hours=1))
    (found,) = run(tls.cert_validity, scan_of(certificate=c))
    assert found.status is (Status.FAIL if key else Status.PASS)
    assert found.key == key and (found.severity or Severity.HIGH) is severity  # HIGH: the default
    assert found.evidence["days_left"] == days


def test_ocsp_stapling_is_info() -> None:
    (found,) = run(tls.ocsp_stapling, scan_of(certificate=cert()))
    assert found.status is Status.FAIL
    (stapled,) = run(tls.ocsp_stapling, scan_of(certificate=cert(ocsp_stapled=True)))
    assert stapled.status is Status.PASS


def test_an_endpoint_that_could_not_be_scanned_is_an_error() -> None:
    profile = load_profile("intermediate", ".")
    scan = TlsScan((Endpoint(None, "modern", profile, ("https://api.shop.example/",), "refused"),))
    found = run(tls.legacy_protocols, scan)
    assert [(o.status, o.message) for o in found] == [(Status.ERROR, "refused")]


def test_certificate_against_the_profile_curve_signature_and_lifespan() -> None:
    """A P-521 leaf, signed with RSA-SHA384, valid 398 days: three deviations from intermediate,
    none of which is a vulnerability on its own (so only the profile check speaks)."""
    odd = cert(
        ec_curve="secp521r1",
        key_size=521,
        signature_algorithm="sha384WithRSAEncryption",
        lifespan_days=398,
    )
    good = {"TLSv1.3": (suite("TLS_AES_128_GCM_SHA256"),)}
    (found,) = run(tls.mozilla_profile, scan_of(accepted=good, certificate=odd))
    kinds = {d["kind"]: d for d in found.evidence["deviations"]}
    assert found.status is Status.FAIL
    assert kinds["certificate curve not in profile"]["curve"] == "secp521r1"
    assert kinds["certificate signature not in profile"]["signature"] == "sha384WithRSAEncryption"
    assert kinds["certificate lifespan over profile"]["days"] == 398
    assert "profile version not offered" in kinds  # TLS 1.2 is missing too
    # a Let's Encrypt-like leaf (P-256, ecdsa-with-SHA384, 89 days) is within even modern
    le = cert(ec_curve="prime256v1", signature_algorithm="ecdsa-with-SHA384", lifespan_days=89)
    (modern,) = run(tls.mozilla_profile, scan_of("modern", accepted=good, certificate=le))
    assert modern.status is Status.PASS, modern.evidence


@pytest.mark.parametrize(
    ("kex", "bits", "group", "expected"),
    [
        ("DH", 1024, None, Severity.HIGH),  # Logjam
        ("DH", 1536, None, Severity.MEDIUM),
        ("DH", 2048, None, None),
        ("ECDH", 253, "X25519", None),  # OpenSSL counts X25519 as 253 bits: full strength
        ("ECDH", 224, "secp224r1", Severity.MEDIUM),
        ("ECDH", 256, "prime256v1", None),
    ],
)
def test_key_exchange_groups(kex: str, bits: int, group: str | None, expected: Any) -> None:
    name = (
        "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256"
        if kex == "DH"
        else "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"
    )
    accepted = {"TLSv1.2": (Suite(name, name, 128, False, kex, bits, group),)}
    found = run(tls.weak_key_exchange, scan_of(accepted=accepted))
    if expected is None:
        assert found == []
    else:
        (only,) = found
        assert only.status is Status.FAIL and (only.severity or Severity.MEDIUM) is expected
        assert only.evidence["smallest_bits"] == bits
