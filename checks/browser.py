"""What the customer's browser sees: trackers before consent, the opt-out signal honoured or not,
every script on the payment pages with its authorisation and integrity, changes to those pages
since the last scan, and forms that send card or login data away. Pure checks over BrowserFacts
(checks/collectors/browser.py); nothing here touches the browser."""

from __future__ import annotations

import base64
import binascii
import functools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

from posture.checks.collectors.browser import (
    BrowserFacts,
    PageVisits,
    ScriptSeen,
    Visit,
    collect_browser,
    snapshot,
)
from posture.checks.collectors.trackers import is_third_party
from posture.hostnames import within
from posture.model import Area, EvidenceSource, Severity, TargetKind
from posture.plugin import SCAN_WARNING, CheckContext, Outcome, check

__all__ = ["collect_browser"]

PCI_643 = "https://docs-prv.pcisecuritystandards.org/PCI%20DSS/Standard/PCI-DSS-v4_0_1.pdf"
GPC_SPEC = "https://privacycg.github.io/gpc-spec/"


def _not_run(facts: BrowserFacts) -> Iterator[Outcome]:
    if facts.unavailable:
        yield Outcome.skip(f"browser checks not run: {facts.unavailable}", key="browser")
    elif facts.failed:
        yield Outcome.skip(
            f"browser checks not run: the browser did not start (see WEB-BROWSER-VISIT): "
            f"{facts.failed}",
            key="browser",
        )


def _visited(pages: Sequence[PageVisits]) -> Iterator[tuple[PageVisits, Visit]]:
    for page in pages:
        if page.plain.error is None:
            yield page, page.plain


def _unvisited(pages: Sequence[PageVisits]) -> Iterator[Outcome]:
    for page in pages:
        if page.plain.error is not None:
            yield Outcome.skip(
                f"page {page.name} was not visited: {page.plain.error} (see WEB-BROWSER-VISIT)",
                resource=page.url,
                key=page.name,
            )


def _noting_unverified(
    func: Callable[[BrowserFacts, CheckContext], Iterator[Outcome]],
) -> Callable[[BrowserFacts, CheckContext], Iterator[Outcome]]:
    """Results about a page read past a failing certificate say so in their evidence."""

    @functools.wraps(func)
    def wrapper(facts: BrowserFacts, ctx: CheckContext) -> Iterator[Outcome]:
        unverified = {p.url: p.plain.unverified for p in facts.pages if p.plain.unverified}
        for outcome in func(facts, ctx):
            why = unverified.get(outcome.resource or "") or (
                next(iter(unverified.values())) if unverified and outcome.resource is None else None
            )
            if why:
                outcome = replace(
                    outcome, evidence={**outcome.evidence, "certificate_not_verified": why}
                )
            yield outcome

    return wrapper


def _browser_ran(
    func: Callable[[BrowserFacts, CheckContext], Iterator[Outcome]],
) -> Callable[[BrowserFacts, CheckContext], Iterator[Outcome]]:
    """A check of what the browser saw: skipped, saying why, when it did not run or start
    (WEB-BROWSER-VISIT reports that); its results note pages read past a failing certificate."""
    noting = _noting_unverified(func)

    @functools.wraps(func)
    def wrapper(facts: BrowserFacts, ctx: CheckContext) -> Iterator[Outcome]:
        if facts.unavailable or facts.failed:
            yield from _not_run(facts)
            return
        yield from noting(facts, ctx)

    return wrapper


def _browser_evidence(facts: BrowserFacts, **extra: Any) -> dict[str, Any]:
    evidence = {
        "source": "browser",
        "browser": facts.browser,
        "sandbox": facts.sandbox,
        "filter_list": facts.filter_list,
        **extra,
    }
    if facts.sandbox.startswith("off"):  # said in the summary too, not only here
        evidence[SCAN_WARNING] = (
            "browser: Chromium visited the storefront pages without its sandbox: "
            f"{facts.sandbox.removeprefix('off: ')}. Treat the URLs in posture.yaml as code this "
            "scan ran"
        )
    return evidence


