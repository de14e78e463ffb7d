"""Keep one pull-request comment with posture's summary up to date.

Only a comment written by the token's own user (and starting with the marker) is ever edited:
anyone can post a comment that starts with the marker, and editing theirs would put posture's
report under their name or let them choose which comment the bot rewrites. The author is
``comment-author`` when given, else the login ``GET /user`` returns for the token, else
``github-actions[bot]`` (the GITHUB_TOKEN cannot read /user).

Run as ``python -I pr_comment.py`` from outside the checkout; stdlib only.
"""

from __future__ import annotations

import json
import os
import re
import sys
import urllib.error
import urllib.request
from typing import Any

MARKER = "<!-- posture-report -->"
TIMEOUT = 30
MAX_PAGES = 50
MAX_BODY = 65_536
DEFAULT_AUTHOR = "github-actions[bot]"


def call(method: str, url: str, token: str, body: Any = None) -> tuple[Any, str]:
    if not url.startswith(("https://", "http://")):
        raise ValueError(f"not an http(s) API URL: {url}")
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)  # noqa: S310 - checked above
    request.add_header("Authorization", f"Bearer {token}")
    request.add_header("Accept", "application/vnd.github+json")
    request.add_header("X-GitHub-Api-Version", "2022-11-28")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # noqa: S310 - checked above
        text = response.read(16 * 1024 * 1024).decode("utf-8")
        return (json.loads(text) if text else None), response.headers.get("Link", "")


def own_login(api: str, token: str) -> str:
    given = os.environ.get("COMMENT_AUTHOR", "").strip()
    if given:
        return given
    try:
        user, _ = call("GET", f"{api}/user", token)
        if isinstance(user, dict) and isinstance(user.get("login"), str):
            return str(user["login"])
    except (urllib.error.URLError, ValueError, OSError):
        pass  # an installation token (GITHUB_TOKEN) cannot read /user
    return DEFAULT_AUTHOR


def own_comment(api: str, repo: str, number: str, token: str, me: str) -> int | None:
    url: str | None = f"{api}/repos/{repo}/issues/{number}/comments?per_page=100"
    for _ in range(MAX_PAGES):
        if url is None:
            break
        page, link = call("GET", url, token)
        for comment in page if isinstance(page, list) else []:
            user = comment.get("user") or {}
            body = comment.get("body") or ""
            if user.get("login") == me and body.startswith(MARKER):
                return int(comment["id"])
        found = re.search(r'<([^>]+)>;\s*rel="next"', link)
        url = found.group(1) if found else None
    return None


def main() -> int:
    api = os.environ.get("GITHUB_API_URL", "https://api.github.com").rstrip("/")
    repo = os.environ["GITHUB_REPOSITORY"]
    number = os.environ["PR_NUMBER"]
    token = os.environ["GH_TOKEN"]
    if not re.fullmatch(r"[0-9]+", number) or not re.fullmatch(r"[\w.-]+/[\w.-]+", repo):
        print("posture: not a pull request number or repository", file=sys.stderr)
        return 1
    with open(os.environ["REPORT"], encoding="utf-8") as handle:
        body = handle.read(MAX_BODY)
    me = own_login(api, token)
    existing = own_comment(api, repo, number, token, me)
    if existing is not None:
        call("PATCH", f"{api}/repos/{repo}/issues/comments/{existing}", token, {"body": body})
    else:
        call("POST", f"{api}/repos/{repo}/issues/{number}/comments", token, {"body": body})
    return 0


if __name__ == "__main__":
    sys.exit(main())
