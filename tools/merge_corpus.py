"""Merge the corpus parts written by the corpus writers into data/corpus/labelled_answers.csv.

Run once after the parts change: `python tools/merge_corpus.py data/corpus/parts/*.csv`.
Exact duplicate texts are kept once (the first); the split is fixed by a hash of the text; the
adjudicated codes of `data/corpus/adjudication.csv` (by id, the merged row number) replace the
writers' codes where the two blind coders disagreed.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

from coding.corpus import corpus_path, join_reasons, parse_reasons, split_of
from coding.ids import COMPETITORS


def main(parts: list[str]) -> None:
    seen: dict[str, str] = {}
    rows = []
    for part in sorted(parts):
        with open(part, encoding="utf-8-sig", newline="") as handle:
            for record in csv.DictReader(handle):
                text = " ".join(record["text"].split())
                if not text or text in seen:
                    continue
                reasons = parse_reasons(record["reasons"])
                if record["competitor"] not in COMPETITORS:
                    raise SystemExit(f"{part}: unknown competitor {record['competitor']!r} for {text!r}")
                seen[text] = part
                rows.append(
                    {
                        "text": text,
                        "reasons": join_reasons(reasons),
                        "competitor": record["competitor"],
                        "style": record["style"],
                        "split": split_of(text),
                        "part": Path(part).stem,
                    }
                )
    adjudication = corpus_path().with_name("adjudication.csv")
    if adjudication.exists():
        with adjudication.open(encoding="utf-8", newline="") as handle:
            for decision in csv.DictReader(handle):
                row = rows[int(decision["id"]) - 1]
                row["reasons"] = join_reasons(parse_reasons(decision["reasons"]))
                row["competitor"] = decision["competitor"]
    for number, row in enumerate(rows, start=1):
        row["id"] = str(number)
    target = corpus_path()
    with target.open("w", encoding="utf-8", newline="") as handle:
        fields = ["id", "text", "reasons", "competitor", "style", "split", "part"]
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {len(rows)} answers to {target}")


if __name__ == "__main__":
    main(sys.argv[1:])
