"""The data every other module speaks: severities, statuses, areas, targets and results.

Everything here is a frozen dataclass or an enum, so results can be shared between threads, hashed,
compared and turned into JSON without surprises. Nothing here does I/O.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from posture.sanitize import clean_text, clean_value


class Severity(StrEnum):
    """How bad a failing result is. Ordered: ``Severity.HIGH > Severity.LOW``."""

    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"

    @property
    def rank(self) -> int:
        return _SEVERITY_RANK[self]

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Severity):
            return NotImplemented
        return self.rank < other.rank

    def __le__(self, other: object) -> bool:
        if not isinstance(other, Severity):
            return NotImplemented
        return self.rank <= other.rank

    def __gt__(self, other: object) -> bool:
        if not isinstance(other, Severity):
            return NotImplemented
        return self.rank > other.rank

    def __ge__(self, other: object) -> bool:
        if not isinstance(other, Severity):
            return NotImplemented
        return self.rank >= other.rank

    @classmethod
    def parse(cls, value: str) -> Severity:
        try:
            return cls(value.lower())
        except ValueError:
            names = ", ".join(s.value for s in cls)
            raise ValueError(f"unknown severity {value!r} (expected one of: {names})") from None


_SEVERITY_RANK = {
    Severity.INFO: 0,
    Severity.LOW: 1,
    Severity.MEDIUM: 2,
    Severity.HIGH: 3,
    Severity.CRITICAL: 4,
}


class Status(StrEnum):
    FAIL = "fail"
    PASS = "pass"  # noqa: S105 - a status, not a password
    ERROR = "error"
    SKIPPED = "skipped"
    WAIVED = "waived"


class Area(StrEnum):
    """The fixed vocabulary of areas a check belongs to."""

    TLS = "tls"
    WEB = "web"
    ACCESS = "access"
    ENCRYPTION = "encryption"
    BACKUP = "backup"
    PAYMENT = "payment"
    VENDOR = "vendor"
    PRIVACY = "privacy"
    LOGGING = "logging"
    OTHER = "other"


class EvidenceSource(StrEnum):
    """Where a result's evidence came from; auditors weigh these differently."""

    OBSERVED = "observed"  # a scan or a parsed file
    DECLARED = "declared"  # what posture.yaml states
    ATTESTED = "attested"  # a person vouched, with a date and a renewal period


class TargetKind(StrEnum):
    STOREFRONT = "storefront"  # a live shop: TLS and HTTP
    IAC = "iac"  # a Terraform / CloudFormation / Kubernetes tree
    CONFIG = "config"  # an evidence file: VPN, sshd, nginx ...
    CONTROLS = "controls"  # what the organisation declares in posture.yaml
    REPOSITORY = "repository"  # a source tree searched for card data and similar
    CLOUD = "cloud"  # a live cloud account, read with read-only API calls
    IMPORT = "import"  # findings another tool produced (Prowler's OCSF output), taken as evidence
    SCAN = "scan"  # runs once after all other checks, over their results


@dataclass(frozen=True)
class Location:
    """A place in a file. Lines are 1-based and inclusive; ``None`` when unknown."""

    path: str
    start_line: int | None = None
    end_line: int | None = None

    def __str__(self) -> str:
        if self.start_line is None:
            return self.path
        if self.end_line is None or self.end_line == self.start_line:
            return f"{self.path}:{self.start_line}"
        return f"{self.path}:{self.start_line}-{self.end_line}"

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "start_line": self.start_line, "end_line": self.end_line}


