"""Helpers shared by the checks over declared controls: where in posture.yaml, and dates."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from posture.checks.collectors.declared import DeclaredFacts
from posture.controls import Attestation
from posture.model import EvidenceSource, Location
from posture.plugin import CheckContext, Outcome


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
