"""Paths in posture.yaml stay inside the folder that holds it (or --root): no absolute paths, no
``..`` out of it, no committed symlink leading out; collectors walking a tree do not follow
symlinks out either. Card-data fingerprints do not depend on where the checkout lives."""

from __future__ import annotations

import json
import shutil
import textwrap
from pathlib import Path

import pytest

from posture.config import load_config
from posture.engine import ScanRequest, scan
from posture.errors import ConfigError
from posture.runner import Selection

from .conftest import RunCli

OUTSIDE_SECRET = "password = outside-secret-4111"

# (posture.yaml body with {p} for the path, line of the path)
FIELDS = {
    "configs": ("configs:\n  - path: {p}\n    kind: sshd\n", 3),
    "iac": ("iac:\n  - path: {p}\n", 3),
    "payments.repository": ("controls:\n  payments:\n    repository: {p}\n", 4),
    "privacy.incident_response_plan": (
        "controls:\n  privacy:\n    incident_response_plan: {p}\n",
        4,
    ),
    "privacy.records_of_processing": ("controls:\n  privacy:\n    records_of_processing: {p}\n", 4),
    "access.offboarding_process": ("controls:\n  access:\n    offboarding_process: {p}\n", 4),
    "access.vpn.config": (
        "controls:\n  access:\n    vpn:\n      required_for_admin: true\n      config: {p}\n",
        6,
    ),
    "attestation evidence": (
        "controls:\n  privacy:\n    security_training:\n      by: cso\n      date: 2026-10-01\n"
        "      evidence: {p}\n",
        7,
    ),
    "tls_profile": ("storefronts:\n  - url: https://shop.example/\n    tls_profile: {p}\n", 4),
}


@pytest.fixture
def layout(tmp_path: Path) -> tuple[Path, Path]:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "sshd_config").write_text(OUTSIDE_SECRET + "\nPermitRootLogin yes\n")
    (outside / "profile.json").write_text('{"tls_versions": ["TLSv1.3"]}')
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "escape").symlink_to(outside)
    (repo / "escape.conf").symlink_to(outside / "sshd_config")
    return repo, outside


@pytest.mark.parametrize("field", sorted(FIELDS))
@pytest.mark.parametrize("kind", ["absolute", "dotdot", "symlink"])
def test_paths_outside_the_root_are_refused_with_file_and_line(
    layout: tuple[Path, Path], field: str, kind: str
) -> None:
    repo, outside = layout
    body, line = FIELDS[field]
    file = "profile.json" if field == "tls_profile" else "sshd_config"
    folder = field in ("iac", "payments.repository")
    value = {
        "absolute": str(outside if folder else outside / file),
        "dotdot": "../outside" if folder else f"../outside/{file}",
        "symlink": "escape" if folder else f"escape/{file}",
    }[kind]
    (repo / "posture.yaml").write_text("version: 1\n" + body.format(p=value))
    with pytest.raises(ConfigError) as err:
        load_config(repo / "posture.yaml")
    message = str(err.value)
    assert f"posture.yaml:{line}:" in message, message
    assert "outside" in message and "\n" not in message


def test_paths_inside_the_root_and_explicit_root(
    layout: tuple[Path, Path], run_cli: RunCli
) -> None:
    repo, outside = layout
    (repo / "docs").mkdir()
    (repo / "docs" / "irp.md").write_text("# incident response\n")
    (repo / "sub").mkdir()
    (repo / "sub" / "posture.yaml").write_text(
        "version: 1\ncontrols:\n  privacy:\n    incident_response_plan: ../docs/irp.md\n"
    )
    with pytest.raises(ConfigError, match="outside"):
        load_config(repo / "sub" / "posture.yaml")
    assert load_config(repo / "sub" / "posture.yaml", root=repo).controls.privacy is not None
    proc = run_cli(
        "scan",
        "-c",
        "sub/posture.yaml",
        "--root",
        ".",
        "--only",
        "PRIV-INCIDENT-PLAN",
        "--format",
        "json",
        cwd=repo,
    )
    assert proc.returncode in (0, 1), proc.stderr
    # the one-line refusal through the CLI, exit 2
    (repo / "posture.yaml").write_text("version: 1\nconfigs:\n  - path: escape.conf\n")
    proc = run_cli("scan", "-c", "posture.yaml", "--format", "json", cwd=repo)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1
    assert "posture.yaml:3:" in proc.stderr and OUTSIDE_SECRET not in proc.stdout + proc.stderr


