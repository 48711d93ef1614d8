"""The supervised coder: linear models over words, characters and rules, united over clauses, calibrated by writer."""

from __future__ import annotations

import json
import os
import platform
import re
import tempfile
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata as package_metadata
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import scipy.sparse as sp
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_limits

from coding.codebook import Codebook
from coding.rules import ASSERTED, CHOSEN, DENIED, NEGATED, PROVIDER, WEAK, RuleResult
from coding.segment import segment

MODEL_FORMAT = 3
# Libraries whose versions must match for a saved model to be loaded as it is.
PINNED_LIBRARIES = ("scikit-learn", "numpy", "scipy", "jieba", "joblib")

# Chosen by grouped cross-validation on the first corpus's writers (never on a part being tested).
REGULARISATION_C = 16.0
CHAR_NGRAMS = (1, 3)
# Up to this many held-out folds, each a writer (or a source of added codes) of its own: the
# cut-offs, the stacker and the confidence are learnt from predictions for unseen writers.
OUT_OF_FOLD_GROUPS = 12
# The rule signals enter the classifiers scaled up, so that the L2 penalty lets them weigh more
# than any single word: the codebook's cues hold across writers, a writer's words do not.
RULE_SCALE = 1.0
# A clause ends at these marks; an answer of several clauses is coded as a whole and clause by
# clause, and the stacker unites what the clauses say.
_CLAUSE_END = re.compile(r"[。！？!?；;\n…，,、/|]+|\s+|(?<=[^\d])\.(?=\D)")
_MIN_UNIT = 2
# An operator's name in the text the classifiers read: its role, never which operator it is,
# so that "联通" in a complaint about 联通 teaches nothing about switching to 联通.
_OPERATOR_TOKENS = {CHOSEN: " 换网商 ", PROVIDER: " 本网商 ", DENIED: " 否网商 "}
_NAMED_TOKEN = " 提网商 "
Progress = Callable[[str], None]


def _tokens(document: list[str]) -> list[str]:
    """Words and pairs of neighbouring words of a segmented document (module-level so it pickles)."""
    return document + [f"{first}+{second}" for first, second in zip(document, document[1:], strict=False)]


def library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in PINNED_LIBRARIES:
        try:
            versions[name] = package_metadata.version(name)
        except package_metadata.PackageNotFoundError:
            versions[name] = "absent"
    return versions


def clause_spans(text: str) -> list[tuple[int, int]]:
    """Where the clauses of an answer are (a clause of one character joins the one before it)."""
    spans: list[tuple[int, int]] = []
    start = 0
    for cut in [*_CLAUSE_END.finditer(text), None]:
        end = cut.start() if cut is not None else len(text)
        piece = text[start:end].strip(" ,，、:：")
        if piece:
            left = start + text[start:end].index(piece)
            right = left + len(piece)
            if spans and len(piece) < _MIN_UNIT:
                spans[-1] = (spans[-1][0], right)
            else:
                spans.append((left, right))
        if cut is not None:
            start = cut.end()
    return spans


def clause_units(text: str) -> list[str]:
    """The clauses of an answer, as text."""
    return [text[start:end] for start, end in clause_spans(text)]


def feature_text(text: str, rules: RuleResult) -> str:
    """The text with each operator's name replaced by its role in the answer."""
    if not rules.operators:
        return text
    pieces, last = [], 0
    for start, end, role in rules.operators:
        pieces.append(text[last:start])
        pieces.append(_OPERATOR_TOKENS.get(role, _NAMED_TOKEN))
        last = end
    pieces.append(text[last:])
    return "".join(pieces)


def rule_features(results: Sequence[RuleResult], reason_ids: Sequence[str]) -> np.ndarray:
    """Three 0/1 columns per reason (asserted, weak, negated), then how operators are named."""
    count, width = len(results), 3 * len(reason_ids)
    rows = np.zeros((count, width + 5), dtype=np.float64)
    if count == 0:
        return rows
    values = np.array([[result.signals.get(reason, 0.0) for reason in reason_ids] for result in results])
    rows[:, 0:width:3] = values == ASSERTED
    rows[:, 1:width:3] = values == WEAK
    rows[:, 2:width:3] = values == NEGATED
    rows[:, width:] = [
        (
            result.switched,
            result.provider_named,
            result.competitor not in ("unknown", "none"),
            result.stopped_using,
            result.competitor_denied,
        )
        for result in results
    ]
    return rows


