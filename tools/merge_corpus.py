"""Merge a corpus's parts, written by its writers, into its `labelled_answers.csv`.

Run after the parts change:

    python tools/merge_corpus.py data/corpus              # the first corpus
    python tools/merge_corpus.py data/corpus2 --local-ids # the second

Exact duplicate texts are kept once (the first, parts in name order; with `--avoid` a text already
in another corpus is left out too); the split is fixed by a hash of the text. Ids are the merged
row number, or with `--local-ids` the part's letter and the row's number in the part's file
(`e-0012`), which stay put whatever is added or left out elsewhere. The adjudicated codes of the folder's
`adjudication.csv` (by id) replace the writers' codes where the two blind coders disagreed.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from coding.corpus import join_reasons, parse_reasons, split_of  # noqa: E402
from coding.ids import COMPETITORS  # noqa: E402

FIELDS = ["id", "text", "reasons", "competitor", "style", "split", "part"]


def merge(folder: Path, *, local_ids: bool, avoid: list[Path], adjudicated: bool = True) -> list[dict[str, str]]:
    seen: set[str] = set()
    for other in avoid:
        with other.open(encoding="utf-8-sig", newline="") as handle:
            seen.update(" ".join(record["text"].split()) for record in csv.DictReader(handle))
    rows = []
    for part in sorted((folder / "parts").glob("*.csv")):
        with part.open(encoding="utf-8-sig", newline="") as handle:
            for number, record in enumerate(csv.DictReader(handle), start=1):
                text = " ".join((record.get("text") or "").split())
                if not text or text in seen:
                    continue
                reasons = parse_reasons(record["reasons"])
                if record["competitor"] not in COMPETITORS:
                    raise SystemExit(f"{part}: unknown competitor {record['competitor']!r} for {text!r}")
                seen.add(text)
                letter = part.stem.removeprefix("part_")
                rows.append(
                    {
                        "id": f"{letter}-{number:04d}" if local_ids else str(len(rows) + 1),
                        "text": text,
                        "reasons": join_reasons(reasons),
                        "competitor": record["competitor"],
                        "style": record.get("register") or record.get("style") or "",
                        "split": split_of(text),
                        "part": part.stem,
                    }
                )
    adjudication = folder / "adjudication.csv"
    if adjudicated and adjudication.exists():
        by_id = {row["id"]: row for row in rows}
        with adjudication.open(encoding="utf-8", newline="") as handle:
            for decision in csv.DictReader(handle):
                row = by_id[decision["id"]]
                row["reasons"] = join_reasons(parse_reasons(decision["reasons"]))
                row["competitor"] = decision["competitor"]
    return rows


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--local-ids", action="store_true")
    parser.add_argument("--avoid", type=Path, action="append", default=[], help="another corpus's merged file")
    options = parser.parse_args(argv)
    rows = merge(options.folder, local_ids=options.local_ids, avoid=options.avoid)
    target = options.folder / "labelled_answers.csv"
    with target.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {len(rows)} answers to {target}")


if __name__ == "__main__":
    main(sys.argv[1:])
