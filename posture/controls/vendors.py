"""``controls.vendors``: processors and third parties that receive customer data."""

from __future__ import annotations

from posture.controls._base import Strict


class Vendor(Strict):
    """Filled in by the vendor family."""

    name: str
