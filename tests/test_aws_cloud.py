"""Observed AWS evidence, against moto in server mode on loopback (no real account is reachable).

Two accounts built through the emulator's API: a careless one, where every rule finds something,
and a well-run one, where they pass. posture reaches each with ``role_arn`` (sts:AssumeRole), as
it would a customer's account, and runs as the CLI in its own process.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("boto3")
pytest.importorskip("moto")

from .testbed.aws import (  # noqa: E402
    CARELESS,
    REGIONS,
    WELL_RUN,
    Moto,
    build_careless,
    build_well_run,
    fault_proxy,
    role,
    start_moto,
)

ROOT = Path(__file__).resolve().parent.parent
POLICY = ROOT / "docs" / "aws-iam-policy.json"
RULES = {
    "AWS-S3-ENCRYPTION",
    "AWS-RDS-ENCRYPTION",
    "AWS-EBS-DEFAULT-ENCRYPTION",
    "AWS-EBS-UNENCRYPTED",
    "AWS-DYNAMODB-CMK",
    "AWS-KMS-ROTATION",
    "AWS-BACKUP-COPY-REGION",
    "AWS-BACKUP-COPY-ACCOUNT",
    "AWS-BACKUP-VAULT-LOCK",
    "AWS-RDS-BACKUP-RETENTION",
    "AWS-RDS-CROSS-REGION-BACKUP",
    "AWS-S3-REPLICATION",
    "AWS-DYNAMODB-PITR",
    "AWS-IAM-USER-MFA",
    "AWS-ACCESS-KEY-AGE",
    "AWS-SG-OPEN-ADMIN-PORTS",
    "AWS-RDS-PUBLIC",
    "AWS-S3-PUBLIC",
    "AWS-ROOT-MFA",
    "AWS-BACKUP-RECOVERY-AGE",
}
# What the emulator cannot show done right: root MFA (moto has no root MFA device) and recovery
# points (moto runs no backup jobs). Their passing side is tested on constructed facts below.
NOT_EMULATED_PASS = {"AWS-ROOT-MFA", "AWS-BACKUP-RECOVERY-AGE"}


@pytest.fixture(scope="module")
def moto() -> Iterator[Moto]:
    server = start_moto()
    try:
        build_careless(server)
        build_well_run(server)
        yield server
    finally:
        server.stop()


def _config(tmp: Path, account: str, extra: str = "") -> Path:
    path = tmp / f"posture-{account}.yaml"
    path.write_text(
        "version: 1\n"
        "cloud:\n"
        f"  - provider: aws\n    name: account {account}\n    role_arn: {role(account)}\n"
        f"    regions: [{', '.join(REGIONS)}]\n" + extra
    )
    return path


def _run_scan(
    config: Path, out: Path, env: dict[str, str], *more: str
) -> subprocess.CompletedProcess[str]:
    """``posture scan -c config`` to JSON in ``out``, in a subprocess with ``env``."""
    return subprocess.run(
        [sys.executable, "-m", "posture", "scan", "-c", str(config), "--no-record"]
        + ["--format", "json", "--output", str(out), *more],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        check=False,
    )


def _scan(moto: Moto, config: Path, out: Path, endpoint: str | None = None, *more: str) -> dict:
    proc = _run_scan(config, out, moto.env(endpoint), "--timeout", "10", *more)
    assert proc.returncode in (0, 1, 3), proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    return json.loads(out.read_text())


def _by_check(report: dict) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for r in report["results"]:
        out.setdefault(r["check_id"], []).append(r)
    return out


@pytest.fixture(scope="module")
def careless(moto: Moto, tmp_path_factory: pytest.TempPathFactory) -> dict:
    tmp = tmp_path_factory.mktemp("careless")
    # Keys made a moment ago are 0 days old; a limit of -1 days makes any key "older than policy".
    extra = "policy:\n  overrides:\n    cloud:\n      aws:\n        max_access_key_age_days: -1\n"
    return _scan(moto, _config(tmp, CARELESS, extra), tmp / "r.json")


@pytest.fixture(scope="module")
def well_run(moto: Moto, tmp_path_factory: pytest.TempPathFactory) -> dict:
    tmp = tmp_path_factory.mktemp("wellrun")
    return _scan(moto, _config(tmp, WELL_RUN), tmp / "r.json")


@pytest.mark.slow
def test_every_rule_fails_on_the_careless_account(careless: dict) -> None:
    checks = _by_check(careless)
    for rule in sorted(RULES):
        statuses = {r["status"] for r in checks.get(rule, [])}
        assert "fail" in statuses, (rule, checks.get(rule))
    errors = [r for r in careless["results"] if r["status"] == "error"]
    assert not errors, errors
    # Each result names the account, region and ARN, as observed evidence.
    s3 = checks["AWS-S3-PUBLIC"][0]
    assert s3["evidence_source"] == "observed"
    assert s3["evidence"]["account"] == CARELESS
    assert s3["resource"] == "arn:aws:s3:::careless-customer-exports" or s3["resource"].startswith(
        "arn:aws:s3:::careless-"
    )
    sg = [r for r in checks["AWS-SG-OPEN-ADMIN-PORTS"] if r["status"] == "fail"]
    assert {r["evidence"]["port"] for r in sg} == {22, 5432}
    assert {r["severity"] for r in sg} == {"high", "critical"}
    rds = checks["AWS-RDS-ENCRYPTION"][0]
    assert rds["resource"] == f"arn:aws:rds:{REGIONS[0]}:{CARELESS}:db:orders"
    assert rds["evidence"]["region"] == REGIONS[0]


@pytest.mark.slow
def test_every_rule_passes_on_the_well_run_account(well_run: dict) -> None:
    checks = _by_check(well_run)
    for rule in sorted(RULES - NOT_EMULATED_PASS):
        statuses = {r["status"] for r in checks.get(rule, [])}
        assert statuses == {"pass"}, (rule, checks.get(rule))
    assert not [r for r in well_run["results"] if r["status"] == "error"]


@pytest.mark.slow
def test_throttling_and_access_denied_are_one_error_each(moto: Moto, tmp_path: Path) -> None:
    extra = "policy:\n  overrides:\n    cloud:\n      aws:\n        max_attempts: 2\n"
    config = _config(tmp_path, WELL_RUN, extra)
    with fault_proxy(moto, throttle_action="DescribeDBClusters", deny_s3_list=True) as endpoint:
        report = _scan(moto, config, tmp_path / "r.json", endpoint)
    errors = [r for r in report["results"] if r["status"] == "error"]
    kinds = sorted((r["evidence"]["call"], r["evidence"]["kind"]) for r in errors)
    assert ("rds:DescribeDBClusters", "throttled") in kinds
    assert ("s3:ListBuckets", "access denied") in kinds
    # one error per failed call: the throttled call in each region, the denied one once
    assert len(errors) == len(REGIONS) + 1, kinds
    checks = _by_check(report)
    # what the failures blocked is not evaluated, never passed ...
    assert {r["status"] for r in checks["AWS-RDS-ENCRYPTION"]} == {"skipped"}
    assert {r["status"] for r in checks["AWS-S3-PUBLIC"]} == {"skipped"}
    # ... and the rest of the scan completed
    assert {r["status"] for r in checks["AWS-DYNAMODB-PITR"]} == {"pass"}
    assert {r["status"] for r in checks["AWS-BACKUP-VAULT-LOCK"]} == {"pass"}


@pytest.mark.slow
def test_declared_cross_region_backup_the_account_lacks(moto: Moto, tmp_path: Path) -> None:
    arn = f"arn:aws:rds:{REGIONS[0]}:{CARELESS}:db:orders"
    extra = (
        "controls:\n  data_stores:\n    - name: orders-db\n      kind: postgres\n"
        f"      location: {{provider: aws, account: '{CARELESS}', region: {REGIONS[0]}}}\n"
        "      personal_data: [contact, orders]\n"
        "      encryption: {enabled: true, key_management: kms}\n"
        f"      backup: {{location: {{provider: aws, account: '{CARELESS}', region: {REGIONS[1]}}},"
        " cross_region_declared: true}\n"
        f"      cloud_resources: ['{arn}']\n"
    )
    report = _scan(moto, _config(tmp_path, CARELESS, extra), tmp_path / "r.json")
    checks = _by_check(report)
    backup = [r for r in checks["BACKUP-DECLARED-VS-IAC"] if r["status"] == "fail"]
    assert backup, checks.get("BACKUP-DECLARED-VS-IAC")
    assert backup[0]["evidence"]["running"] == "AWS-RDS-CROSS-REGION-BACKUP fails"
    enc = [r for r in checks["ENC-DECLARED-VS-IAC"] if r["status"] == "fail"]
    assert enc and enc[0]["evidence"]["running"] == "AWS-RDS-ENCRYPTION fails"


def _policy_actions() -> set[str]:
    doc = json.loads(POLICY.read_text())
    actions: set[str] = set()
    for statement in doc["Statement"]:
        assert statement["Effect"] == "Allow"
        assert statement["Resource"] == "*"
        actions.update(statement["Action"])
    return actions


def test_the_iam_policy_is_read_only() -> None:
    for action in _policy_actions():
        verb = action.split(":", 1)[1]
        assert verb.startswith(("Get", "List", "Describe")) or verb in (
            "GenerateCredentialReport",
        ), action


def _actions_in_source() -> set[str]:
    """Every (service, operation) literal the collector passes to call()/pages()."""
    from posture.checks.collectors.aws_account import iam_action

    found = set()
    readers = sorted((ROOT / "checks" / "collectors").glob("aws_*.py"))
    assert len(readers) >= 4
    nodes = [n for path in readers for n in ast.walk(ast.parse(path.read_text()))]
    for node in nodes:
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("call", "pages")
            and len(node.args) >= 3
            and all(isinstance(a, ast.Constant) for a in (node.args[0], node.args[2]))
        ):
            found.add(iam_action(node.args[0].value, node.args[2].value))
    return found


def test_the_iam_policy_covers_every_call_the_collector_can_make() -> None:
    source = _actions_in_source()
    assert len(source) > 20
    assert source <= _policy_actions(), source - _policy_actions()


@pytest.mark.slow
def test_the_iam_policy_covers_every_call_made_against_the_emulator(
    careless: dict, well_run: dict
) -> None:
    made: set[str] = set()
    for report in (careless, well_run):
        for r in _by_check(report)["AWS-INVENTORY"]:
            made.update(r["evidence"]["calls"])
    assert made, "the scans recorded no calls"
    assert made <= _policy_actions(), made - _policy_actions()
    assert "sts:GetCallerIdentity" in made


def test_no_boto3_means_one_line_saying_what_to_install(tmp_path: Path) -> None:
    config = _config(tmp_path, CARELESS)
    blocker = tmp_path / "blocker"
    blocker.mkdir()
    (blocker / "boto3.py").write_text("raise ImportError('boto3 is not installed here')\n")
    env = {"PYTHONPATH": str(blocker), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    proc = _run_scan(config, tmp_path / "r.json", env)
    assert "Traceback" not in proc.stderr
    report = json.loads((tmp_path / "r.json").read_text())
    errors = [r for r in report["results"] if r["status"] == "error"]
    assert errors and all("storefront-posture[aws]" in r["message"] for r in errors)


def test_no_cloud_section_means_no_aws_call(tmp_path: Path) -> None:
    config = tmp_path / "posture.yaml"
    config.write_text("version: 1\niac:\n  - path: .\n")
    (tmp_path / "main.tf").write_text('resource "aws_s3_bucket" "b" { bucket = "x" }\n')
    code = (
        "import sys, botocore.client\n"
        "def boom(*a, **k): raise SystemExit('an AWS call was made')\n"
        "botocore.client.BaseClient._make_api_call = boom\n"
        "from posture.cli import main\n"
        f"sys.exit(main(['scan', '-c', {str(config)!r}, '--no-record', '--format', 'json', "
        f"'--output', {str(tmp_path / 'r.json')!r}]))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=False
    )
    assert "an AWS call was made" not in proc.stderr + proc.stdout
    assert proc.returncode in (0, 1), proc.stderr
