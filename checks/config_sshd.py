"""sshd_config topics (see config_topics.SSHD): the global values, as sshd -T printed them where
OpenSSH is installed or as posture reads them (first value wins, defaults of OpenSSH 9), then
each Match block's overrides."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

from posture.checks.collectors.evidence_files import Directive, EvidenceFile
from posture.checks.config_topics import Finding
from posture.model import Location

# sshd_config(5) defaults (OpenSSH 9.x), used when sshd itself did not parse the file.
DEFAULTS = {
    "passwordauthentication": "yes",
    "permitrootlogin": "prohibit-password",
    "kbdinteractiveauthentication": "yes",
    "usepam": "no",
    "permitemptypasswords": "no",
    "hostbasedauthentication": "no",
    "ignorerhosts": "yes",
    "permituserenvironment": "no",
    "x11forwarding": "no",
    "allowtcpforwarding": "yes",
    "allowagentforwarding": "yes",
    "permittunnel": "no",
    "gatewayports": "no",
    "disableforwarding": "no",
    "maxauthtries": "6",
    "logingracetime": "120",
    "maxstartups": "10:30:100",
    "loglevel": "info",
    "strictmodes": "yes",
}
_CANON = {"without-password": "prohibit-password", "true": "yes", "false": "no", "all": "yes"}


Getter = Callable[[str], tuple[str, Directive | None]]


def seconds(value: str) -> int | None:
    """sshd time format: 90, 1m30s, 2h ..."""
    total = 0
    units = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
    parts = re.findall(r"(\d+)([smhdw]?)", value.lower())
    if not parts or "".join(a + b for a, b in parts) != value.lower():
        return None
    for number, unit in parts:
        total += int(number) * units[unit]
    return total


def first_global(f: EvidenceFile, name: str) -> Directive | None:
    return next((d for d in f.directives if d.name == name and not d.context), None)


def global_getter(f: EvidenceFile) -> Getter:
    def get(name: str) -> tuple[str, Directive | None]:
        d = first_global(f, name)
        if f.effective and name in f.effective:
            value = f.effective[name][0]
        elif d is not None:
            value = " ".join(d.args)
        else:
            value = DEFAULTS.get(name, "")
        return _CANON.get(value.lower(), value.lower()) if name not in _LISTS else value, d

    return get


def match_getter(
    block: dict[str, Any], base: Getter, daemon: dict[str, tuple[str, ...]] | None = None
) -> Getter:
    """Values for a connection the block matches: sshd -T -C's where it ran, else the block's own
    lines over the global values."""
    own: dict[str, Directive] = {}
    for d in block["directives"]:
        own.setdefault(d.name, d)  # first value wins inside a Match too

    def get(name: str) -> tuple[str, Directive | None]:
        d = own.get(name)
        if d is None:
            return base(name)
        value = daemon[name][0] if daemon and name in daemon else " ".join(d.args)
        return _CANON.get(value.lower(), value.lower()) if name not in _LISTS else value, d

    return get


_LISTS = {"ciphers", "macs", "kexalgorithms"}


def evaluate(
    get: Getter, policy: Callable[[str, Any], Any], explicit: Callable[[str], bool]
) -> Iterator[Finding]:
    def fail(key: str, message: str, d: Directive | None, **evidence: Any) -> Finding:
        return Finding(key, message, d, evidence)

    value, d = get("passwordauthentication")
    if value != "no":
        yield fail(
            "password", "password login allowed" + ("" if d else " (default: yes)"), d, value=value
        )
    kbd, kd = get("kbdinteractiveauthentication")
    pam, _ = get("usepam")
    if kbd == "yes" and pam == "yes":
        yield fail(
            "kbd-interactive",
            "KbdInteractiveAuthentication yes with UsePAM yes: PAM asks for passwords",
            kd,
            value=kbd,
        )
    value, d = get("permitrootlogin")
    if value == "yes":
        yield fail("root", "PermitRootLogin yes", d, value=value)
    for key, name, bad, text in (
        (
            "empty-passwords",
            "permitemptypasswords",
            {"yes"},
            "PermitEmptyPasswords yes: accounts without a password can log in",
        ),
        (
            "hostbased",
            "hostbasedauthentication",
            {"yes"},
            "HostbasedAuthentication yes: trust by host, not by user key",
        ),
        ("rhosts", "ignorerhosts", {"no"}, "IgnoreRhosts no: .rhosts/.shosts files are honoured"),
        ("x11-forwarding", "x11forwarding", {"yes"}, "X11Forwarding yes"),
        (
            "strict-modes",
            "strictmodes",
            {"no"},
            "StrictModes no: key files writable by others are honoured",
        ),
    ):
        value, d = get(name)
        if value in bad:
            yield fail(key, text, d, value=value)
    value, d = get("permituserenvironment")
    if value != "no":
        yield fail(
            "user-environment",
            f"PermitUserEnvironment {value}: users can set LD_PRELOAD and the like",
            d,
            value=value,
        )
    no_forwarding = get("disableforwarding")[0] == "yes"
    if not no_forwarding:
        for key, name, label in (
            ("tcp-forwarding", "allowtcpforwarding", "TCP forwarding"),
            ("agent-forwarding", "allowagentforwarding", "agent forwarding"),
        ):
            value, d = get(name)
            if value != "no":
                yield fail(
                    key, f"{label} allowed" + ("" if d else " (default: yes)"), d, value=value
                )
    value, d = get("permittunnel")
    if value != "no":
        yield fail("tunnel", f"PermitTunnel {value}: tun/tap device forwarding", d, value=value)
    value, d = get("gatewayports")
    if value not in ("no", ""):
        yield fail(
            "gateway-ports",
            f"GatewayPorts {value}: remote forwards listen on every interface",
            d,
            value=value,
        )
    limit = int(policy("access.sshd_max_auth_tries", 4))
    value, d = get("maxauthtries")
    if value.isdigit() and int(value) > limit:
        yield fail(
            "max-auth-tries",
            f"MaxAuthTries {value} (at most {limit})" + ("" if d else ", the default"),
            d,
            value=value,
        )
    grace = int(policy("access.sshd_max_login_grace_seconds", 60))
    value, d = get("logingracetime")
    secs = seconds(value)
    if secs is not None and (secs == 0 or secs > grace):
        what = (
            "0: unauthenticated connections are never dropped"
            if secs == 0
            else f"{secs} s (at most {grace})"
        )
        yield fail(
            "login-grace-time",
            f"LoginGraceTime {what}" + ("" if d else ", the default"),
            d,
            value=value,
        )
    start_max, rate_max, full_max = (
        int(x) for x in str(policy("access.sshd_max_startups", "10:30:60")).split(":")
    )
    value, d = get("maxstartups")
    parts = value.split(":")
    if all(p.isdigit() for p in parts) and parts[0]:
        start, rate, full = (
            (int(parts[0]), int(parts[1]), int(parts[2]))
            if len(parts) == 3
            else (int(parts[0]), 100, int(parts[0]))
        )
        if start > start_max or full > full_max or (len(parts) == 3 and rate > rate_max):
            yield fail(
                "max-startups",
                f"MaxStartups {value} (at most {start_max}:{rate_max}:{full_max})"
                + ("" if d else ", the default"),
                d,
                value=value,
            )
    value, d = get("loglevel")
    if value in ("quiet", "silent", "fatal", "error"):
        yield fail(
            "log-level", f"LogLevel {value.upper()}: logins are not recorded", d, value=value
        )
    for key, policy_key, label in (
        ("ciphers", "access.sshd_weak_ciphers", "cipher"),
        ("macs", "access.sshd_weak_macs", "MAC"),
        ("kexalgorithms", "access.sshd_weak_kex", "key exchange"),
    ):
        if not explicit(key):
            continue  # the installed OpenSSH's defaults: not the file's choice
        value, d = get(key)
        weak = {str(w).lower() for w in policy(policy_key, [])}
        algos = value.split(",")
        if value[:1] in "+^":
            algos = value[1:].split(",")  # only what the file adds to the defaults
        elif value[:1] == "-":
            algos = []
        found = [a for a in algos if a.strip().lower() in weak]
        if found:
            yield fail(key, f"weak {label}: {', '.join(found)}", d, **{label: found})


def dsa_host_keys(f: EvidenceFile) -> Iterator[Finding]:
    for d in f.directives:
        if d.name == "hostkey" and d.args and re.search(r"(?<!ec)dsa", d.args[0].lower()):
            yield Finding("dsa-host-key", f"DSA host key {d.args[0]}", d, {"hostkey": d.args[0]})


def findings(
    f: EvidenceFile, policy: Callable[[str, Any], Any]
) -> Iterator[tuple[Finding, str | None]]:
    """(finding, Match block or None) for the file."""
    base = global_getter(f)

    def explicit_global(name: str) -> bool:
        return first_global(f, name) is not None

    global_keys = set()
    for finding in evaluate(base, policy, explicit_global):
        global_keys.add(finding.key)
        yield finding, None
    for finding in dsa_host_keys(f):
        yield finding, None
    for block in f.blocks:
        names = {d.name for d in block["directives"]}
        get = match_getter(block, base, f.match_effective.get(int(block["line"])))
        for finding in evaluate(get, policy, lambda n, names=names: n in names):  # type: ignore[misc]
            if finding.key in global_keys or finding.directive is None:
                continue
            if finding.directive not in block["directives"]:
                continue  # the global value, already judged
            read_by = "sshd -T -C" if int(block["line"]) in f.match_effective else "posture"
            yield (
                replace(finding, evidence={**finding.evidence, "match_read_by": read_by}),
                str(block["context"]),
            )


def hint_misplaced(f: EvidenceFile, finding: Finding) -> str:
    """' (the X on line N is inside Match ...)' when the fix was written inside a Match block."""
    names = {"password": "passwordauthentication", "root": "permitrootlogin"}
    name = names.get(finding.key)
    if name is None or finding.directive is not None:
        return ""
    inside = next((d for d in f.directives if d.name == name and d.context), None)
    if inside is None:
        return ""
    return f" (the {name} on line {inside.line} is inside '{inside.context[0]}' and applies only there)"


def location(f: EvidenceFile, d: Directive | None) -> Location:
    if d is None:
        return Location(f.path, None, None)
    return Location(d.file or f.path, d.line, d.line)
