"""Does the CCPA cybersecurity audit apply to the business, and when is its first one due?

11 CCR 7120(b): a business whose processing presents significant risk to consumers' security must
complete a cybersecurity audit: one that (1) derived 50 percent or more of its annual revenue from
selling or sharing personal information in the preceding calendar year, or (2) had annual gross
revenue over the threshold of Civ. Code 1798.140(d)(1)(A) in the preceding calendar year and
processed the personal information of 250,000 or more consumers or households, or the sensitive
personal information of 50,000 or more consumers, in that year.
11 CCR 7121: the first audit report is due 1 April 2028 for a business with over $100 million of
annual gross revenue (for 2026), 1 April 2029 for $50-100 million (for 2027), 1 April 2030 for less
than $50 million (for 2028); then every year by 1 April.
The figures are the business's own declarations (controls.business in posture.yaml).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# Civ. Code 1798.140(d)(1)(A): $25,000,000, adjusted by the CPPA for inflation (1798.199.95(d));
# $26,625,000 from 1 January 2025. Check cppa.ca.gov for a later adjustment.
REVENUE_THRESHOLD_USD = 26_625_000
CONSUMERS_THRESHOLD = 250_000
SENSITIVE_CONSUMERS_THRESHOLD = 50_000
SELLING_SHARE_THRESHOLD_PERCENT = 50.0
SOURCE = "11 CCR 7120(b), 7121 (https://cppa.ca.gov/regulations/, checked 2026-11-30)"


def first_due(revenue: int | None) -> str | None:
    """7121: the first certification's due date by revenue tier (None: revenue not declared)."""
    if revenue is None:
        return None
    if revenue > 100_000_000:
        return "2028-04-01"
    if revenue >= 50_000_000:
        return "2029-04-01"
    return "2030-04-01"


def applicability(business: Mapping[str, Any] | None) -> dict[str, Any]:
    """applies (True/False/None), because (the figures and the test), first_due, source."""
    if not business:
        return {
            "applies": None,
            "because": "not declared: add controls.business (annual_revenue_usd, consumers, "
            "sensitive_data_consumers, revenue_share_selling_sharing_percent) to posture.yaml",
            "first_due": None,
            "source": SOURCE,
        }
    revenue = business.get("annual_revenue_usd")
    consumers = business.get("consumers")
    sensitive = business.get("sensitive_data_consumers")
    share = business.get("revenue_share_selling_sharing_percent")
    where = business.get("declared_at", "posture.yaml")
    reasons: list[str] = []
    unknown: list[str] = []
    applies: bool | None = False
    if share is not None and share >= SELLING_SHARE_THRESHOLD_PERCENT:
        applies = True
        reasons.append(f"{share:g}% of revenue from selling or sharing (50% or more)")
    if revenue is not None and revenue > REVENUE_THRESHOLD_USD:
        volume = []
        if consumers is not None and consumers >= CONSUMERS_THRESHOLD:
            volume.append(f"{consumers:,} consumers or households (250,000 or more)")
        if sensitive is not None and sensitive >= SENSITIVE_CONSUMERS_THRESHOLD:
            volume.append(f"sensitive data of {sensitive:,} consumers (50,000 or more)")
        if volume:
            applies = True
            reasons.append(
                f"revenue ${revenue:,} over ${REVENUE_THRESHOLD_USD:,} and " + " and ".join(volume)
            )
        elif consumers is None or sensitive is None:
            unknown.append("consumers" if consumers is None else "sensitive_data_consumers")
    elif revenue is None:
        unknown.append("annual_revenue_usd")
    if share is None and not applies:
        unknown.append("revenue_share_selling_sharing_percent")
    if not applies and unknown:
        applies = None
    if applies:
        because = "; ".join(reasons)
    elif applies is None:
        because = "cannot tell: not declared: " + ", ".join(unknown)
    else:
        because = (
            f"below every threshold (revenue ${revenue or 0:,}, {consumers or 0:,} consumers, "
            f"{sensitive or 0:,} with sensitive data, {share or 0:g}% of revenue from selling "
            "or sharing)"
        )
    return {
        "applies": applies,
        "because": f"{because} ({where})",
        "first_due": first_due(revenue) if applies else None,
        "source": SOURCE,
    }
