"""JSON: the complete scan document (schema: policies/schemas/scan-result.schema.json)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from posture.scanreport import ScanReport

EXTENSION = "json"

if TYPE_CHECKING:
    from posture.render import RenderContext


def render(report: ScanReport, ctx: RenderContext) -> str:
    return json.dumps(report.to_dict(), indent=2, ensure_ascii=False, default=str) + "\n"
