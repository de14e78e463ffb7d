"""``controls.payments``: accepted methods, processor, integration, card data handling."""

from __future__ import annotations

from posture.controls._base import Strict


class PaymentControls(Strict):
    """Filled in by the payment family."""
