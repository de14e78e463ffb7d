"""posture's IaC scan vs `checkov -d` on the same generated Terraform tree: wall time, peak RSS.

Run by hand:  python benchmarks/bench_iac.py [--resources 600] [--files 50]
Each measurement runs in a fresh process (so imports count, as they do for a user), one after the
other; peak RSS is the child's ru_maxrss. The posture scan runs twice: cold (empty cache) and
again on the unchanged tree (served from the content-keyed cache).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

KINDS = ["bucket", "db", "table", "vault", "plan", "sg", "key"]


def block(kind: str, i: int) -> str:
    if kind == "bucket":
        return (
            f'resource "aws_s3_bucket" "customer_{i}" {{\n  bucket = "shop-customer-{i}"\n'
            '  tags = { data = "customer" }\n}\n'
        )
    if kind == "db":
        return (
            f'resource "aws_db_instance" "orders_{i}" {{\n  identifier = "orders-{i}"\n  engine = "postgres"\n'
            f'  instance_class = "db.t3.micro"\n  allocated_storage = 20\n  storage_encrypted = true\n'
            f'  backup_retention_period = {i % 10}\n  username = "shop"\n  manage_master_user_password = true\n}}\n'
        )
    if kind == "table":
        return (
            f'resource "aws_dynamodb_table" "carts_{i}" {{\n  name = "carts-{i}"\n  billing_mode = "PAY_PER_REQUEST"\n'
            f'  hash_key = "id"\n  attribute {{\n    name = "id"\n    type = "S"\n  }}\n'
            f"  point_in_time_recovery {{\n    enabled = {'true' if i % 2 else 'false'}\n  }}\n}}\n"
        )
    if kind == "vault":
        return f'resource "aws_backup_vault" "v_{i}" {{\n  provider = aws.dr\n  name = "vault-{i}"\n}}\n'
    if kind == "plan":
        copy = (
            f"    copy_action {{\n      destination_vault_arn = aws_backup_vault.v_{i - 1}.arn\n    }}\n"
            if i % 3
            else ""
        )
        return (
            f'resource "aws_backup_plan" "p_{i}" {{\n  name = "plan-{i}"\n  rule {{\n    rule_name = "daily"\n'
            f'    target_vault_name = "main"\n    schedule = "cron(0 3 * * ? *)"\n{copy}  }}\n}}\n'
        )
    if kind == "sg":
        return (
            f'resource "aws_security_group" "sg_{i}" {{\n  name = "sg-{i}"\n  ingress {{\n    from_port = 22\n'
            f'    to_port = 22\n    protocol = "tcp"\n    cidr_blocks = ["10.{i % 250}.0.0/16"]\n  }}\n}}\n'
        )
    rotation = "true" if i % 2 else "false"
    return (
        f'resource "aws_kms_key" "k_{i}" {{\n  description = "key {i}"\n'
        f"  enable_key_rotation = {rotation}\n}}\n"
    )


def generate(root: Path, resources: int, files: int) -> None:
    root.mkdir(parents=True, exist_ok=True)
    (root / "providers.tf").write_text(
        'provider "aws" {\n  region = "eu-west-1"\n}\n'
        'provider "aws" {\n  alias = "dr"\n  region = "us-east-1"\n}\n'
    )
    per_file = max(1, resources // files)
    for f in range(files):
        body = [
            block(KINDS[(f * per_file + j) % len(KINDS)], f * per_file + j) for j in range(per_file)
        ]
        (root / f"stack_{f:03d}.tf").write_text("\n".join(body))


def measure(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    _, _, usage = os.wait4(proc.pid, 0)
    return time.perf_counter() - start, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--resources", type=int, default=600)
    parser.add_argument("--files", type=int, default=50)
    args = parser.parse_args()
    bindir = Path(sys.executable).parent
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp) / "infra"
        generate(tree, args.resources, args.files)
        env = {
            **os.environ,
            "POSTURE_CACHE_DIR": str(Path(tmp) / "cache"),
            "POSTURE_DB": str(Path(tmp) / "h.db"),
        }
        checkov = [
            str(bindir / "checkov"),
            "-d",
            str(tree),
            "--framework",
            "terraform",
            "--quiet",
            "--compact",
            "-o",
            "json",
        ]
        checkov_all = [
            str(bindir / "checkov"),
            "-d",
            str(tree),
            "--quiet",
            "--compact",
            "-o",
            "json",
        ]
        posture = [
            sys.executable,
            "-m",
            "posture",
            "scan",
            "--iac",
            str(tree),
            "--format",
            "json",
            "--no-record",
        ]
        if (
            subprocess.run([*posture, "--help"], capture_output=True, check=False).stdout.find(
                b"--no-record"
            )
            < 0
        ):
            posture.remove("--no-record")
        rows = [
            ("checkov -d --framework terraform", *measure(checkov, env)),
            ("checkov -d (all frameworks)", *measure(checkov_all, env)),
            ("posture scan --iac (cold)", *measure(posture, env)),
            ("posture scan --iac (cached)", *measure(posture, env)),
        ]
    print(f"tree: {args.resources} resources in {args.files} files (+ providers.tf)")
    base = rows[0][1]
    for name, seconds, rss in rows:
        print(f"{name:36s} {seconds:6.2f} s  {seconds / base:5.2f}x  peak RSS {rss:6.0f} MB")


if __name__ == "__main__":
    main()
