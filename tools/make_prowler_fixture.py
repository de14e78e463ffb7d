"""Regenerate tests/fixtures/prowler/*.ocsf.json: real Prowler output against moto's emulated account.

Run by hand (Prowler pins boto3 differently from posture, so it lives in its own virtualenv):

    python3 -m venv /tmp/prowler-venv && /tmp/prowler-venv/bin/pip install prowler
    python tools/make_prowler_fixture.py /tmp/prowler-venv/bin/prowler

It starts moto_server on loopback, builds the careless account of tests/testbed/aws.py, assumes
its role and runs ``prowler aws`` on seven services in two regions with ``--output-formats
json-ocsf``. The output is copied unmodified; tests/fixtures/prowler/README.md records the run.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.testbed.aws import CARELESS, REGIONS, build_careless, role, start_moto  # noqa: E402


def main(prowler: str) -> int:
    import boto3

    moto = start_moto()
    out = Path(tempfile.mkdtemp())
    try:
        build_careless(moto)
        sts = boto3.client(
            "sts",
            endpoint_url=moto.endpoint,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            region_name=REGIONS[0],
        )
        creds = sts.assume_role(RoleArn=role(CARELESS), RoleSessionName="prowler")["Credentials"]
        env = moto.env()
        env.update(
            AWS_ACCESS_KEY_ID=creds["AccessKeyId"],
            AWS_SECRET_ACCESS_KEY=creds["SecretAccessKey"],
            AWS_SESSION_TOKEN=creds["SessionToken"],
            HOME=str(out),
        )
        version = subprocess.run([prowler, "--version"], capture_output=True, text=True, check=True)
        name = f"prowler-{version.stdout.split()[-1]}-moto-careless"
        subprocess.run(
            [
                prowler,
                "aws",
                "--services",
                "s3",
                "rds",
                "ec2",
                "iam",
                "kms",
                "backup",
                "dynamodb",
                "-f",
                *REGIONS,
                "--output-formats",
                "json-ocsf",
                "-o",
                str(out),
                "-F",
                name,
                "--no-banner",
            ],
            env=env,
            timeout=1800,
            check=False,  # Prowler exits 3 when it found failures
        )
        target = ROOT / "tests" / "fixtures" / "prowler" / f"{name}.ocsf.json"
        shutil.copyfile(out / f"{name}.ocsf.json", target)
        print(target)
    finally:
        moto.stop()
        shutil.rmtree(out, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "prowler"))
