"""Frameworks and mappings as data: which obligations each result evidences, and the matrix.

policies/frameworks/*.yaml list each framework's obligations (GDPR, CCPA, PCI DSS);
policies/mappings/obligations.yaml says which checks evidence which obligation and why. Both are
validated by JSON Schema and cross-checked (unknown obligation, duplicate id) at load time, with
errors that name the file and the entry's line.
"""

from __future__ import annotations

import fnmatch
import functools
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from posture._yaml import LineDict, LineList, load_trusted_yaml, load_yaml_text
from posture.errors import ConfigError
from posture.model import Result, Severity, Status
from posture.policy import policies_root, read_policy_text

MAPPING_FILE = ("mappings", "obligations.yaml")


@dataclass(frozen=True)
class Obligation:
    id: str
    framework: str
    citation: str
    title: str
    summary: str
    url: str

    def to_dict(self) -> dict[str, str]:
        return {
            "id": self.id,
            "framework": self.framework,
            "citation": self.citation,
            "title": self.title,
            "summary": self.summary,
            "url": self.url,
        }


@dataclass(frozen=True)
class Framework:
    id: str
    name: str
    version: str
    obligations: tuple[Obligation, ...]
    source: str = ""


@dataclass(frozen=True)
class MappingEntry:
    obligation: str
    rationale: str
    via: str  # "check", "area" or "engine rule <pattern>"


@dataclass(frozen=True)
class ObligationMapping:
    areas: Mapping[str, tuple[MappingEntry, ...]]
    checks: Mapping[str, tuple[MappingEntry, ...]]
    engine_rules: Mapping[str, tuple[MappingEntry, ...]]
    not_relevant: Mapping[str, str]
    lines: Mapping[str, int] = field(default_factory=dict)  # check id -> line, for errors
    no_area_defaults: frozenset[str] = frozenset()

    def entries_for(self, check_id: str, area: str) -> list[MappingEntry]:
        if check_id in self.not_relevant:
            return []
        entries = list(self.checks.get(check_id, ()))
        for pattern, rule_entries in self.engine_rules.items():
            if fnmatch.fnmatchcase(check_id, pattern):
                entries.extend(rule_entries)
        if check_id not in self.no_area_defaults:
            entries.extend(self.areas.get(area, ()))
        seen: set[str] = set()
        unique = []
        for entry in entries:
            if entry.obligation not in seen:
                seen.add(entry.obligation)
                unique.append(entry)
        return unique

    def obligations_for(self, check_id: str, area: str) -> tuple[str, ...]:
        return tuple(e.obligation for e in self.entries_for(check_id, area))

    def check_lines(self) -> Mapping[str, int]:
        return self.lines


class MatrixStatus(StrEnum):
    FAILING = "failing"
    AT_RISK = "at risk"
    MET = "met"
    NOT_ASSESSED = "not assessed"


@dataclass(frozen=True)
class MatrixRow:
    obligation: Obligation
    status: MatrixStatus
    results: tuple[Result, ...]
    waived: tuple[Result, ...]
    expected_checks: tuple[str, ...] = ()
    checks_run: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.obligation.to_dict(),
            "status": self.status.value,
            "expected_checks": list(self.expected_checks),
            "checks_run": list(self.checks_run),
            "failing": [r.fingerprint for r in self.results if r.status is Status.FAIL],
            "results": [
                {
                    "check_id": r.check_id,
                    "status": r.status.value,
                    "severity": r.severity.value,
                    "target": r.target,
                    "resource": r.resource,
                    "fingerprint": r.fingerprint,
                    "message": r.message,
                }
                for r in (*self.results, *self.waived)
            ],
        }


def _validate(data: Any, schema_name: str, display: str) -> None:
    import jsonschema

    schema_text, _ = read_policy_text("schemas", schema_name)
    validator = jsonschema.Draft202012Validator(json.loads(schema_text))
    errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        error = errors[0]
        path = tuple(error.absolute_path)
        line = _line(data, path)
        where = "/".join(str(p) for p in path) or "(top level)"
        raise ConfigError(f"{where}: {error.message}", path=display, line=line)


