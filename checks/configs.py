"""Access-related evidence files: VPN configs (WireGuard, OpenVPN), sshd_config, nginx.

Each check judges the topics of its format (checks/config_topics.py lists them with their
severity and source); every result says which parser read the file: the daemon's own
(sshd -T, nginx -t) where it is installed, else posture's.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from posture.checks import config_nginx, config_sshd, config_vpn
from posture.checks.collectors.evidence_files import EvidenceFile, collect_evidence_file
from posture.checks.config_topics import FORMATS, Finding, Topic
from posture.model import Area, Severity, TargetKind
from posture.plugin import CheckContext, Outcome, check

__all__ = ["collect_evidence_file"]

SSH = "https://infosec.mozilla.org/guidelines/openssh"


def _declared_tunnel(ctx: CheckContext, path: str) -> str | None:
    access = ctx.config.controls.access if ctx.config is not None else None
    if access is None or access.vpn is None or access.vpn.config is None or ctx.config is None:
        return None
    if ctx.config.resolve_path(access.vpn.config).resolve() != Path(path).resolve():
        return None
    return access.vpn.tunnel


def _topic(f: EvidenceFile, finding: Finding) -> Topic:
    return FORMATS[f.kind][finding.topic or finding.key.split(":", 1)[0]]


def _outcomes(f: EvidenceFile, found: Iterator[tuple[Finding, str | None]]) -> Iterator[Outcome]:
    parser: dict[str, Any] = {"parser": f.parser}
    if f.notes:
        parser["parser_notes"] = list(f.notes)
    failed = 0
    for finding, match in found:
        failed += 1
        topic = _topic(f, finding)
        message = finding.message
        key = finding.key
        if match:
            message = f"{match}: {message}"
            key = f"{finding.key}@{match}"
        if f.kind == "sshd" and match is None:
            message += config_sshd.hint_misplaced(f, finding)
        yield Outcome.fail(
            message,
            location=config_sshd.location(f, finding.directive),
            evidence={**finding.evidence, "topic": topic.key, "source": topic.source, **parser},
            key=key,
            severity=topic.severity,
        )
    if not failed:
        topics = len(FORMATS[f.kind])
        yield Outcome.passed(f"none of the {topics} {f.kind} topics found weak", evidence=parser)
    dh = f.referenced.get("dh")
    if dh is not None and "skipped" in dh:
        yield Outcome.skip(
            f"Diffie-Hellman parameters {dh['file']}: {dh['skipped']}", key="dh", evidence=parser
        )
    root = f.root.rstrip("/") + "/" if f.root else ""
    for note in f.notes:
        if " include " in f" {note}" and ("not read" in note or "not in the checkout" in note):
            where = note.split(": ", 1)[0]
            where = where.removeprefix(root) if root else where  # keys stay machine-independent
            yield Outcome.skip(note.removeprefix(root), key=f"include:{where}", evidence=parser)


def _plain(found: Iterator[Finding]) -> Iterator[tuple[Finding, str | None]]:
    for finding in found:
        yield finding, None


def _policy(ctx: CheckContext) -> Any:
    return ctx.policy.get


@check(
    id="ACCESS-VPN-CONFIG",
    title="VPN configuration weak or contradicts the declaration",
    area=Area.ACCESS,
    severity=Severity.HIGH,
    target=TargetKind.CONFIG,
    facts="evidence_file",
    description="WireGuard: private key readable by others or kept inline, a server's peers allowed "
    "far more addresses than one client serves, peers without a preshared key, tunnel mode "
    "differing from controls.access.vpn. OpenVPN: legacy ciphers, weak auth digest, compression "
    "(VORACLE), small Diffie-Hellman parameters (the dh file is read), duplicate-cn, client "
    "certificates not required, no tls-auth/tls-crypt, tls-version-min below 1.2, "
    "script-security 3, clients not checking the server certificate, static keys, inline keys.",
    remediation="Keep VPN keys out of the repository and mode 0600; OpenVPN: AES-256-GCM or "
    "ChaCha20-Poly1305, auth SHA256+, no compression, dh >= 2048 (or ECDH), tls-crypt, "
    "tls-version-min 1.2, remote-cert-tls server; WireGuard: one /32 (or /128) per client peer "
    "and a PresharedKey.",
    references=[
        "https://www.wireguard.com/quickstart/",
        "https://community.openvpn.net/openvpn/wiki/Hardening",
        "https://openvpn.net/community-resources/reference-manual-for-openvpn-2-6/",
    ],
)
def vpn_config(f: EvidenceFile, ctx: CheckContext) -> Iterator[Outcome]:
    if f.kind == "wireguard":
        declared = _declared_tunnel(ctx, f.path)
        yield from _outcomes(f, _plain(config_vpn.wireguard(f, _policy(ctx), declared)))
    elif f.kind == "openvpn":
        yield from _outcomes(f, _plain(config_vpn.openvpn(f, _policy(ctx))))
    else:
        yield Outcome.not_applicable(f"not a VPN configuration ({f.kind})")


@check(
    id="ACCESS-SSHD-CONFIG",
    title="SSH server allows password or root login, weak algorithms or loose limits",
    area=Area.ACCESS,
    severity=Severity.HIGH,
    target=TargetKind.CONFIG,
    facts="evidence_file",
    description="The effective configuration (sshd -T where OpenSSH is installed; else posture's "
    "reading: first value wins, Include inside the scanned folder, Match blocks apart): password, "
    "keyboard-interactive, empty-password, root, host-based and rhosts login, user environment, "
    "agent/TCP/X11/tunnel forwarding, GatewayPorts, MaxAuthTries, LoginGraceTime, MaxStartups, "
    "ciphers/MACs/key exchange against Mozilla's modern list, DSA host keys, StrictModes, "
    "LogLevel; each Match block that weakens one of them.",
    remediation="PasswordAuthentication no, PermitRootLogin no (or prohibit-password), no "
    "forwarding you do not use, MaxAuthTries 4, LoginGraceTime 60, MaxStartups 10:30:60, and only "
    "the ciphers, MACs and key exchanges of Mozilla's modern OpenSSH guideline.",
    references=[SSH, "https://man.openbsd.org/sshd_config"],
)
def sshd_config(f: EvidenceFile, ctx: CheckContext) -> Iterator[Outcome]:
    if f.kind != "sshd":
        yield Outcome.not_applicable(f"not an sshd_config ({f.kind})")
        return
    yield from _outcomes(f, config_sshd.findings(f, _policy(ctx)))


@check(
    id="ACCESS-NGINX-CONFIG",
    title="nginx allows old TLS, discloses files or leaves admin locations open",
    area=Area.ACCESS,
    severity=Severity.HIGH,
    target=TargetKind.CONFIG,
    facts="evidence_file",
    description="Checked by nginx -t where nginx is installed, judged on posture's block parser: "
    "ssl_protocols, ssl_ciphers, ssl_dhparam size, server_tokens, autoindex, .git/.env and backup "
    "files served, stub_status and admin locations open to all, alias path traversal.",
    remediation="ssl_protocols TLSv1.2 TLSv1.3; server_tokens off; autoindex off; "
    "location ~ /\\. { deny all; } and a deny rule for backup suffixes; protect admin and "
    "stub_status locations with allow/deny, auth_basic or auth_request (plus MFA in the application).",
    references=[
        "https://ssl-config.mozilla.org/",
        "https://nginx.org/en/docs/http/ngx_http_access_module.html",
        "https://www.cisecurity.org/benchmark/nginx",
    ],
)
def nginx_config(f: EvidenceFile, ctx: CheckContext) -> Iterator[Outcome]:
    if f.kind != "nginx":
        yield Outcome.not_applicable(f"not an nginx configuration ({f.kind})")
        return
    yield from _outcomes(f, _plain(config_nginx.nginx(f, _policy(ctx))))
