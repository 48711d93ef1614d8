"""What the exports hold: raw interviews (one column per question), call outcomes, summary tables."""

from __future__ import annotations

from typing import Any

import pandas as pd

from coding.ids import COMPETITORS, REASONS
from coding.normalize import mask_account, mask_phone, mask_phones
from survey_tui.analysis import Filters, respondents, tables
from survey_tui.exports import Dataset, Variable
from survey_tui.model.dispositions import outcome
from survey_tui.model.questionnaire import Questionnaire, QuestionType
from survey_tui.store import Store

YES_NO = {0: "否", 1: "是"}
SPECIALS = {"dont_know": "不知道", "refused": "拒答"}


def interview_dataset(
    store: Store, questionnaire: Questionnaire, filters: Filters | None = None, *, include_pii: bool = False
) -> Dataset:
    """One row per completed interview, one column per question, multiple choice as 0/1 columns,
    then the reasons as 0/1 columns and the competitor."""
    frame = respondents(store, filters or Filters())
    out = pd.DataFrame(
        {
            "interview_id": frame["interview_id"],
            "case_id": frame.get("case_id"),
            "agent": frame.get("agent"),
            "started_at": pd.to_datetime(frame.get("started_at"), utc=True).dt.tz_localize(None),
            "branch": frame.get("branch"),
            "disconnect_date": frame.get("disconnect_date"),
            "package": frame.get("package"),
            "phone": [value if include_pii else mask_phone(value) for value in frame.get("phone", [])],
            "account": [value if include_pii else mask_account(value) for value in frame.get("account", [])],
            "questionnaire_version": frame.get("questionnaire_version"),
        }
    )
    variables = [
        Variable("interview_id", "访问编号"),
        Variable("agent", "坐席"),
        Variable("started_at", "访问开始时间（UTC）"),
        Variable("branch", "支局"),
        Variable("disconnect_date", "拆机日期"),
        Variable("package", "套餐"),
        Variable("phone", "手机号" + ("" if include_pii else "（已脱敏）")),
        Variable("account", "宽带账号" + ("" if include_pii else "（已脱敏）")),
    ]
    for question in questionnaire.answerable:
        qid = question.id
        values = frame[qid] if qid in frame else pd.Series([None] * len(frame))
        if question.type is QuestionType.MULTIPLE_CHOICE:
            for choice in question.choices:
                name = f"{qid}__{choice.code}"
                out[name] = [int(isinstance(v, list) and choice.code in v) for v in values]
                variables.append(Variable(name, f"{question.text} {choice.label}", YES_NO))
        elif qid in frame:
            free_text = question.type in (QuestionType.SHORT_TEXT, QuestionType.LONG_TEXT)
            out[qid] = [_text(v, include_pii) for v in values] if free_text else values.to_numpy()
            labels = {c.code: c.label for c in question.choices} if question.is_choice else {}
            variables.append(Variable(qid, question.text, labels))
        if f"{qid}_other" in frame:
            out[f"{qid}_other"] = [_text(v, include_pii) for v in frame[f"{qid}_other"]]
            variables.append(Variable(f"{qid}_other", f"{question.text}（其他，请注明）"))
        if f"{qid}_special" in frame:
            out[f"{qid}_special"] = frame[f"{qid}_special"].to_numpy()
            variables.append(Variable(f"{qid}_special", f"{question.text}（特殊回答）", SPECIALS))
    reason_sets = list(frame["reasons"]) if len(frame) else []
    for reason, label in REASONS.items():
        out[f"reason_{reason}"] = [int(bool(s) and reason in s) for s in reason_sets]
        variables.append(Variable(f"reason_{reason}", f"流失原因：{label}", YES_NO))
    out["coded"] = [int(s is not None) for s in reason_sets]
    variables.append(Variable("coded", "已编码", YES_NO))
    out["competitor"] = frame["competitor"].to_numpy() if len(frame) else []
    variables.append(Variable("competitor", "现用运营商", dict(COMPETITORS)))
    return Dataset("interviews", out.reset_index(drop=True), variables)


def outcome_dataset(store: Store, *, include_pii: bool = False) -> Dataset:
    """Every call attempt, in its own table."""
    attempts = store.attempt_columns()
    columns = ["attempt_id", "case_id", "phone", "branch", "agent", "started_at", "outcome", "aapor_code", "note"]
    phones = attempts.get("phone", [])
    frame = pd.DataFrame(
        {
            "attempt_id": attempts.get("id", []),
            "case_id": attempts.get("case_id", []),
            "phone": phones if include_pii else [mask_phone(phone) for phone in phones],
            "branch": attempts.get("branch", []),
            "agent": attempts.get("agent", []),
            "started_at": pd.to_datetime(
                pd.Series(attempts.get("started_at", []), dtype=object), utc=True
            ).dt.tz_convert(None),
            "outcome": attempts.get("outcome", []),
            "aapor_code": attempts.get("aapor_code", []),
            "note": [_text(note, include_pii) for note in attempts.get("note", [])],
        },
        columns=columns,
    )
    labels = {code: _label(code) for code in frame["outcome"].dropna().unique()}
    variables = [
        Variable("attempt_id", "拨打编号"),
        Variable("phone", "手机号" + ("" if include_pii else "（已脱敏）")),
        Variable("agent", "坐席"),
        Variable("started_at", "拨打时间（UTC）"),
        Variable("outcome", "呼叫结果", labels),
        Variable("aapor_code", "AAPOR 处置代码"),
        Variable("note", "备注"),
    ]
    return Dataset("call_attempts", frame, variables)


def _text(value: Any, include_pii: bool) -> Any:
    """Free text as typed, with phone numbers said in it masked unless `include_pii`."""
    return mask_phones(value) if isinstance(value, str) and not include_pii else value


def _label(code: Any) -> str:
    try:
        return outcome(str(code)).label
    except KeyError:
        return str(code)


def summary_datasets(store: Store, questionnaire: Questionnaire, filters: Filters | None = None) -> list[Dataset]:
    """The tally tables, one dataset each (sheets of the workbook)."""
    result = []
    for name, table in tables(store, questionnaire, filters or Filters()).items():
        frame = table.reset_index() if name.startswith("reasons_by_") else table.copy()
        result.append(Dataset(name[:31], frame))
    return result
