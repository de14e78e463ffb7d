"""Which requests are trackers, and which party serves them.

Two sources, both shipped data and never fetched at run time: EasyPrivacy (policies/trackers/
easyprivacy.txt, matched by adblock-rust through ``braveblock``) and our list of advertising,
analytics and data-broker hosts (policies/trackers/hosts.yaml). First or third party is decided by
registrable domain from the Public Suffix List snapshot bundled with ``tldextract``.
"""

from __future__ import annotations

import fnmatch
import functools
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from posture._yaml import load_yaml_text
from posture.checks.collectors.memory import return_freed_memory
from posture.hostnames import within
from posture.policy import read_policy_text

_LOCK = threading.Lock()
# Playwright's resource types -> adblock request types.
_REQUEST_TYPES = {
    "document": "document",
    "stylesheet": "stylesheet",
    "image": "image",
    "media": "media",
    "font": "font",
    "script": "script",
    "xhr": "xmlhttprequest",
    "fetch": "xmlhttprequest",
    "websocket": "websocket",
    "ping": "ping",
    "beacon": "ping",
    "other": "other",
}


@dataclass(frozen=True)
class TrackerMatch:
    category: str  # advertising, analytics, data-broker, or "tracking" (EasyPrivacy only)
    source: str  # "easyprivacy" or "policies/trackers/hosts.yaml"


@functools.lru_cache(maxsize=1)
def _extractor() -> Any:
    import tldextract

    # No list URLs and no cache: the snapshot inside the package, never a network fetch.
    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


def site(host: str) -> str:
    """The registrable domain of ``host`` (eTLD+1); the host itself for IPs and bare names."""
    host = host.lower().rstrip(".").strip("[]")
    if not host:
        return ""
    with _LOCK:
        parts = _extractor()(host)
    if parts.domain and parts.suffix:
        return f"{parts.domain}.{parts.suffix}"
    return host


def is_third_party(url: str, page_url: str) -> bool:
    host = urlsplit(url).hostname or ""
    own = urlsplit(page_url).hostname or ""
    return bool(host) and site(host) != site(own)


@functools.lru_cache(maxsize=1)
def _host_lists() -> tuple[dict[str, tuple[str, ...]], tuple[str, ...]]:
    text, display = read_policy_text("trackers", "hosts.yaml")
    data = load_yaml_text(text, display) or {}
    cookies = tuple(str(c) for c in data.pop("tracking_cookies", []) or [])
    return {str(k): tuple(str(h).lower() for h in v or []) for k, v in data.items()}, cookies


@functools.lru_cache(maxsize=1)
def _easyprivacy() -> Any:
    import braveblock

    text, _ = read_policy_text("trackers", "easyprivacy.txt")
    # Only the shipped snapshot: braveblock otherwise adds its own bundled EasyList (advertising
    # rules, not trackers) and an older EasyPrivacy, at about 60 MB more memory.
    matcher = braveblock.Adblocker(
        rules=text.splitlines(), include_easylist=False, include_easyprivacy=False
    )
    return_freed_memory()  # building it takes about 100 MB for a moment; it keeps 25
    return matcher


def easyprivacy_version() -> str:
    text, _ = read_policy_text("trackers", "easyprivacy.txt")
    for line in text.splitlines()[:10]:
        if line.startswith("! Version:"):
            return line.split(":", 1)[1].strip()
    return "unknown"


def host_category(host: str) -> str | None:
    lists, _ = _host_lists()
    for category, hosts in lists.items():
        if within(host, hosts):
            return category
    return None


def classify(url: str, page_url: str, resource_type: str) -> TrackerMatch | None:
    """The tracker a request is, or ``None``. First-party requests are trackers only when
    EasyPrivacy says so (a self-hosted analytics endpoint)."""
    host = urlsplit(url).hostname or ""
    category = host_category(host)
    if category is not None:
        return TrackerMatch(category, "policies/trackers/hosts.yaml")
    if urlsplit(url).scheme not in ("http", "https", "ws", "wss"):
        return None
    kind = _REQUEST_TYPES.get(resource_type, "other")
    with _LOCK:
        blocked = bool(
            _easyprivacy().check_network_urls(url=url, source_url=page_url, request_type=kind)
        )
    return TrackerMatch("tracking", "easyprivacy") if blocked else None


def tracking_cookie(name: str) -> bool:
    _, patterns = _host_lists()
    return any(fnmatch.fnmatchcase(name, p) for p in patterns)


def preload() -> None:
    """Parse the lists once before visits start (0.3 s for EasyPrivacy). Under the lock: the
    storefronts' collectors all call this at once, and each would otherwise build its own."""
    with _LOCK:
        _easyprivacy()
        _host_lists()
        _extractor()
