"""Detached Ed25519 signatures over a report and a manifest of the scans it covers.

``REPORT.sig`` is JSON: the manifest (SHA-256 of the report file and of every scan it is built
from) and the signature over the manifest's canonical JSON. Changing one byte of the report, or
of the manifest, fails verification.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from posture.errors import ConfigError, PostureError
from posture.safe_read import parse_json, read_limited

SIGNATURE_SUFFIX = ".sig"


class VerificationFailed(PostureError):
    exit_code = 1


def keygen(name: Path) -> tuple[Path, Path]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    pub_path = Path(f"{name}.pub")
    try:
        fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(private)
        pub_fd = os.open(pub_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        with os.fdopen(pub_fd, "wb") as handle:
            handle.write(public)
    except OSError as exc:
        raise ConfigError(
            f"cannot write the key: {exc.strerror}", path=str(exc.filename or name)
        ) from None
    return Path(name), pub_path


def _read_input(path: Path, what: str, limit: int = 1 << 20) -> bytes:
    """A file ``verify`` was given, or one line saying why it cannot be read (exit 2)."""
    try:
        return read_limited(path, limit)
    except OSError as exc:
        raise ConfigError(f"cannot read {what}: {exc.strerror}", path=str(path)) from None


def _canonical(manifest: dict[str, Any]) -> bytes:
    return json.dumps(manifest, sort_keys=True, separators=(",", ":")).encode()


def sign(report: Path, key_path: Path, scans: list[dict[str, Any]]) -> Path:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    try:
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    except (OSError, ValueError) as exc:
        raise PostureError(f"{key_path}: not an Ed25519 private key ({exc})") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise PostureError(f"{key_path}: not an Ed25519 private key")
    manifest = {
        "report": report.name,
        "report_sha256": hashlib.sha256(report.read_bytes()).hexdigest(),
        "scans": [
            {"scan_id": s["scan_id"], "started_at": s["started_at"], "sha256": s["digest"]}
            for s in scans
        ],
        "algorithm": "Ed25519",
    }
    signature = key.sign(_canonical(manifest))
    from posture.render import write_file

    out = report.with_name(report.name + SIGNATURE_SUFFIX)
    write_file(
        out,
        json.dumps(
            {"manifest": manifest, "signature": base64.b64encode(signature).decode()}, indent=2
        )
        + "\n",
    )
    return out


def verify(report: Path, public_key: Path, signature_file: Path | None = None) -> dict[str, Any]:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    signature_file = signature_file or report.with_name(report.name + SIGNATURE_SUFFIX)
    if not report.is_file():
        raise ConfigError("no such report to verify", path=str(report))
    raw = _read_input(signature_file, "signature")
    try:
        envelope = parse_json(raw)
        manifest = envelope["manifest"]
        signature = base64.b64decode(envelope["signature"], validate=True)
        if not isinstance(manifest, dict):
            raise ValueError("the manifest is not a mapping")
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigError(
            f"not a posture signature file ({exc})", path=str(signature_file)
        ) from None
    try:
        key = serialization.load_pem_public_key(_read_input(public_key, "public key"))
    except (ValueError, TypeError):
        key = None
    if not isinstance(key, Ed25519PublicKey):
        raise ConfigError("not an Ed25519 public key (PEM)", path=str(public_key))
    try:
        key.verify(signature, _canonical(manifest))
    except InvalidSignature:
        raise VerificationFailed(
            f"{signature_file}: signature does not match the manifest"
        ) from None
    actual = hashlib.sha256(_read_input(report, "report", 1 << 30)).hexdigest()
    if actual != manifest.get("report_sha256"):
        raise VerificationFailed(
            f"{report}: content changed since it was signed (sha256 {actual[:16]}...)"
        )
    return dict(manifest)


def verify_scans(manifest: dict[str, Any], history: Any) -> None:
    """Recompute each scan's digest from the history's stored results; compare with the manifest.

    The signature proves the manifest is what the signer saw; this proves the database still
    holds exactly those scans (no result rewritten, none deleted, none added to them)."""
    listed = manifest.get("scans") or []
    try:
        ids = [int(s["scan_id"]) for s in listed]
    except (KeyError, TypeError, ValueError):
        raise VerificationFailed("manifest: malformed scan list") from None
    digests = history.recompute_digests(ids)
    bad = []
    for entry, scan_id in zip(listed, ids, strict=True):
        stored, again = digests.get(scan_id, ("", ""))
        if not again:
            bad.append(f"{scan_id} (missing)")
        elif again != entry.get("sha256") or stored != again:
            bad.append(str(scan_id))
    if bad:
        raise VerificationFailed(
            f"history {history.url.split('://')[0]}: scan digest recomputed from the stored "
            f"results does not match the signed manifest for scan(s) {', '.join(bad)}"
        )
