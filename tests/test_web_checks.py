"""HTTP hardening checks on constructed facts: header and cookie parsing edge cases.

The collector and the checks are tested end to end on real nginx servers in test_storefront.py;
these cover parsing rules no single server shows at once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable

from posture.checks import web
from posture.checks.collectors.http_client import HttpResponse
from posture.checks.collectors.storefront_http import HttpFacts, Page, Probe, parse_page
from posture.model import Severity, Status, Target, TargetKind
from posture.plugin import CheckContext, Outcome
from posture.policy import Policy

URL = "https://shop.example/"


def response(
    headers: dict[str, str], cookies: list[str] | None = None, body: str = "", status: int = 200
) -> HttpResponse:
    return HttpResponse(
        URL, status, {k.lower(): v for k, v in headers.items()}, cookies or [], body.encode(), False
    )


def facts(
    headers: dict[str, str] | None = None,
    cookies: list[str] | None = None,
    body: str = "",
    plain_http: Probe | None = None,
    payment: bool = False,
    status: int = 200,
    security_txt: Probe | None = None,
) -> HttpFacts:
    parsed = parse_page(body, URL)
    page = Page(
        "home",
        URL,
        response(headers or {}, cookies, body, status),
        None,
        tuple(dict.fromkeys(parsed.resources)),
        parsed.password,
        tuple(parsed.meta_csp),
        parsed.meta_referrer,
    )
    return HttpFacts(
        URL,
        (page,),
        plain_http or Probe("http://shop.example/", None, error="refused"),
        security_txt or Probe(URL + ".well-known/security.txt", 404),
        payment_pages=frozenset({"home"} if payment else ()),
    )


def run(check: Callable[..., Iterable[Outcome]], data: HttpFacts) -> list[Outcome]:
    ctx = CheckContext(
        Target(TargetKind.STOREFRONT, URL), Policy.load(), None, dt.datetime.now(dt.UTC)
    )
    return list(check(data, ctx))


def test_csp_unsafe_inline_is_ignored_next_to_a_nonce_but_unsafe_eval_is_not() -> None:
    nonce = {"Content-Security-Policy": "script-src 'self' 'nonce-abc' 'unsafe-inline'"}
    assert run(web.csp, facts(nonce)) == []
    found = run(web.csp, facts({"Content-Security-Policy": "default-src 'self' 'unsafe-eval'"}))
    assert [o.evidence["unsafe"] for o in found] == [["'unsafe-eval'"]]
    (missing,) = run(web.csp, facts({"Content-Security-Policy": "img-src 'self'"}))
    assert missing.key == "home:no-script-src"


def test_csp_in_several_headers_and_in_a_meta_tag() -> None:
    """Joined headers are separate policies: inline script runs only if every one allows it."""
    both = "script-src 'self' 'unsafe-inline', script-src 'self'"
    assert run(web.csp, facts({"Content-Security-Policy": both})) == []
    lax = "script-src 'self' 'unsafe-inline', img-src 'self'"
    (found,) = run(web.csp, facts({"Content-Security-Policy": lax}))
    assert found.evidence["unsafe"] == ["'unsafe-inline'"]
    meta = (
        '<html><head><meta http-equiv="Content-Security-Policy" '
        "content=\"default-src 'self'; frame-ancestors 'none'\">"
        '<meta name="referrer" content="strict-origin-when-cross-origin"></head></html>'
    )
    assert run(web.csp, facts(body=meta)) == []
    assert run(web.referrer_policy, facts(body=meta)) == []
    # frame-ancestors in a <meta> policy is ignored by browsers: still frameable
    (framed,) = run(web.clickjacking, facts(body=meta))
    assert framed.status is Status.FAIL
    (missing,) = run(web.csp, facts(body="<html><meta name='x' content='y'></html>"))
    assert missing.key == "home:missing"


def test_a_page_answering_an_error_is_not_analysed_for_its_scripts() -> None:
    """A checkout that answers 404 (or a 403 from bot protection) shows an error page: its
    scripts are unknown, so the content checks say so instead of passing."""
    body = '<script src="http://cdn.other.example/pay.js"></script>'
    for check in (web.script_integrity, web.mixed_content):
        (found,) = run(check, facts(body=body, payment=True, status=404))
        assert found.status is Status.SKIPPED and "answered HTTP 404" in found.message
    (inventory,) = run(web.third_party_inventory, facts(body=body, status=403))
    assert inventory.evidence["origins"] == [] and inventory.evidence["error_pages"] == [URL]
    # the same page answering 200 is judged
    (sri,) = run(web.script_integrity, facts(body=body, payment=True))
    assert sri.status is Status.FAIL and sri.severity is Severity.HIGH


def test_security_txt_needs_contact_and_a_future_expires() -> None:
    def probe(text: str) -> Probe:
        return Probe(URL + ".well-known/security.txt", 200, body_excerpt=text)

    def keys(text: str) -> list[str | None]:
        return [o.key for o in run(web.security_txt, facts(security_txt=probe(text)))]

    contact = "# our policy\nContact: mailto:security@shop.example\n"
    assert keys(contact + "Expires: 2999-01-01T00:00:00.000Z\n") == []
    assert keys(contact + "Expires: 2020-01-01T00:00:00Z\n") == ["expired"]
    assert keys(contact) == ["expires"]
    assert keys(contact + "Expires: soon\n") == ["expires"]
    assert keys("Expires: 2999-01-01T00:00:00Z\n") == [None]  # no Contact: as good as none
    assert keys("<html>Contact: us</html>") == [None]  # a soft-404 page


def test_hsts_parsing() -> None:
    weak = run(web.hsts, facts({"Strict-Transport-Security": 'max-age="86400"'}))
    assert {o.key for o in weak} == {"max-age", "subdomains"}
    good = "max-age=31536000; includeSubDomains"
    assert run(web.hsts, facts({"Strict-Transport-Security": good})) == []
    (preload,) = run(web.hsts_preload, facts({"Strict-Transport-Security": good}))
    assert preload.status is Status.FAIL  # no 'preload' token: info only


def test_cookies_session_rating_and_samesite_none() -> None:
    cookies = [
        "PHPSESSID=x; Path=/; Secure; HttpOnly; SameSite=None",
        "theme=dark; Path=/",
        "cart_token=y; Secure; HttpOnly; SameSite=None; Partitioned",
    ]
    found = {o.evidence["cookie"]: o for o in run(web.cookie_flags, facts(cookies=cookies))}
    # SameSite=None with Secure is a deliberate cross-site cookie, not a missing attribute
    assert set(found) == {"theme"}
    assert found["theme"].severity is Severity.MEDIUM
    (session,) = run(web.cookie_flags, facts(cookies=["sessionid=z; Secure"]))
    assert session.severity is Severity.HIGH
    assert session.evidence["missing"] == ["httponly", "samesite"]


def test_clickjacking_accepts_frame_ancestors_or_x_frame_options() -> None:
    assert run(web.clickjacking, facts({"X-Frame-Options": "DENY"})) == []
    csp = {"Content-Security-Policy": "frame-ancestors 'none'"}
    assert run(web.clickjacking, facts(csp)) == []
    assert len(run(web.clickjacking, facts({"X-Frame-Options": "ALLOW-FROM https://x"}))) == 1


def test_server_header_without_a_version_is_fine() -> None:
    assert run(web.version_disclosure, facts({"Server": "nginx"})) == []
    (found,) = run(web.version_disclosure, facts({"Server": "Apache/2.4.57 (Debian)"}))
    assert found.key == "server"


def test_redirect_through_plain_http_is_reported() -> None:
    probe = Probe(
        "http://shop.example/",
        200,
        "https://shop.example/",
        (("http://shop.example/", 301), ("http://www.shop.example/", 301)),
    )
    (found,) = run(web.https_redirect, facts(plain_http=probe))
    assert found.key == "via-http" and found.evidence["plain_hops"] == ["http://www.shop.example/"]


def test_scripts_sri_inventory_and_mixed_content_from_the_html() -> None:
    body = """<html><head><base href="https://shop.example/app/">
    <script src="https://js.stripe.example/v3/"></script>
    <script src="https://cdn.example.net/lib.js" integrity="sha384-abc" crossorigin></script>
    <script src="/own.js"></script><script src="https://static.shop.example/x.js"></script>
    <link rel="stylesheet" href="http://fonts.example.org/css">
    <iframe src="//pay.example.com/frame"></iframe></head><body>
    <img src="data:image/png;base64,AAAA"></body></html>"""
    data = facts(body=body, payment=True)
    (sri,) = run(web.script_integrity, data)
    assert sri.evidence["script"] == "https://js.stripe.example/v3/"
    assert sri.severity is Severity.HIGH  # a payment page (PCI DSS 6.4.3)
    (mixed,) = run(web.mixed_content, data)
    assert mixed.evidence == {
        "kind": "style",
        "url": "http://fonts.example.org/css",
        "active": True,
    }
    (inventory,) = run(web.third_party_inventory, data)
    assert inventory.status is Status.PASS
    assert inventory.evidence["origins"] == [
        {"origin": "http://fonts.example.org", "pages": [URL], "kinds": ["style"]},
        {"origin": "https://cdn.example.net", "pages": [URL], "kinds": ["script"]},
        {"origin": "https://js.stripe.example", "pages": [URL], "kinds": ["script"]},
        {"origin": "https://pay.example.com", "pages": [URL], "kinds": ["iframe"]},
    ]


def test_admin_probe_needs_a_login_form() -> None:
    login = Probe("https://shop.example/admin", 200, has_password_field=True)
    teaser = Probe("https://shop.example/wp-admin/", 200, has_password_field=False)
    data = facts()
    data = HttpFacts(data.url, data.pages, data.plain_http, data.security_txt, (login, teaser))
    (found,) = run(web.admin_exposed, data)
    assert found.key == "/admin" and found.status is Status.FAIL
