"""``controls.privacy``: privacy notice, retention, opt-out, breach readiness, training, records."""

from __future__ import annotations

from posture.controls._base import Strict


class PrivacyControls(Strict):
    """Filled in by the privacy family."""
