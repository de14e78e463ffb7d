"""Which requests the browser collector calls trackers: the shipped EasyPrivacy snapshot and the
policy host list, nothing else (no advertising-only EasyList rules), and registrable domains from
the bundled Public Suffix List."""

from __future__ import annotations

import pytest

from posture.checks.collectors import trackers

SHOP = "https://shop.example/"


def test_easyprivacy_snapshot_matches_a_self_hosted_analytics_endpoint() -> None:
    match = trackers.classify("https://shop.example/matomo.php?idsite=1&rec=1", SHOP, "xhr")
    assert match is not None and match.source == "easyprivacy"


@pytest.mark.parametrize(
    "url",
    [
        # EasyList (advertising) rules, which braveblock bundles and adds unless told not to.
        "https://shop.example/ads/banner728x90.gif",
        "https://shop.example/static/ad-banner.js",
        # and an ordinary first-party script
        "https://shop.example/static/app.js",
    ],
)
def test_rules_outside_easyprivacy_are_not_trackers(url: str) -> None:
    assert trackers.classify(url, SHOP, "script") is None


def test_host_list_names_its_category_and_source() -> None:
    match = trackers.classify("https://stats.g.doubleclick.net/collect", SHOP, "image")
    assert match is not None
    assert (match.category, match.source) == ("advertising", "policies/trackers/hosts.yaml")


@pytest.mark.parametrize(
    ("host", "site"),
    [
        ("www.shop.co.uk", "shop.co.uk"),
        ("cdn.shop.com", "shop.com"),
        ("127.0.0.1", "127.0.0.1"),
        ("LOCALHOST.", "localhost"),
    ],
)
def test_registrable_domain(host: str, site: str) -> None:
    assert trackers.site(host) == site


def test_third_party_is_by_registrable_domain() -> None:
    assert not trackers.is_third_party("https://cdn.shop.co.uk/a.js", "https://www.shop.co.uk/")
    assert trackers.is_third_party("https://other.co.uk/a.js", "https://www.shop.co.uk/")
