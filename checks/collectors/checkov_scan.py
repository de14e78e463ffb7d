"""The one collector that runs checkov: one in-process run per IaC target.

checkov parses each file once per framework; its checks and posture's own backup rules both read
that parse (checkov's records become findings, its parsed definitions become ``IacResource``s),
so no file is parsed twice. checkov is imported here, lazily, and only here.

Running checkov inside our process needs care: it configures the root logger on import, prints
to stdout, forks worker processes for parsing (unsafe from a threaded program) and keeps global
registries. So imports restore the logging setup, runs hold a lock, use sequential parsing and
send stdout to a buffer. Results are cached on disk keyed by the content digest of every file
in the tree and the versions of posture and checkov; a tree whose Terraform reaches outside its
root (``source = "../modules/x"``) is not cached, since those files are not in the key.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import os
import tempfile
import threading
from collections.abc import Callable, Iterable, Mapping
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from posture.errors import CollectError
from posture.model import Target, TargetKind
from posture.plugin import CollectContext, collector

from ._imports import keeping_streams
from .checkov_mapping import load_mapping
from .iac_facts import (
    CheckovFinding,
    FileProblem,
    IacFacts,
    IacProvider,
    IacResource,
    ModuleOrigin,
    arn_region_account,
    value,
)
from .iac_files import Survey, survey

log = logging.getLogger(__name__)

FRAMEWORKS = ("terraform", "terraform_plan", "cloudformation", "kubernetes")
CACHE_FORMAT = 2  # 2: paths relative to the repository root, module origins
_LOCK = threading.Lock()
_RESULTS = {"PASSED": "passed", "FAILED": "failed", "SKIPPED": "skipped"}


class _QuietCheckov(logging.Filter):
    """Drop checkov's own log records unless posture runs with --debug."""

    def __init__(self, package_dir: str) -> None:
        super().__init__()
        self.package_dir = package_dir

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.pathname.startswith(self.package_dir):
            return True
        return logging.getLogger().getEffectiveLevel() <= logging.DEBUG and (
            record.levelno >= logging.INFO
        )


_imported: dict[str, Any] = {}


