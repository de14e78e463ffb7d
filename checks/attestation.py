"""Attestations must be renewed: one past its renewal date is a finding of its own."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel

from posture.checks._declared import attestation_evidence
from posture.checks.collectors.declared import DeclaredFacts, collect_declared
from posture.controls import Attestation
from posture.model import Area, EvidenceSource, Severity, TargetKind
from posture.plugin import CheckContext, Outcome, check

__all__ = ["collect_declared"]


def walk(node: Any, path: str = "controls") -> Iterator[tuple[str, Attestation]]:
    if isinstance(node, Attestation):
        yield path, node
    elif isinstance(node, BaseModel):
        for name in type(node).model_fields:
            yield from walk(getattr(node, name), f"{path}.{name}")
    elif isinstance(node, list):
        for i, item in enumerate(node):
            yield from walk(item, f"{path}[{i}]")


@check(
    id="CTRL-ATTESTATION-RENEWAL",
    title="Attestation past its renewal date",
    area=Area.OTHER,
    severity=Severity.MEDIUM,
    target=TargetKind.CONTROLS,
    facts="declared",
    needs=lambda facts, ctx: (
        None
        if any(True for _ in walk(facts.controls))
        else "no attestation declared in controls: nothing to evaluate"
    ),
    description="A control no file or scan can prove (training, restore test, access review) is attested "
    "by a person with a date and a renewal period; past it, the attestation no longer counts.",
    remediation="Repeat the control and renew the attestation (by, date) in posture.yaml.",
)
def renewal(facts: DeclaredFacts, ctx: CheckContext) -> Iterator[Outcome]:
    for path, att in walk(facts.controls):
        if att.due() < ctx.now.date():
            yield Outcome.fail(
                f"{path}: attested by {att.by} on {att.date}, renewal was due {att.due()}",
                source=EvidenceSource.ATTESTED,
                evidence=attestation_evidence(att),
                key=path,
            )
        else:
            yield Outcome.passed(
                f"{path}: valid until {att.due()}", source=EvidenceSource.ATTESTED, key=path
            )
