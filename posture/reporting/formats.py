"""The report's formats. HTML is one self-contained file; PDF is that HTML printed by headless
Chromium (Debian's package); JSON is the report data; OSCAL is an assessment-results document."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import uuid
from importlib import resources
from pathlib import Path
from typing import Any

from posture.errors import PostureError, UsageError
from posture.reporting.charts import line_chart

FORMATS = ("html", "pdf", "json", "md", "oscal")
CHROMIUM = ("chromium", "chromium-browser", "google-chrome")
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-extensions",
)


def to_html(report: dict[str, Any]) -> str:
    from jinja2 import Environment, select_autoescape

    env = Environment(
        autoescape=select_autoescape(default=True), trim_blocks=True, lstrip_blocks=True
    )
    template = env.from_string(
        resources.files("posture.reporting").joinpath("templates/report.html.j2").read_text("utf-8")
    )
    areas = sorted({k for p in report["trend"] for k in p["scores"]} - {"overall"})
    chart = line_chart(report["trend"], ["overall", *areas])
    return template.render(r=report, chart=chart)


def _md(text: str) -> str:
    from posture.render._common import mask

    return mask(str(text)).replace("|", "\\|").replace("\n", " ").replace("<", "&lt;")


def to_markdown(report: dict[str, Any]) -> str:
    lines = [f"# Security posture report: {report['period']['name']}", ""]
    for run in report.get("incomplete_runs", []):
        done = f"{len(run['completed'])} of {run['shards']} shards completed"
        lines.append(f"> **Incomplete:** run {run['run_id']} ({done}):")
        lines += [f"> - {problem}" for problem in run["problems"]]
        lines.append("")
    lines.append("| area | score | previous |")
    lines.append("| --- | ---: | ---: |")
    for area, score in sorted(report["summary"]["scores"].items()):
        prev = report["summary"]["previous_scores"].get(area)
        lines.append(f"| {area} | {score} | {prev if prev is not None else '—'} |")
    for m in report["matrices"]:
        lines += ["", f"## {m['name']}", ""]
        applies = m.get("applicability")
        if applies:
            state = {True: "applies", False: "does not apply", None: "applicability unknown"}[
                applies.get("applies")
            ]
            due = (
                f"; first certification due {applies['first_due']}"
                if applies.get("first_due")
                else ""
            )
            lines += [f"**{state}**: {_md(applies.get('because', ''))}{due}", ""]
        lines += [
            "| obligation | citation | status | coverage | evidence | why | previous |",
            "| --- | --- | --- | --- | --- | --- | --- |",
        ]
        for row in m["rows"]:
            why = [row.get("reason", "")]
            if row.get("exposure"):
                why.append(row["exposure"])
            why += [
                f"accepted risk: {a['check_id']} approved by {a['approver'] or 'nobody named'} "
                f"until {a['expires'] or 'no expiry'}"
                for a in row.get("accepted_risks", [])
            ]
            if m["id"] == "ccpa-cyber-audit":
                gaps = [
                    e["check_id"] + " " + e["label"]
                    for e in row.get("evidence", [])
                    if e["state"] != "passed"
                ]
                if gaps:
                    why.append("gaps: " + ", ".join(gaps[:6]))
            lines.append(
                f"| {_md(row['title'])} | {_md(row['citation'])} | {row['status']} "
                f"| {row.get('coverage', '')} | {', '.join(row.get('evidence_sources', [])) or '—'} "
                f"| {_md('; '.join(w for w in why if w))} | {row['previous_status'] or '—'} |"
            )
    f = report["findings"]
    lines += [
        "",
        "## Findings",
        "",
        f"{len(f['new'])} new, {len(f['resolved'])} resolved, {len(f['open'])} open.",
        "",
    ]
    for bucket in ("active", "expiring", "expired"):
        lines.append(f"- waivers {bucket}: {len(report['waivers'][bucket])}")
    lines += ["", "## Evidence", ""] + [
        f"- scan {e['scan_id']} at {e['started_at']}: sha256 {e['digest']}"
        + ("" if e.get("digest_verified", True) else " (CHANGED since recorded: does not match)")
        for e in report["evidence"]
    ]
    return "\n".join(lines) + "\n"


def chromium() -> str:
    for name in CHROMIUM:
        path = shutil.which(name)
        if path:
            return path
    raise PostureError("PDF needs Chromium: apt-get install chromium (or use --format html)")


def html_to_pdf(html: str, output: Path, timeout: float = 120) -> None:
    with tempfile.TemporaryDirectory(prefix="posture-pdf-") as tmp:
        page = Path(tmp) / "report.html"
        page.write_text(html, encoding="utf-8")
        cmd = [
            chromium(),
            *CHROMIUM_FLAGS,
            f"--user-data-dir={tmp}/profile",
            "--no-pdf-header-footer",
            f"--print-to-pdf={output}",
            page.as_uri(),
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
        if proc.returncode != 0 or not output.is_file():
            raise PostureError(f"Chromium could not print the PDF: {proc.stderr.strip()[-300:]}")


_OSCAL_STATE = {"fail": "not-satisfied", "pass": "satisfied"}
_OSCAL_METHOD = {"observed": "TEST", "declared": "EXAMINE", "attested": "INTERVIEW"}
_NS = "https://posture.invalid/ns"


def _prop(name: str, value: str) -> dict[str, str]:
    return {"name": name, "ns": _NS, "value": " ".join(str(value).split())[:1000] or "none"}


def to_oscal(report: dict[str, Any]) -> str:
    """OSCAL 1.0.4 assessment-results: one result for the period, findings per obligation."""
    now = report["generated_at"]
    namespace = uuid.UUID("5b1c7a6e-2f7d-4f0e-9d3c-6f0c3a1d2b7e")

    def uid(*parts: str) -> str:
        return str(uuid.uuid5(namespace, "|".join(parts)))

    observations = []
    obs_ids: dict[str, str] = {}
    for r in report["results_at_end"]:
        oid = uid("obs", report["period"]["name"], r["fingerprint"])
        obs_ids[r["fingerprint"]] = oid
        observations.append(
            {
                "uuid": oid,
                "title": r["title"][:200] or r["check_id"],
                "description": (r["message"] or r["title"] or r["check_id"])[:1000],
                # observed: posture tested it; declared: a statement examined; attested: a
                # person vouched for it (an interview, in OSCAL's words)
                "methods": [_OSCAL_METHOD.get(r["evidence_source"], "UNKNOWN")],
                "types": ["finding"] if r["status"] == "fail" else ["control-objective"],
                "props": [
                    {
                        "name": "check-id",
                        "ns": "https://posture.invalid/ns",
                        "value": r["check_id"],
                    },
                    {"name": "status", "ns": "https://posture.invalid/ns", "value": r["status"]},
                    {
                        "name": "evidence-source",
                        "ns": "https://posture.invalid/ns",
                        "value": r["evidence_source"],
                    },
                    {
                        "name": "severity",
                        "ns": "https://posture.invalid/ns",
                        "value": r["severity"],
                    },
                ],
                "subjects": [
                    {
                        "subject-uuid": uid("target", r["target"]),
                        "type": "component",
                        "title": r["target"][:200],
                    }
                ],
                "collected": r.get("collected", now),
            }
        )
    findings = []
    for m in report["matrices"]:
        for row in m["rows"]:
            related = [
                {"observation-uuid": obs_ids[x["fingerprint"]]}
                for x in row["results"]
                if x["fingerprint"] in obs_ids
            ]
            # only "met" is satisfied; every other status says why it is not, in its props
            satisfied = row["status"] == "met"
            reason = "fail" if row["status"] in ("failing", "at risk") else "other"
            props = [
                _prop("posture-status", row["status"]),
                _prop("coverage", row.get("coverage", "partial")),
                _prop("evidence-sources", ", ".join(row.get("evidence_sources", [])) or "none"),
                _prop("source-checked", row.get("checked") or "unknown"),
            ]
            if row.get("exposure"):
                props.append(_prop("exposure", row["exposure"]))
            if row.get("applicability"):
                props.append(_prop("applicability", row["applicability"].get("because", "")))
            for a in row.get("accepted_risks", []):
                props.append(
                    _prop(
                        "accepted-risk",
                        f"{a['check_id']} approved by {a['approver'] or 'nobody named'} "
                        f"until {a['expires'] or 'no expiry'}",
                    )
                )
            finding: dict[str, Any] = {
                "uuid": uid("finding", report["period"]["name"], row["id"]),
                "title": f"{row['id']} {row['title']}"[:200],
                "description": f"{row['citation']}: {row['summary']}",
                "props": props,
                "target": {
                    "type": "objective-id",
                    "target-id": row["id"].lower().replace(".", "-"),
                    "status": {
                        "state": "satisfied" if satisfied else "not-satisfied",
                        **({} if satisfied else {"reason": reason}),
                    },
                },
            }
            if row.get("reason"):
                finding["remarks"] = row["reason"]
            if related:
                finding["related-observations"] = related
            findings.append(finding)
    document = {
        "assessment-results": {
            "uuid": uid("ar", report["period"]["name"], report["generated_at"]),
            "metadata": {
                "title": f"posture security posture assessment, {report['period']['name']}",
                "last-modified": now,
                "version": report["period"]["name"],
                "oscal-version": "1.0.4",
            },
            "import-ap": {"href": "#posture-assessment-plan"},
            "results": [
                {
                    "uuid": uid("result", report["period"]["name"]),
                    "title": f"Posture of {len(report['summary']['targets'])} targets, {report['period']['name']}",
                    "description": "Automated posture scans recorded by posture, "
                    "mapped to GDPR, CCPA and PCI DSS obligations.",
                    "start": report["period"]["start"],
                    "end": report["period"]["end"],
                    "reviewed-controls": {"control-selections": [{"include-all": {}}]},
                    "observations": observations
                    or [
                        {
                            "uuid": uid("obs-none", report["period"]["name"]),
                            "description": "no results",
                            "methods": ["TEST"],
                            "collected": now,
                        }
                    ],
                    "findings": findings,
                }
            ],
        }
    }
    return json.dumps(document, indent=2) + "\n"


def _json(report: dict[str, Any]) -> str:
    return json.dumps(report, indent=2, default=str) + "\n"


def write(report: dict[str, Any], fmt: str, output: Path) -> None:
    if fmt not in FORMATS:
        raise UsageError(f"--format {fmt}: one of {', '.join(FORMATS)}")
    from posture.render import refuse_symlink, write_file

    if fmt == "pdf":
        refuse_symlink(output, "--output")
        html_to_pdf(to_html(report), output)
        return
    text = {
        "html": to_html,
        "md": to_markdown,
        "oscal": to_oscal,
        "json": _json,
    }[fmt](report)
    write_file(output, text)