def _checkov() -> dict[str, Any]:
    """Import checkov's runners once, undoing what its import does to logging."""
    if _imported:
        return _imported
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    with keeping_streams():  # checkov's import runs colorama.init()
        from checkov.cloudformation.runner import Runner as CfnRunner
        from checkov.common.graph.graph_builder.graph_components.attribute_names import (
            CustomAttributes,
        )
        from checkov.common.models.enums import ParallelizationType
        from checkov.common.parallelizer.parallel_runner import parallel_runner
        from checkov.kubernetes.runner import Runner as K8sRunner
        from checkov.runner_filter import RunnerFilter
        from checkov.terraform.plan_runner import Runner as PlanRunner
        from checkov.terraform.runner import Runner as TfRunner

    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)
    import checkov

    class ModuleAwareTfRunner(TfRunner):
        """checkov's Terraform runner, remembering the module instance behind every record.

        checkov evaluates a module's resources once per instance (per root module and module
        call) but its records do not say which instance, and its final de-duplication keeps one
        record per check, file, lines and resource. We note each record's instance where checkov
        makes it (``run_block`` for resource checks; the graph entity for graph checks).
        """

        def run(self, *args: Any, **kwargs: Any) -> Any:
            self.posture_records: list[tuple[Any, Any]] = []
            self.posture_graph_modules: dict[int, tuple[Any, Any]] = {}
            return super().run(*args, **kwargs)

        def run_block(
            self,
            entities: Any,
            definition_context: Any,
            full_file_path: Any,
            root_folder: Any,
            report: Any,
            *args: Any,
            **kwargs: Any,
        ) -> None:
            lists = (report.failed_checks, report.passed_checks, report.skipped_checks)
            before = [len(records) for records in lists]
            super().run_block(
                entities, definition_context, full_file_path, root_folder, report, *args, **kwargs
            )
            module = getattr(full_file_path, "tf_source_modules", None)
            for records, count in zip(lists, before, strict=True):
                self.posture_records.extend((r, module) for r in records[count:])

        def run_graph_checks_results(self, *args: Any, **kwargs: Any) -> Any:
            results = super().run_graph_checks_results(*args, **kwargs)
            for check_results in results.values():
                for check_result in check_results:
                    entity = check_result.get("entity") or {}
                    config = entity.get(CustomAttributes.CONFIG)
                    if config is not None:  # keep config alive: its id is the key
                        module = entity.get(CustomAttributes.SOURCE_MODULE_OBJECT)
                        self.posture_graph_modules[id(config)] = (config, module)
            return results

        def get_graph_checks_report(self, *args: Any, **kwargs: Any) -> Any:
            report = super().get_graph_checks_report(*args, **kwargs)
            for record in (*report.failed_checks, *report.passed_checks, *report.skipped_checks):
                hit = self.posture_graph_modules.get(id(record.check_result.get("entity")))
                self.posture_records.append((record, hit[1] if hit else None))
            return report

    package_dir = str(Path(checkov.__file__).parent)
    quiet = _QuietCheckov(package_dir)
    root.addFilter(quiet)
    for handler in root.handlers:
        handler.addFilter(quiet)
    logging.getLogger("checkov").setLevel(logging.WARNING)
    # Forking worker processes from a threaded scanner can deadlock; parse in this thread.
    parallel_runner.type = ParallelizationType.NONE
    _imported.update(
        runners={
            "terraform": ModuleAwareTfRunner,
            "terraform_plan": PlanRunner,
            "cloudformation": CfnRunner,
            "kubernetes": K8sRunner,
        },
        RunnerFilter=RunnerFilter,
        quiet=quiet,
    )
    return _imported


def checkov_version() -> str:
    try:
        return version("checkov")
    except PackageNotFoundError:  # pragma: no cover - checkov is a dependency
        return "unknown"


def _posture_version() -> str:
    try:
        return version("storefront-posture")
    except PackageNotFoundError:  # pragma: no cover
        return "unknown"


# --- cache -------------------------------------------------------------------------------------


