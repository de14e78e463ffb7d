"""Transport security of a storefront: protocols, cipher suites, the Mozilla profile, the
certificate, and the vulnerabilities sslyze can test. Pure checks over one TLS scan per endpoint."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

from posture.checks.collectors.tls_scan import (
    VERSIONS,
    Endpoint,
    TlsFacts,
    TlsScan,
    collect_tls,
)
from posture.model import Area, Severity, TargetKind
from posture.plugin import CheckContext, Outcome, check

__all__ = ["collect_tls"]

MOZILLA = "https://wiki.mozilla.org/Security/Server_Side_TLS"
SSL_CONFIG = "https://ssl-config.mozilla.org/"
_MOZILLA_VERSION = {"TLSv1": "TLSv1.0"}


def _each(
    scan: TlsScan, body: Callable[[Endpoint, TlsFacts], Iterator[Outcome]]
) -> Iterator[Outcome]:
    """Run ``body`` for every scanned endpoint; an endpoint that failed gives an error outcome."""
    for endpoint in scan.endpoints:
        if endpoint.facts is None:
            yield Outcome.error(endpoint.error or "not scanned", resource=endpoint.name)
            continue
        for outcome in body(endpoint, endpoint.facts):
            yield replace(outcome, resource=outcome.resource or endpoint.name)


def _suites(facts: TlsFacts, version: str) -> list[str]:
    return [s.name for s in facts.accepted.get(version, ())]


def _untested(facts: TlsFacts, versions: tuple[str, ...]) -> Iterator[Outcome]:
    for version in versions:
        if version in facts.untested:
            yield Outcome.skip(
                f"{version} could not be tested: {facts.untested[version]}", key=version
            )


@check(
    id="TLS-SSL-PROTOCOL",
    title="SSL 2.0 or SSL 3.0 accepted",
    area=Area.TLS,
    severity=Severity.CRITICAL,
    target=TargetKind.STOREFRONT,
    facts="tls",
    remediation="Disable SSL 2.0 and 3.0 (nginx: ssl_protocols TLSv1.2 TLSv1.3;).",
    references=[MOZILLA, "https://www.rfc-editor.org/rfc/rfc7568"],
)
def ssl_protocols(scan: TlsScan, ctx: CheckContext) -> Iterator[Outcome]:
    yield from _refused_versions(scan, ("SSLv2", "SSLv3"))


def _refused_versions(scan: TlsScan, versions: tuple[str, ...]) -> Iterator[Outcome]:
    """A failure for each of ``versions`` an endpoint accepts; can't-test for the untested."""

    def body(endpoint: Endpoint, facts: TlsFacts) -> Iterator[Outcome]:
        yield from _untested(facts, versions)
        for version in versions:
            if facts.accepted.get(version):
                yield Outcome.fail(
                    f"{version} accepted", evidence={"suites": _suites(facts, version)}, key=version
                )

    return _each(scan, body)


@check(
    id="TLS-LEGACY-PROTOCOL",
    title="Legacy TLS 1.0/1.1 accepted",
    area=Area.TLS,
    severity=Severity.HIGH,
    target=TargetKind.STOREFRONT,
    facts="tls",
    remediation="Disable TLS 1.0 and 1.1; offer TLS 1.2 and 1.3 only.",
    references=[SSL_CONFIG, "https://www.rfc-editor.org/rfc/rfc8996"],
)
def legacy_protocols(scan: TlsScan, ctx: CheckContext) -> Iterator[Outcome]:
    yield from _refused_versions(scan, ("TLSv1.0", "TLSv1.1"))


