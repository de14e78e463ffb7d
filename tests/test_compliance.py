"""Frameworks and the mapping as data; the obligation matrix's status rules."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from posture._yaml import load_yaml_text
from posture.compliance import (
    CatalogueCheck,
    MatrixStatus,
    all_obligations,
    apply_obligations,
    check_mapping_names_known_checks,
    load_frameworks,
    load_mapping,
    obligation_matrix,
    parse_framework,
    parse_mapping,
)
from posture.errors import ConfigError
from posture.model import Area, Result, Severity, Status, TargetKind, Waiver
from posture.registry import load_registry

from .conftest import RunCli

REQUIRED = {
    "gdpr": [
        "GDPR-5-1-c",
        "GDPR-5-1-e",
        "GDPR-5-1-f",
        "GDPR-12",
        "GDPR-13",
        "GDPR-14",
        "GDPR-17",
        "GDPR-21-2",
        "GDPR-21-5",
        "GDPR-5-1-a",
        "GDPR-5-2",
        "GDPR-28-2-4",
        "GDPR-33-5",
        "GDPR-24",
        "GDPR-25",
        "GDPR-28",
        "GDPR-30",
        "GDPR-32-1-a",
        "GDPR-32-1-b",
        "GDPR-32-1-c",
        "GDPR-32-1-d",
        "GDPR-32-4",
        "GDPR-33",
        "GDPR-34",
        "GDPR-34-3-a",
        "GDPR-44",
        "GDPR-45",
        "GDPR-46",
    ],
    "ccpa": [
        "CCPA-1798.100-a",
        "CCPA-1798.100-e",
        "CCPA-1798.110",
        "CCPA-1798.115",
        "CCPA-1798.120",
        "CCPA-1798.100-d",
        "CCPA-1798.106",
        "CCPA-1798.125",
        "CIV-1798.81.5-c",
        "CCPA-REG-7053",
        "CCPA-1798.130",
        "CCPA-1798.135",
        "CCPA-1798.140",
        "CCPA-1798.150",
        "CIV-1798.81.5",
        "CIV-1798.82",
        "CCPA-REG-7011",
        "CCPA-REG-7013",
        "CCPA-REG-7025",
        "CCPA-REG-7026",
        "CCPA-REG-7051",
    ],
    "pci-dss": [
        "PCI-3.3.1",
        "PCI-8.4.1",
        "PCI-8.4.3",
        "PCI-12.10.2",
        "PCI-3.5.1",
        "PCI-4.2.1",
        "PCI-6.4.3",
        "PCI-8.3.6",
        "PCI-8.4.2",
        "PCI-12.8",
        "PCI-12.10",
    ],
}


def test_frameworks_validate_and_hold_the_required_obligations() -> None:
    frameworks = load_frameworks()
    for fw, ids in REQUIRED.items():
        have = {o.id for o in frameworks[fw].obligations}
        assert set(ids) <= have, set(ids) - have
        for ob in frameworks[fw].obligations:
            assert ob.url.startswith("https://") and ob.citation and len(ob.summary) > 20


def test_every_builtin_check_maps_or_says_why_not() -> None:
    registry = load_registry()
    mapping = load_mapping()
    check_mapping_names_known_checks(mapping, registry.checks)
    unmapped = [
        s.id
        for s in registry.checks.values()
        if not mapping.obligations_for(s.id, s.area.value) and s.id not in mapping.not_relevant
    ]
    assert unmapped == []


def test_mapping_errors_name_file_and_entry() -> None:
    text = "areas: {}\nchecks:\n  TLS-X:\n    - obligation: GDPR-99\n      rationale: a typo in the id\n"
    with pytest.raises(ConfigError) as err:
        parse_mapping(load_yaml_text(text, "m.yaml"), "m.yaml", all_obligations())
    assert "m.yaml:4" in str(err.value) and "unknown obligation 'GDPR-99'" in str(err.value)
    with pytest.raises(ConfigError, match="mapping names unknown check 'NOPE'"):
        mapping = parse_mapping(
            load_yaml_text(
                "areas: {}\nchecks:\n  NOPE:\n    - {obligation: GDPR-25, rationale: ten chars at least}\n",
                "m",
            ),
            "m",
            all_obligations(),
        )
        check_mapping_names_known_checks(mapping, ["TLS-LEGACY-PROTOCOL"])
    with pytest.raises(ConfigError, match="m.yaml:2.*areas"):
        parse_mapping(load_yaml_text("checks: {}\nareas: {nonsense: []}\n", "m.yaml"), "m.yaml", [])


def test_framework_with_duplicate_id_is_rejected() -> None:
    one = {
        "checked": "2026-11-30",
        "citation": "Art. 1",
        "title": "t",
        "summary": "a summary long enough",
        "url": "https://x",
    }
    text = json.dumps(
        {
            "id": "x",
            "name": "X",
            "version": "1",
            "source": "https://x",
            "obligations": [{"id": "X-1", **one}, {"id": "X-1", **one}],
        },
        indent=1,
    )
    with pytest.raises(ConfigError, match="duplicate obligation id 'X-1'") as err:
        parse_framework(load_yaml_text(text, "x.yaml"), "x.yaml", {})
    assert "x.yaml:" in str(err.value)


def result(
    check_id: str,
    status: Status,
    severity: Severity = Severity.HIGH,
    area: Area = Area.TLS,
    waived: bool = False,
) -> Result:
    return Result(
        check_id,
        "t",
        area,
        severity,
        status,
        "https://shop",
        TargetKind.STOREFRONT,
        waiver=Waiver("accepted", "test") if waived else None,
    )


TLS_ONLY = {
    "TLS-LEGACY-PROTOCOL": CatalogueCheck("tls", "storefront"),
    "TLS-WEAK-CIPHER": CatalogueCheck("tls", "storefront"),
}


def row(
    results: list[Result],
    obligation: str,
    expected: dict[str, str] | None = None,
    catalogue: dict[str, CatalogueCheck] | None = None,
) -> MatrixStatus:
    framework = "pci-dss" if obligation.startswith("PCI") else "gdpr"
    rows = obligation_matrix(
        apply_obligations(results),
        framework,
        expected,
        checks=catalogue
        if catalogue is not None
        else {"TLS-LEGACY-PROTOCOL": TLS_ONLY["TLS-LEGACY-PROTOCOL"]},
    )
    return next(r for r in rows if r.obligation.id == obligation).status


def test_status_rules() -> None:
    ob = "GDPR-32-1-a"
    assert row([result("TLS-LEGACY-PROTOCOL", Status.FAIL)], ob) is MatrixStatus.FAILING
    assert (
        row([result("TLS-LEGACY-PROTOCOL", Status.FAIL, Severity.LOW)], ob) is MatrixStatus.AT_RISK
    )
    assert row([result("TLS-LEGACY-PROTOCOL", Status.ERROR)], ob) is MatrixStatus.AT_RISK
    # Art. 32(1)(a) is only partly covered by checks: never "met", at best partial evidence
    assert row([result("TLS-LEGACY-PROTOCOL", Status.PASS)], ob) is MatrixStatus.PARTIAL
    assert row([], ob) is MatrixStatus.NOT_ASSESSED
    # never on missing evidence: a second expected check from the catalogue did not run, even
    # when the scan's selection (--only) left it out
    expected = {"TLS-LEGACY-PROTOCOL": "tls"}
    assert (
        row([result("TLS-LEGACY-PROTOCOL", Status.PASS)], ob, expected, TLS_ONLY)
        is MatrixStatus.NOT_ASSESSED
    )
    # a check that could not test ("skipped") is not evidence
    assert row([result("TLS-LEGACY-PROTOCOL", Status.SKIPPED)], ob) is MatrixStatus.NOT_ASSESSED


def test_waived_failures_are_accepted_risk_never_met() -> None:
    results = apply_obligations(
        [
            result("TLS-LEGACY-PROTOCOL", Status.WAIVED, waived=True),
            result("TLS-WEAK-CIPHER", Status.PASS),
        ]
    )
    rows = {r.obligation.id: r for r in obligation_matrix(results, "gdpr", checks=TLS_ONLY)}
    assert rows["GDPR-32-1-a"].status is MatrixStatus.ACCEPTED_RISK
    assert [r.check_id for r in rows["GDPR-32-1-a"].waived] == ["TLS-LEGACY-PROTOCOL"]
    assert "waived by" in rows["GDPR-32-1-a"].reason


def test_inventory_alone_never_meets_an_area_obligation() -> None:
    inventory = result("WEB-THIRD-PARTY-INVENTORY", Status.PASS, Severity.INFO, Area.VENDOR)
    assert row([inventory], "GDPR-28") is MatrixStatus.NOT_ASSESSED


@pytest.fixture(scope="module")
def demo_result(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    import subprocess
    import sys

    folder = tmp_path_factory.mktemp("demo")
    subprocess.run(
        [sys.executable, "-m", "posture", "demo", "--dir", str(folder)],
        capture_output=True,
        check=True,
        timeout=300,
    )
    yield folder / "posture-result.json"


def test_known_bad_shop_fails_gdpr_and_ccpa(demo_result: Path, run_cli: RunCli) -> None:
    document = json.loads(demo_result.read_text())
    mapping = load_mapping()
    assert all(
        r["obligations"] or r["check_id"] in mapping.not_relevant
        for r in document["results"]
        if r["status"] == "fail" and r["severity"] != "info"  # a known test card number
    )
    proc = run_cli("compliance", "--from", str(demo_result), "--format", "json")
    assert proc.returncode == 1
    matrix = {
        fw["id"]: {o["id"]: o["status"] for o in fw["obligations"]}
        for fw in json.loads(proc.stdout)["frameworks"]
    }
    assert matrix["gdpr"]["GDPR-32-1-a"] == "failing"
    assert matrix["gdpr"]["GDPR-5-1-f"] == "failing"
    assert matrix["ccpa"]["CCPA-1798.100-e"] == "failing"
    assert matrix["pci-dss"]["PCI-6.4.3"] == "failing"
    assert matrix["gdpr"]["GDPR-17"] == "failing"  # the demo declares no retention periods
    # Analytics Co processes in the US, is not declared DPF-certified and has no mechanism
    assert matrix["gdpr"]["GDPR-44"] == "failing"
    # the demo's stores declare contact, address and orders, but its repository has card_number
    # and cvv columns: the exposure cannot be ruled out, and the California notice duties apply
    assert matrix["ccpa"]["CCPA-1798.150"] == "not assessed"
    assert matrix["ccpa"]["CIV-1798.82"] == "failing"
    assert "met" not in matrix["pci-dss"].values()
    # the demo declares its business figures: the cybersecurity audit applies, first due 2029
    audit = next(
        fw for fw in json.loads(proc.stdout)["frameworks"] if fw["id"] == "ccpa-cyber-audit"
    )
    assert audit["applicability"]["applies"] is True
    assert audit["applicability"]["first_due"] == "2029-04-01"
    terminal = run_cli("compliance", "--from", str(demo_result), "--evidence").stdout
    for label in ("coverage partial", "evidence: ", "not assessed (", "(exposure)"):
        assert label in terminal, label
    md = run_cli("compliance", "--from", str(demo_result), "--format", "md", "--framework", "ccpa")
    assert "| Reasonable security |" in md.stdout
    assert "private right of action exposure: unknown, because the scan found card" in md.stdout


def test_checks_list_and_explain_show_obligations(run_cli: RunCli) -> None:
    listing = {c["id"]: c for c in json.loads(run_cli("checks", "list", "--format", "json").stdout)}
    assert "PCI-4.2.1" in listing["TLS-LEGACY-PROTOCOL"]["obligations"]
    explained = run_cli("explain", "WEB-SCRIPT-INTEGRITY").stdout
    assert "PCI-6.4.3" in explained and "why:" in explained


def test_shipped_policy_files_pass_the_strict_reader_and_their_schemas() -> None:
    """At run time shipped YAML is read with libyaml and without its schema (start-up cost);
    this is where the strict reading happens instead: duplicate keys, aliases, schema."""
    root = Path(__file__).resolve().parent.parent / "policies"
    known = set()
    for path in sorted((root / "frameworks").glob("*.yaml")):
        data = load_yaml_text(path.read_text(encoding="utf-8"), path.name)
        framework = parse_framework(data, path.name, {}, validate=True)
        known |= {o.id for o in framework.obligations}
    mapping_path = root / "mappings" / "obligations.yaml"
    parse_mapping(
        load_yaml_text(mapping_path.read_text(encoding="utf-8"), mapping_path.name),
        mapping_path.name,
        known,
        validate=True,
    )
    profiles = sorted((root / "profiles").glob("*/*.yaml"))
    assert profiles
    for path in profiles:
        assert isinstance(load_yaml_text(path.read_text(encoding="utf-8"), str(path)), dict)


def test_a_slip_in_shipped_data_is_still_reported_with_its_schema_message() -> None:
    """The fast path skips the schema; a shipped file that breaks it must still fail clearly."""
    text = "id: x\nname: X\nversion: '1'\nsource: https://example.org\nobligations:\n  - id: X-1\n"
    with pytest.raises(KeyError):
        parse_framework(load_yaml_text(text, "x.yaml"), "x.yaml", {}, validate=False)
    with pytest.raises(ConfigError, match=r"x.yaml:6: .*required"):
        parse_framework(load_yaml_text(text, "x.yaml"), "x.yaml", {})


def test_every_obligation_names_its_official_source_and_the_date_checked() -> None:
    """Read from the files, not the loader: a missing field must fail here by name."""
    import datetime as dt

    root = Path(__file__).resolve().parent.parent / "policies" / "frameworks"
    official = (
        "https://eur-lex.europa.eu/",
        "https://leginfo.legislature.ca.gov/",
        "https://cppa.ca.gov/",
        "https://www.pcisecuritystandards.org/",
    )
    seen = 0
    for path in sorted(root.glob("*.yaml")):
        data = load_yaml_text(path.read_text(encoding="utf-8"), path.name)
        for item in [*data["obligations"], *(data.get("not_in_matrix") or [])]:
            seen += 1
            where = f"{path.name}: {item.get('id') or item.get('citation')}"
            assert str(item.get("url", "")).startswith(official), where
            checked = item.get("checked")
            assert checked, f"{where}: no date checked"
            assert dt.date.fromisoformat(str(checked)) <= dt.date(2026, 11, 30), where
    assert seen > 80


def test_no_dead_rows_every_obligation_has_checks_behind_it() -> None:
    from posture.compliance import expected_checks

    dead = [oid for oid in all_obligations() if not expected_checks(oid)]
    assert dead == []


def test_compliance_doc_is_generated_from_the_data() -> None:
    import subprocess
    import sys

    root = Path(__file__).resolve().parent.parent
    proc = subprocess.run(
        [sys.executable, str(root / "tools" / "gen_compliance_doc.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    doc = (root / "docs" / "compliance.md").read_text(encoding="utf-8")
    for oid in all_obligations():
        assert f"| {oid} |" in doc, oid


def keyed(
    check_id: str,
    area: Area,
    key: str | None = None,
    evidence: dict[str, object] | None = None,
    status: Status = Status.FAIL,
) -> Result:
    return Result(
        check_id,
        "t",
        area,
        Severity.HIGH,
        status,
        "controls",
        TargetKind.CONTROLS,
        key=key,
        evidence=evidence or {},
    )


def test_over_claims_the_issue_lists_are_gone() -> None:
    mapping = load_mapping()

    def obligations(result: Result) -> set[str]:
        return set(mapping.obligations_for_result(result))

    # a vendor missing only its DPA does not fail the transfer articles, and the reverse
    dpa = obligations(keyed("VENDOR-CONTRACTS", Area.VENDOR, "dpa"))
    assert "GDPR-28" in dpa and not {"GDPR-44", "GDPR-45", "GDPR-46"} & dpa
    transfer = obligations(keyed("VENDOR-CONTRACTS", Area.VENDOR, "transfer"))
    assert {"GDPR-44", "GDPR-45", "GDPR-46"} <= transfer and "GDPR-28" not in transfer
    review = obligations(keyed("VENDOR-CONTRACTS", Area.VENDOR, "review"))
    assert "GDPR-46" not in review
    # PCI 12.8 only for vendors that handle account data
    assert "PCI-12.8" not in obligations(
        keyed("VENDOR-CONTRACTS", Area.VENDOR, "dpa", {"data_categories": ["contact"]})
    )
    assert "PCI-12.8" in obligations(
        keyed("VENDOR-CONTRACTS", Area.VENDOR, "dpa", {"data_categories": ["payment"]})
    )
    # an image from an undeclared host is not a payment-page script; a script on a page that
    # is not a payment page is not PCI 6.4.3 either
    assert "PCI-6.4.3" not in obligations(keyed("VENDOR-UNDECLARED", Area.VENDOR, "x"))
    script = {"script": "https://cdn.example/x.js", "payment_page": False}
    assert "PCI-6.4.3" not in obligations(keyed("WEB-SCRIPT-INTEGRITY", Area.WEB, "p", script))
    script["payment_page"] = True
    assert "PCI-6.4.3" in obligations(keyed("WEB-SCRIPT-INTEGRITY", Area.WEB, "p", script))
    # logging rules and security.txt are not breach notification
    assert "GDPR-33" not in obligations(keyed("CKV_AWS_18", Area.LOGGING))
    assert "GDPR-33" not in obligations(keyed("WEB-SECURITY-TXT", Area.WEB))
    # debit cards are a business choice
    assert obligations(keyed("PAY-DEBIT-ACCEPTED", Area.PAYMENT)) == set()
    # admin MFA is 8.4.1 (and 8.4.2); staff MFA is 8.4.2 only
    assert {"PCI-8.4.1", "PCI-8.4.2"} <= obligations(keyed("ACCESS-MFA", Area.ACCESS, "admins"))
    assert "PCI-8.4.1" not in obligations(keyed("ACCESS-MFA", Area.ACCESS, "staff"))
    # the opt-out link and the signal are separate duties
    assert "CCPA-REG-7025" not in obligations(keyed("PRIV-OPT-OUT", Area.PRIVACY, "link"))
    assert "CCPA-REG-7013" not in obligations(keyed("PRIV-OPT-OUT", Area.PRIVACY, "gpc"))
    # a "no sale or sharing declared" pass evidences nothing
    not_selling = keyed("PRIV-OPT-OUT", Area.PRIVACY, "not-selling", status=Status.PASS)
    assert obligations(not_selling) == set()
    # the missing links the issue names
    assert {"PCI-8.4.3"} <= obligations(keyed("ACCESS-VPN-REQUIRED", Area.ACCESS))
    assert "PCI-12.10.2" in obligations(keyed("PRIV-TABLETOP", Area.PRIVACY))
    tracking = obligations(keyed("PRIV-TRACKING-WITHOUT-OPT-OUT", Area.PRIVACY, "t"))
    assert {"CCPA-1798.120", "CCPA-REG-7013", "CCPA-REG-7025"} <= tracking
    notice = obligations(keyed("PRIV-POLICY-CONTENT", Area.PRIVACY, "missing"))
    assert {"GDPR-14", "CCPA-1798.110"} <= notice
    store = keyed("ENC-DATASTORE-AT-REST", Area.ENCRYPTION, "off", {"personal_data": ["card"]})
    assert {"CIV-1798.81.5", "CCPA-1798.100-e", "GDPR-5-1-f", "PCI-3.5.1"} <= obligations(store)


def test_matrix_text_masks_card_numbers_and_drops_terminal_escapes() -> None:
    from posture.compliance import build_matrices
    from posture.render import _matrix

    hostile = Result(
        "TLS-LEGACY-PROTOCOL",
        "t",
        Area.TLS,
        Severity.HIGH,
        Status.WAIVED,
        "https://shop",
        TargetKind.STOREFRONT,
        message="\x1b[2J4111111111111111",
        waiver=Waiver("\x1b]0;owned\x07card 4000056655665556 | ok", "test", "ciso", "2027-01-31"),
    )
    matrices = build_matrices(apply_obligations([hostile]), ["gdpr"])
    for text in (_matrix.as_terminal(matrices, verbose=True), _matrix.as_markdown(matrices)):
        assert "\x1b" not in text and "\x07" not in text
        assert "4000056655665556" not in text and "400005******5556" in text
