"""One TLS scan per storefront host, through sslyze's Python API, with far fewer connections.

sslyze's cipher-suite commands make one handshake per candidate suite (hundreds of connections per
host). To learn which suites a server accepts we offer every candidate at once, note the one the
server picks, remove it and repeat: (accepted + 1) handshakes per protocol version. The other
sslyze commands we need (certificate, Heartbleed, ROBOT, CCS injection, renegotiation, compression,
fallback SCSV) run through sslyze's own plugin implementations, sharing one connectivity test.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

from posture.checks.collectors._imports import preload
from posture.checks.collectors.handshake_guard import HandshakeGuard
from posture.checks.collectors.http_client import REQUEST_DEADLINE_FACTOR
from posture.errors import CollectError
from posture.hostnames import a_label
from posture.model import Target, TargetKind
from posture.plugin import CollectContext, collector

VERSIONS = ("SSLv2", "SSLv3", "TLSv1.0", "TLSv1.1", "TLSv1.2", "TLSv1.3")
PER_HOST_CONNECTIONS = 5


@dataclass(frozen=True)
class Suite:
    name: str  # IANA/RFC name
    openssl_name: str
    key_size: int
    anonymous: bool
    # The ephemeral key the server chose with this suite: "DH" or "ECDH", its size in bits and,
    # for ECDH, the group (X25519, secp256r1 ...). None when there is none or it could not be read.
    kex: str | None = None
    kex_bits: int | None = None
    kex_group: str | None = None

    @property
    def forward_secret(self) -> bool:
        if self.name.startswith("TLS_AES_") or self.name.startswith("TLS_CHACHA20_"):
            return True  # TLS 1.3 suites are all (EC)DHE
        return "_DHE_" in self.name or "_ECDHE_" in self.name

    @property
    def weakness(self) -> str | None:
        n = self.name.upper()
        if "_NULL_" in n or n.endswith("_NULL") or "WITH_NULL" in n:
            return "NULL encryption"
        if "EXPORT" in n:
            return "EXPORT grade"
        if self.anonymous or "_ANON_" in n or "_anon_" in self.name:
            return "anonymous (no authentication)"
        if "RC4" in n:
            return "RC4"
        if "3DES" in n or "DES_192" in n or "_DES_" in n or "DES_64" in n or "DES40" in n:
            return "DES/3DES"
        if "RC2" in n or "IDEA" in n:
            return "legacy block cipher"
        return None


@dataclass(frozen=True)
class CertificateFacts:
    subject: str
    issuer: str
    sans: tuple[str, ...]
    not_before: dt.datetime
    not_after: dt.datetime
    key_type: str  # RSA, EC, DSA, Ed25519 ...
    key_size: int
    signature_hash: str | None
    chain_subjects: tuple[str, ...]
    hostname_matches: bool
    trusted: bool
    trust_errors: tuple[str, ...]
    self_signed: bool
    has_aia_issuer_url: bool
    verified_chain_has_sha1: bool | None
    ocsp_stapled: bool
    has_ocsp_url: bool = False
    signature_algorithm: str | None = None  # OpenSSL's name: sha256WithRSAEncryption ...
    ec_curve: str | None = None  # for EC keys, OpenSSL's name: prime256v1, secp384r1 ...
    lifespan_days: int | None = None  # not_after - not_before
    # Issued under a root that only --ca-bundle trusts (an internal CA), not a public one:
    # browsers' lifespan limits and the Baseline Requirements bind public roots only.
    private_ca: bool = False


@dataclass(frozen=True)
class TlsFacts:
    host: str
    port: int
    address: str | None
    accepted: dict[str, tuple[Suite, ...]] = field(default_factory=dict)
    untested: dict[str, str] = field(default_factory=dict)  # version -> why it could not be tested
    certificate: CertificateFacts | None = None  # the chain a default client gets
    # Other chains the server picks for other clients (an RSA and an ECDSA certificate side by
    # side): each is judged like the first.
    other_certificates: tuple[CertificateFacts, ...] = ()
    vulnerabilities: dict[str, bool | None] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)  # what sslyze could not run, and why
    connections: int = 0

    @property
    def accepted_versions(self) -> set[str]:
        return {v for v, suites in self.accepted.items() if suites}


def _version_enum(name: str) -> Any:
    from sslyze.server_connectivity import TlsVersionEnum

    return {
        "SSLv2": TlsVersionEnum.SSL_2_0,
        "SSLv3": TlsVersionEnum.SSL_3_0,
        "TLSv1.0": TlsVersionEnum.TLS_1_0,
        "TLSv1.1": TlsVersionEnum.TLS_1_1,
        "TLSv1.2": TlsVersionEnum.TLS_1_2,
        "TLSv1.3": TlsVersionEnum.TLS_1_3,
    }[name]


class _Counter:
    def __init__(self) -> None:
        import threading

        self.value = 0
        self._lock = threading.Lock()

    def add(self, n: int = 1) -> None:
        with self._lock:
            self.value += n


class IncompleteEnumeration(Exception):
    """The server stopped answering part-way: which suites it accepts is not known in full."""


@functools.cache
def _legacy_tls12_suites() -> frozenset[str]:
    """The TLS 1.2 suites nassl's legacy OpenSSL speaks (sslyze's rule: use it when it can).

    sslyze's WorkaroundForTls12ForCipherSuites builds a legacy client to answer this for each
    suite, ~150 times per host: that was the largest CPU cost per storefront of an estate scan.
    The answer depends only on the bundled OpenSSL, so it is computed once per process.
    """
    from nassl.legacy_ssl_client import LegacySslClient
    from nassl.ssl_client import OpenSslVerifyEnum, OpenSslVersionEnum

    client = LegacySslClient(
        ssl_version=OpenSslVersionEnum.TLSV1_2, ssl_verify=OpenSslVerifyEnum.NONE
    )
    client.set_cipher_list("ALL:COMPLEMENTOFALL")
    return frozenset(client.get_cipher_list())


@functools.cache
def _suite_groups(version: str) -> dict[bool, tuple[tuple[str, Any], ...]]:
    """The suites to offer for ``version``, split by the OpenSSL (legacy or not) that speaks them."""
    from sslyze.plugins.openssl_cipher_suites.cipher_suites import CipherSuitesRepository

    groups: dict[bool, list[tuple[str, Any]]] = {True: [], False: []}
    for suite in CipherSuitesRepository.get_all_cipher_suites(_version_enum(version)):
        if version == "TLSv1.3":
            legacy = False
        elif version == "TLSv1.2":
            legacy = suite.openssl_name in _legacy_tls12_suites()
        else:
            legacy = True
        groups[legacy].append((suite.openssl_name, suite))
    return {legacy: tuple(dict(suites).items()) for legacy, suites in groups.items()}


def _enumerate(server_info: Any, version: str, counter: _Counter) -> tuple[tuple[Suite, ...], bool]:
    """Offer all remaining suites; the server picks one; remove it; repeat until refused.

    Also says whether the server stayed silent instead of refusing at the start of an offer
    (some servers, CloudFront for one, ignore versions they do not speak): the caller decides
    from the other versions whether that means "not offered" or "not answering at all".
    """
    from nassl.ssl_client import ClientCertificateRequested, SslClient
    from sslyze.errors import (
        ServerRejectedTlsHandshake,
        ServerTlsConfigurationNotSupported,
        TlsHandshakeTimedOut,
    )

    tls_version = _version_enum(version)
    groups = {legacy: dict(suites) for legacy, suites in _suite_groups(version).items()}
    accepted: list[Suite] = []
    silent = False
    for legacy, remaining in groups.items():
        found_here = 0
        stalls = 0
        while remaining:
            connection = server_info.get_preconfigured_tls_connection(
                override_tls_version=tls_version, should_use_legacy_openssl=legacy
            )
            client = connection.ssl_client
            offer = ":".join(remaining)
            if version == "TLSv1.3" and isinstance(client, SslClient):
                client.set_ciphersuites(offer)
            else:
                client.set_cipher_list(offer)
            counter.add()
            try:
                connection.connect()
            except (ServerTlsConfigurationNotSupported, ClientCertificateRequested):
                pass  # the handshake got far enough: the suite is accepted
            except ServerRejectedTlsHandshake:
                connection.close()
                break  # none of the remaining suites is accepted
            except (TlsHandshakeTimedOut, OSError) as exc:
                connection.close()
                if not found_here:
                    silent = True  # silence at the first offer: judged by the caller
                    break
                # Silence after suites were accepted is not a refusal: try once more, then say
                # the list is incomplete rather than let a stalling server look tidy.
                stalls += 1
                if stalls < 2:
                    continue
                raise IncompleteEnumeration(
                    f"{len(accepted)} suites found, then the server stopped answering "
                    f"({exc.__class__.__name__})"
                ) from None
            try:
                picked = client.get_current_cipher_name()
                kex = _ephemeral_key(client)
            finally:
                connection.close()
            suite = remaining.pop(picked, None)
            if suite is None:  # the name came back in another spelling: stop rather than loop
                break
            found_here += 1
            accepted.append(
                Suite(suite.name, suite.openssl_name, suite.key_size, suite.is_anonymous, *kex)
            )
    return tuple(sorted(accepted, key=lambda s: s.name)), silent


def _ephemeral_key(client: Any) -> tuple[str | None, int | None, str | None]:
    """The (EC)DH key of the handshake just made: kind, bits and group, as far as nassl says."""
    try:
        key = client.get_ephemeral_key()
    except Exception:  # noqa: BLE001 - no ephemeral key (static RSA) or not readable
        return None, None, None
    if key is None:
        return None, None, None
    group = getattr(key, "curve_name", None)
    kind = "ECDH" if group else ("DH" if hasattr(key, "prime") else str(key.type_name))
    return kind, int(key.size), group


def _run_plugin(server_info: Any, command: Any, extra: Any, counter: _Counter) -> Any:
    from sslyze.plugins.plugin_base import ScanJobResult
    from sslyze.plugins.scan_commands import ScanCommandsRepository

    implementation = ScanCommandsRepository.get_implementation_cls(command)
    jobs = implementation.scan_jobs_for_scan_command(server_info, extra)
    results = []
    for job in jobs:
        counter.add()
        try:
            results.append(ScanJobResult(job.function_to_call(*job.function_arguments), None))
        except Exception as exc:  # noqa: BLE001 - handed back to the plugin, which decides
            results.append(ScanJobResult(None, exc))
    return implementation.result_for_completed_scan_jobs(server_info, results)


def _name(obj: Any) -> str:
    try:
        return str(obj.rfc4514_string())
    except Exception:  # noqa: BLE001
        return str(obj)


def hostname_matches(host: str, names: tuple[str, ...]) -> bool:
    """RFC 6125 matching: exact, or one wildcard as the whole left-most label."""
    host = host.lower().rstrip(".")
    for name in (n.lower().rstrip(".") for n in names):
        if name == host:
            return True
        if name.startswith("*.") and "." in host:
            if host.split(".", 1)[1] == name[2:] and host.split(".", 1)[0]:
                return True
    return False


@functools.lru_cache(maxsize=8)
def _trust_anchors(path: str) -> tuple[Any, ...]:
    """The certificates of a PEM bundle, parsed once per process, one by one.

    A bundle may hold a certificate that newer cryptography releases reject (certifi ships one with
    a non-positive serial): skipping it keeps the other anchors instead of failing every chain.
    """
    import re
    import warnings

    from cryptography import x509

    text = Path(path).read_bytes()
    blocks = re.findall(rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", text, re.S)
    anchors = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for block in blocks:
            try:
                anchors.append(x509.load_pem_x509_certificate(block))
            except ValueError:
                continue
    return tuple(anchors)


def _chain_trusted(
    chain: list[Any], sans: tuple[str, ...], ca_bundle: str | None, now: dt.datetime
) -> tuple[bool, tuple[str, ...]]:
    """Is the received chain trusted by the public roots plus ``--ca-bundle``, whatever the name?

    The name is checked apart (hostname_matches), so this validates against one of the
    certificate's own names: an untrusted chain and a wrong name are two different findings.
    """
    import ipaddress

    import certifi
    from cryptography import x509
    from cryptography.x509.verification import PolicyBuilder, Store, VerificationError

    roots = list(_trust_anchors(certifi.where()))
    if ca_bundle:
        roots += _trust_anchors(ca_bundle)
    if not roots:
        return False, ("no trust anchors could be read",)
    if not sans:
        return False, ("the certificate has no subjectAltName",)
    name = sans[0]
    subject: Any
    try:
        subject = x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        subject = x509.DNSName(name.replace("*.", "wildcard.", 1))
    verifier = PolicyBuilder().store(Store(roots)).time(now).build_server_verifier(subject)
    try:
        verifier.verify(chain[0], chain[1:])
    except VerificationError as exc:
        return False, (str(exc)[:300],)
    except Exception as exc:  # noqa: BLE001 - malformed certificates land here
        return False, (f"{exc.__class__.__name__}: {exc}"[:300],)
    return True, ()


def _certificate_facts(
    result: Any, host: str, ca_bundle: str | None, now: dt.datetime
) -> tuple[CertificateFacts, ...]:
    """One CertificateFacts per distinct chain the server sent (sslyze asks as a TLS 1.3 client,
    as an RSA-only and as an RSA-less TLS 1.2 client); the default client's chain first."""
    return tuple(_deployment_facts(d, host, ca_bundle, now) for d in result.certificate_deployments)


