"""Tokenisation with jieba: one tokenizer with the telecom dictionary, stopwords, negation scope."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from functools import lru_cache

import jieba

from coding.resources import data_file

# Words after which the next two words are negated ("不 慢" -> "不", "非_慢"), so the classifier
# can tell "不贵" from "贵" without a rule.
NEGATORS = frozenset({"不", "没", "没有", "不是", "并非", "冇得", "冇", "无", "别", "不太", "不算", "没什么"})
NEGATION_SCOPE = 2
_CLAUSE_ENDS = frozenset("，。；！？,.;!?、\n ")
_lock = threading.Lock()


@lru_cache(maxsize=1)
def tokenizer() -> jieba.Tokenizer:
    """The one jieba tokenizer, loaded once with the domain dictionary."""
    with _lock:
        jieba.setLogLevel(logging.WARNING)
        instance = jieba.Tokenizer()
        instance.load_userdict(str(data_file("jieba_userdict.txt")))
        instance.initialize()
        return instance


@lru_cache(maxsize=1)
def stopwords() -> frozenset[str]:
    lines = data_file("stopwords.txt").read_text("utf-8").splitlines()
    return frozenset(line.strip() for line in lines if line.strip() and not line.startswith("#"))


def segment(text: str) -> list[str]:
    """Words of a normalised text, without stopwords, with negated words marked `非_`."""
    words: list[str] = []
    scope = 0
    drop = stopwords()
    for token in _cut(text.lower()):
        if not token.strip() or token in _CLAUSE_ENDS:
            scope = 0
            continue
        if token in NEGATORS:
            words.append(token)
            scope = NEGATION_SCOPE
            continue
        if token in drop:
            continue
        words.append(f"非_{token}" if scope else token)
        scope = max(0, scope - 1)
    return words


def _cut(text: str) -> list[str]:
    """jieba's words of `text`, each run of characters segmented once per process.

    jieba cuts a text run by run (runs of Chinese, letters and digits, split at punctuation and
    spaces) and never across runs, so the words of a text are those of its runs in order; survey
    answers repeat their runs ("太贵了", "网速太慢") far more often than whole answers.
    """
    words: list[str] = []
    for run in jieba.re_han_default.split(text):
        if run:
            words.extend(_cut_run(run))
    return words


# Enough for the runs of several hundred thousand distinct answers; an entry is a few hundred bytes.
@lru_cache(maxsize=1 << 18)
def _cut_run(run: str) -> tuple[str, ...]:
    return tuple(tokenizer().lcut(run, HMM=True))


def segment_many(texts: Iterable[str]) -> list[list[str]]:
    return [segment(text) for text in texts]
