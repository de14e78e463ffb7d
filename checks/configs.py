"""Access-related evidence files: VPN configs (WireGuard, OpenVPN), sshd_config, nginx."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from posture.checks.collectors.evidence_files import Directive, EvidenceFile, collect_evidence_file
from posture.model import Area, Location, Severity, TargetKind
from posture.plugin import CheckContext, Outcome, check

__all__ = ["collect_evidence_file"]

SSH = "https://infosec.mozilla.org/guidelines/openssh"


def _at(f: EvidenceFile, line: int | None) -> Location:
    return Location(f.path, line, line)


def _last(f: EvidenceFile, name: str) -> Directive | None:
    found = [d for d in f.directives if d.name == name and not d.context]
    return found[0] if f.kind == "sshd" and found else (found[-1] if found else None)


def _declared_tunnel(ctx: CheckContext, path: str) -> str | None:
    access = ctx.config.controls.access if ctx.config is not None else None
    if access is None or access.vpn is None or access.vpn.config is None or ctx.config is None:
        return None
    if ctx.config.resolve_path(access.vpn.config).resolve() != Path(path).resolve():
        return None
    return access.vpn.tunnel


@check(
    id="ACCESS-VPN-CONFIG",
    title="VPN configuration weak or contradicts the declaration",
    area=Area.ACCESS,
    severity=Severity.HIGH,
    target=TargetKind.CONFIG,
    facts="evidence_file",
    description="WireGuard: private key readable by others, tunnel mode differing from the one "
    "declared in controls.access.vpn. OpenVPN: legacy ciphers (BF-CBC ...), no tls-auth/tls-crypt, "
    "tls-version-min below 1.2.",
    remediation="Keep VPN keys mode 0600, use AES-256-GCM or ChaCha20 with tls-crypt and TLS >= 1.2, "
    "and route traffic as declared.",
    references=[
        "https://www.wireguard.com/quickstart/",
        "https://community.openvpn.net/openvpn/wiki/Hardening",
    ],
)
def vpn_config(f: EvidenceFile, ctx: CheckContext) -> Iterator[Outcome]:
    if f.kind == "wireguard":
        key = next((d for d in f.directives if d.name == "privatekey"), None)
        if key is not None and f.mode & 0o077:
            yield Outcome.fail(
                f"file holding the private key is mode {oct(f.mode)}: readable by others",
                location=_at(f, key.line),
                evidence={"mode": oct(f.mode)},
                key="key-mode",
                severity=Severity.HIGH,
            )
        allowed = [d for d in f.directives if d.name == "allowedips"]
        full = any("0.0.0.0/0" in d.args[0] or "::/0" in d.args[0] for d in allowed)
        actual = "full" if full else "split"
        declared = _declared_tunnel(ctx, f.path)
        if declared and declared != actual and allowed:
            yield Outcome.fail(
                f"declared {declared}-tunnel VPN, but the config routes a {actual} tunnel",
                location=_at(f, allowed[0].line),
                evidence={
                    "declared": declared,
                    "configured": actual,
                    "allowed_ips": [d.args[0] for d in allowed],
                },
                key="tunnel-contradiction",
                severity=Severity.MEDIUM,
            )
    elif f.kind == "openvpn":
        weak = [str(w).upper() for w in ctx.policy.get("access.openvpn_weak_ciphers", [])]
        for d in f.directives:
            if d.name in ("cipher", "data-ciphers", "ncp-ciphers", "data-ciphers-fallback"):
                bad = [c for c in ":".join(d.args).split(":") if c.upper() in weak]
                if bad:
                    yield Outcome.fail(
                        f"legacy cipher {', '.join(bad)}",
                        location=_at(f, d.line),
                        evidence={"directive": d.name, "ciphers": bad},
                        key=f"cipher:{d.line}",
                    )
        if not any(d.name in ("tls-auth", "tls-crypt", "tls-crypt-v2") for d in f.directives):
            yield Outcome.fail(
                "no tls-auth or tls-crypt: the TLS handshake is open to anyone",
                location=_at(f, None),
                key="no-tls-crypt",
                severity=Severity.MEDIUM,
            )
        minimum = next((d for d in f.directives if d.name == "tls-version-min"), None)
        if minimum is None or minimum.args[:1] and minimum.args[0] in ("1.0", "1.1"):
            yield Outcome.fail(
                "tls-version-min is "
                + (minimum.args[0] if minimum else "not set (TLS 1.0 allowed)"),
                location=_at(f, minimum.line if minimum else None),
                key="tls-min",
                severity=Severity.MEDIUM,
            )
    else:
        yield Outcome.not_applicable(f"not a VPN configuration ({f.kind})")


@check(
    id="ACCESS-SSHD-CONFIG",
    title="SSH server allows password or root login, or weak algorithms",
    area=Area.ACCESS,
    severity=Severity.HIGH,
    target=TargetKind.CONFIG,
    facts="evidence_file",
    remediation="PasswordAuthentication no, PermitRootLogin no (or prohibit-password), and only the "
    "ciphers, MACs and key exchanges of Mozilla's modern OpenSSH guideline.",
    references=[SSH],
)
def sshd_config(f: EvidenceFile, ctx: CheckContext) -> Iterator[Outcome]:
    if f.kind != "sshd":
        yield Outcome.not_applicable(f"not an sshd_config ({f.kind})")
        return
    password = _last(f, "passwordauthentication")
    if password is None or password.args[:1] != ("no",):
        yield Outcome.fail(
            "password login allowed" + ("" if password else " (default: yes)"),
            location=_at(f, password.line if password else None),
            key="password",
        )
    root = _last(f, "permitrootlogin")
    if root is None or root.args[:1] == ("yes",):
        value = root.args[0] if root else "prohibit-password (default)"
        if root is not None:
            yield Outcome.fail(f"PermitRootLogin {value}", location=_at(f, root.line), key="root")
    for name, policy_key, label in (
        ("ciphers", "access.sshd_weak_ciphers", "cipher"),
        ("macs", "access.sshd_weak_macs", "MAC"),
        ("kexalgorithms", "access.sshd_weak_kex", "key exchange"),
    ):
        d = _last(f, name)
        if d is None:
            continue
        weak = {str(w).lower() for w in ctx.policy.get(policy_key, [])}
        bad = [a for a in ",".join(d.args).split(",") if a.lower().lstrip("+") in weak]
        if bad:
            yield Outcome.fail(
                f"weak {label}: {', '.join(bad)}",
                location=_at(f, d.line),
                evidence={label: bad},
                key=name,
                severity=Severity.MEDIUM,
            )


@check(
    id="ACCESS-NGINX-CONFIG",
    title="nginx allows old TLS or leaves admin locations open",
    area=Area.ACCESS,
    severity=Severity.HIGH,
    target=TargetKind.CONFIG,
    facts="evidence_file",
    remediation="ssl_protocols TLSv1.2 TLSv1.3; and protect admin locations with allow/deny, "
    "auth_basic or auth_request (plus MFA in the application).",
    references=[
        "https://ssl-config.mozilla.org/",
        "https://nginx.org/en/docs/http/ngx_http_access_module.html",
    ],
)
def nginx_config(f: EvidenceFile, ctx: CheckContext) -> Iterator[Outcome]:
    if f.kind != "nginx":
        yield Outcome.not_applicable(f"not an nginx configuration ({f.kind})")
        return
    for d in f.directives:
        if d.name == "ssl_protocols":
            old = [p for p in d.args if p in ("SSLv2", "SSLv3", "TLSv1", "TLSv1.1")]
            if old:
                yield Outcome.fail(
                    f"ssl_protocols allows {' '.join(old)}",
                    location=_at(f, d.line),
                    evidence={"protocols": list(d.args)},
                    key=f"protocols:{d.line}",
                )
        if d.name == "ssl_ciphers":
            spec = " ".join(d.args).strip("'\"").upper()
            enabled = [
                t for t in spec.replace("+", ":").split(":") if t and not t.startswith(("!", "-"))
            ]
            weak = [
                c
                for c in ("RC4", "3DES", "DES-CBC3", "NULL", "EXPORT", "MD5")
                if any(c in token for token in enabled)
            ]
            if weak:
                yield Outcome.fail(
                    f"ssl_ciphers allows {', '.join(weak)}",
                    location=_at(f, d.line),
                    evidence={"ciphers": spec},
                    key=f"ciphers:{d.line}",
                    severity=Severity.MEDIUM,
                )
    markers = [str(m).lower() for m in ctx.policy.get("access.admin_location_markers", [])]
    guards = {"allow", "deny", "auth_basic", "auth_request", "satisfy", "return"}
    for block in f.blocks:
        context = str(block["context"])
        if not context.startswith("location") or not any(m in context.lower() for m in markers):
            continue
        names = {d.name for d in block["directives"]}
        if not names & guards:
            yield Outcome.fail(
                f"{context} has neither allow/deny nor authentication",
                location=_at(f, int(block["line"])),
                key=context,
            )
