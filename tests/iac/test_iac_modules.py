"""IaC built from shared modules: one result per module instance, repository-relative paths.

Two root modules (examples/shop-eu and examples/shop-us) instantiate one local module
(modules/db) whose database is unencrypted in both. Scanning examples/ alone makes checkov give
the module's file as ``/../modules/db/main.tf``, above the scanned folder.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import textwrap
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from sqlalchemy import select

from posture.baseline import Known, apply_baseline, baseline_document
from posture.config import load_config
from posture.engine import ScanRequest, scan
from posture.history import History
from posture.history.schema import findings, results
from posture.model import Result, Severity, Status, Target, TargetKind, fingerprint_of
from posture.render import RenderContext, render
from posture.scanreport import ScanReport

from .conftest import FIXTURES, line_of

TREE = FIXTURES / "modules"
SCHEMAS = Path(__file__).parent.parent / "schemas"
ROOT_SCHEMA = Path(__file__).parent.parent.parent / "policies" / "schemas"
ROOTS = {"examples/shop-eu", "examples/shop-us"}


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("platform") / "repo"
    shutil.copytree(TREE, folder)
    (folder / "posture.yaml").write_text(
        textwrap.dedent("""\
        version: 1
        iac:
          - path: examples
        """)
    )
    return folder


@pytest.fixture(scope="module")
def report(repo: Path) -> ScanReport:
    return scan(ScanRequest(config=load_config(repo / "posture.yaml")))


def _unencrypted(results_: list[Result]) -> list[Result]:
    return sorted(
        (r for r in results_ if r.check_id == "CKV_AWS_16" and r.status is Status.FAIL),
        key=lambda r: r.origin.root if r.origin else "",
    )


def test_two_instances_of_one_module_are_two_results(report: ScanReport) -> None:
    eu, us = _unencrypted(report.results)
    start = line_of(TREE / "modules/db/main.tf", '"aws_db_instance" "this"')
    for result, root in ((eu, "examples/shop-eu"), (us, "examples/shop-us")):
        assert result.location is not None
        assert (result.location.path, result.location.start_line) == ("modules/db/main.tf", start)
        assert result.resource == "module.db.aws_db_instance.this"
        assert result.origin is not None
        assert (result.origin.root, result.origin.calls) == (root, ("db",))
        call = result.origin.call_location
        assert call is not None and call.path == f"{root}/main.tf"
        assert call.start_line == line_of(TREE / root / "main.tf", 'module "db"')
    assert eu.fingerprint != us.fingerprint


def test_no_absolute_or_upward_path_anywhere(report: ScanReport, repo: Path) -> None:
    document = json.dumps([r.to_dict() for r in report.results if r.target_kind is TargetKind.IAC])
    assert str(repo) not in document
    for result in report.results:
        if result.location is not None:
            assert not result.location.path.startswith(("/", "../")), result.location
            assert "//" not in result.location.path


def test_json_carries_both_with_root_modules(report: ScanReport) -> None:
    document = json.loads(render(report, "json", RenderContext()))
    schema = json.loads((ROOT_SCHEMA / "scan-result.schema.json").read_text())
    jsonschema.Draft202012Validator(schema).validate(document)
    found = [
        r for r in document["results"] if r["check_id"] == "CKV_AWS_16" and r["status"] == "fail"
    ]
    assert {r["origin"]["root"] for r in found} == ROOTS
    assert {r["location"]["path"] for r in found} == {"modules/db/main.tf"}
    assert len({r["fingerprint"] for r in found}) == 2


def test_sarif_places_both_at_the_module_with_the_root_module(
    report: ScanReport, repo: Path
) -> None:
    document = json.loads(render(report, "sarif", RenderContext()))
    schema = json.loads((SCHEMAS / "sarif-schema-2.1.0.json").read_text())
    jsonschema.Draft4Validator(schema).validate(document)
    [iac] = [run for run in document["runs"] if run["automationDetails"]["id"] == "posture/iac/"]
    assert str(repo) not in json.dumps(iac["results"])
    found = [r for r in iac["results"] if r["ruleId"] == "CKV_AWS_16"]
    assert len(found) == 2
    roots = set()
    for item in found:
        physical = item["locations"][0]["physicalLocation"]
        assert physical["artifactLocation"] == {
            "uri": "modules/db/main.tf",
            "uriBaseId": "%SRCROOT%",
        }
        [related] = item["relatedLocations"]
        uri = related["physicalLocation"]["artifactLocation"]["uri"]
        assert uri == f"{item['properties']['rootModule']}/main.tf"
        roots.add(item["properties"]["rootModule"])
        kinds = {loc["kind"] for loc in item["locations"][0]["logicalLocations"]}
        assert kinds == {"resource", "module"}
    assert roots == ROOTS
    assert len({r["partialFingerprints"]["postureFingerprint/v1"] for r in found}) == 2


def test_markdown_and_terminal_say_which_root_module(report: ScanReport) -> None:
    for fmt in ("md", "terminal", "junit"):
        text = render(report, fmt, RenderContext(width=400))
        assert "via examples/shop-eu, module db" in text, fmt
        assert "via examples/shop-us, module db" in text, fmt


def test_history_tracks_each_instance(report: ScanReport, tmp_path: Path) -> None:
    history = History.open(str(tmp_path / "history.sqlite"))
    history.record(report)
    eu, us = _unencrypted(report.results)
    with history.transaction() as conn:
        rows = conn.execute(
            select(findings.c.fingerprint, findings.c.last_status).where(
                findings.c.check_id == "CKV_AWS_16"
            )
        ).all()
        stored = conn.execute(
            select(results.c.data).where(results.c.check_id == "CKV_AWS_16")
        ).all()
    assert {fp for fp, status in rows if status == "fail"} == {eu.fingerprint, us.fingerprint}
    data = [row[0] if isinstance(row[0], dict) else json.loads(row[0]) for row in stored]
    failing = [d for d in data if d["status"] == "fail"]
    assert {d["origin"]["root"] for d in failing} == ROOTS
    assert {d["location"]["path"] for d in failing} == {"modules/db/main.tf"}


def test_baseline_matches_the_new_identity_and_the_old_one(report: ScanReport) -> None:
    eu, us = _unencrypted(report.results)
    known = set(baseline_document(report)["findings"])
    assert {eu.fingerprint, us.fingerprint} <= known
    failed = Known(Status.FAIL, Severity.CRITICAL)
    only_eu = apply_baseline(report.results, {eu.fingerprint: failed})
    marks = {r.fingerprint: r.baseline for r in only_eu}
    assert (marks[eu.fingerprint], marks[us.fingerprint]) == ("existing", "new")
    # a baseline written before: target, the path as reported then (under the scanned folder,
    # through checkov's "/.." path made absolute), resource; no origin
    old = [a for a in eu.fingerprint_aliases]
    assert len(old) == 1
    legacy = apply_baseline(report.results, dict.fromkeys(old, failed))
    assert {r.baseline for r in legacy if r.fingerprint in (eu.fingerprint, us.fingerprint)} == {
        "existing"
    }


def test_legacy_fingerprint_is_what_posture_computed_before(report: ScanReport, repo: Path) -> None:
    eu, _ = _unencrypted(report.results)
    module_file = (repo / "modules" / "db" / "main.tf").resolve().as_posix()
    before = fingerprint_of(
        "CKV_AWS_16",
        "examples",
        f"examples/{module_file}",  # examples//tmp/...: the broken path
        eu.resource or "",
        "",
    )
    assert eu.fingerprint_aliases == (before,)


def test_waiver_can_name_one_root_module(repo: Path, tmp_path: Path) -> None:
    config = repo / "posture-waived.yaml"
    expires = (dt.date.today() + dt.timedelta(days=30)).isoformat()
    config.write_text(
        textwrap.dedent(f"""\
        version: 1
        iac:
          - path: examples
        waivers:
          - check: CKV_AWS_16
            resource: module.db.aws_db_instance.this
            root_module: examples/shop-eu
            reason: test data only, destroyed nightly
            approver: platform-team
            expires: {expires}
        """)
    )
    scanned = scan(ScanRequest(config=load_config(config)))
    statuses = {
        r.origin.root: r.status
        for r in scanned.results
        if r.check_id == "CKV_AWS_16" and r.origin and r.status is not Status.PASS
    }
    assert statuses == {"examples/shop-eu": Status.WAIVED, "examples/shop-us": Status.FAIL}


def test_file_outside_the_repository_root_gets_a_note(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shutil.copytree(TREE / "modules", shared / "modules")
    repo = tmp_path / "app"
    shutil.copytree(TREE / "examples", repo / "examples")
    for main in (repo / "examples").glob("*/main.tf"):
        main.write_text(main.read_text().replace("../../modules/", "../../../shared/modules/"))
    (repo / "posture.yaml").write_text("version: 1\niac:\n  - path: examples\n")
    scanned = scan(ScanRequest(config=load_config(repo / "posture.yaml")))
    found = _unencrypted(scanned.results)
    assert {r.origin.root for r in found if r.origin} == ROOTS
    for result in found:
        assert result.origin is not None
        assert result.location == result.origin.call_location  # placed at the module call
        assert "outside the repository root" in result.message
        assert "../shared/modules/db/main.tf" in result.message
    document = json.dumps([r.to_dict() for r in scanned.results if r.target_kind is TargetKind.IAC])
    assert str(tmp_path) not in document


# --- every result on a module tree is distinct; posture carries exactly checkov's results ------


def _checkov_key(check_id: str, path: str, resource: str, result: str) -> tuple[str, ...]:
    return (check_id, path, resource, result)


def test_every_result_distinct_and_exactly_checkovs(tmp_path: Path) -> None:
    from posture.checks.collectors.checkov_mapping import builtin_mapping
    from posture.checks.collectors.checkov_scan import _run, repository_root
    from posture.checks.collectors.iac_files import survey
    from posture.checks.iac import checkov_findings
    from posture.plugin import CheckContext
    from posture.policy import Policy

    tree = tmp_path / "platform"
    shutil.copytree(TREE, tree)
    found = survey(tree.resolve(), max_file_bytes=5 * 1024 * 1024, max_yaml_nodes=100_000)
    seen: dict[str, list[Any]] = {}
    facts, _ = _run(
        found,
        ["terraform"],
        builtin_mapping(),
        repository_root(tree.resolve(), tree.resolve()),
        observe=lambda framework, reports: seen.setdefault(framework, reports),
    )
    ctx = CheckContext(
        Target(TargetKind.IAC, "platform"), Policy.load(), None, dt.datetime.now(dt.UTC)
    )
    outcomes = list(checkov_findings(facts, ctx))
    from posture.registry import load_registry
    from posture.runner import result_from

    spec = load_registry([]).checks["IAC-CHECKOV"]
    posture_results = [result_from(spec, ctx.target, o) for o in outcomes]

    # distinct identities: no two results share a fingerprint
    fingerprints = [r.fingerprint for r in posture_results]
    assert len(fingerprints) == len(set(fingerprints))
    # module instances are told apart: the same module resource in two root modules
    roots = {r.origin.root for r in posture_results if r.origin is not None}
    assert roots == ROOTS

    # exactly checkov's results, from the same checkov call
    status = {"PASSED": "pass", "FAILED": "fail", "SKIPPED": "waived"}
    checkov_keys = set()
    checkov_count = 0
    for report in seen["terraform"]:
        for record in (*report.failed_checks, *report.passed_checks, *report.skipped_checks):
            checkov_count += 1
            path = Path(record.file_abs_path).resolve().relative_to(tree.resolve()).as_posix()
            resource = str(record.resource_address or record.resource)
            checkov_keys.add(
                _checkov_key(
                    record.check_id, path, resource, status[record.check_result["result"].name]
                )
            )
    posture_keys = {
        _checkov_key(
            r.check_id, r.location.path if r.location else "", r.resource or "", r.status.value
        )
        for r in posture_results
    }
    assert posture_keys == checkov_keys
    # checkov's report merges a module's instances (one record per check, file, lines and
    # resource); posture keeps one per root module and module call, so never fewer
    assert len(posture_results) >= checkov_count
    merged = {
        (r.check_id, r.location, r.resource, r.status) for r in posture_results
    }  # what checkov's own de-duplication keeps
    assert len(merged) == checkov_count


def test_module_origins_survive_the_cache(tmp_path: Path, iac_cache: Path) -> None:
    tree = tmp_path / "whole"
    shutil.copytree(TREE, tree)
    (tree / "posture.yaml").write_text("version: 1\niac:\n  - path: .\n")
    before = set((iac_cache / "iac").glob("*.json"))
    first = scan(ScanRequest(config=load_config(tree / "posture.yaml"))).results
    cached = set((iac_cache / "iac").glob("*.json")) - before
    second = scan(ScanRequest(config=load_config(tree / "posture.yaml"))).results

    def ids(results: list[Result]) -> list[tuple[str, object]]:
        return sorted((r.fingerprint, r.origin) for r in results if r.target_kind is TargetKind.IAC)

    assert cached, "the whole tree stays inside its root: it is cached"
    assert ids(first) == ids(second)
    assert {r.origin.root for r in second if r.origin is not None} == ROOTS
