"""Evidence configs (sshd, OpenVPN, WireGuard, nginx): one good and one bad real file per topic
(tests/fixtures/configs/<format>/<topic>[.<variant>].good|bad), each read twice: by the real
daemon's parser where it is installed (sshd -T, nginx -t) and by posture's own parser
(POSTURE_CONFIG_PARSER=posture). Both readings must reach the same verdict on every topic."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from posture.checks.config_topics import FORMATS
from posture.config import load_config
from posture.engine import ScanRequest, scan
from posture.model import Result, Status
from posture.plugin import ScanOptions

FIXTURES = Path(__file__).parent / "fixtures" / "configs"
NOW = dt.datetime(2026, 11, 24, 12, tzinfo=dt.UTC)
CHECK = {
    "sshd": "ACCESS-SSHD-CONFIG",
    "openvpn": "ACCESS-VPN-CONFIG",
    "wireguard": "ACCESS-VPN-CONFIG",
    "nginx": "ACCESS-NGINX-CONFIG",
}
DAEMON = {"sshd": "sshd -T", "nginx": "nginx -t"}
CASES = sorted(
    (fmt, p.name)
    for fmt in FORMATS
    for p in (FIXTURES / fmt).iterdir()
    if p.is_file() and p.suffix in (".good", ".bad")
)


def _scan_all(folder: Path) -> dict[str, list[Result]]:
    lines = ["version: 1", "configs:"]
    for fmt, name in CASES:
        lines += [f"  - path: {fmt}/{name}", f"    kind: {fmt}"]
    lines += ["controls:", "  payments: {scan_repository: false}"]
    (folder / "posture.yaml").write_text("\n".join(lines) + "\n")
    report = scan(
        ScanRequest(
            config=load_config(folder / "posture.yaml"), options=ScanOptions(now=NOW, timeout=5)
        )
    )
    by_file: dict[str, list[Result]] = {}
    for r in report.results:
        by_file.setdefault(r.target, []).append(r)
    return by_file


@pytest.fixture(scope="module", params=["daemon", "posture"])
def scanned(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, dict[str, list[Result]]]]:
    folder = tmp_path_factory.mktemp(f"configs-{request.param}")
    shutil.copytree(FIXTURES, folder, dirs_exist_ok=True)
    for fmt, name in CASES:
        # git keeps no modes: key-mode.bad is readable by all, every other file is 0600
        (folder / fmt / name).chmod(0o644 if name.startswith("key-mode.bad") else 0o600)
    with pytest.MonkeyPatch.context() as mp:
        if request.param == "posture":
            mp.setenv("POSTURE_CONFIG_PARSER", "posture")
        else:
            mp.delenv("POSTURE_CONFIG_PARSER", raising=False)
        yield request.param, _scan_all(folder)


def _topic(name: str) -> str:
    return name.split(".", 1)[0]


@pytest.mark.parametrize(("fmt", "name"), CASES)
def test_topic(scanned: tuple[str, dict[str, list[Result]]], fmt: str, name: str) -> None:
    mode, by_file = scanned
    results = [r for r in by_file[f"{fmt}/{name}"] if r.check_id == CHECK[fmt]]
    assert results, f"no result for {fmt}/{name}"
    errors = [r.message for r in results if r.status is Status.ERROR]
    assert not errors, errors
    topic = _topic(name)
    failed = [r for r in results if r.status is Status.FAIL]
    if topic == "include":
        hits = [
            r
            for r in results
            if r.status is Status.SKIPPED and (r.key or "").startswith("include:")
        ]
    elif topic == "match":
        hits = [r for r in failed if "@Match" in (r.key or "")]
    else:
        hits = [r for r in failed if r.evidence.get("topic") == topic and "@" not in (r.key or "")]
    described = [(r.status.value, r.key, r.message) for r in results]
    if name.endswith(".bad"):
        assert hits, f"{mode}: {fmt}/{name} should fail {topic}: {described}"
        if topic not in ("include",):
            assert all(r.location is not None and r.location.path for r in hits)
            assert all(r.severity is FORMATS[fmt][hits[0].evidence["topic"]].severity for r in hits)
    else:
        assert not hits, f"{mode}: {fmt}/{name} should not fail {topic}: {described}"
    parsers = {
        r.evidence.get("parser") for r in results if r.status is not Status.SKIPPED or r.evidence
    }
    parsers.discard(None)
    if mode == "posture" or fmt not in DAEMON:
        assert parsers <= {"posture"}, parsers
    else:
        assert parsers and all(str(p).startswith(DAEMON[fmt]) for p in parsers), (
            parsers,
            [r.evidence.get("parser_notes") for r in results],
        )


def test_every_topic_has_a_good_and_a_bad_file() -> None:
    for fmt, topics in FORMATS.items():
        names = {n for f, n in CASES if f == fmt}
        for topic in topics:
            if topic == "tunnel-contradiction":
                continue  # needs a declaration: tests/test_controls.py
            assert any(_topic(n) == topic and n.endswith(".bad") for n in names), (fmt, topic)
            assert any(_topic(n) == topic and n.endswith(".good") for n in names), (fmt, topic)


# --- hostile files: nothing outside the scanned folder is read, nothing in it is executed ------

PASSWD_MARK = "root:x:0:0"


def _scan_folder(folder: Path, entries: list[tuple[str, str]]) -> list[Result]:
    lines = ["version: 1", "configs:"]
    for path, kind in entries:
        lines += [f"  - path: {path}", f"    kind: {kind}"]
    lines += ["controls:", "  payments: {scan_repository: false}"]
    (folder / "posture.yaml").write_text("\n".join(lines) + "\n")
    report = scan(
        ScanRequest(
            config=load_config(folder / "posture.yaml"), options=ScanOptions(now=NOW, timeout=5)
        )
    )
    return list(report.results)


@pytest.mark.parametrize("parser", ["daemon", "posture"])
def test_includes_never_leave_the_scanned_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, parser: str
) -> None:
    if parser == "posture":
        monkeypatch.setenv("POSTURE_CONFIG_PARSER", "posture")
    else:
        monkeypatch.delenv("POSTURE_CONFIG_PARSER", raising=False)
    shop = tmp_path / "shop"
    (shop / "conf").mkdir(parents=True)
    (shop / "conf" / "escape.conf").symlink_to("/etc/passwd")
    (shop / "conf" / "dh.pem").symlink_to("/etc/passwd")
    (shop / "conf" / "sshd_config").write_text(
        "Include /etc/passwd\nInclude ../../../../../../etc/passwd\nInclude escape.conf\n"
        "PasswordAuthentication no\n"
    )
    (shop / "conf" / "nginx.conf").write_text(
        "include /etc/passwd;\ninclude ../../../../../../etc/passwd;\ninclude escape.conf;\n"
        "server { listen 443 ssl; ssl_dhparam dh.pem; server_tokens off; }\n"
    )
    (shop / "conf" / "server.ovpn").write_text(
        "server 10.8.0.0 255.255.255.0\ndev tun\ndh dh.pem\ntls-crypt ta.key\ntls-version-min 1.2\n"
    )
    results = _scan_folder(
        shop,
        [
            ("conf/sshd_config", "sshd"),
            ("conf/nginx.conf", "nginx"),
            ("conf/server.ovpn", "openvpn"),
        ],
    )
    text = repr([r.to_dict() for r in results])
    assert PASSWD_MARK not in text
    skipped = [r for r in results if (r.key or "").startswith("include:")]
    assert len([r for r in skipped if r.check_id == "ACCESS-SSHD-CONFIG"]) == 3
    assert len([r for r in skipped if r.check_id == "ACCESS-NGINX-CONFIG"]) == 3
    messages = [r.message for r in skipped]
    assert sum("outside the scanned folder: not read" in m for m in messages) >= 4, messages
    assert all("not read" in m or "not in the checkout" in m for m in messages), messages
    assert not [r for r in results if r.status is Status.ERROR]


def test_nginx_t_loads_no_module_and_opens_no_file_the_config_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("POSTURE_CONFIG_PARSER", raising=False)
    if shutil.which("nginx") is None:
        pytest.skip("nginx is not installed")
    shop = tmp_path / "shop"
    shop.mkdir()
    (shop / "evil.so").write_bytes(b"not a shared object")
    outside = tmp_path / "outside"
    (shop / "nginx.conf").write_text(
        f"load_module {shop / 'evil.so'};\nssl_engine evil;\npid {outside}/nginx.pid;\n"
        "events {}\nhttp {\n"
        f"  access_log {outside}/access.log;\n  error_log {outside}/error.log;\n"
        f"  client_body_temp_path {outside}/body;\n  server_tokens off;\n"
        "  upstream app { server app.internal.invalid:8080; }\n"
        "  server {\n    listen 80;\n    location / { proxy_pass http://app; }\n"
        "    location /api/ { proxy_pass http://api.internal.invalid:9000; }\n  }\n}\n"
    )
    results = _scan_folder(shop, [("nginx.conf", "nginx")])
    nginx = [r for r in results if r.check_id == "ACCESS-NGINX-CONFIG"]
    assert nginx and all(str(r.evidence.get("parser", "")).startswith("nginx -t") for r in nginx), [
        r.evidence for r in nginx
    ]
    assert not outside.exists()


def test_sshd_t_refusal_is_recorded_and_posture_reads_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("POSTURE_CONFIG_PARSER", raising=False)
    shop = tmp_path / "shop"
    shop.mkdir()
    (shop / "sshd_config").write_text(
        "PasswordAuthentication no\nNoSuchOption yes\nPermitRootLogin yes\n"
    )
    results = _scan_folder(shop, [("sshd_config", "sshd")])
    sshd = [r for r in results if r.check_id == "ACCESS-SSHD-CONFIG"]
    root = next(r for r in sshd if r.key == "root")
    assert root.evidence["parser"] == "posture"
    if shutil.which("sshd"):
        notes = " ".join(root.evidence["parser_notes"])
        assert "sshd -T refused the file" in notes and "sshd_config:2" in notes


# --- secrets: never in any output ----------------------------------------------------------


def test_private_keys_and_passwords_never_appear_in_any_output(tmp_path: Path) -> None:
    import subprocess
    import sys

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, x25519

    shop = tmp_path / "shop"
    shop.mkdir()
    wg_key = x25519.X25519PrivateKey.generate().private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    import base64

    wg_private = base64.b64encode(wg_key).decode()
    psk = base64.b64encode(b"\x17" * 7 + wg_key[7:]).decode()
    pem = (
        ec.generate_private_key(ec.SECP256R1())
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )
    pem_body = pem.splitlines()[1]
    password = "Sup3rSecretPassw0rdForTheProxy2026"
    (shop / "wg0.conf").write_text(
        f"[Interface]\nPrivateKey = {wg_private}\nListenPort = 51820\n\n[Peer]\n"
        f"PublicKey = xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=\nPresharedKey = {psk}\n"
        "AllowedIPs = 0.0.0.0/0\n"
    )
    (shop / "wg0.conf").chmod(0o644)
    (shop / "client.ovpn").write_text(
        f"client\ndev tun\nremote vpn.example 1194\n<key>\n{pem}</key>\n<tls-crypt>\n{pem}</tls-crypt>\n"
        f"<auth-user-pass>\nshop\n{password}\n</auth-user-pass>\n"
    )
    (shop / "nginx.conf").write_text(
        "events {}\nhttp {\n  server {\n    listen 80;\n"
        f'    proxy_set_header Authorization "Basic {password}";\n'
        f"    ssl_protocols {password};\n  }}\n}}\n"
    )
    (shop / "posture.yaml").write_text(
        "version: 1\nconfigs:\n  - path: wg0.conf\n  - path: client.ovpn\n    kind: openvpn\n"
        "  - path: nginx.conf\n    kind: nginx\ncontrols:\n  payments: {scan_repository: false}\n"
    )
    out = tmp_path / "out"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "posture",
            "scan",
            "-c",
            str(shop / "posture.yaml"),
            "-f",
            "terminal",
            "-f",
            "json",
            "-f",
            "sarif",
            "-f",
            "junit",
            "-f",
            "md",
            "-f",
            "csv",
            "--output-dir",
            str(out),
            "--no-record",
            "--fail-on",
            "critical",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode in (0, 1), proc.stderr
    outputs = {p.name: p.read_text() for p in out.iterdir()}
    assert len(outputs) >= 5, sorted(outputs)
    outputs["stdout"], outputs["stderr"] = proc.stdout, proc.stderr
    joined = "\n".join(outputs.values())
    assert "key-mode" in joined and "inline-key" in joined  # the findings are there
    for secret in (wg_private, psk, pem_body, password):
        leaks = [name for name, text in outputs.items() if secret in text]
        assert not leaks, leaks


def test_docs_list_every_topic_with_its_severity_and_source() -> None:
    docs = (Path(__file__).parent.parent / "docs" / "controls.md").read_text()
    for topics in FORMATS.values():
        for t in topics.values():
            row = f"| `{t.key}` | {t.severity.value} | "
            assert row in docs, row
            assert t.source in docs, t.source


DEBIAN = {"nginx": Path("/etc/nginx"), "sshd": Path("/usr/share/openssh/sshd_config")}


@pytest.mark.skipif(
    not all(p.exists() for p in DEBIAN.values()), reason="Debian's nginx and openssh-server files"
)
def test_debian_shipped_configs_read_alike_by_the_daemons_and_by_posture(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The files Debian ships, laid out as in a repository that mirrors /etc: both parsers reach
    the same findings, and the daemons accept the files posture hands them."""
    shop = tmp_path / "shop"
    shutil.copytree(DEBIAN["nginx"], shop / "etc" / "nginx", symlinks=False)
    (shop / "etc" / "ssh").mkdir(parents=True)
    shutil.copy(DEBIAN["sshd"], shop / "etc" / "ssh" / "sshd_config")
    entries = [("etc/nginx/nginx.conf", "nginx"), ("etc/ssh/sshd_config", "sshd")]
    verdicts = {}
    for mode in ("daemon", "posture"):
        if mode == "posture":
            monkeypatch.setenv("POSTURE_CONFIG_PARSER", "posture")
        else:
            monkeypatch.delenv("POSTURE_CONFIG_PARSER", raising=False)
        results = [r for r in _scan_folder(shop, entries) if r.check_id.startswith("ACCESS-")]
        verdicts[mode] = {(r.target, r.check_id, r.status.value, r.key) for r in results}
        parsers = {str(r.evidence.get("parser")) for r in results if "parser" in r.evidence}
        if mode == "daemon":
            assert {p.split(" (")[0] for p in parsers} == {"sshd -T", "nginx -t"}, parsers
    assert verdicts["daemon"] == verdicts["posture"]
    keys = {k for _, _, status, k in verdicts["daemon"] if status == "fail"}
    # Debian's defaults: passwords allowed, X11 forwarding on, TLSv1/1.1 in nginx.conf
    assert {"password", "x11-forwarding"} <= keys
    assert any(k and k.startswith("protocols:") for k in keys)


