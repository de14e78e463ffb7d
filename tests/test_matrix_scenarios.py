"""The obligation matrix as an auditor tries it: real scans (declared controls, evidence files,
Terraform through checkov; no network), each scenario a way an unearned "met" or a failing row
for data the store does not hold could slip in."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from posture.compliance import FrameworkMatrix, MatrixRow, MatrixStatus, matrices_for_report
from posture.config import load_config
from posture.engine import ScanRequest, scan
from posture.plugin import ScanOptions
from posture.runner import Selection
from posture.scanreport import ScanReport

from .conftest import FIXTURES

NOW = dt.datetime(2026, 11, 24, 12, tzinfo=dt.UTC)
ALL = ["gdpr", "ccpa", "pci-dss", "ccpa-cyber-audit"]

ENCRYPTED_DB_TF = """
resource "aws_kms_key" "orders" {
  description             = "orders volume"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "root"
      Effect    = "Allow"
      Principal = { AWS = "arn:aws:iam::111111111111:root" }
      Action    = "kms:*"
      Resource  = "*"
    }]
  })
}

resource "aws_ebs_volume" "orders" {
  availability_zone = "eu-west-1a"
  size              = 20
  encrypted         = true
  kms_key_id        = aws_kms_key.orders.arn
}
"""


def scan_folder(folder: Path, selection: Selection | None = None) -> ScanReport:
    return scan(
        ScanRequest(
            config=load_config(folder / "posture.yaml"),
            options=ScanOptions(now=NOW, timeout=5),
            selection=selection or Selection(),
        )
    )


def rows(report: ScanReport) -> dict[str, MatrixRow]:
    return {row.obligation.id: row for m in matrices_for_report(report, ALL) for row in m.rows}


def shop(tmp: Path, name: str, edit: dict[str, str] | None = None) -> Path:
    """A copy of a fixture shop, with text replaced in its posture.yaml."""
    folder = tmp / name
    shutil.copytree(FIXTURES / "controls" / name.split("-")[0], folder)
    (folder / "wg0.conf").chmod(0o600 if name.startswith("wellrun") else 0o644)
    text = (folder / "posture.yaml").read_text()
    for old, new in (edit or {}).items():
        assert old in text, old
        text = text.replace(old, new)
    (folder / "posture.yaml").write_text(text)
    return folder


POLICY = (
    b"<html><body><h1>Privacy policy</h1><p>Last updated 2026-10-01. The personal data we collect: "
    b"name, e-mail, address, orders. The purposes: we use your data to deliver orders. Recipients: "
    b"we share it with service providers under contract. Security: we protect and encrypt it. "
    b"Retention: we retain orders for ten years. Your rights: right to access, right to delete, "
    b"right to correct inaccurate data; we will not discriminate against you for using them. "
    b"To opt out of marketing, unsubscribe. Contact us: privacy@shop.example.</p></body></html>"
)


@pytest.fixture(scope="module")
def policy_url() -> Iterator[str]:
    """A real HTTP server on 127.0.0.1 serving a complete privacy policy."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            self.send_response(200 if self.path == "/privacy" else 404)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(POLICY if self.path == "/privacy" else b"")

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/privacy"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def wellrun(tmp_path_factory: pytest.TempPathFactory, policy_url: str) -> Iterator[ScanReport]:
    """The well-run shop plus its Terraform (real checkov), its store tied to the IaC, and its
    privacy policy served from 127.0.0.1."""
    folder = shop(
        tmp_path_factory.mktemp("s"),
        "wellrun",
        {
            "  privacy:\n": f"  privacy:\n    policy_url: {policy_url}\n",
            "configs:\n": "iac:\n  - path: infra/\nconfigs:\n",
            "      encryption: {enabled: true, key_management: kms}\n": (
                "      encryption: {enabled: true, key_management: kms}\n"
                "      iac_resources: [aws_ebs_volume.orders]\n"
            ),
        },
    )
    (folder / "infra").mkdir()
    (folder / "infra" / "main.tf").write_text(ENCRYPTED_DB_TF)
    yield scan_folder(folder)