def _deployment_facts(
    deployment: Any, host: str, ca_bundle: str | None, now: dt.datetime
) -> CertificateFacts:
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa

    chain = deployment.received_certificate_chain
    leaf = chain[0]
    public_key = leaf.public_key()
    key_type, key_size = "unknown", 0
    if isinstance(public_key, rsa.RSAPublicKey):
        key_type, key_size = "RSA", public_key.key_size
    elif isinstance(public_key, ec.EllipticCurvePublicKey):
        key_type, key_size = "EC", public_key.curve.key_size
    elif isinstance(public_key, dsa.DSAPublicKey):
        key_type, key_size = "DSA", public_key.key_size
    elif isinstance(public_key, ed25519.Ed25519PublicKey):
        key_type, key_size = "Ed25519", 256
    elif isinstance(public_key, ed448.Ed448PublicKey):
        key_type, key_size = "Ed448", 456
    try:
        sans = tuple(
            str(v)
            for v in leaf.extensions.get_extension_for_class(
                x509.SubjectAlternativeName
            ).value.get_values_for_type(x509.DNSName)
        ) + tuple(
            str(v)
            for v in leaf.extensions.get_extension_for_class(
                x509.SubjectAlternativeName
            ).value.get_values_for_type(x509.IPAddress)
        )
    except x509.ExtensionNotFound:
        sans = ()
    try:
        aia = leaf.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
        has_aia = any(
            d.access_method == x509.oid.AuthorityInformationAccessOID.CA_ISSUERS for d in aia
        )
        has_ocsp = any(d.access_method == x509.oid.AuthorityInformationAccessOID.OCSP for d in aia)
    except x509.ExtensionNotFound:
        has_aia = has_ocsp = False
    trusted, errors = _chain_trusted(chain, sans, ca_bundle, now)
    try:
        hash_alg = leaf.signature_hash_algorithm
    except Exception:  # noqa: BLE001 - an algorithm cryptography does not know (e.g. MD2)
        hash_alg = None
    curve = (
        _OPENSSL_CURVE_NAMES.get(public_key.curve.name, public_key.curve.name)
        if isinstance(public_key, ec.EllipticCurvePublicKey)
        else None
    )
    return CertificateFacts(
        subject=_name(leaf.subject),
        issuer=_name(leaf.issuer),
        sans=sans,
        not_before=leaf.not_valid_before_utc,
        not_after=leaf.not_valid_after_utc,
        key_type=key_type,
        key_size=key_size,
        signature_hash=hash_alg.name if hash_alg else None,
        chain_subjects=tuple(_name(c.subject) for c in chain),
        hostname_matches=hostname_matches(host, sans),
        trusted=trusted,
        trust_errors=errors,
        self_signed=leaf.subject == leaf.issuer,
        has_aia_issuer_url=has_aia,
        verified_chain_has_sha1=deployment.verified_chain_has_sha1_signature,
        ocsp_stapled=deployment.ocsp_response is not None,
        has_ocsp_url=has_ocsp,
        signature_algorithm=_signature_name(leaf),
        ec_curve=curve,
        lifespan_days=(leaf.not_valid_after_utc - leaf.not_valid_before_utc).days,
        private_ca=_under_private_root(chain, ca_bundle),
    )


