"""Declared access controls: VPN for admin access, MFA, password policy, access reviews,
offboarding. Evidence files (VPN, sshd, nginx) are checked by checks/configs.py."""

from __future__ import annotations

from collections.abc import Iterator

from posture.checks._declared import attestation_evidence, days_since, document, where
from posture.checks.collectors.declared import DeclaredFacts, collect_declared
from posture.model import Area, EvidenceSource, Severity, TargetKind
from posture.plugin import CheckContext, Outcome, check

__all__ = ["collect_declared"]
NIST = "https://pages.nist.gov/800-63-3/sp800-63b.html"
DECLARED = EvidenceSource.DECLARED


@check(
    id="ACCESS-VPN-REQUIRED",
    title="Admin and back-office access not behind a VPN",
    area=Area.ACCESS,
    severity=Severity.HIGH,
    target=TargetKind.CONTROLS,
    facts="declared",
    remediation="Require the VPN (or a zero-trust access proxy) for every admin and back-office tool.",
)
def vpn_required(facts: DeclaredFacts, ctx: CheckContext) -> Iterator[Outcome]:
    access = facts.controls.access
    if access is None or access.vpn is None:
        yield Outcome.fail(
            "no VPN declared (controls.access.vpn)", source=DECLARED, location=where(ctx, "access")
        )
    elif not access.vpn.required_for_admin:
        yield Outcome.fail(
            "the VPN is not required for admin access",
            source=DECLARED,
            location=where(ctx, "access", "vpn", "required_for_admin"),
        )
    else:
        yield Outcome.passed("VPN required for admin access", source=DECLARED)


@check(
    id="ACCESS-MFA",
    title="MFA not enforced for admins and staff",
    area=Area.ACCESS,
    severity=Severity.HIGH,
    target=TargetKind.CONTROLS,
    facts="declared",
    remediation="Enforce MFA (phishing-resistant where possible) for every admin and staff account.",
    references=["https://www.cisa.gov/MFA"],
)
def mfa(facts: DeclaredFacts, ctx: CheckContext) -> Iterator[Outcome]:
    access = facts.controls.access
    for who, value in (
        ("admins", access.mfa_admins if access else None),
        ("staff", access.mfa_staff if access else None),
    ):
        if value is not True:
            state = "not declared" if value is None else "off"
            yield Outcome.fail(
                f"MFA for {who} {state}",
                source=DECLARED,
                key=who,
                severity=Severity.CRITICAL if who == "admins" else Severity.HIGH,
                location=where(ctx, "access", f"mfa_{who}") if access else where(ctx),
            )
        else:
            # admins and staff apart: admin MFA is PCI DSS 8.4.1, everyone's is 8.4.2
            yield Outcome.passed(f"MFA for {who} declared enforced", source=DECLARED, key=who)


@check(
    id="ACCESS-PASSWORD-POLICY",
    title="Password policy weaker than NIST SP 800-63B",
    area=Area.ACCESS,
    severity=Severity.MEDIUM,
    target=TargetKind.CONTROLS,
    facts="declared",
    remediation="Minimum 12 characters (or passphrases), no forced periodic rotation, check new "
    "passwords against breached-password lists.",
    references=[NIST],
)
def password_policy(facts: DeclaredFacts, ctx: CheckContext) -> Iterator[Outcome]:
    policy = facts.controls.access.password_policy if facts.controls.access else None
    minimum = int(ctx.policy.get("access.min_password_length", 12))
    if policy is None:
        yield Outcome.fail("no password policy declared", source=DECLARED, key="missing")
        return
    at = where(ctx, "access", "password_policy")
    if policy.min_length < minimum and not policy.passphrases_allowed:
        yield Outcome.fail(
            f"minimum length {policy.min_length}, under {minimum}",
            source=DECLARED,
            location=at,
            key="length",
        )
    if policy.forced_rotation_days:
        yield Outcome.fail(
            f"forced rotation every {policy.forced_rotation_days} days (NIST advises against it)",
            source=DECLARED,
            location=at,
            key="rotation",
            severity=Severity.LOW,
        )


@check(
    id="ACCESS-REVIEW",
    title="Access review missing or older than the policy allows",
    area=Area.ACCESS,
    severity=Severity.MEDIUM,
    target=TargetKind.CONTROLS,
    facts="declared",
    remediation="Review every account with access to customer data at least every 90 days; record "
    "who did it and when (controls.access.access_review).",
)
def access_review(facts: DeclaredFacts, ctx: CheckContext) -> Iterator[Outcome]:
    review = facts.controls.access.access_review if facts.controls.access else None
    limit = int(ctx.policy.get("access.access_review_max_days", 90))
    if review is None:
        yield Outcome.fail("no access review attested", source=EvidenceSource.ATTESTED)
    elif days_since(ctx, review.date) > limit:
        yield Outcome.fail(
            f"last access review {days_since(ctx, review.date)} days ago (limit {limit})",
            source=EvidenceSource.ATTESTED,
            evidence=attestation_evidence(review),
            location=where(ctx, "access", "access_review"),
        )
    else:
        yield Outcome.passed(
            "access review within the limit",
            source=EvidenceSource.ATTESTED,
            evidence=attestation_evidence(review),
        )


@check(
    id="ACCESS-OFFBOARDING",
    title="No documented offboarding process",
    area=Area.ACCESS,
    severity=Severity.MEDIUM,
    target=TargetKind.CONTROLS,
    facts="declared",
    remediation="Document how access is removed when staff or contractors leave, and point "
    "controls.access.offboarding_process at it.",
)
def offboarding(facts: DeclaredFacts, ctx: CheckContext) -> Iterator[Outcome]:
    name = facts.controls.access.offboarding_process if facts.controls.access else None
    yield from document(
        facts, name, "offboarding process", where(ctx, "access", "offboarding_process")
    )
