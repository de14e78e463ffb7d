"""Helpers shared by the checks over declared controls: where in posture.yaml, and dates."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator

from posture.checks.collectors.declared import DeclaredFacts
from posture.controls import Attestation, DataStore
from posture.model import EvidenceSource, Location, Status
from posture.plugin import CheckContext, Outcome
from posture.runner import ScanFacts


def no_vendors(facts: DeclaredFacts, ctx: CheckContext) -> str | None:
    if facts.controls.vendors:
        return None
    return "no vendors declared (controls.vendors is empty): nothing to evaluate"


def no_data_stores(facts: DeclaredFacts, ctx: CheckContext) -> str | None:
    if facts.controls.data_stores:
        return None
    return "no data stores declared (controls.data_stores is empty): nothing to evaluate"


def no_payments(facts: DeclaredFacts, ctx: CheckContext) -> str | None:
    if facts.controls.payments is not None:
        return None
    return "no payment controls declared (controls.payments)"


def storefront_inventories(facts: ScanFacts, ctx: CheckContext) -> str | None:
    """Cross-target checks over what the storefronts load need at least one that answered."""
    if any(
        r.check_id == "WEB-THIRD-PARTY-INVENTORY" and r.status is Status.PASS for r in facts.results
    ):
        return None
    return "no storefront answered in this scan (no third-party inventory to compare with)"


def where(ctx: CheckContext, *loc: str | int) -> Location | None:
    if ctx.config is None:
        return None
    return Location(ctx.config.path, ctx.config.line("controls", *loc))


def days_since(ctx: CheckContext, date: dt.date) -> int:
    return (ctx.now.date() - date).days


def attestation_evidence(a: Attestation) -> dict[str, object]:
    return {
        "by": a.by,
        "date": a.date.isoformat(),
        "renewal": a.renewal,
        "due": a.due().isoformat(),
    }


def document(
    facts: DeclaredFacts, name: str | None, label: str, at: Location | None
) -> Iterator[Outcome]:
    """A declared document (a plan, a process, a record): missing, unreadable or nearly empty."""
    doc = facts.file(name)
    if doc is None:
        yield Outcome.fail(f"no {label} declared", source=EvidenceSource.DECLARED)
    elif doc.text is None:
        yield Outcome.error(f"{label}: {doc.error}", location=at)
    elif len(doc.text.strip()) < 40:
        yield Outcome.fail(
            f"{doc.path} is nearly empty", evidence={"chars": len(doc.text.strip())}, location=at
        )


def declared_vs_observed_needs(
    declares: Callable[[DataStore], bool], what: str
) -> Callable[[ScanFacts, CheckContext], str | None]:
    """``needs`` of a check comparing a data-store declaration with the IaC and the live
    account: a store must declare ``what`` and name its IaC or cloud resources, and one of the
    two must have been scanned."""

    def needs(facts: ScanFacts, ctx: CheckContext) -> str | None:
        stores = ctx.config.controls.data_stores if ctx.config else []
        if not any(declares(s) and (s.iac_resources or s.cloud_resources) for s in stores):
            return f"no data store declares {what} with its IaC or cloud resources"
        if not any(
            r.target_kind.value in ("iac", "cloud") and r.status is not Status.ERROR
            for r in facts.results
        ):
            return "no infrastructure code or cloud account was scanned to compare the declarations with"
        return None

    return needs


def runs_as(resource: str | None, declared: list[str]) -> bool:
    """A live result's ARN is one of a data store's ``cloud_resources`` (an ARN, or the last
    part of one: a bucket name)."""
    if not resource or not declared:
        return False
    return resource in declared or resource.rsplit(":", 1)[-1] in declared