def test_a_fix_written_inside_a_match_block_is_pointed_out(tmp_path: Path) -> None:
    shutil.copy(FIXTURES / "sshd" / "password.match-scope.bad", tmp_path / "sshd_config")
    results = _scan_folder(tmp_path, [("sshd_config", "sshd")])
    password = next(r for r in results if r.key == "password")
    assert "is inside 'Match User deploy' and applies only there" in password.message
    assert password.location is not None and password.location.start_line is None


def test_include_keys_do_not_depend_on_where_the_checkout_lives(tmp_path: Path) -> None:
    keys = []
    for name in ("a", "b"):
        shop = tmp_path / name / "deep" / "er"
        shop.mkdir(parents=True)
        (shop / "sshd_config").write_text("Include /etc/ssh/sshd_config.d/*.conf\n")
        results = _scan_folder(shop, [("sshd_config", "sshd")])
        keys.append({r.key for r in results if (r.key or "").startswith("include:")})
    assert keys[0] == keys[1] == {"include:sshd_config:1"}


@pytest.mark.parametrize(
    ("criteria", "read_by"),
    [
        ("Address 10.0.0.0/8", "sshd -T -C"),
        ("User deploy Host *.example.com", "posture"),  # a wildcard: no connection to build
        ("Group admins", "posture"),  # needs this host's group database
    ],
)
def test_match_blocks_are_read_by_sshd_for_a_connection_they_match(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, criteria: str, read_by: str
) -> None:
    monkeypatch.delenv("POSTURE_CONFIG_PARSER", raising=False)
    if shutil.which("sshd") is None:
        pytest.skip("sshd is not installed")
    (tmp_path / "sshd_config").write_text(
        f"PasswordAuthentication no\nMatch {criteria}\n    PasswordAuthentication yes\n"
    )
    results = _scan_folder(tmp_path, [("sshd_config", "sshd")])
    match = [r for r in results if r.key == f"password@Match {criteria}"]
    assert len(match) == 1 and match[0].location is not None
    assert match[0].location.start_line == 3
    assert match[0].evidence["match_read_by"] == read_by


