"""Coding at scale: N answers end to end from CSV, against the straightforward one-by-one pipeline.

Usage: python bench/coding_scale.py [--answers 1000000] [--unique-share 0.1] [--baseline 5000] [--runs 3]

The answers are drawn from the labelled corpus the way real survey answers repeat: most of them
from a Zipf distribution over the corpus phrasings (exponent 1.1: a few phrasings very frequent,
as "搬家了" and "太贵了" are in real call notes), and a share of unique ones (a corpus answer with a
detail only that customer gave: a sum of money, a number of days, a place). The baseline codes
each answer alone: jieba.lcut, one vectorizer transform and one predict per answer, as a first
script would; it runs on a sample and its rate is compared with the product's in the same run.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from coding.coder import default_coder  # noqa: E402
from coding.corpus import load_corpus  # noqa: E402
from coding.normalize import normalize  # noqa: E402
from coding.rules import RuleCoder  # noqa: E402
from coding.segment import segment  # noqa: E402

DETAILS = ("一个月{}块", "等了{}天", "用了{}年", "在{}号楼", "{}月份的事")


def generate(count: int, unique_share: float, seed: int = 1) -> pd.DataFrame:
    texts = load_corpus()["text"].tolist()
    rng = np.random.default_rng(seed)
    weights = 1.0 / np.arange(1, len(texts) + 1) ** 1.1
    weights /= weights.sum()
    repeated = np.array(texts, dtype=object)[rng.choice(len(texts), size=count, p=weights)]
    unique = rng.random(count) < unique_share
    for position in np.nonzero(unique)[0]:
        detail = DETAILS[position % len(DETAILS)].format(position)
        repeated[position] = f"{repeated[position]}，{detail}"
    return pd.DataFrame({"id": np.arange(1, count + 1), "text": repeated})


def baseline_codes(coder, texts: list[str]) -> list[str]:  # type: ignore[no-untyped-def]
    """One answer at a time, the way a first script would."""
    import jieba

    model = coder.model
    rules = RuleCoder(coder.codebook)
    codes = []
    for text in texts:
        clean = normalize(text)
        jieba.lcut(clean)  # the tokenisation a naive pipeline pays for on every answer
        tokens = segment(clean)
        result = rules.code(clean)
        matrix = model.features([clean], [tokens], [result])
        probabilities = model.reason_probabilities(matrix)
        flags = model.decide(probabilities)[0]
        codes.append(";".join(r for r, f in zip(coder.codebook.reason_ids, flags, strict=True) if f and clean))
    return codes


def run_cli(source: Path, output: Path) -> tuple[float, float]:
    """Wall seconds and peak memory (MB) of `churn-survey code` as a separate process."""
    started = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    subprocess.run(
        [
            sys.executable,
            "-m",
            "survey_tui.cli",
            "code",
            str(source),
            "--text-column",
            "text",
            "--id-column",
            "id",
            "--output",
            str(output),
        ],
        check=True,
        cwd=ROOT,
        capture_output=True,
    )
    peak = max(before, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024
    return time.perf_counter() - started, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--answers", type=int, default=1_000_000)
    parser.add_argument("--unique-share", type=float, default=0.1)
    parser.add_argument("--baseline", type=int, default=5000, help="answers coded one by one for the baseline")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    frame = generate(args.answers, args.unique_share)
    distinct = frame["text"].nunique()
    print(f"{args.answers:,} answers, {distinct:,} distinct ({distinct / args.answers:.1%})")
    coder = default_coder(notify=print)
    with tempfile.TemporaryDirectory() as folder:
        source, output = Path(folder) / "answers.csv", Path(folder) / "coded.csv"
        frame.to_csv(source, index=False)
        timings = [run_cli(source, output) for _ in range(args.runs)]
        seconds = statistics.median(t[0] for t in timings)
        peak = max(t[1] for t in timings)
        coded = pd.read_csv(output, dtype=str, keep_default_na=False)

    sample = frame.sample(min(args.baseline, len(frame)), random_state=3)
    started = time.perf_counter()
    one_by_one = baseline_codes(coder, sample["text"].tolist())
    baseline_rate = len(sample) / (time.perf_counter() - started)
    product = coded.set_index("id").loc[sample["id"].astype(str), "reasons"].tolist()
    identical = sum(a == b for a, b in zip(product, one_by_one, strict=True))

    rate = args.answers / seconds
    print(
        f"product  : {seconds:.1f} s median of {args.runs} runs end to end (CSV in, CSV out), "
        f"{rate:,.0f} answers/s, peak {peak:,.0f} MB"
    )
    print(
        f"baseline : {baseline_rate:,.0f} answers/s one by one ({len(sample):,} answers), "
        f"{args.answers / baseline_rate:,.0f} s projected for {args.answers:,}"
    )
    print(f"ratio    : {rate / baseline_rate:,.1f}x faster")
    print(f"identical codes to one-by-one coding: {identical}/{len(sample)}")


if __name__ == "__main__":
    main()
