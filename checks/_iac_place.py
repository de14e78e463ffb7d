"""Where an IaC result is reported: repository-relative file and lines, module origin, old id.

Every path in the IaC facts is relative to the repository root (see ``repository_root`` in the
checkov collector). A resource in a shared Terraform module is reported at the module's source
lines, with the root module and module calls that led there (``Origin``, part of the result's
identity). A file outside the repository root has no path that SARIF viewers could place: it is
reported at the module call that loads it (or without a location), with a note saying so.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from posture.model import Location, Origin
from posture.plugin import CheckContext

from .collectors.iac_facts import IacFacts, ModuleOrigin, display_path


@dataclass(frozen=True)
class Place:
    location: Location | None
    origin: Origin | None
    note: str  # "" or a sentence to append to the message (file outside the repository)
    legacy_path: str  # the path posture reported before paths were repository-relative

    def outcome_kw(self) -> dict[str, Any]:
        """``location``, ``origin`` and ``previous_path`` for an ``Outcome``."""
        return {"location": self.location, "origin": self.origin, "previous_path": self.legacy_path}


def outside(path: str) -> bool:
    return path == ".." or path.startswith("../")


def place(
    facts: IacFacts,
    ctx: CheckContext,
    path: str,
    start: int | None,
    end: int | None,
    module: ModuleOrigin | None = None,
) -> Place:
    origin = None
    if module is not None:
        call = None
        if not outside(module.call_path):
            call = Location(module.call_path, module.call_start, module.call_end)
        origin = Origin(root=module.root, calls=module.calls, call_location=call)
    note = ""
    location: Location | None = Location(path, start, end)
    if outside(path):
        where = f"{path}:{start}" if start else path
        if origin is not None and origin.call_location is not None:
            location = origin.call_location
            note = (
                f" (the module's file {where} is outside the repository root; reported at "
                "the module call that loads it)"
            )
        else:
            location = None
            note = f" (file {where} is outside the repository root)"
    return Place(location, origin, note, _legacy_path(facts, ctx, path))


def _legacy_path(facts: IacFacts, ctx: CheckContext, path: str) -> str:
    """The path as posture reported it before (relative to the scanned folder, else absolute)."""
    scanned = Path(facts.root)
    is_file = scanned.is_file()
    base = scanned.parent if is_file else scanned
    absolute = Path(os.path.normpath(Path(facts.repo_root) / path))
    try:
        rel = absolute.relative_to(base).as_posix()
    except ValueError:
        return display_path(ctx.target.name, is_file, absolute.as_posix())
    return display_path(ctx.target.name, is_file, rel)
