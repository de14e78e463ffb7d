"""Benchmark (by hand): posture's AWS collector on a large emulated account.

    python benchmarks/bench_aws.py [--buckets 1000] [--databases 200] [--plans 100] [--runs 3]

Starts moto_server on loopback, fills one account across three regions with the given numbers of
S3 buckets, RDS instances and AWS Backup plans (plus a vault and a DynamoDB table per region),
then runs ``posture scan`` on a ``cloud:`` entry for that account and reports wall time, the
peak RSS of the posture process, and the calls made per resource (from AWS-INVENTORY's evidence).
Figures go to docs/cloud.md. moto answers every call in-process on the same two cores, so the
time is dominated by the emulator; against AWS, latency and throttling decide.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.testbed.aws import role, start_moto  # noqa: E402

ACCOUNT = "444444444444"
REGIONS = ("eu-west-1", "eu-central-1", "us-east-1")


def fill(moto, buckets: int, databases: int, plans: int) -> None:  # type: ignore[no-untyped-def]
    s = moto.session(ACCOUNT)

    def bucket(i: int) -> None:
        region = REGIONS[i % len(REGIONS)]
        kwargs = (
            {"CreateBucketConfiguration": {"LocationConstraint": region}}
            if region != "us-east-1"
            else {}
        )
        s.client("s3", region).create_bucket(Bucket=f"bench-bucket-{i:05d}", **kwargs)

    def database(i: int) -> None:
        region = REGIONS[i % len(REGIONS)]
        s.client("rds", region).create_db_instance(
            DBInstanceIdentifier=f"bench-db-{i:04d}",
            DBInstanceClass="db.t3.micro",
            Engine="postgres",
            MasterUsername="bench",
            MasterUserPassword="not-a-real-one-1",  # noqa: S106
            AllocatedStorage=20,
            StorageEncrypted=i % 2 == 0,
            BackupRetentionPeriod=7,
        )

    def plan(i: int) -> None:
        region = REGIONS[i % len(REGIONS)]
        s.client("backup", region).create_backup_plan(
            BackupPlan={
                "BackupPlanName": f"bench-plan-{i:03d}",
                "Rules": [{"RuleName": "daily", "TargetBackupVaultName": "main"}],
            }
        )

    for region in REGIONS:
        s.client("backup", region).create_backup_vault(BackupVaultName="main")
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(bucket, range(buckets)))
        list(pool.map(database, range(databases)))
        list(pool.map(plan, range(plans)))


def run_once(moto, config: Path, out: Path) -> tuple[float, float, dict]:  # type: ignore[no-untyped-def]
    code = (
        "import resource, sys\n"
        "from posture.cli import main\n"
        "rc = main(sys.argv[1:])\n"
        "u = resource.getrusage(resource.RUSAGE_SELF)\n"
        "print('PEAK_KB', u.ru_maxrss, u.ru_utime + u.ru_stime, file=sys.stderr)\n"
        "sys.exit(rc)\n"
    )
    start = time.perf_counter()
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            code,
            "scan",
            "-c",
            str(config),
            "--no-record",
            "--format",
            "json",
            "--output",
            str(out),
        ],
        capture_output=True,
        text=True,
        env=moto.env(),
        timeout=1800,
        check=False,
    )
    wall = time.perf_counter() - start
    line = next(line for line in proc.stderr.splitlines() if line.startswith("PEAK_KB"))
    peak, cpu = int(line.split()[1]), float(line.split()[2])
    report = json.loads(out.read_text())
    print(f"  run: {wall:.1f} s wall, posture CPU {cpu:.1f} s, peak {peak / 1024:.0f} MiB")
    return wall, peak / 1024, report


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--buckets", type=int, default=1000)
    parser.add_argument("--databases", type=int, default=200)
    parser.add_argument("--plans", type=int, default=100)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    moto = start_moto()
    try:
        t = time.perf_counter()
        fill(moto, args.buckets, args.databases, args.plans)
        print(f"filled the emulator in {time.perf_counter() - t:.1f} s")
        tmp = Path(tempfile.mkdtemp())
        config = tmp / "posture.yaml"
        config.write_text(
            "version: 1\ncloud:\n  - provider: aws\n"
            f"    role_arn: {role(ACCOUNT)}\n    regions: [{', '.join(REGIONS)}]\n"
        )
        walls, peaks = [], []
        report: dict = {}
        for _ in range(args.runs):
            wall, peak, report = run_once(moto, config, tmp / "r.json")
            walls.append(wall)
            peaks.append(peak)
        inventory = next(r for r in report["results"] if r["check_id"] == "AWS-INVENTORY")
        calls = inventory["evidence"]["calls"]
        resources = inventory["evidence"]["resources"]
        errors = [r for r in report["results"] if r["status"] == "error"]
        total_resources = sum(resources.values())
        print(f"resources seen: {resources}")
        print(
            f"wall time: median {statistics.median(walls):.1f} s over {args.runs} runs {[round(w, 1) for w in walls]}"
        )
        print(f"peak RSS of posture: {max(peaks):.0f} MiB")
        print(
            f"calls: {sum(calls.values())} ({sum(calls.values()) / max(1, total_resources):.2f} per resource)"
        )
        for action, count in sorted(calls.items(), key=lambda kv: -kv[1]):
            print(f"  {action:45} {count}")
        print(f"results: {len(report['results'])}, errors: {len(errors)}")
        own_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
        print(f"load average: {os.getloadavg()}; benchmark process peak {own_peak} MiB")
    finally:
        moto.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
