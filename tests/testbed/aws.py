"""AWS for the tests: moto in server mode on loopback, accounts built through its real API.

moto's server answers the same HTTP API as AWS; boto3 reaches it through ``AWS_ENDPOINT_URL``.
Each account is reached the way posture reaches one with ``role_arn``: sts:AssumeRole into a role
of that account (moto gives credentials scoped to it). ``FaultProxy`` stands between a client and
moto and answers chosen operations with AWS's own throttling or access-denied errors.
"""

from __future__ import annotations

import http.client
import http.server
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from .nginx import free_port

CARELESS = "111111111111"
WELL_RUN = "222222222222"
BACKUP_ACCOUNT = "333333333333"
REGIONS = ("eu-west-1", "us-east-1")


def role(account: str) -> str:
    return f"arn:aws:iam::{account}:role/posture-readonly"


@dataclass
class Moto:
    endpoint: str
    process: subprocess.Popen[bytes]

    def env(self, endpoint: str | None = None) -> dict[str, str]:
        """Environment for a posture process: the emulator, and base credentials (no real ones)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(
            AWS_ENDPOINT_URL=endpoint or self.endpoint,
            AWS_ACCESS_KEY_ID="testing",
            AWS_SECRET_ACCESS_KEY="testing",  # noqa: S105 - the emulator's dummy secret
            AWS_DEFAULT_REGION=REGIONS[0],
            AWS_EC2_METADATA_DISABLED="true",
            AWS_CONFIG_FILE=os.devnull,
            AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        )
        return env

    def session(self, account: str) -> Any:
        import boto3

        base = boto3.session.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGIONS[0]
        )
        sts = base.client("sts", endpoint_url=self.endpoint)
        creds = sts.assume_role(RoleArn=role(account), RoleSessionName="posture-tests")[
            "Credentials"
        ]
        return _EndpointSession(
            boto3.session.Session(
                aws_access_key_id=creds["AccessKeyId"],
                aws_secret_access_key=creds["SecretAccessKey"],
                aws_session_token=creds["SessionToken"],
                region_name=REGIONS[0],
            ),
            self.endpoint,
        )

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()


class _EndpointSession:
    def __init__(self, session: Any, endpoint: str) -> None:
        self._session = session
        self._endpoint = endpoint

    def client(self, service: str, region: str = REGIONS[0]) -> Any:
        from botocore.config import Config

        return self._session.client(
            service,
            region_name=region,
            endpoint_url=self._endpoint,
            config=Config(inject_host_prefix=False, retries={"max_attempts": 2}),
        )


def start_moto() -> Moto:
    exe = shutil.which("moto_server") or os.path.join(
        os.path.dirname(sys.executable), "moto_server"
    )
    port = free_port()
    # No built-in AMIs: their thousands of public snapshots are not part of any account.
    env = {**os.environ, "MOTO_EC2_LOAD_DEFAULT_AMIS": "false"}
    process = subprocess.Popen(
        [exe, "-H", "127.0.0.1", "-p", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/moto-api/")
            conn.getresponse().read()
            conn.close()
            return Moto(f"http://127.0.0.1:{port}", process)
        except OSError:
            if process.poll() is not None:
                raise RuntimeError("moto_server exited at start") from None
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("moto_server did not answer within 30 s")


# --- the two accounts -------------------------------------------------------------------------


def build_careless(moto: Moto) -> None:
    """Everything wrong once: the rules in checks/aws.py each find something here."""
    s = moto.session(CARELESS)
    home, other = REGIONS
    s3 = s.client("s3")
    s3.create_bucket(
        Bucket="careless-customer-exports", CreateBucketConfiguration={"LocationConstraint": home}
    )
    s3.put_bucket_acl(Bucket="careless-customer-exports", ACL="public-read")
    s3.create_bucket(
        Bucket="careless-assets", CreateBucketConfiguration={"LocationConstraint": home}
    )
    s3.put_bucket_encryption(
        Bucket="careless-assets",
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
        },
    )
    rds = s.client("rds")
    rds.create_db_instance(
        DBInstanceIdentifier="orders",
        DBInstanceClass="db.t3.micro",
        Engine="postgres",
        MasterUsername="shop",
        MasterUserPassword="not-a-real-one-1",  # noqa: S106 - emulator only
        AllocatedStorage=20,
        StorageEncrypted=False,
        PubliclyAccessible=True,
        BackupRetentionPeriod=1,
    )
    ec2 = s.client("ec2")
    ec2.disable_ebs_encryption_by_default()
    volume = ec2.create_volume(AvailabilityZone=f"{home}a", Size=1, Encrypted=False)
    ec2.create_snapshot(VolumeId=volume["VolumeId"])
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    group = ec2.create_security_group(GroupName="admin", Description="admin", VpcId=vpc)["GroupId"]
    ec2.authorize_security_group_ingress(
        GroupId=group,
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 22,
                "ToPort": 22,
                "IpRanges": [{"CidrIp": "0.0.0.0/0"}],
            },
            {
                "IpProtocol": "tcp",
                "FromPort": 5432,
                "ToPort": 5432,
                "Ipv6Ranges": [{"CidrIpv6": "::/0"}],
            },
        ],
    )
    ddb = s.client("dynamodb")
    ddb.create_table(
        TableName="carts",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    kms = s.client("kms")
    kms.create_key(Description="careless key")  # rotation off by default
    backup = s.client("backup")
    backup.create_backup_vault(BackupVaultName="main")
    _nightly_plan(backup, f"arn:aws:backup:{home}:{CARELESS}:backup-vault:main")
    iam = s.client("iam")
    iam.create_user(UserName="alice")
    iam.create_login_profile(UserName="alice", Password="Not-a-real-1!")  # noqa: S106
    iam.create_access_key(UserName="alice")
    del other


def _nightly_plan(backup: Any, copy_to: str) -> None:
    """A daily rule into vault "main" that copies each recovery point to ``copy_to``."""
    backup.create_backup_plan(
        BackupPlan={
            "BackupPlanName": "nightly",
            "Rules": [
                {
                    "RuleName": "daily",
                    "TargetBackupVaultName": "main",
                    "CopyActions": [{"DestinationBackupVaultArn": copy_to}],
                }
            ],
        }
    )


def build_well_run(moto: Moto) -> None:
    """The same estate done right, as far as the emulator lets it be (see docs/cloud.md)."""
    s = moto.session(WELL_RUN)
    home, other = REGIONS
    kms = s.client("kms")
    key = kms.create_key(Description="data key")["KeyMetadata"]["Arn"]
    kms.enable_key_rotation(KeyId=key)
    dr_key = s.client("kms", other).create_key(Description="dr key")["KeyMetadata"]["Arn"]
    s.client("kms", other).enable_key_rotation(KeyId=dr_key)
    s3 = s.client("s3")
    for name, region in (
        ("wellrun-customer-exports", home),
        ("wellrun-customer-exports-dr", other),
    ):
        kwargs = (
            {"CreateBucketConfiguration": {"LocationConstraint": region}}
            if region != "us-east-1"
            else {}
        )
        s.client("s3", region).create_bucket(Bucket=name, **kwargs)
        s3.put_bucket_encryption(
            Bucket=name,
            ServerSideEncryptionConfiguration={
                "Rules": [
                    {
                        "ApplyServerSideEncryptionByDefault": {
                            "SSEAlgorithm": "aws:kms",
                            "KMSMasterKeyID": key,
                        },
                        "BucketKeyEnabled": True,
                    }
                ]
            },
        )
        s3.put_public_access_block(
            Bucket=name,
            PublicAccessBlockConfiguration={
                "BlockPublicAcls": True,
                "IgnorePublicAcls": True,
                "BlockPublicPolicy": True,
                "RestrictPublicBuckets": True,
            },
        )
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_replication(
        Bucket="wellrun-customer-exports",
        ReplicationConfiguration={
            "Role": f"arn:aws:iam::{WELL_RUN}:role/replication",
            "Rules": [
                {
                    "ID": "dr",
                    "Status": "Enabled",
                    "Priority": 1,
                    "Filter": {},
                    "DeleteMarkerReplication": {"Status": "Disabled"},
                    "Destination": {"Bucket": "arn:aws:s3:::wellrun-customer-exports-dr"},
                }
            ],
        },
    )
    rds = s.client("rds")
    rds.create_db_instance(
        DBInstanceIdentifier="orders",
        DBInstanceClass="db.t3.micro",
        Engine="postgres",
        MasterUsername="shop",
        MasterUserPassword="not-a-real-one-1",  # noqa: S106 - emulator only
        AllocatedStorage=20,
        StorageEncrypted=True,
        KmsKeyId=key,
        PubliclyAccessible=False,
        BackupRetentionPeriod=14,
    )
    s.client("rds", other).create_db_instance_read_replica(
        DBInstanceIdentifier="orders-dr",
        SourceDBInstanceIdentifier=f"arn:aws:rds:{home}:{WELL_RUN}:db:orders",
        DBInstanceClass="db.t3.micro",
        KmsKeyId=dr_key,
        PubliclyAccessible=False,
    )
    for region in REGIONS:
        ec2 = s.client("ec2", region)
        ec2.enable_ebs_encryption_by_default()
    s.client("ec2").create_volume(AvailabilityZone=f"{home}a", Size=1, Encrypted=True)
    ddb = s.client("dynamodb")
    ddb.create_table(
        TableName="carts",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        SSESpecification={"Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": key},
    )
    ddb.update_continuous_backups(
        TableName="carts", PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
    )
    backup = s.client("backup")
    backup.create_backup_vault(BackupVaultName="main")
    backup.put_backup_vault_lock_configuration(BackupVaultName="main", MinRetentionDays=30)
    _nightly_plan(backup, f"arn:aws:backup:{other}:{BACKUP_ACCOUNT}:backup-vault:dr")
    iam = s.client("iam")
    iam.create_user(UserName="bob")
    iam.create_login_profile(UserName="bob", Password="Not-a-real-1!")  # noqa: S106
    device = iam.create_virtual_mfa_device(VirtualMFADeviceName="bob")["VirtualMFADevice"]
    iam.enable_mfa_device(
        UserName="bob",
        SerialNumber=device["SerialNumber"],
        AuthenticationCode1="123456",
        AuthenticationCode2="654321",
    )
    iam.create_access_key(UserName="bob")
    ec2 = s.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]
    group = ec2.create_security_group(GroupName="web", Description="web", VpcId=vpc)["GroupId"]
    ec2.authorize_security_group_ingress(
        GroupId=group,
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 443,
                "ToPort": 443,
                "IpRanges": [{"CidrIp": "0.0.0.0/0"}],
            },
            {
                "IpProtocol": "tcp",
                "FromPort": 22,
                "ToPort": 22,
                "IpRanges": [{"CidrIp": "10.1.0.0/16"}],
            },
        ],
    )


# --- faults ---------------------------------------------------------------------------------

_THROTTLED = (
    b'<?xml version="1.0"?><ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code>'
    b"<Message>Rate exceeded</Message></Error><RequestId>posture-test</RequestId></ErrorResponse>"
)
_DENIED_S3 = (
    b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code>'
    b"<Message>Access Denied</Message><RequestId>posture-test</RequestId></Error>"
)


@contextmanager
def fault_proxy(moto: Moto, *, throttle_action: str, deny_s3_list: bool) -> Iterator[str]:
    """An endpoint that forwards to moto, but throttles every ``throttle_action`` (a query API
    Action such as DescribeDBInstances) and refuses S3 ListBuckets with AccessDenied."""
    upstream_port = int(moto.endpoint.rsplit(":", 1)[1])
    counts = {"throttled": 0, "denied": 0}

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def _relay(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            if f"Action={throttle_action}".encode() in body:
                counts["throttled"] += 1
                return self._answer(400, _THROTTLED)
            if (
                deny_s3_list
                and self.command == "GET"
                and self.path.split("?")[0] == "/"
                and ("s3" in self.headers.get("Authorization", ""))
            ):
                counts["denied"] += 1
                return self._answer(403, _DENIED_S3)
            conn = http.client.HTTPConnection("127.0.0.1", upstream_port, timeout=30)
            headers = {k: v for k, v in self.headers.items() if k.lower() != "connection"}
            conn.request(self.command, self.path, body=body, headers=headers)
            answer = conn.getresponse()
            data = answer.read()
            self.send_response(answer.status)
            for key, value in answer.getheaders():
                if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            conn.close()

        def _answer(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "text/xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PUT = do_HEAD = do_DELETE = _relay

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
