"""Refresh the shipped EasyPrivacy snapshot (policies/trackers/easyprivacy.txt). Needs the network;
never run by the tests. Run by hand, review the diff, and commit it:

    python tools/refresh_easyprivacy.py [--url URL]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import requests

URL = "https://easylist.to/easylist/easyprivacy.txt"
TARGET = Path(__file__).resolve().parent.parent / "policies" / "trackers" / "easyprivacy.txt"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", default=URL)
    args = parser.parse_args()
    response = requests.get(args.url, timeout=60)
    response.raise_for_status()
    text = response.text
    if not text.startswith("[Adblock Plus") or "! Title: EasyPrivacy" not in text[:500]:
        print(f"{args.url}: not an EasyPrivacy list", file=sys.stderr)
        return 1
    import braveblock

    braveblock.Adblocker(rules=text.splitlines())  # it must parse before it replaces the snapshot
    TARGET.write_text(text, encoding="utf-8")
    version = next((ln for ln in text.splitlines()[:10] if ln.startswith("! Version:")), "?")
    print(f"{TARGET}: {version}, {len(text.splitlines())} lines")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
