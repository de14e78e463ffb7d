"""Evidence files: read once, with a size limit, refusing binaries; parsed into plain facts.

Kinds understood: WireGuard and OpenVPN configs, sshd_config, nginx configuration. The parsers
are deliberately small (these formats are line-based); each keeps line numbers so findings point
at the line to change.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from posture.errors import CollectError
from posture.model import Target, TargetKind
from posture.plugin import CollectContext, collector
from posture.safe_read import FileRefused, read_limited

MAX_BYTES = 1_000_000
KINDS = ("wireguard", "openvpn", "sshd", "nginx")


@dataclass(frozen=True)
class Directive:
    name: str
    args: tuple[str, ...]
    line: int
    context: tuple[str, ...] = ()  # enclosing blocks (nginx: ("http", "server", "location /admin"))


@dataclass(frozen=True)
class EvidenceFile:
    path: str
    kind: str
    directives: tuple[Directive, ...]
    mode: int  # permission bits
    sections: dict[str, list[dict[str, Any]]] = field(
        default_factory=dict
    )  # wireguard [Interface]/[Peer]
    blocks: tuple[
        dict[str, Any], ...
    ] = ()  # nginx blocks: {"context": ..., "line": ..., "directives": [...]}


def read_text(path: Path, max_bytes: int = MAX_BYTES) -> str:
    """A small text file, or a CollectError naming it (missing, too big, binary)."""
    try:
        data = read_limited(path, max_bytes)
    except FileRefused as exc:
        raise CollectError(f"{path}: refused: {exc.strerror} (evidence files)") from None
    except OSError as exc:
        raise CollectError(f"{path}: cannot read: {exc.strerror}") from None
    if b"\x00" in data[:8192]:
        raise CollectError(f"{path}: binary file, not a text evidence file")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def detect_kind(path: Path, text: str) -> str | None:
    name = path.name.lower()
    if "[interface]" in text.lower() and re.search(r"(?im)^\s*privatekey\s*=", text):
        return "wireguard"
    if (
        name.endswith((".ovpn",))
        or re.search(r"(?im)^\s*(client|remote|dev tun|tls-version-min|cipher)\b", text)
        and "server {" not in text
    ):
        if re.search(r"(?im)^\s*(client|remote|dev\s+tun|proto\s+udp|ca\s+\S+)\b", text):
            return "openvpn"
    if "sshd" in name or re.search(r"(?im)^\s*(PermitRootLogin|PasswordAuthentication)\b", text):
        return "sshd"
    if "nginx" in name or re.search(r"(?m)^\s*(server|http|location)\s*[^;]*\{", text):
        return "nginx"
    return None


def _strip(line: str) -> str:
    return line.split("#", 1)[0].strip()


def parse_keyword_lines(text: str, separator: str | None = None) -> list[Directive]:
    out = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = _strip(raw)
        if not line or line.startswith(";"):
            continue
        if separator and separator in line:
            key, _, value = line.partition(separator)
            out.append(Directive(key.strip().lower(), (value.strip(),), number))
        else:
            parts = line.split()
            out.append(Directive(parts[0].lower(), tuple(parts[1:]), number))
    return out


def parse_wireguard(text: str) -> tuple[list[Directive], dict[str, list[dict[str, Any]]]]:
    sections: dict[str, list[dict[str, Any]]] = {}
    directives = []
    current: dict[str, Any] | None = None
    for number, raw in enumerate(text.splitlines(), 1):
        line = _strip(raw)
        if not line:
            continue
        header = re.match(r"^\[(\w+)\]$", line)
        if header:
            current = {"_line": number}
            sections.setdefault(header.group(1).lower(), []).append(current)
            continue
        key, _, value = line.partition("=")
        directive = Directive(key.strip().lower(), (value.strip(),), number)
        directives.append(directive)
        if current is not None:
            current[directive.name] = (value.strip(), number)
    return directives, sections


def parse_nginx(text: str) -> tuple[list[Directive], list[dict[str, Any]]]:
    """Directives with their enclosing blocks; blocks with their own directives."""
    tokens: list[tuple[str, int]] = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0]
        for token in re.findall(r"[{};]|[^\s{};]+", line):
            tokens.append((token, number))
    directives: list[Directive] = []
    blocks: list[dict[str, Any]] = []
    stack: list[dict[str, Any]] = []
    words: list[str] = []
    start = 0
    for word, number in tokens:
        if not words:
            start = number
        if word == "{":
            block = {
                "context": " ".join(words),
                "line": start,
                "directives": [],
                "parents": tuple(b["context"] for b in stack),
            }
            stack.append(block)
            blocks.append(block)
            words = []
        elif word == "}":
            if stack:
                stack.pop()
            words = []
        elif word == ";":
            if words:
                d = Directive(
                    words[0].lower(), tuple(words[1:]), start, tuple(b["context"] for b in stack)
                )
                directives.append(d)
                if stack:
                    stack[-1]["directives"].append(d)
            words = []
        else:
            words.append(word)
    return directives, blocks


def parse_evidence(path: Path, kind: str | None = None) -> EvidenceFile:
    text = read_text(path)
    kind = kind or detect_kind(path, text)
    if kind not in KINDS:
        raise CollectError(
            f"{path}: cannot tell what kind of config this is; set kind: {'|'.join(KINDS)}"
        )
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except OSError as exc:
        raise CollectError(f"{path}: cannot read: {exc.strerror}") from None
    if kind == "wireguard":
        directives, sections = parse_wireguard(text)
        return EvidenceFile(str(path), kind, tuple(directives), mode, sections)
    if kind == "nginx":
        directives, blocks = parse_nginx(text)
        return EvidenceFile(str(path), kind, tuple(directives), mode, blocks=tuple(blocks))
    return EvidenceFile(str(path), kind, tuple(parse_keyword_lines(text)), mode)


@collector(name="evidence_file", target=TargetKind.CONFIG)
def collect_evidence_file(target: Target, ctx: CollectContext) -> EvidenceFile:
    path = Path(target.options.get("abs_path") or target.name)
    return parse_evidence(path, target.options.get("kind"))
