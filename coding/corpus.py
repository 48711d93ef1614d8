"""The labelled corpus shipped in data/corpus: reading it, and its fixed train/test split."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd

from coding.ids import COMPETITORS, REASONS
from coding.resources import data_file

TEST_SHARE = 0.2


def corpus_path() -> Path:
    return data_file("corpus", "labelled_answers.csv")


def split_of(text: str) -> str:
    """A stable split by the text's hash: the same answer is in the same part forever."""
    digest = hashlib.sha256(text.strip().encode("utf-8")).digest()
    return "test" if int.from_bytes(digest[:4], "big") / 2**32 < TEST_SHARE else "train"


def parse_reasons(value: object) -> frozenset[str]:
    """`;`-joined reason ids (empty for none) to a set, refusing ids the codebook does not have."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return frozenset()
    ids = {part.strip() for part in str(value).replace(",", ";").split(";") if part.strip()}
    unknown = ids - set(REASONS)
    if unknown:
        raise ValueError(f"unknown reason ids {sorted(unknown)}")
    return frozenset(ids)


def join_reasons(reasons: frozenset[str] | set[str] | list[str]) -> str:
    """Reason ids in codebook order, `;`-joined."""
    return ";".join(reason for reason in REASONS if reason in reasons)


def load_corpus(split: str | None = None, path: Path | None = None) -> pd.DataFrame:
    """Columns text, reasons (frozenset), competitor, style, split; `split` keeps one part."""
    frame = pd.read_csv(path or corpus_path(), dtype=str, keep_default_na=False, encoding="utf-8-sig")
    frame["reasons"] = frame["reasons"].map(parse_reasons)
    bad = sorted(set(frame["competitor"]) - set(COMPETITORS))
    if bad:
        raise ValueError(f"unknown competitor ids in the corpus: {bad}")
    if split is not None:
        frame = frame[frame["split"] == split].reset_index(drop=True)
    return frame
