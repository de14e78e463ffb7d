"""Frameworks and mappings as data: which obligations each result evidences, and the matrix.

policies/frameworks/*.yaml list each framework's obligations (GDPR, CCPA, PCI DSS, the CCPA
cybersecurity audit); policies/mappings/obligations.yaml says which checks evidence which
obligation, for which finding keys and which data, and why. Both are validated by JSON Schema and
cross-checked (unknown obligation, duplicate id) at load time, with errors that name the file and
the entry's line.

The matrix statuses are defined here, once (docs/compliance.md explains them to users):

- failing: a non-waived failing result of medium or higher maps to the obligation;
- at risk: only low/info failures, or a check could not run (error);
- accepted risk: the only failures are waived (listed with approver and expiry); never "met";
- not applicable: the business declares a fact that takes the obligation out of scope (no
  transfers outside the EEA, no sale or sharing, no card data stored), shown with that declaration;
- not assessed: a check the obligation expects (from the whole catalogue, never narrowed by
  --only/--skip) was out of the scan's scope, was skipped, or gave no result on a target;
- declared, not verified: no failures, but the evidence rests on declarations;
- no failures found (partial evidence): every expected check passed, but the checks cover only
  part of the duty;
- met: every expected check ran on every target it applies to and passed, on observed or
  attested evidence, and the obligation's coverage is full.
"""

from __future__ import annotations

import fnmatch
import functools
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from posture._yaml import LineDict, LineList, load_trusted_yaml, load_yaml_text
from posture.errors import ConfigError
from posture.model import EvidenceSource, Result, Severity, Status
from posture.policy import policies_root, read_policy_text

MAPPING_FILE = ("mappings", "obligations.yaml")


@dataclass(frozen=True)
class Exposure:
    """How an exemption or liability reads: "<label>: yes/no"."""

    label: str
    when_failing: str
    otherwise: str


@dataclass(frozen=True)
class Obligation:
    id: str
    framework: str
    citation: str
    title: str
    summary: str
    url: str
    checked: str = ""
    kind: str = "duty"  # "duty" or "exposure"
    exposure: Exposure | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "framework": self.framework,
            "citation": self.citation,
            "title": self.title,
            "summary": self.summary,
            "url": self.url,
            "checked": self.checked,
            "kind": self.kind,
        }


@dataclass(frozen=True)
class LeftOut:
    """A provision read and deliberately kept out of the matrix, with the reason."""

    citation: str
    title: str
    url: str
    checked: str
    reason: str


@dataclass(frozen=True)
class Framework:
    id: str
    name: str
    version: str
    obligations: tuple[Obligation, ...]
    source: str = ""
    applicability: str | None = None
    not_in_matrix: tuple[LeftOut, ...] = ()


@dataclass(frozen=True)
class MappingEntry:
    obligation: str
    rationale: str
    via: str  # "check", "area" or "engine rule <pattern>"
    keys: frozenset[str] | None = None
    data: str | None = None
    page: str | None = None
    # the finding presupposes the obligation applies (a California notice in the incident plan
    # matters only to a business holding the data 1798.82 reaches): ignored when a declaration
    # takes the obligation out of scope, where other findings contradict the declaration
    only_when_applicable: bool = False

    @property
    def conditions(self) -> str:
        parts = []
        if self.keys:
            parts.append("keys: " + ", ".join(sorted(self.keys)))
        if self.data:
            parts.append(f"data: {self.data}")
        if self.page:
            parts.append(f"page: {self.page}")
        return "; ".join(parts)


@dataclass(frozen=True)
class Coverage:
    level: str  # "full" or "partial"
    note: str = ""


PARTIAL = Coverage("partial", "the checks behind this obligation evidence part of the duty only")


