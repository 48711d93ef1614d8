"""The respondents of a study: one row per completed interview, with every answer, its codes and the case."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd

from coding.ids import COMPETITORS
from survey_tui.research.study import Study
from survey_tui.store import Store

# Columns of the frame beside the questions': the interview and its case (from the store) and
# what research derives. A question whose id is one of these keeps it; the case's column is
# then named `case_<name>` (a staff interview asks for a `branch` of its own, say).
INTERVIEW_COLUMNS = (
    "interview_id",
    "case_id",
    "agent",
    "status",
    "started_at",
    "ended_at",
    "interviewee",
    "questionnaire",
    "questionnaire_version",
    "phone",
    "account",
    "branch",
    "disconnect_date",
    "package",
)
DERIVED_COLUMNS = (
    "reasons",
    "reason_special",
    "reason_answer_id",
    "coded_competitor",
    "code_source",
    "competitor",
    "month",
)


@dataclass(frozen=True)
class Filters:
    """Which interviews count: by interview date, branch, agent and questionnaire version."""

    since: date | None = None
    until: date | None = None
    branch: str | None = None
    agent: str | None = None
    version: str | None = None


def case_column(study: Study, name: str) -> str:
    """The frame's name for the interview's or case's column `name` (see INTERVIEW_COLUMNS)."""
    return f"case_{name}" if name in study.answer_ids else name


def respondents(store: Store, study: Study, filters: Filters = Filters()) -> pd.DataFrame:
    """One row per completed interview of the study, a column per question (`<id>`, and
    `<id>_special` for don't know and refused, `<id>_other` where a choice asks to specify),
    the case's fields, and: `reasons` (a frozenset, None when uncoded) and `code_source` of the
    answer tallied as `reasons`, `reason_special`, `competitor` (the `competitors` answer when it
    is an operator, else the coded one) and `month` (of the disconnection).

    The code of an answer is its newest human code, else its newest automatic code. Read column
    by column and question by question, so that a million interviews fit in memory.
    """
    rows = pd.DataFrame(store.interview_columns(study.name))
    if rows.empty:
        return _empty(study)
    rows = rows[rows["status"] == "complete"]
    rows = filter_rows(rows, filters)
    frame = rows.set_index("interview_id")
    frame = frame.rename(columns={name: case_column(study, name) for name in frame.columns})
    reason = study.reasons
    for question_id in study.answer_ids:
        subset = pd.DataFrame(store.answer_columns(study.name, question_id)).set_index("interview_id")
        frame[question_id] = _objects(subset["value"].reindex(frame.index))
        frame[f"{question_id}_special"] = _objects(subset["special"].reindex(frame.index))
        question = study.question(question_id)
        if (question is not None and any(c.specify for c in question.choices)) or (
            question is None and subset["other_text"].notna().any()
        ):
            frame[f"{question_id}_other"] = _objects(subset["other_text"].reindex(frame.index))
        if reason is not None and question_id == reason.id:
            frame["reason_answer_id"] = subset["answer_id"].reindex(frame.index)
    if reason is not None:
        codes = _newest_codes(store).reindex(frame["reason_answer_id"].to_numpy())
        frame["reasons"] = _objects(codes["reasons"]).to_numpy()
        frame["reason_special"] = frame[f"{reason.id}_special"]
        coded = _objects(codes["competitor"]).tolist()
        frame["code_source"] = _objects(codes["source"]).to_numpy()
    else:
        frame["reasons"] = frame["reason_special"] = frame["code_source"] = None
        coded = [None] * len(frame)
    frame["coded_competitor"] = coded
    operator = study.competitors
    said = frame[operator.id] if operator is not None else pd.Series([None] * len(frame), index=frame.index)
    frame["competitor"] = [_competitor(answer, code) for answer, code in zip(said, coded, strict=True)]
    frame["month"] = pd.to_datetime(frame[case_column(study, "disconnect_date")]).dt.strftime("%Y-%m")
    return frame.reset_index()


def _objects(series: pd.Series) -> pd.Series:
    """An object column with None (not NaN) where a value is missing, as the tables test for."""
    values = series.astype(object)
    return values.where(values.notna(), None)


def _newest_codes(store: Store) -> pd.DataFrame:
    """Per answer id: reasons (a frozenset), competitor and source of its newest human code, else
    of its newest automatic one."""
    sets: dict[tuple[str, ...], frozenset[str]] = {}
    parts = []
    for source in ("human", "auto"):
        columns = store.latest_code_columns(source=source)
        part = pd.DataFrame(
            {
                "reasons": [
                    sets.setdefault(tuple(value or ()), frozenset(value or ())) for value in columns["reasons"]
                ],
                "competitor": columns["competitor"],
                "source": source,
            },
            index=pd.Index(columns["answer_id"], dtype="int64", name="answer_id"),
        )
        parts.append(part)
    human, auto = parts
    return pd.concat([human, auto[~auto.index.isin(human.index)]])


def _empty(study: Study) -> pd.DataFrame:
    columns = [case_column(study, name) for name in INTERVIEW_COLUMNS]
    for question_id in study.answer_ids:
        columns += [question_id, f"{question_id}_special"]
    return pd.DataFrame(columns=[*columns, *(name for name in DERIVED_COLUMNS if name not in columns)])


def filter_rows(rows: pd.DataFrame, filters: Filters) -> pd.DataFrame:
    started = pd.to_datetime(rows["started_at"], utc=True).dt.date
    keep = pd.Series(True, index=rows.index)
    if filters.since:
        keep &= started >= filters.since
    if filters.until:
        keep &= started <= filters.until
    if filters.branch:
        keep &= rows["branch"] == filters.branch
    if filters.agent:
        keep &= rows["agent"] == filters.agent
    if filters.version:
        keep &= rows["questionnaire_version"].astype(str) == str(filters.version)
    return rows[keep]


def _competitor(structured: Any, coded: str | None) -> str:
    """The answer to the competitor question when it names an operator, else what the coder read."""
    if isinstance(structured, str) and structured in COMPETITORS:
        return structured
    return coded or "unknown"
