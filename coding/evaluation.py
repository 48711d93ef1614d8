"""Protocols that measure the coder honestly: leave one writer out, short to long, long to short, a split."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from coding.agreement import Evaluation, evaluate
from coding.codebook import Codebook
from coding.coder import ADDED_WEIGHT, Coder, train_model

# An answer longer than this is "long" for the short-to-long and long-to-short protocols.
LONG_ANSWER = 80
PROTOCOLS = ("leave-one-writer-out", "short-to-long", "long-to-short")
Progress = Callable[[str], None]


@dataclass(frozen=True)
class Fold:
    """One held-out part of a protocol and how the coder trained without it did on it."""

    name: str
    trained_on: int
    result: Evaluation


def score(coder: Coder, frame: pd.DataFrame) -> Evaluation:
    """The coder's codes of `frame` (text, reasons, competitor) against its codes."""
    coded = coder.code(frame["text"].tolist())
    predicted = [frozenset(r for r in value.split(";") if r) for value in coded["reasons"]]
    gold_competitor = frame["competitor"].tolist() if "competitor" in frame.columns else None
    return evaluate(
        list(frame["reasons"]),
        predicted,
        coded["confidence"].tolist(),
        gold_competitor=gold_competitor,
        predicted_competitor=coded["competitor"].tolist() if gold_competitor is not None else None,
        needs_review=coded["needs_review"].tolist(),
    )


def folds_of(corpus: pd.DataFrame, protocol: str) -> list[tuple[str, pd.Series]]:
    """(name, rows held out) for each fold of the protocol."""
    if protocol == "leave-one-writer-out":
        if "part" not in corpus.columns:
            raise ValueError("leave-one-writer-out needs a `part` column naming each answer's writer")
        return [(str(part), corpus["part"] == part) for part in sorted(corpus["part"].unique())]
    long = corpus["text"].str.len() > LONG_ANSWER
    if protocol == "short-to-long":
        return [(f"long (> {LONG_ANSWER} characters)", long)]
    if protocol == "long-to-short":
        return [(f"short (<= {LONG_ANSWER} characters)", ~long)]
    raise ValueError(f"unknown protocol {protocol!r} (known: {', '.join(PROTOCOLS)})")


def run_protocol(
    corpus: pd.DataFrame,
    codebook: Codebook,
    protocol: str,
    *,
    added_weight: float = ADDED_WEIGHT,
    progress: Progress | None = None,
) -> list[Fold]:
    """Train without each held-out part and score the part: nothing is tuned on what is scored."""
    results = []
    for name, held_out in folds_of(corpus, protocol):
        train, test = corpus[~held_out], corpus[held_out]
        if len(train) == 0 or len(test) == 0:
            continue
        if progress is not None:
            progress(f"{protocol}: training without {name} ({len(train):,} answers)")
        model = train_model(codebook, corpus=train, added_weight=added_weight)
        results.append(Fold(name, len(train), score(Coder(codebook, model), test)))
    return results


def pooled(folds: list[Fold]) -> dict[str, float]:
    """Answer-weighted means of the fold figures (the whole corpus scored once, each part by a
    coder that never saw it)."""
    total = sum(fold.result.items for fold in folds)

    def mean(get: Callable[[Evaluation], float | None]) -> float:
        values = [(get(fold.result), fold.result.items) for fold in folds]
        weight = sum(items for value, items in values if value is not None)
        return sum(value * items for value, items in values if value is not None) / weight if weight else 0.0

    return {
        "items": float(total),
        "micro_f1": mean(lambda r: r.micro_f1),
        "macro_f1": mean(lambda r: r.macro_f1),
        "exact_match": mean(lambda r: r.exact_match),
        "competitor_accuracy": mean(lambda r: r.competitor_accuracy),
        "automatic_share": mean(lambda r: r.automatic_share),
    }


def fold_table(folds: list[Fold]) -> pd.DataFrame:
    """One row per held-out part: answers, micro and macro F1, exact match, competitor accuracy,
    the share coded automatically and how many of those are exactly right."""
    rows = [
        {
            "held out": fold.name,
            "answers": fold.result.items,
            "trained on": fold.trained_on,
            "micro_f1": fold.result.micro_f1,
            "macro_f1": fold.result.macro_f1,
            "exact": fold.result.exact_match,
            "competitor": fold.result.competitor_accuracy,
            "automatic": fold.result.automatic_share,
            "automatic_exact": fold.result.automatic_exact,
        }
        for fold in folds
    ]
    return pd.DataFrame(rows)