@dataclass(frozen=True)
class ObligationMapping:
    areas: Mapping[str, tuple[MappingEntry, ...]]
    checks: Mapping[str, tuple[MappingEntry, ...]]
    engine_rules: Mapping[str, tuple[MappingEntry, ...]]
    not_relevant: Mapping[str, str]
    lines: Mapping[str, int] = field(default_factory=dict)  # check id -> line, for errors
    no_area_defaults: frozenset[str] = frozenset()
    data_classes: Mapping[str, frozenset[str]] = field(default_factory=dict)
    coverage: Mapping[str, Coverage] = field(default_factory=dict)
    applicability: Mapping[str, str] = field(default_factory=dict)
    engine_rule_checks: Mapping[str, str] = field(default_factory=dict)
    _memo: dict[tuple[str, str], list[MappingEntry]] = field(
        default_factory=dict, compare=False, repr=False
    )

    def entries_for(self, check_id: str, area: str) -> list[MappingEntry]:
        """Every entry of a check, whatever its conditions (what the check can evidence)."""
        key = (check_id, area)
        if key not in self._memo:
            self._memo[key] = self._entries_for(check_id, area)
        return self._memo[key]

    def _entries_for(self, check_id: str, area: str) -> list[MappingEntry]:
        if check_id in self.not_relevant:
            return []
        entries = list(self.checks.get(check_id, ()))
        for pattern, rule_entries in self.engine_rules.items():
            if fnmatch.fnmatchcase(check_id, pattern):
                entries.extend(rule_entries)
        if check_id not in self.no_area_defaults:
            entries.extend(self.areas.get(area, ()))
        return entries

    def obligations_for(self, check_id: str, area: str) -> tuple[str, ...]:
        return tuple(dict.fromkeys(e.obligation for e in self.entries_for(check_id, area)))

    def entries_for_result(self, result: Result) -> list[MappingEntry]:
        """The entries whose conditions (key, data, page) this result meets."""
        return [
            e
            for e in self.entries_for(result.check_id, result.area.value)
            if self._applies(e, result)
        ]

    def obligations_for_result(self, result: Result) -> tuple[str, ...]:
        return tuple(dict.fromkeys(e.obligation for e in self.entries_for_result(result)))

    def presupposes(self, result: Result, obligation_id: str) -> bool:
        """Every entry that maps this result to the obligation presupposes it applies."""
        entries = [e for e in self.entries_for_result(result) if e.obligation == obligation_id]
        return bool(entries) and all(e.only_when_applicable for e in entries)

    def obligations_implied_by(self, result: Result) -> tuple[str, ...]:
        """Obligations whose keyed entries a finding about another key vouches for: a check that
        evaluates each key of a resource and reports "review" for a vendor found its DPA fine."""
        if result.key is None or result.status not in (Status.FAIL, Status.WAIVED):
            return ()
        out = []
        for e in self.entries_for(result.check_id, result.area.value):
            if e.keys is None or result.key in e.keys:
                continue
            if self._applies(replace(e, keys=None), result):
                out.append(e.obligation)
        direct = set(self.obligations_for_result(result))
        return tuple(o for o in dict.fromkeys(out) if o not in direct)

    def _applies(self, entry: MappingEntry, result: Result) -> bool:
        if entry.keys is not None and result.key is not None and result.key not in entry.keys:
            return False
        if entry.data is not None:
            wanted = self.data_classes.get(entry.data, frozenset({entry.data}))
            if not wanted & data_categories(result):
                return False
        return not (entry.page == "payment" and result.evidence.get("payment_page") is not True)

    def coverage_of(self, obligation_id: str) -> Coverage:
        return self.coverage.get(obligation_id, PARTIAL)

    def origin(self, check_id: str, catalogue: Mapping[str, Any]) -> str:
        """The catalogue check that produced a result (a checkov id comes from IAC-CHECKOV)."""
        if check_id in catalogue:
            return check_id
        for pattern, producer in self.engine_rule_checks.items():
            if fnmatch.fnmatchcase(check_id, pattern):
                return producer
        return check_id

    def check_lines(self) -> Mapping[str, int]:
        return self.lines


def data_categories(result: Result) -> frozenset[str]:
    """The personal-data categories a result's evidence is about (a store's, a vendor's)."""
    out: set[str] = set()
    for key in ("personal_data", "data_categories"):
        value = result.evidence.get(key)
        if isinstance(value, (list, tuple)):
            out |= {str(v).lower() for v in value}
    return frozenset(out)


class MatrixStatus(StrEnum):
    FAILING = "failing"
    AT_RISK = "at risk"
    ACCEPTED_RISK = "accepted risk"
    NOT_ASSESSED = "not assessed"
    NOT_APPLICABLE = "not applicable"
    DECLARED = "declared, not verified"
    PARTIAL = "no failures found (partial evidence)"
    MET = "met"


STATUS_MEANING = {
    MatrixStatus.FAILING: "a failing result of medium severity or higher maps to it",
    MatrixStatus.AT_RISK: "only low or info failures, or a check could not run (error)",
    MatrixStatus.ACCEPTED_RISK: "its only failures are waived: an accepted risk, never met",
    MatrixStatus.NOT_ASSESSED: "an expected check was out of the scan's scope, skipped, "
    "or gave no result",
    MatrixStatus.NOT_APPLICABLE: "a declaration takes the business out of its scope",
    MatrixStatus.DECLARED: "no failures, but the evidence rests on declarations",
    MatrixStatus.PARTIAL: "every expected check passed, but they cover only part of the duty",
    MatrixStatus.MET: "every expected check ran on every target and passed, on observed or "
    "attested evidence, and the checks cover the whole duty",
}


