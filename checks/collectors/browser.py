"""What the customer's browser sees on a storefront: two visits per page in real Chromium.

Per page (home, every named page, every payment page) one visit as a fresh visitor and one as a
fresh visitor sending the Global Privacy Control signal (``Sec-GPC: 1`` and
``navigator.globalPrivacyControl``). Each visit records every request (with its type, frame,
initiator, party and whether a tracker list names it), the cookies and storage keys written
(never their values), every script that executed with the SHA-256 of its body, frames, forms and
where they post, the document's security headers, and a screenshot. Consent banners are never
clicked: posture observes the default state a new visitor gets.

For payment pages the collector also reads, from the history database, what the last recorded
scan saw on that page, so PAY-PAGE-CHANGED can compare without doing I/O itself.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from posture.checks.collectors import trackers
from posture.checks.collectors.storefront_http import page_urls
from posture.errors import CollectError
from posture.model import Target, TargetKind
from posture.plugin import CollectContext, collector

CHANGED_CHECK = "PAY-PAGE-CHANGED"


@dataclass(frozen=True)
class RequestSeen:
    url: str
    type: str  # Playwright's resource type: document, script, image, xhr, fetch, ping ...
    frame: str | None  # the URL of the frame that made it
    initiator: str | None  # the script or document that caused it, where Chromium says
    third_party: bool
    tracker: str | None = None  # advertising, analytics, data-broker, tracking
    tracker_source: str | None = None  # easyprivacy or policies/trackers/hosts.yaml

    def to_dict(self) -> dict[str, Any]:
        return {
            "url": _short(self.url),
            "type": self.type,
            "frame": _short(self.frame or ""),
            "initiator": _short(self.initiator or "") or None,
            "party": "third" if self.third_party else "first",
            "tracker": self.tracker,
            "tracker_source": self.tracker_source,
        }


@dataclass(frozen=True)
class CookieSeen:
    name: str
    domain: str
    path: str
    expires: float | None  # seconds since the epoch; None for a session cookie
    http_only: bool
    secure: bool
    same_site: str
    third_party: bool
    tracker: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "domain": self.domain,
            "path": self.path,
            "expires": self.expires,
            "http_only": self.http_only,
            "secure": self.secure,
            "same_site": self.same_site,
            "party": "third" if self.third_party else "first",
            "tracker": self.tracker,
        }


@dataclass(frozen=True)
class StorageSeen:
    origin: str
    kind: str  # localStorage, sessionStorage
    key: str
    tracker: bool = False  # a tracker's origin, or a key named like a tracking cookie

    def to_dict(self) -> dict[str, Any]:
        return {"origin": self.origin, "kind": self.kind, "key": self.key, "tracker": self.tracker}


@dataclass(frozen=True)
class ScriptSeen:
    """A script that executed in the page (or a same-process frame of it)."""

    ident: str  # the URL; for inline code "inline <document URL> line L col C"; "dynamic"
    url: str | None  # external scripts only
    sha256: str
    size: int
    frame: str  # the document it ran in
    integrity: str | None = None  # the SRI attribute of its <script> element
    third_party: bool = False

    @property
    def key(self) -> str:
        """Stable between scans: the URL without its query (a version bump ``?v=2`` is the same
        script changed, not another one), the inline position, or for code made at run time
        its hash."""
        if self.ident == "dynamic":
            return f"dynamic sha256:{self.sha256[:16]}"
        if self.url:
            return urlunsplit(urlsplit(self.url)._replace(query="", fragment=""))
        return self.ident

    def to_dict(self) -> dict[str, Any]:
        return {
            "script": _short(self.key),
            "url": _short(self.url) if self.url else None,
            "sha256": self.sha256,
            "size": self.size,
            "frame": _short(self.frame),
            "integrity": self.integrity,
            "party": "third" if self.third_party else "first",
        }


@dataclass(frozen=True)
class FormSeen:
    frame: str
    action: str
    method: str
    card_fields: tuple[str, ...]
    login: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "frame": _short(self.frame),
            "action": _short(self.action),
            "method": self.method,
            "card_fields": list(self.card_fields),
            "login": self.login,
        }


@dataclass(frozen=True)
class Visit:
    page: str
    url: str
    gpc: bool
    error: str | None = None
    status: int | None = None
    final_url: str | None = None
    requests: tuple[RequestSeen, ...] = ()
    cookies: tuple[CookieSeen, ...] = ()
    storage: tuple[StorageSeen, ...] = ()
    scripts: tuple[ScriptSeen, ...] = ()
    frames: tuple[tuple[str, str | None], ...] = ()  # (url, parent url)
    forms: tuple[FormSeen, ...] = ()
    headers: Mapping[str, str] = field(default_factory=dict)
    screenshot: str | None = None  # path of the PNG, relative to the evidence folder
    screenshot_sha256: str | None = None
    elapsed: float = 0.0
    still_loading: bool = False  # requests still going when the settling time ran out
    truncated: bool = False
    unverified: str | None = None  # the certificate error the page was read past, if any

    @property
    def trackers(self) -> tuple[RequestSeen, ...]:
        return tuple(r for r in self.requests if r.tracker)

    @property
    def tracking_cookies(self) -> tuple[CookieSeen, ...]:
        return tuple(c for c in self.cookies if c.tracker)

    def to_record(self) -> dict[str, Any]:
        """The JSON record of this visit: what goes into a result's evidence."""
        return {
            "page": self.page,
            "url": self.url,
            "visitor": "fresh, Global Privacy Control on" if self.gpc else "fresh",
            "error": self.error,
            "status": self.status,
            "final_url": self.final_url,
            "elapsed_s": self.elapsed,
            "still_loading": self.still_loading,
            "requests_truncated": self.truncated,
            "requests": [r.to_dict() for r in self.requests],
            "cookies": [c.to_dict() for c in self.cookies],
            "storage": [s.to_dict() for s in self.storage],
            "scripts": [s.to_dict() for s in self.scripts],
            "frames": [
                {"url": _short(u), "parent": _short(p or "") or None} for u, p in self.frames
            ],
            "forms": [f.to_dict() for f in self.forms],
            "security_headers": dict(self.headers),
            "screenshot": self.screenshot,
            "screenshot_sha256": self.screenshot_sha256,
            "certificate_not_verified": self.unverified,
        }


