"""The AWS checks on facts the emulator cannot produce: a root user with MFA, recovery points of
a given age, a call that failed. (tests/test_aws_cloud.py runs everything else against moto.)"""

from __future__ import annotations

import datetime as dt

from posture.checks import aws
from posture.checks.collectors.aws_facts import ApiError, AwsFacts, BackupPlan, BackupRule, Vault
from posture.model import Status, Target, TargetKind
from posture.plugin import CheckContext
from posture.policy import Policy

NOW = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)
ACCOUNT = "555555555555"


def _ctx() -> CheckContext:
    return CheckContext(Target(TargetKind.CLOUD, "aws"), Policy.load(), None, NOW)


def _facts(**kw: object) -> AwsFacts:
    base: dict[str, object] = {
        "account": ACCOUNT,
        "partition": "aws",
        "regions": ("eu-west-1",),
        "name": "aws",
    }
    base.update(kw)
    return AwsFacts(**base)  # type: ignore[arg-type]


def _vault(newest: dt.datetime | None, points: int) -> Vault:
    return Vault(
        arn=f"arn:aws:backup:eu-west-1:{ACCOUNT}:backup-vault:main",
        name="main",
        region="eu-west-1",
        locked=True,
        recovery_points=points,
        newest_recovery_point=newest,
    )


PLAN = BackupPlan(
    arn=f"arn:aws:backup:eu-west-1:{ACCOUNT}:backup-plan:p",
    name="nightly",
    region="eu-west-1",
    rules=(BackupRule("daily", "main", ()),),
)


def test_root_mfa_on_passes_and_off_fails() -> None:
    on = list(aws.root_mfa(_facts(root_mfa=True), _ctx()))
    off = list(aws.root_mfa(_facts(root_mfa=False), _ctx()))
    assert [o.status for o in on] == [Status.PASS]
    assert [o.status for o in off] == [Status.FAIL]
    assert on[0].resource == f"arn:aws:iam::{ACCOUNT}:root"


def test_recovery_point_age_against_the_policy_limit() -> None:
    fresh = _facts(backup_plans=(PLAN,), vaults=(_vault(NOW - dt.timedelta(hours=20), 3),))
    stale = _facts(backup_plans=(PLAN,), vaults=(_vault(NOW - dt.timedelta(days=5), 3),))
    empty = _facts(backup_plans=(PLAN,), vaults=(_vault(None, 0),))
    assert [o.status for o in aws.backup_recovery_age(fresh, _ctx())] == [Status.PASS]
    (old,) = aws.backup_recovery_age(stale, _ctx())
    assert old.status is Status.FAIL and "120.0 h old (limit 48 h)" in old.message
    (none,) = aws.backup_recovery_age(empty, _ctx())
    assert none.status is Status.FAIL and "no recovery point" in none.message


def test_a_vault_no_plan_writes_to_is_not_judged_for_age() -> None:
    facts = _facts(backup_plans=(), vaults=(_vault(None, 0),))
    assert list(aws.backup_recovery_age(facts, _ctx())) == []


def test_a_failed_call_is_one_error_and_its_checks_are_not_evaluated() -> None:
    denied = ApiError("rds", "eu-west-1", "DescribeDBInstances", "AccessDenied", "no", "rds")
    facts = _facts(errors=(denied, denied))
    errors = list(aws.api_access(facts, _ctx()))
    assert [o.status for o in errors] == [Status.ERROR]
    assert errors[0].evidence["kind"] == "access denied"
    skipped = list(aws.rds_encryption(facts, _ctx()))
    assert [o.status for o in skipped] == [Status.SKIPPED]
    assert "rds:DescribeDBInstances" in skipped[0].message


def test_throttling_codes_are_named_throttled() -> None:
    for code in (
        "Throttling",
        "ThrottlingException",
        "RequestLimitExceeded",
        "TooManyRequestsException",
    ):
        assert ApiError("s3", "eu-west-1", "ListBuckets", code, "", "s3").kind == "throttled"
