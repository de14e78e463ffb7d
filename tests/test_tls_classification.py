"""Suite classification over every suite sslyze knows, for what no local server can serve."""

from __future__ import annotations

import pytest

from posture.checks.collectors.tls_scan import Suite, hostname_matches


def suite(name: str, anonymous: bool = False) -> Suite:
    return Suite(name, name, 128, anonymous)


@pytest.mark.parametrize(
    ("name", "weakness"),
    [
        ("TLS_RSA_WITH_RC4_128_SHA", "RC4"),
        ("TLS_RSA_WITH_3DES_EDE_CBC_SHA", "DES/3DES"),
        ("TLS_RSA_WITH_DES_CBC_SHA", "DES/3DES"),
        ("TLS_RSA_EXPORT_WITH_RC4_40_MD5", "EXPORT grade"),
        ("TLS_RSA_WITH_NULL_SHA256", "NULL encryption"),
        ("TLS_DH_anon_WITH_AES_128_CBC_SHA", "anonymous (no authentication)"),
        ("SSL_CK_DES_192_EDE3_CBC_WITH_MD5", "DES/3DES"),
        ("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", None),
        ("TLS_AES_128_GCM_SHA256", None),
    ],
)
def test_weakness(name: str, weakness: str | None) -> None:
    assert suite(name, anonymous="anon" in name).weakness == weakness


def test_forward_secrecy() -> None:
    assert suite("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256").forward_secret
    assert suite("TLS_DHE_RSA_WITH_AES_128_GCM_SHA256").forward_secret
    assert suite("TLS_CHACHA20_POLY1305_SHA256").forward_secret
    assert not suite("TLS_RSA_WITH_AES_128_CBC_SHA").forward_secret


def test_every_sslyze_suite_is_classified_without_error() -> None:
    from sslyze.plugins.openssl_cipher_suites.cipher_suites import CipherSuitesRepository
    from sslyze.server_connectivity import TlsVersionEnum

    weak = set()
    for version in TlsVersionEnum:
        for s in CipherSuitesRepository.get_all_cipher_suites(version):
            if Suite(s.name, s.openssl_name, s.key_size, s.is_anonymous).weakness:
                weak.add(s.name)
    assert (
        "TLS_RSA_WITH_RC4_128_MD5" in weak and "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384" not in weak
    )


@pytest.mark.parametrize(
    ("host", "names", "ok"),
    [
        ("shop.example.com", ("shop.example.com",), True),
        ("Shop.Example.com", ("shop.example.com",), True),
        ("a.example.com", ("*.example.com",), True),
        ("a.b.example.com", ("*.example.com",), False),
        ("example.com", ("*.example.com",), False),
        ("127.0.0.1", ("127.0.0.1",), True),
        ("shop.example.com", ("other.example.com",), False),
    ],
)
def test_hostname_matching(host: str, names: tuple[str, ...], ok: bool) -> None:
    assert hostname_matches(host, names) is ok
