"""OpenVPN and WireGuard topics (see config_topics.OPENVPN and config_topics.WIREGUARD)."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterator
from typing import Any

from posture.checks.collectors.evidence_files import Directive, EvidenceFile
from posture.checks.config_topics import Finding

Policy = Callable[[str, Any], Any]
_SECRET_BLOCKS = ("<key>", "<tls-auth>", "<tls-crypt>", "<tls-crypt-v2>", "<secret>", "<pkcs12>")


def _first(f: EvidenceFile, *names: str) -> Directive | None:
    return next((d for d in f.directives if d.name in names), None)


def _is_server(f: EvidenceFile) -> bool:
    return any(d.name in ("server", "mode", "server-bridge", "tls-server") for d in f.directives)


def openvpn(f: EvidenceFile, policy: Policy) -> Iterator[Finding]:
    weak = [str(w).upper() for w in policy("access.openvpn_weak_ciphers", [])] + ["NONE"]
    for d in f.directives:
        if d.name in ("cipher", "data-ciphers", "ncp-ciphers", "data-ciphers-fallback"):
            bad = [c for c in ":".join(d.args).split(":") if c.upper() in weak]
            if [c.upper() for c in bad] == ["NONE"]:
                yield Finding(
                    f"cipher:{d.line}",
                    f"{d.name} none: the tunnel carries traffic unencrypted",
                    d,
                    {"directive": d.name, "ciphers": bad},
                )
            elif bad:
                yield Finding(
                    f"cipher:{d.line}",
                    f"legacy cipher {', '.join(bad)}",
                    d,
                    {"directive": d.name, "ciphers": bad},
                )
    auth = _first(f, "auth")
    weak_digests = {
        str(w).upper()
        for w in policy(
            "access.openvpn_weak_digests", ["MD5", "SHA1", "SHA", "NONE", "RSA-MD5", "RSA-SHA1"]
        )
    }
    if auth is not None and auth.args and auth.args[0].upper() in weak_digests:
        yield Finding(
            "auth",
            f"auth {auth.args[0]}: weak control-channel digest (use SHA256 or better)",
            auth,
            {"digest": auth.args[0]},
        )
    for d in f.directives:
        if d.name == "comp-lzo" and (not d.args or d.args[0].lower() != "no"):
            yield Finding(
                "compression",
                "comp-lzo: compression with encryption leaks plaintext (VORACLE)",
                d,
                {"directive": d.name},
            )
        elif d.name == "compress" and d.args and d.args[0].lower() in ("lzo", "lz4", "lz4-v2"):
            yield Finding(
                "compression",
                f"compress {d.args[0]}: compression with encryption leaks plaintext (VORACLE)",
                d,
                {"directive": d.name},
            )
        elif d.name == "allow-compression" and d.args and d.args[0].lower() == "yes":
            yield Finding(
                "compression",
                "allow-compression yes: peers may compress (VORACLE)",
                d,
                {"directive": d.name},
            )
    dh = _first(f, "dh")
    facts = f.referenced.get("dh")
    if dh is not None and facts is not None and "bits" in facts:
        min_bits = int(policy("access.min_dh_bits", 2048))
        if int(facts["bits"]) < min_bits:
            yield Finding(
                "dh",
                f"Diffie-Hellman parameters of {facts['bits']} bits (at least {min_bits})",
                dh,
                {"bits": facts["bits"], "file": facts["file"]},
            )
    d = _first(f, "duplicate-cn")
    if d is not None:
        yield Finding(
            "duplicate-cn",
            "duplicate-cn: one certificate may connect many times at once, so a stolen one goes unnoticed",
            d,
            {},
        )
    for d in f.directives:
        if d.name == "client-cert-not-required" or (
            d.name == "verify-client-cert" and d.args and d.args[0].lower() in ("none", "optional")
        ):
            value = " ".join([d.name, *d.args])
            yield Finding(
                "client-cert",
                f"{value}: clients are not required to present a certificate",
                d,
                {"directive": value},
            )
    if not any(
        d.name
        in ("tls-auth", "tls-crypt", "tls-crypt-v2", "<tls-auth>", "<tls-crypt>", "<tls-crypt-v2>")
        for d in f.directives
    ):
        yield Finding(
            "no-tls-crypt",
            "no tls-auth or tls-crypt: the TLS handshake is open to anyone",
            None,
            {},
        )
    minimum = _first(f, "tls-version-min")
    if minimum is None or minimum.args[:1] and minimum.args[0] in ("1.0", "1.1"):
        yield Finding(
            "tls-min",
            "tls-version-min is "
            + (
                minimum.args[0]
                if minimum and minimum.args
                else "not set (TLS 1.0 allowed before OpenVPN 2.6)"
            ),
            minimum,
            {},
        )
    d = _first(f, "script-security")
    if d is not None and d.args and d.args[0] == "3":
        yield Finding(
            "script-security",
            "script-security 3: passwords are passed to scripts in environment variables",
            d,
            {},
        )
    if _first(f, "client") is not None and not _is_server(f):
        if (
            _first(
                f,
                "remote-cert-tls",
                "verify-x509-name",
                "remote-cert-ku",
                "remote-cert-eku",
                "ns-cert-type",
            )
            is None
        ):
            yield Finding(
                "remote-cert-tls",
                "client does not check the server certificate's usage (remote-cert-tls server): "
                "another client's certificate can impersonate the server",
                _first(f, "client"),
                {},
            )
    if _is_server(f) and _first(f, "user") is None:
        yield Finding(
            "privileges",
            "the server keeps root privileges: no user (and group) to drop to after start",
            _first(f, "server", "mode", "server-bridge", "tls-server"),
            {},
        )
    d = _first(f, "secret")
    if d is not None or _first(f, "<secret>") is not None:
        yield Finding(
            "static-key",
            "static-key mode (secret): no forward secrecy",
            d or _first(f, "<secret>"),
            {},
        )
    inline = [d for d in f.directives if d.name in _SECRET_BLOCKS]
    if inline:
        yield from _key_findings(f, inline[0], f"inline {inline[0].name} block")


def _key_findings(f: EvidenceFile, d: Directive, what: str) -> Iterator[Finding]:
    if f.mode & 0o077:
        yield Finding(
            "key-mode",
            f"file holding the private key ({what}) is mode {oct(f.mode)}: readable by others",
            d,
            {"mode": oct(f.mode)},
        )
    yield Finding(
        "inline-key",
        f"private key written in the config ({what}): anyone with the checkout holds it",
        d,
        {},
    )


def _networks(value: str) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    out = []
    for part in value.split(","):
        try:
            out.append(ipaddress.ip_network(part.strip(), strict=False))
        except ValueError:
            continue
    return out


def wireguard(f: EvidenceFile, policy: Policy, declared: str | None) -> Iterator[Finding]:
    key = _first(f, "privatekey") or _first(f, "presharedkey")
    if key is not None:
        yield from _key_findings(
            f, key, "PrivateKey" if key.name == "privatekey" else "PresharedKey"
        )
    hooks = " ".join(" ".join(d.args) for d in f.directives if d.name in ("postup", "preup"))
    # PostUp = wg set %i peer <public key> preshared-key /path: the key kept outside the file
    psk_from_file = {
        m.group(1)
        for m in re.finditer(r"\bpeer\s+(\S+)((?:(?!\speer\s).)*)", hooks)
        if "preshared-key" in m.group(2)
    }
    interface = (f.sections.get("interface") or [{}])[0]
    peers = f.sections.get("peer", [])
    is_server = "listenport" in interface
    min4 = int(policy("access.wireguard_min_prefix_v4", 16))
    min6 = int(policy("access.wireguard_min_prefix_v6", 48))
    for peer in peers:
        line = int(peer.get("_line", 0))
        allowed = peer.get("allowedips")
        roaming = "endpoint" not in peer  # the server does not dial it: a client of this server
        if allowed is not None and is_server and roaming:
            value, at = allowed
            nets = _networks(value)
            d = Directive("allowedips", (value,), at)
            if any(n.prefixlen == 0 for n in nets):
                yield Finding(
                    f"allowed-ips-any:{at}",
                    f"peer at line {line} may send from and receive for any address (AllowedIPs {value})",
                    d,
                    {"allowed_ips": value},
                )
            else:
                wide = [str(n) for n in nets if n.prefixlen < (min4 if n.version == 4 else min6)]
                if wide:
                    yield Finding(
                        f"allowed-ips-wide:{at}",
                        f"peer at line {line} is allowed {', '.join(wide)}: far more than one client serves",
                        d,
                        {"allowed_ips": value},
                    )
        public = str(peer.get("publickey", ("",))[0])
        if "presharedkey" not in peer and public not in psk_from_file:
            yield Finding(
                f"preshared-key:{line}",
                f"peer at line {line} has no PresharedKey",
                Directive("[peer]", (), line),
                {},
            )
    allowed_all = [d for d in f.directives if d.name == "allowedips"]
    full = any("0.0.0.0/0" in d.args[0] or "::/0" in d.args[0] for d in allowed_all)
    actual = "full" if full else "split"
    if declared and declared != actual and allowed_all:
        yield Finding(
            "tunnel-contradiction",
            f"declared {declared}-tunnel VPN, but the config routes a {actual} tunnel",
            allowed_all[0],
            {
                "declared": declared,
                "configured": actual,
                "allowed_ips": [d.args[0] for d in allowed_all],
            },
        )
