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
    for token in tokenizer().lcut(text.lower(), HMM=True):
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


def segment_many(texts: Iterable[str]) -> list[list[str]]:
    return [segment(text) for text in texts]
