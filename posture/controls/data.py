"""``controls.data_stores``: where personal data lives, its encryption and its backups."""

from __future__ import annotations

from posture.controls._base import Strict


class DataStore(Strict):
    """Filled in by the encryption and backup families."""

    name: str
