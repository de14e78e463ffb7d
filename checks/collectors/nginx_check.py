"""nginx configuration: posture's block parser over the file and its includes (inside the scanned
folder only), checked by the real ``nginx -t`` where nginx is installed.

``nginx -t`` is given a sanitised copy in a temporary folder, never the checkout's file: includes
are inlined by posture; directives that load code or open files at start-up (load_module,
ssl_engine, log files, certificates, temp paths ...) are dropped or pointed at the temporary
folder; upstream host names become 127.0.0.1 so that testing a file never resolves names. nginx
only parses here. A file that nginx refuses is still judged by posture's parser, and the facts
say so.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from posture.checks.collectors.config_includes import MAX_DEPTH, resolve
from posture.checks.collectors.evidence_files import (
    Directive,
    EvidenceFile,
    mask_secrets,
    read_text,
)
from posture.checks.collectors.referenced_files import dh_parameters
from posture.errors import CollectError

from .daemon_parsers import (
    DISABLE_ENV,
    daemon_disabled,
    find_daemon,
    run_daemon,
    version_text,
)

SYSTEM_DIR = "/etc/nginx"
MAX_NESTING = 64  # real configurations nest a handful of blocks; deeper is hostile input
_TOKEN = re.compile(
    r"""#.*$|"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|[{};]|[^\s{};"'#]+(?:#[^\s{};]*)?"""
)
# Main-context directives: anything else at the top of a file is wrapped in http {}.
_MAIN = {
    "events",
    "http",
    "stream",
    "mail",
    "user",
    "worker_processes",
    "worker_rlimit_nofile",
    "error_log",
    "pid",
    "load_module",
    "include",
    "daemon",
    "master_process",
    "env",
    "worker_cpu_affinity",
    "worker_priority",
    "pcre_jit",
    "thread_pool",
    "timer_resolution",
    "working_directory",
    "lock_file",
    "ssl_engine",
    "worker_shutdown_timeout",
    "google_perftools_profiles",
}
_DROP = {
    "load_module",
    "ssl_engine",
    "pid",
    "lock_file",
    "user",
    "env",
    "daemon",
    "master_process",
    "working_directory",
    "include",
    "google_perftools_profiles",
    "ssl_conf_command",
    "perl_modules",
    "perl_require",
    "js_import",
    "js_path",
    "geoip_country",
    "geoip_city",
    "geoip_org",
}
_PASS = {"proxy_pass", "fastcgi_pass", "uwsgi_pass", "scgi_pass", "grpc_pass", "memcached_pass"}


@dataclass(frozen=True)
class Token:
    text: str
    file: str
    line: int


def tokens(text: str, file: str) -> list[Token]:
    out = []
    for number, raw in enumerate(text.splitlines(), 1):
        for m in _TOKEN.finditer(raw):
            word = m.group()
            if word.startswith("#"):
                break
            out.append(Token(word, file, number))
    return out


def _unquote(word: str) -> str:
    if len(word) >= 2 and word[0] == word[-1] and word[0] in "'\"":
        return word[1:-1]
    return word


def expand(
    path: Path,
    text: str,
    root: Path,
    notes: list[str],
    depth: int = 0,
    chain: frozenset[Path] = frozenset(),
) -> list[Token]:
    """Tokens of the file with every include inlined where the checkout holds it."""
    chain = chain | {path.resolve()}
    main = str(path)
    out: list[Token] = []
    stream = tokens(text, main)
    i = 0
    while i < len(stream):
        tok = stream[i]
        if tok.text == "include" and (i == 0 or stream[i - 1].text in ("{", "}", ";")):
            end = i + 1
            while end < len(stream) and stream[end].text != ";":
                end += 1
            patterns = [_unquote(t.text) for t in stream[i + 1 : end]]
            i = end + 1
            for pattern in patterns:
                if depth >= MAX_DEPTH:
                    notes.append(f"{tok.file}:{tok.line}: includes nested deeper than {MAX_DEPTH}")
                    continue
                found = resolve(pattern, base=path.parent, root=root, system_dir=SYSTEM_DIR)
                if found.note:
                    notes.append(f"{tok.file}:{tok.line}: {found.note}")
                for inc in found.files:
                    if inc.resolve() in chain:
                        notes.append(f"{tok.file}:{tok.line}: include loop through {inc}")
                        continue
                    try:
                        inc_text = read_text(inc)
                    except Exception as exc:  # noqa: BLE001 - an unreadable include is a note
                        notes.append(f"{tok.file}:{tok.line}: {exc}")
                        continue
                    out += expand(inc, inc_text, root, notes, depth + 1, chain)
            continue
        out.append(tok)
        i += 1
    return out


