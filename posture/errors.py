"""One exception hierarchy. The CLI turns a ``PostureError`` into one line and an exit code."""

from __future__ import annotations


class PostureError(Exception):
    """Base of every error a user can act on."""

    exit_code = 2


class ConfigError(PostureError):
    """posture.yaml, a policy file or a waiver file is wrong. The message names file and line."""

    def __init__(self, message: str, path: str | None = None, line: int | None = None) -> None:
        self.path = path
        self.line = line
        where = path or ""
        if path and line:
            where = f"{path}:{line}"
        super().__init__(f"{where}: {message}" if where else message)


class UsageError(PostureError):
    """The command line is wrong."""


class PluginError(PostureError):
    """A check module could not be loaded, or two checks share an id."""


class CollectError(PostureError):
    """A collector could not gather facts for a target (unreachable host, unparsable file)."""

    exit_code = 3
