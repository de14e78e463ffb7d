"""``controls.business``: the figures that decide whether the CCPA cybersecurity audit applies
(11 CCR 7120(b)) and when the first one is due (7121). All optional; each is the business's own
statement about the preceding calendar year."""

from __future__ import annotations

from pydantic import Field

from posture.controls._base import Strict


class BusinessFacts(Strict):
    # annual gross revenue in US dollars in the preceding calendar year
    annual_revenue_usd: int | None = Field(default=None, ge=0)
    # consumers or households whose personal information was processed in that year
    consumers: int | None = Field(default=None, ge=0)
    # consumers whose sensitive personal information was processed in that year
    sensitive_data_consumers: int | None = Field(default=None, ge=0)
    # share of annual revenue from selling or sharing personal information, in percent
    revenue_share_selling_sharing_percent: float | None = Field(default=None, ge=0, le=100)
