"""posture.yaml: its schema, its loader, and the targets it declares.

Strict at the edge: an unknown key, a wrong type or a referenced file that does not exist is a
``ConfigError`` naming the file and line. posture.yaml comes from a pull request like every other
file, so every path it names must stay inside the root (the folder holding posture.yaml, or
``--root``): no absolute path, no ``..`` out of it, no symlink leading out of it. Validation is
pydantic; line numbers come from the line-tracking YAML loader, matched to pydantic's error locations.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from posture._yaml import LineDict, line_of, load_yaml_file
from posture.controls import Controls
from posture.errors import ConfigError
from posture.model import Location, Target, TargetKind
from posture.sanitize import clean_text

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


class CloudAccount(_Strict):
    """A live account posture reads with read-only calls (docs/cloud.md)."""

    provider: Literal["aws"]
    regions: list[str] = Field(min_length=1)
    name: str | None = None
    role_arn: str | None = None  # assumed with sts:AssumeRole before any other call
    profile: str | None = None  # a named profile of the standard AWS configuration

    @field_validator("regions")
    @classmethod
    def _regions(cls, value: list[str]) -> list[str]:
        for region in value:
            if not re.fullmatch(r"[a-z]{2}(-[a-z]+)+-[0-9]", region):
                raise ValueError(f"{region!r} is not an AWS region name (like eu-west-1)")
        return value

    @field_validator("role_arn")
    @classmethod
    def _role(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"arn:aws[a-z-]*:iam::[0-9]{12}:role/[\w+=,.@/-]+", value):
            raise ValueError(f"{value!r} is not an IAM role ARN")
        return value

    def target_name(self) -> str:
        if self.name:
            return self.name
        who = self.role_arn or (f"profile {self.profile}" if self.profile else "default credentials")
        return f"aws ({who})"


class ImportFile(_Strict):
    """Findings another tool wrote, read as observed evidence (``posture scan --import``)."""

    path: str
    format: Literal["prowler-ocsf"] = "prowler-ocsf"


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
    cloud: list[CloudAccount] = Field(default_factory=list)
    imports: list[ImportFile] = Field(default_factory=list)
    policy: PolicyConfig = Field(default_factory=PolicyConfig)
    waivers: list[dict[str, Any]] = Field(default_factory=list)

    # Not part of the file: where it was read from, and its raw line-annotated tree.
    _path: str = ""
    _raw: Any = None
    _waivers: list[Any] = []
    _root: str = ""

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

    @property
    def root(self) -> Path:
        """Every path posture.yaml names stays inside this folder."""
        return Path(self._root) if self._root else self.base_dir

    def line(self, *loc: str | int) -> int | None:
        """The line in posture.yaml of the element at ``loc`` (e.g. ``"storefronts", 0``)."""
        return line_of(self._raw, loc) if self._raw is not None else None

    def resolve_path(self, value: str) -> Path:
        path = Path(value).expanduser()
        return path if path.is_absolute() else self.base_dir / path


def load_config(path: str | Path, root: str | Path | None = None) -> Config:
    """Read and validate posture.yaml. Raises ``ConfigError`` with file and line.

    ``root`` (``--root``) is the folder every path in the file must stay inside; by default the
    folder holding posture.yaml."""
    path = Path(path)
    if root is not None and not Path(root).is_dir():
        raise ConfigError("--root: not a folder", path=str(root))
    if not path.exists():
        raise ConfigError("configuration file not found", path=str(path))
    if path.is_symlink():
        folder = Path(root) if root is not None else path.parent
        if outside_root(folder, path.name, path.parent) is not None:
            # never parse it: a parse error would quote a line of a file outside the repository
            raise ConfigError(
                f"a symlink leading outside {folder}; posture reads no configuration from there",
                path=str(path),
            )
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
    config._root = str(Path(root).absolute()) if root is not None else ""
    from posture.waivers import parse_waivers

    config._waivers = parse_waivers(raw.get("waivers"), str(path), raw, ("waivers",))
    if config.version != CONFIG_VERSION:
        raise ConfigError(
            f"unsupported version {config.version} (this posture reads version {CONFIG_VERSION})",
            path=str(path),
            line=config.line("version"),
        )
    _confine_paths(config)
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


_PROFILE_NAMES = ("modern", "intermediate", "old")


def path_fields(config: Config) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """Every file or folder path posture.yaml names, with its location in the file."""
    for section in ("iac", "configs", "imports"):
        for index, item in enumerate(getattr(config, section)):
            yield (section, index, "path"), item.path
    for index, shop in enumerate(config.storefronts):
        if shop.tls_profile and shop.tls_profile not in _PROFILE_NAMES:
            yield ("storefronts", index, "tls_profile"), shop.tls_profile
        for name, page in shop.pages.items():
            if isinstance(page, PageConfig) and page.tls_profile:
                if page.tls_profile not in _PROFILE_NAMES:
                    yield ("storefronts", index, "pages", name, "tls_profile"), page.tls_profile
    controls = config.controls
    if controls.payments and controls.payments.repository:
        yield ("controls", "payments", "repository"), controls.payments.repository
    if controls.privacy:
        for field in ("incident_response_plan", "records_of_processing"):
            value = getattr(controls.privacy, field)
            if value:
                yield ("controls", "privacy", field), value
    if controls.access:
        if controls.access.offboarding_process:
            yield ("controls", "access", "offboarding_process"), controls.access.offboarding_process
        if controls.access.vpn and controls.access.vpn.config:
            yield ("controls", "access", "vpn", "config"), controls.access.vpn.config
    yield from _evidence_paths(controls, ("controls",))


def _evidence_paths(
    node: Any, loc: tuple[str | int, ...]
) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """Attestations' evidence files, wherever they sit under ``controls``."""
    from posture.controls import Attestation

    if isinstance(node, Attestation):
        if node.evidence:
            yield (*loc, "evidence"), node.evidence
    elif isinstance(node, BaseModel):
        for name in type(node).model_fields:
            yield from _evidence_paths(getattr(node, name), (*loc, name))
    elif isinstance(node, (list, tuple)):
        for index, item in enumerate(node):
            yield from _evidence_paths(item, (*loc, index))


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def outside_root(root: Path, value: str, base: Path | None = None) -> str | None:
    """Why ``value`` (a path from posture.yaml, relative to ``base``, by default ``root``) is not
    confined to ``root``, else ``None``."""
    if "\x00" in value:
        return "not a path"
    if Path(value).is_absolute() or value.startswith("~"):
        return f"absolute path {value!r} refused: give it relative, not outside {root}"
    lexical = os.path.normpath(os.path.join(os.path.abspath(base or root), value))
    if not _inside(lexical, os.path.normpath(os.path.abspath(root))):
        return f"{value!r} leads outside {root}"
    real_root = os.path.realpath(root)
    if not _inside(os.path.realpath(lexical), real_root):
        return f"{value!r} goes through a symlink that leads outside {root}"
    return None