def cache_dir() -> Path:
    explicit = os.environ.get("POSTURE_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "posture"


def _cache_key(
    found: Survey, frameworks: Iterable[str], limits: Mapping[str, int], repo: Path
) -> str:
    parts = {
        "format": CACHE_FORMAT,
        "posture": _posture_version(),
        "checkov": checkov_version(),
        "root": str(found.root),
        "repo_root": str(repo),
        "frameworks": sorted(frameworks),
        "limits": dict(sorted(limits.items())),
        "files": found.digest,
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def _cache_read(key: str) -> dict[str, Any] | None:
    path = cache_dir() / "iac" / f"{key}.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("key") == key else None


def _cache_write(key: str, facts: IacFacts) -> None:
    folder = cache_dir() / "iac"
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump({"key": key, "facts": facts.to_cache()}, fh, default=str)
        os.replace(tmp, folder / f"{key}.json")
    except OSError as exc:
        log.debug("cannot write the IaC cache: %s", exc)


# --- the collector -------------------------------------------------------------------------------


@collector(name="checkov", target=TargetKind.IAC)
def collect_iac(target: Target, ctx: CollectContext) -> IacFacts:
    root = Path(str(target.options.get("abs_path") or target.name)).resolve()
    if not root.exists():
        raise CollectError(f"{target.name}: no such file or directory")
    limits = {
        "max_file_bytes": int(ctx.policy.get("iac.max_file_bytes", 5 * 1024 * 1024)),
        "max_yaml_nodes": int(ctx.policy.get("iac.max_yaml_nodes", 100_000)),
    }
    mapping = load_mapping(ctx.config)
    found = survey(root, **limits)
    frameworks = _frameworks(found, target.options.get("frameworks"))
    repo = repository_root(root, Path(ctx.base_dir).resolve() if ctx.config is not None else None)
    use_cache = bool(ctx.policy.get("iac.cache", True))
    key = _cache_key(found, frameworks, limits, repo)
    if use_cache:
        cached = _cache_read(key)
        if cached is not None:
            try:
                return IacFacts.load_cached(cached["facts"], mapping)
            except (KeyError, TypeError, ValueError):
                log.debug("ignoring an unreadable IaC cache entry %s", key)
    with _LOCK:
        facts, cacheable = _run(found, frameworks, mapping, repo)
    if use_cache and cacheable:
        _cache_write(key, facts)
    return facts


def repository_root(scanned: Path, config_dir: Path | None) -> Path:
    """The folder every reported path is relative to.

    The folder holding posture.yaml when it holds the scanned path; else the scanned path's git
    repository; else the working directory when it holds the scanned path; else the scanned
    folder itself. Paths are never absolute: a file outside this root (a module loaded from
    ``../shared``) is reported with a note, at the module call that loads it.
    """
    start = scanned if scanned.is_dir() else scanned.parent

    def holds(folder: Path) -> bool:
        return folder == start or folder in start.parents

    if config_dir is not None and holds(config_dir):
        return config_dir
    for folder in (start, *start.parents):
        if (folder / ".git").exists():
            return folder
    cwd = Path.cwd().resolve()
    return cwd if holds(cwd) else start


def _frameworks(found: Survey, wanted: Any) -> list[str]:
    present = []
    if found.has_terraform:
        present.append("terraform")
    if found.plan_files:
        present.append("terraform_plan")
    if found.has_documents:
        present += ["cloudformation", "kubernetes"]
    if wanted:
        unknown = sorted(set(wanted) - set(FRAMEWORKS))
        if unknown:
            raise CollectError(
                f"unknown IaC framework(s) {', '.join(unknown)} (known: {', '.join(FRAMEWORKS)})"
            )
        present = [f for f in present if f in wanted]
    return present


def _run(
    found: Survey,
    frameworks: list[str],
    mapping: Any,
    repo: Path,
    observe: Callable[[str, Any], None] | None = None,
) -> tuple[IacFacts, bool]:
    """Run checkov's runners over the surveyed tree. ``observe(framework, reports)`` sees
    checkov's own reports, as checkov would print them (tests compare within one call)."""
    api = _checkov()
    base = found.root.parent if found.is_file else found.root
    findings: list[CheckovFinding] = []
    resources: list[IacResource] = []
    providers: list[IacProvider] = []
    problems = [
        FileProblem(_rel(str(base / p.path), repo), p.kind, p.message) for p in found.problems
    ]
    cacheable = True
    for framework in frameworks:
        runner = api["runners"][framework]()
        runner_filter = api["RunnerFilter"](
            framework=[framework],
            show_progress_bar=False,
            excluded_paths=[f"^{_escape(p)}$" for p in found.excluded],
            download_external_modules=False,
        )
        if framework == "terraform_plan":
            kwargs: dict[str, Any] = {"root_folder": None, "files": found.plan_files}
        elif found.is_file:
            kwargs = {"root_folder": None, "files": [str(found.root)]}
        else:
            kwargs = {"root_folder": str(found.root)}
        sink = io.StringIO()
        try:
            with contextlib.redirect_stdout(sink):
                reports = runner.run(
                    runner_filter=runner_filter, collect_skip_comments=True, **kwargs
                )
        except Exception as exc:  # noqa: BLE001 - one framework failing leaves the others
            problems.append(
                FileProblem(
                    _rel(str(base), repo), "framework", f"checkov's {framework} scan failed: {exc}"
                )
            )
            continue
        if sink.getvalue():
            log.debug("checkov %s printed: %s", framework, sink.getvalue()[:2000])
        report_list = reports if isinstance(reports, list) else [reports]
        if observe is not None:
            observe(framework, report_list)
        modules = _ModuleNames(runner, repo) if framework == "terraform" else None
        for record, module in _records(runner, report_list):
            origin = modules.origin(module) if modules is not None else None
            findings.append(_finding(record, framework, repo, origin))
        for report in report_list:
            for path in report.parsing_errors:
                problems.append(
                    FileProblem(
                        _rel(path, repo), "parse", f"checkov could not parse it as {framework}"
                    )
                )
        if framework == "terraform":
            assert modules is not None
            outside = _terraform_resources(
                runner.definitions or {}, base, repo, modules, resources, providers
            )
            cacheable = cacheable and not outside
        elif framework == "cloudformation":
            # checkov knows each resource's full line range (logical id to last property);
            # its parsed properties carry only their own lines, the fallback
            ranges = {
                (f.path, f.resource): (f.start_line, f.end_line)
                for f in findings
                if f.framework == framework
            }
            _cfn_resources(runner.definitions or {}, repo, resources, ranges)
    problems = _dedupe_problems(problems)
    facts = IacFacts(
        root=str(found.root),
        repo_root=str(repo),
        frameworks=tuple(frameworks),
        findings=tuple(findings),
        resources=tuple(resources),
        providers=tuple(providers),
        problems=tuple(problems),
        files_scanned=len(found.files),
        checkov_version=checkov_version(),
        mapping=mapping,
    )
    return facts, cacheable


def _escape(path: str) -> str:
    import re

    return re.escape(path)


def _rel(path: str, repo: Path) -> str:
    """``path`` relative to the repository root, '/'-separated; ``../`` when outside it."""
    file = Path(path)
    if not file.is_absolute():
        file = repo / file
    # lexically: a symlink in the tree is named where it is, never where it points
    lexical = os.path.relpath(os.path.normpath(file), os.path.normpath(repo))
    if not lexical.startswith(".."):
        return Path(lexical).as_posix()
    try:  # the same folders under another spelling (a symlinked /tmp, say)
        real = os.path.relpath(os.path.realpath(os.path.dirname(file)), os.path.realpath(repo))
        return Path(os.path.normpath(os.path.join(real, file.name))).as_posix()
    except (OSError, ValueError):
        return Path(lexical).as_posix()


def _records(runner: Any, reports: list[Any]) -> list[tuple[Any, Any]]:
    """checkov's records with the module instance each one was evaluated in.

    checkov's own report keeps one record per check, file, lines, resource and result; a
    module's resource evaluated in several root modules (or module calls) is one record there.
    We keep one per instance: checkov's records are all here, and the instances it merged.
    """
    tagged: list[tuple[Any, Any]] = list(getattr(runner, "posture_records", None) or [])
    out: dict[tuple[str, str, str], tuple[Any, Any]] = {}
    for record, module in tagged:
        key = (record.get_unique_string(), _status(record), _module_key(module))
        out[key] = (record, module)
    seen = {(k[0], k[1]) for k in out}
    for report in reports:
        for record in (*report.failed_checks, *report.passed_checks, *report.skipped_checks):
            key = (record.get_unique_string(), _status(record), "")
            if key[:2] not in seen:  # a record our runner hooks did not see: keep it as is
                out[key] = (record, None)
    return list(out.values())


def _status(record: Any) -> str:
    result = (record.check_result or {}).get("result")
    return str(getattr(result, "name", result))


def _module_key(module: Any) -> str:
    parts = []
    while module is not None:
        parts.append(
            f"{getattr(module, 'path', '')}#{getattr(module, 'name', '')}"
            f"#{getattr(module, 'foreach_idx', '')}"
        )
        module = getattr(module, "nested_tf_module", None)
    return "|".join(parts)


class _ModuleNames:
    """Turns checkov's module objects (innermost call first) into ``ModuleOrigin``s."""

    def __init__(self, runner: Any, repo: Path) -> None:
        self.context = getattr(runner, "context", None) or {}
        self.repo = repo
        self.cache: dict[str, ModuleOrigin | None] = {}

    def origin(self, module: Any) -> ModuleOrigin | None:
        key = _module_key(module)
        if key not in self.cache:
            self.cache[key] = self._origin(module)
        return self.cache[key]

    def _origin(self, module: Any) -> ModuleOrigin | None:
        chain = []
        while module is not None:
            chain.append(module)
            module = getattr(module, "nested_tf_module", None)
        if not chain:
            return None
        chain.reverse()  # outermost (called from the root module) first
        outer = chain[0]
        calls = []
        for m in chain:
            name = str(getattr(m, "name", None) or "?")
            idx = getattr(m, "foreach_idx", None)
            if idx is not None:
                name += f"[{idx}]" if isinstance(idx, int) else f'["{idx}"]'
            calls.append(name)
        caller = str(getattr(outer, "path", ""))
        start = end = None
        for def_key, context in self.context.items():
            if getattr(def_key, "file_path", None) == caller and not getattr(
                def_key, "tf_source_modules", None
            ):
                block = (context.get("module") or {}).get(getattr(outer, "name", None)) or {}
                start, end = block.get("start_line"), block.get("end_line")
                break
        call_path = _rel(caller, self.repo)
        folder = call_path.rpartition("/")[0] or "."
        return ModuleOrigin(
            root=folder,
            calls=tuple(calls),
            call_path=call_path,
            call_start=int(start) if isinstance(start, int) else None,
            call_end=int(end) if isinstance(end, int) else None,
        )


def _dedupe_problems(problems: list[FileProblem]) -> list[FileProblem]:
    seen: dict[str, FileProblem] = {}
    for problem in problems:
        known = seen.get(problem.path)
        if known is None or (known.kind == "parse" and problem.kind != "parse"):
            seen[problem.path] = problem
    # a YAML file that is neither CloudFormation nor Kubernetes is reported by one runner only
    return sorted(seen.values(), key=lambda p: p.path)


def _finding(
    record: Any, framework: str, repo: Path, origin: ModuleOrigin | None
) -> CheckovFinding:
    result = record.check_result or {}
    status = getattr(result.get("result"), "name", str(result.get("result")))
    lines = record.file_line_range or [None, None]
    path = record.file_abs_path or record.file_path
    return CheckovFinding(
        check_id=str(record.check_id),
        title=str(record.check_name),
        result=_RESULTS.get(str(status).upper(), "failed"),
        framework=framework,
        path=_rel(path, repo),
        start_line=int(lines[0]) if lines[0] else None,
        end_line=int(lines[1]) if len(lines) > 1 and lines[1] else None,
        resource=str(record.resource_address or record.resource),
        guideline=record.guideline,
        suppress_comment=result.get("suppress_comment"),
        origin=origin,
    )


def _plain(data: Any) -> Any:
    """checkov's parse as JSON-able data, without its line markers."""
    if isinstance(data, Mapping):
        return {
            str(k): _plain(v)
            for k, v in data.items()
            if not (isinstance(k, str) and k.startswith("__") and k.endswith("__"))
        }
    if isinstance(data, (list, tuple)):
        return [_plain(v) for v in data]
    if isinstance(data, (str, int, float, bool)) or data is None:
        return data
    return str(data)


def _terraform_resources(
    definitions: Mapping[Any, Any],
    base: Path,
    repo: Path,
    modules: _ModuleNames,
    resources: list[IacResource],
    providers: list[IacProvider],
) -> bool:
    """Fill ``resources`` and ``providers``; True when a definition lives outside ``base``."""
    outside = False
    seen: set[tuple[str, tuple[str, tuple[str, ...]] | None]] = set()
    for key, definition in definitions.items():
        file_path = str(getattr(key, "file_path", key))
        rel = _rel(file_path, repo)
        if os.path.relpath(Path(file_path).resolve(), base).startswith(".."):
            outside = True
        origin = modules.origin(getattr(key, "tf_source_modules", None))
        for block in definition.get("resource", []) or []:
            for rtype, named in block.items():
                for name, attrs in named.items():
                    if not isinstance(attrs, Mapping):
                        continue
                    address = str(attrs.get("__address__") or f"{rtype}.{name}")
                    if (address, origin.key if origin else None) in seen:
                        continue
                    seen.add((address, origin.key if origin else None))
                    resources.append(
                        IacResource(
                            framework="terraform",
                            type=rtype,
                            name=str(name),
                            address=address,
                            path=rel,
                            start_line=attrs.get("__start_line__"),
                            end_line=attrs.get("__end_line__"),
                            attributes=_plain(attrs),
                            provider=attrs.get("__provider_address__"),
                            origin=origin,
                        )
                    )
        for block in definition.get("provider", []) or []:
            for pname, attrs in block.items():
                if not isinstance(attrs, Mapping):
                    continue
                address = str(attrs.get("__address__") or f"{pname}.default")
                if any(p.address == address for p in providers):
                    continue
                providers.append(_provider(pname, address, attrs, rel))
    return outside


def _provider(name: str, address: str, attrs: Mapping[str, Any], rel: str) -> IacProvider:
    accounts: list[str] = []
    allowed = attrs.get("allowed_account_ids") or []
    for item in allowed if isinstance(allowed, list) else [allowed]:
        for acct in item if isinstance(item, list) else [item]:
            if isinstance(acct, (str, int)) and str(acct).isdigit():
                accounts.append(str(acct))
    for role in attrs.get("assume_role", []) or []:
        if isinstance(role, Mapping):
            arn = value(role, "role_arn")
            if isinstance(arn, str):
                _, account = arn_region_account(arn)
                if account:
                    accounts.append(account)
    region = value(attrs, "region")
    return IacProvider(
        address=address,
        name=name,
        region=region if isinstance(region, str) and "${" not in region else None,
        account_ids=tuple(dict.fromkeys(accounts)),
        path=rel,
        start_line=attrs.get("__start_line__"),
    )


def _cfn_resources(
    definitions: Mapping[Any, Any],
    repo: Path,
    resources: list[IacResource],
    ranges: Mapping[tuple[str, str], tuple[int | None, int | None]],
) -> None:
    for file_path, template in definitions.items():
        rel = _rel(str(file_path), repo)
        body = template.get("Resources") if isinstance(template, Mapping) else None
        if not isinstance(body, Mapping):
            continue
        for name, resource in body.items():
            if not isinstance(resource, Mapping) or not isinstance(resource.get("Type"), str):
                continue
            start = getattr(getattr(resource, "start_mark", None), "line", None)
            end = getattr(getattr(resource, "end_mark", None), "line", None)
            props = resource.get("Properties") or {}
            if start is None and isinstance(props, Mapping):
                # checkov marks the resource's body from its first key; the id is a line above
                first = props.get("__startline__")
                start = first - 1 if isinstance(first, int) and first > 1 else first
                end = props.get("__endline__")
            else:
                # the value's mark is the line after the logical id; report the id's line
                start = start if start is not None else None
                end = end if end is not None else None
            rtype = str(resource["Type"])
            start, end = ranges.get((rel, f"{rtype}.{name}"), (start, end))
            resources.append(
                IacResource(
                    framework="cloudformation",
                    type=rtype,
                    name=str(name),
                    address=f"{rtype}.{name}",
                    path=rel,
                    start_line=start,
                    end_line=end,
                    attributes=_plain(props) if isinstance(props, Mapping) else {},
                    provider=None,
                )
            )