def test_all_failures_waived_never_met(tmp_path: Path) -> None:
    folder = shop(tmp_path, "careless")
    text = (folder / "posture.yaml").read_text()
    text += (
        "waivers:\n  - check: '*'\n    reason: accepted for the test\n"
        "    approver: ciso@shop.example\n    expires: 2027-01-31\n"
    )
    (folder / "posture.yaml").write_text(text)
    report = scan_folder(folder)
    assert not [r for r in report.results if r.status.value == "fail"]
    matrix = rows(report)
    assert [r.obligation.id for r in matrix.values() if r.status is MatrixStatus.MET] == []
    accepted = [r for r in matrix.values() if r.status is MatrixStatus.ACCEPTED_RISK]
    assert len(accepted) >= 20
    gdpr28 = matrix["GDPR-28"]
    assert gdpr28.status is MatrixStatus.ACCEPTED_RISK
    assert "waived by ciso@shop.example until 2027-01-31" in gdpr28.reason
    listed = gdpr28.to_dict()["accepted_risks"]
    assert listed and all(
        a["approver"] == "ciso@shop.example" and a["expires"] == "2027-01-31" for a in listed
    )


def test_only_one_check_leaves_every_other_expected_check_out_of_scope(tmp_path: Path) -> None:
    report = scan_folder(shop(tmp_path, "wellrun"), Selection(only=("PRIV-INCIDENT-PLAN",)))
    matrix = rows(report)
    assert [r.obligation.id for r in matrix.values() if r.status is MatrixStatus.MET] == []
    assert matrix["GDPR-24"].status is MatrixStatus.NOT_ASSESSED
    assert matrix["GDPR-33"].status is MatrixStatus.NOT_ASSESSED or (
        matrix["GDPR-33"].status is MatrixStatus.PARTIAL
        and matrix["GDPR-33"].expected_checks == ("PRIV-INCIDENT-PLAN",)
    )
    others = 0
    for row in matrix.values():
        for e in row.evidence:
            if e.check_id != "PRIV-INCIDENT-PLAN":
                others += 1
                assert e.label == "not assessed (out of scope)", (row.obligation.id, e)
    assert others > 50


def test_declaration_only_pass_is_declared_not_verified(wellrun: ScanReport) -> None:
    matrix = rows(wellrun)
    for oid in ("PCI-8.4.1", "PCI-8.4.2"):
        assert matrix[oid].status is MatrixStatus.DECLARED, (oid, matrix[oid].reason)
        assert matrix[oid].evidence_sources == ("declared",)
        assert matrix[oid].coverage.level == "full"


def _store(tmp: Path, name: str, categories: str) -> ScanReport:
    folder = tmp / name
    folder.mkdir()
    (folder / "posture.yaml").write_text(
        "version: 1\ncontrols:\n"
        "  payments: {accepted_methods: [credit], integration: hosted-page, scan_repository: false}\n"
        "  data_stores:\n"
        f"    - name: {name}\n      kind: postgres\n      personal_data: [{categories}]\n"
        "      encryption: {enabled: false}\n"
    )
    return scan_folder(folder)


def test_contact_only_unencrypted_store_fails_only_what_reaches_contact_data(
    tmp_path: Path,
) -> None:
    matrix = rows(_store(tmp_path, "newsletter", "contact"))
    assert matrix["GDPR-32-1-a"].status is MatrixStatus.FAILING
    for oid in ("PCI-3.5.1", "CCPA-1798.150", "CIV-1798.82"):
        assert matrix[oid].status is not MatrixStatus.FAILING, (oid, matrix[oid].reason)
        assert matrix[oid].status is MatrixStatus.NOT_APPLICABLE, (oid, matrix[oid].reason)
    exposure = matrix["CCPA-1798.150"].exposure or ""
    assert exposure.startswith("private right of action exposure: no, because no data store")
    assert (matrix["GDPR-34-3-a"].exposure or "").startswith("encryption exemption available: no")


def test_card_data_unencrypted_fails_pci_and_california(tmp_path: Path) -> None:
    matrix = rows(_store(tmp_path, "cards", "contact, card"))
    for oid in ("GDPR-32-1-a", "PCI-3.5.1", "CCPA-1798.150", "CIV-1798.82"):
        assert matrix[oid].status is MatrixStatus.FAILING, (oid, matrix[oid].reason)
    exposure = matrix["CCPA-1798.150"].exposure or ""
    assert exposure.startswith("private right of action exposure: yes, because cards")
    assert "card" in exposure