@dataclass(frozen=True)
class Origin:
    """How a result in a shared file was reached: the IaC root module and its module calls.

    One Terraform module can be instantiated by many root modules (``examples/*``, ``envs/*``):
    its resources are evaluated once per instance, with different inputs. The origin tells the
    instances apart (it is part of the fingerprint) and says where each one comes from.
    """

    root: str  # the root module's folder, relative to the repository root ("." at the root)
    calls: tuple[str, ...] = ()  # module calls from the root down: ("db_default", "db_instance")
    call_location: Location | None = None  # the root module's outermost module block

    def __str__(self) -> str:
        text = f"via {self.root}"
        if self.calls:
            text += ", module " + " > ".join(self.calls)
        return text

    def to_dict(self) -> dict[str, Any]:
        return {
            "root": self.root,
            "calls": list(self.calls),
            "call_location": self.call_location.to_dict() if self.call_location else None,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Origin:
        loc = data.get("call_location")
        return cls(
            root=str(data["root"]),
            calls=tuple(str(c) for c in data.get("calls") or ()),
            call_location=Location(loc["path"], loc.get("start_line"), loc.get("end_line"))
            if loc
            else None,
        )


@dataclass(frozen=True)
class Target:
    """One thing to scan. ``name`` is what users see (a URL, a path); ``options`` the rest."""

    kind: TargetKind
    name: str
    options: Mapping[str, Any] = field(default_factory=dict, hash=False, compare=False)
    declared_at: Location | None = field(default=None, hash=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        # a file name in a pull request may hold ESC
        out: dict[str, Any] = {"kind": self.kind.value, "name": clean_text(self.name)}
        if self.declared_at is not None:
            out["declared_at"] = self.declared_at.to_dict()
        return out


@dataclass(frozen=True)
class Waiver:
    """Why a result does not count: an accepted risk with an owner and an end date."""

    reason: str
    source: str  # "posture.yaml:12", "waivers.yaml:3", "checkov:skip (main.tf:14)"
    approver: str | None = None
    expires: str | None = None  # ISO date

    def to_dict(self) -> dict[str, Any]:
        return {
            "reason": self.reason,
            "source": self.source,
            "approver": self.approver,
            "expires": self.expires,
        }


def fingerprint_of(*parts: str) -> str:
    """The fingerprint of identity parts (see ``Result.fingerprint``)."""
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


@dataclass(frozen=True)
class Result:
    """One check evaluated on one target (and one resource, where there is one)."""

    check_id: str
    title: str
    area: Area
    severity: Severity
    status: Status
    target: str
    target_kind: TargetKind
    message: str = ""
    location: Location | None = None
    resource: str | None = None
    evidence: Mapping[str, Any] = field(default_factory=dict, hash=False, compare=False)
    evidence_source: EvidenceSource = EvidenceSource.OBSERVED
    remediation: str = ""
    references: tuple[str, ...] = ()
    obligations: tuple[str, ...] = ()
    key: str | None = None
    waiver: Waiver | None = None
    baseline: str | None = None  # "new" or "existing" when a baseline was given
    origin: Origin | None = None  # IaC: the root module and module calls that led here
    # fingerprints this result had under an earlier identity; baselines match them as a fallback
    fingerprint_aliases: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # Messages, evidence, names and keys carry text from storefronts and pull requests: no
        # control characters or URL credentials go any further (posture.sanitize).
        set_ = object.__setattr__
        set_(self, "title", clean_text(self.title, layout=True))
        set_(self, "target", clean_text(self.target))
        set_(self, "message", clean_text(self.message, layout=True))
        set_(self, "remediation", clean_text(self.remediation, layout=True))
        if self.resource is not None:
            set_(self, "resource", clean_text(self.resource))
        if self.key is not None:
            set_(self, "key", clean_text(self.key))
        if self.evidence:
            set_(self, "evidence", clean_value(self.evidence))
        if self.location is not None:
            path = clean_text(self.location.path)
            if path != self.location.path:
                set_(self, "location", replace(self.location, path=path))
        if self.waiver is not None:
            set_(self, "waiver", Waiver(**clean_value(self.waiver.to_dict())))

    @property
    def fingerprint(self) -> str:
        """Stable across runs: check, target, file, resource, key and origin; never evidence or
        lines."""
        path = self.location.path if self.location is not None else ""
        parts = [self.check_id, self.target, path, self.resource or "", self.key or ""]
        if self.origin is not None:
            parts += [self.origin.root, "/".join(self.origin.calls)]
        return fingerprint_of(*parts)

    @property
    def counts_as_failure(self) -> bool:
        return self.status is Status.FAIL

    def with_(self, **changes: Any) -> Result:
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return {
            "check_id": self.check_id,
            "title": self.title,
            "area": self.area.value,
            "severity": self.severity.value,
            "status": self.status.value,
            "target": self.target,
            "target_kind": self.target_kind.value,
            "message": self.message,
            "location": self.location.to_dict() if self.location else None,
            "resource": self.resource,
            "evidence": dict(self.evidence),
            "evidence_source": self.evidence_source.value,
            "remediation": self.remediation,
            "references": list(self.references),
            "obligations": list(self.obligations),
            "key": self.key,
            "fingerprint": self.fingerprint,
            "waiver": self.waiver.to_dict() if self.waiver else None,
            "baseline": self.baseline,
            **({"origin": self.origin.to_dict()} if self.origin is not None else {}),
            **(
                {"fingerprint_aliases": list(self.fingerprint_aliases)}
                if self.fingerprint_aliases
                else {}
            ),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Result:
        loc = data.get("location")
        waiver = data.get("waiver")
        return cls(
            check_id=data["check_id"],
            title=data.get("title", ""),
            area=Area(data["area"]),
            severity=Severity(data["severity"]),
            status=Status(data["status"]),
            target=data["target"],
            target_kind=TargetKind(data["target_kind"]),
            message=data.get("message", ""),
            location=Location(loc["path"], loc.get("start_line"), loc.get("end_line"))
            if loc
            else None,
            resource=data.get("resource"),
            evidence=data.get("evidence") or {},
            evidence_source=EvidenceSource(data.get("evidence_source", "observed")),
            remediation=data.get("remediation", ""),
            references=tuple(data.get("references") or ()),
            obligations=tuple(data.get("obligations") or ()),
            key=data.get("key"),
            waiver=Waiver(**waiver) if waiver else None,
            baseline=data.get("baseline"),
            origin=Origin.from_dict(data["origin"]) if data.get("origin") else None,
            fingerprint_aliases=tuple(data.get("fingerprint_aliases") or ()),
        )
