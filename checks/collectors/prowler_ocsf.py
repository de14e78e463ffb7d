"""Prowler's findings, read from its OCSF JSON output (``prowler aws --output-formats json-ocsf``).

Prowler is the open-source AWS/Azure/GCP/Kubernetes checker; its OCSF output is a JSON array of
Detection Findings. Each one keeps Prowler's check id, resource, account, region, severity and
remediation; policies/mappings/prowler.yaml places the id in posture's areas (and through them
in the obligation matrix). Ids the mapping does not know land in area ``other``, never dropped.
The file is untrusted input: regular files only, read to a size limit, and a malformed finding
is reported by its index, not fatal to the rest.
"""

from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from posture.errors import CollectError
from posture.model import Target, TargetKind
from posture.plugin import CollectContext, collector

DEFAULT_MAX_BYTES = 256 * 1024 * 1024


@dataclass(frozen=True)
class ProwlerFinding:
    check_id: str
    status: str  # PASS, FAIL, MANUAL
    severity: str  # critical, high, medium, low, informational
    title: str
    message: str
    resource: str
    resource_type: str
    service: str
    account: str
    region: str
    remediation: str
    references: tuple[str, ...]
    muted: bool
    uid: str


@dataclass(frozen=True)
class ProwlerFacts:
    path: str
    tool_version: str
    findings: tuple[ProwlerFinding, ...]
    rejected: tuple[str, ...] = field(default_factory=tuple)  # "finding 12: no metadata.event_code"


def read_bounded(path: Path, max_bytes: int) -> bytes:
    """The bytes of a regular file, at most ``max_bytes``; anything else is a CollectError."""
    try:
        fd = os.open(
            path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
        )
    except OSError as exc:
        raise CollectError(f"{path}: cannot read: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise CollectError(f"{path}: not a regular file")
        data = handle.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise CollectError(f"{path}: over the {max_bytes}-byte limit for imported findings")
    return data


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def parse_finding(item: Any) -> ProwlerFinding:
    """One OCSF Detection Finding as Prowler writes it; ValueError names what is missing."""
    if not isinstance(item, dict):
        raise ValueError("not an object")
    meta = _obj(item.get("metadata"))
    check_id = _text(meta.get("event_code"))
    if not check_id:
        raise ValueError("no metadata.event_code (Prowler's check id)")
    status = _text(item.get("status_code")).upper()
    if status not in ("PASS", "FAIL", "MANUAL"):
        raise ValueError(f"status_code {status or 'missing'!r} is not PASS, FAIL or MANUAL")
    info = _obj(item.get("finding_info"))
    listed = item.get("resources")
    resources = [r for r in listed if isinstance(r, dict)] if isinstance(listed, list) else []
    first = resources[0] if resources else {}
    group = _obj(first.get("group"))
    cloud = _obj(item.get("cloud"))
    account = _obj(cloud.get("account"))
    remediation = _obj(item.get("remediation"))
    listed_refs = remediation.get("references")
    refs: list[Any] = listed_refs if isinstance(listed_refs, list) else []
    return ProwlerFinding(
        check_id=check_id,
        status=status,
        severity=_text(item.get("severity")).lower() or "medium",
        title=_text(info.get("title")),
        message=_text(item.get("status_detail")) or _text(item.get("message")),
        resource=_text(first.get("uid")) or _text(first.get("name")),
        resource_type=_text(first.get("type")),
        service=_text(group.get("name")),
        account=_text(account.get("uid")),
        region=_text(first.get("region")) or _text(cloud.get("region")),
        remediation=_text(remediation.get("desc")),
        references=tuple(r for r in refs if isinstance(r, str) and r.startswith("https://"))[:5],
        muted=_text(item.get("status")).lower() == "suppressed",
        uid=_text(info.get("uid")),
    )


@collector(name="prowler", target=TargetKind.IMPORT)
def collect_prowler(target: Target, ctx: CollectContext) -> ProwlerFacts:
    path = Path(str(target.options.get("abs_path") or target.name))
    limit = int(ctx.policy.get("imports.max_bytes", DEFAULT_MAX_BYTES))
    data = read_bounded(path, limit)
    try:
        items = json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise CollectError(f"{target.name}: not JSON: {str(exc)[:120]}") from None
    if isinstance(items, dict):  # one finding, or a wrapper {"findings": [...]}
        items = items.get("findings", [items])
    if not isinstance(items, list):
        raise CollectError(f"{target.name}: expected a JSON array of OCSF findings")
    findings, rejected = [], []
    version = ""
    for index, item in enumerate(items):
        try:
            finding = parse_finding(item)
        except ValueError as exc:
            rejected.append(f"finding {index}: {exc}")
            continue
        findings.append(finding)
        if not version:
            product = item.get("metadata", {}).get("product", {})
            version = _text(product.get("version")) if isinstance(product, dict) else ""
    return ProwlerFacts(str(path), version, tuple(findings), tuple(rejected))
