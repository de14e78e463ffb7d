"""Include directives of sshd_config and nginx.conf, resolved inside the scanned folder only.

A config kept in a repository names its includes as the server sees them (/etc/ssh/...,
/etc/nginx/...) or relative to the server's own directory. Both are looked for beside the file
and under the scanned folder (root/etc/ssh/...); a match that leads outside the folder (an
absolute path, `..`, a symlink) is never read, and the result says the include was not seen.
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

MAX_MATCHES = 256  # files one Include pattern may bring in
MAX_DEPTH = 16  # nested includes (sshd stops at 16 as well)


@dataclass(frozen=True)
class Included:
    files: tuple[Path, ...]
    note: str | None  # why nothing (or not everything) was read


def inside(path: Path, root: Path) -> bool:
    try:
        return path.resolve().is_relative_to(root.resolve())
    except (OSError, RuntimeError):  # symlink loops
        return False


def _candidates(pattern: str, base: Path, root: Path, system_dir: str) -> list[str]:
    pure = PurePosixPath(pattern)
    if pure.is_absolute():
        rel_to_root = str(pure).lstrip("/")
        out = []
        system = PurePosixPath(system_dir)
        if pure.is_relative_to(system):
            out.append(str(base / str(pure.relative_to(system))))
        out.append(str(root / rel_to_root))
        return out
    return [str(base / pattern), str(root / system_dir.lstrip("/") / pattern)]


def resolve(pattern: str, *, base: Path, root: Path, system_dir: str) -> Included:
    """The files an include pattern names, as found in the checkout (sorted, like glob(3))."""
    outside = False
    empty_folder = False
    for candidate in _candidates(pattern, Path(os.path.abspath(base)), root, system_dir):
        if not Path(os.path.normpath(candidate)).is_relative_to(root):
            outside = True  # ../../etc/shadow climbs out before anything is read
            continue
        files = []
        for match in sorted(glob.glob(candidate))[:MAX_MATCHES]:
            path = Path(match)
            if not inside(path, root):
                outside = True  # a symlink out of the folder
            elif path.is_file():
                files.append(path)
        if files:
            return Included(tuple(files), None)
        folder = Path(candidate).parent
        if glob.has_magic(candidate) and folder.is_dir() and inside(folder, root):
            empty_folder = True  # like the daemons: a wildcard matching nothing includes nothing
    if outside:
        return Included((), f"include {pattern} leads outside the scanned folder: not read")
    if empty_folder:
        return Included((), None)
    return Included((), f"include {pattern} is not in the checkout: its settings were not seen")
