"""--targets-file: storefronts listed outside posture.yaml, as an estate's inventory often is.

Two forms, told apart by the first line that is not blank or a ``#`` comment:

- one URL a line (``https://shop.example/``);
- CSV with a header naming some of ``name,url,profile,pages`` (``url`` required): ``profile`` is
  the Mozilla TLS profile (posture.yaml's ``tls_profile``) and ``pages`` lists named pages as
  ``checkout=/checkout;login=/account/login``.

The file is untrusted input: it is read up to a size limit, each row is validated like a
posture.yaml storefront, and a bad row is one error naming the file and line.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from posture.config import StorefrontConfig
from posture.errors import ConfigError
from posture.model import Location, Target, TargetKind

MAX_BYTES = 32 * 1024 * 1024
MAX_TARGETS = 200_000
COLUMNS = ("name", "url", "profile", "pages")


def read_targets_file(path: str | Path) -> list[Target]:
    path = Path(path)
    where = str(path)
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_BYTES + 1)
    except OSError as exc:
        raise ConfigError(
            f"cannot read the targets file: {exc.strerror or exc}", path=where
        ) from None
    if len(data) > MAX_BYTES:
        raise ConfigError(f"larger than {MAX_BYTES // (1024 * 1024)} MiB", path=where)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ConfigError("not UTF-8 text", path=where, line=line) from None
    lines = text.splitlines()
    first = next(
        (i for i, line in enumerate(lines) if line.strip() and not line.lstrip().startswith("#")),
        None,
    )
    if first is None:
        return []
    header = [c.strip().lower() for c in next(csv.reader([lines[first]]))]
    if "url" in header:
        targets = _from_csv(lines, first, header, where)
    else:
        targets = _from_urls(lines, where)
    if len(targets) > MAX_TARGETS:
        raise ConfigError(f"more than {MAX_TARGETS} targets", path=where)
    return targets


def _target(options: dict[str, Any], where: str, line: int) -> Target:
    try:
        shop = StorefrontConfig.model_validate(options)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"]) or "row"
        message = str(err.get("msg", "invalid value")).removeprefix("Value error, ")
        if err.get("type") == "extra_forbidden":
            message = "unknown key"
        raise ConfigError(f"{field}: {message}", path=where, line=line) from None
    return Target(TargetKind.STOREFRONT, shop.url, shop.model_dump(), Location(where, line))


def _from_urls(lines: list[str], where: str) -> list[Target]:
    targets = []
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if len(line.split()) != 1 or "," in line:
            raise ConfigError(
                "expected one URL a line (or CSV with a header naming name,url,profile,pages)",
                path=where,
                line=number,
            )
        targets.append(_target({"url": line}, where, number))
    return targets


def _pages(value: str, where: str, line: int) -> dict[str, str]:
    pages: dict[str, str] = {}
    for item in value.split(";"):
        if not item.strip():
            continue
        name, sep, page = item.partition("=")
        if not (sep and name.strip() and page.strip()):
            raise ConfigError(
                f"pages: {item.strip()!r} is not NAME=PATH (e.g. checkout=/checkout)",
                path=where,
                line=line,
            )
        pages[name.strip()] = page.strip()
    return pages


def _from_csv(lines: list[str], first: int, header: list[str], where: str) -> list[Target]:
    unknown = [c for c in header if c not in COLUMNS]
    if unknown or len(set(header)) != len(header):
        what = f"unknown column {unknown[0]!r}" if unknown else "a column is named twice"
        raise ConfigError(f"{what} (columns: {', '.join(COLUMNS)})", path=where, line=first + 1)
    targets = []
    body = "\n".join(lines[first + 1 :])
    # one physical line per row: a quoted newline would make line numbers lie, so it is refused
    for offset, raw in enumerate(body.split("\n"), start=first + 2):
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        try:
            row = next(csv.reader(io.StringIO(raw), strict=True))
        except (csv.Error, StopIteration) as exc:
            raise ConfigError(f"bad CSV row: {exc}", path=where, line=offset) from None
        if len(row) != len(header):
            raise ConfigError(
                f"{len(row)} fields, the header has {len(header)}", path=where, line=offset
            )
        cells = {k: v.strip() for k, v in zip(header, row, strict=True)}
        options: dict[str, Any] = {"url": cells["url"]}
        if cells.get("name"):
            options["name"] = cells["name"]
        if cells.get("profile"):
            options["tls_profile"] = cells["profile"]
        if cells.get("pages"):
            options["pages"] = _pages(cells["pages"], where, offset)
        targets.append(_target(options, where, offset))
    return targets
