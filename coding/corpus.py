"""The labelled corpus shipped in data/corpus: reading it, and its fixed train/test split."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd

from coding.ids import COMPETITORS, REASONS
from coding.resources import data_file

TEST_SHARE = 0.2


# The shipped corpora, by folder under data/: the short survey answers of the first, the real
# registers (notes, long accounts, hotline records, social posts) of the second.
CORPORA = ("corpus", "corpus2")


def corpus_path(name: str = "corpus") -> Path:
    return data_file(name, "labelled_answers.csv")


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


def load_corpus(split: str | None = None, path: Path | None = None, corpora: tuple[str, ...] = CORPORA) -> pd.DataFrame:
    """Columns text, reasons (frozenset), competitor, style, split, part, corpus; `split` keeps
    one part. Without `path`, every shipped corpus of `corpora` (a text met in an earlier corpus
    is kept there only)."""
    if path is not None:
        frames = [_read(path).assign(corpus=path.parent.name)]
    else:
        frames = [_read(corpus_path(name)).assign(corpus=name) for name in corpora if corpus_path(name).exists()]
    frame = pd.concat(frames, ignore_index=True).drop_duplicates("text", keep="first")
    if split is not None:
        frame = frame[frame["split"] == split]
    return frame.reset_index(drop=True)


def _read(path: Path) -> pd.DataFrame:
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    frame["reasons"] = frame["reasons"].map(parse_reasons)
    bad = sorted(set(frame["competitor"]) - set(COMPETITORS))
    if bad:
        raise ValueError(f"{path}: unknown competitor ids in the corpus: {bad}")
    return frame


def read_coded_answers(path: str | Path) -> pd.DataFrame:
    """Hand-coded answers from a CSV or XLSX file: columns `text` and `reasons` (`;`-joined ids,
    empty for none), optionally `competitor`; the output of `code`, corrected in Excel, is such a
    file. Rows without text are left out. A file with any unknown id is refused whole, naming its
    rows (spreadsheet row numbers, the header being row 1)."""
    from coding.tables import TableError, read_chunks

    file = Path(path)
    try:
        frame = pd.concat(list(read_chunks(file, ["text", "reasons", "competitor"])), ignore_index=True)
    except TableError as error:
        if "'competitor'" not in str(error) or "'text'" in str(error) or "'reasons'" in str(error):
            raise
        frame = pd.concat(list(read_chunks(file, ["text", "reasons"])), ignore_index=True)
        frame["competitor"] = ""
    problems: list[str] = []
    reasons: list[frozenset[str]] = []
    for row, (value, competitor) in enumerate(zip(frame["reasons"], frame["competitor"], strict=True), start=2):
        try:
            reasons.append(parse_reasons(value))
        except ValueError as error:
            problems.append(f"row {row}: {error}")
            reasons.append(frozenset())
        if str(competitor).strip() and str(competitor).strip() not in COMPETITORS:
            problems.append(f"row {row}: unknown competitor {str(competitor).strip()!r}")
    if problems:
        shown = "; ".join(problems[:5]) + (f"; and {len(problems) - 5} more" if len(problems) > 5 else "")
        raise TableError(f"{file}: {shown} (reason ids: {', '.join(REASONS)}; competitors: {', '.join(COMPETITORS)})")
    frame["reasons"] = reasons
    frame["competitor"] = [str(value).strip() or "unknown" for value in frame["competitor"]]
    frame["text"] = frame["text"].astype(str)
    frame = frame[frame["text"].str.strip() != ""]
    if frame.empty:
        raise TableError(f"{file}: no coded answer with text")
    return frame[["text", "reasons", "competitor"]].assign(source=file.name).reset_index(drop=True)
