"""One AWS account as posture talks to it: a boto3 session (assuming a role if told to), clients
per service and region, a bound on calls in flight, a deadline, and the record of every call made
and every call that failed. Every call is read-only; docs/aws-iam-policy.json allows each one."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from posture.errors import CollectError
from posture.plugin import CollectContext

from .aws_facts import ApiError

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


class CallFailed(Exception):
    pass


class Account:
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
        does not exist); raises ``CallFailed`` after recording any other failure."""
        from botocore.exceptions import BotoCoreError, ClientError

        self._before_deadline(service, region, operation, blocks)
        client = self.client(service, region)
        method = getattr(client, _snake(operation))
        self._count(service, operation)
        try:
            with self.in_flight:
                return method(**params)  # type: ignore[no-any-return]
        except (ClientError, BotoCoreError) as exc:
            if isinstance(exc, ClientError) and _error_code(exc) in absent:
                return None
            self._failed_with(exc, service, region, operation, blocks)
        return None  # unreachable: _failed_with raises

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
                self._before_deadline(service, region, operation, blocks)
        except (ClientError, BotoCoreError) as exc:
            self._failed_with(exc, service, region, operation, blocks)
        return items

    def _before_deadline(self, service: str, region: str, operation: str, blocks: str) -> None:
        if time.monotonic() > self.deadline:
            self._fail(
                service,
                region,
                operation,
                "DeadlineExceeded",
                "collection deadline reached",
                blocks,
            )

    def _failed_with(
        self, exc: Exception, service: str, region: str, operation: str, blocks: str
    ) -> None:
        """Record a botocore failure (AWS's error code and message, or the client error's
        class) and raise ``CallFailed``."""
        from botocore.exceptions import ClientError

        if isinstance(exc, ClientError):
            message = str(exc.response.get("Error", {}).get("Message", "")) or str(exc)
            self._fail(service, region, operation, _error_code(exc), message, blocks)
        self._fail(service, region, operation, exc.__class__.__name__, str(exc), blocks)

    def _fail(
        self, service: str, region: str, operation: str, code: str, message: str, blocks: str
    ) -> None:
        with self._lock:
            self.errors.append(
                ApiError(service, region, operation, code, one_line(message)[:300], blocks)
            )
        raise CallFailed(f"{service}:{operation} in {region}: {code}")


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


def _error_code(exc: Any) -> str:
    return str(exc.response.get("Error", {}).get("Code", "Unknown"))


def _snake(operation: str) -> str:
    from botocore import xform_name

    return str(xform_name(operation))


def one_line(text: str) -> str:
    return " ".join("".join(c if c.isprintable() else " " for c in text).split())


def fan_out(pool: ThreadPoolExecutor, fn: Callable[[Any], Any], items: Iterable[Any]) -> list[Any]:
    """Run ``fn`` over ``items`` in the pool; items whose call failed are dropped (recorded)."""
    futures: list[Future[Any]] = [pool.submit(fn, item) for item in items]
    out = []
    for future in futures:
        try:
            out.append(future.result())
        except CallFailed:
            continue
    return out


def session_for(entry: dict[str, Any], ctx: CollectContext) -> Any:
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
            raise CollectError(f"cannot assume {role}: {one_line(str(exc))}") from None
        session = boto3.session.Session(
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
        )
    return session
