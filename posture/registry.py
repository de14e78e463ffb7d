"""Finds checks and collectors: built-ins and third-party plugins through one door.

Built-in families are declared as entry points in the ``posture.checks`` group of our own
pyproject.toml, exactly like a third-party plugin's. ``--checks-dir DIR`` adds local modules.
Loading a module only reads the specs its functions carry; it never runs a check.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from types import ModuleType

from posture.errors import PluginError
from posture.model import TargetKind
from posture.plugin import CHECK_ATTR, COLLECTOR_ATTR, CheckSpec, CollectorSpec

ENTRY_POINT_GROUP = "posture.checks"


@dataclass
class Registry:
    checks: dict[str, CheckSpec] = field(default_factory=dict)
    collectors: dict[str, CollectorSpec] = field(default_factory=dict)

    def add_module(self, module: ModuleType, origin: str) -> None:
        for value in list(vars(module).values()):
            spec = getattr(value, CHECK_ATTR, None)
            if isinstance(spec, CheckSpec):
                self._add_check(spec, origin)
            cspec = getattr(value, COLLECTOR_ATTR, None)
            if isinstance(cspec, CollectorSpec):
                self._add_collector(cspec, origin)

    def _add_check(self, spec: CheckSpec, origin: str) -> None:
        known = self.checks.get(spec.id)
        if known is not None:
            if known.func is spec.func:
                return
            raise PluginError(
                f"duplicate check id {spec.id!r}: defined in {known.source} and in {origin}"
            )
        self.checks[spec.id] = spec

    def _add_collector(self, spec: CollectorSpec, origin: str) -> None:
        known = self.collectors.get(spec.name)
        if known is not None and known.func is not spec.func:
            raise PluginError(
                f"duplicate collector {spec.name!r}: defined in {known.source} and in {origin}"
            )
        self.collectors[spec.name] = spec

    def validate(self) -> None:
        for spec in self.checks.values():
            if spec.target is TargetKind.SCAN:
                if spec.facts != "results":
                    raise PluginError(f"check {spec.id!r}: scan-phase checks read facts 'results'")
                continue
            collector = self.collectors.get(spec.facts)
            if collector is None:
                raise PluginError(
                    f"check {spec.id!r} ({spec.source}) reads facts {spec.facts!r}, "
                    "which no loaded collector provides"
                )
            if collector.target is not spec.target:
                raise PluginError(
                    f"check {spec.id!r} is for {spec.target.value} targets but facts "
                    f"{spec.facts!r} are collected from {collector.target.value} targets"
                )

    def sorted_checks(self) -> list[CheckSpec]:
        return sorted(self.checks.values(), key=lambda s: (s.area.value, s.id))


def load_registry(
    checks_dirs: Sequence[str | Path] = (), extra_modules: Iterable[ModuleType] = ()
) -> Registry:
    registry = Registry()
    for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        try:
            module = ep.load()
        except Exception as exc:  # a broken plugin must name itself
            raise PluginError(f"cannot load check plugin {ep.name!r} ({ep.value}): {exc}") from exc
        if not isinstance(module, ModuleType):
            raise PluginError(f"check plugin {ep.name!r} ({ep.value}) must name a module")
        registry.add_module(module, f"entry point {ep.name!r} ({ep.value})")
    for directory in checks_dirs:
        for module, origin in _load_dir(Path(directory)):
            registry.add_module(module, origin)
    for module in extra_modules:
        registry.add_module(module, module.__name__)
    registry.validate()
    return registry


def _load_dir(directory: Path) -> Iterable[tuple[ModuleType, str]]:
    if not directory.is_dir():
        raise PluginError(f"{directory}: --checks-dir is not a directory")
    for path in sorted(directory.glob("*.py")):
        if path.name.startswith("_"):
            continue
        name = f"posture_local_checks.{path.stem}"
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise PluginError(f"{path}: cannot load as a Python module")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except Exception as exc:
            raise PluginError(f"{path}: error while loading checks: {exc}") from exc
        yield module, str(path)
