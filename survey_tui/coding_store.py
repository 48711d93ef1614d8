"""Coding what the store holds: the leave-reason answers, with the competitor from q1 or the texts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from coding.agreement import AgreementReport, agreement
from coding.coder import Coder, PendingCodes
from coding.ids import COMPETITORS
from survey_tui.store import AnswerToCode, CodedAnswer, Store

# The disconnect questionnaire: q3 is coded into reasons; the competitor comes from the structured
# q1 answer when there is one, else from what was said in q2 or q3.
REASON_QUESTION = "q3_leave_reason"
COMPETITOR_QUESTION = "q1_operator"
COMPETITOR_TEXT_QUESTION = "q2_competitor_reason"
AUTO = "auto"
CHUNK_ROWS = 100_000


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
) -> StoreRunReport:
    """Code every confirmed q3 answer without codes (with `recode`, also those coded automatically
    before) on `processes` cores (default: all), `chunk_rows` answers at a time, so that memory
    stays bounded however many there are; human codes are never replaced."""
    report = StoreRunReport()
    with coder.pooled(processes):
        # While the workers code one page, this process stores the page before and reads the next.
        previous: tuple[list[AnswerToCode], PendingCodes] | None = None
        for rows in store.answers_to_code_pages(
            REASON_QUESTION, include_auto_coded=recode, page_rows=chunk_rows, companion=COMPETITOR_QUESTION
        ):
            texted = [row for row in rows if isinstance(row.value, str) and row.value.strip()]
            report.skipped_empty += len(rows) - len(texted)
            if not texted:
                continue
            hints = [_structured_competitor(row.companion_value) for row in texted]
            current = (
                texted,
                coder.start(
                    [row.value for row in texted], ids=[row.answer_id for row in texted], competitor_hints=hints
                ),
            )
            if previous is not None:
                _store_codes(store, coder, *previous, report)
            previous = current
        if previous is not None:
            _store_codes(store, coder, *previous, report)
    return report


def _store_codes(
    store: Store, coder: Coder, texted: list[AnswerToCode], pending: PendingCodes, report: StoreRunReport
) -> None:
    coded = pending.result()
    competitors = coded["competitor"].tolist()
    # Where q1 and q3 leave the competitor open, what the customer said in q2 may name it.
    open_rows = [i for i, competitor in enumerate(competitors) if competitor == "unknown"]
    if open_rows:
        said = store.question_values(COMPETITOR_TEXT_QUESTION, [texted[i].interview_id for i in open_rows])
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
    return pd.DataFrame(rows, columns=["text", "reasons", "competitor"])


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