@dataclass(frozen=True)
class PageVisits:
    name: str
    url: str
    payment: bool
    plain: Visit
    gpc: Visit | None  # None when the first visit failed: one cause, one error
    previous: Mapping[str, Any] | None = None  # the last recorded snapshot (payment pages)
    previous_scan: str | None = None  # when that snapshot was recorded


@dataclass(frozen=True)
class BrowserFacts:
    url: str
    pages: tuple[PageVisits, ...] = ()
    unavailable: str | None = None  # no browser: why (the checks skip, saying how to fix it)
    failed: str | None = None  # the browser would not start: one error, the other checks skip
    browser: str = ""  # the Chromium version that made the visits
    sandbox: str = ""  # "on", or "off: why" (Chromium's renderer sandbox)
    filter_list: str = ""  # EasyPrivacy snapshot version
    serves_eea: bool = False
    serves_california: bool = True
    history: str | None = None  # set when no history database could be read: why
    evidence_dir: str | None = None


def _short(url: str | None, limit: int = 300) -> str:
    """URLs in evidence: no query string values (they carry identifiers), bounded length."""
    if not url:
        return ""
    parts = urlsplit(url)
    if parts.scheme in ("http", "https", "ws", "wss") and parts.query:
        names = [p.split("=", 1)[0] for p in parts.query.split("&")][:20]
        url = urlunsplit(parts._replace(query="&".join(f"{n}=…" for n in names), fragment=""))
    return url if len(url) <= limit else url[: limit - 1] + "…"


def _payment_pages(target: Target, names: list[str], ctx: CollectContext) -> set[str]:
    wanted = {str(n).lower() for n in ctx.policy.get("web.payment_page_names", [])}
    wanted |= {str(n).lower() for n in target.options.get("payment_pages") or []}
    return {n for n in names if n.lower() in wanted}


