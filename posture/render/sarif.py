"""SARIF 2.1.0 for GitHub code scanning and other SARIF viewers.

One run per target kind (storefront, iac, config, controls, repository, scan), each with its own
``automationDetails.id`` (``posture/<kind>/``): GitHub no longer merges several runs of one tool
and category in an upload, so each run carries a distinct category. Passing results are not
alerts and are left out; waived results are kept with a suppression; errors are tool execution
notifications. Every result has a location: its file and lines where it has one, else the line of
posture.yaml that declares its target, else (a --target URL with no config) the URL itself.
"""

from __future__ import annotations

import os
from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from posture import __version__
from posture.model import Result, Severity, Status
from posture.render._common import SECURITY_SEVERITY, mask, ordered, relative_path, screenshots
from posture.scanreport import ScanReport

if TYPE_CHECKING:
    from posture.render import RenderContext

EXTENSION = "sarif"
SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFO_URI = "https://pypi.org/project/storefront-posture/"
_LEVEL = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFO: "note",
}


def _rule(result: Result) -> dict[str, Any]:
    refs = list(result.references)
    help_lines = [result.remediation or result.title]
    if result.obligations:
        help_lines.append("Obligations at risk: " + ", ".join(result.obligations))
    help_lines += [f"- {ref}" for ref in refs]
    rule: dict[str, Any] = {
        "id": result.check_id,
        "name": "".join(part.capitalize() for part in result.check_id.replace("_", "-").split("-")),
        "shortDescription": {"text": result.title},
        "fullDescription": {"text": result.title},
        "help": {"text": "\n".join(help_lines), "markdown": "\n\n".join(help_lines)},
        "defaultConfiguration": {"level": _LEVEL[result.severity]},
        "properties": {
            "security-severity": SECURITY_SEVERITY[result.severity],
            "precision": "high",
            "tags": ["security", f"area:{result.area.value}", *result.obligations],
        },
    }
    if refs:
        rule["helpUri"] = refs[0]
    return rule


def _location(result: Result, declared: dict[str, Any], folder: str = "") -> dict[str, Any]:
    if result.location is not None:
        region: dict[str, int] = {}
        if result.location.start_line:
            region["startLine"] = result.location.start_line
            if result.location.end_line and result.location.end_line >= result.location.start_line:
                region["endLine"] = result.location.end_line
        # results name files relative to posture.yaml's folder (the repository root); relative to
        # the working directory (or $POSTURE_SOURCE_ROOT) when that holds them, else as named
        uri = relative_path(os.path.join(folder, result.location.path))
        if os.path.isabs(uri) and not os.path.isabs(result.location.path):
            uri = Path(result.location.path).as_posix()
        physical: dict[str, Any] = {"artifactLocation": {"uri": uri, "uriBaseId": "%SRCROOT%"}}
        if region:
            physical["region"] = region
        located: dict[str, Any] = {"physicalLocation": physical}
        if result.origin is not None:
            located["logicalLocations"] = _logical(result)
        return located
    where = declared.get(result.target)
    if where is not None and where.path:
        physical = {
            "artifactLocation": {"uri": relative_path(where.path), "uriBaseId": "%SRCROOT%"}
        }
        if where.start_line:
            physical["region"] = {"startLine": where.start_line}
        location: dict[str, Any] = {"physicalLocation": physical}
    else:
        location = {"physicalLocation": {"artifactLocation": {"uri": result.target}}}
    if result.resource:
        location["logicalLocations"] = [{"name": result.resource, "kind": "resource"}]
    return location


def _logical(result: Result) -> list[dict[str, Any]]:
    """IaC in a shared module: the resource within its root module, and the module calls."""
    assert result.origin is not None
    origin = result.origin
    out: list[dict[str, Any]] = []
    if result.resource:
        out.append(
            {
                "name": result.resource,
                "fullyQualifiedName": f"{origin.root}:{result.resource}",
                "kind": "resource",
            }
        )
    out.append(
        {
            "name": ".".join(origin.calls) or origin.root,
            "fullyQualifiedName": f"{origin.root}:" + ".".join(f"module.{c}" for c in origin.calls),
            "kind": "module",
        }
    )
    return out