def _under_private_root(chain: list[Any], ca_bundle: str | None) -> bool:
    """Whether the chain leads to a root of ``--ca-bundle`` that is not a public root (by
    name: a certificate of the chain is, or is issued by, such a root)."""
    if not ca_bundle:
        return False
    import certifi

    public = {a.subject for a in _trust_anchors(certifi.where())}
    private = {a.subject for a in _trust_anchors(ca_bundle)} - public
    return any(c.subject in private or c.issuer in private for c in chain)


# cryptography names curves as SEC does; Mozilla's profiles use OpenSSL's names.
_OPENSSL_CURVE_NAMES = {"secp256r1": "prime256v1", "secp192r1": "prime192v1"}


def _signature_name(cert: Any) -> str | None:
    """OpenSSL's name of the signature algorithm (the spelling Mozilla's profiles use)."""
    oid = cert.signature_algorithm_oid
    name = getattr(oid, "_name", None)
    return str(name) if name and name != "Unknown OID" else oid.dotted_string


def scan_tls(
    host: str,
    port: int,
    address: str | None,
    timeout: float,
    ca_bundle: str | None,
    now: dt.datetime | None = None,
) -> TlsFacts:
    """Everything the TLS checks need about one host, in one pass."""
    preload(
        "sslyze",
        "sslyze.server_connectivity",
        "sslyze.plugins.scan_commands",
        "sslyze.plugins.openssl_cipher_suites._test_cipher_suite",
        "cryptography.x509.verification",
        "certifi",
    )
    from sslyze.errors import ConnectionToServerFailed
    from sslyze.plugins.certificate_info.implementation import CertificateInfoExtraArgument
    from sslyze.plugins.scan_commands import ScanCommand
    from sslyze.server_connectivity import ServerConnectivityInfo, check_connectivity_to_server
    from sslyze.server_setting import ServerNetworkConfiguration, ServerNetworkLocation

    location = ServerNetworkLocation(hostname=host, port=port, ip_address=address)
    network = ServerNetworkConfiguration(
        tls_server_name_indication=host,
        network_timeout=max(1, int(round(timeout))),
        network_max_retries=1,
    )
    counter = _Counter()
    now = now or dt.datetime.now(dt.UTC)
    from posture.runner import CallTimeout, call_with_timeout

    try:
        # sslyze tries every protocol version, each with retries: against a server that accepts
        # and never answers that takes ten times the timeout. Bound it.
        probing = call_with_timeout(
            lambda: check_connectivity_to_server(location, network), timeout * 2 + 1, "tls-probe"
        )
    except CallTimeout:
        raise CollectError(
            f"{host}:{port}: no TLS handshake completed within {timeout * 2 + 1:g} s"
        ) from None
    except ConnectionToServerFailed as exc:
        raise CollectError(f"{host}:{port}: TLS handshake failed: {exc.error_message}") from None
    except OSError as exc:
        raise CollectError(f"{host}:{port}: cannot connect: {exc.strerror or exc}") from None
    counter.add(2)
    info = ServerConnectivityInfo(location, network, probing)

    accepted: dict[str, tuple[Suite, ...]] = {}
    untested: dict[str, str] = {}
    errors: dict[str, str] = {}
    vulnerabilities: dict[str, bool | None] = {}
    certificates: tuple[CertificateFacts, ...] = ()

    extra = CertificateInfoExtraArgument(custom_ca_file=Path(ca_bundle)) if ca_bundle else None
    plugin_jobs: dict[str, Callable[[], Any]] = {
        "certificate": lambda: _run_plugin(info, ScanCommand.CERTIFICATE_INFO, extra, counter),
        "heartbleed": lambda: _run_plugin(info, ScanCommand.HEARTBLEED, None, counter),
        "ccs_injection": lambda: _run_plugin(
            info, ScanCommand.OPENSSL_CCS_INJECTION, None, counter
        ),
        "renegotiation": lambda: _run_plugin(
            info, ScanCommand.SESSION_RENEGOTIATION, None, counter
        ),
        "compression": lambda: _run_plugin(info, ScanCommand.TLS_COMPRESSION, None, counter),
        "fallback_scsv": lambda: _run_plugin(info, ScanCommand.TLS_FALLBACK_SCSV, None, counter),
    }
    limit = timeout * REQUEST_DEADLINE_FACTOR  # per connection, as for one HTTP request
    guard = HandshakeGuard(limit)
    with (
        guard,
        ThreadPoolExecutor(max_workers=PER_HOST_CONNECTIONS, thread_name_prefix="tls") as pool,
    ):
        suite_futures = {
            v: pool.submit(guard.bind(functools.partial(_enumerate, info, v, counter)))
            for v in VERSIONS
        }
        plugin_futures = {name: pool.submit(guard.bind(job)) for name, job in plugin_jobs.items()}
        silent: list[str] = []
        for version, future in suite_futures.items():
            try:
                accepted[version], was_silent = future.result()
            except Exception as exc:  # noqa: BLE001 - can't test is not pass
                untested[version] = f"{exc.__class__.__name__}: {exc}"[:300]
                continue
            if was_silent:
                silent.append(version)
        if silent and not any(accepted.values()):
            # Silent for every version it was asked about, after passing the connectivity probe:
            # the server stopped answering; nothing about its suites is known.
            for version in silent:
                del accepted[version]
                untested[version] = (
                    "IncompleteEnumeration: the server stopped answering (no handshake completed)"
                )
        # ROBOT attacks RSA key exchange and costs dozens of handshakes: run it only when the
        # server accepts an RSA key-exchange suite (or when we could not tell).
        rsa_kex = any(s.name.startswith("TLS_RSA_") for suites in accepted.values() for s in suites)
        if rsa_kex or untested:
            plugin_futures["robot"] = pool.submit(
                guard.bind(functools.partial(_run_plugin, info, ScanCommand.ROBOT, None, counter))
            )
        else:
            vulnerabilities["robot"] = False
        for name, future in plugin_futures.items():
            try:
                result: Any = future.result()
            except Exception as exc:  # noqa: BLE001 - reported as a skipped check
                errors[name] = f"{exc.__class__.__name__}: {exc}"[:300]
                continue
            if name == "certificate":
                certificates = _certificate_facts(result, host, ca_bundle, now)
            elif name == "heartbleed":
                vulnerabilities["heartbleed"] = result.is_vulnerable_to_heartbleed
            elif name == "robot":
                vulnerabilities["robot"] = _robot_vulnerable(result)
            elif name == "ccs_injection":
                vulnerabilities["ccs_injection"] = result.is_vulnerable_to_ccs_injection
            elif name == "renegotiation":
                vulnerabilities["insecure_renegotiation"] = not result.supports_secure_renegotiation
                vulnerabilities["client_renegotiation_dos"] = (
                    result.is_vulnerable_to_client_renegotiation_dos
                )
            elif name == "compression":
                vulnerabilities["compression"] = result.supports_compression
            elif name == "fallback_scsv":
                vulnerabilities["no_fallback_scsv"] = not result.supports_fallback_scsv
    if guard.tripped:
        # A cut handshake looks to sslyze like a refusal: nothing this scan found stands, and
        # the scan is reported as not done (an error), as when the first handshake trickles.
        raise CollectError(
            f"{host}:{port}: the server trickled its TLS handshakes; one was cut after "
            f"{limit:g} s (3 x --timeout) and the later ones were not waited for"
        )
    if any(reason.startswith("IncompleteEnumeration") for reason in untested.values()):
        # sslyze reads silence as "not vulnerable" for these tests; a server that stopped
        # answering mid-scan has proven nothing.
        for name, plugin in _SILENCE_READ_AS_NEGATIVE.items():
            if vulnerabilities.get(name) is False:
                vulnerabilities[name] = None
                errors.setdefault(plugin, "the server stopped answering during the scan")
    return TlsFacts(
        host=host,
        port=port,
        address=address,
        accepted=accepted,
        untested=untested,
        certificate=certificates[0] if certificates else None,
        other_certificates=certificates[1:],
        vulnerabilities=vulnerabilities,
        errors=errors,
        connections=counter.value,
    )


