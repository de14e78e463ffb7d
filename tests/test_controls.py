"""Declared controls: a careless shop and a well-run one, with their evidence files; every check
fails and passes for the right reason; contradictions; the card detector; bad input."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from posture.checks.collectors.card_data import issuer, luhn, scan_text
from posture.config import load_config
from posture.engine import ScanRequest, scan
from posture.errors import ConfigError
from posture.model import Result, Severity, Status, TargetKind
from posture.plugin import ScanOptions
from posture.scanreport import ScanReport

from .conftest import FIXTURES, RunCli

NOW = dt.datetime(2026, 11, 24, 12, tzinfo=dt.UTC)


def run(folder: Path) -> ScanReport:
    return scan(
        ScanRequest(
            config=load_config(folder / "posture.yaml"), options=ScanOptions(now=NOW, timeout=2)
        )
    )


@pytest.fixture(scope="module")
def shops(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, ScanReport]]:
    out = {}
    for name, key_mode in (("careless", 0o644), ("wellrun", 0o600)):
        folder = tmp_path_factory.mktemp(name)
        shutil.copytree(FIXTURES / "controls" / name, folder, dirs_exist_ok=True)
        (folder / "wg0.conf").chmod(key_mode)  # git keeps no modes: set them here
        out[name] = run(folder)
    yield out


def failing(report: ScanReport, check_id: str) -> list[Result]:
    return [r for r in report.results if r.check_id == check_id and r.status is Status.FAIL]


def keys(report: ScanReport, check_id: str) -> set[str | None]:
    return {r.key for r in failing(report, check_id)}


DECLARED_CHECKS = [
    "ACCESS-VPN-REQUIRED",
    "ACCESS-MFA",
    "ACCESS-PASSWORD-POLICY",
    "ACCESS-REVIEW",
    "ACCESS-OFFBOARDING",
    "ENC-DATASTORE-AT-REST",
    "BACKUP-SEPARATION",
    "BACKUP-RESTORE-TEST",
    "PAY-STORES-CARD-DATA",
    "PAY-CARD-DATA-ON-SERVERS",
    "PAY-DEBIT-ACCEPTED",
    "VENDOR-CONTRACTS",
    "PRIV-RETENTION",
    "PRIV-INCIDENT-PLAN",
    "PRIV-TABLETOP",
    "PRIV-TRAINING",
    "PRIV-RECORDS",
    "CTRL-ATTESTATION-RENEWAL",
    "ACCESS-VPN-CONFIG",
    "ACCESS-SSHD-CONFIG",
    "ACCESS-NGINX-CONFIG",
    "PAY-CARD-DATA-IN-REPO",
]


@pytest.mark.parametrize("check_id", DECLARED_CHECKS)
def test_careless_fails_and_wellrun_passes(shops: dict[str, ScanReport], check_id: str) -> None:
    assert failing(shops["careless"], check_id), check_id
    assert failing(shops["wellrun"], check_id) == [], [
        r.message for r in failing(shops["wellrun"], check_id)
    ]


def test_reasons(shops: dict[str, ScanReport]) -> None:
    bad = shops["careless"]
    assert keys(bad, "ACCESS-MFA") == {"admins", "staff"}
    assert (
        next(r for r in failing(bad, "ACCESS-MFA") if r.key == "admins").severity
        is Severity.CRITICAL
    )
    assert keys(bad, "ACCESS-PASSWORD-POLICY") == {"length", "rotation"}
    assert keys(bad, "BACKUP-SEPARATION") == {"account", "region", "encrypted", "immutable", "none"}
    assert keys(bad, "PAY-STORES-CARD-DATA") == {"cvv"}
    assert keys(bad, "VENDOR-CONTRACTS") == {
        "dpa",
        "transfer",
        "review",
        "minimisation",
        "ccpa",
        "breach",
    }
    minimisation = next(r for r in failing(bad, "VENDOR-CONTRACTS") if r.key == "minimisation")
    assert "orders, payment" in minimisation.message
    assert keys(bad, "ENC-DATASTORE-AT-REST") == {"off", "keys"}
    assert failing(bad, "PAY-DEBIT-ACCEPTED")[0].severity is Severity.LOW  # policy data
    plan = " ".join(r.message for r in failing(bad, "PRIV-INCIDENT-PLAN"))
    assert "72 hours" in plan and "without undue delay" in plan
    assert keys(bad, "PRIV-INCIDENT-PLAN") == {
        "authority-72h",
        "customers",
        "breach-register",
        "california-30-days",
        "attorney-general",
    }
    # evidence sources stay apart
    assert failing(bad, "ACCESS-MFA")[0].evidence_source.value == "declared"
    assert failing(bad, "ACCESS-REVIEW")[0].evidence_source.value == "attested"
    assert failing(bad, "ACCESS-SSHD-CONFIG")[0].evidence_source.value == "observed"


def test_evidence_files_point_at_lines(shops: dict[str, ScanReport]) -> None:
    bad = shops["careless"]
    sshd = {r.key: r for r in failing(bad, "ACCESS-SSHD-CONFIG")}
    assert {"password", "root", "ciphers", "macs", "max-auth-tries"} <= set(sshd)
    assert sshd["root"].location is not None and sshd["root"].location.start_line == 2
    vpn = {r.key for r in failing(bad, "ACCESS-VPN-CONFIG")}
    assert {"key-mode", "tunnel-contradiction", "no-tls-crypt", "tls-min"} <= vpn
    assert any(k and k.startswith("cipher:") for k in vpn)
    nginx = {r.key for r in failing(bad, "ACCESS-NGINX-CONFIG")}
    assert "location /admin" in nginx and any(k and k.startswith("protocols:") for k in nginx)


def test_card_detector(shops: dict[str, ScanReport]) -> None:
    found = failing(shops["careless"], "PAY-CARD-DATA-IN-REPO")
    numbers = {r.evidence["masked"]: r for r in found if "masked" in r.evidence}
    assert set(numbers) == {"455673******9855", "411111******1111"}
    assert (
        numbers["411111******1111"].severity is Severity.INFO
        and numbers["411111******1111"].evidence["test_number"]
    )
    assert numbers["455673******9855"].severity is Severity.CRITICAL
    columns = {r.evidence["column"]: r.severity for r in found if "column" in r.evidence}
    assert columns == {"card_number": Severity.HIGH, "cvv": Severity.CRITICAL}
    everything = repr([r.to_dict() for r in shops["careless"].results])
    assert "4556737586899855" not in everything and "4556 7375 8689 9855" not in everything


@pytest.mark.parametrize(
    ("line", "found"),
    [
        ("card 4556737586899855", ["455673******9855"]),
        ("card 4556737586899856", []),  # Luhn-invalid
        ("id 1234567812345678", []),  # no issuer range
        ("short 455673758689", []),  # too short
        ("amex 3782 822463 10005", ["378282*****0005"]),
        ("version 4.5567.3758.6899.855", []),
    ],
)
def test_card_number_near_misses(line: str, found: list[str]) -> None:
    numbers, _ = scan_text("f.txt", line, schema_like=False)
    assert [n.masked for n in numbers] == found


@pytest.mark.parametrize(
    ("line", "columns"),
    [
        ('t.string "cvv_response_code"', []),  # the processor's answer, not a stored code
        ("cvv varchar(4),", ["cvv"]),
        ("card_cvv TEXT", ["card_cvv"]),
        ("card_number varchar(19)", ["card_number"]),
    ],
)
def test_card_data_columns(line: str, columns: list[str]) -> None:
    _, found = scan_text("db/migrate/001.sql", line, schema_like=True)
    assert [c.column for c in found] == columns


def test_synthetic_numbers_count_as_test_numbers() -> None:
    numbers, _ = scan_text("spec.rb", "5500 0000 0000 0004", schema_like=False)
    assert [(n.masked, n.test_number) for n in numbers] == [("550000******0004", True)]


def test_luhn_and_issuers() -> None:
    assert luhn("4111111111111111") and not luhn("4111111111111112")
    assert issuer("5555555555554444") == "mastercard" and issuer("6011111111111117") == "discover"


def test_contradiction_between_declaration_and_iac(tmp_path: Path) -> None:
    folder = tmp_path / "shop"
    shutil.copytree(FIXTURES / "controls" / "careless", folder)
    (folder / "infra").mkdir()
    (folder / "infra" / "main.tf").write_text(
        'provider "aws" {\n  region = "eu-west-1"\n}\n'
        'resource "aws_db_instance" "orders" {\n  engine = "postgres"\n  instance_class = "db.t3.micro"\n'
        "  storage_encrypted = false\n  backup_retention_period = 7\n}\n"
    )
    text = (
        (folder / "posture.yaml")
        .read_text()
        .replace("configs:", "iac:\n  - path: infra\nconfigs:", 1)
    )
    text = text.replace(
        "encryption: {enabled: false}", "encryption: {enabled: true, key_management: kms}"
    )
    (folder / "posture.yaml").write_text(text)
    report = run(folder)
    enc = failing(report, "ENC-DECLARED-VS-IAC")
    assert enc and "CKV_AWS_16" in enc[0].message
    backup = failing(report, "BACKUP-DECLARED-VS-IAC")
    assert backup and "IAC-RDS-NO-CROSS-REGION-BACKUP" in backup[0].message


def test_attestation_renewal_uses_the_clock(shops: dict[str, ScanReport]) -> None:
    expired = {r.key for r in failing(shops["careless"], "CTRL-ATTESTATION-RENEWAL")}
    assert expired == {"controls.access.access_review", "controls.privacy.security_training"}


@pytest.mark.parametrize(
    ("snippet", "words"),
    [
        (
            "controls:\n  vendors:\n    - service: analytics\n",
            "vendors.0.name: required key is missing",
        ),
        (
            "controls:\n  vendors:\n    - name: X\n      dpa_signed: last spring\n",
            "vendors.0.dpa_signed",
        ),
        ("controls:\n  payments:\n    integration: carrier-pigeon\n", "payments.integration"),
    ],
)
def test_bad_manifests_are_config_errors(tmp_path: Path, snippet: str, words: str) -> None:
    (tmp_path / "posture.yaml").write_text("version: 1\n" + snippet)
    with pytest.raises(ConfigError, match=words.replace(".", r"\.")):
        load_config(tmp_path / "posture.yaml")


def test_binary_and_huge_evidence_files_are_errors_naming_them(
    tmp_path: Path, run_cli: RunCli
) -> None:
    (tmp_path / "binary.conf").write_bytes(b"\x7fELF\x00\x00\x01" * 100)
    with (tmp_path / "huge.conf").open("wb") as handle:
        handle.truncate(100 * 1024 * 1024)  # sparse: costs no disk
    (tmp_path / "sshd_config").write_text("PermitRootLogin yes\n")
    (tmp_path / "posture.yaml").write_text(
        "version: 1\nconfigs:\n  - path: binary.conf\n    kind: sshd\n  - path: huge.conf\n    kind: nginx\n"
        "  - path: sshd_config\ncontrols:\n  payments: {scan_repository: false}\n"
    )
    report = run(tmp_path)
    errors = {r.target: r.message for r in report.results if r.status is Status.ERROR}
    assert "binary file" in errors["binary.conf"]
    assert "over the" in errors["huge.conf"]
    assert failing(report, "ACCESS-SSHD-CONFIG")  # the good file is still checked
    assert all(r.target_kind is not TargetKind.REPOSITORY for r in report.results)


def test_privacy_policy_fetched_from_a_real_server(tmp_path: Path) -> None:
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    pages = {
        "/privacy": b"<html><body><h1>Privacy</h1><p>We collect your name. Contact us.</p></body></html>",
        "/": b"<html><body><a href='/p'>Do Not Sell or Share My Personal Information</a></body></html>",
    }

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            return

        def do_GET(self) -> None:  # noqa: N802
            if self.path == "/slow":
                threading.Event().wait(5)
            body = pages.get(self.path)
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(body or b"")

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    try:
        (tmp_path / "posture.yaml").write_text(
            f"version: 1\nstorefronts:\n  - url: http://127.0.0.1:{port}/\n"
            f"controls:\n  privacy:\n    policy_url: http://127.0.0.1:{port}/privacy\n    sells_or_shares: true\n"
            "  payments: {scan_repository: false}\n"
        )
        report = scan(
            ScanRequest(
                config=load_config(tmp_path / "posture.yaml"),
                options=ScanOptions(now=NOW, timeout=1),
                selection=__import__("posture.runner", fromlist=["Selection"]).Selection(
                    only=("PRIV-*",)
                ),
            )
        )
        content = failing(report, "PRIV-POLICY-CONTENT")[0]
        assert (
            "purposes" in content.evidence["missing"]
            and "contact" not in content.evidence["missing"]
        )
        opt = failing(report, "PRIV-OPT-OUT")[0]
        assert opt.key == "gpc" and "cannot prove" in opt.evidence["note"]
        slow = tmp_path / "slow.yaml"
        slow.write_text((tmp_path / "posture.yaml").read_text().replace("/privacy", "/slow"))
        timed = scan(
            ScanRequest(
                config=load_config(slow),
                options=ScanOptions(now=NOW, timeout=1),
                selection=__import__("posture.runner", fromlist=["Selection"]).Selection(
                    only=("PRIV-POLICY-CONTENT",)
                ),
            )
        )
        assert [r.status for r in timed.results] == [Status.ERROR]
        assert "no answer within 1 s" in timed.results[0].message
    finally:
        server.shutdown()


def _scan_phase(
    check: object, results: list[Result], config_text: str, tmp_path: Path
) -> list[object]:
    from posture.model import Target
    from posture.plugin import CheckContext
    from posture.policy import Policy
    from posture.runner import ScanFacts

    (tmp_path / "posture.yaml").write_text(config_text)
    config = load_config(tmp_path / "posture.yaml")
    ctx = CheckContext(Target(TargetKind.SCAN, "scan"), Policy.load(), config, NOW)
    return list(check(ScanFacts(tuple(results), ()), ctx))  # type: ignore[operator]


def _inventory(origins: list[str]) -> Result:
    from posture.model import Area

    return Result(
        "WEB-THIRD-PARTY-INVENTORY",
        "inventory",
        Area.VENDOR,
        Severity.INFO,
        Status.PASS,
        "https://shop.example/",
        TargetKind.STOREFRONT,
        evidence={
            "origins": [
                {"origin": o, "pages": ["https://shop.example/"], "kinds": ["script"]}
                for o in origins
            ]
        },
    )


def test_undeclared_third_parties(tmp_path: Path) -> None:
    from posture.checks.vendor import undeclared

    config = (
        "version: 1\ncontrols:\n  vendors:\n    - name: Pay\n      domains: [payments.example]\n"
        "  payments: {scan_repository: false}\n"
    )
    out = _scan_phase(
        undeclared,
        [_inventory(["https://js.payments.example", "https://cdn.tracker.example"])],
        config,
        tmp_path,
    )
    fails = [o for o in out if o.status is Status.FAIL]  # type: ignore[attr-defined]
    assert [o.resource for o in fails] == ["cdn.tracker.example"]  # type: ignore[attr-defined]


def test_trackers_without_an_opt_out_link(tmp_path: Path) -> None:
    from posture.checks.privacy import tracking_without_opt_out

    config = "version: 1\ncontrols:\n  payments: {scan_repository: false}\n"
    out = _scan_phase(
        tracking_without_opt_out,
        [_inventory(["https://www.googletagmanager.com"])],
        config,
        tmp_path,
    )
    assert [o.status for o in out] == [Status.FAIL]  # type: ignore[attr-defined]
    out = _scan_phase(
        tracking_without_opt_out, [_inventory(["https://js.payments.example"])], config, tmp_path
    )
    # no tracker: a pass that says so (evidence for the opt-out obligations), never silence
    assert [o.status for o in out] == [Status.PASS]  # type: ignore[attr-defined]
