"""Vendors that receive customer data: DPA, transfer mechanism, reviews, data minimisation,
CCPA contract, breach clause; and third parties the storefront loads that nobody declared."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

from posture.checks._declared import days_since, no_vendors, where
from posture.checks._inventory import inventories, source_of
from posture.checks.collectors.declared import DeclaredFacts, collect_declared
from posture.controls import Vendor
from posture.hostnames import within
from posture.model import Area, EvidenceSource, Severity, TargetKind
from posture.plugin import CheckContext, Outcome, check
from posture.runner import ScanFacts

__all__ = ["collect_declared"]
DECLARED = EvidenceSource.DECLARED


def _adequate(country: str, v: Vendor, adequacy: set[str], certified_only: set[str]) -> bool:
    """An adequacy decision covers the transfer: for a country whose decision covers only
    certified organisations (the US and the Data Privacy Framework), only a certified vendor."""
    if country not in adequacy:
        return False
    return country not in certified_only or v.dpf_certified is True


def _vendor_checks(facts: DeclaredFacts, ctx: CheckContext) -> Iterator[tuple[int, str, Outcome]]:
    eea = {str(c).upper() for c in ctx.policy.get("vendor.eea", [])}
    adequacy = {str(c).upper() for c in ctx.policy.get("vendor.adequacy", [])}
    certified_only = {
        str(c).upper() for c in ctx.policy.get("vendor.adequacy_needs_certification", [])
    }
    needs = ctx.policy.get("vendor.data_needs", {})
    review_days = int(ctx.policy.get("vendor.review_max_days", 365))
    for i, v in enumerate(facts.controls.vendors):
        at = where(ctx, "vendors", i)
        data = {"data_categories": list(v.data_categories)}

        def fail(message: str, key: str, severity: Severity, **extra: object) -> Outcome:
            return Outcome.fail(
                message,
                resource=v.name,  # noqa: B023 - used at once, in this iteration
                location=at,  # noqa: B023
                source=DECLARED,
                key=key,
                severity=severity,
                evidence={**data, **extra},  # noqa: B023
            )

        if v.dpa_signed is None:
            yield i, "dpa", fail(f"{v.name}: no data processing agreement", "dpa", Severity.HIGH)
        country = (v.country or "").upper()
        # "dpf" is not a safeguard of its own: it is the adequacy decision, for certified vendors
        mechanism = (v.transfer_mechanism or "").strip().lower()
        safeguard = bool(mechanism) and mechanism not in ("dpf", "adequacy")
        if (
            country
            and country not in eea
            and not _adequate(country, v, adequacy, certified_only)
            and not safeguard
        ):
            why = (
                "the adequacy decision covers only certified organisations and dpf_certified is not true"
                if country in certified_only
                else "no adequacy"
            )
            yield (
                i,
                "transfer",
                fail(
                    f"{v.name}: data goes to {country} (outside the EEA, {why}) with no transfer mechanism",
                    "transfer",
                    Severity.HIGH,
                    country=country,
                    dpf_certified=v.dpf_certified,
                ),
            )
        if v.last_security_review is None or days_since(ctx, v.last_security_review) > review_days:
            when = (
                "never"
                if v.last_security_review is None
                else f"{days_since(ctx, v.last_security_review)} days ago"
            )
            yield (
                i,
                "review",
                fail(
                    f"{v.name}: security review {when} (limit {review_days} days)",
                    "review",
                    Severity.MEDIUM,
                ),
            )
        allowed = needs.get(v.service or "", None)
        if allowed is not None:
            extra = sorted(set(v.data_categories) - {str(c) for c in allowed})
            if extra:
                yield (
                    i,
                    "minimisation",
                    fail(
                        f"{v.name}: gets {', '.join(extra)}, more than a {v.service} service needs",
                        "minimisation",
                        Severity.MEDIUM,
                        shared=v.data_categories,
                        needed=list(allowed),
                    ),
                )
        if v.service_provider_contract is not True:
            yield (
                i,
                "ccpa",
                fail(f"{v.name}: no CCPA service-provider contract terms", "ccpa", Severity.MEDIUM),
            )
        if v.breach_notification_clause is not True:
            yield (
                i,
                "breach",
                fail(
                    f"{v.name}: contract has no breach-notification clause",
                    "breach",
                    Severity.MEDIUM,
                ),
            )


@check(
    id="VENDOR-CONTRACTS",
    title="Vendor without DPA, transfer mechanism, review or contract terms",
    area=Area.VENDOR,
    severity=Severity.HIGH,
    target=TargetKind.CONTROLS,
    facts="declared",
    needs=no_vendors,
    description="Each declared vendor needs a DPA (GDPR Art. 28), a transfer mechanism when data leaves the "
    "EEA for a country without adequacy (Art. 44-46), a security review within 12 months, only the data "
    "its service needs (policy vendor.data_needs), CCPA service-provider terms and a breach clause.",
    remediation="Sign the DPA with SCCs where needed, review the vendor yearly, and share only what it needs.",
)
def vendor_contracts(facts: DeclaredFacts, ctx: CheckContext) -> Iterator[Outcome]:
    failed = set()
    for index, _, outcome in _vendor_checks(facts, ctx):
        failed.add(index)
        yield outcome
    for i, v in enumerate(facts.controls.vendors):
        if i not in failed:
            yield Outcome.passed(
                f"{v.name}: DPA {v.dpa_signed}, reviewed {v.last_security_review}",
                resource=v.name,
                source=DECLARED,
                evidence={"data_categories": list(v.data_categories)},
            )


@check(
    id="VENDOR-UNDECLARED",
    title="Storefront loads a third party no declared vendor covers",
    area=Area.VENDOR,
    severity=Severity.HIGH,
    target=TargetKind.SCAN,
    facts="results",
    description="Compares the third-party origins each storefront loads (WEB-THIRD-PARTY-INVENTORY) with "
    "the domains of the declared vendors: an undeclared script or pixel receives customer data without "
    "a contract. Uses what the browser loaded when the browser checks ran (trackers a tag manager "
    "injects included), else the static fetch; evidence.source says which.",
    remediation="Declare the vendor (with its DPA) or remove it from the pages.",
)
def undeclared(facts: ScanFacts, ctx: CheckContext) -> Iterator[Outcome]:
    if ctx.config is None:
        return
    domains = [d for v in ctx.config.controls.vendors for d in v.domains]
    found = inventories(facts.results)
    if not found:
        yield Outcome.skip("no storefront inventory in this scan (no storefront scanned)")
        return
    for inv in found:
        undeclared = 0
        for item in inv.evidence.get("origins", []):
            host = urlsplit(item["origin"]).hostname or ""
            if not within(host, domains):
                undeclared += 1
                yield Outcome.fail(
                    f"{host} is loaded by {inv.target} but no declared vendor covers it",
                    resource=host,
                    key=f"{inv.target}|{host}",
                    evidence={
                        "origin": item["origin"],
                        "pages": item["pages"],
                        "kinds": item["kinds"],
                        "source": source_of(inv),
                    },
                )
        if not undeclared:
            yield Outcome.passed(
                f"every third party {inv.target} loads is covered by a declared vendor",
                resource=inv.target,
                key=inv.target,
                evidence={
                    "origins": len(inv.evidence.get("origins", [])),
                    "source": source_of(inv),
                },
            )
