"""HTTP hardening of a storefront: redirects, security headers, cookies, mixed content, scripts
from third parties, security.txt, and admin pages open to the world. Pure checks over HttpFacts."""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Callable, Iterator
from dataclasses import replace
from urllib.parse import urlsplit

from posture.checks.collectors.storefront_http import HttpFacts, Page, collect_http
from posture.model import Area, Severity, TargetKind
from posture.plugin import CheckContext, Outcome, check

__all__ = ["collect_http"]

OWASP_HEADERS = "https://owasp.org/www-project-secure-headers/"
MDN = "https://developer.mozilla.org/en-US/docs/Web/HTTP/Headers/"
_VERSION = re.compile(r"\d+\.\d+")


def _site(host: str) -> str:
    """A crude registrable domain: the last two labels (three under a two-letter ccTLD SLD)."""
    labels = host.lower().rstrip(".").split(".")
    if (
        len(labels) >= 3
        and len(labels[-1]) == 2
        and labels[-2] in {"co", "com", "org", "net", "ac", "gov"}
    ):
        return ".".join(labels[-3:])
    return ".".join(labels[-2:])


def _third_party(url: str, page_url: str) -> bool:
    host = urlsplit(url).hostname or ""
    own = urlsplit(page_url).hostname or ""
    return bool(host) and _site(host) != _site(own)


def _noting_unverified(
    func: Callable[[HttpFacts, CheckContext], Iterator[Outcome]],
) -> Callable[[HttpFacts, CheckContext], Iterator[Outcome]]:
    """Results from pages read without certificate verification, or offering a browser's
    cipher suites because the server refused Python's default ones, say so in their evidence."""

    @functools.wraps(func)
    def wrapper(facts: HttpFacts, ctx: CheckContext) -> Iterator[Outcome]:
        outcomes = list(func(facts, ctx))
        if not outcomes and (facts.unverified or facts.browser_ciphers):
            outcomes = [Outcome.passed()]  # an implicit pass says so too
        for outcome in outcomes:
            if facts.unverified:
                outcome = replace(
                    outcome,
                    evidence={**outcome.evidence, "certificate_not_verified": facts.unverified},
                )
            if facts.browser_ciphers:
                outcome = replace(
                    outcome,
                    evidence={
                        **outcome.evidence,
                        "read_with_browser_ciphers": facts.browser_ciphers,
                    },
                )
            yield outcome

    return wrapper


def _live(facts: HttpFacts) -> Iterator[Page]:
    return (p for p in facts.pages if p.response is not None)


def _truncated(facts: HttpFacts) -> Iterator[Outcome]:
    """A page cut at the size limit was only partly read: what it loads cannot be known in full.

    The part that was read is still analysed (its findings stand), but the check cannot pass.
    """
    for page in _live(facts):
        assert page.response is not None
        if page.response.truncated:
            yield Outcome.error(
                f"page {page.name} is larger than the {len(page.response.body)}-byte limit; "
                "only its beginning was analysed",
                resource=page.url,
                evidence={"bytes_read": len(page.response.body)},
                key=f"{page.name}:truncated",
            )


def _content_pages(facts: HttpFacts) -> Iterator[Page]:
    """Pages whose content is the page itself (not an error page) and can be analysed."""
    return (p for p in _live(facts) if p.response is not None and p.response.status < 400)


def _error_pages(facts: HttpFacts) -> Iterator[Outcome]:
    """A page that answered 4xx/5xx shows an error page, not what it loads for customers: what
    it loads is unknown (can't test is not pass). Bot protection answering 403 lands here too."""
    for page in _live(facts):
        assert page.response is not None
        if page.response.status >= 400:
            yield Outcome.skip(
                f"page {page.name} answered HTTP {page.response.status}: its content could not "
                "be analysed (wrong path, login required, or bot protection?)",
                resource=page.url,
                key=page.name,
            )


def _page_errors(facts: HttpFacts) -> Iterator[Outcome]:
    """A named page that never answered could not be judged by any check that reads pages
    (can't test is not pass). Each says so; the runner makes one error of them (one cause)."""
    for page in facts.pages:
        if page.response is None:
            yield Outcome.error(
                f"page {page.name} could not be fetched: {page.error}",
                resource=page.url,
                key=page.name,
            )


