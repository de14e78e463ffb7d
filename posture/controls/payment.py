"""``controls.payments``: accepted methods, processor, integration, card data handling."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from posture.controls._base import Strict

Method = Literal["credit", "debit", "wallet", "bnpl", "bank-transfer", "cash-on-delivery", "other"]
Integration = Literal[
    "hosted-page", "iframe", "hosted-fields", "tokenised-api", "direct-post", "self-hosted-form"
]


class PaymentControls(Strict):
    accepted_methods: list[Method] = Field(default_factory=list)
    processor: str | None = None
    integration: Integration | None = None
    stores_pan: bool = False  # primary account numbers kept by the shop
    stores_cvv: bool = False  # card verification codes kept after authorisation
    scan_repository: bool = True  # search the repository for card numbers and card-data columns
    repository: str | None = None  # default: the folder holding posture.yaml
