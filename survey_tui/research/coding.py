"""Coding what the store holds: the answers tallied as reasons, with the competitor from the answer that
names it or from the texts; human codes for training and agreement, and the review of uncertain codes."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from coding import model as reason_model
from coding.agreement import AgreementReport, agreement
from coding.coder import Coder, PendingCodes, train_model, user_model_path
from coding.ids import COMPETITORS
from coding.review import AutomaticEstimate, estimate_automatic, teaching_order
from survey_tui.research.study import Study, load_study, study_names
from survey_tui.store import AnswerToCode, CodedAnswer, Store

__all__ = [
    "CodedAnswer",
    "CodedQuestions",
    "Learned",
    "ReviewSession",
    "open_review",
    "StoreRunReport",
    "code_store",
    "coded_questions",
    "confirm_code",
    "human_training_rows",
    "review_queue",
    "store_agreement",
    "theme_texts",
]

AUTO = "auto"
CHUNK_ROWS = 100_000


@dataclass(frozen=True)
class CodedQuestions:
    """What a coding run reads of a study: the answers coded into reasons (`tally: reasons`), the
    answer that names the competitor (`competitors`) and the text that may name it (`choice_reasons`)."""

    reasons: str
    competitor: str | None = None
    competitor_text: str | None = None

    @classmethod
    def of(cls, study: Study) -> CodedQuestions | None:
        if study.reasons is None:
            return None
        competitor, text = study.competitors, study.choice_reasons
        return cls(study.reasons.id, competitor.id if competitor else None, text.id if text else None)


def coded_questions(store: Store) -> list[CodedQuestions]:
    """The questions to code of every questionnaire the store has registered (each id once)."""
    found: dict[str, CodedQuestions] = {}
    for name in study_names(store):
        coded = CodedQuestions.of(load_study(store, name))
        if coded is not None:
            found.setdefault(coded.reasons, coded)
    return list(found.values())


@dataclass
class StoreRunReport:
    coded: int = 0
    needs_review: int = 0
    skipped_empty: int = 0


def code_store(
    store: Store,
    coder: Coder,
    *,
    recode: bool = False,
    processes: int | None = None,
    chunk_rows: int = CHUNK_ROWS,
    questions: Sequence[CodedQuestions] | None = None,
) -> StoreRunReport:
    """Code every confirmed answer of the questions tallied as reasons (`questions`, by default
    those of every registered questionnaire) without codes (with `recode`, also those coded
    automatically before) on `processes` cores (default: all), `chunk_rows` answers at a time, so
    that memory stays bounded however many there are; human codes are never replaced."""
    report = StoreRunReport()
    with coder.pooled(processes):
        for coded in coded_questions(store) if questions is None else questions:
            _code_question(store, coder, coded, recode=recode, chunk_rows=chunk_rows, report=report)
    return report


def _code_question(
    store: Store, coder: Coder, questions: CodedQuestions, *, recode: bool, chunk_rows: int, report: StoreRunReport
) -> None:
    # While the workers code one page, this process stores the page before and reads the next.
    previous: tuple[list[AnswerToCode], PendingCodes] | None = None
    for rows in store.answers_to_code_pages(
        questions.reasons, include_auto_coded=recode, page_rows=chunk_rows, companion=questions.competitor
    ):
        texted = [row for row in rows if isinstance(row.value, str) and row.value.strip()]
        report.skipped_empty += len(rows) - len(texted)
        if not texted:
            continue
        hints = [_structured_competitor(row.companion_value) for row in texted]
        current = (
            texted,
            coder.start([row.value for row in texted], ids=[row.answer_id for row in texted], competitor_hints=hints),
        )
        if previous is not None:
            _store_codes(store, coder, questions, *previous, report)
        previous = current
    if previous is not None:
        _store_codes(store, coder, questions, *previous, report)


def _store_codes(
    store: Store,
    coder: Coder,
    questions: CodedQuestions,
    texted: list[AnswerToCode],
    pending: PendingCodes,
    report: StoreRunReport,
) -> None:
    coded = pending.result()
    competitors = coded["competitor"].tolist()
    # Where the competitor's answer and the reasons leave it open, why they chose it may name it.
    open_rows = [i for i, competitor in enumerate(competitors) if competitor == "unknown"]
    if open_rows and questions.competitor_text is not None:
        said = store.question_values(questions.competitor_text, [texted[i].interview_id for i in open_rows])
        open_rows = [i for i in open_rows if said.get(texted[i].interview_id)]
        if open_rows:
            from_q2 = coder.code([str(said[texted[i].interview_id]) for i in open_rows])
            for i, competitor in zip(open_rows, from_q2["competitor"], strict=True):
                competitors[i] = competitor
    reasons_column = coded["reasons"].tolist()
    reason_sets = {value: tuple(r for r in value.split(";") if r) for value in set(reasons_column)}
    needs_review = coded["needs_review"].tolist()
    store.save_code_columns(
        coded["id"].tolist(),
        [reason_sets[value] for value in reasons_column],
        source=AUTO,
        competitors=competitors,
        confidences=coded["confidence"].tolist(),
        needs_review=needs_review,
        model_version=coder.version,
    )
    report.coded += len(needs_review)
    report.needs_review += sum(needs_review)


def _structured_competitor(value: Any) -> str | None:
    return value if isinstance(value, str) and value in COMPETITORS else None


def human_training_rows(store: Store) -> pd.DataFrame:
    """Every answer a person coded (their newest code), as extra training data."""
    latest = store.latest_codes(source="human")
    rows = [
        {
            "text": coded.text,
            "reasons": frozenset(coded.code.reasons or []),
            "competitor": coded.code.competitor or "unknown",
        }
        for coded in latest.values()
        if isinstance(coded.text, str) and coded.text.strip()
    ]
    # One source of their own: out of fold, the model is judged on them as on an unseen writer.
    return pd.DataFrame(rows, columns=["text", "reasons", "competitor"]).assign(source="store")


def store_agreement(store: Store, coder_a: str, coder_b: str) -> AgreementReport:
    """Agreement between two coders of the store; `auto` stands for the model."""
    first, second = _codes_of(store, coder_a), _codes_of(store, coder_b)
    return agreement(
        {answer: frozenset(coded.code.reasons or []) for answer, coded in first.items()},
        {answer: frozenset(coded.code.reasons or []) for answer, coded in second.items()},
        competitor_a={answer: coded.code.competitor for answer, coded in first.items()},
        competitor_b={answer: coded.code.competitor for answer, coded in second.items()},
    )


def _codes_of(store: Store, coder: str) -> dict[int, CodedAnswer]:
    if coder == AUTO:
        return store.latest_codes(source=AUTO)
    return store.latest_codes(source="human", coder=coder)


def theme_texts(store: Store, study: str) -> dict[str, list[str]]:
    """The stored texts of the questions a staff-interview study tallies as `themes`, by question."""
    themes = load_study(store, study).themes
    return {q.id: [v for v in store.question_values(q.id).values() if isinstance(v, str)] for q in themes}


# -- review --------------------------------------------------------------------------------------


def review_queue(store: Store, limit: int = 500) -> list[CodedAnswer]:
    """The automatic codes to review (flagged, no human code yet), least confident first."""
    return store.review_queue(limit)


# Reviewed answers after which the model is retrained on every human code, and at most how many
# automatic codes of the store are recoded to estimate how many of them are right.
REVIEW_BATCH = 20
ESTIMATE_SAMPLE = 5_000


@dataclass(frozen=True)
class Learned:
    """What retraining on the team's codes did: the estimate before and after, on the same answers."""

    human_codes: int
    seconds: float
    before: AutomaticEstimate
    after: AutomaticEstimate
    saved_to: Path | None

    def describe(self) -> str:
        return (
            f"模型已用 {self.human_codes} 条人工编码重新训练（{self.seconds:.0f} 秒）："
            f"自动编码 {self.before.automatic_share:.0%} → {self.after.automatic_share:.0%}，"
            f"估计正确率 {self.before.expected_right:.1%} → {self.after.expected_right:.1%}"
        )