def test_no_transfers_declared_takes_chapter_v_out_of_scope(wellrun: ScanReport) -> None:
    matrix = rows(wellrun)
    for oid in ("GDPR-44", "GDPR-45", "GDPR-46"):
        row = matrix[oid]
        assert row.status is MatrixStatus.NOT_APPLICABLE, (oid, row.reason)
        assert row.applicability and "every vendor processes in the EEA (DE)" in str(
            row.applicability["because"]
        )
    # not selling or sharing: the opt-out duties are out of scope too, with the declaration
    assert matrix["CCPA-1798.135"].status is MatrixStatus.NOT_APPLICABLE
    assert "sells_or_shares: false" in matrix["CCPA-1798.135"].reason


@pytest.mark.parametrize(
    ("declared", "transfer_fails"),
    [
        ("dpf_certified: true", False),
        ("dpf_certified: false", True),
        ("transfer_mechanism: dpf", True),  # claiming the framework is not being certified
        ("transfer_mechanism: scc", False),
    ],
)
def test_a_us_vendor_is_adequate_only_when_dpf_certified(
    tmp_path: Path, declared: str, transfer_fails: bool
) -> None:
    folder = shop(tmp_path, "wellrun", {"country: DE": f"country: US\n      {declared}"})
    report = scan_folder(folder, Selection(only=("VENDOR-CONTRACTS",)))
    keys = {r.key for r in report.results if r.status.value == "fail"}
    assert ("transfer" in keys) is transfer_fails
    matrix = rows(report)
    # the US is outside the EEA: Chapter V applies either way
    assert matrix["GDPR-46"].status is (
        MatrixStatus.FAILING if transfer_fails else MatrixStatus.DECLARED
    )


def test_all_passing_meets_only_fully_covered_obligations(wellrun: ScanReport) -> None:
    assert not [r for r in wellrun.results if r.status.value == "fail"], [
        (r.check_id, r.message) for r in wellrun.results if r.status.value == "fail"
    ]
    matrix = rows(wellrun)
    met = {oid for oid, r in matrix.items() if r.status is MatrixStatus.MET}
    assert "PCI-7.2.4" in met  # an attested access review covers 7.2.4 in full
    for oid in met:
        assert matrix[oid].coverage.level == "full", oid
        assert "declared" not in matrix[oid].evidence_sources, oid
    partial = [r for r in matrix.values() if r.status is MatrixStatus.PARTIAL]
    assert partial and all(r.coverage.level == "partial" for r in partial)
    # no storefront was scanned: what only a storefront shows stays unassessed
    assert matrix["PCI-4.2.1"].status is MatrixStatus.NOT_ASSESSED
    tls = next(e for e in matrix["PCI-4.2.1"].evidence if e.check_id == "TLS-LEGACY-PROTOCOL")
    assert tls.label == "not assessed (out of scope)"


def test_cyber_audit_applicability_and_first_due_date(tmp_path: Path) -> None:
    folder = shop(
        tmp_path,
        "wellrun",
        {
            "controls:\n": (
                "controls:\n  business:\n    annual_revenue_usd: 120000000\n"
                "    consumers: 300000\n    sensitive_data_consumers: 1000\n"
                "    revenue_share_selling_sharing_percent: 0\n"
            )
        },
    )
    report = scan_folder(folder, Selection(only=("ACCESS-*", "PRIV-*")))
    audit: FrameworkMatrix = matrices_for_report(report, ["ccpa-cyber-audit"])[0]
    assert audit.applicability is not None
    assert audit.applicability["applies"] is True
    assert audit.applicability["first_due"] == "2028-04-01"
    assert "300,000 consumers" in audit.applicability["because"]
    ids = {r.obligation.id for r in audit.rows}
    assert {"CYA-AUTHENTICATION", "CYA-ENCRYPTION", "CYA-INCIDENT", "CYA-VENDORS"} <= ids
    assert all(r.expected_checks for r in audit.rows)