def _related(result: Result) -> list[dict[str, Any]]:
    """The root module's module call that instantiated the shared module's resource."""
    origin = result.origin
    if origin is None or origin.call_location is None:
        return []
    call = origin.call_location
    physical: dict[str, Any] = {
        "artifactLocation": {"uri": relative_path(call.path), "uriBaseId": "%SRCROOT%"}
    }
    if call.start_line:
        physical["region"] = {"startLine": call.start_line}
        if call.end_line and call.end_line >= call.start_line:
            physical["region"]["endLine"] = call.end_line
    text = f"root module {origin.root}: module " + " > ".join(origin.calls)
    return [{"id": 1, "physicalLocation": physical, "message": {"text": mask(text)}}]


def build(report: ScanReport) -> dict[str, Any]:
    declared = {t.name: t.declared_at for t in report.targets if t.declared_at is not None}
    config_folder = (
        os.path.dirname(os.path.abspath(report.config_path)) if report.config_path else ""
    )
    by_kind: dict[str, list[Result]] = defaultdict(list)
    for result in ordered(report.results):
        by_kind[result.target_kind.value].append(result)
    runs = []
    for kind in sorted(by_kind):
        results = by_kind[kind]
        rules: dict[str, dict[str, Any]] = {}
        sarif_results = []
        notifications = []
        for r in results:
            if r.status is Status.PASS or r.status is Status.SKIPPED:
                continue
            if r.status is Status.ERROR:
                notifications.append(
                    {
                        "level": "error",
                        "message": {"text": mask(f"{r.check_id} on {r.target}: {r.message}")},
                        "descriptor": {"id": r.check_id},
                    }
                )
                continue
            rules.setdefault(r.check_id, _rule(r))
            text = f"{r.title}: {r.message}" if r.message else r.title
            if r.origin is not None:
                text += f" ({r.origin})"
            item: dict[str, Any] = {
                "ruleId": r.check_id,
                "level": _LEVEL[r.severity],
                "message": {"text": mask(text)},
                "locations": [_location(r, declared, config_folder)],
                "partialFingerprints": {"postureFingerprint/v1": r.fingerprint},
                "properties": {
                    "severity": r.severity.value,
                    "area": r.area.value,
                    "target": r.target,
                    "obligations": list(r.obligations),
                    "evidenceSource": r.evidence_source.value,
                },
            }
            related = _related(r)
            if related:
                item["relatedLocations"] = related
            if r.origin is not None:
                item["properties"]["rootModule"] = r.origin.root
                item["properties"]["moduleCalls"] = list(r.origin.calls)
            shots = screenshots(r)
            if shots:
                item["attachments"] = [
                    {"description": {"text": "screenshot"}, "artifactLocation": {"uri": shot}}
                    for shot in shots
                ]
            if r.baseline:
                item["baselineState"] = "unchanged" if r.baseline == "existing" else "new"
            if r.status is Status.WAIVED and r.waiver is not None:
                item["suppressions"] = [
                    {
                        "kind": "external"
                        if not r.waiver.source.startswith("inline")
                        else "inSource",
                        "justification": mask(r.waiver.reason),
                        "properties": {"approver": r.waiver.approver, "expires": r.waiver.expires},
                    }
                ]
            sarif_results.append(item)
        index = {rule_id: i for i, rule_id in enumerate(rules)}
        for item in sarif_results:
            item["ruleIndex"] = index[item["ruleId"]]
        runs.append(
            {
                "tool": {
                    "driver": {
                        "name": "posture",
                        "version": report.tool_version or __version__,
                        "informationUri": INFO_URI,
                        "rules": list(rules.values()),
                    }
                },
                "automationDetails": {"id": f"posture/{kind}/"},
                "invocations": [
                    {
                        "executionSuccessful": not notifications,
                        "startTimeUtc": report.started_at.isoformat().replace("+00:00", "Z"),
                        "endTimeUtc": report.finished_at.isoformat().replace("+00:00", "Z"),
                        "toolExecutionNotifications": notifications,
                    }
                ],
                "results": sarif_results,
            }
        )
    return {"$schema": SCHEMA, "version": "2.1.0", "runs": runs}


def render(report: ScanReport, ctx: RenderContext) -> str:
    import json

    return json.dumps(build(report), indent=2) + "\n"