@check(
    id="WEB-HTTPS-REDIRECT",
    title="Plain HTTP does not redirect to HTTPS",
    area=Area.WEB,
    severity=Severity.HIGH,
    target=TargetKind.STOREFRONT,
    facts="http",
    remediation="Answer every http:// request with a 301 redirect straight to the https:// URL.",
    references=["https://infosec.mozilla.org/guidelines/web_security#http-redirections"],
)
@_noting_unverified
def https_redirect(facts: HttpFacts, ctx: CheckContext) -> Iterator[Outcome]:
    probe = facts.plain_http
    if probe.status is None:
        yield Outcome.passed(
            "nothing answers plain HTTP", evidence={"url": probe.url, "error": probe.error}
        )
        return
    final = probe.final_url or probe.url
    chain = [url for url, _ in probe.redirects] + [final]
    evidence = {"url": probe.url, "chain": chain, "status": probe.status}
    if urlsplit(final).scheme != "https":
        yield Outcome.fail(f"{probe.url} answers {probe.status} over plain HTTP", evidence=evidence)
        return
    through_http = [url for url in chain[1:-1] if url.startswith("http://")]
    if through_http:
        yield Outcome.fail(
            "the redirect to HTTPS passes through plain HTTP first",
            evidence={**evidence, "plain_hops": through_http},
            severity=Severity.MEDIUM,
            key="via-http",
        )


def _over_https(page: Page) -> bool:
    """Where the page was finally served from (an http:// storefront may redirect to https)."""
    final: str = page.response.url if page.response else page.url
    return final.startswith("https://")


def _hsts(page: Page) -> dict[str, str | int | bool] | None:
    assert page.response is not None
    value = page.response.header("strict-transport-security")
    if value is None:
        return None
    out: dict[str, str | int | bool] = {
        "raw": value,
        "max_age": 0,
        "include_subdomains": False,
        "preload": False,
    }
    for part in (p.strip() for p in value.split(";")):
        low = part.lower()
        if low.startswith("max-age="):
            try:
                out["max_age"] = int(low.split("=", 1)[1].strip().strip('"'))
            except ValueError:
                out["max_age"] = 0
        elif low == "includesubdomains":
            out["include_subdomains"] = True
        elif low == "preload":
            out["preload"] = True
    return out


@check(
    id="WEB-HSTS",
    title="HSTS missing or weak",
    area=Area.WEB,
    severity=Severity.MEDIUM,
    target=TargetKind.STOREFRONT,
    facts="http",
    remediation="Send Strict-Transport-Security: max-age=63072000; includeSubDomains on every HTTPS answer.",
    references=[MDN + "Strict-Transport-Security", "https://hstspreload.org/"],
)
@_noting_unverified
def hsts(facts: HttpFacts, ctx: CheckContext) -> Iterator[Outcome]:
    home = facts.home
    if not _over_https(home):
        yield Outcome.not_applicable(
            "the storefront answers over plain HTTP; HSTS applies to HTTPS"
        )
        return
    value = _hsts(home)
    minimum = int(ctx.policy.get("web.hsts_min_age", 31536000))
    if value is None:
        yield Outcome.fail("no Strict-Transport-Security header", key="missing")
        return
    if int(value["max_age"]) < minimum:
        yield Outcome.fail(
            f"max-age {value['max_age']} is under {minimum} seconds",
            evidence=value,
            severity=Severity.LOW,
            key="max-age",
        )
    if not value["include_subdomains"]:
        yield Outcome.fail(
            "no includeSubDomains", evidence=value, severity=Severity.LOW, key="subdomains"
        )


@check(
    id="WEB-HSTS-PRELOAD",
    title="Not ready for the HSTS preload list",
    area=Area.WEB,
    severity=Severity.INFO,
    target=TargetKind.STOREFRONT,
    facts="http",
    remediation="Add 'preload' with max-age >= 31536000 and includeSubDomains, then submit to hstspreload.org.",
    references=["https://hstspreload.org/"],
)
@_noting_unverified
def hsts_preload(facts: HttpFacts, ctx: CheckContext) -> Iterator[Outcome]:
    if not _over_https(facts.home):
        yield Outcome.not_applicable(
            "the storefront answers over plain HTTP; HSTS applies to HTTPS"
        )
        return
    value = _hsts(facts.home)
    ready = bool(
        value
        and value["preload"]
        and value["include_subdomains"]
        and int(value["max_age"]) >= 31536000
    )
    if not ready:
        yield Outcome.fail(
            "the HSTS header does not meet the preload requirements", evidence=value or {}
        )