class ReviewSession:
    """A reviewer's session: the flagged codes in the order that teaches the model most, and after
    each batch the model retrained on every human code, with the estimated share of right
    automatic codes before and after."""

    def __init__(self, store: Store, coder: Coder, *, batch: int = REVIEW_BATCH, model_path: Path | None = None):
        self.store = store
        self.coder = coder
        self.batch = batch
        self.model_path = model_path

    def queue(self, limit: int = 2_000) -> list[CodedAnswer]:
        """The flagged answers without a human code, most instructive first (coding.review)."""
        flagged = self.store.review_queue(limit)
        order = teaching_order(self.coder, [str(item.text or "") for item in flagged])
        return [flagged[position] for position in order]

    def reorder(self, remaining: list[CodedAnswer]) -> list[CodedAnswer]:
        order = teaching_order(self.coder, [str(item.text or "") for item in remaining])
        return [remaining[position] for position in order]

    def sample(self) -> list[str]:
        """The texts the estimate is measured on: automatic codes of the store, a fixed sample."""
        texts = sorted({str(c.text) for c in self.store.latest_codes(source=AUTO).values() if isinstance(c.text, str)})
        if len(texts) > ESTIMATE_SAMPLE:
            picked = np.random.default_rng(7).choice(len(texts), ESTIMATE_SAMPLE, replace=False)
            texts = [texts[i] for i in sorted(picked)]
        return texts

    def learn(self) -> Learned:
        """Retrain on the corpora and every human code of the store; keep the model where `code`
        finds it; say how the estimate of the automatic codes moved."""
        started = time.perf_counter()
        texts = self.sample()
        before = estimate_automatic(self.coder, texts)
        human = human_training_rows(self.store)
        model = train_model(self.coder.codebook, human)
        self.coder = Coder(self.coder.codebook, model)
        saved_to: Path | None = self.model_path or user_model_path()
        try:
            reason_model.save(model, saved_to or user_model_path())
        except OSError:
            saved_to = None  # a read-only home still reviews; `train` can save it later
        after = estimate_automatic(self.coder, texts)
        return Learned(len(human), time.perf_counter() - started, before, after, saved_to)


def confirm_code(store: Store, answer_id: int, reasons: Sequence[str], competitor: str, *, coder: str) -> int:
    """A reviewer's code of an answer: it wins over every automatic one from then on."""
    return store.save_code(answer_id, list(reasons), source="human", coder=coder, competitor=competitor)


def open_review(store: Store) -> ReviewSession:
    """A review session with the coder `code` would use (the team's model when there is one)."""
    from coding.coder import default_coder

    return ReviewSession(store, default_coder())