@check(
    id="WEB-BROWSER-VISIT",
    title="Storefront pages as a customer's browser sees them",
    area=Area.WEB,
    severity=Severity.INFO,
    target=TargetKind.STOREFRONT,
    facts="browser",
    description="A record, not a finding: each page visited in Chromium as a fresh visitor and as a "
    "fresh visitor sending Global Privacy Control, with every request, cookie, storage key, script "
    "(SHA-256), frame, form, security header and a screenshot. A page that could not be visited "
    "gives one error here; the other browser checks skip it. Also reports WEB-THIRD-PARTY-INVENTORY "
    "from what the browser loaded (source: browser).",
    remediation="Make the page reachable to the scanner; see the error.",
)
@_noting_unverified
def browser_visit(facts: BrowserFacts, ctx: CheckContext) -> Iterator[Outcome]:
    if facts.failed:
        yield Outcome.error(f"the browser did not start: {facts.failed}", key="browser")
        return
    if facts.unavailable or facts.failed:
        yield from _not_run(facts)
        return
    origins: dict[str, dict[str, set[str]]] = {}
    for page in facts.pages:
        if page.plain.error is not None:
            yield Outcome.error(
                f"page {page.name} could not be visited: {page.plain.error}",
                resource=page.url,
                key=page.name,
                evidence=_browser_evidence(facts, visit=page.plain.to_record()),
            )
            continue
        visits = [page.plain.to_record()] + ([page.gpc.to_record()] if page.gpc else [])
        shots = [v.screenshot for v in (page.plain, page.gpc) if v and v.screenshot]
        message = (
            f"page {page.name}: {len(page.plain.requests)} requests, {len(page.plain.scripts)} "
            f"scripts, {len(page.plain.cookies)} cookies in {page.plain.elapsed:.1f} s"
        )
        if page.gpc and page.gpc.error:
            message += f"; the visit with Global Privacy Control failed: {page.gpc.error}"
        yield Outcome.passed(
            message,
            resource=page.url,
            key=page.name,
            evidence=_browser_evidence(
                facts,
                page=page.name,
                payment_page=page.payment,
                visits=visits,
                screenshots=shots,
                evidence_dir=facts.evidence_dir,
            ),
        )
        for request in page.plain.requests:
            if request.third_party:
                parts = urlsplit(request.url)
                origin = f"{parts.scheme}://{parts.netloc}"
                slot = origins.setdefault(
                    origin, {"pages": set(), "kinds": set(), "trackers": set()}
                )
                slot["pages"].add(page.url)
                slot["kinds"].add(request.type)
                if request.tracker:
                    slot["trackers"].add(request.tracker)
    if any(p.plain.error is None for p in facts.pages):
        inventory = [
            {
                "origin": origin,
                "pages": sorted(v["pages"]),
                "kinds": sorted(v["kinds"]),
                "tracker": sorted(v["trackers"]) or None,
            }
            for origin, v in sorted(origins.items())
        ]
        yield Outcome.passed(
            f"{len(inventory)} third-party origins loaded in the browser",
            check_id="WEB-THIRD-PARTY-INVENTORY",
            title="Third-party origins the storefront loads",
            area=Area.VENDOR,
            severity=Severity.INFO,
            key="browser",
            evidence=_browser_evidence(facts, origins=inventory),
        )


def _tracking(visit: Visit) -> dict[str, list[dict[str, Any]]]:
    """Trackers a visit loaded and the tracking cookies and tracker storage it left."""
    tracker_origins = {
        f"{urlsplit(r.url).scheme}://{urlsplit(r.url).netloc}" for r in visit.trackers
    }
    return {
        "requests": [r.to_dict() for r in visit.trackers][:50],
        "cookies": [c.to_dict() for c in visit.tracking_cookies][:50],
        "storage": [s.to_dict() for s in visit.storage if s.tracker or s.origin in tracker_origins][
            :50
        ],
    }