def _csp_directives(value: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for part in value.split(";"):
        tokens = part.strip().split()
        if tokens:
            out.setdefault(tokens[0].lower(), [t.lower() for t in tokens[1:]])
    return out


@check(
    id="WEB-CSP",
    title="Content-Security-Policy missing or allows inline script",
    area=Area.WEB,
    severity=Severity.MEDIUM,
    target=TargetKind.STOREFRONT,
    facts="http",
    remediation="Send a Content-Security-Policy whose script-src lists your script origins and uses "
    "nonces or hashes instead of 'unsafe-inline' and 'unsafe-eval'.",
    references=[MDN + "Content-Security-Policy", "https://csp-evaluator.withgoogle.com/"],
)
@_noting_unverified
def csp(facts: HttpFacts, ctx: CheckContext) -> Iterator[Outcome]:
    yield from _page_errors(facts)
    for page in _live(facts):
        assert page.response is not None
        header = page.response.header("content-security-policy")
        # Several headers arrive joined by commas; each policy, and each <meta> policy, is
        # enforced: inline script runs only if every policy that restricts scripts allows it.
        policies = [p for p in (header or "").split(",") if p.strip()] + list(page.meta_csp)
        shown = "; ".join(policies) if len(policies) > 1 else (policies[0] if policies else "")
        delivery = "header" if header else "meta"
        if not policies:
            yield Outcome.fail(
                f"no Content-Security-Policy on {page.name}",
                resource=page.url,
                key=f"{page.name}:missing",
            )
            continue
        script_policies = [
            d.get("script-src", d.get("default-src"))
            for d in map(_csp_directives, policies)
            if "script-src" in d or "default-src" in d
        ]
        if not script_policies:
            yield Outcome.fail(
                "the policy restricts no scripts (no script-src or default-src)",
                resource=page.url,
                evidence={"csp": shown, "delivered_in": delivery},
                key=f"{page.name}:no-script-src",
            )
            continue
        allowed = [_unsafe_script_sources(scripts or []) for scripts in script_policies]
        unsafe = [t for t in ("'unsafe-inline'", "'unsafe-eval'") if all(t in a for a in allowed)]
        if unsafe:
            yield Outcome.fail(
                f"script-src allows {' and '.join(unsafe)} on {page.name}",
                resource=page.url,
                evidence={"csp": shown, "unsafe": unsafe, "delivered_in": delivery},
                key=f"{page.name}:unsafe",
            )


def _unsafe_script_sources(scripts: list[str]) -> set[str]:
    has_nonce = any(t.startswith(("'nonce-", "'sha256-", "'sha384-", "'sha512-")) for t in scripts)
    unsafe: set[str] = {t for t in ("'unsafe-inline'", "'unsafe-eval'") if t in scripts}
    if has_nonce:
        unsafe.discard("'unsafe-inline'")  # ignored by browsers when a nonce or hash is present
    return unsafe


@check(
    id="WEB-CLICKJACKING",
    title="No clickjacking protection",
    area=Area.WEB,
    severity=Severity.MEDIUM,
    target=TargetKind.STOREFRONT,
    facts="http",
    remediation="Send Content-Security-Policy: frame-ancestors 'self' (or X-Frame-Options: DENY).",
    references=[MDN + "Content-Security-Policy/frame-ancestors"],
)
@_noting_unverified
def clickjacking(facts: HttpFacts, ctx: CheckContext) -> Iterator[Outcome]:
    yield from _page_errors(facts)
    for page in _live(facts):
        assert page.response is not None
        # frame-ancestors counts only in a header: browsers ignore it in <meta> policies
        csp_value = page.response.header("content-security-policy") or ""
        xfo = (page.response.header("x-frame-options") or "").strip().lower()
        framed = any("frame-ancestors" in _csp_directives(p) for p in csp_value.split(","))
        if framed or xfo in ("deny", "sameorigin"):
            continue
        yield Outcome.fail(
            f"{page.name} can be framed by any site", resource=page.url, key=page.name
        )


@check(
    id="WEB-NOSNIFF",
    title="X-Content-Type-Options: nosniff missing",
    area=Area.WEB,
    severity=Severity.LOW,
    target=TargetKind.STOREFRONT,
    facts="http",
    remediation="Send X-Content-Type-Options: nosniff.",
    references=[MDN + "X-Content-Type-Options"],
)
@_noting_unverified
def nosniff(facts: HttpFacts, ctx: CheckContext) -> Iterator[Outcome]:
    assert facts.home.response is not None
    if (facts.home.response.header("x-content-type-options") or "").strip().lower() != "nosniff":
        yield Outcome.fail("no X-Content-Type-Options: nosniff", resource=facts.home.url)


@check(
    id="WEB-REFERRER-POLICY",
    title="Referrer-Policy missing or leaks full URLs",
    area=Area.WEB,
    severity=Severity.LOW,
    target=TargetKind.STOREFRONT,
    facts="http",
    remediation="Send Referrer-Policy: strict-origin-when-cross-origin (or stricter).",
    references=[MDN + "Referrer-Policy"],
)
@_noting_unverified
def referrer_policy(facts: HttpFacts, ctx: CheckContext) -> Iterator[Outcome]:
    assert facts.home.response is not None
    value = (facts.home.response.header("referrer-policy") or "").strip().lower()
    if not value and facts.home.meta_referrer:  # <meta name="referrer"> counts as well
        value = facts.home.meta_referrer.strip().lower()
    last = value.split(",")[-1].strip() if value else ""
    if not last:
        yield Outcome.fail("no Referrer-Policy header", resource=facts.home.url, key="missing")
    elif last in ("unsafe-url", "no-referrer-when-downgrade"):
        yield Outcome.fail(
            f"Referrer-Policy {last} sends full URLs to other sites",
            resource=facts.home.url,
            evidence={"value": value},
            key="weak",
        )


@check(
    id="WEB-VERSION-DISCLOSURE",
    title="Server software version disclosed",
    area=Area.WEB,
    severity=Severity.LOW,
    target=TargetKind.STOREFRONT,
    facts="http",
    remediation="Remove version numbers from Server and drop X-Powered-By / X-AspNet-Version "
    "(nginx: server_tokens off; PHP: expose_php = Off).",
    references=[OWASP_HEADERS],
)
@_noting_unverified
def version_disclosure(facts: HttpFacts, ctx: CheckContext) -> Iterator[Outcome]:
    assert facts.home.response is not None
    for header in (
        "server",
        "x-powered-by",
        "x-aspnet-version",
        "x-aspnetmvc-version",
        "x-generator",
    ):
        value = facts.home.response.header(header)
        if value and (header != "server" or _VERSION.search(value)):
            yield Outcome.fail(
                f"{header}: {value}", evidence={"header": header, "value": value}, key=header
            )


def _cookie_attrs(raw: str) -> tuple[str, set[str], str | None]:
    parts = [p.strip() for p in raw.split(";")]
    name = parts[0].split("=", 1)[0].strip()
    flags = set()
    samesite = None
    for attr in parts[1:]:
        key, _, value = attr.partition("=")
        key = key.strip().lower()
        flags.add(key)
        if key == "samesite":
            samesite = value.strip().lower() or None
    return name, flags, samesite


@check(
    id="WEB-COOKIE-FLAGS",
    title="Cookie without Secure, HttpOnly or SameSite",
    area=Area.WEB,
    severity=Severity.MEDIUM,
    target=TargetKind.STOREFRONT,
    facts="http",
    remediation="Set session cookies with Secure; HttpOnly; SameSite=Lax (or Strict); "
    "prefer the __Host- prefix.",
    references=[MDN + "Set-Cookie"],
)
@_noting_unverified
def cookie_flags(facts: HttpFacts, ctx: CheckContext) -> Iterator[Outcome]:
    yield from _page_errors(facts)
    markers = [str(m).lower() for m in ctx.policy.get("web.session_cookie_markers", [])]
    seen: set[str] = set()
    for page in _live(facts):
        assert page.response is not None
        for raw in page.response.set_cookies:
            name, flags, samesite = _cookie_attrs(raw)
            if not name or name in seen:
                continue
            seen.add(name)
            missing = [f for f in ("secure", "httponly") if f not in flags]
            if samesite is None or samesite == "none" and "secure" not in flags:
                missing.append("samesite")
            if not missing:
                continue
            session = any(m in name.lower() for m in markers)
            yield Outcome.fail(
                f"cookie {name} lacks {', '.join(missing)}",
                resource=page.url,
                evidence={"cookie": name, "missing": missing, "session_cookie": session},
                severity=Severity.HIGH if session else Severity.MEDIUM,
                key=name,
            )


@check(
    id="WEB-MIXED-CONTENT",
    title="Mixed content on an HTTPS page",
    area=Area.WEB,
    severity=Severity.HIGH,
    target=TargetKind.STOREFRONT,
    facts="http",
    remediation="Load every script, style, frame and image over https://.",
    references=["https://developer.mozilla.org/en-US/docs/Web/Security/Mixed_content"],
)
@_noting_unverified
def mixed_content(facts: HttpFacts, ctx: CheckContext) -> Iterator[Outcome]:
    yield from _page_errors(facts)
    yield from _truncated(facts)
    yield from _error_pages(facts)
    for page in _content_pages(facts):
        assert page.response is not None
        if not page.response.url.startswith("https://"):
            continue
        for res in page.resources:
            if res.url.startswith("http://") and res.kind != "form":
                active = res.kind in ("script", "iframe", "style")
                yield Outcome.fail(
                    f"{page.name} loads {res.kind} over plain HTTP: {res.url}",
                    resource=page.url,
                    evidence={"kind": res.kind, "url": res.url, "active": active},
                    severity=Severity.HIGH if active else Severity.MEDIUM,
                    key=f"{page.name}:{res.url}",
                )


@check(
    id="WEB-SCRIPT-INTEGRITY",
    title="Third-party script without Subresource Integrity",
    area=Area.WEB,
    severity=Severity.MEDIUM,
    target=TargetKind.STOREFRONT,
    facts="http",
    remediation="Add integrity= and crossorigin= to third-party scripts, or self-host them; on payment "
    "pages keep an inventory of every script with its justification (PCI DSS 6.4.3).",
    references=["https://developer.mozilla.org/en-US/docs/Web/Security/Subresource_Integrity"],
)
@_noting_unverified
def script_integrity(facts: HttpFacts, ctx: CheckContext) -> Iterator[Outcome]:
    yield from _page_errors(facts)
    yield from _truncated(facts)
    yield from _error_pages(facts)
    for page in _content_pages(facts):
        payment = page.name in facts.payment_pages
        for res in page.resources:
            if res.kind == "script" and _third_party(res.url, page.url) and not res.integrity:
                yield Outcome.fail(
                    f"{res.url} on {page.name} has no integrity attribute"
                    + (" (payment page)" if payment else ""),
                    resource=page.url,
                    evidence={"script": res.url, "page": page.name, "payment_page": payment},
                    severity=Severity.HIGH if payment else Severity.MEDIUM,
                    key=f"{page.name}:{res.url}",
                )


@check(
    id="WEB-THIRD-PARTY-INVENTORY",
    title="Third-party origins the storefront loads",
    area=Area.VENDOR,
    severity=Severity.INFO,
    target=TargetKind.STOREFRONT,
    facts="http",
    description="An inventory, not a finding: every third-party origin each page loads. The vendor "
    "checks compare it with the declared vendors.",
)
@_noting_unverified
def third_party_inventory(facts: HttpFacts, ctx: CheckContext) -> Iterator[Outcome]:
    origins: dict[str, dict[str, set[str]]] = {}
    for page in _content_pages(facts):
        for res in page.resources:
            if _third_party(res.url, page.url):
                parts = urlsplit(res.url)
                origin = f"{parts.scheme}://{parts.netloc}"
                slot = origins.setdefault(origin, {"pages": set(), "kinds": set()})
                slot["pages"].add(page.url)
                slot["kinds"].add(res.kind)
    inventory = [
        {"origin": origin, "pages": sorted(v["pages"]), "kinds": sorted(v["kinds"])}
        for origin, v in sorted(origins.items())
    ]
    # Pages cut at the size limit are listed: their inventory may be incomplete (the mixed-content
    # and integrity checks report them as errors).
    partial = [p.url for p in _live(facts) if p.response is not None and p.response.truncated]
    unread = [p.url for p in _live(facts) if p.response is not None and p.response.status >= 400]
    unfetched = [p.url for p in facts.pages if p.response is None]
    evidence: dict[str, object] = {"origins": inventory, "source": "static"}
    held = sorted({(res.url, page.url) for page in _content_pages(facts) for res in page.held_back})
    if held:
        # Scripts of a type the browser does not run (consent managers' text/plain): they
        # load only once the page rewrites them, so they are listed here, not judged as loaded.
        evidence["held_back_scripts"] = [{"script": u, "page": p} for u, p in held]
    if partial:
        evidence["incomplete_pages"] = partial
    if unread:
        evidence["error_pages"] = unread
    if unfetched:
        evidence["unfetched_pages"] = unfetched
    message = f"{len(inventory)} third-party origins"
    if held:
        message += f"; {len(held)} scripts held back (not run until the page enables them)"
    yield Outcome.passed(message, evidence=evidence)


@check(
    id="WEB-SECURITY-TXT",
    title="No security.txt",
    area=Area.WEB,
    severity=Severity.INFO,
    target=TargetKind.STOREFRONT,
    facts="http",
    description="RFC 9116 asks for a Contact and an Expires field; a file past its Expires date "
    "is one readers are told to ignore.",
    remediation="Publish /.well-known/security.txt (RFC 9116) with Contact and Expires, so customers "
    "and researchers can report a breach; renew Expires before it passes (a year at most).",
    references=["https://www.rfc-editor.org/rfc/rfc9116"],
)
@_noting_unverified
def security_txt(facts: HttpFacts, ctx: CheckContext) -> Iterator[Outcome]:
    probe = facts.security_txt
    fields = _security_txt_fields(probe.body_excerpt)
    if probe.status != 200 or "contact" not in fields or "<html" in probe.body_excerpt.lower():
        yield Outcome.fail(
            "no /.well-known/security.txt with a Contact field",
            evidence={"url": probe.url, "status": probe.status, "error": probe.error},
        )
        return
    evidence = {"url": probe.url, "contact": fields["contact"]}
    expires = fields.get("expires")
    if expires is None:
        yield Outcome.fail("security.txt has no Expires field", evidence=evidence, key="expires")
        return
    try:
        when = dt.datetime.fromisoformat(expires[0])
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
    except ValueError:
        yield Outcome.fail(
            f"security.txt Expires is not a date: {expires[0][:40]}",
            evidence=evidence,
            key="expires",
        )
        return
    if when <= ctx.now:
        yield Outcome.fail(
            f"security.txt expired on {when.date()}: readers are told not to trust it",
            evidence={**evidence, "expires": expires[0]},
            key="expired",
        )


def _security_txt_fields(text: str) -> dict[str, list[str]]:
    """RFC 9116 fields (name: value lines; comments and a PGP signature's armour skipped)."""
    out: dict[str, list[str]] = {}
    for line in text.splitlines():
        name, sep, value = line.partition(":")
        if sep and name.strip() and not name.startswith(("#", "-")) and " " not in name.strip():
            out.setdefault(name.strip().lower(), []).append(value.strip())
    return out


@check(
    id="ACCESS-ADMIN-EXPOSED",
    title="Admin login page reachable from the internet",
    area=Area.ACCESS,
    severity=Severity.HIGH,
    target=TargetKind.STOREFRONT,
    facts="http",
    remediation="Put admin and back-office paths behind the VPN or an IP allow-list (answer 403/404 "
    "to everyone else), and require MFA.",
    references=["https://owasp.org/www-project-top-ten/2017/A6_2017-Security_Misconfiguration"],
)
@_noting_unverified
def admin_exposed(facts: HttpFacts, ctx: CheckContext) -> Iterator[Outcome]:
    for probe in facts.admin_paths:
        if probe.status == 200 and probe.has_password_field:
            yield Outcome.fail(
                f"{probe.url} answers with a login form",
                resource=probe.url,
                evidence={"url": probe.url, "final_url": probe.final_url, "status": probe.status},
                key=urlsplit(probe.url).path,
            )
