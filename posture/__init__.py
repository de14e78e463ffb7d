"""posture: a compliance-as-code security posture scanner for online storefronts.

The public API for check authors is re-exported here: ``check``, ``collector``, ``Outcome`` and
the model's enums. Keep this module light: ``posture --help`` imports it.
"""

from __future__ import annotations

__version__ = "0.1.0"

from posture.model import (  # noqa: E402
    Area,
    EvidenceSource,
    Location,
    Result,
    Severity,
    Status,
    Target,
    TargetKind,
)
from posture.plugin import CheckContext, CollectContext, Outcome, check, collector  # noqa: E402

__all__ = [
    "Area",
    "CheckContext",
    "CollectContext",
    "EvidenceSource",
    "Location",
    "Outcome",
    "Result",
    "Severity",
    "Status",
    "Target",
    "TargetKind",
    "__version__",
    "check",
    "collector",
]
