"""Coding answers: normalise, deduplicate, apply rules and the model, and lay out the result table."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from coding import model as reason_model
from coding.codebook import Codebook, load_codebook
from coding.corpus import join_reasons, load_corpus
from coding.ids import COMPETITORS
from coding.normalize import mask_phones, normalize
from coding.parallel import CodingRun, default_processes
from coding.resources import data_file
from coding.results import CodedTexts
from coding.rules import RuleCoder, RuleResult

# The model names a competitor the text does not name only when it is at least this sure
# (set by cross-validation on the corpus's training part).
COMPETITOR_MODEL_MIN = 0.7
OUTPUT_COLUMNS = ("id", "text", "reasons", "primary_reason", "competitor", "confidence", "needs_review")
MODEL_ENV = "CHURN_SURVEY_MODEL"


def shipped_model_path() -> Path:
    return data_file("models", "reason_model.joblib")


def user_model_path() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "churn-survey" / "reason_model.joblib"


def reason_columns(reason_ids: Sequence[str]) -> list[str]:
    return [f"reason_{reason}" for reason in reason_ids]


@dataclass
class Coder:
    """Codes answers with the rules alone, or rules and model combined when a model is given."""

    codebook: Codebook
    model: reason_model.ReasonModel | None = None

    def __post_init__(self) -> None:
        self.rules = RuleCoder(self.codebook)
        self._run: CodingRun | None = None

    def __getstate__(self) -> dict[str, object]:
        # A worker started by spawning gets the coder pickled, without the run of its parent.
        return {**self.__dict__, "_run": None}

    @contextlib.contextmanager
    def pooled(self, processes: int | None = None) -> Iterator[Coder]:
        """Within the block, code on `processes` worker processes (default: one per core this
        process may use) and code each distinct text once, however many calls it comes back in;
        `start` then returns while the workers code, so reading and writing go on meanwhile."""
        run = CodingRun(self, processes or default_processes())
        self._run = run
        try:
            yield self
        finally:
            self._run = None
            run.close()

    @property
    def version(self) -> str:
        return self.model.version if self.model is not None else f"rules-{self.codebook.sha256[:12]}"

    def code(
        self,
        texts: Sequence[object],
        *,
        ids: Sequence[object] | None = None,
        competitor_hints: Sequence[object] | None = None,
    ) -> pd.DataFrame:
        """One row per answer, columns as in OUTPUT_COLUMNS then one 0/1 column per reason.

        Identical answers are coded once: real survey answers repeat a great deal.
        """
        return self.start(texts, ids=ids, competitor_hints=competitor_hints).result()

    def start(
        self,
        texts: Sequence[object],
        *,
        ids: Sequence[object] | None = None,
        competitor_hints: Sequence[object] | None = None,
    ) -> PendingCodes:
        """Begin coding `texts`; `result()` of what it returns gives the table of `code`.

        Inside `pooled` the distinct texts not coded before go to the workers (which normalise
        them too) and this returns at once; otherwise they are coded here and now.
        """
        count = len(texts)
        raw = pd.Series(list(texts), dtype=object).fillna("").astype(str)
        # factorize hashes; it never builds fixed-width arrays, so one huge answer costs only itself.
        raw_codes, raw_unique = pd.factorize(raw)
        raw_distinct = list(raw_unique)
        if self._run is not None:
            coded = self._run.start(raw_distinct)
        else:
            done = self.code_raw(raw_distinct)
            coded = lambda: done  # noqa: E731
        return PendingCodes(
            self.codebook.reason_ids,
            coded,
            raw_codes,
            raw_distinct,
            list(ids) if ids is not None else list(range(1, count + 1)),
            list(competitor_hints) if competitor_hints is not None else None,
        )

    def code_raw(self, texts: list[str]) -> CodedTexts:
        """Code distinct texts as typed: normalised, each normalised form coded once."""
        codes, distinct = pd.factorize(pd.Series([normalize(text) for text in texts], dtype=object))
        return self.code_unique(list(distinct)).take(codes)

    def code_unique(self, texts: list[str]) -> CodedTexts:
        """Code distinct normalised texts; the per-text work of `code`."""
        rules = [self.rules.code(text) for text in texts]
        reason_ids = self.codebook.reason_ids
        empty = np.array([not text for text in texts], dtype=bool)
        prediction: reason_model.Prediction | None = None
        if self.model is None:
            probabilities = np.array(
                [[1.0 if result.signals[r] > 0 else 0.0 for r in reason_ids] for result in rules]
            ).reshape(len(texts), len(reason_ids))
            confidence = np.array([_rule_confidence(result) for result in rules])
            flags = (probabilities >= 0.5).astype(int)
            needs_review = confidence < 0.75
        else:
            prediction = self.model.predict(reason_model.featurise(texts, rules, reason_ids))
            probabilities, flags, confidence = prediction.probabilities, prediction.decided, prediction.confidence
            needs_review = (confidence < self.model.review_threshold) | prediction.unusual
        flags[empty] = 0
        competitor = self._competitors(rules, prediction, flags)
        confidence = np.where(empty, 1.0, confidence)
        reasons = [join_reasons([r for r, flag in zip(reason_ids, row, strict=True) if flag]) for row in flags]
        primary = [
            reason_ids[int(np.argmax(np.where(row == 1, probs, -1.0)))] if row.any() else ""
            for row, probs in zip(flags, probabilities, strict=True)
        ]
        return CodedTexts(reasons, primary, competitor, confidence, needs_review & ~empty, flags)

    def _competitors(
        self, rules: list[RuleResult], prediction: reason_model.Prediction | None, flags: np.ndarray
    ) -> list[str]:
        """Named in the text wins; then "stopped using it" with no reason given means no broadband;
        a reinstall is with the provider again; an answer that names operators (as the provider,
        or several) says nothing more; otherwise the model's guess when it is confident."""
        classes = prediction.competitor_classes if prediction is not None else []
        reinstall = self.codebook.reason_ids.index("reinstall") if "reinstall" in self.codebook.reason_ids else None
        chosen = []
        for row, result in enumerate(rules):
            if result.competitor != "unknown" or result.competitor_denied:
                chosen.append(result.competitor)
            elif result.stopped_using and not flags[row].any():
                chosen.append("none")
            elif reinstall is not None and flags[row, reinstall]:
                chosen.append("china_telecom")
            elif classes and not result.operators:
                assert prediction is not None
                # One-versus-rest probabilities, each on its own scale: the guess must be sure
                # by itself, not merely the largest of several small ones.
                scores = prediction.competitor_scores[row]
                best = int(np.argmax(scores))
                sure = scores[best] >= COMPETITOR_MODEL_MIN and classes[best] not in ("unknown", "china_telecom")
                chosen.append(classes[best] if sure else "unknown")
            else:
                chosen.append("unknown")
        return chosen