@check(
    id="PRIV-TRACKING-BEFORE-CONSENT",
    title="Trackers, tracking cookies or storage before any consent",
    area=Area.PRIVACY,
    severity=Severity.HIGH,
    target=TargetKind.STOREFRONT,
    facts="browser",
    description="A fresh visitor who has not clicked anything has not consented: tracking requests, "
    "non-essential cookies or storage at that point need consent first (GDPR Art. 6(1)(a) and 7 with "
    "ePrivacy Art. 5(3)). Judged only on storefronts declared to serve the EEA (serves_eea); trackers "
    "are recognised by EasyPrivacy and policies/trackers/hosts.yaml. posture never clicks a banner.",
    remediation="Load analytics and advertising tags only after the visitor opts in (a consent "
    "manager that blocks tags by default), and set no tracking cookie before that.",
    references=[
        "https://edpb.europa.eu/our-work-tools/our-documents/guidelines/guidelines-052020-consent-under-regulation-2016679_en"
    ],
)
@_browser_ran
def tracking_before_consent(facts: BrowserFacts, ctx: CheckContext) -> Iterator[Outcome]:
    if not facts.serves_eea:
        yield Outcome.skip(
            "storefront not declared to serve the EEA (storefronts[].serves_eea): consent before "
            "tracking not judged",
            key="scope",
        )
        return
    yield from _unvisited(facts.pages)
    for page, visit in _visited(facts.pages):
        seen = _tracking(visit)
        if any(seen.values()):
            hosts = sorted({urlsplit(r["url"]).hostname or "" for r in seen["requests"]})
            names = sorted({c["name"] for c in seen["cookies"]})
            parts = []
            if hosts:
                parts.append(f"trackers {', '.join(hosts[:8])}")
            if names:
                parts.append(f"cookies {', '.join(names[:8])}")
            if seen["storage"]:
                parts.append(f"{len(seen['storage'])} storage keys of trackers")
            yield Outcome.fail(
                f"page {page.name} loads {'; '.join(parts)} before any consent",
                resource=page.url,
                key=page.name,
                evidence=_browser_evidence(facts, **seen, screenshot=visit.screenshot),
            )
        else:
            yield Outcome.passed(
                f"page {page.name}: no tracking before consent (observed)",
                resource=page.url,
                key=page.name,
                evidence=_browser_evidence(facts, screenshot=visit.screenshot),
            )


