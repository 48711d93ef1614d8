"""Compare the writers' codes with the blind second coding of a corpus; list what to adjudicate.

    python tools/disagreements.py data/corpus2

Writes `coder1.csv` (the writers' codes) and `coder2.csv` (the second coder's, from `coder2/*.csv`)
for `churn-survey agreement`, prints the agreement, and writes `disagreements.csv`: every answer
on which the two differ in reasons or competitor, with both codings side by side as A and B
(which is the writer's is not said), for the adjudicating pass.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from coding.agreement import agreement, cohen_kappa  # noqa: E402
from coding.corpus import join_reasons, parse_reasons  # noqa: E402
from tools.merge_corpus import merge  # noqa: E402


def read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def write(path: Path, fields: list[str], rows: list[dict[str, str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)


def main(folder: str) -> None:
    root = Path(folder)
    merged = {row["id"]: row for row in read(root / "labelled_answers.csv")}
    writers = {
        row["id"]: row for row in merge(root, local_ids=True, avoid=[], adjudicated=False) if row["id"] in merged
    }
    second = {row["id"]: row for path in sorted((root / "coder2").glob("*.csv")) for row in read(path)}
    both = [key for key in writers if key in second and key in merged]
    for row in second.values():
        row["reasons"] = join_reasons(parse_reasons(row.get("reasons", "")))
    write(root / "coder1.csv", ["id", "text", "reasons", "competitor"], [writers[key] for key in both])
    write(
        root / "coder2.csv",
        ["id", "text", "reasons", "competitor"],
        [{**second[key], "text": writers[key]["text"]} for key in both],
    )
    report = agreement(
        {key: parse_reasons(writers[key]["reasons"]) for key in both},
        {key: parse_reasons(second[key]["reasons"]) for key in both},
    )
    competitor_kappa = cohen_kappa([writers[k]["competitor"] for k in both], [second[k]["competitor"] for k in both])
    print(f"{report.items} answers coded by both; identical reason sets {report.exact_agreement:.1%}")
    print(f"pooled kappa {report.overall_kappa:.3f}, Krippendorff's alpha {report.alpha:.3f}")
    print(f"competitor kappa {competitor_kappa:.3f}")
    print(report.to_frame().to_string(index=False, float_format=lambda value: f"{value:.3f}"))
    differing = [
        {
            "id": key,
            "part": writers[key]["part"],
            "text": writers[key]["text"],
            "reasons_a": writers[key]["reasons"],
            "competitor_a": writers[key]["competitor"],
            "reasons_b": second[key]["reasons"],
            "competitor_b": second[key]["competitor"],
        }
        for key in both
        if writers[key]["reasons"] != second[key]["reasons"] or writers[key]["competitor"] != second[key]["competitor"]
    ]
    fields = ["id", "part", "text", "reasons_a", "competitor_a", "reasons_b", "competitor_b"]
    write(root / "disagreements.csv", fields, differing)
    print(f"{len(differing)} answers to adjudicate: {root / 'disagreements.csv'}")


if __name__ == "__main__":
    main(sys.argv[1])