@dataclass
class PendingCodes:
    """Answers being coded; `result()` waits for their codes and lays out the table of `Coder.code`."""

    reason_ids: tuple[str, ...]
    # The codes of each distinct text as typed, and where each answer's text is among them.
    coded: Callable[[], CodedTexts]
    raw_codes: np.ndarray
    raw_unique: list[str]
    ids: list[object]
    competitor_hints: list[object] | None

    def result(self) -> pd.DataFrame:
        coded, at = self.coded(), self.raw_codes
        count = len(at)
        flags = coded.flags[at] if count else np.zeros((0, len(self.reason_ids)), dtype=int)
        texts = np.array([mask_phones(text) for text in self.raw_unique], dtype=object)
        result = pd.DataFrame(
            {
                "id": self.ids,
                "text": texts[at] if count else [],
                "reasons": np.array(coded.reasons, dtype=object)[at] if count else [],
                "primary_reason": np.array(coded.primary, dtype=object)[at] if count else [],
                "competitor": np.array(coded.competitor, dtype=object)[at] if count else [],
                "confidence": np.round(coded.confidence[at], 4) if count else [],
                "needs_review": coded.needs_review[at] if count else [],
            }
        )
        if self.competitor_hints is not None:
            hints = pd.Series(self.competitor_hints, dtype=object).map(_competitor_hint)
            result["competitor"] = hints.where(hints.notna(), result["competitor"]).to_numpy()
        for column, name in enumerate(reason_columns(self.reason_ids)):
            result[name] = flags[:, column] if count else []
        return result


def _competitor_hint(value: object) -> str | None:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    text = str(value).strip()
    return text if text in COMPETITORS and text != "unknown" else None