def _selling(visit: Visit) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Third-party trackers and third-party tracking cookies: sale or sharing under the CCPA."""
    requests = [r.to_dict() for r in visit.trackers if r.third_party]
    cookies = [c.to_dict() for c in visit.tracking_cookies if c.third_party]
    return requests[:50], cookies[:50]


@check(
    id="PRIV-GPC-IGNORED",
    title="Global Privacy Control ignored: trackers still load with the opt-out signal",
    area=Area.PRIVACY,
    severity=Severity.HIGH,
    target=TargetKind.STOREFRONT,
    facts="browser",
    description="A visitor sending Global Privacy Control (Sec-GPC: 1, navigator.globalPrivacyControl) "
    "has opted out of sale and sharing (CCPA 1798.135, regs 7025 and 7026): third-party advertising "
    "and tracking must not load or set cookies. When they stop with the signal the result says the "
    "signal was honoured, as observed. Analytics or other tracking from a vendor declared with "
    "service_provider_contract: true is not sale or sharing: that pass rests on the declaration "
    "(declared, not verified); advertising and data-broker hosts fail whatever the contract (a "
    "service provider may not do cross-context behavioural advertising, reg 7050(b)).",
    remediation="Read Sec-GPC (server) or navigator.globalPrivacyControl (tag manager) and keep "
    "sale/sharing tags off for that visitor.",
    references=[GPC_SPEC],
)
@_browser_ran
def gpc_ignored(facts: BrowserFacts, ctx: CheckContext) -> Iterator[Outcome]:
    if not facts.serves_california:
        yield Outcome.skip(
            "storefront declared not to serve California (serves_california)", key="scope"
        )
        return
    providers = _service_provider_domains(ctx)
    yield from _unvisited(facts.pages)
    for page, visit in _visited(facts.pages):
        if page.gpc is None or page.gpc.error:
            why = page.gpc.error if page.gpc else "not made"
            yield Outcome.error(
                f"page {page.name}: the visit with Global Privacy Control failed: {why}",
                resource=page.url,
                key=page.name,
            )
            continue
        without, _ = _selling(visit)
        with_requests, with_cookies = _selling(page.gpc)
        contracted = [r for r in with_requests if _service_provider(r, providers)]
        with_requests = [r for r in with_requests if r not in contracted]
        contracted_cookies = [c for c in with_cookies if _service_provider(c, providers)]
        with_cookies = [c for c in with_cookies if c not in contracted_cookies]
        evidence = _browser_evidence(
            facts,
            without_signal=without,
            with_signal=with_requests,
            cookies_with_signal=with_cookies,
            service_providers_with_signal=contracted + contracted_cookies,
            screenshot=page.gpc.screenshot,
        )
        kw: dict[str, Any] = {"resource": page.url, "key": page.name, "evidence": evidence}
        if with_requests or with_cookies:
            hosts = sorted({urlsplit(r["url"]).hostname or "" for r in with_requests})
            hosts += sorted({c["domain"] for c in with_cookies} - set(hosts))
            yield Outcome.fail(
                f"page {page.name} still loads {', '.join(hosts[:8])} with Global Privacy Control on",
                **kw,
            )
        elif contracted or contracted_cookies:
            hosts = sorted({urlsplit(r["url"]).hostname or "" for r in contracted})
            hosts += sorted({c["domain"] for c in contracted_cookies} - set(hosts))
            yield Outcome.passed(
                f"page {page.name}: with the signal on only {', '.join(hosts[:8])} still load, "
                "declared service providers (controls.vendors: service_provider_contract): not "
                "sale or sharing if their contracts hold",
                source=EvidenceSource.DECLARED,
                **kw,
            )
        elif without:
            yield Outcome.passed(
                f"page {page.name}: signal honoured, observed ({len(without)} tracker requests "
                "without the signal, none with it)",
                **kw,
            )
        else:
            yield Outcome.passed(
                f"page {page.name}: no sale or sharing trackers with or without the signal", **kw
            )


# Never a service provider's business purpose: cross-context behavioural advertising (CCPA regs
# 7050(b)) and selling to data brokers. Analytics and other tracking can be, under contract.
_ALWAYS_SALE_OR_SHARING = ("advertising", "data-broker")


def _service_provider_domains(ctx: CheckContext) -> tuple[str, ...]:
    vendors = ctx.config.controls.vendors if ctx.config else []
    return tuple(
        d.lower().strip(".") for v in vendors if v.service_provider_contract for d in v.domains
    )


def _service_provider(item: dict[str, Any], providers: tuple[str, ...]) -> bool:
    """A tracker request or cookie from a declared service provider's domain, and not of a
    kind a service provider may not do."""
    if item.get("tracker") in _ALWAYS_SALE_OR_SHARING:
        return False
    host = (urlsplit(item["url"]).hostname if "url" in item else item.get("domain")) or ""
    return within(host, providers)


def _hex(value: str) -> str:
    """A pinned SHA-256 as hex: accepts hex, base64 and SRI's ``sha256-...``."""
    value = value.strip().removeprefix("sha256-")
    if len(value) == 64 and all(c in "0123456789abcdefABCDEF" for c in value):
        return value.lower()
    try:
        return base64.b64decode(value, validate=True).hex()
    except (binascii.Error, ValueError):
        return value.lower()