@check(
    id="TLS-MODERN-PROTOCOL-MISSING",
    title="TLS 1.2 or TLS 1.3 not offered",
    area=Area.TLS,
    severity=Severity.HIGH,
    target=TargetKind.STOREFRONT,
    facts="tls",
    description="Without TLS 1.2 modern clients cannot connect securely; without TLS 1.3 they "
    "miss its faster handshake and simpler, forward-secret suites.",
    remediation="Offer TLS 1.2 and TLS 1.3 (nginx: ssl_protocols TLSv1.2 TLSv1.3;).",
    references=[SSL_CONFIG],
)
def modern_protocols(scan: TlsScan, ctx: CheckContext) -> Iterator[Outcome]:
    def body(endpoint: Endpoint, facts: TlsFacts) -> Iterator[Outcome]:
        yield from _untested(facts, ("TLSv1.2", "TLSv1.3"))
        if "TLSv1.2" not in facts.untested and not facts.accepted.get("TLSv1.2"):
            required = "TLSv1.2" in [
                _MOZILLA_VERSION.get(v, v) for v in endpoint.profile.get("tls_versions", [])
            ]
            if required and facts.accepted.get("TLSv1.3"):
                # TLS 1.3 only is stricter than the profile, not weaker: a compatibility note.
                yield Outcome.fail(
                    "TLS 1.3 only: stricter than the "
                    f"{endpoint.profile_name} profile; clients without TLS 1.3 (older Android, "
                    "Java 8, embedded payment terminals) cannot connect",
                    key="TLSv1.2",
                    severity=Severity.INFO,
                    evidence={"accepted_versions": sorted(facts.accepted_versions)},
                )
            elif required:
                yield Outcome.fail("TLS 1.2 not offered", key="TLSv1.2")
        if "TLSv1.3" not in facts.untested and not facts.accepted.get("TLSv1.3"):
            yield Outcome.fail("TLS 1.3 not offered", key="TLSv1.3", severity=Severity.LOW)

    yield from _each(scan, body)


@check(
    id="TLS-WEAK-CIPHER",
    title="Broken cipher suites accepted (NULL, EXPORT, anonymous, RC4, DES/3DES)",
    area=Area.TLS,
    severity=Severity.HIGH,
    target=TargetKind.STOREFRONT,
    facts="tls",
    remediation="Offer only AEAD suites with (EC)DHE key exchange; see the Mozilla intermediate profile.",
    references=[SSL_CONFIG, "https://www.rfc-editor.org/rfc/rfc7465", "https://sweet32.info/"],
)
def weak_ciphers(scan: TlsScan, ctx: CheckContext) -> Iterator[Outcome]:
    def body(endpoint: Endpoint, facts: TlsFacts) -> Iterator[Outcome]:
        yield from _untested(facts, VERSIONS)
        for version, suites in facts.accepted.items():
            for suite in suites:
                weakness = suite.weakness
                if weakness:
                    severity = (
                        Severity.CRITICAL
                        if weakness.startswith(("NULL", "EXPORT", "anonymous"))
                        else Severity.HIGH
                    )
                    yield Outcome.fail(
                        f"{suite.name} ({weakness}) accepted over {version}",
                        evidence={"version": version, "suite": suite.name, "weakness": weakness},
                        severity=severity,
                        key=f"{version}:{suite.name}",
                    )

    yield from _each(scan, body)


@check(
    id="TLS-NO-FORWARD-SECRECY",
    title="Cipher suites without forward secrecy accepted",
    area=Area.TLS,
    severity=Severity.MEDIUM,
    target=TargetKind.STOREFRONT,
    facts="tls",
    description="With static RSA key exchange, whoever obtains the server's private key later can "
    "decrypt every recorded session.",
    remediation="Remove static-RSA suites (TLS_RSA_WITH_*); keep ECDHE/DHE suites only.",
    references=[MOZILLA],
)
def forward_secrecy(scan: TlsScan, ctx: CheckContext) -> Iterator[Outcome]:
    def body(endpoint: Endpoint, facts: TlsFacts) -> Iterator[Outcome]:
        yield from _untested(facts, VERSIONS)
        for version, suites in facts.accepted.items():
            plain = [s.name for s in suites if not s.forward_secret and not s.weakness]
            if plain:
                yield Outcome.fail(
                    f"{len(plain)} suites without forward secrecy over {version}",
                    evidence={"version": version, "suites": plain},
                    key=version,
                )

    yield from _each(scan, body)


def is_aead(suite_name: str) -> bool:
    """GCM, CCM and ChaCha20-Poly1305 suites (every TLS 1.3 suite is one); CBC suites are not."""
    n = suite_name.upper()
    return (
        n.startswith("TLS_AES_")
        or n.startswith("TLS_CHACHA20_")
        or any(mode in n for mode in ("_GCM_", "_CCM", "CHACHA20_POLY1305", "_GCM"))
    )


