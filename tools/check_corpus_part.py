"""Check one part of a corpus (text, reasons, competitor, register): ids, counts and lengths.

Usage: `python tools/check_corpus_part.py data/corpus2/parts/part_e.csv` prints the counts a
writer's guide asks for and exits 1 when a row is malformed.
"""

from __future__ import annotations

import csv
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from coding.ids import COMPETITORS, REASONS  # noqa: E402

REGISTERS = (
    "agent_note",
    "customer_account",
    "hotline_record",
    "social_post",
    "dialect",
    "typo",
    "short_answer",
    "no_reason",
)


def main(path: str) -> int:
    problems: list[str] = []
    reasons: Counter[str] = Counter()
    competitors: Counter[str] = Counter()
    registers: Counter[str] = Counter()
    texts: Counter[str] = Counter()
    rows = long = very_long = multi = none = 0
    with open(path, encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = {"text", "reasons", "competitor"} - set(reader.fieldnames or [])
        if missing:
            print(f"{path}: missing columns {sorted(missing)}")
            return 1
        for line, record in enumerate(reader, start=2):
            rows += 1
            text = (record.get("text") or "").strip()
            if not text:
                problems.append(f"line {line}: empty text")
            texts[text] += 1
            ids = [part.strip() for part in (record.get("reasons") or "").split(";") if part.strip()]
            unknown = [reason for reason in ids if reason not in REASONS]
            if unknown:
                problems.append(f"line {line}: unknown reason ids {unknown}")
            if ids != [reason for reason in REASONS if reason in ids]:
                problems.append(f"line {line}: reasons not in codebook order or repeated: {record['reasons']}")
            if record.get("competitor") not in COMPETITORS:
                problems.append(f"line {line}: unknown competitor {record.get('competitor')!r}")
            register = record.get("register") or record.get("style") or ""
            if "register" in (reader.fieldnames or []) and register not in REGISTERS:
                problems.append(f"line {line}: unknown register {register!r}")
            reasons.update(ids)
            competitors[record.get("competitor") or ""] += 1
            registers[register] += 1
            long += len(text) > 80
            very_long += len(text) > 150
            multi += len(ids) >= 2
            none += not ids
    duplicates = [text for text, count in texts.items() if count > 1]
    print(f"rows {rows}; longer than 80 characters {long} ({long / max(rows, 1):.0%}); longer than 150 {very_long}")
    print(f"two or more reasons {multi}; no reason {none}")
    print("reasons:", ", ".join(f"{reason} {reasons[reason]}" for reason in REASONS))
    print("competitors:", ", ".join(f"{c} {competitors[c]}" for c in COMPETITORS))
    print("registers:", ", ".join(f"{r} {n}" for r, n in registers.most_common()))
    if duplicates:
        print(f"{len(duplicates)} texts occur more than once, e.g. {duplicates[0]!r}")
    for problem in problems[:50]:
        print(problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
