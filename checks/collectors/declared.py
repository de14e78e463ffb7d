"""The organisation's declarations (controls: in posture.yaml) and the files they point at.

Reads every evidence file a declaration names (offboarding process, incident response plan,
records of processing) once, with the same limits as other evidence files; a missing, binary or
oversized file is recorded with the reason, so the check that needs it can say so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from posture.checks.collectors.evidence_files import read_text
from posture.controls import Controls
from posture.errors import CollectError
from posture.model import Target, TargetKind
from posture.plugin import CollectContext, collector


@dataclass(frozen=True)
class FileText:
    path: str
    text: str | None
    error: str | None = None


@dataclass(frozen=True)
class DeclaredFacts:
    controls: Controls
    config_path: str
    files: dict[str, FileText] = field(
        default_factory=dict
    )  # as written in posture.yaml -> content

    def file(self, name: str | None) -> FileText | None:
        return self.files.get(name) if name else None


def _named_files(controls: Controls) -> list[str]:
    names = []
    if controls.access and controls.access.offboarding_process:
        names.append(controls.access.offboarding_process)
    if controls.privacy:
        names += [
            n
            for n in (
                controls.privacy.incident_response_plan,
                controls.privacy.records_of_processing,
            )
            if n
        ]
    return names


@collector(name="declared", target=TargetKind.CONTROLS)
def collect_declared(target: Target, ctx: CollectContext) -> DeclaredFacts:
    if ctx.config is None:
        raise CollectError("controls are declared in posture.yaml: give -c posture.yaml")
    files = {}
    for name in _named_files(ctx.config.controls):
        path = ctx.config.resolve_path(name)
        try:
            files[name] = FileText(str(path), read_text(Path(path)))
        except CollectError as exc:
            files[name] = FileText(str(path), None, str(exc))
    return DeclaredFacts(ctx.config.controls, ctx.config.path, files)