@check(
    id="TLS-NO-AEAD",
    title="No AEAD cipher suite offered (CBC only)",
    area=Area.TLS,
    severity=Severity.MEDIUM,
    target=TargetKind.STOREFRONT,
    facts="tls",
    description="A server whose every accepted suite is a CBC (MAC-then-encrypt) suite leaves "
    "every client on the construction behind Lucky Thirteen and the padding-oracle attacks. "
    "Every current browser offers AES-GCM or ChaCha20-Poly1305; the Mozilla intermediate "
    "profile allows AEAD suites only.",
    remediation="Offer ECDHE suites with AES-GCM or ChaCha20-Poly1305 (and TLS 1.3, whose suites "
    "are all AEAD).",
    references=[SSL_CONFIG, "https://www.rfc-editor.org/rfc/rfc7525#section-4.2", MOZILLA],
)
def no_aead(scan: TlsScan, ctx: CheckContext) -> Iterator[Outcome]:
    def body(endpoint: Endpoint, facts: TlsFacts) -> Iterator[Outcome]:
        suites = [s.name for version in facts.accepted.values() for s in version]
        if facts.untested:  # a server that stopped answering part-way proves nothing
            yield from _untested(facts, VERSIONS)
            return
        if not suites:
            yield Outcome.skip("no cipher suite accepted in any version")
            return
        if any(is_aead(name) for name in suites):
            yield Outcome.passed("AEAD suites offered")
            return
        yield Outcome.fail(
            f"only CBC suites accepted ({len(suites)}): no AES-GCM or ChaCha20-Poly1305",
            evidence={
                "suites": sorted(set(suites)),
                "versions": sorted(facts.accepted_versions),
            },
        )

    yield from _each(scan, body)


_MODERN_GROUPS = ("X25519", "X448")  # full strength though OpenSSL counts X25519 as 253 bits


def _weak_kex(suite: Any, min_dh: int, min_ecdh: int) -> bool:
    if suite.kex == "DH" and suite.kex_bits is not None:
        return bool(suite.kex_bits < min_dh)
    if suite.kex == "ECDH" and suite.kex_bits is not None:
        return suite.kex_group not in _MODERN_GROUPS and suite.kex_bits < min_ecdh
    return False


@check(
    id="TLS-WEAK-KEY-EXCHANGE",
    title="Weak Diffie-Hellman parameters accepted",
    area=Area.TLS,
    severity=Severity.MEDIUM,
    target=TargetKind.STOREFRONT,
    facts="tls",
    description="The (EC)DH group the server picks for each accepted suite, read from the "
    "handshakes that enumerate the suites. A finite-field DH group under `tls.min_dh_bits` (2048) "
    "fails; 1024 bits or less is rated high (Logjam: such groups are within reach of a "
    "nation-state precomputation). An elliptic-curve group under `tls.min_ecdh_bits` fails too.",
    remediation="Use ECDHE with X25519/P-256, or DHE with the RFC 7919 ffdhe2048 group or larger "
    "(nginx: ssl_dhparam with a 2048-bit file, or drop the DHE suites).",
    references=["https://weakdh.org/", "https://www.rfc-editor.org/rfc/rfc7919", MOZILLA],
)
def weak_key_exchange(scan: TlsScan, ctx: CheckContext) -> Iterator[Outcome]:
    min_dh = int(ctx.policy.get("tls.min_dh_bits", 2048))
    min_ecdh = int(ctx.policy.get("tls.min_ecdh_bits", 256))

    def body(endpoint: Endpoint, facts: TlsFacts) -> Iterator[Outcome]:
        yield from _untested(facts, VERSIONS)
        for version, suites in sorted(facts.accepted.items()):
            weak = [s for s in suites if _weak_kex(s, min_dh, min_ecdh)]
            if not weak:
                continue
            smallest = min(s.kex_bits or 0 for s in weak)
            logjam = any(s.kex == "DH" and (s.kex_bits or 0) <= 1024 for s in weak)
            groups = sorted(
                {f"{s.kex} {s.kex_group or ''} {s.kex_bits} bits".replace("  ", " ") for s in weak}
            )
            yield Outcome.fail(
                f"{', '.join(groups)} key exchange accepted over {version}"
                + (" (Logjam)" if logjam else ""),
                evidence={
                    "version": version,
                    "suites": [
                        {"suite": s.name, "kex": s.kex, "bits": s.kex_bits, "group": s.kex_group}
                        for s in weak
                    ],
                    "smallest_bits": smallest,
                },
                severity=Severity.HIGH if logjam else None,
                key=version,
            )

    yield from _each(scan, body)