def _rule_confidence(result: RuleResult) -> float:
    """Without a model: sure when reasons were asserted plainly, unsure with weak or negated ones."""
    signals = list(result.signals.values())
    if any(signal == 0.5 for signal in signals) or (not result.reasons and any(s < 0 for s in signals)):
        return 0.5
    return 0.9 if result.reasons else 0.6


# -- finding, checking and (re)training the model ---------------------------------------------------


def model_problem(path: Path, codebook: Codebook) -> str | None:
    """Why the model at `path` cannot be used as it is, or None when it can."""
    info = reason_model.read_info(path)
    if info is None or not path.exists():
        return f"no model at {path}"
    if info.get("format") != reason_model.MODEL_FORMAT:
        return "the model was saved in another format"
    if info.get("codebook_sha256") != codebook.sha256:
        return "the codebook changed since the model was trained"
    saved, installed = info.get("libraries", {}), reason_model.library_versions()
    differing = [
        f"{name} {saved.get(name)} -> {installed[name]}"
        for name in reason_model.PINNED_LIBRARIES
        if saved.get(name) != installed[name]
    ]
    if differing:
        return "library versions differ (" + ", ".join(differing) + ")"
    return None


# Weight of a human code added to the corpora (a file given to `train --add`, or a code stored by
# the team): enough that a few hundred of them move the model toward the answers they come from.
# Chosen on the learning curve of the first corpus's writers (bench/adaptation.py).
ADDED_WEIGHT = 10.0


def training_data(
    corpus: pd.DataFrame, extra: pd.DataFrame | None = None, *, added_weight: float = ADDED_WEIGHT
) -> reason_model.TrainingData:
    """The corpus rows (grouped by writer) and extra human codes (grouped by their source)."""
    parts = [corpus.assign(group=_groups(corpus, "corpus"), weight=1.0)]
    if extra is not None and len(extra):
        parts.append(extra.assign(group=_groups(extra, "added"), weight=added_weight))
    data = pd.concat([part[["text", "reasons", "competitor", "group", "weight"]] for part in parts], ignore_index=True)
    return reason_model.TrainingData(
        [normalize(text) for text in data["text"]],
        [frozenset(value) for value in data["reasons"]],
        [str(value) if value in COMPETITORS else "unknown" for value in data["competitor"]],
        [str(value) for value in data["group"]],
        data["weight"].to_numpy(dtype=float),
    )


def _groups(frame: pd.DataFrame, default: str) -> pd.Series:
    for column in ("part", "source", "group"):
        if column in frame.columns:
            return frame[column].fillna(default).astype(str)
    return pd.Series([default] * len(frame), index=frame.index)


def train_model(
    codebook: Codebook,
    extra: pd.DataFrame | None = None,
    *,
    corpus: pd.DataFrame | None = None,
    added_weight: float = ADDED_WEIGHT,
    progress: Callable[[str], None] | None = None,
) -> reason_model.ReasonModel:
    """Train on the corpora's train parts (never their test parts) plus extra human-coded answers."""
    frame = corpus if corpus is not None else load_corpus(split="train")
    rules = RuleCoder(codebook)
    return reason_model.fit(
        training_data(frame, extra, added_weight=added_weight),
        codebook,
        rules.code,
        sources={"corpus_train": len(frame), "human_codes": 0 if extra is None else len(extra)},
        progress=progress,
    )


def default_coder(notify: Callable[[str], None] | None = None, model_path: Path | None = None) -> Coder:
    """The coder with the best usable model: given, user-trained, or shipped; retrained if stale.

    A model that does not match the installed libraries or the codebook is never used silently:
    it is retrained from the shipped corpus, with a notice.
    """
    codebook = load_codebook()
    candidates = [model_path] if model_path else []
    if not model_path and os.environ.get(MODEL_ENV):
        candidates.append(Path(os.environ[MODEL_ENV]))
    if not model_path:
        candidates += [user_model_path(), shipped_model_path()]
    problems = []
    for path in candidates:
        problem = model_problem(path, codebook)
        if problem is None:
            return Coder(codebook, reason_model.load(path))
        if path.exists() or path == model_path:
            problems.append(f"{path}: {problem}")
    if notify is not None:
        reason = "; ".join(problems) if problems else "no trained model found"
        notify(f"note: retraining the model from the shipped corpus ({reason})")
    model = train_model(codebook)
    with contextlib.suppress(OSError):  # a read-only home still codes; it retrains next time
        reason_model.save(model, user_model_path())
    return Coder(codebook, model)
