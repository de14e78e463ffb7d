"""Host names as they travel in SNI, Host headers and certificates: ASCII (A-labels)."""

from __future__ import annotations

from collections.abc import Iterable


def a_label(host: str) -> str:
    """The ASCII (punycode) form of an internationalised host name, lower-cased.

    ``bücher.example`` becomes ``xn--bcher-kva.example``; IP addresses and ASCII names come back
    unchanged (lower-cased). A name that cannot be encoded is returned as given, and the handshake
    or lookup that uses it says what is wrong.
    """
    host = host.lower()
    if host.isascii():
        return host
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        return host


def within(host: str, domains: Iterable[str]) -> bool:
    """Whether ``host`` is one of ``domains`` or a subdomain of one (case and a trailing or
    leading dot ignored): ``stats.g.doubleclick.net`` is within ``doubleclick.net``."""
    host = host.lower().strip(".")
    for domain in domains:
        domain = domain.lower().strip(".")
        if domain and (host == domain or host.endswith("." + domain)):
            return True
    return False