def structure(stream: list[Token], main: str) -> tuple[list[Directive], list[dict[str, Any]]]:
    """Directives with their enclosing blocks; blocks with their own directives."""
    directives: list[Directive] = []
    blocks: list[dict[str, Any]] = []
    stack: list[dict[str, Any]] = []
    words: list[Token] = []
    for tok in stream:
        if tok.text == "{":
            if len(stack) >= MAX_NESTING:
                raise CollectError(
                    f"{tok.file}:{tok.line}: blocks nested deeper than {MAX_NESTING}: not an nginx "
                    "configuration posture will read"
                )
            first = words[0] if words else tok
            block = {
                "context": " ".join(_unquote(w.text) for w in words),
                "line": first.line,
                "file": "" if first.file == main else first.file,
                "directives": [],
                "parents": tuple(b["context"] for b in stack),
                "children": [],
            }
            if stack:
                stack[-1]["children"].append(block)
            stack.append(block)
            blocks.append(block)
            words = []
        elif tok.text == "}":
            if stack:
                stack.pop()
            words = []
        elif tok.text == ";":
            if words:
                first = words[0]
                d = Directive(
                    first.text.lower(),
                    tuple(_unquote(w.text) for w in words[1:]),
                    first.line,
                    tuple(b["context"] for b in stack),
                    "" if first.file == main else first.file,
                )
                directives.append(d)
                if stack:
                    stack[-1]["directives"].append(d)
            words = []
        else:
            words.append(tok)
    return directives, blocks


def parse_nginx_tree(path: Path, text: str, mode: int, root: Path) -> EvidenceFile:
    notes: list[str] = []
    stream = expand(path, text, root, notes)
    directives, blocks = structure(stream, str(path))
    referenced: dict[str, Any] = {}
    for d in directives:
        if d.name == "ssl_dhparam" and d.args and "dh" not in referenced:
            referenced["dh"] = {**dh_parameters(d.args[0], path, root), "line": d.line}
    parser, note = run_nginx_t(stream)
    if note:
        notes.append(note)
    return EvidenceFile(
        str(path),
        "nginx",
        tuple(directives),
        mode,
        blocks=tuple(blocks),
        parser=parser,
        notes=tuple(notes),
        root=str(root),
        referenced=referenced,
    )


def find_nginx() -> str | None:
    return find_daemon("nginx")


def _statements(stream: list[Token]) -> list[tuple[list[Token], str]]:
    """(words, terminator) with terminator one of ';', '{', '}'."""
    out: list[tuple[list[Token], str]] = []
    words: list[Token] = []
    for tok in stream:
        if tok.text in ("{", "}", ";"):
            out.append((words, tok.text))
            words = []
        else:
            words.append(tok)
    return out


def _host_to_loopback(target: str, upstreams: set[str]) -> str:
    m = re.match(r"^([a-z]+://)?(\[[^\]]*\]|[^/:$]+)(.*)$", target, re.I)
    if not m or "$" in target or target.startswith("unix:"):
        return target
    scheme, host, rest = m.group(1) or "", m.group(2), m.group(3)
    if host in upstreams or re.fullmatch(r"[\d.]+|\[[0-9a-f:]+\]", host, re.I):
        return target
    return f"{scheme}127.0.0.1{rest}"


