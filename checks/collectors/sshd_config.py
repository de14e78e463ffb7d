"""sshd_config as sshd reads it: Include expanded (inside the scanned folder only), Match blocks
kept apart, and, where OpenSSH is installed, the effective values printed by ``sshd -T``.

sshd keeps the FIRST value it reads for a keyword, and every line after a ``Match`` belongs to
that Match block until the next one. ``sshd -T`` only parses: it is given a flattened copy of the
file in a temporary folder (includes inlined by posture, HostKey lines replaced by a throw-away
key), never a path into the checkout, so nothing outside the scanned folder is read.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from posture.checks.collectors.config_includes import MAX_DEPTH, resolve

from .daemon_parsers import (
    DISABLE_ENV,
    daemon_disabled,
    find_daemon,
    run_daemon,
    version_text,
)

SYSTEM_DIR = "/etc/ssh"
MAX_MATCH_RUNS = 32  # sshd -T -C runs per file, one per Match block
ALIASES = {"challengeresponseauthentication": "kbdinteractiveauthentication"}
# Lines sshd -T must not see: they name files (read at start-up) or are inlined by posture.
_NOT_FOR_DAEMON = {"include", "hostkey", "hostcertificate", "hostkeyagent"}
_LINE = re.compile(r"^\s*(\S+?)(?:\s*=\s*|\s+)(.*?)\s*$")


@dataclass(frozen=True)
class SshdLine:
    name: str
    args: tuple[str, ...]
    file: str
    line: int
    match: str  # "" when global, else the Match line ("Match User deploy")
    match_line: int = 0


@dataclass
class SshdParse:
    lines: list[SshdLine] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    includes: list[str] = field(default_factory=list)  # files read through Include


def _split(value: str) -> tuple[str, ...]:
    out: list[str] = []
    for m in re.finditer(r'"([^"]*)"|(\S+)', value):
        out.append(m.group(1) if m.group(1) is not None else m.group(2))
    return tuple(out)


Reader = Callable[[Path], str]


def parse_sshd(text: str, path: Path, root: Path, read: Reader) -> SshdParse:
    """Every line with the Match block it belongs to; Include expanded where the file is found."""
    result = SshdParse()
    _parse_into(result, text, path, root, read, "", 0, 0, {path.resolve()})
    return result


def _parse_into(
    result: SshdParse,
    text: str,
    path: Path,
    root: Path,
    reader: Reader,
    match: str,
    match_line: int,
    depth: int,
    seen: set[Path],
) -> None:
    for number, raw in enumerate(text.splitlines(), 1):
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        m = _LINE.match(stripped)
        if m is None:
            name, rest = stripped.lower(), ""
        else:
            name, rest = m.group(1).lower(), m.group(2)
        name = ALIASES.get(name, name)
        args = _split(rest)
        if name == "match":
            criteria = " ".join(args)
            match = f"Match {criteria}"
            match_line = number
            result.lines.append(SshdLine(name, args, str(path), number, match, match_line))
            continue
        if name == "include":
            result.lines.append(SshdLine(name, args, str(path), number, match, match_line))
            if depth >= MAX_DEPTH:
                result.notes.append(f"{path}:{number}: includes nested deeper than {MAX_DEPTH}")
                continue
            for pattern in args:
                found = resolve(pattern, base=path.parent, root=root, system_dir=SYSTEM_DIR)
                if found.note:
                    result.notes.append(f"{path}:{number}: {found.note}")
                for inc in found.files:
                    if inc.resolve() in seen:
                        result.notes.append(f"{path}:{number}: include loop through {inc}")
                        continue
                    try:
                        inc_text = reader(inc)
                    except Exception as exc:  # noqa: BLE001 - one unreadable include is a note
                        result.notes.append(f"{path}:{number}: include {inc}: {exc}")
                        continue
                    result.includes.append(str(inc))
                    # a Match opened inside an included file ends with that file
                    _parse_into(
                        result,
                        inc_text,
                        inc,
                        root,
                        reader,
                        match,
                        match_line,
                        depth + 1,
                        seen | {inc.resolve()},
                    )
            continue
        result.lines.append(SshdLine(name, args, str(path), number, match, match_line))


def flatten(parse: SshdParse) -> tuple[str, list[tuple[str, int]]]:
    """One file for sshd -T, and for each of its lines the (file, line) it came from."""
    out: list[str] = []
    where: list[tuple[str, int]] = []
    current = ""
    for ln in parse.lines:
        if ln.name in _NOT_FOR_DAEMON:
            continue
        if ln.name == "match":
            current = ln.match
            out.append(ln.match)
        else:
            if ln.match != current:  # back from an include that opened its own Match block
                out.append(ln.match or "Match all")
                where.append((ln.file, ln.line))
                current = ln.match
            out.append(" ".join([ln.name, *(_quote(a) for a in ln.args)]))
        where.append((ln.file, ln.line))
    return "\n".join(out) + "\n", where


def _quote(arg: str) -> str:
    return f'"{arg}"' if not arg or re.search(r"\s", arg) else arg


@dataclass(frozen=True)
class DaemonRun:
    parser: str  # "sshd -T (OpenSSH_9.2 ...)" or "posture"
    effective: dict[str, tuple[str, ...]]  # keyword -> each value line sshd printed
    note: str | None  # why the daemon was not used, or what it refused
    # Match block line -> sshd -T -C's values for a connection that block matches
    matches: dict[int, dict[str, tuple[str, ...]]] = field(default_factory=dict)


# A connection no Match criterion names: documentation addresses, a user nobody has.
_SPEC_DEFAULTS = {
    "user": "posture-check",
    "host": "client.invalid",
    "addr": "192.0.2.10",
    "laddr": "192.0.2.1",
    "lport": "22",
}
_CRITERIA = {
    "user": "user",
    "host": "host",
    "address": "addr",
    "localaddress": "laddr",
    "localport": "lport",
    "rdomain": "rdomain",
}


def connection_spec(criteria: tuple[str, ...]) -> str | None:
    """A -C spec for a connection the Match criteria select, or None when posture cannot build
    one (Group needs the host's group database; negations and wildcards need a guess)."""
    import ipaddress

    spec = dict(_SPEC_DEFAULTS)
    words = list(criteria)
    if [w.lower() for w in words] == ["all"]:
        return ",".join(f"{k}={v}" for k, v in spec.items())
    if len(words) % 2:
        return None
    for keyword, pattern in zip(words[::2], words[1::2], strict=True):
        key = _CRITERIA.get(keyword.lower())
        first = pattern.split(",")[0]
        if key is None or first.startswith("!") or any(c in first for c in "*?"):
            return None
        if key == "addr" or key == "laddr":
            try:
                net = ipaddress.ip_network(first, strict=False)
            except ValueError:
                return None
            first = str(next(iter(net.hosts()), net.network_address))
        spec[key] = first
    return ",".join(f"{k}={v}" for k, v in spec.items())


def find_sshd() -> str | None:
    return find_daemon("sshd")


def _host_key(folder: Path) -> Path:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    )
    path = folder / "host_key"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key)
    return path