@check(
    id="TLS-MOZILLA-PROFILE",
    title="TLS configuration deviates from its Mozilla profile",
    area=Area.TLS,
    severity=Severity.LOW,
    target=TargetKind.STOREFRONT,
    facts="tls",
    description="Compares accepted protocol versions and suites, the (EC)DH groups the server "
    "picks, and each certificate's type, RSA size, curve, signature algorithm and lifespan with "
    "the profile chosen for the endpoint (intermediate by default; modern or old, or a custom "
    "Mozilla-format profile, per storefront or page). Every deviation is listed. The profile's "
    "tls_curves (the groups a server offers) are not enumerated.",
    remediation="Generate the server configuration from https://ssl-config.mozilla.org/ for the profile.",
    references=[SSL_CONFIG, MOZILLA],
)
def mozilla_profile(scan: TlsScan, ctx: CheckContext) -> Iterator[Outcome]:
    def body(endpoint: Endpoint, facts: TlsFacts) -> Iterator[Outcome]:
        profile = endpoint.profile
        versions = {_MOZILLA_VERSION.get(v, v) for v in profile.get("tls_versions", [])}
        allowed12 = set(profile.get("ciphers", {}).get("iana", []))
        allowed13 = set(profile.get("ciphersuites", []))
        deviations: list[dict[str, Any]] = []
        for version in sorted(facts.accepted_versions - versions):
            deviations.append(
                {
                    "kind": "version not in profile",
                    "version": version,
                    "suites": _suites(facts, version),
                }
            )
        newest = max((VERSIONS.index(v) for v in facts.accepted_versions), default=-1)
        for version in sorted(versions - facts.accepted_versions - set(facts.untested)):
            stricter = VERSIONS.index(version) < newest if version in VERSIONS else False
            deviation: dict[str, Any] = {"kind": "profile version not offered", "version": version}
            if stricter:
                deviation["stricter"] = True  # a newer version is offered instead
            deviations.append(deviation)
        for version, suites in facts.accepted.items():
            if version not in versions:
                continue
            allowed = allowed13 if version == "TLSv1.3" else allowed12
            for suite in suites:
                if suite.name not in allowed:
                    deviations.append(
                        {"kind": "suite not in profile", "version": version, "suite": suite.name}
                    )
        deviations += _kex_deviations(facts, profile)
        for cert in (c for c in (facts.certificate, *facts.other_certificates) if c):
            deviations += _certificate_deviations(cert, profile)
        untested = sorted(facts.untested)
        if deviations:
            evidence: dict[str, Any] = {"profile": endpoint.profile_name, "deviations": deviations}
            if untested:
                evidence["untested_versions"] = {v: facts.untested[v] for v in untested}
            stricter_only = all(d.get("stricter") for d in deviations)
            yield Outcome.fail(
                f"stricter than the {endpoint.profile_name} profile (compatibility note: "
                + ", ".join(d["version"] for d in deviations)
                + " not offered)"
                if stricter_only
                else f"{len(deviations)} deviations from the {endpoint.profile_name} profile",
                evidence=evidence,
                severity=Severity.INFO if stricter_only else None,
            )
        elif untested:
            yield Outcome.skip(
                f"{', '.join(untested)} could not be tested, so the match with the "
                f"{endpoint.profile_name} profile is unknown",
                evidence={"untested_versions": {v: facts.untested[v] for v in untested}},
            )
        else:
            yield Outcome.passed(
                f"matches the {endpoint.profile_name} profile",
                evidence={"profile": endpoint.profile_name},
            )

    yield from _each(scan, body)


