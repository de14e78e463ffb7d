"""Payment-method policy and card data: what is accepted, whether card data is stored or touches
our servers, and card numbers or card-data columns found in the repository."""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from pathlib import Path

from posture.checks._declared import no_payments, where
from posture.checks.collectors.card_data import CardFacts, collect_card_data
from posture.checks.collectors.declared import DeclaredFacts, collect_declared
from posture.model import Area, EvidenceSource, Location, Severity, TargetKind
from posture.plugin import CheckContext, Outcome, check

__all__ = ["collect_card_data", "collect_declared"]
PCI = "https://www.pcisecuritystandards.org/document_library/"
DECLARED = EvidenceSource.DECLARED
FRAMEWORKS = {
    "sql": "SQL",
    "rails": "Rails schema/migration",
    "django": "Django model",
    "sqlalchemy": "SQLAlchemy model",
    "prisma": "Prisma schema",
    "typeorm": "TypeORM entity",
    "mikroorm": "MikroORM entity",
    "sequelize": "Sequelize model",
    "laravel": "Laravel migration",
    "magento": "Magento db_schema.xml",
}


@check(
    id="PAY-STORES-CARD-DATA",
    title="Card numbers or CVV stored",
    area=Area.PAYMENT,
    severity=Severity.CRITICAL,
    target=TargetKind.CONTROLS,
    facts="declared",
    description="CVV must never be kept after authorisation (PCI DSS 3.3.1); a stored PAN must be "
    "unreadable and brings the whole system into PCI scope (3.4, 3.5).",
    remediation="Use the processor's tokens; never store CVV; delete stored card numbers.",
    references=[PCI],
)
def stores_card_data(facts: DeclaredFacts, ctx: CheckContext) -> Iterator[Outcome]:
    pay = facts.controls.payments
    if pay is None:
        yield Outcome.skip("no payment controls declared (controls.payments)")
        return
    if pay.stores_cvv:
        yield Outcome.fail(
            "CVV stored after authorisation",
            source=DECLARED,
            key="cvv",
            location=where(ctx, "payments", "stores_cvv"),
        )
    if pay.stores_pan:
        yield Outcome.fail(
            "card numbers (PAN) stored",
            source=DECLARED,
            key="pan",
            location=where(ctx, "payments", "stores_pan"),
        )
    if not pay.stores_cvv and not pay.stores_pan:
        yield Outcome.passed("no card numbers or CVV stored", source=DECLARED)


@check(
    id="PAY-CARD-DATA-ON-SERVERS",
    title="Card data passes through the shop's servers",
    area=Area.PAYMENT,
    severity=Severity.HIGH,
    target=TargetKind.CONTROLS,
    facts="declared",
    remediation="Use a hosted payment page, iframe/hosted fields or client-side tokenisation so card "
    "data goes straight to the processor.",
    references=[PCI],
)
def card_data_on_servers(facts: DeclaredFacts, ctx: CheckContext) -> Iterator[Outcome]:
    pay = facts.controls.payments
    if pay is None or pay.integration is None:
        yield Outcome.skip("payment integration not declared (controls.payments.integration)")
    elif pay.integration in ("direct-post", "self-hosted-form"):
        yield Outcome.fail(
            f"integration '{pay.integration}': card data reaches our servers",
            source=DECLARED,
            location=where(ctx, "payments", "integration"),
        )
    else:
        yield Outcome.passed(
            f"integration '{pay.integration}' keeps card data off our servers", source=DECLARED
        )


@check(
    needs=no_payments,
    id="PAY-DEBIT-ACCEPTED",
    title="Debit cards accepted",
    area=Area.PAYMENT,
    severity=Severity.LOW,
    target=TargetKind.CONTROLS,
    facts="declared",
    description="A policy finding: a debit card draws straight on the customer's bank account, so a "
    "fraud hurts customers more than with credit cards. Severity is policy (controls.debit_severity).",
    remediation="Consider accepting credit cards and wallets only, or accept the risk with a waiver.",
)
def debit_accepted(facts: DeclaredFacts, ctx: CheckContext) -> Iterator[Outcome]:
    pay = facts.controls.payments
    if pay and "debit" in pay.accepted_methods:
        severity = Severity.parse(str(ctx.policy.get("controls.debit_severity", "low")))
        yield Outcome.fail(
            "debit cards are accepted",
            source=DECLARED,
            severity=severity,
            location=where(ctx, "payments", "accepted_methods"),
        )


