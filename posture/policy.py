"""Policy data: thresholds and switches that checks read, from policies/profiles/*.yaml.

A profile is a folder of YAML files under policies/profiles/, one file per family (tls.yaml,
backup.yaml ...), each holding top-level sections; the files are merged and may not define the
same section twice. posture.yaml's ``policy:`` section may name a profile and override any
key the profile defines; overriding a key that does not exist is an error, never silently dropped.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Mapping
from importlib import resources
from typing import Any

from posture._yaml import LineDict, load_trusted_yaml
from posture.errors import ConfigError

DEFAULT_PROFILE = "default"
_MISSING = object()


def policies_root() -> resources.abc.Traversable:
    """The installed policies/ folder (shipped inside the package as ``posture.policies``)."""
    return resources.files("posture.policies")


def read_policy_text(*parts: str) -> tuple[str, str]:
    """Text of a file under policies/ and a display path for error messages."""
    node = policies_root()
    for part in parts:
        node = node.joinpath(part)
    display = "policies/" + "/".join(parts)
    try:
        return node.read_text(encoding="utf-8"), display
    except (FileNotFoundError, OSError):
        raise ConfigError("no such policy file", path=display) from None


class Policy:
    """Merged policy values, read by dotted path: ``policy.get("tls.cert_expiry.high_days")``."""

    def __init__(self, data: Mapping[str, Any], name: str = DEFAULT_PROFILE) -> None:
        self._data = data
        self.name = name

    def get(self, path: str, default: Any = _MISSING) -> Any:
        node: Any = self._data
        for part in path.split("."):
            if not isinstance(node, Mapping) or part not in node:
                if default is _MISSING:
                    raise KeyError(f"policy has no value {path!r}")
                return default
            node = node[part]
        return node

    def as_dict(self) -> dict[str, Any]:
        return copy.deepcopy(dict(self._data))

    @classmethod
    def load(
        cls,
        profile: str = DEFAULT_PROFILE,
        overrides: Mapping[str, Any] | None = None,
        source: str = "posture.yaml",
    ) -> Policy:
        if not profile.replace("-", "").replace("_", "").isalnum():
            raise ConfigError(f"invalid policy profile name {profile!r}", path=source)
        data = copy.deepcopy(_profile_data(profile, source))
        if overrides:
            _merge(data, overrides, source, prefix="policy")
        return cls(data, profile)


@functools.lru_cache(maxsize=4)
def _profile_data(profile: str, source: str) -> dict[str, Any]:
    """A shipped profile's files merged, read once per process (callers copy before changing)."""
    folder = policies_root().joinpath("profiles").joinpath(profile)
    if not folder.is_dir():
        raise ConfigError(f"unknown policy profile {profile!r}", path=source)
    data: dict[str, Any] = {}
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith((".yaml", ".yml")):
            continue
        text, display = read_policy_text("profiles", profile, entry.name)
        part = load_trusted_yaml(text, display)
        if part is None:
            continue
        if not isinstance(part, dict):
            raise ConfigError("a profile file must be a mapping", path=display)
        for key in part:
            if key in data:
                raise ConfigError(f"section {key!r} is defined twice in profile", path=display)
        data.update(part)
    return data


def _merge(base: dict[str, Any], over: Mapping[str, Any], source: str, prefix: str) -> None:
    for key, value in over.items():
        line = over.key_lines.get(key) if isinstance(over, LineDict) else None
        if key not in base:
            raise ConfigError(f"unknown policy key '{prefix}.{key}'", path=source, line=line)
        if isinstance(base[key], dict):
            if not isinstance(value, Mapping):
                raise ConfigError(f"'{prefix}.{key}' must be a mapping", path=source, line=line)
            _merge(base[key], value, source, f"{prefix}.{key}")
        else:
            problem = _type_problem(base[key], value)
            if problem:
                raise ConfigError(f"'{prefix}.{key}' {problem}", path=source, line=line)
            base[key] = value


_SCALARS = (str, int, float, bool)


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, Mapping):
        return "a mapping"
    return "empty" if value is None else type(value).__name__


def _fits(old: Any, new: Any) -> bool:
    """Whether ``new`` may replace ``old``: the same kind (an integer where a number is)."""
    if isinstance(old, bool) or isinstance(new, bool):
        return isinstance(old, bool) and isinstance(new, bool)
    if isinstance(old, float):
        return isinstance(new, (int, float))
    if old is None:
        return new is None or isinstance(new, _SCALARS)
    for kind in (int, str):
        if isinstance(old, kind):
            return isinstance(new, kind)
    return False


def _type_problem(old: Any, new: Any) -> str | None:
    """Why ``new`` cannot replace the profile's ``old`` (a check would misread it), or None."""
    if isinstance(old, list):
        if not isinstance(new, list):
            return f"must be a list (like {_show(old)}), not {_kind(new)}"
        model = [o for o in old if o is not None]
        for index, item in enumerate(new):
            fits = _fits(model[0], item) if model else isinstance(item, _SCALARS)
            if isinstance(item, (list, Mapping)) or not fits:
                wanted = _kind(model[0]) if model else "a plain value"
                return f"item {index} must be {wanted}, not {_kind(item)}"
        return None
    if not _fits(old, new):
        return f"must be {_kind(old)} (like the {_show(old)} it replaces), not {_kind(new)}"
    return None


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