@dataclass(frozen=True)
class CheckEvidence:
    """What one expected check contributed to a row."""

    check_id: str
    state: str  # passed, failed, at risk, waived, out of scope, no result, skipped
    sources: tuple[str, ...] = ()
    detail: str = ""

    @property
    def label(self) -> str:
        if self.state == "passed":
            return f"passed ({', '.join(self.sources)})"
        if self.state in ("out of scope", "no result", "skipped"):
            text = f"not assessed ({self.state}"
            return text + (f": {self.detail})" if self.detail else ")")
        return self.state

    @property
    def evidenced(self) -> bool:
        return self.state not in ("out of scope", "no result", "skipped")

    def to_dict(self) -> dict[str, Any]:
        return {
            "check_id": self.check_id,
            "state": self.state,
            "label": self.label,
            "evidence_sources": list(self.sources),
            "detail": self.detail,
        }


@dataclass(frozen=True)
class MatrixRow:
    obligation: Obligation
    status: MatrixStatus
    results: tuple[Result, ...]
    waived: tuple[Result, ...]
    expected_checks: tuple[str, ...] = ()
    checks_run: tuple[str, ...] = ()
    evidence: tuple[CheckEvidence, ...] = ()
    coverage: Coverage = PARTIAL
    applicability: Mapping[str, Any] | None = None
    exposure: str | None = None

    @property
    def evidence_sources(self) -> tuple[str, ...]:
        return tuple(sorted({s for e in self.evidence for s in e.sources}))

    @property
    def reason(self) -> str:
        """One line an auditor reads beside the status."""
        failing = sorted({r.check_id for r in self.results if r.status is Status.FAIL})
        if self.status is MatrixStatus.FAILING or self.status is MatrixStatus.AT_RISK:
            errors = sorted({r.check_id for r in self.results if r.status is Status.ERROR})
            return ", ".join(failing[:4] + [f"{e} (error)" for e in errors[:2]])
        if self.status is MatrixStatus.ACCEPTED_RISK:
            return "; ".join(waiver_line(r) for r in self.waived[:3])
        if self.status is MatrixStatus.NOT_APPLICABLE and self.applicability:
            return "declared: " + str(self.applicability.get("because", ""))
        if self.status is MatrixStatus.NOT_ASSESSED:
            missing = [e for e in self.evidence if not e.evidenced]
            if not self.expected_checks:
                return "no check evidences it"
            shown = "; ".join(f"{e.check_id} {e.label}" for e in missing[:3])
            more = f" +{len(missing) - 3} more" if len(missing) > 3 else ""
            return f"{len(missing)} of {len(self.expected_checks)} checks without evidence: {shown}{more}"
        sources = ", ".join(self.evidence_sources)
        n = len(self.checks_run)
        return (
            f"{n} check{'s' if n != 1 else ''} passed ({sources}); coverage {self.coverage.level}"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.obligation.to_dict(),
            "status": self.status.value,
            "reason": self.reason,
            "coverage": self.coverage.level,
            "coverage_note": self.coverage.note,
            "evidence_sources": list(self.evidence_sources),
            "applicability": dict(self.applicability) if self.applicability else None,
            "exposure": self.exposure,
            "expected_checks": list(self.expected_checks),
            "checks_run": list(self.checks_run),
            "evidence": [e.to_dict() for e in self.evidence],
            "failing": [r.fingerprint for r in self.results if r.status is Status.FAIL],
            "accepted_risks": [
                {
                    "check_id": r.check_id,
                    "target": r.target,
                    "resource": r.resource,
                    "fingerprint": r.fingerprint,
                    "reason": r.waiver.reason if r.waiver else "",
                    "approver": r.waiver.approver if r.waiver else None,
                    "expires": r.waiver.expires if r.waiver else None,
                }
                for r in self.waived
            ],
            "results": [
                {
                    "check_id": r.check_id,
                    "status": r.status.value,
                    "severity": r.severity.value,
                    "target": r.target,
                    "resource": r.resource,
                    "fingerprint": r.fingerprint,
                    "message": r.message,
                    "evidence_source": r.evidence_source.value,
                }
                for r in (*self.results, *self.waived)
            ],
        }


