"""The browser checks are pure: handed facts, they judge. Also the hostile-input edges of the
collector's record (values never kept, query strings dropped, screenshots never written through a
symlink, outputs never linking a path the collector did not make)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import pytest

from posture.checks.browser import payment_page_changed, payment_page_scripts
from posture.checks.collectors.browser import (
    BrowserFacts,
    PageVisits,
    ScriptSeen,
    Visit,
    _short,
    _visit,
)
from posture.checks.collectors.chromium import _save
from posture.config import load_config
from posture.errors import ConfigError
from posture.model import Location, Result, Severity, Status, Target, TargetKind
from posture.plugin import CheckContext, Outcome
from posture.policy import Policy
from posture.render._common import screenshots

PAGE = "https://shop.example/checkout"
BODY = b"window.pay = 1;"
SHA = hashlib.sha256(BODY).hexdigest()


def _ctx(tmp_path: Path, controls: str = "") -> CheckContext:
    path = tmp_path / "posture.yaml"
    path.write_text(
        "storefronts:\n  - url: https://shop.example/\n    pages: {checkout: /checkout}\n"
        "    payment_pages: [checkout]\n" + controls
    )
    config = load_config(path)
    target = Target(TargetKind.STOREFRONT, "https://shop.example/")
    import datetime as dt

    return CheckContext(target, Policy.load(), config, dt.datetime.now(dt.UTC))


def _facts(
    *scripts: ScriptSeen, headers: dict[str, str] | None = None, **page: Any
) -> BrowserFacts:
    visit = Visit("checkout", PAGE, False, final_url=PAGE, scripts=scripts, headers=headers or {})
    return BrowserFacts(
        "https://shop.example/",
        (PageVisits("checkout", PAGE, True, visit, visit, **page),),
        browser="Chromium test",
    )


def _script(url: str | None, sha: str = SHA, **kw: Any) -> ScriptSeen:
    ident = url or "dynamic"
    third = bool(url) and "shop.example" not in str(url)
    return ScriptSeen(ident, url, sha, len(BODY), PAGE, third_party=third, **kw)


def _fails(outcomes: list[Outcome]) -> list[str]:
    return [o.message for o in outcomes if o.status is Status.FAIL]


def test_pinned_hash_authorises_and_assures_a_third_party_script(tmp_path: Path) -> None:
    controls = (
        "controls:\n  payments:\n    scan_repository: false\n    authorised_scripts:\n"
        "      - {source: 'https://js.pay.example/v3.js', owner: pay, justification: fields, "
        f"sha256: {SHA}}}\n"
    )
    ctx = _ctx(tmp_path, controls)
    ok = list(payment_page_scripts(_facts(_script("https://js.pay.example/v3.js")), ctx))
    assert _fails(ok) == []
    [inventory] = [o for o in ok if o.key == "checkout:inventory"]
    [item] = inventory.evidence["scripts"]
    assert item["authorised"] and item["integrity_assured_by"] == "pinned hash"
    assert item["owner"] == "pay"

    changed = _script("https://js.pay.example/v3.js", sha="0" * 64)
    [message] = _fails(list(payment_page_scripts(_facts(changed), ctx)))
    assert "pinned hash does not match" in message and "integrity not assured" in message


def test_unauthorised_dynamic_script_and_sri_on_an_authorised_one(tmp_path: Path) -> None:
    controls = (
        "controls:\n  payments:\n    scan_repository: false\n    authorised_scripts:\n"
        "      - {source: 'https://cdn.example/*', owner: web, justification: widgets}\n"
    )
    ctx = _ctx(tmp_path, controls)
    facts = _facts(
        _script("https://cdn.example/w.js", integrity="sha384-abc"),
        _script(None, sha="1" * 64),
        _script("https://shop.example/app.js"),
    )
    fails = _fails(list(payment_page_scripts(facts, ctx)))
    assert len(fails) == 2
    assert any(m.startswith("dynamic sha256:1111") and "not authorised" in m for m in fails)
    # first-party but not authorised: every script needs an authorisation
    assert any("https://shop.example/app.js" in m and "not authorised" in m for m in fails)


def test_changes_are_named_one_by_one() -> None:
    before = {
        "scripts": {
            "https://shop.example/a.js": "a" * 64,
            "https://shop.example/gone.js": "b" * 64,
        },
        "headers": {"content-security-policy": "default-src 'self'", "x-frame-options": "DENY"},
    }
    facts = _facts(
        _script("https://shop.example/a.js", sha="c" * 64),
        _script("https://evil.example/skim.js", sha="d" * 64),
        headers={"content-security-policy": "default-src *"},
        previous=before,
        previous_scan="2026-11-01 10:00:00",
    )
    [outcome] = list(payment_page_changed(facts, _ctx_none()))
    assert outcome.status is Status.FAIL
    kinds = {(d["kind"], d["name"]) for d in outcome.evidence["differences"]}
    assert kinds == {
        ("script changed", "https://shop.example/a.js"),
        ("script added", "https://evil.example/skim.js"),
        ("script removed", "https://shop.example/gone.js"),
        ("header changed", "content-security-policy"),
        ("header removed", "x-frame-options"),
    }
    assert "skim.js" in outcome.message and "2026-11-01" in outcome.message
    assert outcome.evidence["snapshot"]["scripts"]["https://evil.example/skim.js"] == "d" * 64


def test_first_scan_records_and_no_history_skips() -> None:
    [first] = list(payment_page_changed(_facts(_script("https://shop.example/a.js")), _ctx_none()))
    assert first.status is Status.SKIPPED and "first recorded scan" in first.message
    assert first.evidence["snapshot"]["scripts"] == {"https://shop.example/a.js": SHA}
    facts = BrowserFacts(
        **{**_facts(_script("https://shop.example/a.js")).__dict__, "history": "no database"}
    )
    [skipped] = list(payment_page_changed(facts, _ctx_none()))
    assert skipped.status is Status.SKIPPED and "no database" in skipped.message


def _ctx_none() -> CheckContext:
    import datetime as dt

    return CheckContext(
        Target(TargetKind.STOREFRONT, "https://shop.example/"),
        Policy.load(),
        None,
        dt.datetime.now(dt.UTC),
    )


def test_cookie_values_and_query_values_never_reach_the_record() -> None:
    raw = {
        "url": PAGE,
        "final_url": PAGE,
        "status": 200,
        "requests": [
            {"url": "https://t.example/c?uid=4111111111111111&email=a@b.example", "type": "image"}
        ],
        "cookies": [{"name": "sid", "value": "SECRET-VALUE", "domain": "shop.example"}],
    }
    record = _visit("checkout", raw, None).to_record()
    text = repr(record)
    assert "SECRET-VALUE" not in text and "4111111111111111" not in text and "a@b" not in text
    assert record["requests"][0]["url"] == "https://t.example/c?uid=…&email=…"
    assert _short("https://x.example/" + "a" * 1000).endswith("…")


def test_screenshot_is_never_written_through_a_symlink(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    shots = tmp_path / "screenshots"
    shots.mkdir()
    os.symlink(victim, shots / "page.png")
    with pytest.raises(OSError):
        _save(b"\x89PNG...", str(shots / "page.png"))
    assert victim.read_text() == "keep me"
    # nor through a planted screenshots/ folder
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    os.symlink(elsewhere, out / "screenshots")
    with pytest.raises(OSError):
        _save(b"\x89PNG...", str(out / "screenshots" / "page.png"))
    assert list(elsewhere.iterdir()) == []


def test_outputs_link_only_screenshots_the_collector_names() -> None:
    def result(evidence: dict[str, Any]) -> Result:
        return Result(
            "WEB-BROWSER-VISIT",
            "t",
            __import__("posture.model").model.Area.WEB,
            Severity.INFO,
            Status.PASS,
            "https://shop.example/",
            TargetKind.STOREFRONT,
            evidence=evidence,
            location=Location("posture.yaml"),
        )

    hostile = [
        "../../etc/passwd.png",
        "https://evil.example/x.png",
        "/tmp/x.png",
        "screenshots/../../x.png",
        "screenshots/a b.png",
        "javascript:alert(1)",
    ]
    assert screenshots(result({"screenshots": hostile})) == []
    good = "screenshots/shop.example-12ab-checkout-gpc.png"
    assert screenshots(result({"screenshots": [good], "screenshot": good})) == [good]


def test_payment_pages_must_name_declared_pages(tmp_path: Path) -> None:
    path = tmp_path / "posture.yaml"
    path.write_text(
        "storefronts:\n  - url: https://shop.example/\n    pages: {checkout: /checkout}\n"
        "    payment_pages: [chekout]\n"
    )
    with pytest.raises(ConfigError, match="chekout"):
        load_config(path)


def test_ca_bundle_without_certutil_names_the_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Chromium trusts extra roots only from an NSS database; without certutil the browser is
    not told to trust anything less strictly: the error says what to install."""
    from posture.checks.collectors.chromium import trust_home
    from posture.errors import CollectError

    bundle = tmp_path / "ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(CollectError, match="apt-get install libnss3-tools"):
        trust_home(str(bundle), 5)
