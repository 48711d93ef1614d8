"""Benchmark 4, summaries and exports at scale: tally, the cross-tabs and every export format on
N coded interviews (default 1,000,000): time and peak memory of each command.

Usage: python bench/summaries_scale.py [--interviews 1000000] [--formats csv,sav,dta,json,xlsx] [--runs 1]

The store (SQLite) gets one case, one call and one completed interview per answer (q1-q6, q3
drawn as in benchmark 1), loaded in bulk, then coded by `churn-survey code` (its time is shown,
not part of the figures). Each command runs as its own process, as a researcher runs it; its
peak memory is that of its process. Baseline in the same run: a plain sqlite3 script that reads
every row the commands are made from (interviews with their cases, all confirmed answers, the
codes, the call attempts) into Python lists: what reading the data costs before any table is
made. The ratio says how many times that floor a command takes.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import benchlib

FLOOR = """
import sqlite3, sys
connection = sqlite3.connect(sys.argv[1])
tables = {
    "interviews": "SELECT i.*, c.phone, c.account, c.branch, c.disconnect_date, c.package FROM interviews i "
    "LEFT JOIN cases c ON c.id = i.case_id",
    "answers": "SELECT interview_id, id, question_id, value, special, other_text FROM answers WHERE draft = 0",
    "codes": "SELECT answer_id, reasons, competitor, source FROM answer_codes",
    "attempts": "SELECT a.*, c.branch, c.status, c.phone FROM call_attempts a JOIN cases c ON c.id = a.case_id",
}
rows = {name: connection.execute(query).fetchall() for name, query in tables.items()}
print({name: len(found) for name, found in rows.items()})
"""
CROSS_TABS = ("reasons_by_competitor", "reasons_by_branch", "reasons_by_month", "reasons_by_package")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--interviews", type=int, default=1_000_000)
    parser.add_argument("--formats", default="csv,sav,dta,json,xlsx")
    parser.add_argument("--runs", type=int, default=1, help="runs of each command (the median is reported)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="churn-bench-") as folder:
        work = Path(folder)
        database = work / "survey.db"
        started = time.perf_counter()
        benchlib.fill_store(str(database), benchlib.generate_answers(args.interviews))
        loaded = time.perf_counter() - started
        coded = benchlib.run_command(benchlib.churn_survey("--db", str(database), "code"))
        print(
            f"{args.interviews:,} interviews loaded in {loaded:.0f} s and coded in {coded.seconds:.1f} s "
            f"(setup, not in the figures)"
        )
        floor = measure([sys.executable, "-c", FLOOR, str(database)], args.runs)
        print(f"{'baseline: read the rows':<34} {floor.seconds:7.1f} s  peak {floor.peak_mb:7,.0f} MB")
        commands = [
            ("tally (every table)", ["tally"]),
            ("cross-tabs (4, with chi-square)", ["tally", *(option for t in CROSS_TABS for option in ("--table", t))]),
        ] + [
            (f"export --format {kind}", ["export", "--format", kind, "--output", str(work / f"export.{kind}")])
            for kind in args.formats.split(",")
            if kind
        ]
        rows = []
        for name, command in commands:
            run = measure(benchlib.churn_survey("--db", str(database), *command), args.runs)
            rows.append((name, run))
            print(
                f"{name:<34} {run.seconds:7.1f} s  peak {run.peak_mb:7,.0f} MB  "
                f"{benchlib.ratio(run.seconds, floor.seconds)} the baseline's time"
            )
            for output in work.glob("export*"):
                output.unlink()
    print()
    print(f"{'command':<34} {'median s':>9} {'peak MB':>8} {'vs reading the rows':>20}")
    print(f"{'baseline: read the rows':<34} {floor.seconds:9.1f} {floor.peak_mb:8,.0f} {'1.0x':>20}")
    for name, run in rows:
        print(f"{name:<34} {run.seconds:9.1f} {run.peak_mb:8,.0f} {benchlib.ratio(run.seconds, floor.seconds):>20}")


def measure(command: list[str], runs: int) -> benchlib.Run:
    done = [benchlib.run_command(command) for _ in range(runs)]
    return benchlib.Run(
        benchlib.median([run.seconds for run in done]),
        benchlib.median([run.cpu_seconds for run in done]),
        max(run.peak_mb for run in done),
        done[-1].stdout,
    )


if __name__ == "__main__":
    main()