def _line(data: Any, path: Sequence[Any]) -> int | None:
    node = data
    line: int | None = getattr(data, "line", None)
    for part in path:
        if isinstance(node, LineDict) and part in node:
            line = node.key_lines.get(part, line)
            node = node[part]
        elif isinstance(node, LineList) and isinstance(part, int) and part < len(node):
            line = node.item_lines[part]
            node = node[part]
        else:
            break
    return line


def _framework_files() -> list[str]:
    folder = policies_root().joinpath("frameworks")
    return sorted(e.name for e in folder.iterdir() if e.name.endswith((".yaml", ".yml")))


def parse_framework(
    data: Any, display: str, seen: dict[str, str], validate: bool = True
) -> Framework:
    """One framework file's data; ``seen`` (obligation id -> file) catches duplicate ids.

    ``validate=False`` skips the JSON Schema for data the tests already validate (what we ship);
    any slip then surfaces as KeyError/TypeError and the caller re-reads with validation.
    """
    if validate:
        _validate(data, "framework.schema.json", display)
    obligations = []
    for index, item in enumerate(data["obligations"]):
        oid = item["id"]
        if oid in seen:
            raise ConfigError(
                f"duplicate obligation id {oid!r} (first in {seen[oid]})",
                path=display,
                line=_line(data, ("obligations", index)),
            )
        seen[oid] = display
        obligations.append(
            Obligation(
                oid, data["id"], item["citation"], item["title"], item["summary"], item["url"]
            )
        )
    return Framework(data["id"], data["name"], data["version"], tuple(obligations), data["source"])


@functools.lru_cache(maxsize=1)
def load_frameworks() -> dict[str, Framework]:
    """Every framework under policies/frameworks, by id. An obligation id is unique across all."""
    frameworks: dict[str, Framework] = {}
    seen: dict[str, str] = {}
    for name in _framework_files():
        text, display = read_policy_text("frameworks", name)
        try:
            data = load_trusted_yaml(text, display)
            framework = parse_framework(data, display, dict(seen), validate=False)
        except (ConfigError, KeyError, TypeError, AttributeError):
            # read again with line numbers and the schema, to say what and where
            framework = parse_framework(load_yaml_text(text, display), display, seen)
        seen.update({o.id: display for o in framework.obligations})
        if framework.id in frameworks:
            raise ConfigError(f"duplicate framework id {framework.id!r}", path=display, line=1)
        frameworks[framework.id] = framework
    return frameworks


def all_obligations() -> dict[str, Obligation]:
    return {o.id: o for f in load_frameworks().values() for o in f.obligations}


def parse_mapping(
    data: Any, display: str, known: Iterable[str], validate: bool = True
) -> ObligationMapping:
    if validate:
        _validate(data, "obligation-mapping.schema.json", display)
    known_ids = set(known)

    def entries(section: str, key: str, via: str) -> tuple[MappingEntry, ...]:
        out = []
        for index, item in enumerate(data[section][key]):
            if item["obligation"] not in known_ids:
                raise ConfigError(
                    f"{section}.{key}: unknown obligation {item['obligation']!r}",
                    path=display,
                    line=_line(data, (section, key, index)),
                )
            out.append(MappingEntry(item["obligation"], item["rationale"], via))
        return tuple(out)

    areas = {k: entries("areas", k, "area") for k in data.get("areas", {})}
    checks = {k: entries("checks", k, "check") for k in data.get("checks", {})}
    rules = {
        k: entries("engine_rules", k, f"engine rule {k}") for k in data.get("engine_rules") or {}
    }
    lines = {k: _line(data, ("checks", k)) or 0 for k in data.get("checks", {})}
    for k in data.get("not_relevant") or {}:
        lines[k] = _line(data, ("not_relevant", k)) or 0
    no_defaults = frozenset(data.get("no_area_defaults") or ())
    for index, k in enumerate(data.get("no_area_defaults") or ()):
        lines.setdefault(k, _line(data, ("no_area_defaults", index)) or 0)
    return ObligationMapping(
        areas, checks, rules, dict(data.get("not_relevant") or {}), lines, no_defaults
    )


@functools.lru_cache(maxsize=1)
def load_mapping() -> ObligationMapping:
    text, display = read_policy_text(*MAPPING_FILE)
    try:
        data = load_trusted_yaml(text, display)
        return parse_mapping(data, display, all_obligations(), validate=False)
    except (ConfigError, KeyError, TypeError, AttributeError):
        # read again with line numbers and the schema, to say what and where
        return parse_mapping(load_yaml_text(text, display), display, all_obligations())


