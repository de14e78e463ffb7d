"""A real nginx (Debian's) serving many storefronts on loopback, one server block per case.

One nginx process in the foreground (no daemon, no master) with its own prefix in a temporary
folder; each case listens on its own free 127.0.0.1 port. Stopped by the fixture that started it.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    name: str
    port: int
    body: str  # nginx directives inside server { }
    tls: bool = True


@dataclass
class Nginx:
    root: Path
    servers: list[Server] = field(default_factory=list)
    process: subprocess.Popen[bytes] | None = None

    def add(self, name: str, body: str, tls: bool = True) -> int:
        taken = {s.port for s in self.servers}
        port = free_port()
        while port in taken:  # the kernel may hand out a free port twice before nginx binds it
            port = free_port()
        self.servers.append(Server(name, port, body, tls))
        return port

    def port(self, name: str) -> int:
        return next(s.port for s in self.servers if s.name == name)

    def config(self) -> str:
        blocks = []
        for s in self.servers:
            listen = f"listen 127.0.0.1:{s.port}{' ssl' if s.tls else ''};"
            blocks.append(
                f"  server {{ # {s.name}\n    {listen}\n    server_name localhost;\n{s.body}\n  }}"
            )
        return (
            "daemon off;\nmaster_process off;\nworker_processes 1;\n"
            f"error_log {self.root}/error.log warn;\npid {self.root}/nginx.pid;\n"
            "events { worker_connections 1024; }\n"
            "http {\n"
            f"  access_log {self.root}/access.log;\n"
            f"  client_body_temp_path {self.root}/tmp; proxy_temp_path {self.root}/tmp;\n"
            f"  fastcgi_temp_path {self.root}/tmp; uwsgi_temp_path {self.root}/tmp;\n"
            f"  scgi_temp_path {self.root}/tmp;\n"
            "  default_type text/html;\n" + "\n".join(blocks) + "\n}\n"
        )

    def start(self) -> None:
        (self.root / "tmp").mkdir(parents=True, exist_ok=True)
        conf = self.root / "nginx.conf"
        conf.write_text(self.config())
        test = subprocess.run(
            [NGINX, "-t", "-p", str(self.root), "-c", str(conf)],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        if test.returncode != 0:
            raise RuntimeError(f"nginx config rejected:\n{test.stderr}")
        self.process = subprocess.Popen(
            [NGINX, "-p", str(self.root), "-c", str(conf)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 15
        pending = {s.port for s in self.servers}
        while pending and time.monotonic() < deadline:
            for port in list(pending):
                with socket.socket() as sock:
                    sock.settimeout(0.2)
                    if sock.connect_ex(("127.0.0.1", port)) == 0:
                        pending.discard(port)
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"nginx exited: {self.process.stderr.read().decode() if self.process.stderr else ''}"
                )
        if pending:
            self.stop()
            raise RuntimeError(f"nginx did not listen on {sorted(pending)}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.process = None