def _kex_deviations(facts: TlsFacts, profile: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    dh_min, ecdh_min = profile.get("dh_param_size"), profile.get("ecdh_param_size")
    seen: set[tuple[str, int]] = set()
    for suites in facts.accepted.values():
        for s in suites:
            if s.kex_bits is None or (s.kex, s.kex_bits) in seen:
                continue
            if s.kex == "DH" and dh_min and s.kex_bits < int(dh_min):
                out.append({"kind": "DH parameters below profile", "bits": s.kex_bits})
            elif (
                s.kex == "ECDH"
                and ecdh_min
                and s.kex_group not in _MODERN_GROUPS
                and s.kex_bits < int(ecdh_min)
            ):
                out.append(
                    {"kind": "ECDH group below profile", "group": s.kex_group, "bits": s.kex_bits}
                )
            else:
                continue
            seen.add((s.kex or "", s.kex_bits))
    return out


def _certificate_deviations(cert: Any, profile: dict[str, Any]) -> list[dict[str, Any]]:
    """The certificate against the profile: type, RSA size, curve, signature, lifespan."""
    out: list[dict[str, Any]] = []
    which = {"certificate": cert.subject}
    minimum = profile.get("rsa_key_size")
    if cert.key_type == "RSA" and minimum and cert.key_size < int(minimum):
        out.append({"kind": "RSA key below profile", "bits": cert.key_size, **which})
    types = [t.lower().replace("ecdsa", "ec") for t in profile.get("certificate_types", [])]
    if types and cert.key_type.lower() not in types:
        out.append({"kind": "certificate type not in profile", "type": cert.key_type, **which})
    curves = profile.get("certificate_curves") or []
    if cert.ec_curve and curves and cert.ec_curve not in curves:
        out.append({"kind": "certificate curve not in profile", "curve": cert.ec_curve, **which})
    signatures = profile.get("certificate_signatures") or []
    if cert.signature_algorithm and signatures and cert.signature_algorithm not in signatures:
        out.append(
            {
                "kind": "certificate signature not in profile",
                "signature": cert.signature_algorithm,
                **which,
            }
        )
    longest = profile.get("maximum_certificate_lifespan")
    if longest and cert.lifespan_days is not None and cert.lifespan_days > int(longest):
        out.append(
            {
                "kind": "certificate lifespan over profile",
                "days": cert.lifespan_days,
                "maximum": int(longest),
                **which,
            }
        )
    return out


def _cert_check(
    scan: TlsScan, test: Callable[[Endpoint, TlsFacts, Any], Iterator[Outcome]]
) -> Iterator[Outcome]:
    """Run ``test`` on every certificate an endpoint serves. The default client's certificate
    keeps plain keys; another one (an RSA certificate beside an ECDSA one) is named in the
    message and key, so each finding stays its own."""

    def body(endpoint: Endpoint, facts: TlsFacts) -> Iterator[Outcome]:
        if facts.certificate is None:
            reason = facts.errors.get("certificate", "no certificate information")
            yield Outcome.skip(f"certificate could not be analysed: {reason}")
            return
        yield from test(endpoint, facts, facts.certificate)
        for index, other in enumerate(facts.other_certificates, start=1):
            label = f"{other.key_type} {other.key_size}"
            if any(
                f"{o.key_type} {o.key_size}" == label for o in facts.other_certificates[: index - 1]
            ):
                label += f" #{index}"
            for outcome in test(endpoint, facts, other):
                yield replace(
                    outcome,
                    message=f"{label} certificate: {outcome.message}",
                    key=f"{outcome.key or 'certificate'}@{label}",
                    evidence={**outcome.evidence, "certificate": other.subject},
                )

    return _each(scan, body)


def _cert_evidence(cert: Any) -> dict[str, Any]:
    return {
        "subject": cert.subject,
        "issuer": cert.issuer,
        "not_before": cert.not_before.isoformat(),
        "not_after": cert.not_after.isoformat(),
        "sans": list(cert.sans),
    }


@check(
    id="TLS-CERT-VALIDITY",
    title="Certificate expired, not yet valid, or expiring soon",
    area=Area.TLS,
    severity=Severity.HIGH,
    target=TargetKind.STOREFRONT,
    facts="tls",
    remediation="Renew the certificate, and automate renewal (ACME) with monitoring.",
    references=["https://www.rfc-editor.org/rfc/rfc5280#section-4.1.2.5"],
)
def cert_validity(scan: TlsScan, ctx: CheckContext) -> Iterator[Outcome]:
    high = int(ctx.policy.get("tls.cert_expiry.high_days", 7))
    medium = int(ctx.policy.get("tls.cert_expiry.medium_days", 30))

    def test(endpoint: Endpoint, facts: TlsFacts, cert: Any) -> Iterator[Outcome]:
        evidence = _cert_evidence(cert)
        if cert.not_after <= ctx.now:
            yield Outcome.fail(
                f"expired on {cert.not_after.date()}",
                evidence=evidence,
                severity=Severity.CRITICAL,
                key="expired",
            )
        elif cert.not_before > ctx.now:
            yield Outcome.fail(
                f"not valid before {cert.not_before.date()}", evidence=evidence, key="not-yet-valid"
            )
        else:
            days = (cert.not_after - ctx.now).days
            evidence["days_left"] = days
            if days < high:
                yield Outcome.fail(f"expires in {days} days", evidence=evidence, key="expiring")
            elif days < medium:
                yield Outcome.fail(
                    f"expires in {days} days",
                    evidence=evidence,
                    severity=Severity.MEDIUM,
                    key="expiring",
                )
            else:
                yield Outcome.passed(f"valid for {days} more days", evidence=evidence)

    yield from _cert_check(scan, test)


# Longest leaf validity browsers accept, by issue date: Apple, Google and Mozilla refuse leaf
# certificates issued since 1 September 2020 and valid for more than 398 days. The CA/Browser
# Forum's ballot SC-081 (Baseline Requirements) shortens what a public CA may issue further.
BROWSER_MAX_DAYS = 398
BROWSER_LIMIT_FROM = dt.datetime(2020, 9, 1, tzinfo=dt.UTC)
CABF_REDUCTIONS: tuple[tuple[dt.datetime, int], ...] = (
    (dt.datetime(2026, 3, 15, tzinfo=dt.UTC), 200),
    (dt.datetime(2027, 3, 15, tzinfo=dt.UTC), 100),
    (dt.datetime(2029, 3, 15, tzinfo=dt.UTC), 47),
)
SC081 = "https://cabforum.org/2025/04/11/ballot-sc081v3-introduce-schedule-of-reducing-validity-and-data-reuse-periods/"


def validity_days(not_before: dt.datetime, not_after: dt.datetime) -> int:
    """The validity period as Apple and the Baseline Requirements count it: notBefore to
    notAfter inclusive (RFC 5280 4.1.2.5), in days of 86,400 s, any part of a day counting as
    one more: a certificate with notAfter exactly 398 days after notBefore is valid for 399."""
    seconds = (not_after - not_before).total_seconds() + 1
    return max(0, math.ceil(seconds / 86400))


def lifespan_limit(issued: dt.datetime) -> tuple[int, str] | None:
    """The longest validity allowed for a leaf issued at ``issued``, and who sets it."""
    if issued < BROWSER_LIMIT_FROM:
        return None
    limit, rule = BROWSER_MAX_DAYS, "browsers (since 2020-09-01)"
    for start, days in CABF_REDUCTIONS:
        if issued >= start:
            limit, rule = days, f"CA/Browser Forum SC-081 (since {start.date()})"
    return limit, rule


def _next_reduction(now: dt.datetime) -> dict[str, Any] | None:
    for start, days in CABF_REDUCTIONS:
        if start > now:
            return {"from": start.date().isoformat(), "maximum_days": days}
    return None


@check(
    id="TLS-CERT-LIFESPAN",
    title="Leaf certificate valid for longer than browsers and CAs allow",
    area=Area.TLS,
    severity=Severity.HIGH,
    target=TargetKind.STOREFRONT,
    facts="tls",
    description="Browsers refuse a leaf certificate issued since 1 September 2020 that is valid "
    "for more than 398 days: the shop does not open. The CA/Browser Forum (ballot SC-081) "
    "shortens the longest validity a public CA may issue to 200 days from 15 March 2026, 100 "
    "days from 15 March 2027 and 47 days from 15 March 2029; a certificate over that limit for "
    "its issue date but within 398 days is a low finding: a public CA may not issue it. Days "
    "are counted as Apple and the Baseline Requirements count them (notBefore to notAfter "
    "inclusive; any part of a day is a day). Neither limit binds a private root: a certificate "
    "issued under a root only --ca-bundle trusts gives no result.",
    remediation="Reissue the certificate with a shorter validity, and automate renewal (ACME).",
    references=[
        "https://support.apple.com/en-us/102028",
        "https://chromium.googlesource.com/chromium/src/+/HEAD/net/docs/certificate_lifetimes.md",
        SC081,
    ],
)
def cert_lifespan(scan: TlsScan, ctx: CheckContext) -> Iterator[Outcome]:
    def test(endpoint: Endpoint, facts: TlsFacts, cert: Any) -> Iterator[Outcome]:
        days = validity_days(cert.not_before, cert.not_after)
        evidence: dict[str, Any] = {
            "lifespan_days": days,
            "not_before": cert.not_before.isoformat(),
            "not_after": cert.not_after.isoformat(),
        }
        if cert.private_ca:
            # Browsers exempt roots a user or administrator added, and the Baseline
            # Requirements bind public CAs only: the limits do not apply.
            yield Outcome.not_applicable("issued under a private root (--ca-bundle)")
            return
        upcoming = _next_reduction(ctx.now)
        if upcoming:
            evidence["next_reduction"] = upcoming
        limit = lifespan_limit(cert.not_before)
        if limit is None:
            yield Outcome.passed(
                f"valid for {days} days, issued before the 398-day limit applied",
                evidence=evidence,
            )
            return
        maximum, rule = limit
        evidence.update(maximum_days=maximum, rule=rule)
        if days > BROWSER_MAX_DAYS:
            yield Outcome.fail(
                f"valid for {days} days (issued {cert.not_before.date()}): browsers refuse leaf "
                f"certificates valid for more than {BROWSER_MAX_DAYS} days",
                evidence=evidence,
                key="browser-limit",
            )
        elif days > maximum:
            yield Outcome.fail(
                f"valid for {days} days (issued {cert.not_before.date()}): over the {maximum}-day "
                f"maximum of {rule}; a public CA may not issue it",
                evidence=evidence,
                severity=Severity.LOW,
                key="cabf-limit",
            )
        else:
            yield Outcome.passed(f"valid for {days} days (maximum {maximum})", evidence=evidence)

    yield from _cert_check(scan, test)


@check(
    id="TLS-CERT-HOSTNAME",
    title="Certificate does not match the host name",
    area=Area.TLS,
    severity=Severity.HIGH,
    target=TargetKind.STOREFRONT,
    facts="tls",
    remediation="Issue the certificate for every name the shop is served under (subjectAltName).",
    references=["https://www.rfc-editor.org/rfc/rfc6125"],
)
def cert_hostname(scan: TlsScan, ctx: CheckContext) -> Iterator[Outcome]:
    def test(endpoint: Endpoint, facts: TlsFacts, cert: Any) -> Iterator[Outcome]:
        if not cert.hostname_matches:
            yield Outcome.fail(
                f"{facts.host} is not among the certificate's names",
                evidence={"host": facts.host, "sans": list(cert.sans), "subject": cert.subject},
            )

    yield from _cert_check(scan, test)


@check(
    id="TLS-CERT-UNTRUSTED",
    title="Certificate chain not trusted (self-signed, unknown CA, or incomplete chain)",
    area=Area.TLS,
    severity=Severity.HIGH,
    target=TargetKind.STOREFRONT,
    facts="tls",
    description="Validated against the public roots plus any --ca-bundle. A leaf that names where "
    "its issuer can be downloaded (AIA) but whose issuer the server does not send is reported as an "
    "incomplete chain: browsers may patch it up, many API clients and payment callbacks will not.",
    remediation="Use a certificate from a public CA and send the full chain (leaf + intermediates).",
    references=[
        "https://www.ssllabs.com/ssltest/",
        "https://www.rfc-editor.org/rfc/rfc5246#section-7.4.2",
    ],
)
def cert_trust(scan: TlsScan, ctx: CheckContext) -> Iterator[Outcome]:
    def test(endpoint: Endpoint, facts: TlsFacts, cert: Any) -> Iterator[Outcome]:
        if cert.trusted:
            return
        evidence = {
            "chain": list(cert.chain_subjects),
            "issuer": cert.issuer,
            "errors": list(cert.trust_errors),
        }
        if cert.self_signed:
            yield Outcome.fail("self-signed certificate", evidence=evidence, key="self-signed")
        elif len(cert.chain_subjects) == 1 and cert.has_aia_issuer_url:
            yield Outcome.fail(
                f"incomplete chain: the server sends no intermediate for issuer {cert.issuer}",
                evidence=evidence,
                severity=Severity.MEDIUM,
                key="incomplete-chain",
            )
        else:
            yield Outcome.fail(
                f"chain not trusted (issuer {cert.issuer})", evidence=evidence, key="untrusted"
            )

    yield from _cert_check(scan, test)


@check(
    id="TLS-CERT-WEAK-KEY",
    title="Certificate key too small",
    area=Area.TLS,
    severity=Severity.HIGH,
    target=TargetKind.STOREFRONT,
    facts="tls",
    remediation="Use an RSA key of at least 2048 bits or an EC key on P-256 or larger.",
    references=["https://csrc.nist.gov/pubs/sp/800/131/a/r2/final"],
)
def cert_key(scan: TlsScan, ctx: CheckContext) -> Iterator[Outcome]:
    min_rsa = int(ctx.policy.get("tls.min_rsa_bits", 2048))
    min_ec = int(ctx.policy.get("tls.min_ec_bits", 256))

    def test(endpoint: Endpoint, facts: TlsFacts, cert: Any) -> Iterator[Outcome]:
        evidence = {"key_type": cert.key_type, "key_size": cert.key_size}
        if cert.key_type in ("RSA", "DSA") and cert.key_size < min_rsa:
            yield Outcome.fail(f"{cert.key_type} key of {cert.key_size} bits", evidence=evidence)
        elif cert.key_type == "EC" and cert.key_size < min_ec:
            yield Outcome.fail(f"EC key of {cert.key_size} bits", evidence=evidence)
        else:
            yield Outcome.passed(f"{cert.key_type} {cert.key_size} bits", evidence=evidence)

    yield from _cert_check(scan, test)


@check(
    id="TLS-CERT-SHA1",
    title="Certificate signed with SHA-1",
    area=Area.TLS,
    severity=Severity.MEDIUM,
    target=TargetKind.STOREFRONT,
    facts="tls",
    remediation="Reissue the certificate with a SHA-256 (or stronger) signature.",
    references=["https://shattered.io/"],
)
def cert_sha1(scan: TlsScan, ctx: CheckContext) -> Iterator[Outcome]:
    def test(endpoint: Endpoint, facts: TlsFacts, cert: Any) -> Iterator[Outcome]:
        if (cert.signature_hash or "").lower() in ("sha1", "md5") or cert.verified_chain_has_sha1:
            yield Outcome.fail(
                f"signature hash {cert.signature_hash}",
                evidence={
                    "signature_hash": cert.signature_hash,
                    "chain": list(cert.chain_subjects),
                },
            )

    yield from _cert_check(scan, test)


_VULNERABILITIES: dict[str, tuple[str, Severity, str]] = {
    "heartbleed": (
        "vulnerable to Heartbleed (CVE-2014-0160)",
        Severity.CRITICAL,
        "Upgrade OpenSSL.",
    ),
    "robot": (
        "vulnerable to ROBOT (RSA padding oracle)",
        Severity.HIGH,
        "Disable RSA key exchange.",
    ),
    "ccs_injection": (
        "vulnerable to OpenSSL CCS injection (CVE-2014-0224)",
        Severity.HIGH,
        "Upgrade OpenSSL.",
    ),
    "insecure_renegotiation": (
        "no secure renegotiation (RFC 5746)",
        Severity.MEDIUM,
        "Upgrade the TLS stack.",
    ),
    "client_renegotiation_dos": (
        "accepts client-initiated renegotiation (DoS)",
        Severity.LOW,
        "Disable client-initiated renegotiation.",
    ),
    "compression": ("TLS compression enabled (CRIME)", Severity.MEDIUM, "Disable TLS compression."),
    "no_fallback_scsv": (
        "no downgrade protection (TLS_FALLBACK_SCSV)",
        Severity.LOW,
        "Upgrade the TLS stack to one that honours TLS_FALLBACK_SCSV.",
    ),
}


_PLUGIN_OF = {
    "insecure_renegotiation": "renegotiation",
    "client_renegotiation_dos": "renegotiation",
    "no_fallback_scsv": "fallback_scsv",
}


@check(
    id="TLS-VULNERABILITY",
    title="Known TLS implementation vulnerability",
    area=Area.TLS,
    severity=Severity.HIGH,
    target=TargetKind.STOREFRONT,
    facts="tls",
    description="Heartbleed, ROBOT, OpenSSL CCS injection, insecure renegotiation, client-initiated "
    "renegotiation, TLS compression (CRIME) and missing downgrade protection, as sslyze tests them.",
    remediation="Upgrade the TLS library and apply the fix named in each finding.",
    references=["https://github.com/nabla-c0d3/sslyze"],
)
def vulnerabilities(scan: TlsScan, ctx: CheckContext) -> Iterator[Outcome]:
    def body(endpoint: Endpoint, facts: TlsFacts) -> Iterator[Outcome]:
        for name, (message, severity, fix) in _VULNERABILITIES.items():
            value = facts.vulnerabilities.get(name)
            if value is None:
                error = facts.errors.get(_PLUGIN_OF.get(name, name), "")
                if name in facts.vulnerabilities or error:
                    yield Outcome.skip(
                        f"{name} could not be tested: {error or 'inconclusive'}", key=name
                    )
            elif value:
                yield Outcome.fail(
                    message, evidence={"test": name, "fix": fix}, severity=severity, key=name
                )

    yield from _each(scan, body)


@check(
    id="TLS-OCSP-STAPLING",
    title="OCSP stapling not enabled",
    area=Area.TLS,
    severity=Severity.INFO,
    target=TargetKind.STOREFRONT,
    facts="tls",
    remediation="Enable OCSP stapling (nginx: ssl_stapling on; ssl_stapling_verify on;).",
    references=["https://www.rfc-editor.org/rfc/rfc6066#section-8"],
)
def ocsp_stapling(scan: TlsScan, ctx: CheckContext) -> Iterator[Outcome]:
    def test(endpoint: Endpoint, facts: TlsFacts, cert: Any) -> Iterator[Outcome]:
        if cert.ocsp_stapled:
            yield Outcome.passed("an OCSP response is stapled")
        elif not cert.has_ocsp_url:
            yield Outcome.not_applicable("the certificate names no OCSP responder")
        else:
            yield Outcome.fail("the server staples no OCSP response")

    yield from _cert_check(scan, test)
