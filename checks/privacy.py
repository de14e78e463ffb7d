"""Privacy notice and breach readiness: the policy's content, the opt-out link and Global
Privacy Control, retention, the incident response plan, exercises, training, records."""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import urlsplit

from posture.checks._declared import (
    attestation_evidence,
    days_since,
    document,
    storefront_inventories,
    where,
)
from posture.checks._inventory import inventories, source_of
from posture.checks.collectors.declared import DeclaredFacts, collect_declared
from posture.checks.collectors.privacy_web import PrivacyWebFacts, collect_privacy_web
from posture.model import Area, EvidenceSource, Severity, TargetKind
from posture.plugin import CheckContext, Outcome, check
from posture.runner import ScanFacts

__all__ = ["collect_declared", "collect_privacy_web"]
DECLARED = EvidenceSource.DECLARED


@check(
    id="PRIV-POLICY-CONTENT",
    title="Privacy policy unreachable or missing required topics",
    area=Area.PRIVACY,
    severity=Severity.MEDIUM,
    target=TargetKind.CONTROLS,
    facts="privacy_web",
    description="The policy must say what is collected, why, who receives it, how it is kept safe, how "
    "long it is kept, the customer's rights and how to use them, how to opt out, whom to contact and "
    "when it was last updated (GDPR Art. 13, CCPA 1798.130, CCPA regs 7011). Topic phrases are policy data.",
    remediation="Complete the privacy policy: each missing topic is named in the finding.",
)
def policy_content(facts: PrivacyWebFacts, ctx: CheckContext) -> Iterator[Outcome]:
    if facts.policy is None:
        yield Outcome.fail(
            "no privacy policy URL declared (controls.privacy.policy_url)",
            source=DECLARED,
            key="missing",
        )
        return
    if facts.policy.text is None or facts.policy.error:
        yield Outcome.error(
            f"privacy policy {facts.policy.url}: {facts.policy.error}", resource=facts.policy.url
        )
        return
    text = facts.policy.text.lower()
    topics: dict[str, list[str]] = ctx.policy.get("privacy.policy_topics", {})
    missing = [
        t for t, phrases in topics.items() if not any(str(p).lower() in text for p in phrases)
    ]
    # one finding per missing topic: each topic maps to its own obligations (the right to
    # correct to CCPA 1798.106, non-discrimination to 1798.125, ...)
    for topic in missing:
        yield Outcome.fail(
            f"the policy does not cover: {topic}",
            resource=facts.policy.url,
            evidence={"missing": missing, "url": facts.policy.url, "topic": topic},
            key=f"topic:{topic}",
        )
    if not missing:
        yield Outcome.passed("every required topic is covered", resource=facts.policy.url)


@check(
    id="PRIV-OPT-OUT",
    title="No opt-out of sale/sharing or Global Privacy Control where one is needed",
    area=Area.PRIVACY,
    severity=Severity.HIGH,
    target=TargetKind.CONTROLS,
    facts="privacy_web",
    description="A business that sells or shares personal information needs a 'Do Not Sell or Share My "
    "Personal Information' link (CCPA 1798.135, regs 7013) and must honour opt-out preference signals such "
    "as Global Privacy Control (regs 7025/7026). A static fetch can see the link and /.well-known/gpc.json; "
    "it cannot prove the shop actually honours the signal.",
    remediation="Add the opt-out link to every page footer, publish /.well-known/gpc.json "
    '({"gpc": true}) and stop selling/sharing when the Sec-GPC header is present.',
)
def opt_out(facts: PrivacyWebFacts, ctx: CheckContext) -> Iterator[Outcome]:
    privacy = ctx.config.controls.privacy if ctx.config else None
    sells = bool(privacy and privacy.sells_or_shares)
    phrases = [str(p).lower() for p in ctx.policy.get("privacy.dns_link_phrases", [])]
    for home, gpc in zip(facts.homepages, facts.gpc, strict=False):
        text = (home.text or "").lower()
        link = any(p in text for p in phrases)
        gpc_ok = bool(gpc.text and re.search(r'"gpc"\s*:\s*true', gpc.text))
        evidence = {
            "storefront": home.url,
            "link_found": link,
            "gpc_json": gpc_ok,
            "sells_or_shares": sells,
            "note": "a static fetch cannot prove that the Sec-GPC signal is honoured",
        }
        if home.text is None:
            yield Outcome.error(f"{home.url}: {home.error}", resource=home.url)
        elif sells and not (link and gpc_ok):
            # both looked at, each its own finding: the link and the signal are separate duties
            if not link:
                yield Outcome.fail(
                    "sells or shares personal information but the homepage has no opt-out link",
                    resource=home.url,
                    evidence=evidence,
                    key="link",
                )
            if not gpc_ok:
                yield Outcome.fail(
                    "no /.well-known/gpc.json declaring support for Global Privacy Control",
                    resource=home.url,
                    evidence=evidence,
                    key="gpc",
                    severity=Severity.MEDIUM,
                )
        elif sells:
            yield Outcome.passed(
                "opt-out link and GPC resource present", resource=home.url, evidence=evidence
            )
        else:
            # nothing about the page was judged: the pass rests on the declaration alone, and
            # maps to no obligation (the matrix shows them "not applicable", with the declaration)
            yield Outcome.passed(
                "no sale or sharing declared",
                resource=home.url,
                evidence=evidence,
                source=DECLARED,
                key="not-selling",
            )