def waiver_line(result: Result) -> str:
    w = result.waiver
    if w is None:
        return f"{result.check_id}: waived"
    return (
        f"{result.check_id} waived by {w.approver or 'no approver named'} "
        f"until {w.expires or 'no expiry'} ({w.reason})"
    )


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
        exp = item.get("exposure")
        obligations.append(
            Obligation(
                oid,
                data["id"],
                item["citation"],
                item["title"],
                item["summary"],
                item["url"],
                str(item["checked"]),
                item.get("kind", "duty"),
                Exposure(exp["label"], exp["when_failing"], exp["otherwise"]) if exp else None,
            )
        )
    left_out = tuple(
        LeftOut(i["citation"], i["title"], i["url"], str(i["checked"]), i["reason"])
        for i in data.get("not_in_matrix") or ()
    )
    return Framework(
        data["id"],
        data["name"],
        data["version"],
        tuple(obligations),
        data["source"],
        data.get("applicability"),
        left_out,
    )


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
    data_classes = {
        k: frozenset(str(v).lower() for v in vs)
        for k, vs in (data.get("data_classes") or {}).items()
    }

    def entries(section: str, key: str, via: str) -> tuple[MappingEntry, ...]:
        out = []
        for index, item in enumerate(data[section][key]):
            if item["obligation"] not in known_ids:
                raise ConfigError(
                    f"{section}.{key}: unknown obligation {item['obligation']!r}",
                    path=display,
                    line=_line(data, (section, key, index)),
                )
            if item.get("data") is not None and item["data"] not in data_classes:
                raise ConfigError(
                    f"{section}.{key}: unknown data class {item['data']!r} "
                    f"(known: {', '.join(sorted(data_classes))})",
                    path=display,
                    line=_line(data, (section, key, index)),
                )
            keys = item.get("keys")
            out.append(
                MappingEntry(
                    item["obligation"],
                    item["rationale"],
                    via,
                    frozenset(str(k) for k in keys) if keys else None,
                    item.get("data"),
                    item.get("page"),
                    bool(item.get("only_when_applicable", False)),
                )
            )
        return tuple(out)

    def known_obligation(section: str, oid: str) -> str:
        if oid not in known_ids:
            raise ConfigError(
                f"{section}: unknown obligation {oid!r}",
                path=display,
                line=_line(data, (section, oid)),
            )
        return oid

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
    coverage = {
        known_obligation("coverage", k): Coverage(v["level"], v["note"])
        for k, v in (data.get("coverage") or {}).items()
    }
    applicability = {
        known_obligation("applicability", k): v
        for k, v in (data.get("applicability") or {}).items()
    }
    return ObligationMapping(
        areas,
        checks,
        rules,
        dict(data.get("not_relevant") or {}),
        lines,
        no_defaults,
        data_classes,
        coverage,
        applicability,
        dict(data.get("engine_rule_checks") or {}),
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
    for pattern, producer in mapping.engine_rule_checks.items():
        if producer not in known:
            raise ConfigError(
                f"engine_rule_checks {pattern!r}: unknown check {producer!r}", path=display
            )


def apply_obligations(
    results: Sequence[Result], mapping: ObligationMapping | None = None
) -> list[Result]:
    """Fill ``Result.obligations`` from the mapping (per key, data and page). A collector's error
    (one result for the checks it blocked) carries the obligations of every blocked check: they
    are at risk."""
    mapping = mapping or load_mapping()
    return [r.with_(obligations=_obligations_of(r, mapping)) for r in results]


def _obligations_of(result: Result, mapping: ObligationMapping) -> tuple[str, ...]:
    blocked = result.evidence.get("blocked_areas") if result.status is Status.ERROR else None
    if not isinstance(blocked, Mapping):
        return mapping.obligations_for_result(result)
    found: dict[str, None] = {}
    for check_id, area in blocked.items():
        found.update(dict.fromkeys(mapping.obligations_for(str(check_id), str(area))))
    return tuple(found)


@dataclass(frozen=True)
class CatalogueCheck:
    area: str
    target: str  # a TargetKind value


@functools.lru_cache(maxsize=1)
def catalogue() -> dict[str, CatalogueCheck]:
    """Every check this installation knows (built-ins and plugins), whatever the scan selected."""
    from posture.registry import load_registry

    return {
        cid: CatalogueCheck(spec.area.value, spec.target.value)
        for cid, spec in load_registry().checks.items()
    }


def expected_checks(
    obligation_id: str,
    check_areas: Mapping[str, str] | None = None,
    mapping: ObligationMapping | None = None,
) -> tuple[str, ...]:
    """The checks of the catalogue (or of ``check_areas``: id -> area) that evidence it."""
    mapping = mapping or load_mapping()
    if check_areas is None:
        check_areas = {cid: c.area for cid, c in catalogue().items()}
    return tuple(
        sorted(
            cid
            for cid, area in check_areas.items()
            if obligation_id in mapping.obligations_for(cid, area)
        )
    )


@dataclass(frozen=True)
class ResultIndex:
    """Results by the obligations they map to (and vouch for), computed once per scan."""

    by_obligation: Mapping[str, list[Result]]
    implied: Mapping[str, list[Result]]
    # data the scan itself found (card-data columns in the repository ...): a declaration that
    # no store holds such data cannot take an obligation out of scope against it
    observed: Mapping[str, list[str]]

    @classmethod
    def of(cls, results: Sequence[Result], mapping: ObligationMapping) -> ResultIndex:
        by_obligation: dict[str, list[Result]] = {}
        implied: dict[str, list[Result]] = {}
        observed: dict[str, list[str]] = {}
        for result in results:
            if (
                result.status in (Status.FAIL, Status.WAIVED)
                and result.evidence_source is EvidenceSource.OBSERVED
            ):
                for category in data_categories(result):
                    observed.setdefault(category, []).append(result.check_id)
            for oid in mapping.obligations_for_result(result):
                by_obligation.setdefault(oid, []).append(result)
            for oid in mapping.obligations_implied_by(result):
                implied.setdefault(oid, []).append(result)
        return cls(by_obligation, implied, observed)


def obligation_matrix(
    results: Sequence[Result],
    framework: str,
    check_areas: Mapping[str, str] | None = None,
    mapping: ObligationMapping | None = None,
    *,
    declared: Mapping[str, Any] | None = None,
    targets: Sequence[tuple[str, str]] = (),
    checks: Mapping[str, CatalogueCheck] | None = None,
    index: ResultIndex | None = None,
) -> list[MatrixRow]:
    """One row per obligation of ``framework``, with the statuses defined in this module.

    ``check_areas``: the checks the scan selected and could run (id -> area; the report's
    ``checks``); a catalogue check outside it is "out of scope". ``declared``: the business's
    declarations (``declarations()``), for applicability. ``targets``: (kind, name) of each target
    scanned, so a check must have evidence on every target of its kind. ``checks``: the catalogue
    (default: every check this installation knows).
    """
    frameworks = load_frameworks()
    if framework not in frameworks:
        raise ConfigError(f"unknown framework {framework!r} (known: {', '.join(frameworks)})")
    mapping = mapping or load_mapping()
    cat = dict(checks) if checks is not None else catalogue()
    in_scope = frozenset(check_areas) if check_areas else None
    index = index or ResultIndex.of(results, mapping)
    by_obligation, implied, observed = index.by_obligation, index.implied, index.observed
    expected_by: dict[str, set[str]] = {}
    for cid, c in cat.items():
        for oid in mapping.obligations_for(cid, c.area):
            expected_by.setdefault(oid, set()).add(cid)
    origin: dict[str, str] = {}

    def origin_of(check_id: str) -> str:
        if check_id not in origin:
            origin[check_id] = mapping.origin(check_id, cat)
        return origin[check_id]

    rows = []
    for obligation in frameworks[framework].obligations:
        applicability = _applicability(
            mapping.applicability.get(obligation.id), declared, mapping, observed
        )
        mapped = by_obligation.get(obligation.id, [])
        if applicability is not None and applicability.get("applies") is False:
            mapped = [r for r in mapped if not mapping.presupposes(r, obligation.id)]
        own: dict[str, list[Result]] = {}
        for r in mapped:
            own.setdefault(origin_of(r.check_id), []).append(r)
        beside: dict[str, list[Result]] = {}
        for r in implied.get(obligation.id, []):
            beside.setdefault(origin_of(r.check_id), []).append(r)
        expected = expected_by.get(obligation.id, set()) | set(own)
        evidence = tuple(
            _check_evidence(
                cid,
                obligation.id,
                own.get(cid, []),
                beside.get(cid, []),
                cat,
                mapping,
                in_scope,
                targets,
            )
            for cid in sorted(expected)
        )
        waived = tuple(r for r in mapped if r.status is Status.WAIVED)
        live = tuple(r for r in mapped if r.status is not Status.WAIVED)
        coverage = mapping.coverage_of(obligation.id)
        status = _status(live, waived, evidence, coverage, applicability)
        rows.append(
            MatrixRow(
                obligation,
                status,
                live,
                waived,
                tuple(sorted(expected)),
                tuple(sorted(e.check_id for e in evidence if e.evidenced)),
                evidence,
                coverage,
                applicability,
                _exposure(obligation, status, live, waived, applicability),
            )
        )
    return rows


def _check_evidence(
    check_id: str,
    obligation_id: str,
    mapped: Sequence[Result],
    implied: Sequence[Result],
    cat: Mapping[str, CatalogueCheck],
    mapping: ObligationMapping,
    in_scope: frozenset[str] | None,
    targets: Sequence[tuple[str, str]],
) -> CheckEvidence:
    own = mapped  # this check's results that map to the obligation
    # findings of the same check about other aspects (other keys): the check looked at this
    # aspect too and found nothing wrong with it
    beside = implied
    if in_scope is not None and check_id not in in_scope and not own and not beside:
        return CheckEvidence(check_id, "out of scope")
    if in_scope is None and not own and not beside:
        return CheckEvidence(check_id, "no result", detail="did not run in this scan")
    live = [r for r in own if r.status is not Status.SKIPPED]
    if not live and not beside:
        skipped = [r for r in own if r.status is Status.SKIPPED]
        if skipped:
            return CheckEvidence(check_id, "skipped", detail=skipped[0].message)
        return CheckEvidence(
            check_id, "no result", detail=_conditions(check_id, obligation_id, cat, mapping)
        )
    sources = _sources([*live, *beside])
    if any(r.status is Status.FAIL for r in live):
        return CheckEvidence(check_id, "failed", sources)
    if any(r.status is Status.ERROR for r in live):
        return CheckEvidence(check_id, "at risk", sources, "could not run (error)")
    if any(r.status is Status.WAIVED for r in live):
        return CheckEvidence(check_id, "waived", sources)
    spec = cat.get(check_id)
    if spec is not None and targets and spec.target == "storefront":
        kind_targets = [name for kind, name in targets if kind == spec.target]
        covered = {r.target for r in (*live, *beside)}
        missing = [t for t in kind_targets if t not in covered]
        if missing:
            return CheckEvidence(
                check_id, "no result", sources, "no result on " + ", ".join(missing[:3])
            )
    detail = "" if live else "its findings concern other aspects only"
    return CheckEvidence(check_id, "passed", sources, detail)


def _conditions(
    check_id: str, obligation_id: str, cat: Mapping[str, CatalogueCheck], mapping: ObligationMapping
) -> str:
    area = cat[check_id].area if check_id in cat else ""
    conds = sorted(
        {
            e.conditions
            for e in mapping.entries_for(check_id, area)
            if e.conditions and e.obligation == obligation_id
        }
    )
    if conds:
        return "no result matched " + " / ".join(conds)
    return "ran, no result"


def _sources(results: Sequence[Result]) -> tuple[str, ...]:
    """Where the evidence came from: every result that was evaluated (passes and findings)."""
    return tuple(
        sorted(
            {
                r.evidence_source.value
                for r in results
                if r.status in (Status.PASS, Status.FAIL, Status.WAIVED)
            }
        )
    )


def _applicability(
    condition: str | None,
    declared: Mapping[str, Any] | None,
    mapping: ObligationMapping,
    observed: Mapping[str, Sequence[str]] | None = None,
) -> Mapping[str, Any] | None:
    if condition is None:
        return None
    if condition.startswith("holds-data:"):
        return _holds_data(condition, declared, mapping, observed or {})
    fact = (declared or {}).get(condition)
    if not isinstance(fact, Mapping):
        return {"condition": condition, "applies": None, "because": "not declared"}
    return {
        "condition": condition,
        "applies": fact.get("value"),
        "because": fact.get("because", ""),
    }


def _holds_data(
    condition: str,
    declared: Mapping[str, Any] | None,
    mapping: ObligationMapping,
    observed: Mapping[str, Sequence[str]],
) -> Mapping[str, Any]:
    """Whether the business holds data of a class (``holds-data:<class>``): what the data
    stores declare, and what the scan found whatever they declare."""
    name = condition.split(":", 1)[1]
    wanted = mapping.data_classes.get(name, frozenset({name}))
    found = sorted(wanted & set(observed))
    if found:
        checks = sorted({c for f in found for c in observed[f]})
        return {
            "condition": condition,
            "applies": True,
            "because": f"the scan found {', '.join(found)} data ({', '.join(checks)})",
        }
    held = (declared or {}).get("personal_data")
    if not held:
        return {
            "condition": condition,
            "applies": None,
            "because": "no data store declares its personal data",
        }
    hits = sorted(wanted & {str(c).lower() for c in held})
    if hits:
        return {
            "condition": condition,
            "applies": True,
            "because": f"data stores declare {', '.join(hits)}",
        }
    return {
        "condition": condition,
        "applies": False,
        "because": f"no data store declares {name} data (declared: {', '.join(held)})",
    }


def _status(
    live: Sequence[Result],
    waived: Sequence[Result],
    evidence: Sequence[CheckEvidence],
    coverage: Coverage,
    applicability: Mapping[str, Any] | None,
) -> MatrixStatus:
    failures = [r for r in live if r.status is Status.FAIL]
    if any(r.severity >= Severity.MEDIUM for r in failures):
        return MatrixStatus.FAILING
    if failures or any(r.status is Status.ERROR for r in live):
        return MatrixStatus.AT_RISK
    if waived:
        return MatrixStatus.ACCEPTED_RISK
    if applicability is not None and applicability.get("applies") is False:
        return MatrixStatus.NOT_APPLICABLE
    if not evidence or any(not e.evidenced for e in evidence):
        return MatrixStatus.NOT_ASSESSED
    sources = {s for e in evidence for s in e.sources}
    declared_only = [e for e in evidence if set(e.sources) == {EvidenceSource.DECLARED.value}]
    if sources == {EvidenceSource.DECLARED.value}:
        return MatrixStatus.DECLARED
    if coverage.level == "full":
        return MatrixStatus.DECLARED if declared_only else MatrixStatus.MET
    return MatrixStatus.PARTIAL


def _exposure(
    obligation: Obligation,
    status: MatrixStatus,
    live: Sequence[Result],
    waived: Sequence[Result],
    applicability: Mapping[str, Any] | None = None,
) -> str | None:
    exp = obligation.exposure
    if exp is None:
        return None
    if status in (MatrixStatus.FAILING, MatrixStatus.AT_RISK, MatrixStatus.ACCEPTED_RISK):
        causes = [r for r in (*live, *waived) if r.status in (Status.FAIL, Status.WAIVED)]
        because = "; ".join(_cause(r) for r in causes[:3])
        return f"{exp.label}: {exp.when_failing}, because {because}"
    if status is MatrixStatus.NOT_APPLICABLE:
        because = (applicability or {}).get("because", "a declaration takes it out of scope")
        return f"{exp.label}: {exp.otherwise}, because {because}"
    if status is MatrixStatus.NOT_ASSESSED:
        if applicability and applicability.get("applies"):
            return (
                f"{exp.label}: unknown, because {applicability.get('because')} and no check "
                "shows whether it is encrypted where it is kept"
            )
        return f"{exp.label}: unknown, because the evidence is incomplete"
    basis = "declared" if status is MatrixStatus.DECLARED else "checked"
    return f"{exp.label}: {exp.otherwise}, because no {basis} data store fails it"


def _cause(result: Result) -> str:
    data = sorted(data_categories(result))
    text = result.message or result.check_id
    if data:
        text += f" (holds {', '.join(data)})"
    if result.status is Status.WAIVED:
        text += " [waived, still exposed]"
    return text


# ---- declarations: the facts a business states about itself that decide applicability ----

EEA_REGIONS = ("eu-", "europe-", "eea-")


def declarations(config: Any, policy: Any = None) -> dict[str, Any]:
    """What posture.yaml declares that decides whether obligations apply, as plain data (it goes
    into the scan report's ``meta``, so a saved scan keeps it). Each fact: value (True, False, or
    None when not declared) and because (the declaration, with its place in posture.yaml)."""
    if config is None:
        return {}
    controls = config.controls
    path = getattr(config, "path", "posture.yaml")

    def at(*loc: str | int) -> str:
        line = config.line("controls", *loc) if hasattr(config, "line") else None
        return f"{path}:{line}" if line else str(path)

    out: dict[str, Any] = {}
    privacy = controls.privacy
    if privacy is not None and "sells_or_shares" in privacy.model_fields_set:
        out["sells-or-shares"] = {
            "value": bool(privacy.sells_or_shares),
            "because": f"controls.privacy.sells_or_shares: {str(privacy.sells_or_shares).lower()} "
            f"({at('privacy', 'sells_or_shares')})",
        }
    eea = {str(c).upper() for c in (policy.get("vendor.eea", []) if policy is not None else [])}
    out["transfers-outside-eea"] = _transfers(controls, eea, at)
    out["stores-card-data"] = _card_data(controls, at)
    out["personal_data"] = sorted(
        {str(c).lower() for s in controls.data_stores for c in s.personal_data}
    )
    business = getattr(controls, "business", None)
    if business is not None:
        out["business"] = {**business.model_dump(mode="json"), "declared_at": at("business")}
    return out


def _transfers(controls: Any, eea: set[str], at: Any) -> dict[str, Any]:
    vendors = list(controls.vendors)
    outside = [v for v in vendors if v.country and eea and v.country.upper() not in eea]
    unknown = [v for v in vendors if not v.country]
    regions = [
        (s.name, s.location.region)
        for s in controls.data_stores
        if s.location is not None and s.location.region
    ]
    far = [(n, r) for n, r in regions if not r.lower().startswith(EEA_REGIONS)]
    if outside or far:
        names = [f"{v.name} ({v.country})" for v in outside] + [f"{n} ({r})" for n, r in far]
        return {"value": True, "because": "declared outside the EEA: " + ", ".join(names[:5])}
    if not vendors or unknown or not eea:
        what = "no vendors declared" if not vendors else "vendors without a country"
        return {"value": None, "because": what}
    countries = sorted({(v.country or "").upper() for v in vendors})
    return {
        "value": False,
        "because": f"controls.vendors: every vendor processes in the EEA ({', '.join(countries)}) "
        f"({at('vendors')})" + ("; data stores in EEA regions" if regions else ""),
    }


def _card_data(controls: Any, at: Any) -> dict[str, Any]:
    mapping = load_mapping()
    card = mapping.data_classes.get("card", frozenset({"card"}))
    stores = [s.name for s in controls.data_stores if card & {c.lower() for c in s.personal_data}]
    pay = controls.payments
    if stores or (pay is not None and (pay.stores_pan or pay.stores_cvv)):
        what = [f"data store {n} holds card data" for n in stores]
        if pay is not None and pay.stores_pan:
            what.append("controls.payments.stores_pan: true")
        if pay is not None and pay.stores_cvv:
            what.append("controls.payments.stores_cvv: true")
        return {"value": True, "because": "; ".join(what)}
    if pay is None:
        return {"value": None, "because": "controls.payments not declared"}
    return {
        "value": False,
        "because": "controls.payments.stores_pan and stores_cvv: false, and no data store "
        f"declares card data ({at('payments')})",
    }


@dataclass(frozen=True)
class FrameworkMatrix:
    """One framework's rows, and whether the framework applies to the business at all (for
    frameworks with an applicability test, such as the CCPA cybersecurity audit)."""

    framework: Framework
    rows: tuple[MatrixRow, ...]
    applicability: Mapping[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.framework.id,
            "name": self.framework.name,
            "version": self.framework.version,
            "source": self.framework.source,
            "summary": status_counts(self.rows),
            "obligations": [row.to_dict() for row in self.rows],
        }
        if self.applicability is not None:
            out["applicability"] = dict(self.applicability)
        return out


def status_counts(rows: Iterable[MatrixRow]) -> dict[str, int]:
    out = {s.value: 0 for s in MatrixStatus}
    for row in rows:
        out[row.status.value] += 1
    return out


def framework_applicability(
    framework: Framework, declared: Mapping[str, Any] | None
) -> Mapping[str, Any] | None:
    if framework.applicability == "ccpa-cyber-audit":
        from posture.cyber_audit import applicability

        return applicability((declared or {}).get("business"))
    return None


def build_matrices(
    results: Sequence[Result],
    framework_ids: Sequence[str],
    *,
    check_areas: Mapping[str, str] | None = None,
    declared: Mapping[str, Any] | None = None,
    targets: Sequence[tuple[str, str]] = (),
) -> list[FrameworkMatrix]:
    """Every requested framework's matrix over one set of results (a scan, a period's end)."""
    frameworks = load_frameworks()
    cat = catalogue()
    index = ResultIndex.of(results, load_mapping())
    out = []
    for fid in framework_ids:
        rows = obligation_matrix(
            results, fid, check_areas, declared=declared, targets=targets, checks=cat, index=index
        )
        out.append(
            FrameworkMatrix(
                frameworks[fid], tuple(rows), framework_applicability(frameworks[fid], declared)
            )
        )
    return out


def matrices_for_report(report: Any, framework_ids: Sequence[str]) -> list[FrameworkMatrix]:
    """The matrices of a ScanReport: its results, its scope, its targets, its declarations."""
    return build_matrices(
        report.results,
        framework_ids,
        check_areas=report.checks or None,
        declared=(report.meta or {}).get("declarations"),
        targets=[(t.kind.value, t.name) for t in report.targets],
    )
