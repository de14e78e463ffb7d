"""nginx topics (see config_topics.NGINX): TLS settings, information disclosure, files that must
never be served, and locations that must not be open to everyone. Judged per server block."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

from posture.checks.collectors.evidence_files import Directive, EvidenceFile
from posture.checks.config_topics import Finding

Policy = Callable[[str, Any], Any]
Block = dict[str, Any]
GUARDS = {"allow", "deny", "auth_basic", "auth_request", "satisfy", "auth_jwt"}
HIDDEN_SAMPLES = ("/.git/config", "/.env", "/.svn/entries")
BACKUP_SAMPLES = ("/config.php.bak", "/config.php~", "/config.php.old", "/backup.sql")
# OpenSSL cipher-string tokens that enable weak suites (DES alone, not as part of 3DES/DES-CBC3)
_WEAK_CIPHERS = {
    "RC4": r"RC4",
    "3DES": r"3DES|DES-CBC3",
    "DES": r"(?<![3E])DES(?!-CBC3)",
    "NULL": r"NULL",
    "EXPORT": r"EXPORT|EXP-",
    "MD5": r"MD5",
}


def _at(block: Block) -> Directive:
    """A stand-in directive pointing at a block's first line, in the file that holds it."""
    return Directive(
        str(block["context"]).split(" ", 1)[0],
        (),
        int(block["line"]),
        (),
        str(block.get("file", "")),
    )


def _where(block: Block) -> str:
    """The block's line, prefixed with its file's name when it comes from an include."""
    file = str(block.get("file", ""))
    return f"{file.rsplit('/', 1)[-1]}:{block['line']}" if file else str(block["line"])


def _walk(block: Block) -> Iterator[Block]:
    """The block and everything nested in it, in file order (no recursion: nesting is input)."""
    stack = [block]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(current.get("children", [])))


def _own(block: Block, name: str) -> list[Directive]:
    return [d for d in block["directives"] if d.name == name]


def _servers(f: EvidenceFile) -> list[Block]:
    return [b for b in f.blocks if b["context"] == "server" and "stream" not in b["parents"]]


def _top(f: EvidenceFile, name: str) -> list[Directive]:
    """http-level (or top-level) directives: they apply to every server."""
    return [d for d in f.directives if d.name == name and all(c in ("http",) for c in d.context)]


def _location(block: Block) -> tuple[str, str] | None:
    words = str(block["context"]).split(None, 2)
    if not words or words[0] != "location" or len(words) < 2:
        return None
    if len(words) == 3 and words[1] in ("~", "~*", "=", "^~"):
        return words[1], words[2]
    if words[1].startswith("~"):  # "location ~\.git" written without a space
        return ("~*", words[1][2:]) if words[1].startswith("~*") else ("~", words[1][1:])
    return "", words[1]


def _denies(block: Block) -> bool:
    for d in block["directives"]:
        if d.name == "deny" and d.args[:1] == ("all",):
            return True
        if d.name == "return" and d.args and d.args[0] in ("403", "404", "410", "444"):
            return True
    return False


def _decides(server: Block, path: str) -> Block | None:
    """The location nginx picks for path (regex in order, else the longest prefix)."""
    prefixes: list[tuple[int, Block]] = []
    regexes: list[Block] = []
    for block in _walk(server):
        loc = _location(block)
        if loc is None:
            continue
        modifier, pattern = loc
        if modifier in ("~", "~*"):
            regexes.append(block)
        elif modifier == "=":
            if pattern == path:
                return block
        elif path.startswith(pattern):
            prefixes.append((len(pattern), block))
    best = max(prefixes, key=lambda p: p[0])[1] if prefixes else None
    if best is not None and _location(best) and _location(best)[0] == "^~":  # type: ignore[index]
        return best
    for block in regexes:
        modifier, pattern = _location(block)  # type: ignore[misc]
        try:
            if re.search(pattern.strip("\"'"), path, re.I if modifier == "~*" else 0):
                return block
        except re.error:
            continue
    return best


def _serves_files(f: EvidenceFile, server: Block) -> bool:
    if _top(f, "root"):
        return True
    return any(d.name in ("root", "alias") for b in _walk(server) for d in b["directives"])


def _guarded(block: Block, server: Block) -> bool:
    return bool({d.name for d in block["directives"]} & (GUARDS | {"return", "internal"})) or bool(
        {d.name for d in server["directives"]} & GUARDS
    )


