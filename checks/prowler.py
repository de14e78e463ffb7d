"""Prowler's findings as observed evidence, placed in posture's areas by policy data.

Each Prowler finding becomes one result under Prowler's own check id (``s3_bucket_default_
encryption``), with its resource, account, region, severity and remediation kept. The area comes
from policies/mappings/prowler.yaml (reviewed data, like checkov's mapping); through the area the
result reaches the obligation matrix. An id the mapping does not know is kept in area ``other``.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

from posture._yaml import load_trusted_yaml
from posture.model import Area, Severity, TargetKind
from posture.plugin import CheckContext, Outcome, check
from posture.policy import read_policy_text

from .collectors.prowler_ocsf import ProwlerFacts, collect_prowler

__all__ = ["collect_prowler"]

_SEVERITY = {
    "critical": Severity.CRITICAL,
    "high": Severity.HIGH,
    "medium": Severity.MEDIUM,
    "low": Severity.LOW,
    "informational": Severity.INFO,
    "info": Severity.INFO,
}


@functools.lru_cache(maxsize=1)
def prowler_mapping() -> dict[str, Any]:
    """policies/mappings/prowler.yaml: ``checks`` (id -> {area, severity?}) and ``services``
    (Prowler service -> area, for ids added to Prowler after the mapping was reviewed)."""
    text, display = read_policy_text("mappings", "prowler.yaml")
    data = load_trusted_yaml(text, display)
    return data if isinstance(data, dict) else {}


def area_of(check_id: str, service: str) -> tuple[Area, str]:
    """The area of a Prowler id and why: its own entry, its service's, or ``other``."""
    mapping = prowler_mapping()
    entry = (mapping.get("checks") or {}).get(check_id)
    if isinstance(entry, dict) and entry.get("area"):
        return Area(entry["area"]), "mapped"
    by_service = (mapping.get("services") or {}).get(service or check_id.split("_", 1)[0])
    if by_service:
        return Area(by_service), "service"
    return Area.OTHER, "unmapped"


@check(
    id="PROWLER-IMPORT",
    title="Prowler finding",
    area=Area.OTHER,
    severity=Severity.MEDIUM,
    target=TargetKind.IMPORT,
    facts="prowler",
    description="Findings from Prowler's OCSF JSON output, each under Prowler's check id.",
    remediation="Follow Prowler's remediation for the finding.",
    references=["https://docs.prowler.com/"],
)
def prowler_findings(facts: ProwlerFacts, ctx: CheckContext) -> Iterator[Outcome]:
    for problem in facts.rejected[:20]:
        yield Outcome.error(f"{facts.path}: {problem}", key=f"rejected:{problem.split(':', 1)[0]}")
    if len(facts.rejected) > 20:
        yield Outcome.error(
            f"{facts.path}: {len(facts.rejected) - 20} more malformed findings", key="rejected:more"
        )
    if not facts.findings and not facts.rejected:
        yield Outcome.skip(f"{facts.path}: no findings in the file")
        return
    for f in facts.findings:
        area, how = area_of(f.check_id, f.service)
        entry = (prowler_mapping().get("checks") or {}).get(f.check_id) or {}
        severity = _SEVERITY.get(str(entry.get("severity") or f.severity), Severity.MEDIUM)
        evidence: dict[str, Any] = {
            "tool": "prowler",
            "tool_version": facts.tool_version,
            "prowler_check": f.check_id,
            "account": f.account,
            "region": f.region,
            "resource_type": f.resource_type,
            "service": f.service,
            "area_from": how,
            "finding_uid": f.uid,
        }
        if f.muted:
            evidence["muted_in_prowler"] = True
        kw: dict[str, Any] = {
            "check_id": f.check_id,
            "title": f.title or f.check_id,
            "area": area,
            "severity": severity,
            "resource": f.resource or None,
            "key": f.region or None,
            "evidence": evidence,
            "remediation": f.remediation or None,
            "references": f.references or None,
        }
        if f.status == "PASS":
            yield Outcome.passed(f.message, **kw)
        elif f.status == "FAIL":
            yield Outcome.fail(f.message, **kw)
        else:
            yield Outcome.skip(f"manual check in Prowler: {f.message}", **kw)
