"""JUnit XML: one test suite per area, one test case per result (CI systems show them as tests)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET  # noqa: S405 - we write XML, never parse untrusted input here
from collections import defaultdict
from typing import TYPE_CHECKING

from posture.model import Result, Status
from posture.render._common import mask, ordered
from posture.scanreport import ScanReport

if TYPE_CHECKING:
    from posture.render import RenderContext

EXTENSION = "junit.xml"


def _name(r: Result) -> str:
    where = str(r.location) if r.location else r.target
    origin = str(r.origin) if r.origin is not None else None  # one test case per module instance
    extra = " ".join(x for x in (r.resource, r.key, origin) if x)
    return f"{where} {extra}".strip()


# What XML 1.0 forbids (the C0 controls but tab, CR, LF; surrogates; U+FFFE/U+FFFF): results are
# cleaned when made, this keeps the file valid whatever a plugin puts in a title.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _xml(text: str) -> str:
    return _NOT_XML.sub("", mask(text))


def render(report: ScanReport, ctx: RenderContext) -> str:
    by_area: dict[str, list[Result]] = defaultdict(list)
    for result in ordered(report.results):
        by_area[result.area.value].append(result)
    root = ET.Element("testsuites", name="posture", tests=str(len(report.results)))
    elapsed = (report.finished_at - report.started_at).total_seconds()
    root.set("time", f"{elapsed:.3f}")
    for area in sorted(by_area):
        results = by_area[area]
        suite = ET.SubElement(root, "testsuite", name=f"posture.{area}", tests=str(len(results)))
        suite.set("failures", str(sum(r.status is Status.FAIL for r in results)))
        suite.set("errors", str(sum(r.status is Status.ERROR for r in results)))
        suite.set("skipped", str(sum(r.status in (Status.SKIPPED, Status.WAIVED) for r in results)))
        suite.set("timestamp", report.started_at.isoformat(timespec="seconds"))
        for r in results:
            case = ET.SubElement(suite, "testcase", classname=_xml(r.check_id), name=_xml(_name(r)))
            text = _xml(r.message or r.title)
            if r.status is Status.FAIL:
                node = ET.SubElement(case, "failure", message=text, type=r.severity.value)
                node.text = _xml(f"{r.title}\n{r.message}\nfix: {r.remediation}")
            elif r.status is Status.ERROR:
                ET.SubElement(case, "error", message=text, type="error")
            elif r.status is Status.SKIPPED:
                ET.SubElement(case, "skipped", message=text)
            elif r.status is Status.WAIVED:
                reason = r.waiver.reason if r.waiver else "waived"
                ET.SubElement(case, "skipped", message=_xml(f"waived: {reason}"))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