_SILENCE_READ_AS_NEGATIVE = {
    "heartbleed": "heartbleed",
    "ccs_injection": "ccs_injection",
    "no_fallback_scsv": "fallback_scsv",
}


def _robot_vulnerable(result: Any) -> bool | None:
    from sslyze.plugins.robot._robot_tester import RobotScanResultEnum

    value = result.robot_result
    if value in (
        RobotScanResultEnum.VULNERABLE_STRONG_ORACLE,
        RobotScanResultEnum.VULNERABLE_WEAK_ORACLE,
    ):
        return True
    if value in (
        RobotScanResultEnum.NOT_VULNERABLE_NO_ORACLE,
        RobotScanResultEnum.NOT_VULNERABLE_RSA_NOT_SUPPORTED,
    ):
        return False
    return None  # inconsistent results: can't tell


@dataclass(frozen=True)
class Endpoint:
    """One TLS endpoint of a storefront (the shop, or a page on another host) and its profile."""

    facts: TlsFacts | None
    profile_name: str
    profile: dict[str, Any]
    pages: tuple[str, ...]
    error: str | None = None

    @property
    def name(self) -> str:
        return f"{self.facts.host}:{self.facts.port}" if self.facts else self.pages[0]


@dataclass(frozen=True)
class TlsScan:
    endpoints: tuple[Endpoint, ...]


