"""Collects a storefront's HTTP facts once: pages, headers, cookies, loaded resources, the plain
HTTP redirect, security.txt and well-known admin paths. Checks in checks/web.py read them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit, urlunsplit

from posture.checks.collectors.http_client import HttpClient, HttpResponse
from posture.errors import CollectError
from posture.model import Target, TargetKind
from posture.plugin import CollectContext, collector

PAGE_MAX_BYTES = 2_000_000
PROBE_MAX_BYTES = 65_536


@dataclass(frozen=True)
class Resource:
    """Something a page makes the browser load."""

    kind: str  # script, style, img, iframe, form, media
    url: str
    integrity: str | None = None


@dataclass(frozen=True)
class Page:
    name: str  # "home", or the posture.yaml page name (checkout, login ...)
    url: str
    response: HttpResponse | None
    error: str | None = None
    resources: tuple[Resource, ...] = ()
    has_password_field: bool = False
    # Policies the page itself declares: <meta http-equiv="Content-Security-Policy" content=...>
    # and <meta name="referrer" content=...> (both honoured by browsers like the headers).
    meta_csp: tuple[str, ...] = ()
    meta_referrer: str | None = None
    # Scripts the page holds back in a type the browser does not run (a consent manager's
    # type="text/plain"): listed, but not judged as loaded.
    held_back: tuple[Resource, ...] = ()


@dataclass(frozen=True)
class Probe:
    """A request whose answer matters more than its body (redirect, security.txt, admin)."""

    url: str
    status: int | None
    final_url: str | None = None
    redirects: tuple[tuple[str, int], ...] = ()
    error: str | None = None
    body_excerpt: str = ""
    has_password_field: bool = False
    content_type: str = ""


@dataclass(frozen=True)
class HttpFacts:
    url: str
    pages: tuple[Page, ...]
    plain_http: Probe
    security_txt: Probe
    admin_paths: tuple[Probe, ...] = ()
    payment_pages: frozenset[str] = field(default_factory=frozenset)
    # Set when the certificate failed verification (expired, self-signed, unknown issuer) and the
    # pages were read without it: why. The TLS checks report the certificate itself.
    unverified: str | None = None
    # Set when the server refused Python's default cipher list (it accepts only suites such as
    # the old CBC-SHA1 ones) and the pages were read offering a browser's list instead: why.
    browser_ciphers: str | None = None

    @property
    def home(self) -> Page:
        return self.pages[0]


# The HTML standard's JavaScript MIME type essences: a <script> whose type is one of these (or
# empty, or absent) is run by the browser, as is type="module". Any other type is a data block
# the browser never runs: consent managers hold trackers back as type="text/plain" until the
# visitor agrees, then rewrite them.
JAVASCRIPT_TYPES = frozenset(
    {
        "application/ecmascript",
        "application/javascript",
        "application/x-ecmascript",
        "application/x-javascript",
        "text/ecmascript",
        "text/javascript",
        "text/javascript1.0",
        "text/javascript1.1",
        "text/javascript1.2",
        "text/javascript1.3",
        "text/javascript1.4",
        "text/javascript1.5",
        "text/jscript",
        "text/livescript",
        "text/x-ecmascript",
        "text/x-javascript",
        "module",
    }
)


def script_runs(attrs: dict[str, str | None]) -> bool:
    """Whether a browser executes a <script> with these attributes (HTML standard, "prepare the
    script element"): no type and no language, an empty type, a JavaScript MIME type essence
    (compared whole, ASCII case-insensitive: parameters make it a data block) or ``module``."""
    kind = attrs.get("type")
    if kind is None:
        language = attrs.get("language")
        if not language:
            return True
        kind = f"text/{language}"
    kind = kind.strip(" \t\n\f\r").lower()
    return kind == "" or kind in JAVASCRIPT_TYPES


class _ResourceParser(HTMLParser):
    """Just enough HTML parsing to list what a page loads; the standard library's tolerant parser."""

    def __init__(self, base: str) -> None:
        super().__init__(convert_charrefs=True)
        self.base = base
        self.resources: list[Resource] = []
        self.held_back: list[Resource] = []  # scripts of a type the browser does not run
        self.password = False
        self.meta_csp: list[str] = []
        self.meta_referrer: str | None = None

    def _add(self, kind: str, ref: str | None, integrity: str | None = None) -> None:
        if ref and not ref.startswith(("data:", "javascript:", "about:", "#", "mailto:", "tel:")):
            self.resources.append(Resource(kind, urljoin(self.base, ref.strip()), integrity))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k.lower(): v for k, v in attrs}
        if tag == "base" and a.get("href"):
            self.base = urljoin(self.base, a["href"] or "")
        elif tag == "script":
            if script_runs(a):
                self._add("script", a.get("src"), a.get("integrity"))
            else:
                ref = a.get("src") or a.get("data-src")
                if ref and not ref.startswith(("data:", "javascript:", "#")):
                    self.held_back.append(
                        Resource("script", urljoin(self.base, ref.strip()), a.get("integrity"))
                    )
        elif tag == "link":
            rel = (a.get("rel") or "").lower()
            if "stylesheet" in rel:
                self._add("style", a.get("href"), a.get("integrity"))
            elif "preload" in rel or "modulepreload" in rel:
                kind = "script" if (a.get("as") or "") == "script" else "media"
                self._add(kind, a.get("href"), a.get("integrity"))
        elif tag in ("img", "audio", "video", "source", "embed"):
            self._add("img" if tag == "img" else "media", a.get("src"))
        elif tag in ("iframe", "frame"):
            self._add("iframe", a.get("src"))
        elif tag == "object":
            self._add("media", a.get("data"))
        elif tag == "form":
            self._add("form", a.get("action"))
        elif tag == "input" and (a.get("type") or "").lower() == "password":
            self.password = True
        elif tag == "meta" and a.get("content"):
            if (a.get("http-equiv") or "").strip().lower() == "content-security-policy":
                self.meta_csp.append(a["content"] or "")
            elif (a.get("name") or "").strip().lower() == "referrer":
                self.meta_referrer = a["content"]


