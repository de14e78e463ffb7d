"""JSON: the complete scan document (schema: policies/schemas/scan-result.schema.json)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, TextIO

from posture.scanreport import ScanReport

EXTENSION = "json"

if TYPE_CHECKING:
    from posture.render import RenderContext


def render(report: ScanReport, ctx: RenderContext) -> str:
    return json.dumps(report.to_dict(), indent=2, ensure_ascii=False, default=str) + "\n"


def write(report: ScanReport, ctx: RenderContext, handle: TextIO) -> None:
    """The same text as ``render``, streamed: an estate's results are never held as one string."""
    encoder = json.JSONEncoder(indent=2, ensure_ascii=False, default=str)
    for chunk in encoder.iterencode(report.to_dict(lazy=True)):
        handle.write(chunk)
    handle.write("\n")