def test_a_configured_file_that_is_a_symlink_out_of_the_folder_is_not_read(tmp_path: Path) -> None:
    from posture.errors import ConfigError

    shop = tmp_path / "shop"
    shop.mkdir()
    (shop / "sshd_config").symlink_to("/etc/passwd")
    (shop / "nginx.conf").write_text("server { listen 80; server_tokens off; }\n")
    # posture.yaml naming it is refused before anything is read (paths stay inside the folder)
    with pytest.raises(ConfigError) as refused:
        _scan_folder(shop, [("sshd_config", "sshd"), ("nginx.conf", "nginx")])
    assert "symlink that leads outside" in str(refused.value)
    assert PASSWD_MARK not in str(refused.value)


def test_include_loops_end(tmp_path: Path) -> None:
    (tmp_path / "a.conf").write_text("include *.conf;\nserver_tokens off;\n")
    (tmp_path / "b.conf").write_text("include *.conf;\n")
    (tmp_path / "sshd_config").write_text(
        "Include sshd_config\nInclude other\nPermitRootLogin no\n"
    )
    (tmp_path / "other").write_text("Include sshd_config\n")
    results = _scan_folder(tmp_path, [("a.conf", "nginx"), ("sshd_config", "sshd")])
    assert not [r for r in results if r.status is Status.ERROR]
    notes = [n for r in results for n in r.evidence.get("parser_notes", [])]
    assert any("include loop" in n for n in notes)