def parse_resources(html: str, base: str) -> tuple[tuple[Resource, ...], bool]:
    parser = parse_page(html, base)
    return tuple(dict.fromkeys(parser.resources)), parser.password


def parse_page(html: str, base: str) -> _ResourceParser:
    """What a page loads and declares (resources, password field, meta policies)."""
    parser = _ResourceParser(base)
    try:
        parser.feed(html)
        parser.close()
    except Exception:  # noqa: BLE001, S110 - a malformed page still yields what was parsed
        pass
    return parser


def _page(name: str, url: str, client: HttpClient) -> Page:
    try:
        response = client.fetch(url, max_bytes=PAGE_MAX_BYTES)
    except CollectError as exc:
        return Page(name, url, None, error=str(exc))
    if "html" not in response.headers.get("content-type", "html"):
        return Page(name, url, response)
    parsed = parse_page(response.text, response.url)
    return Page(
        name,
        url,
        response,
        None,
        tuple(dict.fromkeys(parsed.resources)),
        parsed.password,
        tuple(parsed.meta_csp),
        parsed.meta_referrer,
        tuple(dict.fromkeys(parsed.held_back)),
    )


def _probe(url: str, client: HttpClient, follow: bool = True) -> Probe:
    try:
        response = client.fetch(url, max_bytes=PROBE_MAX_BYTES, max_redirects=5 if follow else 0)
    except CollectError as exc:
        return Probe(url, None, error=str(exc))
    text = response.text
    _, password = parse_resources(text, response.url) if "<" in text else ((), False)
    return Probe(
        url,
        response.status,
        response.url,
        tuple(response.redirects),
        None,
        text[:2000],
        password,
        response.headers.get("content-type", ""),
    )


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "", "", ""))


