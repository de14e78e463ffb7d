"""The ``controls:`` section of posture.yaml: what the business declares about itself.

One module per section, so each check family owns its part of the schema. Every model is strict
(unknown keys are errors with file and line, through posture.config).
"""

from __future__ import annotations

from pydantic import Field

from posture.controls._base import Attestation, Strict
from posture.controls.access import AccessControls
from posture.controls.business import BusinessFacts
from posture.controls.data import DataStore
from posture.controls.payment import PaymentControls
from posture.controls.privacy import PrivacyControls
from posture.controls.vendors import Vendor


class Controls(Strict):
    access: AccessControls | None = None
    data_stores: list[DataStore] = Field(default_factory=list)
    payments: PaymentControls | None = None
    vendors: list[Vendor] = Field(default_factory=list)
    privacy: PrivacyControls | None = None
    business: BusinessFacts | None = None


__all__ = [
    "AccessControls",
    "Attestation",
    "BusinessFacts",
    "Controls",
    "DataStore",
    "PaymentControls",
    "PrivacyControls",
    "Vendor",
]