def sanitised(stream: list[Token], tmp: Path) -> tuple[str, list[tuple[str, int]]]:
    """The text nginx -t is given, and for each of its lines the (file, line) it came from."""
    statements = _statements(stream)
    upstreams = {
        w[1].text for w, end in statements if end == "{" and len(w) >= 2 and w[0].text == "upstream"
    }
    lines: list[str] = []
    where: list[tuple[str, int]] = []
    # servers that listen with ssl but name no certificate inherit this one (nginx -t needs one)
    default_cert = f"ssl_certificate {tmp / 'cert.pem'}; ssl_certificate_key {tmp / 'key.pem'};"
    depth = 0
    stack: list[str] = []
    top_level_http = False
    needs_server = False
    for words, end in statements:
        if depth == 0 and words and end in (";", "{"):
            name = words[0].text.lower()
            if name not in _MAIN:
                top_level_http = True
                needs_server = needs_server or name == "location"
        if end == "}":
            depth = max(0, depth - 1)
            if stack:
                stack.pop()
            lines.append("}")
            where.append(("", 0))
            continue
        if not words:
            continue
        name = words[0].text.lower()
        args = [w.text for w in words[1:]]
        origin = (words[0].file, words[0].line)
        if end == ";":
            if name in _DROP or (
                name not in ("ssl_certificate", "ssl_certificate_key")
                and (
                    name.endswith("_path")
                    or "_file" in name
                    or "certificate" in name
                    or "dhparam" in name
                    or name.endswith(("_crl", "_key"))
                )
            ):
                continue
            if name == "ssl_certificate":
                args = [str(tmp / "cert.pem")]
            elif name == "ssl_certificate_key":
                args = [str(tmp / "key.pem")]
            elif name == "access_log":
                args = ["off"]
            elif name == "error_log":
                args = ["stderr", *[a for a in args[1:] if not a.startswith(("/", "$"))][:1]]
            elif name in _PASS and args:
                args = [_host_to_loopback(args[0], upstreams), *args[1:]]
            elif name == "server" and stack and stack[-1] == "upstream" and args:
                args = [_host_to_loopback(args[0], upstreams), *args[1:]]
            lines.append(" ".join([words[0].text, *args]) + ";")
        else:
            lines.append(" ".join(w.text for w in words) + " {")
            stack.append(name)
            depth += 1
            if name == "http" and len(words) == 1:
                where.append(origin)
                lines.append(default_cert)
                origin = ("", 0)
        where.append(origin)
    body = lines
    prefix: list[tuple[str, tuple[str, int]]] = []
    suffix: list[tuple[str, tuple[str, int]]] = []
    if top_level_http:
        prefix.append(("http {", ("", 0)))
        prefix.append((default_cert, ("", 0)))
        suffix.append(("}", ("", 0)))
        if needs_server:
            prefix.append(("server {", ("", 0)))
            suffix.append(("}", ("", 0)))
    if not any(s[0] and s[0][0].text.lower() == "events" for s in statements):
        prefix.insert(0, ("events {}", ("", 0)))
    text_lines = [p[0] for p in prefix] + body + [s[0] for s in suffix]
    origins = [p[1] for p in prefix] + where + [s[1] for s in suffix]
    return "\n".join(text_lines) + "\n", origins


def _self_signed(tmp: Path) -> None:
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "posture-nginx-t")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    (tmp / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    fd = os.open(tmp / "key.pem", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )


def run_nginx_t(stream: list[Token]) -> tuple[str, str | None]:
    """("nginx -t (nginx/1.22.1): accepted" | "posture", note)."""
    if daemon_disabled():
        return "posture", f"{DISABLE_ENV}=posture: daemon parsers off"
    nginx = find_nginx()
    if nginx is None:
        return "posture", "nginx is not installed here"
    with tempfile.TemporaryDirectory(prefix="posture-nginx-") as tmp:
        folder = Path(tmp)
        _self_signed(folder)
        text, where = sanitised(stream, folder)
        config = folder / "nginx.conf"
        config.write_text(text)
        try:
            proc = run_daemon(
                [
                    nginx,
                    "-t",
                    "-q",
                    "-p",
                    tmp,
                    "-c",
                    str(config),
                    "-e",
                    "stderr",
                    "-g",
                    f"pid {folder / 'nginx.pid'};",
                ],
                tmp,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            return "posture", f"nginx -t could not run: {exc}"
        version = _version(nginx)
        if proc.returncode == 0:
            return f"nginx -t ({version})", None
        err = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        message = next((e for e in err if "[emerg]" in e), err[-1] if err else "")
        message = re.sub(r"^.*?\[emerg\]\s*(\d+#\d+:\s*)?", "", message)

        def back(m: re.Match[str]) -> str:
            index = int(m.group(1)) - 1
            if 0 <= index < len(where) and where[index][0]:
                return f"{where[index][0]}:{where[index][1]}"
            return "(posture's wrapper)"

        message = re.sub(re.escape(str(config)) + r":(\d+)", back, message).replace(tmp, "<tmp>")
        return "posture", f"nginx -t refused the file: {mask_secrets(message)}"


def _version(nginx: str) -> str:
    return version_text(nginx, "-v").rsplit(": ", 1)[-1] or "nginx"
