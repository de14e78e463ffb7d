"""Evidence files: read once, with a size limit, refusing binaries; parsed into plain facts.

Kinds understood: WireGuard and OpenVPN configs, sshd_config, nginx configuration. The parsers
are deliberately small (these formats are line-based); each keeps line numbers so findings point
at the line to change. Where OpenSSH or nginx is installed, the daemon parses the file as well
(sshd -T, nginx -t: see sshd_config.py and nginx_check.py) and the facts say which parser was used.

Secrets never leave this module: WireGuard keys, OpenVPN inline key blocks and the like are
replaced by a marker while parsing, and anything a daemon prints is masked before it is kept.
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


REDACTED = "<redacted>"


@dataclass(frozen=True)
class Directive:
    name: str
    args: tuple[str, ...]
    line: int
    context: tuple[str, ...] = ()  # enclosing blocks (nginx: ("http", "server", "location /admin"))
    file: str = ""  # the included file it came from ("" for the file itself)


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
    ] = ()  # nginx blocks / sshd Match blocks: {"context": ..., "line": ..., "directives": [...]}
    parser: str = "posture"  # or the daemon that parsed it: "sshd -T (OpenSSH_9.2)", "nginx -t ..."
    effective: dict[str, tuple[str, ...]] = field(default_factory=dict)  # sshd -T's values
    # sshd: Match block line -> sshd -T -C's values for a connection that block matches
    match_effective: dict[int, dict[str, tuple[str, ...]]] = field(default_factory=dict)
    notes: tuple[str, ...] = ()  # includes not read, why the daemon was not used, ...
    root: str = ""  # the scanned folder: files the config names are read only inside it
    referenced: dict[str, Any] = field(default_factory=dict)  # facts of files it names (dh bits)


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
    if "[interface]" in text.lower() and re.search(r"(?im)^\s*(privatekey\s*=|\[peer\])", text):
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
        name = key.strip().lower()
        if name in ("privatekey", "presharedkey") and value.strip():
            value = REDACTED  # the key itself is never kept
        directive = Directive(name, (value.strip(),), number)
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


def parse_evidence(path: Path, kind: str | None = None, root: Path | None = None) -> EvidenceFile:
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
    base = (root or path.parent).resolve()
    if kind == "wireguard":
        directives, sections = parse_wireguard(text)
        return EvidenceFile(str(path), kind, tuple(directives), mode, sections, root=str(base))
    if kind == "nginx":
        from posture.checks.collectors.nginx_check import parse_nginx_tree

        nginx: EvidenceFile = parse_nginx_tree(path, text, mode, base)
        return nginx
    if kind == "sshd":
        return _parse_sshd_file(path, text, mode, base)
    from posture.checks.collectors.openvpn_config import parse_openvpn

    openvpn: EvidenceFile = parse_openvpn(path, text, mode, base)
    return openvpn


def _parse_sshd_file(path: Path, text: str, mode: int, root: Path) -> EvidenceFile:
    from posture.checks.collectors.sshd_config import parse_sshd, run_sshd_t

    parse = parse_sshd(text, path, root, read_text)
    directives = []
    blocks: dict[tuple[str, int], dict[str, Any]] = {}
    for ln in parse.lines:
        file = "" if ln.file == str(path) else ln.file
        d = Directive(ln.name, ln.args, ln.line, (ln.match,) if ln.match else (), file)
        directives.append(d)
        if ln.match and ln.name != "match":
            block = blocks.setdefault(
                (ln.match, ln.match_line),
                {"context": ln.match, "line": ln.match_line, "directives": [], "file": file},
            )
            block["directives"].append(d)
    run = run_sshd_t(parse, mask_secrets)
    notes = [*parse.notes, *([run.note] if run.note else [])]
    return EvidenceFile(
        str(path),
        "sshd",
        tuple(directives),
        mode,
        blocks=tuple(blocks.values()),
        parser=run.parser,
        effective=run.effective,
        match_effective=run.matches,
        notes=tuple(notes),
        root=str(root),
    )


_SECRETISH = re.compile(r"[A-Za-z0-9+/=_-]{24,}")


def mask_secrets(text: str) -> str:
    """Anything key-like in text a daemon printed about a file: a long base64 or hex run with
    digits and letters (file paths, lower-case words separated by slashes, are kept)."""

    def hide(m: re.Match[str]) -> str:
        word = m.group()
        keyish = re.search(r"\d", word) and re.search(r"[A-Za-z]", word)
        pathish = word.count("/") >= 2 and word.lower() == word
        return REDACTED if keyish and not pathish else word

    return _SECRETISH.sub(hide, text)


def _root_of(target: Target, ctx: CollectContext) -> Path | None:
    root = target.options.get("root")
    if root:
        return Path(str(root))
    if ctx.config is not None:
        return Path(ctx.config.base_dir)
    return None


@collector(name="evidence_file", target=TargetKind.CONFIG)
def collect_evidence_file(target: Target, ctx: CollectContext) -> EvidenceFile:
    path = Path(target.options.get("abs_path") or target.name)
    root = _root_of(target, ctx)
    if root is not None:
        from posture.checks.collectors.config_includes import inside

        if not inside(path, root):
            raise CollectError(f"{target.name}: leads outside the scanned folder: not read")
    return parse_evidence(path, target.options.get("kind"), root)
