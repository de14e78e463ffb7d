"""What an AWS account actually runs, read with read-only calls (boto3, the standard credential chain).

One collector run per ``cloud:`` entry of posture.yaml. Facts are gathered per region and service
with list calls (paginated) wherever AWS has a list form, and per-resource calls only where it
has none (bucket settings, a KMS key's manager and rotation, a DynamoDB table's keys and PITR).
Calls run concurrently within ``cloud.aws.max_concurrent_calls``, with botocore's adaptive retry
mode, so a throttled account is slowed down rather than hammered.

A call that fails (access denied, throttled past its retries, an endpoint that does not answer)
is recorded once, with the service, region and operation; the checks that needed it say they
were not evaluated, never that they passed. Nothing here writes to the account.

The pieces: aws_account.py (session, clients, bounded calls, the record of failures), aws_facts.py
(the records), aws_data_readers.py and aws_access_readers.py (one reader per service).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from posture.errors import CollectError
from posture.model import Target, TargetKind
from posture.plugin import CollectContext, collector

from .aws_access_readers import read_iam, read_security_groups
from .aws_account import Account, CallFailed, session_for
from .aws_data_readers import (
    read_backup,
    read_dynamodb,
    read_ebs,
    read_kms,
    read_rds,
    read_s3,
    table_manager,
    with_manager,
)
from .aws_facts import AwsFacts, KmsKey


@collector(name="aws", target=TargetKind.CLOUD)
def collect_aws(target: Target, ctx: CollectContext) -> AwsFacts:
    entry = dict(target.options)
    regions = tuple(entry.get("regions") or ())
    if not regions:
        raise CollectError("cloud: an aws entry needs at least one region")
    session = session_for(entry, ctx)
    account = Account(session, regions, ctx.policy, ctx.options.timeout)
    try:
        ident = account.call("sts", regions[0], "GetCallerIdentity", "identity")
    except CallFailed:
        err = account.errors[-1]
        raise CollectError(f"AWS credentials not usable ({err.code}): {err.message}") from None
    assert ident is not None
    arn = str(ident.get("Arn", ""))
    partition = arn.split(":")[1] if arn.count(":") >= 2 else "aws"
    account_id = str(ident["Account"])
    # Global sections and every region run side by side; each fans its per-resource calls out
    # to one shared pool, and ``in_flight`` bounds the calls made at once across all of them.
    with (
        ThreadPoolExecutor(max_workers=account.bound, thread_name_prefix="posture-aws") as pool,
        ThreadPoolExecutor(
            max_workers=3 + len(regions), thread_name_prefix="posture-aws-section"
        ) as sections,
    ):
        s3 = sections.submit(read_s3, account, pool, partition, account_id)
        iam = sections.submit(read_iam, account)
        kms = sections.submit(read_kms, account, pool)
        per_region = [
            sections.submit(_regional, account, pool, region, account_id) for region in regions
        ]
        gathered: dict[str, Any] = {
            "s3": s3.result(),
            "iam": iam.result(),
            "kms": kms.result(),
            "regional": [f.result() for f in per_region],
        }
    keys: tuple[KmsKey, ...] = gathered["kms"][0]
    aliases: dict[str, str] = gathered["kms"][1]
    buckets, account_pab = gathered["s3"]
    buckets = tuple(with_manager(b, keys, aliases) for b in buckets)
    regional = gathered["regional"]
    root_mfa, root_keys, users = gathered["iam"]
    return AwsFacts(
        account=str(ident["Account"]),
        partition=partition,
        regions=regions,
        name=target.name,
        buckets=buckets,
        account_public_access_block=account_pab,
        databases=tuple(d for r in regional for d in r["databases"]),
        volumes=tuple(v for r in regional for v in r["volumes"]),
        ebs_default_encryption={
            r["region"]: r["ebs_default"] for r in regional if r["ebs_default"] is not None
        },
        tables=tuple(table_manager(t, keys, aliases) for r in regional for t in r["tables"]),
        kms_keys=keys,
        backup_plans=tuple(p for r in regional for p in r["plans"]),
        vaults=tuple(v for r in regional for v in r["vaults"]),
        root_mfa=root_mfa,
        root_access_keys=root_keys,
        users=users,
        open_ingress=tuple(o for r in regional for o in r["ingress"]),
        errors=tuple(account.errors),
        calls=dict(sorted(account.calls.items())),
    )


# --- Regional services ------------------------------------------------------------------------


def _regional(
    account: Account, pool: ThreadPoolExecutor, region: str, account_id: str
) -> dict[str, Any]:
    out: dict[str, Any] = {"region": region}
    out["databases"] = read_rds(account, region)
    out["volumes"], out["ebs_default"] = read_ebs(account, region, account_id)
    out["tables"] = read_dynamodb(account, pool, region)
    out["plans"], out["vaults"] = read_backup(account, pool, region)
    out["ingress"] = read_security_groups(account, region)
    return out
