"""posture.yaml: its schema, its loader, and the targets it declares.

Strict at the edge: an unknown key, a wrong type or a referenced file that does not exist is a
``ConfigError`` naming the file and line. Validation is pydantic; line numbers come from the
line-tracking YAML loader, matched to pydantic's error locations.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from posture._yaml import LineDict, line_of, load_yaml_file
from posture.controls import Controls
from posture.errors import ConfigError
from posture.model import Location, Target, TargetKind

CONFIG_VERSION = 1


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class PageConfig(_Strict):
    path: str
    tls_profile: str | None = None


class StorefrontConfig(_Strict):
    url: str
    name: str | None = None
    # Named pages: checkout, login, account... A value is a path ("/checkout") or a full URL.
    pages: dict[str, str | PageConfig] = Field(default_factory=dict)
    # Mozilla profile: intermediate (default), modern, old, or a path to a Mozilla-format JSON.
    tls_profile: str | None = None
    # Where to probe the plain-http redirect; default http://<host>/.
    http_url: str | None = None
    # Named pages (keys of `pages:`) that take payment: every script on them is inventoried and
    # compared with the last scan (PCI DSS 6.4.3, 11.6.1). Added to policy web.payment_page_names.
    payment_pages: list[str] = Field(default_factory=list)
    # Markets the storefront serves: consent before tracking is judged only where it serves the
    # EEA (GDPR, ePrivacy 5(3)); the opt-out signal where it serves California (CCPA).
    serves_eea: bool = False
    serves_california: bool = True

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {value!r}")
        return value

    @model_validator(mode="after")
    def _payment_pages_named(self) -> StorefrontConfig:
        unknown = [n for n in self.payment_pages if n != "home" and n not in self.pages]
        if unknown:
            raise ValueError(
                f"payment_pages names {', '.join(unknown)}, which pages: does not declare"
            )
        return self


class IacConfig(_Strict):
    path: str
    # Restrict frameworks (terraform, cloudformation, kubernetes); default: all three.
    frameworks: list[Literal["terraform", "cloudformation", "kubernetes"]] | None = None


_AREAS = (
    "tls",
    "web",
    "access",
    "encryption",
    "backup",
    "payment",
    "vendor",
    "privacy",
    "logging",
    "other",
)
_SEVERITIES = ("critical", "high", "medium", "low", "info")


class CheckovMappingOverride(_Strict):
    """One checkov id's area and/or severity, overriding policies/mappings/checkov.yaml."""

    area: str | None = None
    severity: str | None = None

    @field_validator("area")
    @classmethod
    def _area(cls, value: str | None) -> str | None:
        if value is not None and value not in _AREAS:
            raise ValueError(f"unknown area {value!r} (expected one of: {', '.join(_AREAS)})")
        return value

    @field_validator("severity")
    @classmethod
    def _severity(cls, value: str | None) -> str | None:
        if value is not None and value not in _SEVERITIES:
            names = ", ".join(_SEVERITIES)
            raise ValueError(f"unknown severity {value!r} (expected one of: {names})")
        return value


class CheckovConfig(_Strict):
    # checkov id (CKV_AWS_19, CKV2_AWS_6 ...) -> {area, severity}
    mapping: dict[str, CheckovMappingOverride] = Field(default_factory=dict)

    @field_validator("mapping")
    @classmethod
    def _ids(cls, value: dict[str, CheckovMappingOverride]) -> dict[str, CheckovMappingOverride]:
        for check_id in value:
            if not re.fullmatch(r"CKV[0-9]?_[A-Z0-9]+_[0-9]+", check_id):
                raise ValueError(f"{check_id!r} is not a checkov check id (like CKV_AWS_19)")
        return value


class EvidenceFile(_Strict):
    path: str
    # wireguard, openvpn, sshd, nginx ...; default: detected from name and content.
    kind: str | None = None


class PolicyConfig(_Strict):
    profile: str = "default"
    overrides: dict[str, Any] = Field(default_factory=dict)


