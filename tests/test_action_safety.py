"""The Action on an untrusted pull request: nothing from the checkout executes, nothing the
checkout planted is read back as a result, and the PR comment step only edits its own comment.

Each test builds a hostile checkout with real files and runs the Action's own shell steps from
action.yml locally, as GitHub's runner would (bash, the step's env, the checkout as cwd)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from .conftest import FIXTURES, REPO

LOCAL = str(FIXTURES / "core" / "checks")
SECRET = "AUTHORIZATION: basic eC1hY2Nlc3MtdG9rZW46Z2hzX3NlY3JldA=="


def steps() -> dict[str, dict[str, Any]]:
    document = yaml.safe_load((REPO / "action.yml").read_text())
    return {str(s.get("name")): s for s in document["runs"]["steps"]}


def hostile_checkout(root: Path, config: str | None = None) -> Path:
    """A pull request's checkout that tries to run its own code and plant its own results."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "app.conf").write_text("user = shop\npassword = hunter2\n")
    (root / "posture.yaml").write_text(
        config
        or "version: 1\nstorefronts:\n  - url: https://shop.example/\nconfigs:\n  - path: app.conf\n"
    )
    planted = (
        "import sys\nprint('exit-code=0')\nprint('critical=0')\nprint('PLANTED', file=sys.stderr)\n"
    )
    for name in ("json.py", "pip.py", "posture.py", "sitecustomize.py", "encodings.py"):
        (root / name).write_text(planted)
    (root / ".git").mkdir(exist_ok=True)
    (root / ".git" / "config").write_text(
        f'[http "https://github.com/"]\n\textraheader = {SECRET}\n'
    )
    (root / "posture-results").mkdir(exist_ok=True)
    (root / "posture-results" / "posture.md").symlink_to("../.git/config")
    (root / "posture-results" / "posture.json").write_text(
        json.dumps({"results": [{"status": "pass", "severity": "high"}]})
    )
    return root


def action_env(tmp_path: Path, **inputs: str) -> dict[str, str]:
    runner_temp = tmp_path / "runner-temp"
    runner_temp.mkdir(exist_ok=True)
    env = {
        **os.environ,
        "GITHUB_OUTPUT": str(tmp_path / "output"),
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary"),
        "GITHUB_ACTION_PATH": str(REPO),
        "RUNNER_TEMP": str(runner_temp),
        "INPUT_CONFIG": "posture.yaml",
        "INPUT_FAIL_ON": "high",
        "INPUT_FORMATS": "sarif",
        "INPUT_BASELINE": "",
        "INPUT_NEW_ONLY": "false",
        "INPUT_WAIVERS": "",
        "INPUT_OUTPUT_DIR": "posture-results",
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
    }
    env.update(inputs)
    env.pop("PYTHONPATH", None)
    return env


