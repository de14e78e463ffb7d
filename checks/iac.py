"""checkov's findings as posture results: checkov's own rule id, file and lines, resource
address, in our areas and severities (policies/mappings/checkov.yaml). Nothing checkov finds is
dropped: an unmapped failing rule lands in area `other`."""

from __future__ import annotations

from collections.abc import Iterator

from posture.checks.collectors.checkov_scan import IacFacts, collect_iac
from posture.model import Area, Location, Severity, TargetKind
from posture.plugin import CheckContext, Outcome, check

__all__ = ["collect_iac"]


@check(
    id="IAC-CHECKOV",
    title="checkov infrastructure rules",
    area=Area.OTHER,
    severity=Severity.MEDIUM,
    target=TargetKind.IAC,
    facts="checkov",
    description="Every checkov rule over Terraform, CloudFormation and Kubernetes, reported under "
    "checkov's own id (CKV_AWS_19 ...) with the area and severity our mapping gives it.",
    remediation="Follow the rule's guideline; suppress a deliberate exception with a waiver.",
    references=["https://www.checkov.io/5.Policy%20Index/all.html"],
)
def checkov_rules(facts: IacFacts, ctx: CheckContext) -> Iterator[Outcome]:
    unmapped = Severity.parse(str(ctx.policy.get("iac.unmapped_severity", "medium")))
    for path, why in facts.file_errors:
        yield Outcome.error(f"{path}: {why}", location=Location(path), key=f"file:{path}")
    for finding in facts.findings:
        mapped = facts.mapping.get(finding.check_id, {})
        area = Area(mapped["area"]) if "area" in mapped else Area.OTHER
        severity = Severity.parse(mapped["severity"]) if "severity" in mapped else unmapped
        location = Location(
            finding.path,
            finding.lines[0] if finding.lines else None,
            finding.lines[1] if finding.lines else None,
        )
        evidence = {
            "checkov_id": finding.check_id,
            "framework": finding.framework,
            "resource": finding.resource,
            "mapped": bool(mapped),
        }
        if finding.guideline:
            evidence["guideline"] = finding.guideline
        common = {
            "check_id": finding.check_id,
            "title": finding.name,
            "area": area,
            "severity": severity,
            "resource": finding.resource,
            "location": location,
            "evidence": evidence,
            "key": finding.framework,
            "references": (finding.guideline,) if finding.guideline else None,
        }
        if finding.passed:
            yield Outcome.passed(**common)
        else:
            yield Outcome.fail(finding.name, suppressed=finding.suppressed, **common)
