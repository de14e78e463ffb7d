"""Running a daemon's own parser (``sshd -T``, ``nginx -t``) on a sanitised copy of a scanned
file: where to find the binary, how it is run (bounded, no stdin, a minimal environment, inside
posture's temporary folder) and its version, asked once per binary.

``POSTURE_CONFIG_PARSER=posture`` turns the daemons off: posture's own parser is used alone.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess

DAEMON_TIMEOUT = 10.0
DISABLE_ENV = "POSTURE_CONFIG_PARSER"  # "posture": never run the daemons' own parsers
_ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C"}


def daemon_disabled() -> bool:
    return os.environ.get(DISABLE_ENV, "").strip().lower() == "posture"


def find_daemon(name: str) -> str | None:
    """``name`` on PATH, else in the system's sbin folders (often not on a user's PATH)."""
    return shutil.which(name) or next(
        (p for p in (f"/usr/sbin/{name}", f"/usr/local/sbin/{name}") if os.access(p, os.X_OK)),
        None,
    )


def run_daemon(argv: list[str], cwd: str | None = None) -> subprocess.CompletedProcess[bytes]:
    """One bounded run; raises OSError or subprocess.TimeoutExpired for the caller to report."""
    return subprocess.run(  # noqa: S603 - a daemon binary found above, argv built by posture
        argv,
        capture_output=True,
        timeout=DAEMON_TIMEOUT,
        check=False,
        stdin=subprocess.DEVNULL,
        env=_ENV,
        cwd=cwd,
    )


@functools.lru_cache(maxsize=8)
def version_text(binary: str, flag: str) -> str:
    """What ``binary flag`` prints about its version (stderr, else stdout); "" when it fails."""
    try:
        proc = run_daemon([binary, flag])
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return (proc.stderr or proc.stdout).decode("utf-8", "replace").strip()