def nginx(f: EvidenceFile, policy: Policy) -> Iterator[Finding]:
    for d in f.directives:
        if d.name == "ssl_protocols":
            old = [p for p in d.args if p in ("SSLv2", "SSLv3", "TLSv1", "TLSv1.1")]
            if old:
                yield Finding(
                    f"protocols:{d.line}",
                    f"ssl_protocols allows {' '.join(old)}",
                    d,
                    {"protocols": list(d.args)},
                )
        elif d.name == "ssl_ciphers":
            spec = " ".join(d.args).strip("'\"").upper()
            enabled = [
                t for t in spec.replace("+", ":").split(":") if t and not t.startswith(("!", "-"))
            ]
            weak = [
                name
                for name, pattern in _WEAK_CIPHERS.items()
                if any(re.search(pattern, token) for token in enabled)
            ]
            if weak:
                yield Finding(
                    f"ciphers:{d.line}",
                    f"ssl_ciphers allows {', '.join(weak)}",
                    d,
                    {"ciphers": spec},
                )
        elif d.name == "server_tokens" and d.args and d.args[0].lower() != "off":
            yield Finding(
                f"server-tokens:{d.line}",
                f"server_tokens {d.args[0]}: the nginx version is disclosed",
                d,
                {},
            )
        elif d.name == "autoindex" and d.args and d.args[0].lower() == "on":
            yield Finding(
                f"autoindex:{d.line}", "autoindex on: directory listings are served", d, {}
            )
    dh = f.referenced.get("dh")
    if (
        dh is not None
        and "bits" in dh
        and int(dh["bits"]) < int(policy("access.min_dh_bits", 2048))
    ):
        at = Directive("ssl_dhparam", (str(dh["file"]),), int(dh.get("line", 0)))
        yield Finding(
            "dh",
            f"ssl_dhparam {dh['file']}: {dh['bits']}-bit Diffie-Hellman parameters (at least 2048)",
            at,
            {"bits": dh["bits"]},
        )
    servers = _servers(f)
    if servers and not any(d.name == "server_tokens" for d in f.directives):
        yield Finding(
            "server-tokens",
            "server_tokens not set (default on: the nginx version is disclosed)",
            None,
            {},
        )
    markers = [str(m).lower() for m in policy("access.admin_location_markers", [])]
    for server in servers:
        tree = [d for b in _walk(server) for d in b["directives"]]
        tls = any(d.name == "listen" and "ssl" in d.args for d in tree) or any(
            d.name == "ssl" and d.args[:1] == ("on",) for d in tree
        )
        if (
            tls
            and not any(d.name == "ssl_protocols" for d in tree)
            and not _top(f, "ssl_protocols")
        ):
            yield Finding(
                f"protocols-default:{_where(server)}",
                "TLS served without ssl_protocols: nginx before 1.23.4 then allows TLSv1 and TLSv1.1",
                _at(server),
                {},
            )
        if _serves_files(f, server):
            for key, samples, what in (
                ("hidden-files", HIDDEN_SAMPLES, "hidden files"),
                ("backup-files", BACKUP_SAMPLES, "backup files"),
            ):
                open_paths = [
                    p
                    for p in samples
                    if not ((b := _decides(server, p)) is not None and _denies(b))
                ]
                if open_paths:
                    yield Finding(
                        f"{key}:{_where(server)}",
                        f"server at line {server['line']} serves files with no deny rule for {what}: "
                        f"{', '.join(open_paths)} would be served",
                        _at(server),
                        {"not_denied": open_paths},
                    )
        for block in _walk(server):
            context = str(block["context"])
            loc = _location(block)
            if loc is None:
                continue
            names = {d.name for d in block["directives"]}
            if "stub_status" in names and not _guarded(block, server):
                yield Finding(
                    f"stub-status:{_where(block)}",
                    f"{context} exposes stub_status to everyone",
                    _at(block),
                    {},
                )
            if any(m in context.lower() for m in markers) and not _guarded(block, server):
                yield Finding(
                    context,
                    f"{context} has neither allow/deny nor authentication",
                    _at(block),
                    {},
                    "admin-location",
                )
            modifier, prefix = loc
            alias = _own(block, "alias")
            if (
                modifier in ("", "^~")
                and not prefix.endswith("/")
                and alias
                and alias[0].args
                and alias[0].args[0].endswith("/")
            ):
                yield Finding(
                    f"alias-traversal:{_where(block)}",
                    f"{context} with alias {alias[0].args[0]}: {prefix}../ reaches the parent folder",
                    alias[0],
                    {},
                )
