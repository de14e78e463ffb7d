"""``controls.access``: VPN, MFA, passwords, access reviews, offboarding."""

from __future__ import annotations

from posture.controls._base import Strict


class AccessControls(Strict):
    """Filled in by the access family."""