def load_profile(name: str, base_dir: str) -> dict[str, Any]:
    """A Mozilla profile by name, or a custom one from a JSON file in Mozilla's format."""
    import json

    from posture.policy import read_policy_text

    if name in ("modern", "intermediate", "old"):
        text, _ = read_policy_text("tls", "mozilla-server-side-tls.json")
        return dict(json.loads(text)["configurations"][name])
    path = Path(name) if Path(name).is_absolute() else Path(base_dir) / name
    from posture.safe_read import parse_json, read_limited

    try:
        data = parse_json(read_limited(path, 1_000_000))
    except OSError as exc:
        raise CollectError(f"{path}: cannot read TLS profile: {exc.strerror}") from None
    except ValueError as exc:
        raise CollectError(f"{path}: cannot read TLS profile: {exc}") from None
    if isinstance(data, dict) and "configurations" in data:
        configurations = data["configurations"]
        if not isinstance(configurations, dict):
            raise CollectError(f"{path}: 'configurations' must be a mapping of named profiles")
        if len(configurations) != 1:
            raise CollectError(
                f"{path}: name one configuration (file has {sorted(configurations)})"
            )
        data = next(iter(configurations.values()))
    if not isinstance(data, dict) or "tls_versions" not in data:
        raise CollectError(f"{path}: not a Mozilla-format TLS profile (no tls_versions)")
    return data


