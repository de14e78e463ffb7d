"""CSV: one row per result, for spreadsheets. Cells that a spreadsheet would run as a formula are
neutralised (CSV injection: a leading = + - @ tab or CR gets a quote in front)."""

from __future__ import annotations

import csv as _csv
import io
from typing import TYPE_CHECKING

from posture.render._common import mask, ordered
from posture.scanreport import ScanReport

if TYPE_CHECKING:
    from posture.render import RenderContext

EXTENSION = "csv"
COLUMNS = [
    "severity",
    "status",
    "check_id",
    "title",
    "area",
    "target",
    "location",
    "resource",
    "message",
    "obligations",
    "baseline",
    "waiver_reason",
    "waiver_expires",
    "remediation",
    "fingerprint",
]


def safe(value: str) -> str:
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def render(report: ScanReport, ctx: RenderContext) -> str:
    out = io.StringIO()
    writer = _csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for r in ordered(report.results):
        row = [
            r.severity.value,
            r.status.value,
            r.check_id,
            r.title,
            r.area.value,
            r.target,
            str(r.location) if r.location else "",
            r.resource or "",
            r.message,
            " ".join(r.obligations),
            r.baseline or "",
            r.waiver.reason if r.waiver else "",
            r.waiver.expires or "" if r.waiver else "",
            r.remediation,
            r.fingerprint,
        ]
        writer.writerow([safe(mask(str(cell))) for cell in row])
    return out.getvalue()
