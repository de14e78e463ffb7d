"""One bounded read for every file that comes from a pull request.

A path in posture.yaml may name ``/dev/zero`` (endless), a FIFO (blocks for ever), a folder or a
file of gigabytes. ``read_limited`` opens without blocking, refuses anything that is not a
regular file (checked on the open descriptor, so a swap between check and read changes nothing)
and reads at most the limit plus one byte, so a file that grows while read is still refused.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import Any

_KINDS = {
    stat.S_IFDIR: "a folder",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFIFO: "a FIFO",
    stat.S_IFSOCK: "a socket",
}


MAX_SCAN_JSON_BYTES = 256 * 1024 * 1024  # a posture JSON result given to --from


class FileRefused(OSError):
    """The file is not a regular file or is over the limit; ``strerror`` says which, in words."""


def read_limited(path: str | Path, max_bytes: int) -> bytes:
    """The bytes of regular file ``path`` if it holds at most ``max_bytes``.

    Raises ``FileRefused`` (an ``OSError``) for anything else, and ``OSError`` when the file
    cannot be opened; both carry ``strerror`` and ``filename`` for a one-line message."""
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOCTTY", 0)
    fd = os.open(path, flags)  # O_NONBLOCK: opening a FIFO does not wait for a writer
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = _KINDS.get(stat.S_IFMT(info.st_mode), "a special file")
            raise FileRefused(errno.EINVAL, f"not a regular file ({kind})", str(path))
        if info.st_size > max_bytes:
            raise FileRefused(errno.EFBIG, _over(info.st_size, max_bytes), str(path))
        chunks: list[bytes] = []
        left = max_bytes + 1
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        data = b"".join(chunks)
        if len(data) > max_bytes:
            raise FileRefused(errno.EFBIG, _over(None, max_bytes), str(path))
        return data
    finally:
        os.close(fd)


def _over(size: int | None, max_bytes: int) -> str:
    what = f"{size} bytes" if size is not None else "it grew while read"
    return f"{what}, over the {max_bytes}-byte limit"


def describe(exc: OSError) -> str:
    """``cannot read: <reason>`` for a message that already names the file."""
    return exc.strerror or exc.__class__.__name__


def parse_json(data: bytes | str) -> Any:
    """``json.loads`` that turns a nesting too deep for the parser into a ``ValueError``."""
    import json

    try:
        return json.loads(data)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None
