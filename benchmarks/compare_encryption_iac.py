"""posture's encryption-at-rest rules vs checkov's, on vulnerable-by-design corpora.

Run by hand:  python benchmarks/compare_encryption_iac.py /work/corpora/terragoat /work/corpora/cfngoat
One posture scan per tree (checkov runs inside it, so both sides read the same parse). For every
resource type posture's rules look at, it prints: resources, checkov's failing encryption
results (rules whose title speaks of encryption, KMS or CMK, not in transit) on them, posture's
failures, and posture's failures on resources where checkov fails no encryption rule (what
posture adds). Then every posture failure, for hand-checking.
"""

from __future__ import annotations

import argparse
import os
import re
import tempfile
from collections import defaultdict
from pathlib import Path

from posture.engine import ScanRequest, scan
from posture.model import Result, Status

RULES = ("IAC-DATASTORE-NO-CMK", "IAC-EC2-VOLUME-UNENCRYPTED")
ABOUT = re.compile(r"encrypt|kms|cmk|customer managed", re.IGNORECASE)


def _type(resource: str) -> str:
    if "::" in resource:
        return resource.rsplit(".", 1)[0]
    parts = [p for p in resource.split(".") if p]
    while parts and parts[0] == "module":
        parts = parts[2:]
    return parts[0] if parts else resource


def _where(r: Result) -> str:
    """File, resource and module instance: the same module resource in two roots is two."""
    path = r.location.path if r.location else ""
    return f"{path}|{r.resource}|{r.origin.root if r.origin else ''}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("trees", nargs="+", type=Path)
    args = parser.parse_args()
    os.environ.setdefault("POSTURE_CACHE_DIR", tempfile.mkdtemp())
    for tree in args.trees:
        results = scan(ScanRequest(iac_paths=[str(tree)])).results
        ours = [r for r in results if r.check_id in RULES and r.resource]
        theirs = [
            r
            for r in results
            if r.evidence.get("checkov_id")
            and r.status is Status.FAIL
            and ABOUT.search(r.title)
            and "transit" not in r.title.lower()
        ]
        checkov_failed: dict[str, list[str]] = defaultdict(list)
        for r in theirs:
            checkov_failed[_where(r)].append(r.check_id)
        types: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
        extra: list[Result] = []
        for r in ours:
            key = _where(r)
            t = _type(r.resource or "")
            types[t]["resources"].add(key)
            if r.status is Status.FAIL:
                types[t]["posture_fail"].add(key + "|" + (r.key or ""))
                if not checkov_failed.get(key):
                    extra.append(r)
                    types[t]["extra"].add(key + "|" + (r.key or ""))
            if checkov_failed.get(key):
                types[t]["checkov_fail"].add(key)
        print(
            f"\n## {tree.name}: {len(theirs)} checkov encryption failures in all, "
            f"{sum(1 for r in ours if r.status is Status.FAIL)} posture failures"
        )
        print(
            "| resource type | resources judged | checkov fails (encryption) | posture fails "
            "| posture only |"
        )
        print("| --- | --- | --- | --- | --- |")
        for t in sorted(types):
            row = types[t]
            print(
                f"| {t} | {len(row['resources'])} | {len(row['checkov_fail'])} "
                f"| {len(row['posture_fail'])} | {len(row['extra'])} |"
            )
        print("\nposture's failures where checkov fails no encryption rule on the resource:")
        for r in extra:
            via = f" ({r.origin})" if r.origin else ""
            print(f"- {r.check_id} {r.resource} [{r.key or ''}] {r.location}{via}: {r.message}")
        print("\nposture's failures where checkov fails too (which checkov rules):")
        for r in ours:
            key = _where(r)
            if r.status is Status.FAIL and checkov_failed.get(key):
                print(
                    f"- {r.check_id} {r.resource} [{r.key or ''}]: checkov "
                    f"{', '.join(sorted(set(checkov_failed[key])))}"
                )


if __name__ == "__main__":
    main()