def _visit(page: str, raw: Mapping[str, Any], evidence_dir: str | None) -> Visit:
    url = str(raw.get("url", ""))
    if raw.get("error"):
        return Visit(
            page,
            url,
            bool(raw.get("gpc")),
            error=str(raw["error"]),
            elapsed=raw.get("elapsed", 0.0),
        )
    page_url = str(raw.get("final_url") or url)
    initiators: Mapping[str, str] = raw.get("initiators") or {}
    requests = []
    for r in raw.get("requests") or []:
        match = trackers.classify(r["url"], page_url, r["type"])
        requests.append(
            RequestSeen(
                url=r["url"],
                type=r["type"],
                frame=r.get("frame") or None,
                initiator=initiators.get(r["url"]),
                third_party=trackers.is_third_party(r["url"], page_url),
                tracker=match.category if match else None,
                tracker_source=match.source if match else None,
            )
        )
    own_site = trackers.site(urlsplit(page_url).hostname or "")
    cookies = []
    for c in raw.get("cookies") or []:
        domain = str(c.get("domain") or "").lstrip(".")
        third = trackers.site(domain) != own_site
        category = trackers.host_category(domain)
        if category is None and trackers.tracking_cookie(str(c.get("name", ""))):
            category = "tracking cookie"
        expires = c.get("expires")
        cookies.append(
            CookieSeen(
                name=str(c.get("name", "")),
                domain=str(c.get("domain") or ""),
                path=str(c.get("path") or "/"),
                expires=float(expires)
                if isinstance(expires, (int, float)) and expires > 0
                else None,
                http_only=bool(c.get("httpOnly")),
                secure=bool(c.get("secure")),
                same_site=str(c.get("sameSite") or ""),
                third_party=third,
                tracker=category,
            )
        )
    storage: list[StorageSeen] = []
    forms: list[FormSeen] = []
    sri: dict[str, str | None] = {}
    for dom in raw.get("dom") or []:
        origin = str(dom.get("origin", ""))
        tracking_origin = trackers.host_category(urlsplit(origin).hostname or "") is not None
        for kind, keys in (
            ("localStorage", dom.get("local")),
            ("sessionStorage", dom.get("session")),
        ):
            storage += [
                StorageSeen(
                    origin, kind, str(k), tracking_origin or trackers.tracking_cookie(str(k))
                )
                for k in keys or []
            ]
        for f in dom.get("forms") or []:
            forms.append(
                FormSeen(
                    frame=str(dom.get("url", "")),
                    action=str(f.get("action") or dom.get("url", "")),
                    method=str(f.get("method") or "get"),
                    card_fields=tuple(str(x) for x in f.get("card_fields") or []),
                    login=bool(f.get("login")),
                )
            )
        for src, integrity in dom.get("sri") or []:
            sri.setdefault(str(src), integrity)
    frame_urls: Mapping[str, str] = raw.get("frames_tree") or {}
    scripts = []
    for s in raw.get("scripts") or []:
        frame = frame_urls.get(str(s.get("frame_id")), page_url) or page_url
        src = str(s.get("url") or "")
        if src and src.split("#")[0] != frame.split("#")[0] and src.startswith(("http:", "https:")):
            ident, external = src, src
        elif src:
            ident, external = (
                f"inline {src.split('#')[0]} line {s['line'] + 1} col {s['column'] + 1}",
                None,
            )
        else:
            ident, external = "dynamic", None
        scripts.append(
            ScriptSeen(
                ident=ident,
                url=external,
                sha256=str(s["sha256"]),
                size=int(s.get("size", 0)),
                frame=frame,
                integrity=sri.get(external) if external else None,
                third_party=trackers.is_third_party(external, page_url) if external else False,
            )
        )
    shot = raw.get("screenshot")
    if shot and evidence_dir:
        shot = str(Path(shot).relative_to(evidence_dir))
    return Visit(
        page=page,
        url=url,
        gpc=bool(raw.get("gpc")),
        status=raw.get("status"),
        final_url=raw.get("final_url"),
        requests=tuple(requests),
        cookies=tuple(cookies),
        storage=tuple(dict.fromkeys(storage)),
        scripts=tuple(scripts),
        frames=tuple((str(f["url"]), f.get("parent")) for f in raw.get("frames") or []),
        forms=tuple(forms),
        headers=dict(raw.get("headers") or {}),
        screenshot=shot,
        screenshot_sha256=raw.get("screenshot_sha256"),
        elapsed=float(raw.get("elapsed", 0.0)),
        still_loading=bool(raw.get("still_loading")),
        truncated=bool(raw.get("requests_truncated")),
    )


def snapshot(visit: Visit) -> dict[str, Any]:
    """What PAY-PAGE-CHANGED compares between scans: script -> SHA-256, and security headers."""
    scripts: dict[str, str] = {}
    for s in visit.scripts:
        if urlsplit(s.frame).netloc == urlsplit(visit.final_url or visit.url).netloc:
            key, n = s.key, 1
            while key in scripts:  # the same script loaded twice (two queries): keep both
                n += 1
                key = f"{s.key} #{n}"
            scripts[key] = s.sha256
    return {"scripts": scripts, "headers": dict(visit.headers)}


