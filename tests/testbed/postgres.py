"""A throwaway PostgreSQL server on loopback, from Debian's server binaries (initdb + pg_ctl).

Tests call :func:`running_postgres` from a fixture; it skips the test when the binaries are
missing or the server will not start, and always stops the server and removes its files.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running_postgres(database: str = "posture") -> Iterator[str]:
    """Yield ``postgresql://posture@127.0.0.1:PORT/<database>`` (trust auth, loopback only)."""
    bins = sorted(Path("/usr/lib/postgresql").glob("*/bin"))
    if not bins:
        pytest.skip("PostgreSQL server binaries are not installed (apt-get install postgresql)")
    bindir = bins[-1]
    # not under pytest's tmp root (mode 0700, root's): the postgres user must reach it
    base = Path(tempfile.mkdtemp(prefix="posture-pg-"))
    base.chmod(0o777)
    data = base / "data"
    run_as: list[str] = []
    if os.geteuid() == 0:
        if not shutil.which("runuser"):
            pytest.skip("running as root without runuser: cannot start PostgreSQL")
        run_as = ["runuser", "-u", "postgres", "--"]
    port = _free_port()
    init = subprocess.run(
        [*run_as, str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "posture"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if init.returncode != 0:
        shutil.rmtree(base, ignore_errors=True)
        pytest.skip(f"initdb failed: {init.stderr.strip()[-200:]}")
    pg_ctl = [*run_as, str(bindir / "pg_ctl"), "-D", str(data)]
    start = subprocess.run(
        [
            *pg_ctl,
            "-w",
            "-t",
            "60",
            "-l",
            str(base / "log"),
            "-o",
            f"-h 127.0.0.1 -p {port} -k {base}",
            "start",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if start.returncode != 0:
        shutil.rmtree(base, ignore_errors=True)
        pytest.skip(f"PostgreSQL did not start: {start.stderr.strip()[-200:]}")
    try:
        subprocess.run(
            [
                str(bindir / "createdb"),
                "-h",
                "127.0.0.1",
                "-p",
                str(port),
                "-U",
                "posture",
                database,
            ],
            capture_output=True,
            timeout=60,
            check=True,
        )
        yield f"postgresql://posture@127.0.0.1:{port}/{database}"
    finally:
        subprocess.run(
            [*pg_ctl, "-m", "fast", "stop"], capture_output=True, timeout=60, check=False
        )
        shutil.rmtree(base, ignore_errors=True)