def test_hostile_nesting_is_one_error_naming_the_file_and_line(tmp_path: Path) -> None:
    depth = 20_000
    (tmp_path / "nginx.conf").write_text(
        "server {\n root /srv;\n" + "location /a {\n" * depth + "}\n" * depth + "}\n"
    )
    (tmp_path / "ok.conf").write_text("server {\n  root /srv;\n  autoindex on;\n}\n")
    results = _scan_folder(tmp_path, [("nginx.conf", "nginx"), ("ok.conf", "nginx")])
    errors = [r for r in results if r.status is Status.ERROR]
    # one per blocked check until collector failures are one error per cause (issue 16, terminal)
    assert errors and {r.target for r in errors} == {"nginx.conf"}
    assert "nginx.conf:66: blocks nested deeper than 64" in errors[0].message
    assert any((r.key or "").startswith("autoindex:") for r in results if r.target == "ok.conf")


def test_a_dh_file_outside_the_checkout_is_a_skipped_topic(tmp_path: Path) -> None:
    (tmp_path / "server.conf").write_text(
        "server 10.8.0.0 255.255.255.0\ndev tun\ndh /etc/openvpn/dh2048.pem\ntls-crypt ta.key\n"
        "tls-version-min 1.2\nuser nobody\n"
    )
    results = _scan_folder(tmp_path, [("server.conf", "openvpn")])
    dh = [r for r in results if r.key == "dh"]
    assert [r.status for r in dh] == [Status.SKIPPED]
    assert "/etc/openvpn/dh2048.pem: not in the checkout" in dh[0].message