class Config(_Strict):
    version: int = CONFIG_VERSION
    storefronts: list[StorefrontConfig] = Field(default_factory=list)
    iac: list[IacConfig] = Field(default_factory=list)
    configs: list[EvidenceFile] = Field(default_factory=list)
    controls: Controls = Field(default_factory=Controls)
    checkov: CheckovConfig = Field(default_factory=CheckovConfig)
    policy: PolicyConfig = Field(default_factory=PolicyConfig)
    waivers: list[dict[str, Any]] = Field(default_factory=list)

    # Not part of the file: where it was read from, and its raw line-annotated tree.
    _path: str = ""
    _raw: Any = None
    _waivers: list[Any] = []

    @property
    def path(self) -> str:
        return self._path

    @property
    def loaded_waivers(self) -> list[Any]:
        """The ``waivers:`` entries, validated, each knowing its line (posture.waivers)."""
        return list(self._waivers)

    @property
    def base_dir(self) -> Path:
        return Path(self._path).parent if self._path else Path.cwd()

    def line(self, *loc: str | int) -> int | None:
        """The line in posture.yaml of the element at ``loc`` (e.g. ``"storefronts", 0``)."""
        return line_of(self._raw, loc) if self._raw is not None else None

    def resolve_path(self, value: str) -> Path:
        path = Path(value).expanduser()
        return path if path.is_absolute() else self.base_dir / path


def load_config(path: str | Path) -> Config:
    """Read and validate posture.yaml. Raises ``ConfigError`` with file and line."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError("configuration file not found", path=str(path))
    raw = load_yaml_file(path)
    if raw is None:
        raw = LineDict()
    if not isinstance(raw, dict):
        raise ConfigError("the top level must be a mapping", path=str(path), line=1)
    try:
        config = Config.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(p for p in err["loc"] if isinstance(p, (str, int)))
        # pydantic adds the union member's name to the location; drop parts the data lacks
        line = line_of(raw, loc)
        dotted = ".".join(str(p) for p in loc) or "(top level)"
        message = _friendly(err)
        raise ConfigError(f"{dotted}: {message}", path=str(path), line=line) from None
    config._path = str(path)
    config._raw = raw
    from posture.waivers import parse_waivers

    config._waivers = parse_waivers(raw.get("waivers"), str(path), raw, ("waivers",))
    if config.version != CONFIG_VERSION:
        raise ConfigError(
            f"unsupported version {config.version} (this posture reads version {CONFIG_VERSION})",
            path=str(path),
            line=config.line("version"),
        )
    _check_files_exist(config)
    return config


def _friendly(err: Any) -> str:
    kind = err.get("type", "")
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "missing":
        return "required key is missing"
    msg = str(err.get("msg", "invalid value"))
    return msg.removeprefix("Value error, ")


def _check_files_exist(config: Config) -> None:
    for section in ("iac", "configs"):
        for index, item in enumerate(getattr(config, section)):
            if not config.resolve_path(item.path).exists():
                raise ConfigError(
                    f"{section}[{index}].path: no such file or directory: {item.path}",
                    path=config.path,
                    line=config.line(section, index, "path"),
                )


def targets_from_config(config: Config) -> list[Target]:
    """Every target posture.yaml declares, each knowing the line that declares it."""
    targets: list[Target] = []

    def where(*loc: str | int) -> Location:
        return Location(config.path, config.line(*loc))

    for i, shop in enumerate(config.storefronts):
        options = shop.model_dump()
        targets.append(Target(TargetKind.STOREFRONT, shop.url, options, where("storefronts", i)))
    for i, tree in enumerate(config.iac):
        options = {**tree.model_dump(), "abs_path": str(config.resolve_path(tree.path))}
        targets.append(Target(TargetKind.IAC, tree.path, options, where("iac", i)))
    for i, evidence in enumerate(config.configs):
        options = {**evidence.model_dump(), "abs_path": str(config.resolve_path(evidence.path))}
        targets.append(Target(TargetKind.CONFIG, evidence.path, options, where("configs", i)))
    if config.controls != Controls():
        targets.append(Target(TargetKind.CONTROLS, "controls", {}, where("controls")))
    payments = config.controls.payments
    if payments is None or payments.scan_repository:
        # The repository holding posture.yaml is searched for card data unless told otherwise.
        folder = (
            config.resolve_path(payments.repository)
            if payments and payments.repository
            else config.base_dir
        )
        loc = where("controls", "payments") if payments else Location(config.path, None)
        targets.append(
            Target(TargetKind.REPOSITORY, str(folder), {"abs_path": str(folder.resolve())}, loc)
        )
    return targets
