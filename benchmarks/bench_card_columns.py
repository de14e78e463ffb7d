"""Card-data columns on real shop code: how many storage definitions each framework parser reads,
how many card fields it reports, and how many a name-only search would have reported in the same
files (the false positives the definition-first reading avoids). Run by hand:

    python benchmarks/bench_card_columns.py /path/to/saleor /path/to/solidus ...
"""

from __future__ import annotations

import re
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from posture.checks.collectors.card_columns import PARSERS, card_fields, framework  # noqa: E402
from posture.checks.collectors.card_data import list_files, scan_repository  # noqa: E402

# The name-only search posture used before (any mention of the name in a storage file).
NAIVE = re.compile(
    r"(?i)(?<![a-z0-9_])((?:card_?|cc_?|credit_?card_?|payment_?)?(?:cvv2?|cvc2?|cvn)|"
    r"card_?verification(?:_?(?:value|code))?|card_?security_?code|verification_?value|"
    r"card_?number|credit_?card_?(?:number|no)|cc_?num(?:ber)?|card_?pan|primary_?account_?number)"
    r"(?![a-z0-9_])"
)


def main(roots: list[str]) -> None:
    for root in map(Path, roots):
        start = time.perf_counter()
        per_fw: Counter[str] = Counter()
        definitions: Counter[str] = Counter()
        naive: list[str] = []
        anywhere = 0  # name-only hits in every source file (what a mention search would report)
        found: list[str] = []
        for path in list_files(root, 200_000):
            try:
                if not path.is_file() or path.is_symlink() or path.stat().st_size > 2_000_000:
                    continue
                data = path.read_bytes()
            except OSError:
                continue
            if b"\x00" in data[:8192]:
                continue
            rel = str(path.relative_to(root))
            text = data.decode("utf-8", "replace")
            if rel.endswith((".py", ".rb", ".ts", ".js", ".php", ".sql", ".prisma", ".xml")):
                anywhere += sum(len(NAIVE.findall(line)) for line in text.splitlines())
            fw = framework(rel, text)
            if fw is None:
                continue
            per_fw[fw] += 1
            definitions[fw] += len(PARSERS[fw](text))
            for number, line in enumerate(text.splitlines(), 1):
                for _m in NAIVE.finditer(line):
                    naive.append(f"{rel}:{number}: {line.strip()[:100]}")
            found += [
                f"{f.path}:{f.line} {f.column} ({f.kind}, {f.action})"
                for f in card_fields(rel, text, fw)
            ]
        facts = scan_repository(root, 2_000_000, 200_000)
        elapsed = time.perf_counter() - start
        print(f"== {root.name}: {sum(per_fw.values())} storage files {dict(per_fw)}")
        print(f"   definitions read: {dict(definitions)}")
        print(
            f"   card fields: {len(found)} (live {len(facts.columns)}, retired {len(facts.retired)})"
        )
        for line in found:
            print("     ", line)
        print(f"   name-only hits in the same files: {len(naive)}; in all source files: {anywhere}")
        for line in naive[:40]:
            print("     ", line)
        print(f"   {elapsed:.1f} s")


if __name__ == "__main__":
    main(sys.argv[1:])
