"""The third-party inventory of each storefront, for the checks that run over all results."""

from __future__ import annotations

from collections.abc import Iterable

from posture.model import Result, Status

INVENTORY = "WEB-THIRD-PARTY-INVENTORY"


def source_of(result: Result) -> str:
    """``browser`` (what Chromium loaded) or ``static`` (what the HTML names)."""
    return str(result.evidence.get("source") or "static")


def inventories(results: Iterable[Result]) -> list[Result]:
    """One inventory per storefront: the browser's when the browser ran, else the static fetch's.

    The browser sees what tag managers inject after load; the static fetch only what the HTML
    names, so the browser's list is the better one whenever there is one."""
    best: dict[str, Result] = {}
    for result in results:
        if result.check_id != INVENTORY or result.status is not Status.PASS:
            continue
        known = best.get(result.target)
        if known is None or (source_of(result) == "browser" and source_of(known) != "browser"):
            best[result.target] = result
    return list(best.values())
