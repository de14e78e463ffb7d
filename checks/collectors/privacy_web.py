"""What a static fetch can see of a shop's privacy practice: the privacy policy's text, the
homepage's opt-out link, and the Global Privacy Control well-known resource."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin

from posture.checks.collectors.http_client import HttpClient
from posture.errors import CollectError
from posture.model import Target, TargetKind
from posture.plugin import CollectContext, collector


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = _Text()
    try:
        parser.feed(html)
    except Exception:  # noqa: BLE001, S110 - a broken page still yields what was read
        pass
    return " ".join(" ".join(parser.parts).split())


@dataclass(frozen=True)
class Page:
    url: str
    text: str | None
    error: str | None = None
    status: int | None = None


@dataclass(frozen=True)
class PrivacyWebFacts:
    policy: Page | None
    homepages: tuple[Page, ...] = ()
    gpc: tuple[Page, ...] = ()
    storefronts: tuple[str, ...] = field(default_factory=tuple)


def _get(client: HttpClient, url: str, max_bytes: int) -> Page:
    try:
        response = client.fetch(url, max_bytes=max_bytes)
    except CollectError as exc:
        return Page(url, None, str(exc))
    body = response.text
    text = visible_text(body) if "html" in response.headers.get("content-type", "html") else body
    return Page(
        response.url,
        text,
        None if response.status < 400 else f"HTTP {response.status}",
        response.status,
    )


@collector(name="privacy_web", target=TargetKind.CONTROLS)
def collect_privacy_web(target: Target, ctx: CollectContext) -> PrivacyWebFacts:
    if ctx.config is None:
        raise CollectError("controls are declared in posture.yaml: give -c posture.yaml")
    privacy = ctx.config.controls.privacy
    shops = [s.url for s in ctx.config.storefronts]
    with HttpClient(ctx.options) as client:
        policy = (
            _get(client, privacy.policy_url, 1_000_000) if privacy and privacy.policy_url else None
        )
        homes = tuple(_get(client, url, 1_000_000) for url in shops)
        gpc = tuple(_get(client, urljoin(url, "/.well-known/gpc.json"), 65_536) for url in shops)
    return PrivacyWebFacts(policy, homes, gpc, tuple(shops))
