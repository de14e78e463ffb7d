"""OpenVPN configs: directives with line numbers, inline blocks (<ca>, <key>, <tls-crypt> ...)
noted by name only (their content, often a private key, is never kept), and the
Diffie-Hellman parameters file read when it is in the checkout."""

from __future__ import annotations

import re
from pathlib import Path

from posture.checks.collectors.evidence_files import Directive, EvidenceFile
from posture.checks.collectors.referenced_files import dh_parameters

SECRET_BLOCKS = {
    "key",
    "tls-auth",
    "tls-crypt",
    "tls-crypt-v2",
    "secret",
    "pkcs12",
    "auth-user-pass",
    "http-proxy-user-pass",
}


def parse_openvpn(path: Path, text: str, mode: int, root: Path) -> EvidenceFile:
    directives: list[Directive] = []
    inline: str | None = None
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if inline is not None:
            if line.lower() == f"</{inline}>":
                inline = None
            continue  # inline content (certificates, keys) is never kept
        opening = re.fullmatch(r"<([a-z0-9-]+)>", line.lower())
        if opening:
            inline = opening.group(1)
            directives.append(Directive(f"<{inline}>", (), number))
            continue
        if not line or line.startswith(("#", ";")):
            continue
        parts = re.findall(r'"[^"]*"|\S+', line.split(" #", 1)[0])
        name = parts[0].lower().removeprefix("--")
        args = tuple(p.strip('"') for p in parts[1:])
        if name in ("askpass", "auth-user-pass") and len(args) > 1:
            args = args[:1]
        directives.append(Directive(name, args, number))
    referenced = {}
    dh = next((d for d in directives if d.name == "dh" and d.args), None)
    if dh is not None and dh.args[0].lower() != "none":
        referenced["dh"] = dh_parameters(dh.args[0], path, root)
    return EvidenceFile(
        str(path), "openvpn", tuple(directives), mode, root=str(root), referenced=referenced
    )
