"""What an AWS account actually runs, read with read-only calls (boto3, the standard credential chain).

One collector run per ``cloud:`` entry of posture.yaml. Facts are gathered per region and service
with list calls (paginated) wherever AWS has a list form, and per-resource calls only where it
has none (bucket settings, a KMS key's manager and rotation, a DynamoDB table's keys and PITR).
Calls run concurrently within ``cloud.aws.max_concurrent_calls``, with botocore's adaptive retry
mode, so a throttled account is slowed down rather than hammered.

A call that fails (access denied, throttled past its retries, an endpoint that does not answer)
is recorded once, with the service, region and operation; the checks that needed it say they
were not evaluated, never that they passed. Nothing here writes to the account.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from posture.errors import CollectError
from posture.model import Target, TargetKind
from posture.plugin import CollectContext, collector

INSTALL_HINT = "pip install 'storefront-posture[aws]'"

# The IAM action behind each API operation posture calls, where the two names differ.
# docs/aws-iam-policy.json must allow every action this module can call (tests/test_aws_cloud.py).
IAM_ACTIONS: dict[tuple[str, str], str] = {
    ("s3", "ListBuckets"): "s3:ListAllMyBuckets",
    ("s3", "GetBucketEncryption"): "s3:GetEncryptionConfiguration",
    ("s3", "GetPublicAccessBlock"): "s3:GetBucketPublicAccessBlock",
    ("s3", "GetBucketReplication"): "s3:GetReplicationConfiguration",
    ("s3control", "GetPublicAccessBlock"): "s3:GetAccountPublicAccessBlock",
    ("ec2", "GetEbsEncryptionByDefault"): "ec2:GetEbsEncryptionByDefault",
}


def iam_action(service: str, operation: str) -> str:
    """``s3:GetEncryptionConfiguration`` for (s3, GetBucketEncryption), else ``service:Operation``."""
    known = IAM_ACTIONS.get((service, operation))
    if known:
        return known
    prefix = {"s3control": "s3"}.get(service, service)
    return f"{prefix}:{operation}"


@dataclass(frozen=True)
class ApiError:
    """One failed call: it blocks the facts ``blocks`` names in ``region``."""

    service: str
    region: str
    operation: str
    code: str
    message: str
    blocks: str  # the facts family it blocked: s3, rds, ebs, dynamodb, kms, backup, iam, ec2

    @property
    def kind(self) -> str:
        code = self.code.lower()
        if "throttl" in code or code in ("requestlimitexceeded", "toomanyrequestsexception"):
            return "throttled"
        if "accessdenied" in code or code in ("unauthorizedoperation", "authfailure"):
            return "access denied"
        return "failed"


@dataclass(frozen=True)
class Bucket:
    name: str
    arn: str
    region: str | None
    encryption: str | None  # AES256, aws:kms, aws:kms:dsse, or None (no default encryption)
    kms_key: str | None
    key_manager: str | None  # CUSTOMER, AWS, or None when unknown / not KMS
    public_access_block: dict[str, bool] | None  # the bucket's own block, None if not set
    is_public: bool | None  # policy or ACL makes it public; None when not read
    replication: tuple[tuple[str, str | None, str | None], ...]  # (dest bucket, account, region)


@dataclass(frozen=True)
class Database:
    arn: str
    identifier: str
    region: str
    engine: str
    kind: str  # instance or cluster
    encrypted: bool
    kms_key: str | None
    publicly_accessible: bool
    backup_retention: int
    cluster: str | None  # instances in a cluster are judged through their cluster
    replica_of: str | None  # a read replica's source
    backup_replication_regions: tuple[str, ...]
    replica_regions: tuple[str, ...]


@dataclass(frozen=True)
class Volume:
    id: str
    arn: str
    region: str
    kind: str  # volume or snapshot
    encrypted: bool


@dataclass(frozen=True)
class Table:
    name: str
    arn: str
    region: str
    sse: str  # AWS_OWNED, KMS
    kms_key: str | None
    key_manager: str | None
    pitr: bool | None


@dataclass(frozen=True)
class KmsKey:
    arn: str
    region: str
    manager: str
    spec: str
    state: str
    rotation: bool | None


@dataclass(frozen=True)
class BackupRule:
    name: str
    vault: str
    copy_to: tuple[str, ...]  # destination vault ARNs


@dataclass(frozen=True)
class BackupPlan:
    arn: str
    name: str
    region: str
    rules: tuple[BackupRule, ...]


@dataclass(frozen=True)
class Vault:
    arn: str
    name: str
    region: str
    locked: bool
    recovery_points: int
    newest_recovery_point: dt.datetime | None


@dataclass(frozen=True)
class IamUser:
    name: str
    arn: str
    console: bool
    mfa: bool
    keys: tuple[tuple[str, dt.datetime | None], ...]  # (key slot, last rotated) of active keys


@dataclass(frozen=True)
class OpenIngress:
    group_id: str
    arn: str
    region: str
    group_name: str
    port_from: int
    port_to: int
    protocol: str
    cidr: str


@dataclass(frozen=True)
class AwsFacts:
    account: str
    partition: str
    regions: tuple[str, ...]
    name: str
    buckets: tuple[Bucket, ...] = ()
    account_public_access_block: dict[str, bool] | None = None
    databases: tuple[Database, ...] = ()
    volumes: tuple[Volume, ...] = ()
    ebs_default_encryption: dict[str, bool] = field(default_factory=dict)
    tables: tuple[Table, ...] = ()
    kms_keys: tuple[KmsKey, ...] = ()
    backup_plans: tuple[BackupPlan, ...] = ()
    vaults: tuple[Vault, ...] = ()
    root_mfa: bool | None = None
    root_access_keys: bool | None = None
    users: tuple[IamUser, ...] | None = None
    open_ingress: tuple[OpenIngress, ...] = ()
    errors: tuple[ApiError, ...] = ()
    calls: dict[str, int] = field(default_factory=dict)  # IAM action -> calls made

    def blocked(self, family: str, region: str | None = None) -> list[ApiError]:
        """The failed calls that kept ``family`` facts (in ``region``, or anywhere) from us."""
        return [
            e
            for e in self.errors
            if e.blocks == family and (region is None or e.region in (region, "global"))
        ]


class _CallFailed(Exception):
    pass


class _Account:
    """Clients per (service, region), a bounded pool, and the record of calls and failures."""

    def __init__(self, session: Any, regions: tuple[str, ...], policy: Any, timeout: float):
        from botocore.config import Config as BotoConfig

        self.session = session
        self.regions = regions
        self.bound = max(1, int(policy.get("cloud.aws.max_concurrent_calls", 8)))
        self.config = BotoConfig(
            retries={
                "mode": "adaptive",
                "max_attempts": int(policy.get("cloud.aws.max_attempts", 5)),
            },
            connect_timeout=timeout,
            read_timeout=timeout,
            max_pool_connections=self.bound,
            inject_host_prefix=False,
        )
        self._clients: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()
        self.errors: list[ApiError] = []
        self.calls: dict[str, int] = {}
        self.deadline = time.monotonic() + float(policy.get("cloud.aws.deadline_seconds", 900))
        self.in_flight = threading.BoundedSemaphore(
            self.bound
        )  # calls at once, whatever the threads

    def client(self, service: str, region: str) -> Any:
        with self._lock:
            key = (service, region)
            if key not in self._clients:
                client = self.session.client(service, region_name=region, config=self.config)
                if service == "s3control" and not _is_aws_host(client.meta.endpoint_url):
                    # S3 Control puts the account id in the host name (123456789012.s3-control...);
                    # an emulator or S3-compatible endpoint given by AWS_ENDPOINT_URL answers on
                    # its own host only.
                    client.meta.events.register("before-send.s3-control.*", _drop_account_host)
                self._clients[key] = client
            return self._clients[key]

    def _count(self, service: str, operation: str) -> None:
        action = iam_action(service, operation)
        with self._lock:
            self.calls[action] = self.calls.get(action, 0) + 1

    def call(
        self,
        service: str,
        region: str,
        operation: str,
        blocks: str,
        *,
        absent: tuple[str, ...] = (),
        **params: Any,
    ) -> dict[str, Any] | None:
        """One API call. ``None`` when AWS answers with one of the ``absent`` codes (the setting
        does not exist); raises ``_CallFailed`` after recording any other failure."""
        from botocore.exceptions import BotoCoreError, ClientError

        if time.monotonic() > self.deadline:
            self._fail(
                service,
                region,
                operation,
                "DeadlineExceeded",
                "collection deadline reached",
                blocks,
            )
        client = self.client(service, region)
        method = getattr(client, _snake(operation))
        self._count(service, operation)
        try:
            with self.in_flight:
                return method(**params)  # type: ignore[no-any-return]
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", "Unknown"))
            if code in absent:
                return None
            message = str(exc.response.get("Error", {}).get("Message", "")) or str(exc)
            self._fail(service, region, operation, code, message, blocks)
        except BotoCoreError as exc:
            self._fail(service, region, operation, exc.__class__.__name__, str(exc), blocks)
        return None  # unreachable: _fail raises

    def pages(
        self, service: str, region: str, operation: str, key: str, blocks: str, **params: Any
    ) -> list[Any]:
        """Every item under ``key`` across the pages of a list call."""
        from botocore.exceptions import BotoCoreError, ClientError

        client = self.client(service, region)
        items: list[Any] = []
        try:
            paginator = client.get_paginator(_snake(operation))
            pages = iter(paginator.paginate(**params))
            while True:
                with self.in_flight:
                    page = next(pages, None)
                if page is None:
                    break
                self._count(service, operation)
                items.extend(page.get(key, []))
                if time.monotonic() > self.deadline:
                    self._fail(
                        service,
                        region,
                        operation,
                        "DeadlineExceeded",
                        "collection deadline reached",
                        blocks,
                    )
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", "Unknown"))
            message = str(exc.response.get("Error", {}).get("Message", "")) or str(exc)
            self._fail(service, region, operation, code, message, blocks)
        except BotoCoreError as exc:
            self._fail(service, region, operation, exc.__class__.__name__, str(exc), blocks)
        return items

    def _fail(
        self, service: str, region: str, operation: str, code: str, message: str, blocks: str
    ) -> None:
        with self._lock:
            self.errors.append(
                ApiError(service, region, operation, code, _one_line(message)[:300], blocks)
            )
        raise _CallFailed(f"{service}:{operation} in {region}: {code}")


def _is_aws_host(url: str) -> bool:
    from urllib.parse import urlsplit

    host = urlsplit(url).hostname or ""
    return host.endswith((".amazonaws.com", ".amazonaws.com.cn", ".api.aws"))


def _drop_account_host(request: Any, **_: Any) -> None:
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(request.url)
    host, _, rest = parts.netloc.partition(".")
    if host.isdigit() and len(host) == 12 and rest:
        request.url = urlunsplit(parts._replace(netloc=rest))


def _snake(operation: str) -> str:
    from botocore import xform_name

    return str(xform_name(operation))


def _one_line(text: str) -> str:
    return " ".join("".join(c if c.isprintable() else " " for c in text).split())


def _fan_out(pool: ThreadPoolExecutor, fn: Callable[[Any], Any], items: Iterable[Any]) -> list[Any]:
    """Run ``fn`` over ``items`` in the pool; items whose call failed are dropped (recorded)."""
    futures: list[Future[Any]] = [pool.submit(fn, item) for item in items]
    out = []
    for future in futures:
        try:
            out.append(future.result())
        except _CallFailed:
            continue
    return out


def _session(entry: dict[str, Any], ctx: CollectContext) -> Any:
    try:
        import boto3
    except ImportError:
        raise CollectError(f"AWS evidence needs boto3: {INSTALL_HINT}") from None
    session = boto3.session.Session(profile_name=entry.get("profile"))
    role = entry.get("role_arn")
    if role:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            sts = session.client("sts", region_name=entry["regions"][0])
            creds = sts.assume_role(RoleArn=role, RoleSessionName="posture-readonly")["Credentials"]
        except (ClientError, BotoCoreError) as exc:
            raise CollectError(f"cannot assume {role}: {_one_line(str(exc))}") from None
        session = boto3.session.Session(
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
        )
    return session


@collector(name="aws", target=TargetKind.CLOUD)
def collect_aws(target: Target, ctx: CollectContext) -> AwsFacts:
    entry = dict(target.options)
    regions = tuple(entry.get("regions") or ())
    if not regions:
        raise CollectError("cloud: an aws entry needs at least one region")
    session = _session(entry, ctx)
    account = _Account(session, regions, ctx.policy, ctx.options.timeout)
    try:
        ident = account.call("sts", regions[0], "GetCallerIdentity", "identity")
    except _CallFailed:
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
        s3 = sections.submit(_s3, account, pool, partition, account_id)
        iam = sections.submit(_iam, account)
        kms = sections.submit(_kms, account, pool)
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
    buckets = tuple(_with_manager(b, keys, aliases) for b in buckets)
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
        tables=tuple(_table_manager(t, keys, aliases) for r in regional for t in r["tables"]),
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


# --- S3 (global list, per-bucket settings) ------------------------------------------------


def _s3(
    account: _Account, pool: ThreadPoolExecutor, partition: str, account_id: str
) -> tuple[list[Bucket], dict[str, bool] | None]:
    home = account.regions[0]
    try:
        # paginated with a page size, ListBuckets names each bucket's region (BucketRegion),
        # which saves a GetBucketLocation call per bucket
        listing = account.pages(
            "s3", home, "ListBuckets", "Buckets", "s3", PaginationConfig={"PageSize": 1000}
        )
    except _CallFailed:
        return [], None
    account_pab: dict[str, bool] | None = None
    try:
        answer = account.call(
            "s3control",
            home,
            "GetPublicAccessBlock",
            "s3",
            absent=("NoSuchPublicAccessBlockConfiguration",),
            AccountId=account_id,
        )
        if answer is not None:
            account_pab = dict(answer.get("PublicAccessBlockConfiguration", {}))
    except _CallFailed:
        account_pab = None
    fully_blocked = bool(account_pab) and all(account_pab.values())  # type: ignore[union-attr]

    def one(item: dict[str, Any]) -> Bucket:
        name = str(item["Name"])
        region = item.get("BucketRegion")
        if not region:
            loc = account.call("s3", home, "GetBucketLocation", "s3", Bucket=name) or {}
            region = loc.get("LocationConstraint") or "us-east-1"
        enc = account.call(
            "s3",
            home,
            "GetBucketEncryption",
            "s3",
            absent=("ServerSideEncryptionConfigurationNotFoundError",),
            Bucket=name,
        )
        algorithm, key = None, None
        if enc is not None:
            rules = enc.get("ServerSideEncryptionConfiguration", {}).get("Rules", [])
            default = rules[0].get("ApplyServerSideEncryptionByDefault", {}) if rules else {}
            algorithm = default.get("SSEAlgorithm")
            key = default.get("KMSMasterKeyID")
        pab_answer = account.call(
            "s3",
            home,
            "GetPublicAccessBlock",
            "s3",
            absent=("NoSuchPublicAccessBlockConfiguration",),
            Bucket=name,
        )
        pab = dict(pab_answer["PublicAccessBlockConfiguration"]) if pab_answer else None
        is_public: bool | None = None
        if not fully_blocked and not (pab and all(pab.values())):
            status = account.call(
                "s3",
                home,
                "GetBucketPolicyStatus",
                "s3",
                absent=("NoSuchBucketPolicy",),
                Bucket=name,
            )
            is_public = bool(status and status.get("PolicyStatus", {}).get("IsPublic"))
            acl = account.call("s3", home, "GetBucketAcl", "s3", Bucket=name) or {}
            for grant in acl.get("Grants", []):
                uri = str(grant.get("Grantee", {}).get("URI", ""))
                if uri.endswith("/global/AllUsers") or uri.endswith("/global/AuthenticatedUsers"):
                    is_public = True
        repl = account.call(
            "s3",
            home,
            "GetBucketReplication",
            "s3",
            absent=("ReplicationConfigurationNotFoundError",),
            Bucket=name,
        )
        destinations: list[tuple[str, str | None, str | None]] = []
        for rule in (repl or {}).get("ReplicationConfiguration", {}).get("Rules", []):
            if rule.get("Status") != "Enabled":
                continue
            dest = rule.get("Destination", {})
            destinations.append((str(dest.get("Bucket", "")), dest.get("Account"), None))
        return Bucket(
            name=name,
            arn=f"arn:{partition}:s3:::{name}",
            region=str(region),
            encryption=algorithm,
            kms_key=key,
            key_manager=None,
            public_access_block=pab,
            is_public=is_public,
            replication=tuple(destinations),
        )

    buckets = _fan_out(pool, one, listing)
    regions = {b.name: b.region for b in buckets}
    resolved = []
    for b in buckets:  # the destination's region, when the destination is ours
        dests = tuple((d, a, regions.get(d.rsplit(":", 1)[-1])) for d, a, _ in b.replication)
        resolved.append(dataclasses.replace(b, replication=dests))
    return resolved, account_pab


# --- KMS -------------------------------------------------------------------------------------


def _kms(account: _Account, pool: ThreadPoolExecutor) -> tuple[tuple[KmsKey, ...], dict[str, str]]:
    keys: list[KmsKey] = []
    aliases: dict[str, str] = {}  # alias name and alias ARN -> key ARN
    for region in account.regions:
        aws_managed: set[str] = set()  # keys behind alias/aws/*: AWS's own, whatever they report
        try:
            listed = account.pages("kms", region, "ListKeys", "Keys", "kms")
            for alias in account.pages("kms", region, "ListAliases", "Aliases", "kms"):
                target = alias.get("TargetKeyId")
                if target:
                    key_arn = f"{alias['AliasArn'].rsplit(':', 1)[0]}:key/{target}"
                    aliases[alias["AliasArn"]] = key_arn
                    aliases[f"{region}/{alias['AliasName']}"] = key_arn
                    if str(alias.get("AliasName", "")).startswith("alias/aws/"):
                        aws_managed.add(str(target))
        except _CallFailed:
            continue

        def one(
            item: dict[str, Any], region: str = region, aws_managed: set[str] = aws_managed
        ) -> KmsKey:
            meta = account.call("kms", region, "DescribeKey", "kms", KeyId=item["KeyArn"])
            assert meta is not None
            m = dict(meta["KeyMetadata"])
            if m.get("KeyId") in aws_managed:
                m["KeyManager"] = "AWS"
            rotation: bool | None = None
            symmetric = m.get("KeySpec", "SYMMETRIC_DEFAULT") == "SYMMETRIC_DEFAULT"
            if m.get("KeyManager") == "CUSTOMER" and symmetric and m.get("KeyState") == "Enabled":
                if m.get("Origin", "AWS_KMS") == "AWS_KMS":
                    status = account.call(
                        "kms", region, "GetKeyRotationStatus", "kms", KeyId=item["KeyArn"]
                    )
                    rotation = bool(status and status.get("KeyRotationEnabled"))
            return KmsKey(
                arn=str(m["Arn"]),
                region=region,
                manager=str(m.get("KeyManager", "")),
                spec=str(m.get("KeySpec", "")),
                state=str(m.get("KeyState", "")),
                rotation=rotation,
            )

        keys.extend(_fan_out(pool, one, listed))
    return tuple(keys), aliases


def _manager_of(
    key: str | None, region: str | None, keys: tuple[KmsKey, ...], aliases: dict[str, str]
) -> str | None:
    if not key:
        return None
    if key.startswith("alias/aws/") or ":alias/aws/" in key:
        return "AWS"
    arn = aliases.get(key) or aliases.get(f"{region}/{key}") or key
    for k in keys:
        if k.arn == arn or k.arn.endswith(f"/{arn}"):
            return k.manager
    return None


def _with_manager(bucket: Bucket, keys: tuple[KmsKey, ...], aliases: dict[str, str]) -> Bucket:
    if bucket.encryption and bucket.encryption.startswith("aws:kms"):
        manager = (
            _manager_of(bucket.kms_key, bucket.region, keys, aliases) if bucket.kms_key else "AWS"
        )
        return dataclasses.replace(bucket, key_manager=manager)
    return bucket


def _table_manager(table: Table, keys: tuple[KmsKey, ...], aliases: dict[str, str]) -> Table:
    if table.sse == "KMS":
        return dataclasses.replace(
            table, key_manager=_manager_of(table.kms_key, table.region, keys, aliases)
        )
    return table


# --- IAM (global): the credential report gives every user in two calls ------------------------


def _iam(account: _Account) -> tuple[bool | None, bool | None, tuple[IamUser, ...] | None]:
    home = account.regions[0]
    root_mfa: bool | None = None
    root_keys: bool | None = None
    try:
        summary = account.call("iam", home, "GetAccountSummary", "iam") or {}
        values = summary.get("SummaryMap", {})
        root_mfa = bool(values.get("AccountMFAEnabled"))
        root_keys = bool(values.get("AccountAccessKeysPresent"))
    except _CallFailed:
        pass
    users: tuple[IamUser, ...] | None = None
    try:
        report = _credential_report(account, home)
        users = tuple(_users_from_report(report))
    except _CallFailed:
        users = None
    return root_mfa, root_keys, users


def _credential_report(account: _Account, region: str) -> str:
    for _ in range(20):
        state = account.call("iam", region, "GenerateCredentialReport", "iam") or {}
        if state.get("State") == "COMPLETE":
            break
        time.sleep(0.5)
    answer = account.call(
        "iam", region, "GetCredentialReport", "iam", absent=("ReportNotPresent", "ReportInProgress")
    )
    if answer is None:
        account._fail(
            "iam",
            region,
            "GetCredentialReport",
            "ReportNotReady",
            "credential report not ready",
            "iam",
        )
    assert answer is not None
    content = answer.get("Content", b"")
    return content.decode("utf-8", "replace") if isinstance(content, bytes) else str(content)


def _when(text: str | None) -> dt.datetime | None:
    if not text or text in ("N/A", "not_supported", "no_information"):
        return None
    try:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def _users_from_report(report: str) -> Iterator[IamUser]:
    import csv
    import io

    for row in csv.DictReader(io.StringIO(report)):
        if row.get("user") == "<root_account>":
            continue
        keys = []
        for slot in ("1", "2"):
            if row.get(f"access_key_{slot}_active", "false").lower() == "true":
                keys.append(
                    (f"access key {slot}", _when(row.get(f"access_key_{slot}_last_rotated")))
                )
        yield IamUser(
            name=str(row.get("user", "")),
            arn=str(row.get("arn", "")),
            console=row.get("password_enabled", "false").lower() == "true",
            mfa=row.get("mfa_active", "false").lower() == "true",
            keys=tuple(keys),
        )


# --- Regional services ------------------------------------------------------------------------


def _regional(
    account: _Account, pool: ThreadPoolExecutor, region: str, account_id: str
) -> dict[str, Any]:
    out: dict[str, Any] = {"region": region}
    out["databases"] = _rds(account, region)
    out["volumes"], out["ebs_default"] = _ebs(account, region, account_id)
    out["tables"] = _dynamodb(account, pool, region)
    out["plans"], out["vaults"] = _backup(account, pool, region)
    out["ingress"] = _security_groups(account, region)
    return out


def _region_of(arn: str) -> str:
    parts = arn.split(":")
    return parts[3] if len(parts) > 3 else ""


def _rds(account: _Account, region: str) -> list[Database]:
    found: list[Database] = []
    try:
        clusters = account.pages("rds", region, "DescribeDBClusters", "DBClusters", "rds")
        instances = account.pages("rds", region, "DescribeDBInstances", "DBInstances", "rds")
    except _CallFailed:
        return found
    for c in clusters:
        found.append(
            Database(
                arn=str(c.get("DBClusterArn", "")),
                identifier=str(c.get("DBClusterIdentifier", "")),
                region=region,
                engine=str(c.get("Engine", "")),
                kind="cluster",
                encrypted=bool(c.get("StorageEncrypted")),
                kms_key=c.get("KmsKeyId"),
                publicly_accessible=bool(c.get("PubliclyAccessible")),
                backup_retention=int(c.get("BackupRetentionPeriod") or 0),
                cluster=None,
                replica_of=c.get("ReplicationSourceIdentifier"),
                backup_replication_regions=(),
                replica_regions=tuple(
                    r
                    for r in (_region_of(a) for a in c.get("ReadReplicaIdentifiers", []))
                    if r and r != region
                ),
            )
        )
    for i in instances:
        replications = tuple(
            _region_of(str(r.get("DBInstanceAutomatedBackupsArn", "")))
            for r in i.get("DBInstanceAutomatedBackupsReplications", [])
        )
        found.append(
            Database(
                arn=str(i.get("DBInstanceArn", "")),
                identifier=str(i.get("DBInstanceIdentifier", "")),
                region=region,
                engine=str(i.get("Engine", "")),
                kind="instance",
                encrypted=bool(i.get("StorageEncrypted")),
                kms_key=i.get("KmsKeyId"),
                publicly_accessible=bool(i.get("PubliclyAccessible")),
                backup_retention=int(i.get("BackupRetentionPeriod") or 0),
                cluster=i.get("DBClusterIdentifier"),
                replica_of=i.get("ReadReplicaSourceDBInstanceIdentifier"),
                backup_replication_regions=tuple(r for r in replications if r and r != region),
                replica_regions=tuple(
                    r
                    for r in (_region_of(a) for a in i.get("ReadReplicaDBInstanceIdentifiers", []))
                    if r and r != region
                ),
            )
        )
    return found


def _ebs(account: _Account, region: str, acct: str) -> tuple[list[Volume], bool | None]:
    default: bool | None = None
    try:
        answer = account.call("ec2", region, "GetEbsEncryptionByDefault", "ebs") or {}
        default = bool(answer.get("EbsEncryptionByDefault"))
    except _CallFailed:
        pass
    found: list[Volume] = []
    try:
        for v in account.pages("ec2", region, "DescribeVolumes", "Volumes", "ebs"):
            vid = str(v["VolumeId"])
            found.append(
                Volume(
                    vid,
                    f"arn:aws:ec2:{region}:{acct}:volume/{vid}",
                    region,
                    "volume",
                    bool(v.get("Encrypted")),
                )
            )
        for s in account.pages(
            "ec2", region, "DescribeSnapshots", "Snapshots", "ebs", OwnerIds=["self"]
        ):
            sid = str(s["SnapshotId"])
            found.append(
                Volume(
                    sid,
                    f"arn:aws:ec2:{region}::snapshot/{sid}",
                    region,
                    "snapshot",
                    bool(s.get("Encrypted")),
                )
            )
    except _CallFailed:
        pass
    return found, default


def _dynamodb(account: _Account, pool: ThreadPoolExecutor, region: str) -> list[Table]:
    try:
        names = account.pages("dynamodb", region, "ListTables", "TableNames", "dynamodb")
    except _CallFailed:
        return []

    def one(name: str) -> Table:
        desc = (
            account.call("dynamodb", region, "DescribeTable", "dynamodb", TableName=name) or {}
        )["Table"]
        sse = desc.get("SSEDescription") or {}
        backups = (
            account.call(
                "dynamodb", region, "DescribeContinuousBackups", "dynamodb", TableName=name
            )
            or {}
        )
        pitr = (
            backups.get("ContinuousBackupsDescription", {})
            .get("PointInTimeRecoveryDescription", {})
            .get("PointInTimeRecoveryStatus")
        )
        return Table(
            name=name,
            arn=str(desc.get("TableArn", "")),
            region=region,
            sse="KMS"
            if sse.get("SSEType") == "KMS" and sse.get("Status") in ("ENABLED", "UPDATING", None)
            else "AWS_OWNED",
            kms_key=sse.get("KMSMasterKeyArn"),
            key_manager=None,
            pitr=None if pitr is None else pitr == "ENABLED",
        )

    return _fan_out(pool, one, names)


def _backup(
    account: _Account, pool: ThreadPoolExecutor, region: str
) -> tuple[list[BackupPlan], list[Vault]]:
    plans: list[BackupPlan] = []
    vaults: list[Vault] = []
    try:
        listed = account.pages("backup", region, "ListBackupPlans", "BackupPlansList", "backup")
        vault_list = account.pages(
            "backup", region, "ListBackupVaults", "BackupVaultList", "backup"
        )
    except _CallFailed:
        return plans, vaults

    def plan(item: dict[str, Any]) -> BackupPlan:
        answer = (
            account.call(
                "backup", region, "GetBackupPlan", "backup", BackupPlanId=item["BackupPlanId"]
            )
            or {}
        )
        rules = []
        for rule in answer.get("BackupPlan", {}).get("Rules", []):
            rules.append(
                BackupRule(
                    name=str(rule.get("RuleName", "")),
                    vault=str(rule.get("TargetBackupVaultName", "")),
                    copy_to=tuple(
                        str(c.get("DestinationBackupVaultArn", ""))
                        for c in rule.get("CopyActions", [])
                    ),
                )
            )
        return BackupPlan(
            str(item.get("BackupPlanArn", "")),
            str(item.get("BackupPlanName", "")),
            region,
            tuple(rules),
        )

    def vault(item: dict[str, Any]) -> Vault:
        count = int(item.get("NumberOfRecoveryPoints") or 0)
        newest: dt.datetime | None = None
        if count:
            points = account.pages(
                "backup",
                region,
                "ListRecoveryPointsByBackupVault",
                "RecoveryPoints",
                "backup",
                BackupVaultName=item["BackupVaultName"],
            )
            dates = [p["CreationDate"] for p in points if p.get("CreationDate")]
            newest = max(dates) if dates else None
        return Vault(
            arn=str(item.get("BackupVaultArn", "")),
            name=str(item.get("BackupVaultName", "")),
            region=region,
            locked=bool(item.get("Locked")),
            recovery_points=count,
            newest_recovery_point=newest,
        )

    plans = _fan_out(pool, plan, listed)
    vaults = _fan_out(pool, vault, vault_list)
    return plans, vaults


def _security_groups(account: _Account, region: str) -> list[OpenIngress]:
    found: list[OpenIngress] = []
    try:
        groups = account.pages("ec2", region, "DescribeSecurityGroups", "SecurityGroups", "ec2")
    except _CallFailed:
        return found
    for g in groups:
        owner = str(g.get("OwnerId", ""))
        gid = str(g.get("GroupId", ""))
        for perm in g.get("IpPermissions", []):
            proto = str(perm.get("IpProtocol", "-1"))
            if proto not in ("-1", "tcp", "6", "udp", "17"):
                continue
            low = int(perm.get("FromPort", 0)) if proto != "-1" else 0
            high = int(perm.get("ToPort", 65535)) if proto != "-1" else 65535
            if low == -1:
                low, high = 0, 65535
            cidrs = [r.get("CidrIp") for r in perm.get("IpRanges", [])]
            cidrs += [r.get("CidrIpv6") for r in perm.get("Ipv6Ranges", [])]
            for cidr in cidrs:
                if cidr in ("0.0.0.0/0", "::/0"):
                    found.append(
                        OpenIngress(
                            group_id=gid,
                            arn=f"arn:aws:ec2:{region}:{owner}:security-group/{gid}",
                            region=region,
                            group_name=str(g.get("GroupName", "")),
                            port_from=low,
                            port_to=high,
                            protocol=proto,
                            cidr=str(cidr),
                        )
                    )
    return found
