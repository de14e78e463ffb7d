"""``controls.access``: VPN, MFA, passwords, access reviews, offboarding."""

from __future__ import annotations

from typing import Literal

from posture.controls._base import Attestation, Strict


class VpnControl(Strict):
    required_for_admin: bool  # admin and back-office reachable only through the VPN
    kind: Literal["wireguard", "openvpn", "ipsec", "ztna", "other"] | None = None
    tunnel: Literal["full", "split"] | None = None  # as declared; compared with the config file
    config: str | None = (
        None  # path of the VPN config (wireguard/openvpn), relative to posture.yaml
    )


class PasswordPolicy(Strict):
    min_length: int
    passphrases_allowed: bool = False
    forced_rotation_days: int | None = None  # periodic forced change (NIST SP 800-63B: don't)
    breached_password_check: bool | None = None


class AccessControls(Strict):
    vpn: VpnControl | None = None
    mfa_admins: bool | None = None
    mfa_staff: bool | None = None
    password_policy: PasswordPolicy | None = None
    access_review: Attestation | None = None  # who reviewed accounts and when
    offboarding_process: str | None = None  # path to the documented process (a file)