def _in_repository(ctx: CheckContext, path: str) -> str:
    """A found file's path as posture.yaml names the repository (relative to its folder), never
    the checkout's absolute path: fingerprints, and so baselines, work in every clone."""
    return posixpath.normpath(posixpath.join(Path(ctx.target.name).as_posix(), path))


@check(
    id="PAY-CARD-DATA-IN-REPO",
    title="Card numbers or card-data columns in the repository",
    area=Area.PAYMENT,
    severity=Severity.CRITICAL,
    target=TargetKind.REPOSITORY,
    facts="card_data",
    description="Searches every text file (honouring .gitignore) for Luhn-valid numbers in real issuer "
    "ranges, and where storage is defined (SQL, Rails schema.rb and migrations, Django, SQLAlchemy "
    "and Alembic, Prisma, TypeORM, Sequelize, Laravel, Magento db_schema.xml) for card-number and "
    "CVV columns; a migration dropping one is the fix, not a finding. Matches are masked.",
    remediation="Remove real card numbers (and rotate anything that exposed them); drop CVV columns; "
    "store processor tokens instead of PANs.",
    references=[PCI],
)
def card_data_in_repo(facts: CardFacts, ctx: CheckContext) -> Iterator[Outcome]:
    for m in facts.numbers:
        location = Location(_in_repository(ctx, m.path), m.line, m.line)
        evidence: dict[str, object] = {
            "masked": m.masked,
            "brand": m.brand,
            "test_number": m.test_number,
        }
        if not m.test_number:
            evidence["personal_data"] = ["card"]  # what the data is, for the obligation mapping
        if m.test_number:
            yield Outcome.fail(
                f"well-known test card number {m.masked}",
                location=location,
                evidence=evidence,
                severity=Severity.INFO,
                key=f"{m.path}:{m.masked}",
            )
        else:
            yield Outcome.fail(
                f"{m.brand} card number {m.masked}",
                location=location,
                evidence=evidence,
                key=f"{m.path}:{m.masked}",
            )
    for c in facts.columns:
        column = c.column.lower()
        sensitive = c.kind == "cvv" or (
            not c.kind
            and any(m in column for m in ("cvv", "cvc", "cvn", "verification", "security_code"))
        )
        where = FRAMEWORKS.get(c.framework, "")
        if where and c.table:
            where += f", table {c.table}"
        yield Outcome.fail(
            f"card-data column '{c.column}'"
            + (f" ({where})" if where else "")
            + (": CVV must never be stored" if sensitive else ""),
            location=Location(_in_repository(ctx, c.path), c.line, c.line),
            evidence={
                "column": c.column,
                "kind": c.kind or ("cvv" if sensitive else "pan"),
                "framework": c.framework,
                "table": c.table,
                "personal_data": ["card-verification-code" if sensitive else "card"],
            },
            severity=Severity.CRITICAL if sensitive else Severity.HIGH,
            key=f"{c.path}:{c.column}",
        )
    unsearched = _unsearched(facts)
    if unsearched:
        # Files never read cannot be said to hold no card data: not a pass, and named.
        names = [f"{path} ({why})" for path, why in facts.skipped[:10]]
        more = len(unsearched) - len(names)
        yield Outcome.skip(
            f"{len(unsearched)} files not searched for card data: {'; '.join(names)}"
            + (f" and {more} more" if more > 0 else "")
            + f"; searched {facts.files_scanned} files",
            evidence={
                "files_searched": facts.files_scanned,
                "files_not_searched": len(unsearched),
                "not_searched": [{"path": p, "reason": why} for p, why in facts.skipped[:100]],
            },
            key="unsearched",
        )
    elif not facts.numbers and not facts.columns:
        summary: dict[str, object] = {"files": facts.files_scanned}
        if facts.retired:
            summary["dropped_columns"] = [f"{c.path}:{c.line}:{c.column}" for c in facts.retired]
        yield Outcome.passed(
            f"no card data in {facts.files_scanned} files"
            + (
                f" ({len(facts.retired)} card columns dropped by migrations)"
                if facts.retired
                else ""
            ),
            evidence=summary,
        )


def _unsearched(facts: CardFacts) -> list[str]:
    """Every file the search left out: over the size limit, unreadable, or past the file cap."""
    listed = [path for path, _ in facts.skipped]
    capped = sum(1 for _, why in facts.skipped if "card_scan.max_files" in why)
    return listed + ["..."] * max(0, facts.past_cap - capped)
