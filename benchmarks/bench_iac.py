"""posture's IaC scan vs `checkov -d` on the same generated Terraform tree (run by hand).

    python benchmarks/bench_iac.py [--files 50] [--per-file 12] [--runs 3]

Generates a realistic AWS tree (buckets, databases, tables, KMS keys, backup plans and vaults,
security groups) across many files, then times each tool in its own process: wall time and peak
RSS from wait4. Target (issue 5): posture <= 1.1x checkov's own time.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TEMPLATES = [
    'resource "aws_s3_bucket" "b{i}" {{\n  bucket = "shop-customer-data-{i}"\n}}\n',
    'resource "aws_db_instance" "db{i}" {{\n  identifier = "db{i}"\n  engine = "postgres"\n'
    '  instance_class = "db.t3.micro"\n  allocated_storage = 20\n  storage_encrypted = {enc}\n'
    "  backup_retention_period = {ret}\n}}\n",
    'resource "aws_dynamodb_table" "t{i}" {{\n  name = "t{i}"\n  billing_mode = "PAY_PER_REQUEST"\n'
    '  hash_key = "id"\n  attribute {{\n    name = "id"\n    type = "S"\n  }}\n}}\n',
    'resource "aws_kms_key" "k{i}" {{\n  description = "k{i}"\n  enable_key_rotation = {enc}\n}}\n',
    'resource "aws_backup_vault" "v{i}" {{\n  name = "v{i}"\n}}\n',
    'resource "aws_backup_plan" "p{i}" {{\n  name = "p{i}"\n  rule {{\n    rule_name = "r"\n'
    '    target_vault_name = aws_backup_vault.v{i}.name\n    schedule = "cron(0 3 * * ? *)"\n  }}\n}}\n',
    'resource "aws_security_group" "sg{i}" {{\n  name = "sg{i}"\n  ingress {{\n    from_port = 22\n'
    '    to_port = 22\n    protocol = "tcp"\n    cidr_blocks = ["0.0.0.0/0"]\n  }}\n}}\n',
]


def generate(root: Path, files: int, per_file: int) -> int:
    (root / "providers.tf").write_text('provider "aws" {\n  region = "eu-west-1"\n}\n')
    count = 0
    for f in range(files):
        blocks = []
        for j in range(per_file):
            i = f * per_file + j
            template = TEMPLATES[i % len(TEMPLATES)]
            blocks.append(
                template.format(i=i, enc="true" if i % 2 else "false", ret=3 if i % 3 else 14)
            )
            count += 1
        (root / f"module_{f:03d}.tf").write_text("\n".join(blocks))
    return count


def measure(argv: list[str]) -> tuple[float, float]:
    started = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) not in (0, 1):
        raise SystemExit(f"{argv[:4]} failed: {os.waitstatus_to_exitcode(status)}")
    return elapsed, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=50)
    parser.add_argument("--per-file", type=int, default=12)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    checkov = shutil.which("checkov") or str(Path(sys.executable).parent / "checkov")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "tree"
        root.mkdir()
        n = generate(root, args.files, args.per_file)
        tools = {
            "posture": [
                sys.executable,
                "-m",
                "posture",
                "scan",
                "--iac",
                str(root),
                "--only",
                "IAC-*",
                "--format",
                "json",
            ],
            "checkov": [
                checkov,
                "-d",
                str(root),
                "--framework",
                "terraform",
                "-o",
                "json",
                "--quiet",
                "--skip-download",
                "--output-file-path",
                tmp,
            ],
        }
        print(f"tree: {n} resources in {args.files} files")
        print(f"{'tool':<8} {'median s':>9} {'peak RSS MiB':>13}")
        for name, argv in tools.items():
            measure(argv)  # warm caches
            samples = [measure(argv) for _ in range(args.runs)]
            wall = statistics.median(s[0] for s in samples)
            rss = max(s[1] for s in samples)
            print(f"{name:<8} {wall:>9.2f} {rss:>13.1f}")


if __name__ == "__main__":
    main()