@check(
    id="PRIV-TRACKING-WITHOUT-OPT-OUT",
    title="Advertising or tracking third parties without an opt-out link",
    area=Area.PRIVACY,
    severity=Severity.HIGH,
    target=TargetKind.SCAN,
    facts="results",
    needs=storefront_inventories,
    description="Advertising and tracking origins on the storefront usually mean 'sharing' under the CCPA "
    "even when the business declares none: the opt-out link and GPC are then needed.",
    remediation="Offer the opt-out link and honour GPC, or remove the trackers.",
)
def tracking_without_opt_out(facts: ScanFacts, ctx: CheckContext) -> Iterator[Outcome]:
    hosts = [str(h).lower() for h in ctx.policy.get("privacy.tracking_hosts", [])]
    link_of = {
        r.evidence.get("storefront"): r.evidence.get("link_found")
        for r in facts.results
        if r.check_id == "PRIV-OPT-OUT" and "link_found" in r.evidence
    }
    found = inventories(facts.results)
    if not found:
        yield Outcome.skip("no storefront inventory in this scan (no storefront scanned)")
        return
    for inv in found:
        trackers = [
            o["origin"]
            for o in inv.evidence.get("origins", [])
            if any(h in (urlsplit(o["origin"]).hostname or "") for h in hosts)
            or o.get("tracker")  # the browser's inventory names trackers it recognised
        ]
        link = any(link_of.get(k) for k in link_of if k and k.rstrip("/") == inv.target.rstrip("/"))
        if trackers and not link:
            yield Outcome.fail(
                f"{inv.target} loads {', '.join(trackers)} but shows no opt-out link",
                resource=inv.target,
                evidence={"trackers": trackers, "source": source_of(inv)},
                key=inv.target,
            )
        else:
            yield Outcome.passed(
                f"{inv.target}: opt-out link shown beside {len(trackers)} trackers"
                if trackers
                else f"{inv.target} loads no known advertising or tracking origin",
                resource=inv.target,
                evidence={"trackers": trackers, "source": source_of(inv)},
                key=inv.target,
            )


@check(
    id="PRIV-RETENTION",
    title="Retention periods not declared or closed accounts kept too long",
    area=Area.PRIVACY,
    severity=Severity.MEDIUM,
    target=TargetKind.CONTROLS,
    facts="declared",
    remediation="Declare a retention period per data category and delete closed accounts (and old "
    "addresses) within the policy window.",
)
def retention(facts: DeclaredFacts, ctx: CheckContext) -> Iterator[Outcome]:
    privacy = facts.controls.privacy
    limit = int(ctx.policy.get("privacy.closed_account_deletion_max_days", 90))
    if privacy is None or not privacy.retention:
        yield Outcome.fail("no retention periods declared", source=DECLARED, key="retention")
    days = privacy.closed_account_deletion_days if privacy else None
    if days is None or days > limit:
        state = "not declared" if days is None else f"{days} days"
        yield Outcome.fail(
            f"closed-account data deletion {state} (limit {limit})",
            source=DECLARED,
            key="closed-accounts",
            location=where(ctx, "privacy"),
        )


# What the plan must say (key, what, severity, patterns that must all match the lowered text).
_PLAN_DUTIES: tuple[tuple[str, str, Severity, tuple[str, ...]], ...] = (
    (
        "authority-72h",
        "notify the supervisory authority within 72 hours",
        Severity.HIGH,
        (r"72\s*(hours|h\b)",),
    ),
    (
        "customers",
        "tell affected customers without undue delay",
        Severity.HIGH,
        (r"(customer|data subject|individual|affected)", r"undue delay"),
    ),
    (
        "breach-register",
        "document every breach, its effects and the action taken (GDPR Art. 33(5))",
        Severity.MEDIUM,
        (
            r"(breach (register|log|record)|record (of )?(every|each|all) breach|document (every|each|all|any) breach)",
        ),
    ),
    (
        "california-30-days",
        "notify California residents within 30 calendar days of discovery (Civ. Code 1798.82)",
        Severity.MEDIUM,
        (r"california", r"30\s*(calendar\s*)?days"),
    ),
    (
        "attorney-general",
        "send the California Attorney General a sample notice within 15 days when over 500 residents are told",
        Severity.MEDIUM,
        (r"attorney general", r"15\s*(calendar\s*)?days"),
    ),
)