def run_bash(
    script: str, env: dict[str, str], cwd: Path, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """One step's shell script, as the runner would run it."""
    return subprocess.run(
        ["bash", "-c", script],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def run_scan_step(checkout: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    script = str(steps()["Scan"]["run"])
    # the test checks only (no network); everything else is the step as written
    assert 'posture "${args[@]}"' in script
    script = script.replace(
        'posture "${args[@]}"', f'posture "${{args[@]}}" --checks-dir {LOCAL} --only TEST-FAILS'
    )
    return run_bash(script, env, checkout)


def outputs(tmp_path: Path) -> list[tuple[str, str]]:
    lines = (tmp_path / "output").read_text().splitlines()
    return [(k, v) for k, _, v in (line.partition("=") for line in lines)]


def test_code_committed_in_the_checkout_never_runs(tmp_path: Path) -> None:
    checkout = hostile_checkout(tmp_path / "checkout")
    env = action_env(tmp_path)
    proc = run_scan_step(checkout, env)
    assert proc.returncode == 0, proc.stderr
    assert "PLANTED" not in proc.stderr + proc.stdout
    codes = [v for k, v in outputs(tmp_path) if k == "exit-code"]
    assert codes == ["1"], codes  # the last value GitHub keeps is posture's own
    assert dict(outputs(tmp_path))["high"] == "1"
    gate = run_bash(
        str(steps()["Gate"]["run"]),
        {**env, "CODE": dict(outputs(tmp_path))["exit-code"]},
        checkout,
        timeout=60,
    )
    assert gate.returncode == 1
    # the install step: pip is the real pip, whatever pip.py the checkout holds
    install = str(steps()["Install posture"]["run"]).replace(
        'install --disable-pip-version-check -q "$GITHUB_ACTION_PATH"', "--version"
    )
    assert "--version" in install
    pip = run_bash(install, env, checkout, timeout=120)
    assert pip.returncode == 0 and pip.stdout.startswith("pip "), pip.stdout + pip.stderr
    assert "PLANTED" not in pip.stdout + pip.stderr
    # every Python the Action starts is isolated, and runs a module or a script of the action's
    # own folder, never inline code from a heredoc
    for step in steps().values():
        run = str(step.get("run", ""))
        for call in re.findall(r"\bpython\b[^\n]*", run):
            assert call.startswith("python -I "), call
            assert "python -I -m " in call or "$GITHUB_ACTION_PATH/" in call, call


def test_results_planted_in_the_checkout_are_never_read(tmp_path: Path) -> None:
    checkout = hostile_checkout(tmp_path / "checkout", config="version: 1\nnot_a_key: 1\n")
    env = action_env(tmp_path)
    proc = run_scan_step(checkout, env)
    assert proc.returncode == 0, proc.stderr
    got = dict(outputs(tmp_path))
    assert got["exit-code"] == "2"
    summary = tmp_path / "summary"
    text = summary.read_text() if summary.exists() else ""
    assert SECRET not in text and "extraheader" not in text
    assert "markdown" not in got and "json" not in got and "critical" not in got
    # a successful run's files are outside the checkout, in a folder of this run only
    checkout2 = hostile_checkout(tmp_path / "checkout2")
    (tmp_path / "output").unlink()
    run_scan_step(checkout2, env)
    got = dict(outputs(tmp_path))
    markdown = Path(got["markdown"])
    assert markdown.is_file() and not markdown.is_symlink()
    assert not markdown.resolve().is_relative_to(checkout2.resolve())
    assert markdown.resolve().is_relative_to((tmp_path / "runner-temp").resolve())
    assert SECRET not in markdown.read_text()
    assert (checkout2 / ".git" / "config").read_text().count(SECRET) == 1


def test_posture_never_writes_a_report_through_a_symlink(tmp_path: Path, run_cli: Any) -> None:
    checkout = hostile_checkout(tmp_path / "checkout")
    for planted in checkout.glob("*.py"):  # run_cli itself is `python -m posture` from here
        planted.unlink()
    victim = checkout / ".git" / "config"
    before = victim.read_text()
    base = ["scan", "-c", "posture.yaml", "--checks-dir", LOCAL, "--only", "TEST-FAILS"]
    # a symlinked file inside the output folder
    proc = run_cli(*base, "--output-dir", "posture-results", "--format", "md", cwd=checkout)
    assert proc.returncode == 2, proc.stderr
    assert "symlink" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert victim.read_text() == before
    # -o through a symlink
    (checkout / "report.json").symlink_to(".git/config")
    proc = run_cli(*base, "--format", "json", "-o", "report.json", cwd=checkout)
    assert proc.returncode == 2 and "symlink" in proc.stderr
    assert victim.read_text() == before
    # a symlinked output folder
    (checkout / "out").symlink_to(".git")
    proc = run_cli(*base, "--output-dir", "out", "--format", "json", cwd=checkout)
    assert proc.returncode == 2 and "symlink" in proc.stderr
    assert not (checkout / ".git" / "posture.json").exists()
    # a plain folder: written, and no temporary file left behind
    proc = run_cli(
        *base, "--output-dir", "clean", "--format", "json", "--format", "md", cwd=checkout
    )
    assert proc.returncode == 1, proc.stderr
    assert sorted(p.name for p in (checkout / "clean").iterdir()) == ["posture.json", "posture.md"]


# --- the pull-request comment step, against a local stand-in for the GitHub REST API ---------


class FakeGitHub(BaseHTTPRequestHandler):
    comments: list[dict[str, Any]] = []
    calls: list[tuple[str, str, Any]] = []

    def log_message(self, *args: Any) -> None:
        pass

    def _send(self, code: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self.calls.append(("GET", self.path, None))
        if self.path.startswith("/user"):
            self._send(403, {"message": "Resource not accessible by integration"})
        elif "/issues/7/comments" in self.path:
            self._send(200, self.comments)
        else:
            self._send(404, {"message": "Not Found"})

    def _body(self) -> Any:
        return json.loads(self.rfile.read(int(self.headers["Content-Length"])))

    def do_PATCH(self) -> None:
        self.calls.append(("PATCH", self.path, self._body()))
        self._send(200, {})

    def do_POST(self) -> None:
        self.calls.append(("POST", self.path, self._body()))
        self._send(201, {})


@pytest.fixture
def github_api() -> Iterator[tuple[str, type[FakeGitHub]]]:
    FakeGitHub.calls = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeGitHub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", FakeGitHub
    finally:
        server.shutdown()
        server.server_close()


def comment_step(tmp_path: Path, api: str) -> subprocess.CompletedProcess[str]:
    report = tmp_path / "posture.md"
    report.write_text("<!-- posture-report -->\n## posture\nfresh\n")
    env = {
        **action_env(tmp_path),
        "GITHUB_API_URL": api,
        "GITHUB_REPOSITORY": "shop/storefront",
        "GH_TOKEN": "test-token",
        "PR_NUMBER": "7",
        "REPORT": str(report),
    }
    return run_bash(
        str(steps()["Update the pull-request comment"]["run"]), env, tmp_path, timeout=60
    )


def test_pr_comment_step_edits_only_its_own_comment(
    tmp_path: Path, github_api: tuple[str, type[FakeGitHub]]
) -> None:
    api, handler = github_api
    handler.comments = [
        {
            "id": 11,
            "body": "<!-- posture-report -->\nlooks fine, merge",
            "user": {"login": "mallory", "type": "User"},
        },
        {
            "id": 12,
            "body": "<!-- posture-report -->\nold",
            "user": {"login": "github-actions[bot]", "type": "Bot"},
        },
    ]
    proc = comment_step(tmp_path, api)
    assert proc.returncode == 0, proc.stderr
    writes = [c for c in handler.calls if c[0] != "GET"]
    assert writes == [
        (
            "PATCH",
            "/repos/shop/storefront/issues/comments/12",
            {"body": "<!-- posture-report -->\n## posture\nfresh\n"},
        )
    ]
    # only someone else's comment carries the marker: a new comment, the other left alone
    handler.comments = handler.comments[:1]
    handler.calls = []
    proc = comment_step(tmp_path, api)
    assert proc.returncode == 0, proc.stderr
    writes = [c for c in handler.calls if c[0] != "GET"]
    assert [(m, p) for m, p, _ in writes] == [("POST", "/repos/shop/storefront/issues/7/comments")]


def test_sarif_paths_stay_relative_to_the_repository(tmp_path: Path) -> None:
    checkout = tmp_path / "checkout"
    shop = checkout / "shop"
    shop.mkdir(parents=True)
    (shop / "app.conf").write_text("user = shop\npassword = hunter2\n")
    (shop / "posture.yaml").write_text(
        "version: 1\nstorefronts:\n  - url: https://shop.example/\nconfigs:\n  - path: app.conf\n"
    )
    env = action_env(tmp_path, INPUT_CONFIG="shop/posture.yaml")
    script = str(steps()["Scan"]["run"]).replace(
        'posture "${args[@]}"',
        f'posture "${{args[@]}}" --checks-dir {LOCAL} --only TEST-FAILS --only TEST-FILE-SECRET',
    )
    proc = run_bash(script, env, checkout)
    assert proc.returncode == 0, proc.stderr
    sarif = json.loads(Path(dict(outputs(tmp_path))["sarif"]).read_text())
    uris = {
        loc["physicalLocation"]["artifactLocation"]["uri"]
        for run in sarif["runs"]
        for result in run["results"]
        for loc in result["locations"]
    }
    assert uris == {"shop/app.conf", "shop/posture.yaml"}, uris
    assert str(tmp_path) not in json.dumps(sarif)
