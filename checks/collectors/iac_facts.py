"""What the checkov collector hands to the IaC checks: plain, frozen, JSON-able data.

checkov's own objects (records, parsed definitions, graph vertices) never leave the collector, so
the checks stay pure, the facts can be cached on disk, and a checkov upgrade touches one module.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

ACCOUNT_IN_ARN = re.compile(r"^arn:aws[a-z-]*:[a-z0-9-]*:([a-z0-9-]*):(\d{12}):")


@dataclass(frozen=True)
class MappingEntry:
    area: str
    severity: str
    source: str  # "policies/mappings/checkov.yaml", "posture.yaml:12" or "default"


@dataclass(frozen=True)
class CheckovMapping:
    """checkov check id -> area and severity; ids nobody mapped get ``default``."""

    entries: Mapping[str, MappingEntry]
    default: MappingEntry

    def lookup(self, check_id: str) -> MappingEntry:
        return self.entries.get(check_id, self.default)


@dataclass(frozen=True)
class ModuleOrigin:
    """The Terraform module instance a resource was evaluated in.

    ``root`` is the root module's folder (the configuration that instantiated the module chain),
    ``calls`` the module calls from it down (``("db_default", "db_instance")``, with a
    ``[key]`` suffix for ``for_each``/``count`` instances), ``call_*`` the outermost ``module``
    block in the root module. Paths are relative to the repository root.
    """

    root: str
    calls: tuple[str, ...]
    call_path: str
    call_start: int | None = None
    call_end: int | None = None

    @property
    def key(self) -> tuple[str, tuple[str, ...]]:
        return (self.root, self.calls)

    @classmethod
    def load(cls, data: Mapping[str, Any] | None) -> ModuleOrigin | None:
        if not data:
            return None
        return cls(**{**data, "calls": tuple(data.get("calls") or ())})


@dataclass(frozen=True)
class CheckovFinding:
    """One checkov check evaluated on one resource."""

    check_id: str
    title: str
    result: str  # "passed" | "failed" | "skipped"
    framework: str
    path: str  # relative to the repository root, '/'-separated ("../" when outside it)
    start_line: int | None
    end_line: int | None
    resource: str
    guideline: str | None = None
    suppress_comment: str | None = None
    origin: ModuleOrigin | None = None  # set when the file is a module reached by module calls


@dataclass(frozen=True)
class IacResource:
    """A parsed resource, for posture's own rules. ``attributes`` keeps the parser's shape.

    Terraform attributes come from checkov's HCL parse, where every value is wrapped in a list
    (``{"bucket": ["x"], "rule": [{...}, {...}]}``); read them with ``value()`` and ``blocks()``,
    which accept both that shape and CloudFormation's plain one.
    """

    framework: str  # terraform | cloudformation
    type: str  # aws_backup_plan | AWS::Backup::BackupPlan
    name: str
    address: str  # aws_backup_plan.daily | AWS::Backup::BackupPlan.Daily
    path: str
    start_line: int | None
    end_line: int | None
    attributes: Mapping[str, Any] = field(hash=False, compare=False)
    provider: str | None = None  # terraform provider address: aws.default, aws.dr
    origin: ModuleOrigin | None = None  # set when the file is a module reached by module calls


@dataclass(frozen=True)
class IacProvider:
    """A Terraform provider block: where (region) and as whom (account) its resources live."""

    address: str  # aws.default | aws.dr
    name: str
    region: str | None
    account_ids: tuple[str, ...]  # from allowed_account_ids and assume_role ARNs
    path: str
    start_line: int | None


@dataclass(frozen=True)
class FileProblem:
    """A file checkov did not (or could not) read: it becomes an error result naming the file."""

    path: str
    kind: str  # parse | too_large | yaml_bomb | unreadable | framework
    message: str


@dataclass(frozen=True)
class IacFacts:
    root: str  # absolute path of the scanned directory or file
    repo_root: str  # absolute path every other path in the facts is relative to
    frameworks: tuple[str, ...]
    findings: tuple[CheckovFinding, ...]
    resources: tuple[IacResource, ...]
    providers: tuple[IacProvider, ...]
    problems: tuple[FileProblem, ...]
    files_scanned: int
    checkov_version: str
    mapping: CheckovMapping = field(hash=False, compare=False)
    from_cache: bool = False

    @property
    def nothing_to_evaluate(self) -> str | None:
        """The runner's question: did checkov have any infrastructure code to read?"""
        if self.frameworks:
            return None
        return "no Terraform, CloudFormation or Kubernetes files found to scan"

    def of_type(self, *types: str) -> Iterator[IacResource]:
        return (r for r in self.resources if r.type in types)

    def provider(self, address: str | None) -> IacProvider | None:
        wanted = address or "aws.default"
        for p in self.providers:
            if p.address == wanted:
                return p
        return None

    def to_cache(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("mapping")
        data.pop("from_cache")
        return data

    @classmethod
    def load_cached(cls, data: Mapping[str, Any], mapping: CheckovMapping) -> IacFacts:
        return cls(
            root=data["root"],
            repo_root=data["repo_root"],
            frameworks=tuple(data["frameworks"]),
            findings=tuple(
                CheckovFinding(**{**f, "origin": ModuleOrigin.load(f.get("origin"))})
                for f in data["findings"]
            ),
            resources=tuple(
                IacResource(**{**r, "origin": ModuleOrigin.load(r.get("origin"))})
                for r in data["resources"]
            ),
            providers=tuple(
                IacProvider(**{**p, "account_ids": tuple(p["account_ids"])})
                for p in data["providers"]
            ),
            problems=tuple(FileProblem(**p) for p in data["problems"]),
            files_scanned=int(data["files_scanned"]),
            checkov_version=data["checkov_version"],
            mapping=mapping,
            from_cache=True,
        )


def value(attributes: Mapping[str, Any], key: str, default: Any = None) -> Any:
    """A scalar attribute, unwrapped from checkov's one-element lists."""
    found = attributes.get(key, default)
    while isinstance(found, list) and len(found) == 1:
        found = found[0]
    return found


def blocks(attributes: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    """Nested blocks (Terraform) or a list/mapping property (CloudFormation) as a list of maps."""
    found = attributes.get(key)
    if isinstance(found, Mapping):
        return [found]
    if isinstance(found, list):
        out: list[Mapping[str, Any]] = []
        for item in found:
            if isinstance(item, Mapping):
                out.append(item)
            elif isinstance(item, list):
                out.extend(i for i in item if isinstance(i, Mapping))
        return out
    return []


def arn_region_account(arn: str) -> tuple[str | None, str | None]:
    """Region and account of a literal ARN; ``None`` for parts that are not literal."""
    match = ACCOUNT_IN_ARN.match(arn)
    if match is None:
        return None, None
    return match.group(1) or None, match.group(2)


def display_path(target_name: str, target_is_file: bool, rel: str) -> str:
    """A file's path as the user would write it: under the target as posture.yaml names it."""
    base = target_name.rstrip("/")
    if target_is_file:
        parent = base.rpartition("/")[0]
        return f"{parent}/{rel}" if parent else rel
    if rel in ("", "."):
        return base or "."
    return f"{base}/{rel}" if base not in ("", ".") else rel