@check(
    id="PRIV-INCIDENT-PLAN",
    title="Incident response plan missing or without notification duties",
    area=Area.PRIVACY,
    severity=Severity.HIGH,
    target=TargetKind.CONTROLS,
    facts="declared",
    description="The plan must say the supervisory authority is notified within 72 hours (GDPR Art. 33), "
    "customers without undue delay (Art. 34), every breach is documented (Art. 33(5)), California "
    "residents are told within 30 calendar days of discovery and the Attorney General gets a sample "
    "notice within 15 days when more than 500 are told (Cal. Civ. Code 1798.82, as amended by SB 446).",
    remediation="Write the plan with roles, the 72-hour authority notification, customer notification, "
    "a breach register, and the California 30-day resident and 15-day Attorney General notices.",
)
def incident_plan(facts: DeclaredFacts, ctx: CheckContext) -> Iterator[Outcome]:
    name = facts.controls.privacy.incident_response_plan if facts.controls.privacy else None
    doc = facts.file(name)
    if doc is None:
        yield Outcome.fail("no incident response plan declared", source=DECLARED, key="missing")
        return
    if doc.text is None:
        yield Outcome.error(f"incident response plan: {doc.error}")
        return
    text = doc.text.lower()
    missing = [
        (key, label, severity)
        for key, label, severity, pattern in _PLAN_DUTIES
        if not all(re.search(p, text) for p in pattern)
    ]
    for key, label, severity in missing:
        yield Outcome.fail(
            f"{doc.path} does not say: {label}",
            evidence={"missing": [m[1] for m in missing]},
            key=key,
            severity=severity,
        )
    if not missing:
        yield Outcome.passed(f"{doc.path} names every notification duty looked for")


def _attested(
    facts: DeclaredFacts, ctx: CheckContext, field: str, limit_key: str, label: str
) -> Iterator[Outcome]:
    privacy = facts.controls.privacy
    att = getattr(privacy, field) if privacy else None
    limit = int(ctx.policy.get(limit_key, 365))
    if att is None:
        yield Outcome.fail(f"no {label} attested", source=EvidenceSource.ATTESTED)
    elif days_since(ctx, att.date) > limit:
        yield Outcome.fail(
            f"last {label} {days_since(ctx, att.date)} days ago (limit {limit})",
            source=EvidenceSource.ATTESTED,
            evidence=attestation_evidence(att),
            location=where(ctx, "privacy", field),
        )
    else:
        yield Outcome.passed(
            f"{label} on {att.date}",
            source=EvidenceSource.ATTESTED,
            evidence=attestation_evidence(att),
        )


@check(
    id="PRIV-TABLETOP",
    title="No breach tabletop exercise in the last 12 months",
    area=Area.PRIVACY,
    severity=Severity.MEDIUM,
    target=TargetKind.CONTROLS,
    facts="declared",
    remediation="Rehearse the incident response plan at least yearly and record it.",
)
def tabletop(facts: DeclaredFacts, ctx: CheckContext) -> Iterator[Outcome]:
    yield from _attested(
        facts, ctx, "tabletop_exercise", "privacy.tabletop_max_days", "tabletop exercise"
    )


@check(
    id="PRIV-TRAINING",
    title="No security and privacy training in the last 12 months",
    area=Area.PRIVACY,
    severity=Severity.MEDIUM,
    target=TargetKind.CONTROLS,
    facts="declared",
    remediation="Train staff yearly (phishing, passwords and MFA, handling customer data) and record it.",
)
def training(facts: DeclaredFacts, ctx: CheckContext) -> Iterator[Outcome]:
    yield from _attested(
        facts, ctx, "security_training", "privacy.training_max_days", "security training"
    )


@check(
    id="PRIV-RECORDS",
    title="No records of processing activities",
    area=Area.PRIVACY,
    severity=Severity.MEDIUM,
    target=TargetKind.CONTROLS,
    facts="declared",
    remediation="Keep a record of processing activities (GDPR Art. 30) and point controls.privacy."
    "records_of_processing at it.",
)
def records(facts: DeclaredFacts, ctx: CheckContext) -> Iterator[Outcome]:
    name = facts.controls.privacy.records_of_processing if facts.controls.privacy else None
    yield from document(
        facts, name, "records of processing", where(ctx, "privacy", "records_of_processing")
    )