def test_repository_and_iac_walks_do_not_follow_symlinks_out(layout: tuple[Path, Path]) -> None:
    repo, outside = layout
    (outside / "cards.txt").write_text("order 4539 1488 0343 6467 paid\n")
    (outside / "public.tf").write_text(
        'resource "aws_db_instance" "leak" {\n  publicly_accessible = true\n}\n'
    )
    (repo / "infra").mkdir()
    (repo / "infra" / "ok.tf").write_text('resource "aws_s3_bucket" "b" {\n  bucket = "b"\n}\n')
    (repo / "infra" / "leak.tf").symlink_to(outside / "public.tf")
    (repo / "infra" / "mod").symlink_to(outside)
    (repo / "cards.txt").symlink_to(outside / "cards.txt")
    (repo / "escape").unlink()
    (repo / "vendored").symlink_to(outside)
    (repo / "posture.yaml").write_text("version: 1\niac:\n  - path: infra\n")
    report = scan(
        ScanRequest(
            config=load_config(repo / "posture.yaml"),
            selection=Selection(
                only=("IAC-CHECKOV", "IAC-UNREADABLE-FILE", "PAY-CARD-DATA-IN-REPO")
            ),
        )
    )
    text = json.dumps(report.to_dict())
    assert "aws_db_instance.leak" not in text and "public.tf" not in text
    assert "453914" not in text and str(outside) not in text
    assert any(r.resource == "aws_s3_bucket.b" for r in report.results)
    # what was not scanned is said, not silently passed
    refused = {
        r.resource
        for r in report.results
        if r.check_id == "IAC-UNREADABLE-FILE" and r.status.value == "error"
    }
    assert refused == {"infra/leak.tf", "infra/mod"}, refused


def test_card_data_fingerprints_do_not_depend_on_the_checkout_path(tmp_path: Path) -> None:
    fingerprints = []
    for clone in ("clone-a", "deeper/clone-b"):
        repo = tmp_path / clone
        repo.mkdir(parents=True)
        (repo / "fixtures.sql").write_text("INSERT INTO orders VALUES ('4539 1488 0343 6467');\n")
        (repo / "posture.yaml").write_text("version: 1\n")
        report = scan(
            ScanRequest(
                config=load_config(repo / "posture.yaml"),
                selection=Selection(only=("PAY-CARD-DATA-IN-REPO",)),
            )
        )
        [card] = [r for r in report.results if r.status.value == "fail"]
        assert card.location is not None and str(tmp_path) not in card.location.path
        assert str(tmp_path) not in card.target
        fingerprints.append(card.fingerprint)
        shutil.rmtree(repo)
    assert fingerprints[0] == fingerprints[1]


def test_a_baseline_made_in_one_clone_works_in_another(tmp_path: Path, run_cli: RunCli) -> None:
    for clone in ("a", "b"):
        repo = tmp_path / clone
        repo.mkdir()
        (repo / "seed.sql").write_text(
            textwrap.dedent("INSERT INTO cards VALUES ('4539148803436467');\n")
        )
        (repo / "posture.yaml").write_text("version: 1\n")
    base = ["scan", "--only", "PAY-CARD-DATA-IN-REPO", "--format", "json"]
    first = run_cli(*base, "-c", str(tmp_path / "a" / "posture.yaml"), "-o", "a.json")
    assert first.returncode == 1, first.stderr
    assert run_cli("baseline", "create", "--from", "a.json", "-o", "b.json").returncode == 0
    second = run_cli(
        *base, "-c", str(tmp_path / "b" / "posture.yaml"), "--baseline", "b.json", "--new-only"
    )
    assert second.returncode == 0, second.stdout


def test_a_symlinked_posture_yaml_leading_outside_is_not_read(
    layout: tuple[Path, Path], run_cli: RunCli
) -> None:
    repo, outside = layout
    (repo / "posture.yaml").symlink_to(outside / "sshd_config")
    proc = run_cli("scan", "-c", "posture.yaml", "--format", "json", cwd=repo)
    assert proc.returncode == 2 and "symlink leading outside" in proc.stderr
    assert OUTSIDE_SECRET not in proc.stderr and "PermitRootLogin" not in proc.stderr


def test_config_file_fingerprints_do_not_depend_on_the_checkout_path(tmp_path: Path) -> None:
    fingerprints = []
    for clone in ("one", "two/deeper"):
        repo = tmp_path / clone
        repo.mkdir(parents=True)
        (repo / "sshd_config").write_text("PermitRootLogin yes\n")
        (repo / "posture.yaml").write_text(
            "version: 1\nconfigs:\n  - path: sshd_config\n    kind: sshd\n"
        )
        report = scan(
            ScanRequest(
                config=load_config(repo / "posture.yaml"),
                selection=Selection(only=("ACCESS-SSHD-CONFIG",)),
            )
        )
        fails = [r for r in report.results if r.status.value == "fail"]
        assert fails and all(r.location and r.location.path == "sshd_config" for r in fails)
        fingerprints.append(sorted(r.fingerprint for r in fails))
    assert fingerprints[0] == fingerprints[1]
