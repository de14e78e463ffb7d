"""One checkov run per IaC target, in-process, imported only here and only when an IaC check runs.

checkov parses each file once; its Terraform runner keeps the parsed, rendered definitions, and
our own backup-separation rules read those instead of parsing again. Files checkov must not read
(over the size limit, or YAML with an alias bomb) are excluded up front and reported as errors
naming the file; files checkov could not parse are reported the same way; the rest of the tree is
still scanned.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from posture.checks.collectors._imports import preload
from posture.errors import CollectError
from posture.model import Target, TargetKind
from posture.plugin import CollectContext, collector

# checkov keeps global state (check registries, parser caches): one run at a time per process.
_CHECKOV_LOCK = threading.Lock()
IAC_SUFFIXES = (".tf", ".hcl", ".yaml", ".yml", ".json", ".template")
_ALIAS = re.compile(rb"(?m)(?:^|[\s\[,{:-])\*[A-Za-z0-9_-]+")
_SKIP_DIRS = {".git", ".terraform", "node_modules", ".venv", "__pycache__"}


@dataclass(frozen=True)
class CheckovFinding:
    check_id: str
    name: str
    passed: bool
    framework: str
    path: str  # absolute
    lines: tuple[int, int] | None
    resource: str
    suppressed: str | None = None  # the reason of a checkov:skip comment
    guideline: str | None = None


@dataclass(frozen=True)
class TfResource:
    type: str
    name: str
    address: str
    path: str
    lines: tuple[int, int]
    attrs: dict[str, Any]
    provider: str  # provider address, e.g. "aws.default" or "aws.dr"


@dataclass(frozen=True)
class IacFacts:
    root: str
    findings: tuple[CheckovFinding, ...]
    file_errors: tuple[tuple[str, str], ...]  # (path, why it was not scanned)
    resources: tuple[TfResource, ...] = ()
    providers: dict[str, dict[str, Any]] = field(default_factory=dict)
    files_scanned: int = 0
    mapping: dict[str, dict[str, str]] = field(default_factory=dict)  # checkov id -> area/severity


def _walk(root: Path) -> Iterator[Path]:
    if root.is_file():
        yield root
        return
    for directory, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d not in _SKIP_DIRS]
        for name in files:
            if name.endswith(IAC_SUFFIXES):
                yield Path(directory) / name


def screen_files(
    root: Path, max_bytes: int, max_aliases: int
) -> tuple[list[Path], list[tuple[str, str]]]:
    """Files checkov may read, and the ones it must not (with the reason)."""
    ok: list[Path] = []
    refused: list[tuple[str, str]] = []
    for path in _walk(root):
        try:
            size = path.stat().st_size
        except OSError as exc:
            refused.append((str(path), f"cannot read: {exc.strerror}"))
            continue
        if size > max_bytes:
            refused.append(
                (str(path), f"{size} bytes, over the {max_bytes}-byte limit: not scanned")
            )
            continue
        if path.suffix in (".yaml", ".yml", ".json", ".template"):
            data = path.read_bytes()
            if len(_ALIAS.findall(data)) > max_aliases and b"&" in data:
                refused.append(
                    (str(path), f"more than {max_aliases} YAML aliases (alias bomb?): not scanned")
                )
                continue
        ok.append(path)
    return ok, refused


def _quiet_checkov() -> None:
    for name in ("checkov", "bc_jsonpath_ng", "urllib3", "pycep", "hcl2"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    os.environ.setdefault("LOG_LEVEL", "ERROR")
    os.environ.setdefault("CHECKOV_RUN_SCA_PACKAGE_SCAN_V2", "false")


def _first(value: Any) -> Any:
    return value[0] if isinstance(value, list) and len(value) == 1 else value


def _resources(definitions: dict[Any, Any]) -> tuple[list[TfResource], dict[str, dict[str, Any]]]:
    resources: list[TfResource] = []
    providers: dict[str, dict[str, Any]] = {}
    for key, body in (definitions or {}).items():
        path = getattr(key, "file_path", str(key))
        for block in body.get("provider", []) or []:
            for pname, attrs in block.items():
                address = attrs.get("__address__") or pname
                providers[address] = {
                    "region": _first(attrs.get("region")),
                    "allowed_account_ids": _first(attrs.get("allowed_account_ids")),
                    "assume_role": _first(attrs.get("assume_role")),
                    "path": path,
                }
        for block in body.get("resource", []) or []:
            for rtype, named in block.items():
                for rname, attrs in named.items():
                    start = int(attrs.get("__start_line__", 0) or 0)
                    end = int(attrs.get("__end_line__", start) or start)
                    resources.append(
                        TfResource(
                            type=rtype,
                            name=rname,
                            address=str(attrs.get("__address__") or f"{rtype}.{rname}"),
                            path=path,
                            lines=(start, end),
                            attrs={k: v for k, v in attrs.items() if not k.startswith("__")},
                            provider=str(
                                attrs.get("__provider_address__")
                                or rtype.split("_")[0] + ".default"
                            ),
                        )
                    )
    return resources, providers


def run_checkov(
    root: Path, frameworks: list[str] | None, max_bytes: int, max_aliases: int
) -> IacFacts:
    _quiet_checkov()
    preload("checkov.terraform.runner", "checkov.cloudformation.runner", "checkov.kubernetes.runner")
    ok, refused = screen_files(root, max_bytes, max_aliases)
    from checkov.cloudformation.runner import Runner as CfnRunner
    from checkov.common.models.enums import CheckResult
    from checkov.kubernetes.runner import Runner as K8sRunner
    from checkov.runner_filter import RunnerFilter
    from checkov.terraform.runner import Runner as TfRunner

    wanted = frameworks or ["terraform", "cloudformation", "kubernetes"]
    runner_filter = RunnerFilter(
        framework=wanted,
        show_progress_bar=False,
        excluded_paths=[re.escape(path) for path, _ in refused],
        download_external_modules=False,
    )
    runners: list[tuple[str, Any]] = []
    if "terraform" in wanted:
        runners.append(("terraform", TfRunner()))
    if "cloudformation" in wanted:
        runners.append(("cloudformation", CfnRunner()))
    if "kubernetes" in wanted:
        runners.append(("kubernetes", K8sRunner()))
    findings: list[CheckovFinding] = []
    parse_errors: list[tuple[str, str]] = list(refused)
    tf_definitions: dict[Any, Any] = {}
    is_file = root.is_file()
    for framework, runner in runners:
        kwargs: dict[str, Any] = {"runner_filter": runner_filter}
        if is_file:
            kwargs["files"] = [str(root)]
        else:
            kwargs["root_folder"] = str(root)
        try:
            reports = runner.run(**kwargs)
        except Exception as exc:  # noqa: BLE001 - one framework's crash never hides the others
            parse_errors.append((str(root), f"checkov {framework} runner failed: {exc}"[:300]))
            continue
        for report in reports if isinstance(reports, list) else [reports]:
            for path in report.parsing_errors:
                parse_errors.append((str(path), f"checkov could not parse this {framework} file"))
            for record, passed in (
                *((r, False) for r in report.failed_checks),
                *((r, True) for r in report.passed_checks),
                *((r, False) for r in report.skipped_checks),
            ):
                result = record.check_result or {}
                suppressed = None
                if result.get("result") == CheckResult.SKIPPED:
                    suppressed = str(result.get("suppress_comment") or "checkov:skip")
                lines = tuple(record.file_line_range) if record.file_line_range else None
                findings.append(
                    CheckovFinding(
                        check_id=record.check_id,
                        name=record.check_name,
                        passed=passed,
                        framework=framework,
                        path=record.file_abs_path or str(root / record.file_path.lstrip("/")),
                        lines=(int(lines[0]), int(lines[1])) if lines and len(lines) == 2 else None,
                        resource=record.resource,
                        suppressed=suppressed,
                        guideline=record.guideline,
                    )
                )
        if framework == "terraform":
            tf_definitions = dict(runner.definitions or {})
    resources, providers = _resources(tf_definitions)
    unique_errors = tuple(dict.fromkeys(parse_errors))
    return IacFacts(str(root), tuple(findings), unique_errors, tuple(resources), providers, len(ok))


def load_checkov_mapping() -> dict[str, dict[str, str]]:
    """policies/mappings/checkov.yaml, validated against its schema."""
    import json

    import jsonschema

    from posture._yaml import load_yaml_text
    from posture.errors import ConfigError
    from posture.policy import read_policy_text

    text, display = read_policy_text("mappings", "checkov.yaml")
    data = load_yaml_text(text, display)
    schema_text, _ = read_policy_text("schemas", "checkov-mapping.schema.json")
    errors = list(jsonschema.Draft202012Validator(json.loads(schema_text)).iter_errors(data))
    if errors:
        first = errors[0]
        where = "/".join(str(p) for p in first.absolute_path)
        raise ConfigError(f"{where}: {first.message}", path=display)
    return {k: dict(v) for k, v in data["checks"].items()}


@collector(name="checkov", target=TargetKind.IAC)
def collect_iac(target: Target, ctx: CollectContext) -> IacFacts:
    from dataclasses import replace

    root = Path(target.options.get("abs_path") or target.name)
    if not root.exists():
        raise CollectError(f"{target.name}: no such file or directory")
    mapping = load_checkov_mapping()
    for check_id, override in (target.options.get("mapping") or {}).items():
        merged = dict(mapping.get(check_id, {}))
        merged.update({k: v for k, v in dict(override).items() if v is not None})
        mapping[check_id] = merged
    with _CHECKOV_LOCK:
        facts = run_checkov(
            root,
            target.options.get("frameworks"),
            int(ctx.policy.get("iac.max_file_bytes", 5_000_000)),
            int(ctx.policy.get("iac.max_yaml_aliases", 100)),
        )
    return replace(facts, mapping=mapping)
