"""``controls.vendors``: processors and third parties that receive customer data."""

from __future__ import annotations

import datetime as dt

from pydantic import Field

from posture.controls._base import Strict


class Vendor(Strict):
    name: str = Field(min_length=1)
    service: str | None = (
        None  # email-marketing, analytics, payments, hosting, shipping, support ...
    )
    data_categories: list[str] = Field(
        default_factory=list
    )  # contact, address, orders, payment, behaviour ...
    country: str | None = None  # ISO 3166 alpha-2 where the data is processed
    dpa_signed: dt.date | None = None
    service_provider_contract: bool | None = None  # CCPA service-provider / contractor terms
    transfer_mechanism: str | None = None  # scc, bcr ... when data leaves the EEA
    # certified under the EU-US Data Privacy Framework: the only way a US vendor is adequate
    dpf_certified: bool | None = None
    last_security_review: dt.date | None = None
    breach_notification_clause: bool | None = None
    sub_processors: list[str] = Field(default_factory=list)
    domains: list[str] = Field(
        default_factory=list
    )  # origins it serves scripts from (cdn.vendor.com)
