"""Hostile storefronts: servers that trickle bytes, and servers whose every string is an attack.

Real servers on 127.0.0.1 (tests/testbed/pyservers.py); the real ``posture`` command.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import RunCli
from .testbed.pyservers import hostile_server, trickling_proxy, trickling_server

TIMEOUT = 1.0
# The bound docs/security.md states: every request ends within 3 x --timeout.
REQUEST_DEADLINE_FACTOR = 3
# Start-up, the other collectors and a loaded CI machine: a correctness bound, not a benchmark.
MARGIN = 20.0


@pytest.fixture(scope="module", params=["headers", "body"])
def trickler(request: pytest.FixtureRequest) -> Iterator[int]:
    listener, port = trickling_server(request.param)
    try:
        yield port
    finally:
        listener.close()


def test_a_trickling_storefront_times_out_within_the_stated_bound(
    trickler: int, tmp_path: Path, run_cli: RunCli
) -> None:
    url = f"http://127.0.0.1:{trickler}/"
    out = tmp_path / "out.json"
    started = time.monotonic()
    proc = run_cli(
        "scan", "--target", url, "--timeout", str(TIMEOUT), "--only", "web", "--no-browser",
        "-f", "json", "-o", str(out), "--no-record",
        timeout=REQUEST_DEADLINE_FACTOR * TIMEOUT * 4 + MARGIN + 30,
    )  # fmt: skip
    elapsed = time.monotonic() - started
    assert proc.returncode in (0, 1, 3), proc.stderr
    assert "Traceback" not in proc.stderr
    # One request to the home page; it must end within the stated multiple of --timeout.
    assert elapsed < REQUEST_DEADLINE_FACTOR * TIMEOUT + MARGIN, elapsed
    results = json.loads(out.read_text())["results"]
    errors = [r for r in results if r["status"] == "error"]
    assert errors, results
    assert all("time" in r["message"].lower() for r in errors), errors


# --- 10 and 14: hostile text and URL credentials in every output --------------------------------

HOSTILE = (
    "\x1b[2J\x1b[1;1H\x1b[32mOK\x1b[0m ![pwn](https://evil.example/p.png) "
    "[click here](https://evil.example/login) <img src=x onerror=alert(1)> <b>bold</b> "
    "@octocat ``tick` \x07\x08\x0b\x85\x9b"
)
SECRET = "s3cretPassw0rd"
# Markers that must never appear outside a code span in Markdown, or raw in any output.
LIVE_MARKDOWN = ("](https://evil", "![", "<img", "<b>", "@octocat")
CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _certificate(folder: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, "\x1b[2J@octocat [x](https://evil.example)"),
            x509.NameAttribute(
                NameOID.ORGANIZATION_NAME, "`t` ![i](https://evil.example/i) <b>\x07"
            ),
        ]
    )
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "hostile.pem", folder / "hostile.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.fixture(scope="module")
def hostile_outputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """One scan of the hostile shop, through a URL with credentials, in every format."""
    folder = tmp_path_factory.mktemp("hostile")
    listener, port = hostile_server(*_certificate(folder), HOSTILE)
    try:
        url = f"https://shopper:{SECRET}@127.0.0.1:{port}/"
        db = folder / "history.sqlite"
        expires = (dt.date.today() + dt.timedelta(days=30)).isoformat()
        # A waiver from the pull request: its reason and approver are hostile text too, and its
        # target names the URL with its credentials.
        (folder / "waivers.yaml").write_text(
            f"- check: WEB-CSP\n  target: '{url}'\n"
            '  reason: "\\e[2J<img src=x onerror=alert(1)> [x](https://evil.example) ok"\n'
            f"  approver: '@octocat <b>bold</b>'\n  expires: {expires}\n"
        )
        out = folder / "out"
        env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "200"}
        base = [sys.executable, "-m", "posture"]
        scan = subprocess.run(
            [*base, "scan", "--target", url, "--timeout", "3", "--db", str(db),
             "--waivers", str(folder / "waivers.yaml"),
             "--output-dir", str(out), "-f", "terminal", "-f", "md", "-f", "junit",
             "-f", "sarif", "-f", "json", "-f", "csv"],
            capture_output=True, text=True, timeout=600, env=env, cwd=folder, check=False,
        )  # fmt: skip
        assert scan.returncode in (0, 1), scan.stderr
        quarter = f"{dt.date.today().year}-Q{(dt.date.today().month - 1) // 3 + 1}"
        report = subprocess.run(
            [*base, "report", "--db", str(db), "--period", quarter, "-o", str(out / "r.html")],
            capture_output=True, text=True, timeout=300, env=env, cwd=folder, check=False,
        )  # fmt: skip
        assert report.returncode == 0, report.stderr
    finally:
        listener.close()
    outputs = {p.name: p.read_text(encoding="utf-8") for p in out.iterdir() if p.is_file()}
    outputs["terminal"] = scan.stdout + scan.stderr
    outputs["history.sqlite"] = db.read_bytes().decode("latin-1")
    return outputs


def test_the_hostile_text_reached_the_outputs(hostile_outputs: dict[str, str]) -> None:
    # The attack is in the results at all (else the other tests prove nothing): headers,
    # script URL and certificate fields.
    results = json.loads(hostile_outputs["posture.json"])["results"]
    text = json.dumps(results)
    assert "octocat" in text and "cdn.evil.example" in text
    assert "[click here](https://evil.example/login)" in hostile_outputs["posture.md"]
    assert any(
        r["check_id"] == "WEB-VERSION-DISCLOSURE" and "octocat" in r["message"] for r in results
    )
    assert any(r["area"] == "tls" and "octocat" in json.dumps(r) for r in results)


@pytest.mark.parametrize(
    "name",
    ["terminal", "posture.md", "posture.junit.xml", "posture.sarif", "posture.json",
     "posture.csv", "r.html"],
)  # fmt: skip
def test_no_control_characters_or_credentials_in_any_output(
    hostile_outputs: dict[str, str], name: str
) -> None:
    text = hostile_outputs[name]
    if name.endswith((".json", ".sarif")):
        text = json.dumps(json.loads(text), ensure_ascii=False)  # decoded strings, not escapes
    assert not CONTROLS.findall(text.replace("\n", "").replace("\t", "").replace("\r", ""))
    assert SECRET not in text


def test_credentials_never_reach_the_history_database(hostile_outputs: dict[str, str]) -> None:
    assert SECRET not in hostile_outputs["history.sqlite"]
    assert "shopper:" not in hostile_outputs["history.sqlite"]


def _outside_code_spans(markdown: str) -> str:
    """The Markdown with every inline code span removed (CommonMark: a run of n backticks up
    to the next run of exactly n)."""
    out, i = [], 0
    while i < len(markdown):
        run = re.match(r"`+", markdown[i:])
        if not run:
            out.append(markdown[i])
            i += 1
            continue
        n = len(run.group())
        closing = re.compile(rf"(?<!`)`{{{n}}}(?!`)").search(markdown, i + n)
        if closing is None:
            out.append(run.group())
            i += n
        else:
            i = closing.end()
    return "".join(out)


def test_markdown_keeps_hostile_text_in_code_spans(hostile_outputs: dict[str, str]) -> None:
    outside = _outside_code_spans(hostile_outputs["posture.md"])
    for marker in LIVE_MARKDOWN:
        assert marker not in outside, (marker, outside)


def test_junit_is_valid_xml(hostile_outputs: dict[str, str]) -> None:
    import xml.etree.ElementTree as ET  # noqa: S405 - our own output

    root = ET.fromstring(hostile_outputs["posture.junit.xml"].encode())  # noqa: S314
    assert root.tag == "testsuites"


def test_html_report_escapes_markup(hostile_outputs: dict[str, str]) -> None:
    html = hostile_outputs["r.html"]
    assert "&lt;img src=x" in html  # the waiver reason is shown, escaped
    assert "<img src=x" not in html and "<b>bold" not in html


def test_a_trickling_privacy_policy_times_out_within_the_bound(
    trickler: int, tmp_path: Path, run_cli: RunCli
) -> None:
    """The privacy collector's fetches (policy, homepages, GPC) share the same deadline."""
    url = f"http://127.0.0.1:{trickler}/privacy"
    (tmp_path / "posture.yaml").write_text(
        f"version: 1\ncontrols:\n  privacy:\n    policy_url: {url}\n"
        "  payments: {scan_repository: false}\n"
    )
    started = time.monotonic()
    proc = run_cli(
        "scan", "-c", "posture.yaml", "--timeout", str(TIMEOUT), "--only", "privacy",
        "-f", "json", "--no-record",
        timeout=REQUEST_DEADLINE_FACTOR * TIMEOUT * 4 + MARGIN + 30,
    )  # fmt: skip
    elapsed = time.monotonic() - started
    assert proc.returncode in (0, 1, 3), proc.stderr
    assert elapsed < REQUEST_DEADLINE_FACTOR * TIMEOUT + MARGIN, elapsed
    text = json.dumps(json.loads(proc.stdout)["results"])
    assert "timed out" in text, text


