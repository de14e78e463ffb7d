"""checkov's findings as posture results: its rule ids and titles, our areas and severities.

One check spec carries every checkov rule: each finding becomes an outcome with checkov's id
(``CKV_AWS_19``) and title, the area and severity from policies/mappings/checkov.yaml (or the
user's override), and the file and line range SARIF needs. Nothing checkov finds is dropped: an
id no mapping names still appears, with the mapping's defaults (area ``other``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from posture.model import Area, Severity, TargetKind
from posture.plugin import CheckContext, Outcome, check

from ._iac_place import place
from .collectors.checkov_scan import collect_iac
from .collectors.iac_facts import CheckovFinding, IacFacts

__all__ = ["checkov_findings", "collect_iac", "unreadable_files"]


def _outcome(finding: CheckovFinding, facts: IacFacts, ctx: CheckContext) -> Outcome | None:
    entry = facts.mapping.lookup(finding.check_id)
    where = place(facts, ctx, finding.path, finding.start_line, finding.end_line, finding.origin)
    location = where.location
    evidence: dict[str, object] = {
        "checkov_id": finding.check_id,
        "framework": finding.framework,
        "mapping": entry.source,
    }
    if where.note:
        evidence["file"] = finding.path
    if finding.guideline:
        evidence["guideline"] = finding.guideline
    common: dict[str, Any] = {
        "check_id": finding.check_id,
        "title": finding.title,
        "area": Area(entry.area),
        "severity": Severity(entry.severity),
        "resource": finding.resource,
        "references": (finding.guideline,) if finding.guideline else (),
        **where.outcome_kw(),
    }
    if finding.result == "passed":
        if not ctx.policy.get("iac.report_passed", True):
            return None
        return Outcome.passed(where.note.strip(" ()"), evidence=evidence, **common)
    if finding.result == "skipped":
        reason = finding.suppress_comment or "checkov:skip without a reason"
        evidence["suppression"] = {
            "kind": "checkov:skip",
            "reason": reason,
            "location": location.to_dict() if location else None,
        }
        return Outcome.fail(
            f"{finding.title} (suppressed inline: {reason}){where.note}",
            evidence=evidence,
            suppressed=reason,
            **common,
        )
    return Outcome.fail(where.note.strip(" ()"), evidence=evidence, **common)


@check(
    id="IAC-CHECKOV",
    title="checkov rules over infrastructure as code",
    area=Area.OTHER,
    severity=Severity.MEDIUM,
    target=TargetKind.IAC,
    facts="checkov",
    remediation="Follow the guideline of the checkov rule named in the result.",
    references=["https://www.checkov.io/5.Policy%20Index/all.html"],
)
def checkov_findings(facts: IacFacts, ctx: CheckContext) -> Iterator[Outcome]:
    """Every checkov result on the tree; a result carries checkov's own id and title."""
    if not facts.frameworks:
        yield Outcome.skip(
            "no Terraform, CloudFormation or Kubernetes files found to scan",
            evidence={"files_scanned": facts.files_scanned},
        )
        return
    for finding in facts.findings:
        outcome = _outcome(finding, facts, ctx)
        if outcome is not None:
            yield outcome


@check(
    id="IAC-UNREADABLE-FILE",
    title="IaC file could not be scanned",
    area=Area.OTHER,
    severity=Severity.MEDIUM,
    target=TargetKind.IAC,
    facts="checkov",
    remediation=(
        "Fix the file's syntax, split or shrink it under the size limit (policy "
        "iac.max_file_bytes), or move generated files out of the scanned tree."
    ),
)
def unreadable_files(facts: IacFacts, ctx: CheckContext) -> Iterator[Outcome]:
    """A file that does not parse, is too large or expands too far is unassessed, not passed."""
    for problem in facts.problems:
        where = place(facts, ctx, problem.path, None, None)
        yield Outcome.error(
            f"{problem.path}: {problem.message}{where.note}",
            resource=problem.path,
            location=where.location,
            evidence={"kind": problem.kind, "file": problem.path},
        )
