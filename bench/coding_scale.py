"""Benchmark 1, coding at scale: `churn-survey code` on N answers from a CSV and from the store,
against the straightforward one-by-one pipeline run in the same benchmark.

Usage: python bench/coding_scale.py [--answers 1000000] [--unique-share 0.1] [--baseline 2000]
       [--runs 3] [--pg URL | --no-pg] [--processes N]

The answers follow benchlib.generate_answers: a Zipf distribution (exponent 1.1) over the 2,478
corpus phrasings, short ones tending to the head, so that a few phrasings are very frequent (the
top one about 15% of all answers, the top ten about 40%), as terse call notes are; a share
(default 10%) made unique by a detail only that customer gave (a sum, a number of days, a phone
number); 0.5% left empty. Every run is a separate process, timed from its start to its end, its
peak memory the largest sum over it and its workers of their proportional set sizes.

The baseline is what a first script would do: read the CSV, then for every answer normalise it,
segment it with jieba (its cache emptied, so jieba runs on every answer), apply the rules, make
its features with one vectorizer transform and predict with one call per classifier, and write
the row. It runs on a random sample of --baseline answers in its own process; its rate is
compared with the product's. The product's codes for those answers, from the CSV and from the
store, must equal the baseline's exactly (the benchmark stops with an error otherwise).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import benchlib
import pandas as pd

CODED_COLUMNS = ("text", "reasons", "primary_reason", "competitor", "confidence", "needs_review")


def baseline_worker(source: Path, output: Path) -> None:
    """The straightforward pipeline, one answer at a time (run as its own process)."""
    from coding import segment
    from coding.coder import default_coder, reason_columns
    from coding.normalize import mask_phones, normalize

    coder = default_coder()
    frame = pd.read_csv(source, dtype=str, keep_default_na=False)
    columns = ["id", *CODED_COLUMNS, *reason_columns(coder.codebook.reason_ids)]
    with output.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(columns)
        for answer_id, text in zip(frame["id"], frame["text"], strict=True):
            segment._cut_run.cache_clear()  # jieba on every answer, as the naive pipeline does
            coded = coder.code_unique([normalize(text)])
            flags = [int(flag) for flag in coded.flags[0]]
            writer.writerow(
                [
                    answer_id,
                    mask_phones(text),
                    coded.reasons[0],
                    coded.primary[0],
                    coded.competitor[0],
                    round(float(coded.confidence[0]), 4),
                    "true" if coded.needs_review[0] else "false",
                    *flags,
                ]
            )


def same_codes(product: pd.DataFrame, baseline: pd.DataFrame) -> int:
    """Rows where the product's output differs from the baseline's (all columns, confidence as a number)."""
    joined = baseline.merge(product, on="id", suffixes=("_baseline", "_product"), how="left")
    different = pd.Series(False, index=joined.index)
    for column in baseline.columns:
        if column == "id":
            continue
        left, right = joined[f"{column}_baseline"], joined[f"{column}_product"]
        if column == "confidence":
            different |= ~(left.astype(float) == right.astype(float))
        else:
            different |= left.astype(str) != right.astype(str)
    return int(different.sum())


def store_differences(url: str, baseline: pd.DataFrame, answer_ids: dict[str, int], q1: dict[str, str]) -> int:
    """Sampled answers whose stored code differs from the baseline's (the competitor is q1's where
    q1 names one, as the product takes it)."""
    from coding.ids import COMPETITORS
    from survey_tui.store import Store

    differences = 0
    with Store.open(url) as store:
        for row in baseline.itertuples():
            answer_id = answer_ids.get(str(row.id))
            codes = store.codes_for(answer_id) if answer_id is not None else []
            if not str(row.text).strip():
                differences += bool(codes)  # an empty answer is left uncoded
                continue
            structured = q1.get(str(row.id))
            competitor = structured if structured in COMPETITORS and structured != "unknown" else row.competitor
            expected = (
                [r for r in str(row.reasons).split(";") if r],
                competitor,
                float(row.confidence),
                str(row.needs_review) == "true",
            )
            found = [(c.reasons, c.competitor, c.confidence, c.needs_review) for c in codes]
            differences += found != [expected]
    return differences


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--answers", type=int, default=1_000_000)
    parser.add_argument("--unique-share", type=float, default=0.1)
    parser.add_argument("--baseline", type=int, default=2000, help="answers coded one by one for the baseline")
    parser.add_argument("--runs", type=int, default=3, help="runs of each product command (the median is reported)")
    parser.add_argument("--pg", default=benchlib.DEFAULT_PG, help="PostgreSQL server for the store runs")
    parser.add_argument("--no-pg", action="store_true", help="store runs on SQLite only")
    parser.add_argument("--processes", type=int, default=None, help="passed to churn-survey code --processes")
    parser.add_argument("--baseline-worker", nargs=2, metavar=("INPUT", "OUTPUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.baseline_worker:
        baseline_worker(Path(args.baseline_worker[0]), Path(args.baseline_worker[1]))
        return

    answers = benchlib.generate_answers(args.answers, args.unique_share)
    print(benchlib.describe_answers(answers))
    frame = pd.DataFrame({"id": range(1, len(answers) + 1), "text": answers})
    sample = frame.sample(min(args.baseline, len(frame)), random_state=3).sort_values("id")
    extra = ["--processes", str(args.processes)] if args.processes else []
    results: list[tuple[str, benchlib.Run]] = []
    with tempfile.TemporaryDirectory(prefix="churn-bench-") as folder:
        work = Path(folder)
        source, output = work / "answers.csv", work / "coded.csv"
        frame.to_csv(source, index=False)
        sample.to_csv(work / "sample.csv", index=False)

        # The baseline first, so that the product's figures can be put against it as they come.
        baseline_run = benchlib.run_command(
            [sys.executable, __file__, "--baseline-worker", str(work / "sample.csv"), str(work / "baseline.csv")]
        )
        baseline = pd.read_csv(work / "baseline.csv", dtype=str, keep_default_na=False)
        # The rate leaves out starting Python and loading the model, which the product pays once too.
        startup = benchlib.run_command(
            [sys.executable, "-c", "from coding.coder import default_coder; default_coder()"]
        ).seconds
        baseline_rate = len(sample) / max(1e-9, baseline_run.seconds - startup)
        print(
            f"baseline : {baseline_rate:,.0f} answers/s one by one ({len(sample):,} answers in "
            f"{baseline_run.seconds:.1f} s, {startup:.1f} s of it starting up), peak {baseline_run.peak_mb:,.0f} MB; "
            f"{args.answers / baseline_rate:,.0f} s projected for {args.answers:,}"
        )

        command = benchlib.churn_survey(
            "code", str(source), "--text-column", "text", "--id-column", "id", "--output", str(output), *extra
        )
        csv_runs = [benchlib.run_command(command) for _ in range(args.runs)]
        report("CSV to CSV", csv_runs, args.answers, baseline_rate, results)
        coded = pd.read_csv(output, dtype=str, keep_default_na=False)
        differences = same_codes(coded, baseline)
        print(f"           codes identical to one-by-one coding: {len(sample) - differences}/{len(sample)}")
        if differences:
            raise SystemExit("the product's codes differ from coding one by one")

        targets = [("SQLite", str(work / "store.db"))]
        problem = None if args.no_pg else benchlib.pg_available(args.pg)
        if problem:
            print(f"PostgreSQL at {args.pg} skipped: {problem}")
        for name, target in targets + ([] if args.no_pg or problem else [("PostgreSQL", "")]):
            with benchlib.throwaway_pg(args.pg) if name == "PostgreSQL" else contextlib.nullcontext(target) as url:
                store_runs(name, url, answers, sample, baseline, baseline_rate, extra, work, args, results)
    print()
    print(f"{'run':<24} {'median s':>9} {'answers/s':>10} {'CPU s':>7} {'peak MB':>8} {'vs baseline':>12}")
    for name, run in results:
        print(
            f"{name:<24} {run.seconds:9.1f} {args.answers / run.seconds:10,.0f} {run.cpu_seconds:7.1f} "
            f"{run.peak_mb:8,.0f} {benchlib.ratio(args.answers / run.seconds, baseline_rate):>12}"
        )
    print(f"{'baseline (projected)':<24} {args.answers / baseline_rate:9.0f} {baseline_rate:10,.0f}")


def store_runs(
    name: str,
    url: str,
    answers: list[str],
    sample: pd.DataFrame,
    baseline: pd.DataFrame,
    baseline_rate: float,
    extra: list[str],
    work: Path,
    args: argparse.Namespace,
    results: list[tuple[str, benchlib.Run]],
) -> None:
    """Fill a store with one interview per answer, then time `churn-survey code --db` on it."""
    import sqlalchemy as sa

    from survey_tui.store import Store, schema

    started = time.perf_counter()
    benchlib.fill_store(url, answers)
    print(f"{name}: {len(answers):,} interviews loaded in {time.perf_counter() - started:.0f} s (not timed)")
    with Store.open(url) as store, store.engine.connect() as conn:
        answer_table = schema.answers
        rows = conn.execute(
            sa.select(answer_table.c.interview_id, answer_table.c.id, answer_table.c.question_id).where(
                answer_table.c.question_id == "q3_leave_reason", answer_table.c.interview_id.in_(sample["id"].tolist())
            )
        ).all()
        answer_ids = {str(interview): answer for interview, answer, _q in rows}
        q1 = {str(k): v for k, v in store.question_values("q1_operator", sample["id"].tolist()).items()}
    pristine = work / "store-uncoded.db"
    if name == "SQLite":
        shutil.copyfile(url, pristine)
    runs = []
    for _ in range(args.runs):
        if name == "SQLite":
            shutil.copyfile(pristine, url)
            os.sync()  # the copy's dirty pages are written now, not during the timed run's commits
        else:
            with Store.open(url) as store, store.engine.begin() as conn:
                conn.execute(sa.text("TRUNCATE answer_codes"))
        runs.append(benchlib.run_command(benchlib.churn_survey("--db", url, "code", *extra)))
    report(f"store ({name})", runs, args.answers, baseline_rate, results)
    differences = store_differences(url, baseline, answer_ids, q1)
    print(f"           codes identical to one-by-one coding: {len(baseline) - differences}/{len(baseline)}")
    if differences:
        raise SystemExit(f"the codes stored in {name} differ from coding one by one")


def report(
    name: str, runs: list[benchlib.Run], answers: int, baseline_rate: float, results: list[tuple[str, benchlib.Run]]
) -> None:
    seconds = benchlib.median([run.seconds for run in runs])
    run = benchlib.Run(
        seconds,
        benchlib.median([run.cpu_seconds for run in runs]),
        max(run.peak_mb for run in runs),
        runs[-1].stdout,
    )
    results.append((name, run))
    rate = answers / seconds
    print(
        f"{name:<19}: {seconds:.1f} s median of {len(runs)} ({', '.join(f'{r.seconds:.1f}' for r in runs)}), "
        f"{rate:,.0f} answers/s, CPU {run.cpu_seconds:.1f} s, peak {run.peak_mb:,.0f} MB, "
        f"{benchlib.ratio(rate, baseline_rate)} the baseline's rate"
    )


if __name__ == "__main__":
    main()
