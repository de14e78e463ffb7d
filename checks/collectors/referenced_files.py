"""Files a config names (Diffie-Hellman parameters), read only inside the scanned folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from posture.checks.collectors.config_includes import inside

MAX_BYTES = 64_000


def dh_parameters(name: str, config: Path, root: Path) -> dict[str, Any]:
    """{"bits": n} for a PEM DH parameters file, else {"skipped": why}."""
    candidate = Path(name)
    if not candidate.is_absolute():
        candidate = config.parent / candidate
    else:
        candidate = root / name.lstrip("/")
        if not candidate.exists():
            local = config.parent / Path(name).name
            candidate = local if local.exists() else candidate
    if not inside(candidate, root):
        return {"file": name, "skipped": "outside the scanned folder: not read"}
    try:
        if not candidate.is_file():
            return {"file": name, "skipped": "not in the checkout"}
        if candidate.stat().st_size > MAX_BYTES:
            return {"file": name, "skipped": f"over {MAX_BYTES} bytes"}
        data = candidate.read_bytes()
    except OSError as exc:
        return {"file": name, "skipped": exc.strerror or "unreadable"}
    from cryptography.hazmat.primitives.serialization import load_pem_parameters

    try:
        params = load_pem_parameters(data)
        bits = params.parameter_numbers().p.bit_length()
    except (ValueError, TypeError, AttributeError):
        return {"file": name, "skipped": "not PEM Diffie-Hellman parameters"}
    return {"file": name, "bits": int(bits)}
