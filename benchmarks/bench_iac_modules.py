"""Module repositories: results posture carries vs checkov's, wall time and peak RSS of both.

Run by hand:  python benchmarks/bench_iac_modules.py REPO [REPO ...]
(e.g. /work/corpora/terraform-aws-rds /work/corpora/terraform-aws-rds-aurora
/work/corpora/terraform-aws-s3-bucket). Each repository is copied to a temporary folder (so
nothing is written next to it), then scanned, one fresh process at a time, by
``checkov -d REPO --framework terraform -o json`` and by ``posture scan --iac REPO -f json``
(empty cache). Peak RSS is each child's ru_maxrss. Counts:

- checkov: its summary (passed + failed + skipped), the results as checkov prints them, where a
  module's instances in several root modules are merged into one per check, file, lines and
  resource (and result);
- posture: IaC results carrying a checkov id, results with a module origin, distinct fingerprints,
  and the fingerprints shared by more than one result (must be 0).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any


def measure(cmd: list[str], env: dict[str, str], out: Path) -> tuple[float, float, float]:
    """Wall seconds, peak RSS (MB) and CPU seconds (user + system, the child and its workers)."""
    start = time.perf_counter()
    with out.open("wb") as sink:
        proc = subprocess.Popen(cmd, stdout=sink, stderr=subprocess.DEVNULL, env=env)
        _, _, usage = os.wait4(proc.pid, 0)
    return time.perf_counter() - start, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime


def checkov_count(document: Any) -> int:
    reports = document if isinstance(document, list) else [document]
    total = 0
    for report in reports:
        summary = report.get("summary", {})
        total += sum(int(summary.get(k, 0)) for k in ("passed", "failed", "skipped"))
    return total


def checkov_keys(document: Any, tree: Path) -> set[tuple[str, str, str, str]]:
    """(check, file relative to the tree, resource, result) of every checkov result."""
    keys = set()
    status = {"PASSED": "pass", "FAILED": "fail", "SKIPPED": "waived"}
    for report in document if isinstance(document, list) else [document]:
        results = report.get("results", {})
        for kind in ("passed_checks", "failed_checks", "skipped_checks"):
            for r in results.get(kind, []):
                path = os.path.relpath(os.path.realpath(r["file_abs_path"]), tree.resolve())
                result = status.get(str(r["check_result"]["result"]).upper(), "?")
                keys.add((r["check_id"], Path(path).as_posix(), r["resource"], result))
    return keys


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("repos", nargs="+", type=Path)
    args = parser.parse_args()
    bindir = Path(sys.executable).parent
    rows = []
    for repo in args.repos:
        with tempfile.TemporaryDirectory() as tmp:
            tree = Path(tmp) / repo.name
            shutil.copytree(repo, tree, ignore=shutil.ignore_patterns(".git"))
            env = {
                **os.environ,
                "POSTURE_CACHE_DIR": str(Path(tmp) / "cache"),
                "POSTURE_DB": str(Path(tmp) / "h.db"),
            }
            ck_out, po_out = Path(tmp) / "checkov.json", Path(tmp) / "posture.json"
            ck_cmd = [str(bindir / "checkov"), "-d", str(tree), "--framework", "terraform"]
            ck_time, ck_rss, ck_cpu = measure([*ck_cmd, "--compact", "-o", "json"], env, ck_out)
            po_cmd = [sys.executable, "-m", "posture", "scan", "--iac", str(tree)]
            po_time, po_rss, po_cpu = measure([*po_cmd, "-f", "json", "--no-record"], env, po_out)
            checkov_doc = json.loads(ck_out.read_text() or "{}")
            checkov_total = checkov_count(checkov_doc)
            results = json.loads(po_out.read_text())["results"]
            carried = [r for r in results if r["check_id"].startswith("CKV")]
            theirs = checkov_keys(checkov_doc, tree)
            ours = {
                (r["check_id"], (r["location"] or {}).get("path", ""), r["resource"], r["status"])
                for r in carried
            }
            fingerprints = Counter(r["fingerprint"] for r in results)
            rows.append(
                {
                    "repo": repo.name,
                    "checkov_results": checkov_total,
                    "posture_checkov_results": len(carried),
                    "with_module_origin": sum(1 for r in carried if r.get("origin")),
                    "root_modules": len({r["origin"]["root"] for r in carried if r.get("origin")}),
                    "duplicate_fingerprints": sum(1 for n in fingerprints.values() if n > 1),
                    # separate processes: checkov's expansion of a few graph checks varies by run
                    "checkov_keys_missing_in_posture": len(theirs - ours),
                    "posture_keys_not_in_checkov": len(ours - theirs),
                    "absolute_paths": sum(
                        1
                        for r in results
                        if r.get("location") and r["location"]["path"].startswith("/")
                    ),
                    "checkov_wall_s": round(ck_time, 1),
                    "checkov_rss_mb": round(ck_rss),
                    "checkov_cpu_s": round(ck_cpu, 1),
                    "posture_wall_s": round(po_time, 1),
                    "posture_rss_mb": round(po_rss),
                    "posture_cpu_s": round(po_cpu, 1),
                }
            )
            print(json.dumps(rows[-1]), flush=True)
    print()
    print(
        "| repository | checkov results | posture (checkov ids) | of which via a module call "
        "| root modules | duplicate fingerprints | checkov's not carried / posture's not in checkov "
        "| checkov wall / CPU / RSS "
        "| posture wall / CPU / RSS |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        print(
            f"| {r['repo']} | {r['checkov_results']} | {r['posture_checkov_results']} "
            f"({r['posture_checkov_results'] / max(1, r['checkov_results']):.2f}x) "
            f"| {r['with_module_origin']} | {r['root_modules']} | {r['duplicate_fingerprints']} "
            f"| {r['checkov_keys_missing_in_posture']} / {r['posture_keys_not_in_checkov']} "
            f"| {r['checkov_wall_s']} s / {r['checkov_cpu_s']} s / {r['checkov_rss_mb']} MB "
            f"| {r['posture_wall_s']} s / {r['posture_cpu_s']} s / {r['posture_rss_mb']} MB |"
        )


if __name__ == "__main__":
    main()
