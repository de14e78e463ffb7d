"""Draft policies/mappings/prowler.yaml from the metadata Prowler ships with each AWS check.

Run by hand with Prowler installed (in a separate virtualenv: its pins differ from posture's):

    /path/to/prowler-venv/bin/python tools/gen_prowler_mapping.py > policies/mappings/prowler.yaml

Each check's ``Categories`` and id decide the area; the result is a draft for review, like
tools/gen_checkov_mapping.py's. The first matching rule wins, so the order below is the policy:
backups and resilience of data stores, then encryption, TLS, logging, access, web; else other.
"""

from __future__ import annotations

import glob
import json
import os
import sys

BACKUP_WORDS = (
    "backup",
    "pitr",
    "point_in_time",
    "replication",
    "cross_region",
    "retention",
    "vault",
    "deletion_protection",
)
TLS_WORDS = ("tls", "ssl", "https", "certificate", "insecure_protocol")
WEB_SERVICES = ("cloudfront", "waf", "wafv2", "apigateway", "apigatewayv2")


def area(check_id: str, service: str, categories: list[str]) -> str:
    cid = check_id.lower()
    if service == "backup" or (
        "resilience" in categories and any(w in cid for w in BACKUP_WORDS) and "public" not in cid
    ):
        return "backup"
    if any(w in cid for w in TLS_WORDS):
        return "tls"
    if "encryption" in categories or "encrypt" in cid or "kms" in cid:
        return "encryption"
    if (
        "logging" in categories
        or "forensics-ready" in categories
        or "threat-detection" in categories
    ):
        return "logging"
    if {
        "internet-exposed",
        "identity-access",
        "trust-boundaries",
        "secrets",
        "privilege-escalation",
    } & set(categories) or service in ("iam", "organizations", "sso", "accessanalyzer"):
        return "access"
    if service in WEB_SERVICES:
        return "web"
    if service == "drs":
        return "backup"
    return _SERVICE_AREAS.get(service, "other")


def main() -> int:
    import prowler

    root = os.path.join(os.path.dirname(prowler.__file__), "providers", "aws", "services")
    rows = []
    for path in sorted(glob.glob(os.path.join(root, "*", "*", "*.metadata.json"))):
        with open(path, encoding="utf-8") as handle:
            meta = json.load(handle)
        rows.append(
            (
                meta["CheckID"],
                area(meta["CheckID"], meta["ServiceName"], meta.get("Categories", [])),
                meta.get("CheckTitle", ""),
            )
        )
    print("# Prowler check id -> posture area. Data, not code. `checks` was drafted by")
    print(
        f"# tools/gen_prowler_mapping.py from Prowler {prowler_version()}'s check metadata (categories and"
    )
    print(
        "# ids), then reviewed; `services` places ids added to Prowler after this review by their service."
    )
    print("# An id in neither lands in area `other`, never dropped. Override a severity with")
    print("# `{area: ..., severity: ...}`; otherwise Prowler's own severity is kept.")
    print("version: 1")
    print(SERVICES, end="")
    print("checks:")
    for check_id, where, title in rows:
        title = " ".join(title.split())[:90]
        print(f"  {check_id}: {{area: {where}}}  # {title}")
    return 0


def prowler_version() -> str:
    from importlib.metadata import version

    return version("prowler")


SERVICES = """services:
  acm: tls
  backup: backup
  cloudfront: web
  cloudtrail: logging
  cloudwatch: logging
  config: logging
  documentdb: encryption
  dynamodb: encryption
  ec2: access
  efs: encryption
  elb: tls
  elbv2: tls
  guardduty: logging
  iam: access
  kms: encryption
  rds: encryption
  s3: encryption
  secretsmanager: encryption
  vpc: access
  waf: web
  wafv2: web
"""

_SERVICE_AREAS = dict(
    line.strip().split(": ") for line in SERVICES.splitlines()[1:] if line.strip()
)

if __name__ == "__main__":
    sys.exit(main())
