"""Helpers shared by the checks over declared controls: where in posture.yaml, and dates."""

from __future__ import annotations

import datetime as dt

from posture.controls import Attestation
from posture.model import Location
from posture.plugin import CheckContext


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
