"""Write the texts of a merged corpus for a second, blind coder: ids and texts, no codes.

python tools/blind_copy.py data/corpus2 part_e   # writes data/corpus2/blind/part_e.csv
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path


def main(folder: str, part: str) -> None:
    root = Path(folder)
    with (root / "labelled_answers.csv").open(encoding="utf-8", newline="") as handle:
        rows = [row for row in csv.DictReader(handle) if row["part"] == part]
    target = root / "blind" / f"{part}.csv"
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "text"])
        writer.writerows([row["id"], row["text"]] for row in rows)
    print(f"wrote {len(rows)} texts to {target}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
