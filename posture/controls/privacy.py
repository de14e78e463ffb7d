"""``controls.privacy``: privacy notice, retention, opt-out, breach readiness, training, records."""

from __future__ import annotations

from pydantic import Field

from posture.controls._base import Attestation, Strict


class Retention(Strict):
    category: str
    days: int


class PrivacyControls(Strict):
    policy_url: str | None = None
    sells_or_shares: bool = False
    retention: list[Retention] = Field(default_factory=list)
    closed_account_deletion_days: int | None = None
    incident_response_plan: str | None = None  # file path
    tabletop_exercise: Attestation | None = None
    security_training: Attestation | None = None
    records_of_processing: str | None = None  # file path