@collector(name="tls", target=TargetKind.STOREFRONT)
def collect_tls(target: Target, ctx: CollectContext) -> TlsScan:
    base = _https_url(target.options.get("url") or target.name, ctx)
    default = target.options.get("tls_profile") or ctx.policy.get("tls.default_profile")
    wanted: dict[tuple[str, int], tuple[str, list[str]]] = {}
    pages = [("home", base, default)]
    for name, value in (target.options.get("pages") or {}).items():
        path = value["path"] if isinstance(value, dict) else value
        profile = (value.get("tls_profile") if isinstance(value, dict) else None) or default
        pages.append((name, urljoin(base, path), profile))
    for name, url, profile in pages:
        parts = urlsplit(url)
        if parts.scheme != "https" or not parts.hostname:
            continue
        key = (a_label(parts.hostname), parts.port or 443)
        if key in wanted:
            # The strictest profile named for an endpoint wins.
            if _strictness(profile) > _strictness(wanted[key][0]):
                wanted[key] = (profile, wanted[key][1])
            wanted[key][1].append(name)
        else:
            wanted[key] = (profile, [name])
    if not wanted:
        raise CollectError(f"{target.name}: not an https:// URL, no TLS to scan")
    endpoints = []
    for index, ((host, port), (profile_name, names)) in enumerate(wanted.items()):
        profile = load_profile(profile_name, ctx.base_dir)
        address = ctx.options.resolve_address(host, port)
        try:
            facts = scan_tls(
                host, port, address, ctx.options.timeout, ctx.options.ca_bundle, ctx.options.now
            )
        except CollectError:
            if index == 0:
                raise  # the shop itself is not reachable over TLS: the target can't be assessed
            facts, error = None, f"{host}:{port} could not be scanned"
            endpoints.append(Endpoint(None, profile_name, profile, tuple(names), error))
            continue
        endpoints.append(Endpoint(facts, profile_name, profile, tuple(names)))
    return TlsScan(tuple(endpoints))


def _https_url(url: str, ctx: CollectContext) -> str:
    """A storefront given as http:// is scanned where it redirects to over https:// (at most 5
    redirects), else on the same host's default HTTPS port. The web checks judge the plain-HTTP
    answer itself."""
    from posture.checks.collectors.http_client import HttpClient

    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        return url
    try:
        # Only the Location headers matter here: the certificate is judged by the TLS scan.
        with HttpClient(ctx.options, verify=False) as client:
            answer = client.fetch(url, max_bytes=16_384, max_redirects=5)
        chain = [hop for hop, _ in answer.redirects] + [answer.url]
        upgraded = next((u for u in chain if u.startswith("https://")), None)
        if upgraded:
            return str(upgraded)
    except CollectError:
        pass
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return str(urlunsplit(("https", host, parts.path or "/", parts.query, "")))


def _strictness(profile: str) -> int:
    return {"old": 0, "intermediate": 1, "modern": 2}.get(profile, 1)