def test_a_shop_that_trickles_every_probe_costs_one_deadline_per_host(
    tmp_path: Path, run_cli: RunCli
) -> None:
    """Home answers; security.txt, the plain-HTTP probe and ten admin paths trickle. Once one
    request to a host is cut at the deadline, the others to that host are not sent: twelve
    trickling paths cost one deadline, not twelve."""
    listener, port = trickling_server("body", answered=("/",))
    try:
        out = tmp_path / "out.json"
        started = time.monotonic()
        proc = run_cli(
            "scan", "--target", f"http://127.0.0.1:{port}/", "--timeout", str(TIMEOUT),
            "--only", "web", "-f", "json", "-o", str(out), "--no-record",
            timeout=12 * REQUEST_DEADLINE_FACTOR * TIMEOUT + MARGIN + 30,
        )  # fmt: skip
        elapsed = time.monotonic() - started
    finally:
        listener.close()
    assert proc.returncode in (0, 1, 3), proc.stderr
    assert elapsed < REQUEST_DEADLINE_FACTOR * TIMEOUT + MARGIN, elapsed
    results = json.loads(out.read_text())["results"]
    security_txt = [r for r in results if r["check_id"] == "WEB-SECURITY-TXT"]
    assert security_txt and "time" in json.dumps(security_txt), security_txt


