"""YAML loading that remembers where things were, so errors can name the line.

Always the safe loader: posture.yaml and policies come from users and repositories.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from posture.errors import ConfigError

MAX_YAML_BYTES = 5 * 1024 * 1024


class LineDict(dict[str, Any]):
    """A dict that knows the line of each of its keys (1-based) and of itself."""

    line: int = 0
    key_lines: dict[str, int]


class LineList(list[Any]):
    line: int = 0
    item_lines: list[int]


MAX_ALIASES = 100
# Nodes once every alias is expanded: what anything walking the data (validation, JSON, a
# check) would visit. Ten levels of ten aliases stay under the alias cap and make 10**10.
MAX_NODES = 1_000_000
MAX_DEPTH = 100


class _LineLoader(yaml.SafeLoader):
    """SafeLoader with line numbers, a cap on alias uses and a cap on the expanded size
    (no "billion laughs", however few aliases it takes)."""

    def get_single_node(self) -> Any:
        node = super().get_single_node()
        if node is not None:
            expanded_size(node, MAX_NODES)
        return node

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._aliases = 0
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > MAX_ALIASES:
                mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
                raise ConfigError(
                    f"more than {MAX_ALIASES} YAML aliases: refusing to expand", line=mark.line + 1
                )
        # The composer recurses once per level: stop long before Python's recursion limit.
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
                raise ConfigError(
                    f"YAML nested more than {MAX_DEPTH} levels deep", line=mark.line + 1
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def expanded_size(root: yaml.Node, limit: int) -> int:
    """The node count of ``root`` with aliases expanded; ``ConfigError`` over ``limit`` or when an
    alias contains itself. Linear in the distinct nodes: each node's size is computed once."""
    sizes: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, finished = stack.pop()
        key = id(node)
        if finished:
            on_path.discard(key)
            sizes[key] = min(limit + 1, 1 + sum(sizes[id(c)] for c in _children(node)))
            if sizes[key] > limit:
                raise ConfigError(
                    f"more than {limit} YAML nodes once aliases are expanded: refusing to load",
                    line=node.start_mark.line + 1,
                )
            continue
        if key in sizes:
            continue
        if key in on_path:
            raise ConfigError("a YAML alias contains itself", line=node.start_mark.line + 1)
        on_path.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in _children(node) if id(child) not in sizes)
    return sizes[id(root)]


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> LineDict:
    loader.flatten_mapping(node)
    out = LineDict()
    out.line = node.start_mark.line + 1
    out.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, (str, int, float, bool)) and key is not None:
            raise ConfigError(
                "mapping keys must be plain scalars", line=key_node.start_mark.line + 1
            )
        skey = str(key) if not isinstance(key, str) else key
        if skey in out:
            raise ConfigError(f"duplicate key {skey!r}", line=key_node.start_mark.line + 1)
        out[skey] = loader.construct_object(value_node, deep=True)
        out.key_lines[skey] = key_node.start_mark.line + 1
    return out


def _construct_sequence(loader: _LineLoader, node: yaml.SequenceNode) -> LineList:
    out = LineList(loader.construct_object(child, deep=True) for child in node.value)
    out.line = node.start_mark.line + 1
    out.item_lines = [child.start_mark.line + 1 for child in node.value]
    return out


def _construct_timestamp(loader: _LineLoader, node: yaml.ScalarNode) -> Any:
    """A date or time; an impossible one (2026-02-30) is an error naming its line."""
    try:
        return loader.construct_yaml_timestamp(node)
    except (ValueError, OverflowError) as exc:
        raise ConfigError(
            f"impossible date {node.value!r}: {exc}", line=node.start_mark.line + 1
        ) from None


_LineLoader.add_constructor("tag:yaml.org,2002:timestamp", _construct_timestamp)
_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


def load_yaml_text(text: str, path: str) -> Any:
    """Parse YAML with line tracking; errors become ``ConfigError`` naming ``path`` and line."""
    try:
        return yaml.load(text, Loader=_LineLoader)  # noqa: S506 - _LineLoader is a SafeLoader
    except ConfigError as exc:
        raise ConfigError(str(exc).lstrip(": "), path=path, line=exc.line) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        problem = exc.problem or exc.context or "invalid YAML"
        raise ConfigError(f"invalid YAML: {problem}", path=path, line=line) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"invalid YAML: {exc}", path=path) from None


def load_yaml_file(path: Path, max_bytes: int = MAX_YAML_BYTES) -> Any:
    from posture.safe_read import FileRefused, read_limited

    try:
        text = read_limited(path, max_bytes).decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError("not UTF-8 text", path=str(path)) from None
    except FileRefused as exc:
        raise ConfigError(f"refused: {exc.strerror}", path=str(path)) from None
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", path=str(path)) from None
    return load_yaml_text(text, str(path))


def line_of(data: Any, loc: tuple[str | int, ...]) -> int | None:
    """The line of the deepest element of ``loc`` (a pydantic error location) found in ``data``."""
    line: int | None = getattr(data, "line", None) or None
    node = data
    for part in loc:
        if isinstance(node, LineDict) and isinstance(part, str):
            if part in node.key_lines:
                line = node.key_lines[part]
                node = node.get(part)
                continue
            return line
        if isinstance(node, LineList) and isinstance(part, int) and 0 <= part < len(node):
            line = node.item_lines[part]
            node = node[part]
            continue
        return line
    return line


def load_trusted_yaml(text: str, path: str) -> Any:
    """Fast path for the YAML we ship (policies/): libyaml's safe loader when present, no line
    tracking. Callers re-read with ``load_yaml_text`` to name the line when validation fails."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        return yaml.load(text, Loader=loader)  # noqa: S506 - a safe loader
    except yaml.YAMLError:
        return load_yaml_text(text, path)  # raises ConfigError with the line
