"""Coding what the store holds: the leave-reason answers, with the competitor from q1 or the texts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from coding.agreement import AgreementReport, agreement
from coding.coder import Coder
from coding.ids import COMPETITORS
from survey_tui.store import CodeRecord, Store

# The disconnect questionnaire: q3 is coded into reasons; the competitor comes from the structured
# q1 answer when there is one, else from what was said in q2 or q3.
REASON_QUESTION = "q3_leave_reason"
COMPETITOR_QUESTION = "q1_operator"
COMPETITOR_TEXT_QUESTION = "q2_competitor_reason"
AUTO = "auto"
BATCH = 5000


@dataclass
class StoreRunReport:
    coded: int = 0
    needs_review: int = 0
    skipped_empty: int = 0


def code_store(store: Store, coder: Coder, *, recode: bool = False) -> StoreRunReport:
    """Code every confirmed q3 answer without codes (with `recode`, also those coded automatically
    before); human codes are never replaced."""
    report = StoreRunReport()
    rows = [row for row in store.answers_to_code(REASON_QUESTION, include_auto_coded=recode)]
    texted = [row for row in rows if isinstance(row["value"], str) and row["value"].strip()]
    report.skipped_empty = len(rows) - len(texted)
    if not texted:
        return report
    chosen = store.question_values(COMPETITOR_QUESTION)
    said = store.question_values(COMPETITOR_TEXT_QUESTION)
    hints = [_structured_competitor(chosen.get(row["interview_id"])) for row in texted]
    coded = coder.code(
        [row["value"] for row in texted], ids=[row["answer_id"] for row in texted], competitor_hints=hints
    )
    competitors = list(coded["competitor"])
    # Where q1 and q3 leave the competitor open, what the customer said in q2 may name it.
    open_rows = [
        i for i, competitor in enumerate(competitors) if competitor == "unknown" and said.get(texted[i]["interview_id"])
    ]
    if open_rows:
        from_q2 = coder.code([str(said[texted[i]["interview_id"]]) for i in open_rows])
        for i, competitor in zip(open_rows, from_q2["competitor"], strict=True):
            competitors[i] = competitor
    records = [
        CodeRecord(
            answer_id=int(row["id"]),
            reasons=tuple(reason for reason in str(row["reasons"]).split(";") if reason),
            source=AUTO,
            competitor=competitor,
            model_version=coder.version,
            confidence=float(row["confidence"]),
            needs_review=bool(row["needs_review"]),
        )
        for row, competitor in zip(coded.to_dict("records"), competitors, strict=True)
    ]
    for start in range(0, len(records), BATCH):
        store.save_codes(records[start : start + BATCH])
    report.coded = len(records)
    report.needs_review = sum(record.needs_review for record in records)
    return report


def _structured_competitor(value: Any) -> str | None:
    return value if isinstance(value, str) and value in COMPETITORS else None


def human_training_rows(store: Store) -> pd.DataFrame:
    """Every answer a person coded (their newest code), as extra training data."""
    latest = store.latest_codes(source="human")
    rows = [
        {
            "text": code["text"],
            "reasons": frozenset(code["reasons"] or []),
            "competitor": code["competitor"] or "unknown",
        }
        for code in latest.values()
        if isinstance(code["text"], str) and code["text"].strip()
    ]
    return pd.DataFrame(rows, columns=["text", "reasons", "competitor"])


def store_agreement(store: Store, coder_a: str, coder_b: str) -> AgreementReport:
    """Agreement between two coders of the store; `auto` stands for the model."""
    first, second = _codes_of(store, coder_a), _codes_of(store, coder_b)
    return agreement(
        {answer: frozenset(code["reasons"] or []) for answer, code in first.items()},
        {answer: frozenset(code["reasons"] or []) for answer, code in second.items()},
        competitor_a={answer: code["competitor"] for answer, code in first.items()},
        competitor_b={answer: code["competitor"] for answer, code in second.items()},
    )


def _codes_of(store: Store, coder: str) -> dict[int, dict[str, Any]]:
    if coder == AUTO:
        return store.latest_codes(source=AUTO)
    return store.latest_codes(source="human", coder=coder)
