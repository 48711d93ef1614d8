"""Staff-interview themes: the top terms and phrases per question, and coding with the theme codebook."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer

from coding.codebook import Codebook, load_codebook
from coding.normalize import normalize
from coding.resources import data_file
from coding.rules import RuleCoder
from coding.segment import segment


def load_themes(path: str | Path | None = None) -> Codebook:
    return load_codebook(path or data_file("themes.yaml"), fixed_ids=False)


def _phrases(tokens: list[str]) -> list[str]:
    # Words and two-word phrases, without the negation marks (a theme list reads better plain).
    plain = [token.removeprefix("非_") for token in tokens]
    words = [word for word in plain if len(word) > 1 or (word.isascii() and word.isalnum())]
    return words + [f"{a}{b}" for a, b in zip(words, words[1:], strict=False)]


def top_terms(texts: Sequence[str], top: int = 15) -> pd.DataFrame:
    """Terms and phrases with the highest mean TF-IDF weight: columns term, weight, answers."""
    documents = [_phrases(segment(normalize(text))) for text in texts if str(text).strip()]
    if not documents or not any(documents):
        return pd.DataFrame(columns=["term", "weight", "answers"])
    vectorizer = TfidfVectorizer(analyzer=_identity, sublinear_tf=True)
    matrix = vectorizer.fit_transform(documents)
    weights = np.asarray(matrix.mean(axis=0)).ravel()
    answers = np.asarray((matrix > 0).sum(axis=0)).ravel()
    order = np.argsort(-weights, kind="stable")[:top]
    terms = vectorizer.get_feature_names_out()
    return pd.DataFrame(
        {"term": terms[order], "weight": np.round(weights[order], 4), "answers": answers[order].astype(int)}
    )


def _identity(document: list[str]) -> list[str]:
    return document


def code_themes(texts: Sequence[str], themes: Codebook | None = None) -> pd.DataFrame:
    """One row per answer: the themes found (`;`-joined) and one 0/1 column per theme."""
    book = themes or load_themes()
    coder = RuleCoder(book)
    found = [coder.code(normalize(text)).reasons for text in texts]
    frame = pd.DataFrame({"text": list(texts), "themes": [";".join(ids) for ids in found]})
    for theme in book.reason_ids:
        frame[f"theme_{theme}"] = [int(theme in ids) for ids in found]
    return frame


def theme_summary(answers: Mapping[str, Sequence[str]], themes: Codebook | None = None) -> pd.DataFrame:
    """Per question and overall: how many answers mention each theme, and their share."""
    book = themes or load_themes()
    labels = {reason.id: reason.label for reason in book.reasons}
    rows = []
    everything: list[str] = []
    for question, texts in list(answers.items()) + [("all", [])]:
        if question == "all":
            texts = everything
        else:
            everything.extend(texts)
        coded = code_themes(texts, book)
        for theme, label in labels.items():
            count = int(coded[f"theme_{theme}"].sum()) if len(coded) else 0
            rows.append(
                {
                    "question": question,
                    "theme": theme,
                    "label": label,
                    "answers": count,
                    "share": round(count / len(coded), 4) if len(coded) else 0.0,
                }
            )
    return pd.DataFrame(rows)
