"""Waivers: a team accepts a risk for a bounded time, with a reason and an approver.

A waiver names a check id (globs allowed) and optionally a target and a resource. It must expire,
no later than the policy maximum (``waivers.max_days``, default 90) from the scan date; an expired
waiver stops applying and is reported as a warning. One waiver list covers every engine: checkov's
inline ``checkov:skip`` comments (no approver, no expiry, written by whoever changes the code) count
only when a central waiver backs them; with ``waivers.require_central_for_inline: false`` an inline
comment alone waives findings up to ``waivers.inline_max_severity`` (default low).
"""

from __future__ import annotations

import datetime as dt
import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from posture._yaml import LineDict, line_of, load_yaml_file
from posture.errors import ConfigError
from posture.model import Result, Severity, Status, Waiver
from posture.policy import Policy
from posture.sanitize import clean_text


class WaiverSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    check: str = Field(min_length=1, description="check id; globs allowed (CKV_AWS_*)")
    target: str | None = None  # target name; globs allowed
    resource: str | None = None  # resource address or path; globs allowed
    # IaC: the root module folder a result was evaluated in (examples/complete-mysql); globs
    root_module: str | None = None
    reason: str = Field(min_length=3)
    approver: str = Field(min_length=1)
    expires: dt.date


def _root_module(result: Result) -> str | None:
    """The root module a result was evaluated in: its origin's, else its file's folder."""
    if result.origin is not None:
        return result.origin.root
    if result.location is None:
        return None
    return result.location.path.rpartition("/")[0] or "."


@dataclass(frozen=True)
class LoadedWaiver:
    spec: WaiverSpec
    source: str  # file:line

    def matches(self, result: Result) -> bool:
        def match(pattern: str | None, value: str | None) -> bool:
            return pattern is None or fnmatch.fnmatchcase(value or "", pattern)

        return (
            fnmatch.fnmatchcase(result.check_id, self.spec.check)
            # result targets never show URL credentials: neither may the pattern
            and match(clean_text(self.spec.target) if self.spec.target else None, result.target)
            and match(
                self.spec.resource,
                result.resource or (result.location.path if result.location else None),
            )
            and match(self.spec.root_module, _root_module(result))
        )

    def as_waiver(self) -> Waiver:
        return Waiver(
            reason=self.spec.reason,
            source=self.source,
            approver=self.spec.approver,
            expires=self.spec.expires.isoformat(),
        )


def parse_waivers(
    items: Any, path: str, raw: Any, loc: tuple[str | int, ...] = ()
) -> list[LoadedWaiver]:
    """Validate a list of waiver mappings read from ``path`` (``raw`` keeps the lines)."""
    if items is None:
        return []
    if not isinstance(items, list):
        raise ConfigError("waivers must be a list", path=path, line=line_of(raw, loc))
    loaded = []
    for index, item in enumerate(items):
        where = (*loc, index)
        if isinstance(item, dict) and "expires" not in item:
            raise ConfigError(
                "waiver has no expiry date: every waiver must expire",
                path=path,
                line=line_of(raw, where),
            )
        try:
            spec = WaiverSpec.model_validate(item)
        except ValidationError as exc:
            err = exc.errors()[0]
            field_loc = tuple(p for p in err["loc"] if isinstance(p, (str, int)))
            message = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
            raise ConfigError(
                f"waiver {'.'.join(str(p) for p in field_loc)}: {message}",
                path=path,
                line=line_of(raw, (*where, *field_loc)),
            ) from None
        loaded.append(LoadedWaiver(spec, f"{path}:{line_of(raw, where) or '?'}"))
    return loaded


def load_waiver_file(path: str | Path) -> list[LoadedWaiver]:
    """A waivers file: a YAML list, or a mapping with a ``waivers:`` list."""
    file = Path(path)
    raw = load_yaml_file(file)
    if isinstance(raw, LineDict):
        unknown = set(raw) - {"waivers"}
        if unknown:
            key = sorted(unknown)[0]
            raise ConfigError(f"unknown key {key!r}", path=str(file), line=raw.key_lines[key])
        return parse_waivers(raw.get("waivers"), str(file), raw, ("waivers",))
    return parse_waivers(raw, str(file), raw)


def check_lifetimes(waivers: Sequence[LoadedWaiver], policy: Policy, today: dt.date) -> None:
    """A waiver longer than the policy allows is a configuration error, not a silent cap."""
    max_days = int(policy.get("waivers.max_days", 90))
    for waiver in waivers:
        if (waiver.spec.expires - today).days > max_days:
            path, _, line = waiver.source.rpartition(":")
            raise ConfigError(
                f"waiver for {waiver.spec.check} expires {waiver.spec.expires}, more than "
                f"{max_days} days away (policy waivers.max_days)",
                path=path,
                line=int(line) if line.isdigit() else None,
            )


def apply_waivers(
    results: Sequence[Result],
    waivers: Sequence[LoadedWaiver],
    policy: Policy,
    today: dt.date,
) -> tuple[list[Result], list[str]]:
    """Mark failing results covered by an active waiver as waived; return results and warnings."""
    warnings: list[str] = []
    active = [w for w in waivers if w.spec.expires >= today]
    for waiver in waivers:
        if waiver.spec.expires < today:
            warnings.append(
                f"waiver for {waiver.spec.check} ({waiver.source}) expired on "
                f"{waiver.spec.expires} and no longer applies"
            )
    central_for_inline = bool(policy.get("waivers.require_central_for_inline", True))
    inline_max = Severity.parse(str(policy.get("waivers.inline_max_severity", "low")))
    out = []
    for result in results:
        inline = (
            result.status is Status.WAIVED
            and result.waiver is not None
            and result.waiver.source.startswith("inline")
        )
        if result.status is Status.FAIL or inline:
            match = next((w for w in active if w.matches(result)), None)
            if match is not None:
                result = result.with_(status=Status.WAIVED, waiver=match.as_waiver())
            elif inline and (central_for_inline or result.severity > inline_max):
                assert result.waiver is not None
                why = (
                    "no central waiver backs it"
                    if central_for_inline
                    else f"no central waiver backs it and it is above {inline_max.value} "
                    "(policy waivers.inline_max_severity)"
                )
                warnings.append(
                    f"{result.check_id} at {result.location or result.target}: inline suppression "
                    f"({result.waiver.reason!r}) ignored: {why}"
                )
                result = result.with_(status=Status.FAIL, waiver=None)
        out.append(result)
    used = {w.source for w in active if any(w.matches(r) for r in results)}
    for waiver in active:
        if waiver.source not in used:
            warnings.append(f"waiver for {waiver.spec.check} ({waiver.source}) matched no result")
    return out, warnings