def _strip(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def _authorisations(ctx: CheckContext) -> list[Any]:
    payments = ctx.config.controls.payments if ctx.config else None
    return list(payments.authorised_scripts) if payments else []


def _matches(source: str, url: str | None, first_party: bool) -> bool:
    source = source.strip()
    if source == "inline":
        return url is None
    if source == "first-party":
        return first_party
    if url is None:
        return False
    if source.endswith("*"):
        return url.startswith(source[:-1])
    return url == source if "?" in source else _strip(url) == _strip(source)


def _judge(script: ScriptSeen, page_url: str, entries: list[Any]) -> dict[str, Any]:
    first_party = not script.third_party and (script.url is not None or script.ident != "dynamic")
    matching = [e for e in entries if _matches(e.source, script.url, first_party)]
    pinned = [e for e in matching if e.sha256]
    hash_ok = any(_hex(e.sha256) == script.sha256 for e in pinned)
    authorised = bool(matching) and (hash_ok or not pinned)
    entry = next((e for e in matching if not e.sha256 or _hex(e.sha256) == script.sha256), None)
    if script.integrity:
        assured = "SRI"
    elif hash_ok:
        assured = "pinned hash"
    elif first_party:
        assured = "first-party"
    else:
        assured = None
    return {
        **script.to_dict(),
        "authorised": authorised,
        "owner": entry.owner if entry else None,
        "justification": entry.justification if entry else None,
        "integrity_assured_by": assured,
        "pinned_hash_mismatch": bool(pinned) and not hash_ok,
    }


def _payment_pages(facts: BrowserFacts) -> list[PageVisits]:
    return [p for p in facts.pages if p.payment]


def _same_origin(url: str, page_url: str) -> bool:
    return urlsplit(url).netloc == urlsplit(page_url).netloc


@check(
    id="PAY-PAGE-SCRIPTS",
    title="Script on a payment page not authorised or its integrity not assured",
    area=Area.PAYMENT,
    severity=Severity.HIGH,
    target=TargetKind.STOREFRONT,
    facts="browser",
    description="PCI DSS 6.4.3: every script executed in the customer's browser on a payment page is "
    "inventoried, authorised (controls.payments.authorised_scripts: source, owner, justification) and "
    "its integrity assured (Subresource Integrity, a first-party script, or a pinned sha256). Scripts "
    "are what Chromium actually executed, including those a tag manager injects; third-party iframes on "
    "the page (a processor's payment frame) must be authorised too.",
    remediation="Remove the script from the payment page, or authorise it in posture.yaml "
    "(controls.payments.authorised_scripts) with an owner and justification, and add SRI or pin its hash.",
    references=[PCI_643],
)
@_browser_ran
def payment_page_scripts(facts: BrowserFacts, ctx: CheckContext) -> Iterator[Outcome]:
    pages = _payment_pages(facts)
    if not pages:
        yield Outcome.skip(
            "no payment page declared (storefronts[].payment_pages, or a page named as in policy "
            "web.payment_page_names)",
            key="scope",
        )
        return
    entries = _authorisations(ctx)
    yield from _unvisited(pages)
    for page, visit in _visited(pages):
        page_url = visit.final_url or visit.url
        judged = [
            _judge(s, page_url, entries) for s in visit.scripts if _same_origin(s.frame, page_url)
        ]
        frames = []
        for url, _parent in visit.frames[1:]:
            if url.startswith(("http:", "https:")) and is_third_party(url, page_url):
                ok = any(_matches(e.source, url, False) for e in entries)
                frames.append({"frame": url, "authorised": ok})
        for item in judged:
            problems = []
            if not item["authorised"]:
                problems.append(
                    "its pinned hash does not match"
                    if item["pinned_hash_mismatch"]
                    else "not authorised"
                )
            if item["integrity_assured_by"] is None:
                problems.append("integrity not assured (no SRI, not first-party, no pinned hash)")
            if problems:
                yield Outcome.fail(
                    f"{item['script']} on payment page {page.name}: {'; '.join(problems)}",
                    resource=page.url,
                    key=f"{page.name}:{item['script']}",
                    evidence=_browser_evidence(facts, script=item),
                )
        for frame in frames:
            if not frame["authorised"]:
                yield Outcome.fail(
                    f"third-party frame {frame['frame']} on payment page {page.name} is not authorised",
                    resource=page.url,
                    key=f"{page.name}:frame:{urlsplit(frame['frame']).netloc}",
                    evidence=_browser_evidence(facts, frame=frame),
                    severity=Severity.MEDIUM,
                )
        yield Outcome.passed(
            f"payment page {page.name}: {len(judged)} scripts inventoried, "
            f"{sum(1 for j in judged if j['authorised'] and j['integrity_assured_by'])} authorised "
            "with integrity assured",
            resource=page.url,
            key=f"{page.name}:inventory",
            evidence=_browser_evidence(facts, scripts=judged, frames=frames),
        )


def _differences(before: dict[str, Any], now: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    old, new = before.get("scripts") or {}, now.get("scripts") or {}
    for name in sorted(set(new) - set(old)):
        out.append({"kind": "script added", "name": name, "sha256": new[name]})
    for name in sorted(set(old) - set(new)):
        out.append({"kind": "script removed", "name": name, "sha256": old[name]})
    for name in sorted(set(old) & set(new)):
        if old[name] != new[name]:
            out.append({"kind": "script changed", "name": name, "was": old[name], "now": new[name]})
    old_h, new_h = before.get("headers") or {}, now.get("headers") or {}
    for name in sorted(set(old_h) | set(new_h)):
        if old_h.get(name) != new_h.get(name):
            kind = (
                "header added"
                if name not in old_h
                else "header removed"
                if name not in new_h
                else "header changed"
            )
            out.append({"kind": kind, "name": name, "was": old_h.get(name), "now": new_h.get(name)})
    return out


@check(
    id="PAY-PAGE-CHANGED",
    title="Payment page scripts or security headers changed since the last scan",
    area=Area.PAYMENT,
    severity=Severity.HIGH,
    target=TargetKind.STOREFRONT,
    facts="browser",
    description="PCI DSS 11.6.1: unauthorised changes to the scripts and security headers of payment "
    "pages, as received by the browser, are detected. The first scan of a page records what it saw; "
    "each later scan compares with the last recorded scan of that page in the history database and "
    "names every script added, removed or changed (SHA-256) and every security header changed.",
    remediation="Confirm each change was authorised (and update authorised_scripts); if not, treat it "
    "as a possible skimming attack: follow the incident response plan.",
    references=[PCI_643],
)
@_browser_ran
def payment_page_changed(facts: BrowserFacts, ctx: CheckContext) -> Iterator[Outcome]:
    pages = _payment_pages(facts)
    if not pages:
        yield Outcome.skip("no payment page declared: nothing to compare", key="scope")
        return
    yield from _unvisited(pages)
    for page, visit in _visited(pages):
        now = snapshot(visit)
        evidence = _browser_evidence(facts, snapshot=now)
        if page.previous is None:
            # a first scan shows nothing about changes: recorded, not evidence (PCI 11.6.1)
            note = facts.history or "first recorded scan of this page, nothing to compare yet"
            outcome = Outcome.skip
            yield outcome(
                f"payment page {page.name}: {note}; {len(now['scripts'])} scripts and "
                f"{len(now['headers'])} security headers recorded for the next comparison",
                resource=page.url,
                key=page.name,
                evidence=evidence,
            )
            continue
        changes = _differences(dict(page.previous), now)
        evidence["previous_scan"] = page.previous_scan
        if changes:
            named = "; ".join(f"{c['kind']}: {c['name']}" for c in changes[:10])
            more = f" (and {len(changes) - 10} more)" if len(changes) > 10 else ""
            yield Outcome.fail(
                f"payment page {page.name} changed since the scan of {page.previous_scan}: {named}{more}",
                resource=page.url,
                key=page.name,
                evidence={**evidence, "differences": changes},
            )
        else:
            yield Outcome.passed(
                f"payment page {page.name}: scripts and security headers as in the scan of "
                f"{page.previous_scan}",
                resource=page.url,
                key=page.name,
                evidence=evidence,
            )


@check(
    id="WEB-FORM-DESTINATION",
    title="Form sends card or login data to a third party or over plain HTTP",
    area=Area.WEB,
    severity=Severity.HIGH,
    target=TargetKind.STOREFRONT,
    facts="browser",
    description="A form on the shop's own pages with card fields or a password field must post over "
    "HTTPS to the shop itself (or to an authorised processor in controls.payments.authorised_scripts). "
    "Forms inside a processor's own iframe are the processor's and are not judged.",
    remediation="Post the form over HTTPS to the shop, or use the processor's hosted fields or iframe.",
)
@_browser_ran
def form_destination(facts: BrowserFacts, ctx: CheckContext) -> Iterator[Outcome]:
    entries = _authorisations(ctx)
    yield from _unvisited(facts.pages)
    for page, visit in _visited(facts.pages):
        page_url = visit.final_url or visit.url
        judged = 0
        for form in visit.forms:
            if is_third_party(form.frame, page_url) or not (form.card_fields or form.login):
                continue
            judged += 1
            what = "card" if form.card_fields else "login"
            problems = []
            if urlsplit(form.action).scheme == "http":
                problems.append("over plain HTTP")
            if is_third_party(form.action, page_url) and not any(
                _matches(e.source, form.action, False) for e in entries
            ):
                problems.append(f"to the third party {urlsplit(form.action).hostname}")
            if problems:
                yield Outcome.fail(
                    f"page {page.name}: a {what} form posts {' and '.join(problems)}",
                    resource=page.url,
                    key=f"{page.name}:{form.action}",
                    evidence=_browser_evidence(facts, form=form.to_dict()),
                )