def _previous(db: str, target: str, urls: list[str]) -> dict[str, tuple[Mapping[str, Any], str]]:
    """The snapshot the last recorded scan stored for each payment page URL."""
    from sqlalchemy import select

    from posture.history import History
    from posture.history.schema import results, scans

    found: dict[str, tuple[Mapping[str, Any], str]] = {}
    history = History.open(db)
    try:
        query = (
            select(results.c.data, results.c.resource, scans.c.started_at)
            .join(scans, scans.c.id == results.c.scan_id)
            .where(results.c.check_id == CHANGED_CHECK, results.c.target == target)
            .order_by(scans.c.started_at.desc(), scans.c.id.desc())
            .limit(500)
        )
        with history.engine.connect() as conn:
            for row in conn.execute(query):
                snap = (row.data or {}).get("evidence", {}).get("snapshot")
                if row.resource in urls and row.resource not in found and isinstance(snap, dict):
                    found[row.resource] = (snap, str(row.started_at))
    finally:
        history.engine.dispose()
    return found


def _shot_path(evidence_dir: str | None, target: str, page: str, gpc: bool) -> str | None:
    if not evidence_dir:
        return None
    host = re.sub(r"[^A-Za-z0-9.-]", "_", urlsplit(target).netloc)[:60]
    digest = hashlib.sha256(target.encode()).hexdigest()[:8]
    name = re.sub(r"[^A-Za-z0-9_-]", "_", page)[:40]
    return str(
        Path(evidence_dir) / "screenshots" / f"{host}-{digest}-{name}{'-gpc' if gpc else ''}.png"
    )


@collector(name="browser", target=TargetKind.STOREFRONT)
def collect_browser(target: Target, ctx: CollectContext) -> BrowserFacts:
    from posture.checks.collectors.chromium import Chromium, find_browser

    options = ctx.options
    eea = bool(target.options.get("serves_eea", False))
    california = bool(target.options.get("serves_california", True))
    executable, why = find_browser(options.browser)
    if executable is None:
        return BrowserFacts(
            target.name, unavailable=why, serves_eea=eea, serves_california=california
        )
    trackers.preload()
    from posture.checks.collectors.chromium import resolver_rules

    def start() -> Chromium | CollectError:
        try:
            return Chromium(executable, options)
        except CollectError as exc:  # remembered: the next storefront does not try again
            return exc

    key = f"chromium:{executable}:{resolver_rules(options)}:{options.ca_bundle}"
    browser = ctx.resources.get(key, start)
    if isinstance(browser, CollectError):
        return BrowserFacts(
            target.name, failed=str(browser), serves_eea=eea, serves_california=california
        )
    urls = page_urls(target)
    payment = _payment_pages(target, [n for n, _ in urls], ctx)
    evidence_dir = str(Path(options.evidence_dir).resolve()) if options.evidence_dir else None
    raw = browser.pages(
        [
            (
                url,
                _shot_path(evidence_dir, target.name, name, False),
                _shot_path(evidence_dir, target.name, name, True),
            )
            for name, url in urls
        ]
    )
    plain: dict[str, Visit] = {}
    gpc: dict[str, Visit] = {}
    for (name, _), got in zip(urls, raw, strict=True):
        plain[name] = replace(
            _visit(name, got["plain"], evidence_dir), unverified=got["unverified"]
        )
        if got["gpc"] is not None:
            gpc[name] = _visit(name, got["gpc"], evidence_dir)
    history_note: str | None = None
    previous: dict[str, tuple[Mapping[str, Any], str]] = {}
    pay_urls = [u for n, u in urls if n in payment]
    if pay_urls:
        if options.history_db:
            try:
                previous = _previous(options.history_db, target.name, pay_urls)
            except Exception as exc:  # noqa: BLE001 - the comparison is skipped, saying why
                history_note = f"history database could not be read: {exc}"
        else:
            history_note = "no history database in this scan (posture scan records one by default)"
    pages = tuple(
        PageVisits(
            name,
            url,
            name in payment,
            plain[name],
            gpc.get(name),
            previous.get(url, (None, None))[0],
            previous.get(url, (None, None))[1],
        )
        for name, url in urls
    )
    return BrowserFacts(
        target.name,
        pages,
        browser=f"Chromium {browser.version} ({os.path.basename(browser.executable)})",
        sandbox=browser.sandbox,
        filter_list=f"EasyPrivacy {trackers.easyprivacy_version()}",
        serves_eea=eea,
        serves_california=california,
        history=history_note,
        evidence_dir=evidence_dir,
    )


__all__ = ["BrowserFacts", "PageVisits", "Visit", "collect_browser", "snapshot"]
