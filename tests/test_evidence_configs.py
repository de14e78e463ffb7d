"""Evidence configs (sshd, OpenVPN, WireGuard, nginx): one good and one bad real file per topic,
read by the real daemon where it is installed and by posture's own parser."""

from __future__ import annotations

from pathlib import Path

from posture.checks.collectors.card_data import scan_text
from posture.checks.collectors.evidence_files import parse_evidence

FIXTURES = Path(__file__).parent / "fixtures" / "configs"


def test_sshd_hardening_inside_a_match_block_does_not_apply_globally() -> None:
    facts = parse_evidence(FIXTURES / "sshd" / "match-scope.bad", "sshd")
    first = next(d for d in facts.directives if d.name == "passwordauthentication")
    assert first.context, "a directive after Match belongs to that Match block"


def test_a_migration_dropping_a_cvv_column_is_the_fix() -> None:
    _, found = scan_text("db/migrate/20240101_drop_cvv.rb", "remove_column :payments, :cvv", True)
    assert found == []
