"""Searches a repository for card data: primary account numbers and card-data columns.

Files come from git (tracked and untracked, .gitignore honoured) when the folder is a git
work tree, else from a walk that skips the usual vendored folders. Binaries and files over the
size limit are skipped. A number counts when it is Luhn-valid and in a real issuer range; the
well-known test numbers are recognised as such. Only the masked form (first 6, last 4) is kept.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from posture.checks.collectors.card_columns import CardField, card_fields, is_migration, live
from posture.errors import CollectError
from posture.model import Target, TargetKind
from posture.plugin import CollectContext, collector
from posture.safe_read import FileRefused, read_limited

# Not inside a longer number or a dotted version/decimal ("1.4556...1.2"); a full stop or other
# punctuation that ends a sentence does not hide a number.
_CANDIDATE = re.compile(r"(?<!\d)(?<!\d\.)(?:\d[ -]?){12,18}\d(?!\d)(?!\.\d)")
_SYNTHETIC = re.compile(r"(\d)\1{6,}")  # seven equal digits in a row: a made-up number
_SKIP_DIRS = {
    ".git",
    "node_modules",
    ".venv",
    "venv",
    "vendor",
    "__pycache__",
    "dist",
    "build",
    ".terraform",
}
TEST_CARDS = {
    "4111111111111111",
    "4242424242424242",
    "4012888888881881",
    "4000056655665556",
    "4000000000000002",
    "5555555555554444",
    "5105105105105100",
    "5200828282828210",
    "2223003122003222",
    "378282246310005",
    "371449635398431",
    "378734493671000",
    "6011111111111117",
    "6011000990139424",
    "3530111333300000",
    "3566002020360505",
    "30569309025904",
    "38520000023237",
    "6200000000000005",
    "4222222222222",
}


def luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def issuer(digits: str) -> str | None:
    """The card brand whose IIN range and length fit, else None."""
    n, p2, p3, p4, p6 = (
        len(digits),
        int(digits[:2]),
        int(digits[:3]),
        int(digits[:4]),
        int(digits[:6]),
    )
    if digits[0] == "4" and n in (13, 16, 19):
        return "visa"
    if (51 <= p2 <= 55 or 222100 <= p6 <= 272099) and n == 16:
        return "mastercard"
    if p2 in (34, 37) and n == 15:
        return "amex"
    if (p4 == 6011 or 644 <= p3 <= 649 or p2 == 65) and 16 <= n <= 19:
        return "discover"
    if 3528 <= p4 <= 3589 and 16 <= n <= 19:
        return "jcb"
    if (300 <= p3 <= 305 or p2 in (36, 38, 39)) and 14 <= n <= 19:
        return "diners"
    if p2 == 62 and 16 <= n <= 19:
        return "unionpay"
    return None


def mask(digits: str) -> str:
    return f"{digits[:6]}{'*' * (len(digits) - 10)}{digits[-4:]}"


@dataclass(frozen=True)
class CardMatch:
    path: str
    line: int
    masked: str
    brand: str
    test_number: bool


@dataclass(frozen=True)
class ColumnMatch:
    path: str
    line: int
    column: str
    kind: str = ""  # "pan" | "cvv" (card_columns.classify)
    framework: str = ""  # the syntax that defines it: sql, rails, django, prisma, ...
    table: str | None = None
    dropped: bool = False  # a migration dropping it: the fix, never a finding


@dataclass(frozen=True)
class CardFacts:
    root: str
    files_scanned: int
    numbers: tuple[CardMatch, ...] = ()
    columns: tuple[ColumnMatch, ...] = ()
    skipped: tuple[tuple[str, str], ...] = field(default_factory=tuple)
    retired: tuple[ColumnMatch, ...] = ()  # dropped, or created by a migration a later one drops
    # Files past the policy's file cap, never searched: how many (counted up to 10,000 past the
    # cap); the first twenty are in ``skipped``
    past_cap: int = 0


_PAST_CAP_LISTED = 10_000  # how far past the cap the walk goes to count what it leaves out


def _inside(path: Path, root: Path) -> bool:
    """No path that leads out of the repository through a symlinked folder is read."""
    real, real_root = os.path.realpath(path), os.path.realpath(root)
    return real == real_root or real.startswith(real_root.rstrip(os.sep) + os.sep)


def list_files(root: Path, max_files: int) -> list[Path]:
    """Every file to search, at most ``max_files`` (``list_files_capped`` says what was cut)."""
    return list_files_capped(root, max_files)[0]


def list_files_capped(root: Path, max_files: int) -> tuple[list[Path], list[Path]]:
    """The files to search and (some of) those past the cap; the cap is never silent."""
    files = _all_files(root, max_files + _PAST_CAP_LISTED)
    return files[:max_files], files[max_files:]


def _all_files(root: Path, max_files: int) -> list[Path]:
    git = shutil.which("git")
    if git and (root / ".git").exists():
        proc = subprocess.run(
            # no fsmonitor hook or other command from a repository's config ever runs
            [
                git,
                "-c",
                "core.fsmonitor=false",
                "-C",
                str(root),
                "ls-files",
                "-co",
                "--exclude-standard",
                "-z",
            ],
            capture_output=True,
            timeout=60,
            check=False,
        )
        if proc.returncode == 0:
            names = [n for n in proc.stdout.decode("utf-8", "replace").split("\0") if n]
            return [p for p in (root / n for n in names[:max_files]) if _inside(p, root)]
    out: list[Path] = []
    for directory, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d not in _SKIP_DIRS]
        for name in files:
            if not _inside(Path(directory) / name, root):
                continue
            out.append(Path(directory) / name)
            if len(out) >= max_files:
                return out
    return out


def scan_text(path: str, text: str, schema_like: bool) -> tuple[list[CardMatch], list[ColumnMatch]]:
    numbers, columns = [], []
    for number, line in enumerate(text.splitlines(), 1):
        for m in _CANDIDATE.finditer(line):
            digits = re.sub(r"[ -]", "", m.group())
            brand = issuer(digits) if 13 <= len(digits) <= 19 else None
            if brand and luhn(digits):
                test = digits in TEST_CARDS or bool(_SYNTHETIC.search(digits[6:-1]))
                numbers.append(CardMatch(path, number, mask(digits), brand, test))
    if schema_like:
        columns = [
            ColumnMatch(path, f.line, f.column, f.kind, f.framework, f.table, f.action == "drop")
            for f in card_fields(path, text)
        ]
    return numbers, columns


def scan_repository(root: Path, max_bytes: int, max_files: int) -> CardFacts:
    numbers: list[CardMatch] = []
    columns: list[ColumnMatch] = []
    skipped: list[tuple[str, str]] = []
    files, past_cap = list_files_capped(root, max_files)
    scanned = 0
    for path in files:
        rel = str(path.relative_to(root)) if path.is_relative_to(root) else str(path)
        try:
            if not path.is_file() or path.is_symlink():
                continue
            data = read_limited(path, max_bytes)
        except FileRefused as exc:
            skipped.append((rel, f"{exc.strerror}, policy controls.card_scan.max_file_bytes"))
            continue
        except OSError as exc:
            skipped.append((rel, exc.strerror or "unreadable"))
            continue
        text = decode_text(data)
        if text is None:
            continue  # binary
        # which files define storage is decided by card_columns.framework (name and content)
        found, cols = scan_text(rel, text, True)
        numbers += found
        columns += cols
        scanned += 1
    for path in past_cap[:20]:
        rel = str(path.relative_to(root)) if path.is_relative_to(root) else str(path)
        cap = f"past the file cap of {max_files}, policy controls.card_scan.max_files"
        skipped.append((rel, cap))
    keep, retired = _live_columns(columns)
    return CardFacts(
        str(root),
        scanned,
        tuple(numbers),
        tuple(keep),
        tuple(skipped),
        tuple(retired),
        past_cap=len(past_cap),
    )


def _live_columns(columns: list[ColumnMatch]) -> tuple[list[ColumnMatch], list[ColumnMatch]]:
    """Columns still defined, and those dropped or retired by a later migration."""
    fields = [
        CardField(
            c.path,
            c.line,
            c.column,
            c.kind,
            c.framework,
            c.table,
            "drop" if c.dropped else "add",
            is_migration(c.path, c.framework),
        )
        for c in columns
    ]
    keep, retired = live(fields)
    kept = {(f.path, f.line, f.column) for f in keep}
    return (
        [c for c in columns if (c.path, c.line, c.column) in kept],
        [c for c in columns if (c.path, c.line, c.column) not in kept],
    )


_BOMS = (
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
    (b"\xef\xbb\xbf", "utf-8"),
)


def decode_text(data: bytes) -> str | None:
    """The text of a file, ``None`` for a binary. A byte-order mark names the encoding (Windows
    exports are often UTF-16, full of NUL bytes that would otherwise read as binary)."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return data[len(bom) :].decode(encoding, "replace")
    if b"\x00" in data[:8192]:
        return None
    return data.decode("utf-8", "replace")


@collector(name="card_data", target=TargetKind.REPOSITORY)
def collect_card_data(target: Target, ctx: CollectContext) -> CardFacts:
    root = Path(target.options.get("abs_path") or target.name)
    if not root.is_dir():
        raise CollectError(f"{root}: not a folder to search for card data")
    return scan_repository(
        root,
        int(ctx.policy.get("controls.card_scan.max_file_bytes", 2_000_000)),
        int(ctx.policy.get("controls.card_scan.max_files", 20000)),
    )
