"""Survey an IaC tree before checkov reads it: size limits, YAML bombs, frameworks, digests.

checkov reads whatever it finds. A 20 MB generated file or a billion-laughs YAML would cost
minutes or gigabytes inside its parser, where we cannot stop it, so such files are turned away
here (each becomes an error result naming it) and excluded from checkov's walk. The survey also
yields the content digests that key the result cache.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from posture.safe_read import read_limited

from .iac_facts import FileProblem

# Folders checkov skips too, plus version control and dependency caches.
SKIPPED_DIRS = frozenset(
    {".git", ".terraform", ".terragrunt-cache", "node_modules", "__pycache__", ".venv", "venv"}
)
TERRAFORM_SUFFIXES = (".tf", ".hcl", ".tfvars")
DOCUMENT_SUFFIXES = (".yaml", ".yml", ".json", ".template")
_ANCHOR = re.compile(rb"(^|[\s\[{,:-])&[^\s]")
_ALIAS = re.compile(rb"(^|[\s\[{,:-])\*[^\s]")


@dataclass
class Survey:
    root: Path
    is_file: bool
    files: list[str] = field(default_factory=list)  # relative paths checkov may read
    excluded: list[str] = field(default_factory=list)  # absolute paths checkov must not read
    problems: list[FileProblem] = field(default_factory=list)
    has_terraform: bool = False
    has_documents: bool = False
    plan_files: list[str] = field(default_factory=list)  # terraform plan JSON (absolute)
    digest: str = ""


def _leads_outside(path: Path, real_root: str) -> bool:
    """A symlink whose target is outside the scanned tree (a pull request can commit one)."""
    if not path.is_symlink():
        return False
    real = os.path.realpath(path)
    return not (real == real_root or real.startswith(real_root.rstrip(os.sep) + os.sep))


def _walk(root: Path, outside: list[Path]) -> Iterator[Path]:
    """Files under ``root``; symlinked folders leading out of it go to ``outside``, unwalked."""
    real_root = os.path.realpath(root)
    for current, dirs, files in os.walk(root):
        kept = []
        for d in sorted(d for d in dirs if d not in SKIPPED_DIRS and not d.startswith(".")):
            if _leads_outside(Path(current) / d, real_root):
                outside.append(Path(current) / d)
            else:
                kept.append(d)
        dirs[:] = kept
        for name in sorted(files):
            if not name.startswith("."):
                yield Path(current) / name


def yaml_expanded_size(text: bytes, limit: int) -> int:
    """Nodes the YAML document would have once aliases are expanded, stopping past ``limit``.

    Composing keeps aliases as shared nodes, so this costs the size of the file, not of the
    expansion: the memo counts each shared node once and multiplies by its uses.
    """
    import yaml

    try:
        documents = list(
            yaml.compose_all(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        )
    except yaml.YAMLError:
        return 0  # not valid YAML: checkov reports it as a parse error
    memo: dict[int, int] = {}

    def size(node: yaml.Node, depth: int) -> int:
        key = id(node)
        if key in memo:
            return memo[key]
        if depth > 200:
            return limit + 1
        total = 1
        if isinstance(node, yaml.SequenceNode):
            for child in node.value:
                total += size(child, depth + 1)
                if total > limit:
                    break
        elif isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                total += size(k, depth + 1) + size(v, depth + 1)
                if total > limit:
                    break
        memo[key] = total
        return total

    return sum(size(d, 0) for d in documents if d is not None)


def survey(root: Path, *, max_file_bytes: int, max_yaml_nodes: int) -> Survey:
    is_file = root.is_file()
    out = Survey(root=root, is_file=is_file)
    base = root.parent if is_file else root
    outside: list[Path] = []
    paths = [root] if is_file else list(_walk(root, outside))
    real_base = os.path.realpath(base)
    digest = hashlib.sha256()
    for link in outside:
        rel = link.relative_to(base).as_posix()
        out.problems.append(
            FileProblem(
                rel, "outside_root", "a symlink leading outside the scanned folder; not scanned"
            )
        )
        out.excluded.append(str(link))
        digest.update(f"{rel}\0outside\n".encode())
    for path in paths:
        rel = path.relative_to(base).as_posix()
        if _leads_outside(path, real_base):
            out.problems.append(
                FileProblem(
                    rel, "outside_root", "a symlink leading outside the scanned folder; not scanned"
                )
            )
            out.excluded.append(str(path))
            digest.update(f"{rel}\0outside\n".encode())
            continue
        name = path.name.lower()
        relevant = name.endswith(TERRAFORM_SUFFIXES + DOCUMENT_SUFFIXES)
        try:
            stat = path.stat()
        except OSError as exc:
            out.problems.append(FileProblem(rel, "unreadable", f"cannot read: {exc.strerror}"))
            continue
        if not relevant:
            # checkov does not read it, but a module or a var file might one day: key on it cheaply
            digest.update(f"{rel}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
            continue
        if stat.st_size > max_file_bytes:
            out.problems.append(
                FileProblem(
                    rel,
                    "too_large",
                    f"{stat.st_size} bytes, over the {max_file_bytes}-byte limit for IaC files "
                    "(policy iac.max_file_bytes); not scanned",
                )
            )
            out.excluded.append(str(path))
            digest.update(f"{rel}\0too-large\0{stat.st_size}\n".encode())
            continue
        try:
            content = read_limited(path, max_file_bytes)
        except OSError as exc:
            out.problems.append(FileProblem(rel, "unreadable", f"cannot read: {exc.strerror}"))
            out.excluded.append(str(path))
            continue
        digest.update(f"{rel}\0".encode() + hashlib.sha256(content).digest() + b"\n")
        if name.endswith((".yaml", ".yml")) and _ANCHOR.search(content) and _ALIAS.search(content):
            if yaml_expanded_size(content, max_yaml_nodes) > max_yaml_nodes:
                out.problems.append(
                    FileProblem(
                        rel,
                        "yaml_bomb",
                        f"YAML aliases expand to more than {max_yaml_nodes} nodes "
                        "(a 'billion laughs' document?); not scanned",
                    )
                )
                out.excluded.append(str(path))
                continue
        out.files.append(rel)
        if name.endswith(TERRAFORM_SUFFIXES):
            out.has_terraform = True
        else:
            out.has_documents = True
            if name.endswith(".json") and b'"planned_values"' in content[:1_000_000]:
                out.plan_files.append(str(path))
    out.digest = digest.hexdigest()
    return out
