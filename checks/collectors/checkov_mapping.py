"""Load policies/mappings/checkov.yaml (schema-checked) and apply posture.yaml's overrides.

The mapping is data a reviewer owns, so it is validated against its JSON Schema on every load:
a typo in an area or a misspelt key is an error naming the file and line, never a silently
unmapped check.
"""

from __future__ import annotations

import functools
import json
from typing import TYPE_CHECKING, Any

from posture._yaml import LineDict, load_yaml_text
from posture.errors import ConfigError
from posture.policy import read_policy_text

from .iac_facts import CheckovMapping, MappingEntry

if TYPE_CHECKING:
    from posture.config import Config

MAPPING_FILE = ("mappings", "checkov.yaml")
SCHEMA_FILE = ("schemas", "checkov-mapping.schema.json")


def validate_mapping(data: Any, display: str) -> None:
    """Raise ``ConfigError`` naming the line of the first schema violation in ``data``."""
    import jsonschema

    schema_text, _ = read_policy_text(*SCHEMA_FILE)
    validator = jsonschema.Draft202012Validator(json.loads(schema_text))
    error = next(iter(sorted(validator.iter_errors(data), key=lambda e: list(e.path))), None)
    if error is None:
        return
    node: Any = data
    line = getattr(data, "line", None)
    for part in error.path:
        if isinstance(node, LineDict) and isinstance(part, str) and part in node.key_lines:
            line = node.key_lines[part]
            node = node[part]
        else:
            break
    where = ".".join(str(p) for p in error.path) or "(top level)"
    raise ConfigError(f"{where}: {error.message}", path=display, line=line)


@functools.lru_cache(maxsize=1)
def builtin_mapping() -> CheckovMapping:
    text, display = read_policy_text(*MAPPING_FILE)
    data = load_yaml_text(text, display)
    validate_mapping(data, display)
    entries = {
        check_id: MappingEntry(item["area"], item["severity"], display)
        for check_id, item in data["checks"].items()
    }
    default = MappingEntry(data["defaults"]["area"], data["defaults"]["severity"], "default")
    return CheckovMapping(entries, default)


def load_mapping(config: Config | None) -> CheckovMapping:
    """The built-in mapping with posture.yaml's ``checkov.mapping`` entries laid over it."""
    base = builtin_mapping()
    if config is None or not config.checkov.mapping:
        return base
    entries = dict(base.entries)
    for check_id, override in config.checkov.mapping.items():
        known = base.lookup(check_id)
        line = config.line("checkov", "mapping", check_id)
        source = f"{config.path}:{line}" if line else config.path
        entries[check_id] = MappingEntry(
            override.area or known.area, override.severity or known.severity, source
        )
    return CheckovMapping(entries, base.default)
