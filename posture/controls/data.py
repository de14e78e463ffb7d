"""``controls.data_stores``: where personal data lives, its encryption and its backups."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from posture.controls._base import Attestation, Strict


class Place(Strict):
    provider: str  # aws, gcp, azure, hetzner, on-premises, ...
    account: str | None = None
    region: str | None = None
    site: str | None = None  # a physical site, for on-premises or offline copies


class EncryptionAtRest(Strict):
    enabled: bool
    key_management: (
        Literal["kms", "hsm", "provider-managed", "application", "same-host", "none"] | None
    ) = None
    key_location: Place | None = None


class Backup(Strict):
    location: Place
    encrypted: bool | None = None
    immutable: bool | None = None  # object lock / vault lock / WORM
    offline_copy: bool | None = None
    cross_region_declared: bool | None = None
    restore_test: Attestation | None = None


class DataStore(Strict):
    name: str = Field(min_length=1)
    kind: str | None = None  # postgres, mysql, s3, dynamodb, files, saas ...
    location: Place | None = None
    personal_data: list[str] = Field(
        default_factory=list
    )  # categories: contact, address, orders ...
    encryption: EncryptionAtRest | None = None
    backup: Backup | None = None
    iac_resources: list[str] = Field(
        default_factory=list
    )  # addresses in the IaC (aws_db_instance.orders)
    cloud_resources: list[str] = Field(
        default_factory=list
    )  # what runs: ARNs (or S3 bucket names) in a cloud account posture reads (cloud:)
