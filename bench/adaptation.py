"""Benchmark 5, learning from the team's own codes: the learning curve of `train --add`.

Usage: python bench/adaptation.py [--corpus corpus2] [--steps 0,50,100,200,400] [--evaluate 75]
       [--weights 4] [--seeds 1] [--writers part_e,part_f] [--timed 1000] [--others N]

For each writer held out of the corpora: the writer's answers are shuffled; the last --evaluate of
them are the evaluation set, the same for every step; the model is trained on every other writer
(both corpora, all splits) plus the first k of the writer's other answers, added as `train --add`
adds a file (each added answer weighs --weights), for each k of --steps. Printed per writer and
pooled over writers: micro-F1, macro-F1 and exact match on the evaluation set, the share coded
automatically and how many of those are exactly right. Last, the training time of `train` on the
corpora's train parts plus --timed added answers (drawn from the corpora's test parts, added as a
file of their own), against the same training without them, both run in this process.
Nothing is tuned here on what is scored: the weight is a command-line choice, and the figures of
the README use the default, chosen on the first corpus's writers.
"""

from __future__ import annotations

import argparse
import time

import pandas as pd

from coding.codebook import load_codebook
from coding.coder import ADDED_WEIGHT, Coder, train_model
from coding.corpus import load_corpus
from coding.evaluation import score


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default="corpus2", help="whose writers are held out, one at a time")
    parser.add_argument("--steps", default="0,50,100,200,400")
    parser.add_argument("--evaluate", type=int, default=75, help="answers of the held-out writer scored")
    parser.add_argument("--weights", default=str(ADDED_WEIGHT), help="comma-separated weights of added answers")
    parser.add_argument("--seeds", type=int, default=1, help="shuffles of each writer's answers")
    parser.add_argument("--writers", default="", help="comma-separated writers to hold out [all of --corpus]")
    parser.add_argument("--timed", type=int, default=1000, help="added answers of the training-time run")
    parser.add_argument("--others", type=int, default=0, help="train on a sample of this many other answers [all]")
    options = parser.parse_args()
    steps = [int(step) for step in options.steps.split(",")]
    weights = [float(weight) for weight in options.weights.split(",")]
    codebook = load_codebook()
    corpus = load_corpus()
    writers = (
        options.writers.split(",")
        if options.writers
        else sorted(corpus.loc[corpus["corpus"] == options.corpus, "part"].unique())
    )
    rows = []
    for writer in writers:
        own = corpus[corpus["part"] == writer]
        others = corpus[corpus["part"] != writer]
        if options.others:
            others = others.sample(min(options.others, len(others)), random_state=0)
        for seed in range(options.seeds):
            shuffled = own.sample(frac=1.0, random_state=seed).reset_index(drop=True)
            evaluation = shuffled.tail(options.evaluate)
            pool = shuffled.head(len(shuffled) - options.evaluate)
            for weight in weights:
                for step in steps:
                    if step > len(pool):
                        continue
                    added = pool.head(step).assign(source=f"{writer}-added")
                    started = time.perf_counter()
                    model = train_model(codebook, added if step else None, corpus=others, added_weight=weight)
                    seconds = time.perf_counter() - started
                    result = score(Coder(codebook, model), evaluation)
                    rows.append(
                        {
                            "writer": writer,
                            "seed": seed,
                            "weight": weight,
                            "k": step,
                            "micro_f1": result.micro_f1,
                            "macro_f1": result.macro_f1,
                            "exact": result.exact_match,
                            "automatic": result.automatic_share,
                            "automatic_exact": result.automatic_exact,
                            "seconds": seconds,
                        }
                    )
                    print(
                        f"{writer} seed {seed} weight {weight:g} k={step:>3}: micro-F1 {result.micro_f1:.3f} "
                        f"macro-F1 {result.macro_f1:.3f} exact {result.exact_match:.3f} "
                        f"automatic {result.automatic_share or 0:.1%} ({seconds:.1f} s)",
                        flush=True,
                    )
    table = pd.DataFrame(rows)
    pd.set_option("display.width", 160)
    print("\nper writer (mean over seeds)")
    per_writer = table.groupby(["weight", "writer", "k"])[["micro_f1", "macro_f1", "exact"]].mean().unstack("k")
    print(per_writer["micro_f1"].round(3).to_string())
    print("\npooled over writers")
    pooled = table.groupby(["weight", "k"])[["micro_f1", "macro_f1", "exact", "automatic", "automatic_exact"]].mean()
    print(pooled.round(3).to_string())
    if options.timed:
        train_part = load_corpus(split="train")
        added = load_corpus(split="test").sample(options.timed, random_state=1).assign(source="added.csv")
        started = time.perf_counter()
        train_model(codebook, added, corpus=train_part)
        with_added = time.perf_counter() - started
        started = time.perf_counter()
        train_model(codebook, corpus=train_part)
        without = time.perf_counter() - started
        print(
            f"\ntraining on the corpora's {len(train_part):,} train answers plus {len(added):,} added: "
            f"{with_added:.1f} s; without them (baseline, same process): {without:.1f} s; "
            f"ratio {with_added / without:.2f}"
        )


if __name__ == "__main__":
    main()
