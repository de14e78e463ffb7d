"""Card-data columns where storage is defined, one small real project per framework
(tests/fixtures/card_columns/<framework>/): definitions found, mentions ignored, and a migration
dropping a column is the fix."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from posture.checks.collectors.card_columns import classify
from posture.checks.collectors.card_data import scan_repository, scan_text
from posture.config import load_config
from posture.engine import ScanRequest, scan
from posture.model import Severity, Status
from posture.plugin import ScanOptions

FIXTURES = Path(__file__).parent / "fixtures" / "card_columns"

# framework -> (live columns, columns retired or dropped), as (file, column)
EXPECTED: dict[str, tuple[set[tuple[str, str]], set[tuple[str, str]]]] = {
    "sql": (
        {("db/migrations/001_payments.sql", "card_number")},
        {("db/migrations/001_payments.sql", "cvv"), ("db/migrations/002_drop_cvv.sql", "cvv")},
    ),
    "rails": (
        {("db/schema.rb", "card_number")},
        {
            ("db/migrate/20240101000000_create_credit_cards.rb", "verification_value"),
            ("db/migrate/20240301000000_remove_verification_value.rb", "verification_value"),
        },
    ),
    "django": (
        {("shop/models.py", "card_number"), ("shop/migrations/0001_initial.py", "card_number")},
        {
            ("shop/migrations/0001_initial.py", "cvv"),
            ("shop/migrations/0002_remove_payment_cvv.py", "cvv"),
        },
    ),
    "sqlalchemy": (
        {("app/models.py", "card_number"), ("app/models.py", "card_cvc")},
        {
            ("alembic/versions/1a2b3c_add_cvv2.py", "cvv2"),
            ("alembic/versions/4d5e6f_drop_cvv2.py", "cvv2"),
        },
    ),
    "prisma": (
        {("prisma/schema.prisma", "cardNumber"), ("prisma/schema.prisma", "card_cvc")},
        set(),
    ),
    "typeorm": (
        # the entity still declares cvv: the model describes the present, whatever migrations did
        {("src/entity/Payment.ts", "cardNumber"), ("src/entity/Payment.ts", "cvv")},
        {("src/migration/1700000000000-DropCvv.ts", "cvv")},
    ),
    "sequelize": (
        {("models/payment.js", "cardNumber"), ("models/payment.js", "cvv")},
        {("migrations/20240101000000-remove-card-number.js", "cardNumber")},
    ),
    "laravel": (
        set(),
        {
            ("database/migrations/2024_01_01_000000_create_payments_table.php", "card_number"),
            ("database/migrations/2024_01_01_000000_create_payments_table.php", "cvv"),
            ("database/migrations/2024_02_01_000000_drop_card_data_from_payments.php", "cvv"),
            (
                "database/migrations/2024_02_01_000000_drop_card_data_from_payments.php",
                "card_number",
            ),
        },
    ),
    "magento": ({("app/code/Shop/Pay/etc/db_schema.xml", "cc_number_enc")}, set()),
}


@pytest.mark.parametrize("framework", sorted(EXPECTED))
def test_card_fields_per_framework(framework: str) -> None:
    facts = scan_repository(FIXTURES / framework, 2_000_000, 1000)
    live = {(c.path, c.column) for c in facts.columns}
    retired = {(c.path, c.column) for c in facts.retired}
    assert live == EXPECTED[framework][0]
    assert retired == EXPECTED[framework][1]
    assert {c.framework for c in facts.columns} <= {framework}


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("cvv", "cvv"),
        ("CVV2", "cvv"),
        ("cardCvc", "cvv"),
        ("card_security_code", "cvv"),
        ("verification_value", "cvv"),
        ("card_number", "pan"),
        ("cardNumber", "pan"),
        ("CreditCardNumber", "pan"),
        ("cc_number_enc", "pan"),
        ("cc_cid_enc", "cvv"),
        ("cc_cid_status", None),
        ("ccnum", "pan"),
        ("primary_account_number", "pan"),
        ("cvv_response_code", None),
        ("cvvCheck", None),
        ("card_last4", None),
        ("cc_last_digits", None),
        ("card_number_masked", None),
        ("card_fingerprint", None),
        ("security_code", None),  # a 2FA code as often as a CVV: only with a card prefix
        ("code", None),
        ("pan", None),  # an Indian tax id as often as a card number
        # a bare number, even in a card table: django-oscar's Bankcard.number keeps only the
        # obfuscated number (XXXX-XXXX-XXXX-1234)
        ("number", None),
    ],
)
def test_names(name: str, kind: str | None) -> None:
    assert classify(name) == kind


def test_a_migration_dropping_a_cvv_column_is_the_fix() -> None:
    _, found = scan_text("db/migrate/20240101_drop_cvv.rb", "remove_column :payments, :cvv", True)
    assert found and all(c.dropped for c in found)


def test_dropped_columns_pass_the_check(tmp_path: Path) -> None:
    shutil.copytree(FIXTURES / "laravel", tmp_path, dirs_exist_ok=True)
    (tmp_path / "posture.yaml").write_text("version: 1\n")
    report = scan(
        ScanRequest(
            config=load_config(tmp_path / "posture.yaml"),
            options=ScanOptions(now=dt.datetime(2026, 11, 24, tzinfo=dt.UTC)),
        )
    )
    results = [r for r in report.results if r.check_id == "PAY-CARD-DATA-IN-REPO"]
    assert [r.status for r in results] == [Status.PASS]
    assert "dropped by migrations" in results[0].message
    assert len(results[0].evidence["dropped_columns"]) == 4


def test_model_fields_are_findings_with_their_framework(tmp_path: Path) -> None:
    shutil.copytree(FIXTURES / "sqlalchemy", tmp_path, dirs_exist_ok=True)
    (tmp_path / "posture.yaml").write_text("version: 1\n")
    report = scan(
        ScanRequest(
            config=load_config(tmp_path / "posture.yaml"),
            options=ScanOptions(now=dt.datetime(2026, 11, 24, tzinfo=dt.UTC)),
        )
    )
    failed = {
        r.evidence["column"]: r
        for r in report.results
        if r.check_id == "PAY-CARD-DATA-IN-REPO" and r.status is Status.FAIL
    }
    assert set(failed) == {"card_number", "card_cvc"}
    assert failed["card_cvc"].severity is Severity.CRITICAL
    assert failed["card_number"].severity is Severity.HIGH
    assert "SQLAlchemy model, table payments" in failed["card_number"].message
    assert failed["card_number"].location is not None
    assert failed["card_number"].location.start_line == 12


@pytest.mark.parametrize(
    ("sql_text", "expected"),
    [
        ('ALTER TABLE "payment" ALTER COLUMN "cvv" DROP NOT NULL;', set()),
        ("ALTER TABLE payments ALTER COLUMN card_number DROP DEFAULT;", set()),
        ("DROP TABLE IF EXISTS cvv;", set()),
        ("ALTER TABLE payments DROP COLUMN IF EXISTS cvv;", {("cvv", True)}),
        ("ALTER TABLE payments ADD COLUMN card_number varchar(19);", {("card_number", False)}),
        ("CREATE TABLE t (id int, cvv2 char(4), card_last4 char(4));", {("cvv2", False)}),
    ],
)
def test_sql_statements(sql_text: str, expected: set[tuple[str, bool]]) -> None:
    _, found = scan_text("db/migrations/009.sql", sql_text, True)
    assert {(c.column, c.dropped) for c in found} == expected


def test_sql_in_typescript_migrations_spans_lines() -> None:
    text = (
        "export class Migration1 {\n  async up() {\n    this.addSql(`\n"
        '      CREATE TABLE IF NOT EXISTS "card" (\n        "id" text NOT NULL,\n'
        '        "card_number" text NOT NULL\n      );`)\n  }\n}\n'
    )
    _, found = scan_text("src/migrations/Migration1.ts", text, True)
    assert [(c.column, c.line, c.framework) for c in found] == [("card_number", 6, "mikroorm")]


def test_multi_line_decorators() -> None:
    text = (
        "@Entity()\nexport class Payment {\n"
        '  @Property({\n    columnType: "text",\n    nullable: true,\n  })\n  card_number: string\n\n'
        '  @Column({\n    name: "cvv",\n    length: 4,\n  })\n  @Index()\n  securityCode: string\n\n'
        "  @Column() @Index() cardLast4: string\n  @Column() @Index() cardNumber: string\n"
        "  @Property({ onCreate: () => new Date() })\n  created_at: Date\n}\n"
    )
    _, found = scan_text("src/models/payment.ts", text, True)
    assert [(c.column, c.line) for c in found] == [
        ("card_number", 3),
        ("cvv", 9),
        ("cardNumber", 17),
    ]
