"""Readers for who and what can get into an AWS account: the root user and IAM users (from the
credential report) and security groups open to the internet."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator

from .aws_account import Account, CallFailed
from .aws_facts import IamUser, OpenIngress

# --- IAM (global): the credential report gives every user in two calls ------------------------


def read_iam(account: Account) -> tuple[bool | None, bool | None, tuple[IamUser, ...] | None]:
    home = account.regions[0]
    root_mfa: bool | None = None
    root_keys: bool | None = None
    try:
        summary = account.call("iam", home, "GetAccountSummary", "iam") or {}
        values = summary.get("SummaryMap", {})
        root_mfa = bool(values.get("AccountMFAEnabled"))
        root_keys = bool(values.get("AccountAccessKeysPresent"))
    except CallFailed:
        pass
    users: tuple[IamUser, ...] | None = None
    try:
        report = _credential_report(account, home)
        users = tuple(_users_from_report(report))
    except CallFailed:
        users = None
    return root_mfa, root_keys, users


def _credential_report(account: Account, region: str) -> str:
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


def read_security_groups(account: Account, region: str) -> list[OpenIngress]:
    found: list[OpenIngress] = []
    try:
        groups = account.pages("ec2", region, "DescribeSecurityGroups", "SecurityGroups", "ec2")
    except CallFailed:
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
