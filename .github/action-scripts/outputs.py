"""Step outputs from posture's JSON result: failing findings by severity, and new ones.

Run by the Action as ``python -I outputs.py FILE`` from outside the checkout: isolated mode puts
neither the working directory nor this script's folder on ``sys.path``, so a ``json.py``
committed in a pull request is never imported. Only integers are printed.
"""

from __future__ import annotations

import json
import sys

SEVERITIES = ("critical", "high", "medium", "low", "info")
MAX_BYTES = 256 * 1024 * 1024


def main(path: str) -> int:
    with open(path, "rb") as handle:
        data = handle.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        print(f"posture: {path}: too large", file=sys.stderr)
        return 1
    doc = json.loads(data)
    fails = [r for r in doc.get("results", []) if r.get("status") == "fail"]
    for sev in SEVERITIES:
        print(f"{sev}={sum(r.get('severity') == sev for r in fails)}")
    print(f"new={sum(r.get('baseline') == 'new' for r in fails)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