@dataclass
class Featurised:
    """The inputs of the classifiers for a batch of normalised answers."""

    texts: list[str]
    rules: list[RuleResult]
    tokens: list[list[str]]
    signals: np.ndarray  # rule_features of the answers
    # The distinct clauses of answers with two or more clauses (a clause met again, with the same
    # rule signals, is read once), and for every clause met, the answer it belongs to and which
    # of the distinct clauses it is.
    unit_texts: list[str]
    unit_rules: list[RuleResult]
    unit_tokens: list[list[str]]
    unit_signals: np.ndarray
    unit_owner: np.ndarray
    unit_of: np.ndarray


def featurise(texts: Sequence[str], rules: Sequence[RuleResult], reason_ids: Sequence[str]) -> Featurised:
    """Rule results, operator roles and words for every answer and every clause of those with
    several. A clause's rule signals are those of the answer's mentions inside it, read with the
    whole answer around them (a contrast in the next clause, a complaint platform's header)."""
    masked = [feature_text(text, result) for text, result in zip(texts, rules, strict=True)]
    met_texts: list[str] = []
    met_rules: list[RuleResult] = []
    owners: list[int] = []
    for index, (text, result) in enumerate(zip(texts, rules, strict=True)):
        spans = clause_spans(text)
        if len(spans) < 2:
            continue
        for start, end in spans:
            inside = result.within(start, end)
            met_texts.append(feature_text(text[start:end], inside))
            met_rules.append(inside)
            owners.append(index)
    met_signals = rule_features(met_rules, reason_ids)
    first: dict[tuple[str, bytes], int] = {}
    unit_of = np.array(
        [first.setdefault((t, row.tobytes()), len(first)) for t, row in zip(met_texts, met_signals, strict=True)],
        dtype=np.int64,
    )
    distinct = np.unique(unit_of, return_index=True)[1]  # where each distinct clause is first met
    unit_texts = [met_texts[place] for place in distinct]
    return Featurised(
        masked,
        list(rules),
        [segment(text) for text in masked],
        rule_features(rules, reason_ids),
        unit_texts,
        [met_rules[place] for place in distinct],
        [segment(text) for text in unit_texts],
        met_signals[distinct] if len(distinct) else met_signals,
        np.array(owners, dtype=np.int64),
        unit_of,
    )


def _logit(probabilities: np.ndarray) -> np.ndarray:
    clipped = np.clip(probabilities, 1e-4, 1 - 1e-4)
    return np.log(clipped / (1 - clipped))


def _sigmoid(values: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(values, -30, 30)))


@dataclass
class LinearReasons:
    """One logistic regression per reason, kept as one weight matrix: all reasons in one product."""

    weights: np.ndarray  # (features, reasons)
    intercepts: np.ndarray  # (reasons,)

    def probabilities(self, matrix: sp.csr_matrix) -> np.ndarray:
        if matrix.shape[0] == 0:
            return np.zeros((0, self.weights.shape[1]))
        return _sigmoid(np.asarray(matrix @ self.weights) + self.intercepts)


def fit_linear(matrix: sp.csr_matrix, targets: np.ndarray, weights: np.ndarray, c: float) -> LinearReasons:
    """Per reason, L2 logistic regression with classes balanced and the rows' own weights."""
    columns, intercepts = [], []
    for reason in range(targets.shape[1]):
        labels = targets[:, reason]
        if labels.min() == labels.max():  # a reason nobody gave: never predicted
            columns.append(np.zeros(matrix.shape[1]))
            intercepts.append(-10.0 if labels.max() == 0 else 10.0)
            continue
        # The dual problem: far fewer answers than features, so it solves in a fraction of the time.
        classifier = LogisticRegression(C=c, class_weight="balanced", solver="liblinear", dual=True, max_iter=1000)
        classifier.fit(matrix, labels, sample_weight=weights)
        columns.append(classifier.coef_[0])
        intercepts.append(float(classifier.intercept_[0]))
    # Single precision: the shipped model is half the size, and the codes are the same.
    return LinearReasons(np.column_stack(columns).astype(np.float32), np.array(intercepts))


