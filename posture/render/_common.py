"""Helpers shared by the file formats: ordering, paths relative to the repository, masking."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path

from posture.model import Result, Severity, Status

SECURITY_SEVERITY = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "3.0",
    Severity.INFO: "0.0",
}
_PAN = re.compile(r"\b(\d{6})\d{3,9}(\d{4})\b")
_SECRET = re.compile(
    r"(?i)\b(password|passwd|secret|token|api[_-]?key|private[_-]?key)(\s*[=:]\s*)(\S+)"
)


def mask(text: str) -> str:
    """Card numbers down to first 6 / last 4, and key=value secrets hidden, in any output text."""
    text = _PAN.sub(lambda m: f"{m.group(1)}{'*' * 6}{m.group(2)}", text)
    return _SECRET.sub(lambda m: f"{m.group(1)}{m.group(2)}****", text)


def ordered(results: Iterable[Result]) -> list[Result]:
    return sorted(results, key=lambda r: (-r.severity.rank, r.check_id, r.target, r.resource or ""))


def findings(results: Iterable[Result]) -> list[Result]:
    return ordered(r for r in results if r.status in (Status.FAIL, Status.WAIVED, Status.ERROR))


def relative_path(path: str, base: Path | None = None) -> str:
    """A repository-relative POSIX path when the file is under the working directory (or under
    ``$POSTURE_SOURCE_ROOT``, which the Action sets because it runs outside the checkout)."""
    root = os.environ.get("POSTURE_SOURCE_ROOT")
    base = (base or (Path(root) if root else Path.cwd())).resolve()
    candidate = Path(path)
    try:
        resolved = candidate.resolve() if candidate.is_absolute() else (base / candidate).resolve()
        return resolved.relative_to(base).as_posix()
    except (ValueError, OSError):
        return Path(path).as_posix() if not os.path.isabs(path) else Path(path).as_posix()


_SCREENSHOT = re.compile(r"screenshots/[A-Za-z0-9._-]{1,200}\.png")


def screenshots(result: Result) -> list[str]:
    """Screenshots a result's evidence names, as paths relative to the outputs' folder.

    Only names the browser collector makes (``screenshots/<safe name>.png``) are linked: evidence
    from a tampered result file can never point an output at another path or a URL."""
    found = result.evidence.get("screenshots") or []
    single = result.evidence.get("screenshot")
    names = [*found, single] if single else list(found)
    return [n for n in dict.fromkeys(str(x) for x in names) if _SCREENSHOT.fullmatch(n)]
