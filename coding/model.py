"""The supervised coder: TF-IDF over jieba words and characters plus rule signals, calibrated per reason."""

from __future__ import annotations

import json
import platform
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata as package_metadata
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import scipy.sparse as sp
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

from coding.codebook import Codebook
from coding.rules import ASSERTED, NEGATED, WEAK, RuleResult

MODEL_FORMAT = 1
# Libraries whose versions must match for a saved model to be loaded as it is.
PINNED_LIBRARIES = ("scikit-learn", "numpy", "scipy", "jieba", "joblib")


def _tokens(document: list[str]) -> list[str]:
    """Identity analyzer: documents arrive already segmented (kept module-level so it pickles)."""
    return document


def rule_features(results: Sequence[RuleResult], reason_ids: Sequence[str]) -> sp.csr_matrix:
    """Three 0/1 columns per reason: asserted, weak, negated."""
    rows = np.zeros((len(results), 3 * len(reason_ids)), dtype=np.float64)
    for row, result in enumerate(results):
        for column, reason in enumerate(reason_ids):
            signal = result.signals.get(reason, 0.0)
            if signal == ASSERTED:
                rows[row, 3 * column] = 1.0
            elif signal == WEAK:
                rows[row, 3 * column + 1] = 1.0
            elif signal == NEGATED:
                rows[row, 3 * column + 2] = 1.0
    return sp.csr_matrix(rows)


def confidence_features(
    model: ReasonModel, probabilities: np.ndarray, rules: Sequence[RuleResult], texts: Sequence[str]
) -> np.ndarray:
    decided = model.decide(probabilities)
    cut = model.thresholds if model.thresholds.size else np.full(probabilities.shape[1], 0.5)
    joint = np.clip(model.joint(probabilities), 1e-6, 1.0)
    margin = np.min(np.abs(probabilities - cut), axis=1)
    unsure = np.sum((probabilities > 0.15) & (probabilities < 0.85), axis=1)
    reason_ids = model.reason_ids
    agree = np.array(
        [
            float(all((result.signals[r] > 0) == bool(flag) for r, flag in zip(reason_ids, row, strict=True)))
            for result, row in zip(rules, decided, strict=True)
        ]
    )
    hedged = np.array([sum(1 for s in result.signals.values() if s in (WEAK, NEGATED)) for result in rules])
    count = decided.sum(axis=1)
    length = np.log1p([len(text) for text in texts])
    return np.column_stack(
        [np.log(joint), margin, unsure, agree, hedged, count == 0, count == 1, count >= 3, length]
    ).astype(float)


def library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in PINNED_LIBRARIES:
        try:
            versions[name] = package_metadata.version(name)
        except package_metadata.PackageNotFoundError:
            versions[name] = "absent"
    return versions


@dataclass
class ReasonModel:
    """Everything needed to code: vectorizers, one calibrated classifier per reason, competitors."""

    reason_ids: tuple[str, ...]
    word_vectorizer: TfidfVectorizer
    char_vectorizer: TfidfVectorizer
    reason_classifiers: list[Any]
    competitor_classifier: LogisticRegression | None
    review_threshold: float
    thresholds: np.ndarray = field(default_factory=lambda: np.zeros(0))
    confidence_model: LogisticRegression | None = None
    info: dict[str, Any] = field(default_factory=dict)

    def decide(self, probabilities: np.ndarray) -> np.ndarray:
        """0/1 per reason: each reason has its own cut-off, set for the best F1 out of fold."""
        cut = self.thresholds if self.thresholds.size else np.full(probabilities.shape[1], 0.5)
        return (probabilities >= cut).astype(int)

    def joint(self, probabilities: np.ndarray) -> np.ndarray:
        """Probability that every reason decision is right, taking the reasons as independent."""
        if probabilities.size == 0:
            return np.ones(probabilities.shape[0])
        decided = self.decide(probabilities)
        right = np.where(decided == 1, probabilities, 1.0 - probabilities)
        return np.prod(right, axis=1)

    def confidence(self, probabilities: np.ndarray, rules: Sequence[RuleResult], texts: Sequence[str]) -> np.ndarray:
        """Calibrated probability that the answer's whole set of reasons is right.

        A second model, fitted on out-of-fold results, reads the joint probability together with
        what independent evidence says: whether the rules found the same reasons, how many cues
        were negated or weakened, how long the answer is.
        """
        if probabilities.shape[0] == 0:
            return np.zeros(0)
        if self.confidence_model is None:
            return self.joint(probabilities)
        meta = confidence_features(self, probabilities, rules, texts)
        return np.asarray(self.confidence_model.predict_proba(meta)[:, 1])

    @property
    def version(self) -> str:
        return str(self.info.get("version", "unversioned"))

    def features(self, texts: Sequence[str], tokens: Sequence[list[str]], rules: Sequence[RuleResult]) -> sp.csr_matrix:
        return sp.hstack(
            [
                self.word_vectorizer.transform(tokens),
                self.char_vectorizer.transform(texts),
                rule_features(rules, self.reason_ids),
            ],
            format="csr",
        )

    def reason_probabilities(self, matrix: sp.csr_matrix) -> np.ndarray:
        """(answers, reasons) probabilities that each reason applies."""
        if matrix.shape[0] == 0:
            return np.zeros((0, len(self.reason_ids)))
        return np.column_stack([classifier.predict_proba(matrix)[:, 1] for classifier in self.reason_classifiers])

    def competitor_probabilities(self, matrix: sp.csr_matrix) -> tuple[list[str], np.ndarray]:
        if self.competitor_classifier is None or matrix.shape[0] == 0:
            return [], np.zeros((matrix.shape[0], 0))
        return list(self.competitor_classifier.classes_), self.competitor_classifier.predict_proba(matrix)


