"""The topics each evidence-config check covers: key, severity and the guidance it comes from.

docs/controls.md lists the same table per format (a test keeps the two in step).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from posture.checks.collectors.evidence_files import Directive
from posture.model import Severity

MOZ_SSH = "Mozilla OpenSSH guidelines"
CIS_SSH = "CIS Ubuntu Linux 22.04 LTS Benchmark 5.2 (Configure SSH Server)"
SSHD_MAN = "sshd_config(5)"
OVPN_HARD = "OpenVPN Hardening guide (community wiki)"
OVPN_MAN = "openvpn(8) 2.6 reference manual"
OVPN_HOWTO = "OpenVPN HOWTO, Hardening OpenVPN Security"
WG = "WireGuard documentation"
CIS_NGINX = "CIS NGINX Benchmark v2.0.0"
MOZ_TLS = "Mozilla Server Side TLS (intermediate)"


@dataclass(frozen=True)
class Topic:
    key: str
    severity: Severity
    what: str
    source: str


@dataclass(frozen=True)
class Finding:
    """One weakness a topic rule found in a file, before it becomes a result."""

    key: str
    message: str
    directive: Directive | None
    evidence: dict[str, Any]
    topic: str = ""  # when the key does not start with it


def _table(*rows: Topic) -> dict[str, Topic]:
    return {t.key: t for t in rows}


H, M, L, C = Severity.HIGH, Severity.MEDIUM, Severity.LOW, Severity.CRITICAL

SSHD = _table(
    Topic("password", H, "PasswordAuthentication not no (default yes)", f"{MOZ_SSH}; {CIS_SSH}"),
    Topic(
        "kbd-interactive",
        M,
        "KbdInteractiveAuthentication yes with UsePAM yes (passwords through PAM)",
        MOZ_SSH,
    ),
    Topic("root", H, "PermitRootLogin yes", f"{CIS_SSH} 'PermitRootLogin is disabled'; {MOZ_SSH}"),
    Topic(
        "empty-passwords",
        C,
        "PermitEmptyPasswords yes",
        f"{CIS_SSH} 'PermitEmptyPasswords is disabled'",
    ),
    Topic(
        "hostbased",
        H,
        "HostbasedAuthentication yes",
        f"{CIS_SSH} 'HostbasedAuthentication is disabled'",
    ),
    Topic("rhosts", H, "IgnoreRhosts no", f"{CIS_SSH} 'IgnoreRhosts is enabled'"),
    Topic(
        "user-environment",
        M,
        "PermitUserEnvironment not no",
        f"{CIS_SSH} 'PermitUserEnvironment is disabled'",
    ),
    Topic("x11-forwarding", M, "X11Forwarding yes", f"{CIS_SSH} 'X11 forwarding is disabled'"),
    Topic(
        "tcp-forwarding",
        L,
        "AllowTcpForwarding not no (default yes)",
        f"{CIS_SSH} 'AllowTcpForwarding is disabled'",
    ),
    Topic("agent-forwarding", L, "AllowAgentForwarding not no (default yes)", SSHD_MAN),
    Topic("tunnel", M, "PermitTunnel not no", SSHD_MAN),
    Topic("gateway-ports", M, "GatewayPorts yes/clientspecified", SSHD_MAN),
    Topic(
        "max-auth-tries",
        L,
        "MaxAuthTries above 4 (default 6)",
        f"{CIS_SSH} 'MaxAuthTries is set to 4 or less'",
    ),
    Topic(
        "login-grace-time",
        L,
        "LoginGraceTime above 60 s (default 120) or 0 (no limit)",
        f"{CIS_SSH} 'LoginGraceTime is set to one minute or less'",
    ),
    Topic(
        "max-startups",
        L,
        "MaxStartups looser than 10:30:60 (default 10:30:100)",
        f"{CIS_SSH} 5.2.19 'MaxStartups is configured'",
    ),
    Topic(
        "ciphers",
        M,
        "Ciphers outside Mozilla's modern list (CBC, 3DES, arcfour)",
        f"{MOZ_SSH} (modern); {CIS_SSH} 'only strong Ciphers'",
    ),
    Topic(
        "macs",
        M,
        "MACs with MD5/SHA-1/64-bit tags",
        f"{MOZ_SSH} (modern); {CIS_SSH} 'only strong MAC algorithms'",
    ),
    Topic(
        "kexalgorithms",
        M,
        "KexAlgorithms with SHA-1 groups",
        f"{MOZ_SSH} (modern); {CIS_SSH} 'only strong Key Exchange algorithms'",
    ),
    Topic("dsa-host-key", L, "a DSA host key", MOZ_SSH),
    Topic(
        "strict-modes", M, "StrictModes no (authorized_keys writable by others honoured)", SSHD_MAN
    ),
    Topic(
        "log-level",
        L,
        "LogLevel below INFO (logins not recorded)",
        f"{CIS_SSH} 'LogLevel is appropriate'; {MOZ_SSH} (LogLevel VERBOSE)",
    ),
    Topic("match", H, "a Match block weakens any of the above for some connections", SSHD_MAN),
    Topic(
        "include", L, "an Include not in the checkout or outside it (skipped, not judged)", SSHD_MAN
    ),
)

OPENVPN = _table(
    Topic(
        "cipher",
        H,
        "legacy data cipher (BF-CBC, DES, RC2, CAST5 ...) or none",
        f"{OVPN_HARD}; {OVPN_MAN} --data-ciphers",
    ),
    Topic(
        "auth", M, "control-channel digest MD5, SHA-1 or none", f"{OVPN_HARD}; {OVPN_MAN} --auth"
    ),
    Topic(
        "compression",
        M,
        "comp-lzo / compress lzo|lz4 / allow-compression yes (VORACLE)",
        f"{OVPN_MAN} --compress (VORACLE)",
    ),
    Topic(
        "dh",
        H,
        "Diffie-Hellman parameters under 2048 bits (the dh file is read)",
        f"{OVPN_HARD}; {MOZ_TLS}",
    ),
    Topic(
        "duplicate-cn",
        M,
        "duplicate-cn: one certificate usable by many clients at once",
        f"{OVPN_MAN} --duplicate-cn",
    ),
    Topic(
        "client-cert",
        H,
        "verify-client-cert none|optional, client-cert-not-required",
        f"{OVPN_MAN} --verify-client-cert",
    ),
    Topic("tls-min", M, "tls-version-min missing or below 1.2", f"{OVPN_HARD}"),
    Topic("no-tls-crypt", M, "neither tls-auth nor tls-crypt", f"{OVPN_HARD}"),
    Topic(
        "script-security",
        M,
        "script-security 3 (passwords passed to scripts)",
        f"{OVPN_MAN} --script-security",
    ),
    Topic(
        "remote-cert-tls",
        M,
        "a client that does not check the server's certificate usage",
        f"{OVPN_HARD} (X.509 key usage)",
    ),
    Topic(
        "privileges",
        L,
        "a server that keeps root privileges (no user/group to drop to)",
        f"{OVPN_HOWTO} (reduced privileges)",
    ),
    Topic("static-key", M, "static-key mode (secret): no forward secrecy", f"{OVPN_MAN} --secret"),
    Topic("key-mode", H, "inline private key in a file readable by group or others", OVPN_MAN),
    Topic("inline-key", M, "private key inline in the config kept with the code", OVPN_MAN),
)

WIREGUARD = _table(
    Topic(
        "key-mode",
        H,
        "file holding PrivateKey readable by group or others",
        f"{WG} (Quick Start: umask 077; wg-quick(8))",
    ),
    Topic(
        "inline-key",
        M,
        "PrivateKey written in the config kept with the code",
        f"{WG} wg-quick(8) (PostUp wg set %i private-key)",
    ),
    Topic(
        "allowed-ips-any",
        H,
        "a server's roaming peer allowed 0.0.0.0/0 or ::/0",
        f"{WG} (Cryptokey Routing)",
    ),
    Topic(
        "allowed-ips-wide",
        M,
        "a server's roaming peer allowed a prefix wider than /16 (IPv4) or /48 (IPv6)",
        f"{WG} (Cryptokey Routing)",
    ),
    Topic(
        "preshared-key",
        L,
        "a peer without PresharedKey (no post-quantum layer)",
        f"{WG} wg(8) PresharedKey",
    ),
    Topic(
        "tunnel-contradiction",
        M,
        "full/split tunnel differs from controls.access.vpn.tunnel",
        "posture declaration",
    ),
)

NGINX = _table(
    Topic(
        "protocols",
        H,
        "ssl_protocols with SSLv3, TLSv1 or TLSv1.1",
        f"{CIS_NGINX} 4.1.4 'only modern TLS protocols'; {MOZ_TLS}",
    ),
    Topic(
        "protocols-default",
        M,
        "TLS served without ssl_protocols (nginx before 1.23.4 allows TLSv1/1.1)",
        f"{CIS_NGINX} 4.1.4 'only modern TLS protocols'",
    ),
    Topic(
        "ciphers",
        M,
        "ssl_ciphers enabling RC4, 3DES, DES, NULL, EXPORT, MD5, aNULL",
        f"{CIS_NGINX} 4.1.5 'Disable weak ciphers'; {MOZ_TLS}",
    ),
    Topic(
        "dh",
        H,
        "ssl_dhparam under 2048 bits (the file is read)",
        f"{CIS_NGINX} 4.1.6 'custom Diffie-Hellman parameters'; {MOZ_TLS}",
    ),
    Topic(
        "server-tokens",
        L,
        "server_tokens not off (version disclosed)",
        f"{CIS_NGINX} 2.5.1 'server_tokens directive is set to off'",
    ),
    Topic(
        "autoindex",
        M,
        "autoindex on (directory listing)",
        "nginx ngx_http_autoindex_module (default off); CIS NGINX 2.5 (information disclosure)",
    ),
    Topic(
        "hidden-files",
        M,
        "a server serving files with no deny for /.git, /.svn, /.env",
        f"{CIS_NGINX} 2.5.3 'hidden file serving is disabled'",
    ),
    Topic(
        "backup-files",
        M,
        "a server serving files with no deny for backup suffixes (.bak, ~, .old, .sql)",
        "OWASP WSTG-CONF-04 (old, backup and unreferenced files); deny as in CIS NGINX 2.5.3",
    ),
    Topic(
        "stub-status",
        M,
        "stub_status without allow/deny or auth",
        f"{CIS_NGINX} 5.1.1 'allow and deny filters limit access'",
    ),
    Topic(
        "admin-location",
        H,
        "an admin location without allow/deny or authentication",
        f"{CIS_NGINX} 5.1.1 'allow and deny filters limit access'",
    ),
    Topic(
        "alias-traversal",
        H,
        "location /x without trailing slash + alias ending in / (path traversal)",
        "nginx alias docs; Gixy alias_traversal",
    ),
    Topic(
        "include",
        L,
        "an include not in the checkout or outside it (skipped, not judged)",
        "nginx core module",
    ),
)

FORMATS = {"sshd": SSHD, "openvpn": OPENVPN, "wireguard": WIREGUARD, "nginx": NGINX}