def check_mapping_names_known_checks(mapping: ObligationMapping, check_ids: Iterable[str]) -> None:
    """A mapping entry for a check that does not exist is a typo that silently maps nothing."""
    known = set(check_ids)
    display = "policies/" + "/".join(MAPPING_FILE)
    for check_id, line in mapping.lines.items():
        if check_id not in known:
            raise ConfigError(f"mapping names unknown check {check_id!r}", path=display, line=line)


def apply_obligations(
    results: Sequence[Result], mapping: ObligationMapping | None = None
) -> list[Result]:
    """Fill ``Result.obligations`` from the mapping. A collector's error (one result for the
    checks it blocked) carries the obligations of every blocked check: they are at risk."""
    mapping = mapping or load_mapping()
    return [r.with_(obligations=_obligations_of(r, mapping)) for r in results]


def _obligations_of(result: Result, mapping: ObligationMapping) -> tuple[str, ...]:
    blocked = result.evidence.get("blocked_areas") if result.status is Status.ERROR else None
    if not isinstance(blocked, Mapping):
        return mapping.obligations_for(result.check_id, result.area.value)
    found: dict[str, None] = {}
    for check_id, area in blocked.items():
        found.update(dict.fromkeys(mapping.obligations_for(str(check_id), str(area))))
    return tuple(found)


def expected_checks(
    obligation_id: str, check_areas: Mapping[str, str], mapping: ObligationMapping | None = None
) -> tuple[str, ...]:
    """The checks (of those selected for the scan: id -> area) that evidence an obligation."""
    mapping = mapping or load_mapping()
    return tuple(
        sorted(
            cid
            for cid, area in check_areas.items()
            if obligation_id in mapping.obligations_for(cid, area)
        )
    )


def obligation_matrix(
    results: Sequence[Result],
    framework: str,
    check_areas: Mapping[str, str] | None = None,
    mapping: ObligationMapping | None = None,
) -> list[MatrixRow]:
    """One row per obligation of ``framework``.

    failing: a non-waived failure of medium or higher maps to it; at risk: only low/info
    failures, or errors; met: every check expected to evidence it ran and passed (never on
    missing evidence); not assessed: no mapped check ran, or some expected check did not run.
    ``check_areas`` (check id -> area, the checks selected for the scan) tells which checks were
    expected; without it only the checks that produced results are.
    """
    frameworks = load_frameworks()
    if framework not in frameworks:
        raise ConfigError(f"unknown framework {framework!r} (known: {', '.join(frameworks)})")
    mapping = mapping or load_mapping()
    if check_areas is None:
        check_areas = {r.check_id: r.area.value for r in results}
    by_obligation: dict[str, list[Result]] = {}
    for result in results:
        obligations = result.obligations or mapping.obligations_for(
            result.check_id, result.area.value
        )
        for oid in obligations:
            by_obligation.setdefault(oid, []).append(result)
    rows = []
    for obligation in frameworks[framework].obligations:
        mapped = by_obligation.get(obligation.id, [])
        waived = tuple(r for r in mapped if r.status is Status.WAIVED)
        live = tuple(r for r in mapped if r.status is not Status.WAIVED)
        expected = set(expected_checks(obligation.id, check_areas, mapping))
        expected |= {r.check_id for r in mapped}
        evidenced = {r.check_id for r in mapped if r.status is not Status.SKIPPED}
        rows.append(
            MatrixRow(
                obligation,
                _status(live, expected, evidenced),
                live,
                waived,
                tuple(sorted(expected)),
                tuple(sorted(evidenced)),
            )
        )
    return rows


def _status(live: Sequence[Result], expected: set[str], evidenced: set[str]) -> MatrixStatus:
    failures = [r for r in live if r.status is Status.FAIL]
    if any(r.severity >= Severity.MEDIUM for r in failures):
        return MatrixStatus.FAILING
    if failures or any(r.status is Status.ERROR for r in live):
        return MatrixStatus.AT_RISK
    if not evidenced or expected - evidenced:
        return MatrixStatus.NOT_ASSESSED
    return MatrixStatus.MET