def _scan_through_trickling_proxy(
    tmp_path: Path, run_cli: RunCli, fast_first: int, *only: str
) -> tuple[Any, float, list[dict[str, Any]]]:
    """Scan a real TLS server through a proxy that passes its bytes one at a time (after the
    first ``fast_first`` connections, which pass at full speed)."""
    cert, key = _certificate(tmp_path)
    upstream, upstream_port = hostile_server(cert, key, "plain")
    proxy, port = trickling_proxy(upstream_port, fast_first=fast_first)
    selection = [arg for area in only for arg in ("--only", area)]
    try:
        out = tmp_path / "out.json"
        started = time.monotonic()
        proc = run_cli(
            "scan", "--target", f"https://127.0.0.1:{port}/", "--timeout", str(TIMEOUT),
            *selection, "-f", "json", "-o", str(out), "--no-record",
            timeout=REQUEST_DEADLINE_FACTOR * TIMEOUT * 4 + MARGIN + 60,
        )  # fmt: skip
        elapsed = time.monotonic() - started
    finally:
        proxy.close()
        upstream.close()
    assert "Traceback" not in proc.stderr
    return proc, elapsed, json.loads(out.read_text())["results"]


def test_a_trickled_tls_handshake_is_cut_within_the_bound(tmp_path: Path, run_cli: RunCli) -> None:
    """The deadline covers the TLS handshake too: a proxy passes a real TLS server's bytes one
    at a time. Both the HTTP fetch and the TLS scan's first handshake give up in time."""
    proc, elapsed, results = _scan_through_trickling_proxy(tmp_path, run_cli, 0, "web", "tls")
    assert proc.returncode == 3, proc.stderr
    assert elapsed < REQUEST_DEADLINE_FACTOR * TIMEOUT + MARGIN, elapsed
    errors = [r for r in results if r["status"] == "error"]
    areas = {r["area"] for r in errors}
    assert areas == {"web", "tls"}, errors
    assert all("within" in r["message"] for r in errors), errors


def test_a_tls_server_that_trickles_its_later_handshakes_is_cut_within_the_bound(
    tmp_path: Path, run_cli: RunCli
) -> None:
    """The first handshakes are answered at once, every later one a byte at a time: each read
    comes within --timeout, so only a wall-clock bound per handshake ends it. The scan ends
    within 3 x --timeout of the first trickled handshake (plus start-up), and nothing about the
    server's protocols, suites or vulnerabilities is claimed from the handshakes that were cut."""
    proc, elapsed, results = _scan_through_trickling_proxy(tmp_path, run_cli, 3, "tls")
    assert proc.returncode == 3, proc.stderr  # not assessed: the gate says INCOMPLETE
    assert elapsed < 2 * REQUEST_DEADLINE_FACTOR * TIMEOUT + MARGIN, elapsed
    assert not [r for r in results if r["status"] == "pass"], results
    [error] = [r for r in results if r["status"] == "error"]
    assert "trickled" in error["message"] and "cut after 3 s" in error["message"], error


def test_credentials_in_posture_yaml_urls_are_masked_everywhere(
    tmp_path: Path, run_cli: RunCli
) -> None:
    """The same from posture.yaml (storefront, http_url, a page given as a full URL), against a
    closed port: the error messages carry the URLs."""
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    base = f"https://shopper:{SECRET}@127.0.0.1:{port}"
    (tmp_path / "posture.yaml").write_text(
        f"version: 1\nstorefronts:\n  - url: {base}/\n    http_url: http://a:{SECRET}@127.0.0.1:{port}/\n"
        f"    pages: {{checkout: '{base}/checkout'}}\n"
        "controls:\n  payments: {scan_repository: false}\n"
    )
    db = tmp_path / "h.sqlite"
    proc = run_cli(
        "scan", "-c", "posture.yaml", "--timeout", "1", "--db", str(db), "--only", "web",
        "--only", "tls", "--output-dir", "out", "-f", "terminal", "-f", "md", "-f", "json",
        "-f", "sarif", "-f", "junit", "-f", "csv",
    )  # fmt: skip
    assert proc.returncode == 3, proc.stderr
    texts = [proc.stdout, proc.stderr, db.read_bytes().decode("latin-1")]
    texts += [p.read_text() for p in (tmp_path / "out").iterdir() if p.is_file()]
    assert all(SECRET not in text for text in texts)
    assert "https://***@127.0.0.1" in (tmp_path / "out" / "posture.json").read_text()
