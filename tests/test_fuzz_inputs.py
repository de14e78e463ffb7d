"""Fuzzing the inputs a pull request controls: posture.yaml and evidence files.

Whatever the bytes, the real CLI (run in-process, so each example is cheap) ends with exit 0, 1,
2 or 3, and an error is one line on stderr: never a traceback. A bounded, derandomised number of
examples runs in CI; raise ``POSTURE_FUZZ_EXAMPLES`` to fuzz longer by hand.

Checks whose collectors reach the network (storefront HTTP, TLS, the privacy pages) are left
out: generated URLs must never leave this machine.
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from posture.cli import main

EXAMPLES = int(os.environ.get("POSTURE_FUZZ_EXAMPLES", "150"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
NETWORK_FACTS = {"http", "tls", "privacy_web"}


def _offline_skips() -> list[str]:
    from posture.registry import load_registry

    registry = load_registry()
    skips = []
    for spec in registry.sorted_checks():
        if spec.facts in NETWORK_FACTS:
            skips += ["--skip", spec.id]
    return skips


SKIPS = _offline_skips()


def run_cli(folder: Path, config: str = "posture.yaml") -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(
            ["scan", "-c", str(folder / config), "--no-record", "--timeout", "1",
             "-f", "json", *SKIPS]
        )  # fmt: skip
    return code, err.getvalue()


def assert_clean_exit(code: int, stderr: str) -> None:
    """An exception escaping ``main`` fails the test by itself; this checks the rest. Only lines
    that posture wrote count: stderr is the process's, shared with other tests' server threads."""
    assert code in (0, 1, 2, 3), (code, stderr)
    ours = [line for line in stderr.splitlines() if line.startswith("posture:")]
    if code == 2:
        assert len(ours) == 1 and ours[0].startswith("posture: error: "), stderr


# --- posture.yaml ------------------------------------------------------------------------------

tricky = st.sampled_from(
    ["2026-02-30", "2026-13-01", "0000-00-00", "2026-01-01", "yearly", "weekly", "-1",
     "ev.conf", "../outside", "/dev/zero", "high", "critical", "http://127.0.0.1:9/",
     "https://user:pw@127.0.0.1:9/", "wireguard", "sshd", "default", "nope", "1e309"]
)  # fmt: skip
# The values that found bugs are drawn more often than arbitrary ones.
scalars = st.one_of(
    tricky,
    tricky,
    tricky,
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)
KEYS: dict[str, Any] = {
    "version": st.sampled_from([1, 2, "1", None]),
    "configs": st.lists(
        st.fixed_dictionaries(
            {"path": st.sampled_from(["ev.conf", "missing.conf", ".", ""])},
            optional={"kind": st.sampled_from(["sshd", "wireguard", "openvpn", "nginx", "x"])},
        ),
        max_size=2,
    ),
    "controls": st.fixed_dictionaries(
        {},
        optional={
            "access": st.dictionaries(
                st.sampled_from(
                    ["vpn", "mfa_admins", "password_policy", "access_review", "offboarding_process"]
                ),
                values,
                max_size=3,
            ),  # fmt: skip
            "payments": st.dictionaries(
                st.sampled_from(
                    [
                        "accepted_methods",
                        "integration",
                        "stores_pan",
                        "scan_repository",
                        "repository",
                    ]
                ),
                values,
                max_size=3,
            ),  # fmt: skip
            "privacy": st.dictionaries(
                st.sampled_from(
                    [
                        "sells_or_shares",
                        "retention",
                        "incident_response_plan",
                        "tabletop_exercise",
                        "records_of_processing",
                    ]
                ),
                values,
                max_size=3,
            ),  # fmt: skip
            "vendors": st.lists(
                st.dictionaries(
                    st.sampled_from(
                        ["name", "service", "country", "dpa_signed", "data_categories"]
                    ),
                    values,
                    max_size=4,
                ),
                max_size=2,
            ),  # fmt: skip
        },
    ),
    "policy": st.fixed_dictionaries(
        {},
        optional={
            "profile": st.sampled_from(["default", "nope", "../x", 3]),
            "overrides": st.dictionaries(
                st.sampled_from(["scan", "controls", "web", "tls", "waivers", "x"]),
                values,
                max_size=3,
            ),  # fmt: skip
        },
    ),
    "waivers": st.lists(
        st.dictionaries(
            st.sampled_from(["check", "reason", "approved_by", "expires", "target", "key"]),
            values,
            max_size=5,
        ),
        max_size=2,
    ),  # fmt: skip
    "unknown": values,
}
documents = st.fixed_dictionaries({}, optional=KEYS)


@st.composite
def posture_yaml(draw: st.DrawFn) -> bytes:
    """A document shaped like posture.yaml, dumped, then maybe damaged."""
    text = yaml.safe_dump(draw(documents), allow_unicode=True, sort_keys=False)
    if draw(st.booleans()):  # '2026-02-30' becomes an (impossible) YAML date, '1e309' a float
        text = text.replace("'", "")
    damage = draw(st.sampled_from(["none", "insert", "cut", "alias", "bytes", "indent", "deep"]))
    if damage == "insert":
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.text(alphabet=":-&*!|>[]{}#'\"\t\n %@`", max_size=6)) + text[at:]
    elif damage == "cut":
        text = text[: draw(st.integers(0, len(text)))]
    elif damage == "alias":
        text = "x: &a [1, 2]\n" + text + "y: *a\nz: *b\n"
    elif damage == "deep":
        depth = draw(st.integers(1, 3000))
        text += "deep: " + "[" * depth + "]" * depth + "\n"
    elif damage == "indent":
        text = "\n".join("  " * draw(st.integers(0, 2)) + line for line in text.splitlines())
    data = text.encode("utf-8", "surrogatepass")
    if damage == "bytes":
        data = draw(st.binary(max_size=40)) + data
    return data


@FUZZ
@given(document=posture_yaml())
def test_any_posture_yaml_ends_in_an_exit_code_not_a_traceback(document: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "ev.conf").write_text("PermitRootLogin no\n")
        (root / "posture.yaml").write_bytes(document)
        assert_clean_exit(*run_cli(root))


# --- evidence files ----------------------------------------------------------------------------

LINES = [
    "PermitRootLogin yes", "PasswordAuthentication no", "Ciphers aes128-cbc,3des-cbc",
    "Match User x", "  PasswordAuthentication yes", "Port", "KexAlgorithms",
    "[Interface]", "[Peer]", "PrivateKey = abc=", "AllowedIPs = 0.0.0.0/0, ::/0", "Address =",
    "ListenPort = 99999", "PresharedKey", "=", "[", "]",
    "client", "remote vpn.example 1194", "cipher BF-CBC", "tls-version-min 1.0", "auth none",
    "dev tun", "proto udp", "<ca>", "</ca>", "ca", "data-ciphers",
    "server {", "http {", "location /admin {", "}", "}}", "{", ";", "ssl_protocols TLSv1 TLSv1.3;",
    "listen 443 ssl;", "allow 10.0.0.0/8;", "deny all;", "ssl_ciphers ALL:!aNULL;",
    "add_header X \"unterminated;", "include /etc/passwd;", "# comment", "",
]  # fmt: skip


@st.composite
def evidence_file(draw: st.DrawFn) -> tuple[bytes, str | None]:
    lines = draw(st.lists(st.one_of(st.sampled_from(LINES), st.text(max_size=20)), max_size=30))
    data = "\n".join(lines).encode("utf-8", "surrogatepass")
    encoding = draw(st.sampled_from(["utf-8", "bom", "utf-16", "latin-1-bytes", "nul"]))
    if encoding == "bom":
        data = b"\xef\xbb\xbf" + data
    elif encoding == "utf-16":
        data = "\n".join(lines).encode("utf-16", "surrogatepass")
    elif encoding == "latin-1-bytes":
        data += draw(st.binary(max_size=16))
    elif encoding == "nul":
        data = data[:10] + b"\x00" + data[10:]
    kind = draw(st.sampled_from([None, "sshd", "wireguard", "openvpn", "nginx"]))
    return data, kind


@FUZZ
@given(file=evidence_file())
def test_any_evidence_file_ends_in_an_exit_code_not_a_traceback(
    file: tuple[bytes, str | None],
) -> None:
    data, kind = file
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "ev.conf").write_bytes(data)
        entry = "{path: ev.conf" + (f", kind: {kind}" if kind else "") + "}"
        (root / "posture.yaml").write_text(
            "version: 1\nconfigs: [" + entry + "]\n"
            "controls:\n  access:\n    vpn: {required_for_admin: true, kind: wireguard, "
            "config: ev.conf}\n  payments: {scan_repository: false}\n"
        )
        assert_clean_exit(*run_cli(root))
