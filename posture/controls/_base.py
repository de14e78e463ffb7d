"""Shared pieces of the ``controls:`` schema: strict models and attestations."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

RENEWAL_DAYS = {"monthly": 31, "quarterly": 92, "yearly": 366}


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class Attestation(Strict):
    """A person vouches for a control that no file or scan can prove (training held, restore test
    done, access review). It must be renewed: past ``renewal`` it is a finding of its own."""

    by: str = Field(min_length=1)
    date: dt.date
    renewal: Literal["monthly", "quarterly", "yearly"] | int = "yearly"
    evidence: str | None = (
        None  # an optional file (minutes, ticket export) relative to posture.yaml
    )

    @property
    def renewal_days(self) -> int:
        return self.renewal if isinstance(self.renewal, int) else RENEWAL_DAYS[self.renewal]

    def due(self) -> dt.date:
        return self.date + dt.timedelta(days=self.renewal_days)
