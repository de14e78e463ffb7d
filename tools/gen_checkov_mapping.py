"""Draft policies/mappings/checkov.yaml from the installed checkov's check names and categories.

Run by hand when checkov is upgraded (``python tools/gen_checkov_mapping.py > draft.yaml``), then
review the diff against the committed mapping: the committed file is data a reviewer owns, this is
only a first draft. checkov's own categories are often wrong (CKV_AWS_19, S3 encryption, is filed
under LOGGING), so the check's name is read first and the category is only a fallback.
"""

from __future__ import annotations

import re
import sys

KEYWORDS: list[tuple[str, str, str]] = [
    # (regex on the lower-cased name, area, severity); first match wins
    (r"log(s|ging)? .*retention|retention .*log", "logging", "medium"),
    (r"hard[- ]?coded|secret|credential|access key", "access", "critical"),
    (r"\bpublic|0\.0\.0\.0|everyone|anonymous|world", "access", "high"),
    (
        r"backup|recover|snapshot|replicat|versioning|point in time|geo-redundant|"
        r"deletion protection|retention",
        "backup",
        "high",
    ),
    (r"encrypt|kms|cmk|cmek|customer managed key|rotation|at rest", "encryption", "high"),
    (r"tls|ssl|https|\bhttp\b|cipher|certificate|hsts|waf", "web", "medium"),
    (r"\blog|audit|trail|monitor|flow log|tracing|alarm", "logging", "medium"),
    (
        r"iam|privilege|root|admin|mfa|authenticat|password|service account|rbac|"
        r"security group|ingress|egress|port \d+|capabilit|host(network|pid|ipc)?|"
        r"policy|access|permission|role",
        "access",
        "medium",
    ),
]
HEADER = """\
# checkov check id -> posture area and severity. Data, not code: validated by
# policies/schemas/checkov-mapping.schema.json. Drafted by tools/gen_checkov_mapping.py from the
# names and categories of checkov's Terraform, CloudFormation and Kubernetes checks, then reviewed.
# A failing checkov result whose id is not listed still appears, with the defaults below.
# Override single ids from posture.yaml:  checkov: {mapping: {CKV_AWS_19: {severity: critical}}}
version: 1
defaults: {area: other, severity: medium}
checks:
"""
CATEGORIES = {
    "ENCRYPTION": ("encryption", "high"),
    "BACKUP_AND_RECOVERY": ("backup", "high"),
    "LOGGING": ("logging", "medium"),
    "IAM": ("access", "high"),
    "NETWORKING": ("access", "medium"),
    "SECRETS": ("access", "critical"),
    "APPLICATION_SECURITY": ("web", "medium"),
    "API_SECURITY": ("web", "medium"),
}

# Reviewed by hand: where the name heuristics under- or over-rate a check.
REVIEWED = {
    "CKV_AWS_17": ("access", "critical"),  # RDS publicly accessible
    "CKV_AWS_20": ("access", "critical"),  # S3 bucket readable by everyone
    "CKV_AWS_57": ("access", "critical"),  # S3 bucket writable by everyone
    "CKV_AWS_21": ("backup", "medium"),  # S3 versioning
    "CKV_AWS_7": ("encryption", "medium"),  # KMS rotation
    "CKV_AWS_79": ("access", "medium"),  # IMDSv1
    "CKV_AWS_144": ("backup", "medium"),  # S3 replication present (IAC-S3-REPLICATION is stricter)
    "CKV_K8S_2": ("access", "high"),  # privileged containers (PSP)
    "CKV_K8S_16": ("access", "high"),  # privileged containers
    "CKV2_AWS_6": ("access", "high"),  # S3 public access block
}


def classify(name: str, categories: list[str], check_id: str = "") -> tuple[str, str]:
    if check_id in REVIEWED:
        return REVIEWED[check_id]
    low = name.lower()
    for pattern, area, severity in KEYWORDS:
        if re.search(pattern, low):
            return area, severity
    for category in categories:
        if category in CATEGORIES:
            return CATEGORIES[category]
    return "other", "low"


def collect() -> dict[str, tuple[str, list[str]]]:
    from checkov.cloudformation.checks.resource.registry import cfn_registry
    from checkov.common.checks_infra.registry import get_graph_checks_registry
    from checkov.kubernetes.checks.resource.registry import registry as k8s_registry
    from checkov.terraform.checks.data.registry import data_registry
    from checkov.terraform.checks.provider.registry import provider_registry
    from checkov.terraform.checks.resource.registry import resource_registry

    found: dict[str, tuple[str, list[str]]] = {}
    for registry in (
        resource_registry,
        data_registry,
        provider_registry,
        cfn_registry,
        k8s_registry,
    ):
        groups = list(registry.checks.values()) + list(registry.wildcard_checks.values())
        for checks in groups:
            for c in checks:
                found.setdefault(c.id, (c.name, sorted(x.name for x in c.categories)))
    for framework in ("terraform", "cloudformation", "kubernetes"):
        graph = get_graph_checks_registry(framework)
        graph.load_checks()
        for c in graph.checks:
            found.setdefault(c.id, (c.name, []))
    return found


def main() -> None:
    def order(check_id: str) -> tuple[str, int]:
        prefix, _, number = check_id.rpartition("_")
        return prefix, int(number) if number.isdigit() else 0

    found = collect()
    out = sys.stdout
    out.write(HEADER)
    for check_id in sorted(found, key=order):
        name, categories = found[check_id]
        area, severity = classify(name, categories, check_id)
        comment = name.replace("\n", " ")[:90]
        out.write(f"  {check_id}: {{area: {area}, severity: {severity}}}  # {comment}\n")


if __name__ == "__main__":
    main()