def _confine_paths(config: Config) -> None:
    for loc, value in path_fields(config):
        problem = outside_root(config.root, value, config.base_dir)
        if problem is not None:
            dotted = ".".join(str(p) for p in loc)
            raise ConfigError(
                f"{dotted}: {problem} (paths stay inside the folder holding posture.yaml, or --root)",
                path=config.path,
                line=config.line(*loc),
            )


def _check_files_exist(config: Config) -> None:
    for section in ("iac", "configs", "imports"):
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
        shown = clean_text(shop.url)  # the URL's credentials, if any, stay in options only
        targets.append(Target(TargetKind.STOREFRONT, shown, options, where("storefronts", i)))
    for i, tree in enumerate(config.iac):
        options = {**tree.model_dump(), "abs_path": str(config.resolve_path(tree.path))}
        targets.append(Target(TargetKind.IAC, tree.path, options, where("iac", i)))
    for i, evidence in enumerate(config.configs):
        options = {**evidence.model_dump(), "abs_path": str(config.resolve_path(evidence.path))}
        targets.append(Target(TargetKind.CONFIG, evidence.path, options, where("configs", i)))
    for i, account in enumerate(config.cloud):
        options = account.model_dump()
        targets.append(Target(TargetKind.CLOUD, account.target_name(), options, where("cloud", i)))
    for i, imported in enumerate(config.imports):
        options = {**imported.model_dump(), "abs_path": str(config.resolve_path(imported.path))}
        targets.append(Target(TargetKind.IMPORT, imported.path, options, where("imports", i)))
    if config.controls != Controls():
        targets.append(Target(TargetKind.CONTROLS, "controls", {}, where("controls")))
    payments = config.controls.payments
    if payments is None or payments.scan_repository:
        # The repository holding posture.yaml is searched for card data unless told otherwise.
        name = payments.repository if payments and payments.repository else "."
        folder = config.resolve_path(name)
        loc = where("controls", "payments") if payments else Location(config.path, None)
        # named as posture.yaml names it (relative to its folder), never by the checkout's
        # absolute path: results and their fingerprints are the same in every clone
        name = Path(os.path.normpath(name)).as_posix()
        targets.append(
            Target(TargetKind.REPOSITORY, name, {"abs_path": str(folder.resolve())}, loc)
        )
    return targets