def run_sshd_t(parse: SshdParse, redact: Callable[[str], str]) -> DaemonRun:
    """sshd's own reading of the flattened file, or why posture's parser is used instead."""
    if daemon_disabled():
        return DaemonRun("posture", {}, f"{DISABLE_ENV}=posture: daemon parsers off")
    sshd = find_sshd()
    if sshd is None:
        return DaemonRun("posture", {}, "sshd is not installed here")
    text, where = flatten(parse)
    with tempfile.TemporaryDirectory(prefix="posture-sshd-") as tmp:
        folder = Path(tmp)
        config = folder / "sshd_config"
        config.write_text(text)
        key = _host_key(folder)
        try:
            proc = run_daemon([sshd, "-T", "-f", str(config), "-o", f"HostKey={key}"], tmp)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return DaemonRun("posture", {}, f"sshd -T could not run: {exc}")
        version = _version(sshd)
        err = proc.stderr.decode("utf-8", "replace")
        if proc.returncode != 0:
            lines = err.strip().splitlines()
            first = next((e for e in lines if " line " in e), lines[-1] if lines else "")
            message = _map_lines(first, str(config), where)
            message = redact(message)
            return DaemonRun("posture", {}, f"sshd -T refused the file: {message}")
        matches: dict[int, dict[str, tuple[str, ...]]] = {}
        blocks = [ln for ln in parse.lines if ln.name == "match"][:MAX_MATCH_RUNS]
        for ln in blocks:
            if ln.file != parse.lines[0].file:
                continue  # Match blocks of included files: posture's reading only
            spec = connection_spec(ln.args)
            if spec is None:
                continue
            try:
                matched = run_daemon(
                    [sshd, "-T", "-f", str(config), "-o", f"HostKey={key}", "-C", spec], tmp
                )
            except (OSError, subprocess.TimeoutExpired):
                continue
            if matched.returncode == 0:
                matches[ln.line] = _values(matched.stdout)
    return DaemonRun(f"sshd -T ({version})", _values(proc.stdout), None, matches)


def _values(stdout: bytes) -> dict[str, tuple[str, ...]]:
    effective: dict[str, list[str]] = {}
    for line in stdout.decode("utf-8", "replace").splitlines():
        name, _, value = line.partition(" ")
        if name:
            effective.setdefault(name.lower(), []).append(value.strip())
    return {k: tuple(v) for k, v in effective.items()}


def _map_lines(message: str, config: str, where: list[tuple[str, int]]) -> str:
    def back(m: re.Match[str]) -> str:
        index = int(m.group(1)) - 1
        if 0 <= index < len(where):
            file, line = where[index]
            return f"{file}:{line}"
        return m.group(0)

    message = re.sub(re.escape(config) + r":? line (\d+)", back, message)
    return message.replace(config, "sshd_config")


def _version(sshd: str) -> str:
    return version_text(sshd, "-V").split(",")[0] or "OpenSSH"