# Chosen by cross-validation on the corpus's training part (never its test part).
REGULARISATION_C = 32.0
CHAR_NGRAMS = (1, 3)


def _reason_classifier(labels: np.ndarray) -> Any:
    # Sigmoid calibration over folds: the confidence shown to researchers is a probability.
    folds = int(min(5, labels.sum(), len(labels) - labels.sum()))
    base = LogisticRegression(C=REGULARISATION_C, class_weight="balanced", max_iter=3000, solver="liblinear")
    if folds < 2:
        return base
    return CalibratedClassifierCV(base, method="sigmoid", cv=folds)


def fit(
    texts: Sequence[str],
    tokens: Sequence[list[str]],
    rules: Sequence[RuleResult],
    reason_sets: Sequence[frozenset[str]],
    competitors: Sequence[str],
    codebook: Codebook,
    *,
    review_precision: float = 0.95,
    sources: dict[str, Any] | None = None,
) -> ReasonModel:
    """Train on normalised texts; the review threshold is set from out-of-fold predictions."""
    reason_ids = codebook.reason_ids
    word_vectorizer = TfidfVectorizer(analyzer=_tokens, sublinear_tf=True, min_df=1)
    char_vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=CHAR_NGRAMS, sublinear_tf=True, min_df=2)
    word_vectorizer.fit(tokens)
    char_vectorizer.fit(texts)
    model = ReasonModel(reason_ids, word_vectorizer, char_vectorizer, [], None, 0.0)
    matrix = model.features(texts, tokens, rules)
    targets = np.array([[reason in labels for reason in reason_ids] for labels in reason_sets], dtype=int)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=UserWarning)
        model.reason_classifiers = [
            _reason_classifier(targets[:, c]).fit(matrix, targets[:, c]) for c in range(len(reason_ids))
        ]
        known = np.array([competitor != "unknown" for competitor in competitors])
        if known.sum() >= 10 and len(set(np.array(competitors)[known])) >= 2:
            model.competitor_classifier = LogisticRegression(C=8.0, max_iter=3000, class_weight="balanced").fit(
                matrix, np.array(competitors)
            )
        out_of_fold = _out_of_fold(matrix, targets)
        model.thresholds = _best_f1_thresholds(out_of_fold, targets)
        correct = (model.decide(out_of_fold) == targets).all(axis=1)
        if 0 < correct.sum() < len(correct):
            meta = confidence_features(model, out_of_fold, rules, texts)
            model.confidence_model = LogisticRegression(C=1.0, max_iter=2000).fit(meta, correct)
        model.review_threshold = _review_threshold(
            model.confidence(out_of_fold, rules, texts), correct, review_precision
        )
    model.info = {
        "format": MODEL_FORMAT,
        "version": datetime.now(UTC).strftime("reasons-%Y%m%d-%H%M%S"),
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "codebook_sha256": codebook.sha256,
        "libraries": library_versions(),
        "answers": len(texts),
        "review_precision": review_precision,
        "review_threshold": model.review_threshold,
        "sources": sources or {},
    }
    return model


def _out_of_fold(matrix: sp.csr_matrix, targets: np.ndarray) -> np.ndarray:
    """Each training answer's probabilities from a model that did not see it (5 folds)."""
    rows = matrix.shape[0]
    predicted = np.full(targets.shape, 0.5)
    if rows < 20:
        return predicted
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=7)
    # Stratify on the number of reasons, a cheap proxy that keeps rare multi-label rows in every fold.
    strata = np.minimum(targets.sum(axis=1), 2)
    for train, test in folds.split(np.zeros(rows), strata):
        for c in range(targets.shape[1]):
            labels = targets[train, c]
            classifier = _reason_classifier(labels).fit(matrix[train], labels)
            predicted[test, c] = classifier.predict_proba(matrix[test])[:, 1]
    return predicted


def _best_f1_thresholds(predicted: np.ndarray, targets: np.ndarray) -> np.ndarray:
    cuts = np.linspace(0.15, 0.75, 25)
    best = np.full(targets.shape[1], 0.5)
    for c in range(targets.shape[1]):
        scores = []
        for cut in cuts:
            decided = predicted[:, c] >= cut
            true_positive = np.sum(decided & (targets[:, c] == 1))
            denominator = decided.sum() + targets[:, c].sum()
            scores.append(2 * true_positive / denominator if denominator else 0.0)
        best[c] = cuts[int(np.argmax(scores))]
    return best


def _review_threshold(confidence: np.ndarray, correct: np.ndarray, precision: float) -> float:
    """The lowest answer confidence at which out-of-fold codes are exactly right `precision` of the time."""
    rows = confidence.shape[0]
    if rows < 20:
        return 0.5
    order = np.argsort(-confidence, kind="stable")
    running = np.cumsum(correct[order]) / np.arange(1, rows + 1)
    acceptable = np.nonzero(running >= precision)[0]
    if acceptable.size == 0:
        return 1.0
    return float(confidence[order][acceptable[-1]])


def save(model: ReasonModel, path: Path) -> None:
    """The model as a joblib file, with its description beside it as JSON (read without unpickling)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    joblib.dump(model, path, compress=3)
    path.with_suffix(".json").write_text(json.dumps(model.info, ensure_ascii=False, indent=2) + "\n", "utf-8")


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