@dataclass
class Prediction:
    """What the model says of a batch of answers."""

    probabilities: np.ndarray  # (answers, reasons) after uniting the clauses
    decided: np.ndarray  # 0/1 per reason
    confidence: np.ndarray  # calibrated probability that the whole set of reasons is right
    unusual: np.ndarray  # unlike anything in training: longer, or mostly words never seen
    competitor_classes: list[str]
    competitor_scores: np.ndarray  # one-versus-rest probability of each class


@dataclass
class ReasonModel:
    """Everything needed to code: vectorizers, the per-reason models, the stacker, calibration."""

    reason_ids: tuple[str, ...]
    word_vectorizer: TfidfVectorizer
    char_vectorizer: TfidfVectorizer
    base: LinearReasons
    # Per reason: weights over [logit whole, logit best clause, several clauses x logit best
    # clause, asserted, weak, negated] and an intercept.
    stack_weights: np.ndarray = field(default_factory=lambda: np.zeros((0, 6)))
    stack_intercepts: np.ndarray = field(default_factory=lambda: np.zeros(0))
    thresholds: np.ndarray = field(default_factory=lambda: np.zeros(0))
    confidence_model: HistGradientBoostingClassifier | None = None
    review_threshold: float = 0.5
    # One-versus-rest over the competitor ids seen in training, and those ids.
    competitor_model: LinearReasons | None = None
    competitor_ids: tuple[str, ...] = ()
    vocabulary: frozenset[str] = frozenset()
    longest_seen: int = 0
    unseen_limit: float = 1.0
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def version(self) -> str:
        return str(self.info.get("version", "unversioned"))

    def matrix(self, texts: Sequence[str], tokens: Sequence[list[str]], signals: np.ndarray) -> sp.csr_matrix:
        return sp.hstack(
            [
                self.word_vectorizer.transform(tokens),
                self.char_vectorizer.transform(texts),
                sp.csr_matrix(RULE_SCALE * signals),
            ],
            format="csr",
        )

    def base_probabilities(
        self, data: Featurised, whole_matrix: sp.csr_matrix | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Per answer: the probabilities of the whole text and the best of its clauses."""
        model = self.base
        if whole_matrix is None:
            whole_matrix = self.matrix(data.texts, data.tokens, data.signals)
        whole = model.probabilities(whole_matrix)
        best = whole.copy()
        if len(data.unit_texts):
            distinct = model.probabilities(self.matrix(data.unit_texts, data.unit_tokens, data.unit_signals))
            units = distinct[data.unit_of]
            for reason in range(units.shape[1]):
                np.maximum.at(best[:, reason], data.unit_owner, units[:, reason])
        return whole, best

    def united(self, whole: np.ndarray, best: np.ndarray, data: Featurised) -> np.ndarray:
        """The stacker: one probability per reason from the whole text, its best clause, the rules."""
        if self.stack_intercepts.size == 0:
            return np.maximum(whole, best)
        inputs = stack_inputs(whole, best, data, self.reason_ids)
        result = np.zeros_like(whole)
        for reason in range(whole.shape[1]):
            result[:, reason] = _sigmoid(inputs[reason] @ self.stack_weights[reason] + self.stack_intercepts[reason])
        return result

    def decide(self, probabilities: np.ndarray, rules: Sequence[RuleResult] | None = None) -> np.ndarray:
        """0/1 per reason: each reason has its own cut-off; an answer that only says where the
        customer went gets other_network (the codebook: the switch itself is the reason)."""
        cut = self.thresholds if self.thresholds.size else np.full(probabilities.shape[1], 0.5)
        decided = (probabilities >= cut).astype(int)
        if rules is not None and "other_network" in self.reason_ids:
            other = self.reason_ids.index("other_network")
            for row, result in enumerate(rules):
                if not decided[row].any() and result.switched:
                    decided[row, other] = 1
        return decided

    def unseen_share(self, tokens: Sequence[list[str]], vocabulary: frozenset[str] | None = None) -> np.ndarray:
        known = self.vocabulary if vocabulary is None else vocabulary
        return np.array(
            [sum(1 for word in words if word not in known) / len(words) if words else 0.0 for words in tokens]
        )

    def confidence_inputs(
        self, probabilities: np.ndarray, decided: np.ndarray, data: Featurised, unseen: np.ndarray
    ) -> np.ndarray:
        cut = self.thresholds if self.thresholds.size else np.full(probabilities.shape[1], 0.5)
        right = np.where(decided == 1, probabilities, 1.0 - probabilities)
        joint = np.clip(np.prod(right, axis=1), 1e-6, 1.0)
        margin = np.min(np.abs(probabilities - cut), axis=1)
        unsure = np.sum((probabilities > 0.15) & (probabilities < 0.85), axis=1)
        reason_ids = self.reason_ids
        agree = np.array(
            [
                float(all((result.signals[r] > 0) == bool(flag) for r, flag in zip(reason_ids, row, strict=True)))
                for result, row in zip(data.rules, decided, strict=True)
            ]
        )
        hedged = np.array([sum(1 for s in result.signals.values() if s in (WEAK, NEGATED)) for result in data.rules])
        asserted = data.signals[:, 0 : 3 * len(reason_ids) : 3]
        missed = np.sum((asserted == 1) & (decided == 0), axis=1)  # a cue the model overruled
        unsupported = np.sum((asserted == 0) & (decided == 1), axis=1)  # a reason with no cue
        logit_margin = np.min(np.abs(_logit(probabilities) - _logit(cut)), axis=1)
        count = decided.sum(axis=1)
        clauses = (
            np.bincount(data.unit_owner, minlength=len(data.texts))
            if len(data.unit_owner)
            else np.zeros(len(data.texts))
        )
        length = np.log1p([len(text) for text in data.texts])
        provider = np.array([float(result.provider_named) for result in data.rules])
        return np.column_stack(
            [
                np.log(joint),
                margin,
                unsure,
                agree,
                hedged,
                count == 0,
                count == 1,
                count >= 3,
                length,
                np.log1p(clauses),
                unseen,
                provider,
                missed,
                unsupported,
                np.minimum(logit_margin, 6.0),
            ]
        ).astype(float)

    def predict(self, data: Featurised) -> Prediction:
        rows = len(data.texts)
        if rows == 0:
            empty = np.zeros((0, len(self.reason_ids)))
            return Prediction(empty, empty.astype(int), np.zeros(0), np.zeros(0, bool), [], np.zeros((0, 0)))
        whole_matrix = self.matrix(data.texts, data.tokens, data.signals)
        whole, best = self.base_probabilities(data, whole_matrix)
        probabilities = self.united(whole, best, data)
        decided = self.decide(probabilities, data.rules)
        unseen = self.unseen_share(data.tokens)
        confidence = self._confidence(probabilities, decided, data, unseen)
        lengths = np.array([len(text) for text in data.texts])
        unusual = (lengths > max(self.longest_seen, 1) * 1.25) | (unseen > self.unseen_limit)
        classes: list[str] = []
        competitor = np.zeros((rows, 0))
        if self.competitor_model is not None:
            classes = list(self.competitor_ids)
            competitor = self.competitor_model.probabilities(whole_matrix)
        return Prediction(probabilities, decided, confidence, unusual, classes, competitor)

    def _confidence(
        self, probabilities: np.ndarray, decided: np.ndarray, data: Featurised, unseen: np.ndarray
    ) -> np.ndarray:
        if self.confidence_model is None:
            right = np.where(decided == 1, probabilities, 1.0 - probabilities)
            return np.prod(right, axis=1)
        inputs = self.confidence_inputs(probabilities, decided, data, unseen)
        with one_thread():
            return np.asarray(self.confidence_model.predict_proba(inputs)[:, 1])


@dataclass
class TrainingData:
    """Normalised answers with their codes, the writer or source of each, and its weight."""

    texts: list[str]
    reasons: list[frozenset[str]]
    competitors: list[str]
    groups: list[str]
    weights: np.ndarray


def group_folds(groups: Sequence[str], folds: int) -> list[np.ndarray]:
    """Row indices of each held-out fold: whole groups (writers, sources) kept together.

    Groups are dealt to folds largest first, each to the fold with the fewest rows; with a
    single group the rows are dealt by position, so a fold still never sees itself.
    """
    labels = np.array(list(groups), dtype=object)
    names, counts = np.unique(labels, return_counts=True)
    if len(names) < 2:
        return [np.arange(len(labels))[part::folds] for part in range(folds)]
    count = min(folds, len(names))
    sizes = np.zeros(count)
    members: list[list[str]] = [[] for _ in range(count)]
    for name, size in sorted(zip(names, counts, strict=True), key=lambda pair: (-pair[1], str(pair[0]))):
        target = int(np.argmin(sizes))
        members[target].append(name)
        sizes[target] += size
    return [np.nonzero(np.isin(labels, chosen))[0] for chosen in members]


def fit(
    data: TrainingData,
    codebook: Codebook,
    code_rules: Callable[[str], RuleResult],
    *,
    review_precision: float = 0.95,
    sources: dict[str, Any] | None = None,
    progress: Progress | None = None,
) -> ReasonModel:
    """Train on normalised texts; cut-offs, stacker and confidence are set from predictions
    for writers (groups) the models being scored never saw."""
    say = progress or (lambda message: None)
    reason_ids = codebook.reason_ids
    say(f"reading {len(data.texts):,} answers")
    features = featurise(data.texts, [code_rules(text) for text in data.texts], reason_ids)
    word_vectorizer = TfidfVectorizer(analyzer=_tokens, sublinear_tf=True, min_df=1, lowercase=False)
    char_vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=CHAR_NGRAMS, sublinear_tf=True, min_df=2)
    # Fitted on every clause met, repeats included: the weights do not depend on how a batch of
    # clauses is read.
    word_vectorizer.fit(features.tokens + [features.unit_tokens[i] for i in features.unit_of])
    char_vectorizer.fit(features.texts + [features.unit_texts[i] for i in features.unit_of])
    empty = LinearReasons(np.zeros((0, len(reason_ids))), np.zeros(len(reason_ids)))
    model = ReasonModel(reason_ids, word_vectorizer, char_vectorizer, empty)
    targets = np.array([[reason in labels for reason in reason_ids] for labels in data.reasons], dtype=int)
    weights = np.asarray(data.weights, dtype=float)
    whole_matrix = model.matrix(features.texts, features.tokens, features.signals)
    unit_matrix = model.matrix(features.unit_texts, features.unit_tokens, features.unit_signals)

    rows = len(data.texts)
    out_whole = np.full(targets.shape, 0.5)
    out_best = np.full(targets.shape, 0.5)
    out_unseen = np.zeros(rows)
    folds = group_folds(data.groups, OUT_OF_FOLD_GROUPS) if rows >= 20 else []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=UserWarning)
        for number, held_out in enumerate(folds, start=1):
            say(f"out-of-fold models {number}/{len(folds)}")
            train = np.setdiff1d(np.arange(rows), held_out)
            if len(train) == 0:
                continue
            fold_model = fit_linear(whole_matrix[train], targets[train], weights[train], REGULARISATION_C)
            out_whole[held_out] = fold_model.probabilities(whole_matrix[held_out])
            best = out_whole[held_out].copy()
            in_fold = np.isin(features.unit_owner, held_out)
            if in_fold.any():
                position = {row: place for place, row in enumerate(held_out)}
                owners = np.array([position[row] for row in features.unit_owner[in_fold]])
                units = fold_model.probabilities(unit_matrix[features.unit_of[np.nonzero(in_fold)[0]]])
                for reason in range(units.shape[1]):
                    np.maximum.at(best[:, reason], owners, units[:, reason])
            out_best[held_out] = best
            vocabulary = frozenset(word for row in train for word in features.tokens[row])
            out_unseen[held_out] = model.unseen_share([features.tokens[row] for row in held_out], vocabulary)
        say("final models")
        model.base = fit_linear(whole_matrix, targets, weights, REGULARISATION_C)
        if folds:
            _fit_stacker(model, out_whole, out_best, features, targets, weights)
            united = model.united(out_whole, out_best, features)
            model.thresholds = _best_f1_thresholds(united, targets, weights)
            decided = model.decide(united, features.rules)
            correct = (decided == targets).all(axis=1)
            inputs = model.confidence_inputs(united, decided, features, out_unseen)
            if 0 < correct.sum() < len(correct):
                with one_thread():
                    model.confidence_model = _confidence_estimator().fit(inputs, correct, sample_weight=weights)
                # The cut-off is chosen on confidences of writers the confidence model never saw
                # either, so that it holds for a writer it never saw.
                confidence = _cross_fitted_confidence(inputs, correct, weights, folds)
            else:
                confidence = model._confidence(united, decided, features, out_unseen)
            model.review_threshold = _review_threshold(confidence, correct, review_precision, folds)
            model.unseen_limit = float(np.quantile(out_unseen, 0.99)) if rows else 1.0
        model.vocabulary = frozenset(word for words in features.tokens for word in words)
        model.longest_seen = max((len(text) for text in data.texts), default=0)
        known = np.array([competitor != "unknown" for competitor in data.competitors])
        if known.sum() >= 10 and len(set(np.array(data.competitors)[known])) >= 2:
            say("competitor model")
            model.competitor_ids = tuple(sorted(set(data.competitors)))
            one_hot = np.array([[c == cid for cid in model.competitor_ids] for c in data.competitors], dtype=int)
            model.competitor_model = fit_linear(whole_matrix, one_hot, weights, 8.0)
    model.info = {
        "format": MODEL_FORMAT,
        "version": datetime.now(UTC).strftime("reasons-%Y%m%d-%H%M%S"),
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "codebook_sha256": codebook.sha256,
        "libraries": library_versions(),
        "answers": rows,
        "review_precision": review_precision,
        "review_threshold": model.review_threshold,
        "sources": sources or {},
    }
    return model


def one_thread() -> threadpool_limits:
    """The boosted trees on one thread: their few thousand rows gain nothing from OpenMP, and its
    threads spin for whole seconds when another process (a coding worker) has the other core."""
    return threadpool_limits(limits=1, user_api="openmp")


def _confidence_estimator() -> HistGradientBoostingClassifier:
    """The second model: how likely an answer's whole set of reasons is right. Boosted trees, for
    the cues interact (a reason overruled by the model matters more in a short answer)."""
    return HistGradientBoostingClassifier(max_iter=150, learning_rate=0.05, max_leaf_nodes=15, random_state=7)


def _cross_fitted_confidence(
    inputs: np.ndarray, correct: np.ndarray, weights: np.ndarray, folds: Sequence[np.ndarray]
) -> np.ndarray:
    """Each answer's confidence from a confidence model fitted on the other folds."""
    result = np.zeros(len(correct))
    for held_out in folds:
        rest = np.setdiff1d(np.arange(len(correct)), held_out)
        if len(rest) == 0 or correct[rest].min() == correct[rest].max():
            result[held_out] = float(correct[rest].mean()) if len(rest) else 0.5
            continue
        with one_thread():
            fitted = _confidence_estimator().fit(inputs[rest], correct[rest], sample_weight=weights[rest])
            result[held_out] = fitted.predict_proba(inputs[held_out])[:, 1]
    return result


def stack_inputs(whole: np.ndarray, best: np.ndarray, data: Featurised, reason_ids: Sequence[str]) -> list[np.ndarray]:
    """Per reason, the stacker's inputs: logit of the whole text, of its best clause, the latter
    again for answers of several clauses, and the reason's rule signal (asserted, weak, negated)."""
    several = np.zeros(len(data.texts))
    if len(data.unit_owner):
        several[np.unique(data.unit_owner)] = 1.0
    signals = data.signals
    return [
        np.column_stack(
            [
                _logit(whole[:, reason]),
                _logit(best[:, reason]),
                several * _logit(best[:, reason]),
                signals[:, 3 * reason : 3 * reason + 3],
            ]
        )
        for reason in range(whole.shape[1])
    ]


def _fit_stacker(
    model: ReasonModel,
    whole: np.ndarray,
    best: np.ndarray,
    data: Featurised,
    targets: np.ndarray,
    weights: np.ndarray,
) -> None:
    inputs = stack_inputs(whole, best, data, model.reason_ids)
    stack_weights, intercepts = [], []
    for reason in range(targets.shape[1]):
        labels = targets[:, reason]
        if labels.min() == labels.max():
            stack_weights.append(np.r_[1.0, np.zeros(inputs[reason].shape[1] - 1)])
            intercepts.append(0.0)
            continue
        stacker = LogisticRegression(C=1.0, max_iter=1000).fit(inputs[reason], labels, sample_weight=weights)
        stack_weights.append(stacker.coef_[0])
        intercepts.append(float(stacker.intercept_[0]))
    model.stack_weights = np.vstack(stack_weights)
    model.stack_intercepts = np.array(intercepts)


def _best_f1_thresholds(predicted: np.ndarray, targets: np.ndarray, weights: np.ndarray) -> np.ndarray:
    cuts = np.linspace(0.15, 0.85, 29)
    best = np.full(targets.shape[1], 0.5)
    for c in range(targets.shape[1]):
        scores = []
        for cut in cuts:
            decided = predicted[:, c] >= cut
            true_positive = np.sum(weights * (decided & (targets[:, c] == 1)))
            denominator = np.sum(weights * decided) + np.sum(weights * targets[:, c])
            scores.append(2 * true_positive / denominator if denominator else 0.0)
        best[c] = cuts[int(np.argmax(scores))]
    return best


# How far below the precision asked for each held-out writer on its own may fall (chosen on the
# development writers: with the furthest writer excused, none of them fell below 93% at 0).
WRITER_SLACK = 0.0
# Of five or more held-out writers, the one furthest from the rest may fall short: otherwise one
# unusual writer in training sets the cut-off for all, and the more writers, the stricter it gets.
WRITERS_EXCUSED = 1
# A held-out writer with fewer answers than this above a cut-off says too little to judge it by.
_FEW_TO_JUDGE = 15


def _review_threshold(
    confidence: np.ndarray, correct: np.ndarray, precision: float, folds: Sequence[np.ndarray] = ()
) -> float:
    """The lowest answer confidence at which out-of-fold codes are exactly right `precision` of
    the time over all answers, and nearly so for every held-out writer on its own."""
    rows = confidence.shape[0]
    if rows < 20:
        return 0.5
    groups = list(folds) or [np.arange(rows)]
    for cut in np.unique(np.quantile(confidence, np.linspace(0.0, 1.0, 401))):
        above = confidence >= cut
        if correct[above].mean() < precision:
            continue
        judged = [fold[above[fold]] for fold in groups]
        short = sum(
            1 for kept in judged if len(kept) >= _FEW_TO_JUDGE and correct[kept].mean() < precision - WRITER_SLACK
        )
        if short <= (WRITERS_EXCUSED if len(groups) > 4 else 0):
            return float(cut)
    return 1.0


def save(model: ReasonModel, path: Path) -> None:
    """The model as a joblib file, with its description beside it as JSON (read without unpickling).

    Both are written to temporary files first and moved into place, the description last: a
    failed save leaves the previous model, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    description = path.with_suffix(".json")
    parts = []
    try:
        for target, write in (
            (path, lambda handle: joblib.dump(model, handle, compress=3)),
            (
                description,
                lambda handle: handle.write(json.dumps(model.info, ensure_ascii=False, indent=2).encode() + b"\n"),
            ),
        ):
            descriptor, name = tempfile.mkstemp(dir=path.parent, prefix=f".{target.name}.", suffix=".part")
            parts.append((Path(name), target))
            with os.fdopen(descriptor, "wb") as handle:
                write(handle)
        for temporary, target in parts:
            os.replace(temporary, target)
    finally:
        for temporary, _ in parts:
            temporary.unlink(missing_ok=True)


def read_info(path: Path) -> dict[str, Any] | None:
    try:
        info = json.loads(path.with_suffix(".json").read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return info if isinstance(info, dict) else None


def load(path: Path) -> ReasonModel:
    model = joblib.load(path)
    if not isinstance(model, ReasonModel):
        raise TypeError(f"{path} does not hold a reason model")
    return model
