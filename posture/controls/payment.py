"""``controls.payments``: accepted methods, processor, integration, card data handling."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from posture.controls._base import Strict

Method = Literal["credit", "debit", "wallet", "bnpl", "bank-transfer", "cash-on-delivery", "other"]
Integration = Literal[
    "hosted-page", "iframe", "hosted-fields", "tokenised-api", "direct-post", "self-hosted-form"
]


class AuthorisedScript(Strict):
    """A script allowed to run on payment pages (PCI DSS 6.4.3): where it comes from, who owns it
    and why it is needed. ``source`` is a URL, a URL prefix ending in ``*``, or ``inline``;
    ``sha256`` pins the body (hex or base64), which makes its integrity assured."""

    source: str
    owner: str
    justification: str
    sha256: str | None = None


class PaymentControls(Strict):
    accepted_methods: list[Method] = Field(default_factory=list)
    processor: str | None = None
    integration: Integration | None = None
    stores_pan: bool = False  # primary account numbers kept by the shop
    stores_cvv: bool = False  # card verification codes kept after authorisation
    scan_repository: bool = True  # search the repository for card numbers and card-data columns
    repository: str | None = None  # default: the folder holding posture.yaml
    # Scripts allowed on payment pages, with owner and justification (PCI DSS 6.4.3).
    authorised_scripts: list[AuthorisedScript] = Field(default_factory=list)