def page_urls(target: Target) -> list[tuple[str, str]]:
    """(name, absolute URL) for the home page and every named page, home first."""
    base = target.options.get("url") or target.name
    out = [("home", base)]
    for name, value in (target.options.get("pages") or {}).items():
        path = value["path"] if isinstance(value, dict) else value
        out.append((name, urljoin(base, path)))
    return out


def _plain_http_url(target: Target) -> str:
    explicit = target.options.get("http_url")
    if explicit:
        return str(explicit)
    parts = urlsplit(target.options.get("url") or target.name)
    if parts.scheme == "http":
        return urlunsplit(parts._replace(fragment=""))  # the shop itself answers plain HTTP
    host = parts.hostname or ""
    netloc = f"[{host}]" if ":" in host else host
    return urlunsplit(("http", netloc, parts.path or "/", "", ""))


def _payment_pages(target: Target, names: Iterable[str], ctx: CollectContext) -> frozenset[str]:
    wanted = {str(n).lower() for n in ctx.policy.get("web.payment_page_names", [])}
    wanted |= {str(n).lower() for n in target.options.get("payment_pages") or []}
    return frozenset(n for n in names if n.lower() in wanted)


def _untrusted_certificate(error: str | None) -> bool:
    """A verification failure that still reaches the shop itself: expired, self-signed or
    unknown issuer. A name mismatch is not one: the answer may come from another site."""
    text = (error or "").lower()
    if "tls error" not in text or "certificate verify failed" not in text:
        return False
    return "hostname" not in text and "match" not in text


def _refused_ciphers(error: str | None) -> bool:
    """A handshake the server broke off because it accepts none of the suites offered."""
    text = (error or "").lower()
    return "tls error" in text and any(
        sign in text
        for sign in ("handshake failure", "no shared cipher", "no ciphers", "insufficient security")
    )


@collector(name="http", target=TargetKind.STOREFRONT)
def collect_http(target: Target, ctx: CollectContext) -> HttpFacts:
    facts = _collect_http(target, ctx, verify=True)
    browser = False
    if facts.home.response is None and _refused_ciphers(facts.home.error):
        # A browser still opens a shop that accepts only old CBC-SHA1 suites: read it as one
        # would. The TLS checks report the suites themselves.
        retried = _collect_http(target, ctx, verify=True, browser_ciphers=True)
        if retried.home.response is not None or not _refused_ciphers(retried.home.error):
            reason = f"{facts.home.error} (read offering a browser's cipher suites)"
            facts, browser = replace(retried, browser_ciphers=reason), True
    if facts.home.response is None and _untrusted_certificate(facts.home.error):
        # The TLS checks report the certificate; the headers and pages are still the shop's.
        unverified = _collect_http(target, ctx, verify=False, browser_ciphers=browser)
        if unverified.home.response is not None:
            return replace(
                unverified, unverified=facts.home.error, browser_ciphers=facts.browser_ciphers
            )
    if facts.home.response is None:
        raise CollectError(facts.home.error or f"{target.name}: no answer")
    return facts


def _collect_http(
    target: Target, ctx: CollectContext, *, verify: bool, browser_ciphers: bool = False
) -> HttpFacts:
    urls = page_urls(target)
    with HttpClient(ctx.options, verify=verify, browser_ciphers=browser_ciphers) as client:
        pages = [_page(name, url, client) for name, url in urls]
        if pages[0].response is None:
            return HttpFacts(target.name, tuple(pages), Probe("", None), Probe("", None))
        origin = _origin(pages[0].response.url)
        admin_paths = [
            _probe(urljoin(origin + "/", str(path).lstrip("/")), client)
            for path in ctx.policy.get("web.admin_paths", [])
        ]
        return HttpFacts(
            url=target.name,
            pages=tuple(pages),
            plain_http=_probe(_plain_http_url(target), client),
            security_txt=_probe(origin + "/.well-known/security.txt", client),
            admin_paths=tuple(admin_paths),
            payment_pages=_payment_pages(target, [n for n, _ in urls], ctx),
        )
