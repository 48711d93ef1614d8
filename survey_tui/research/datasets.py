"""What the exports hold: the interviews (a column for every question of the study), the call attempts,
the summary tables; each a Dataset with the labels of its columns."""

from __future__ import annotations

from typing import Any

import pandas as pd

from coding.ids import COMPETITORS, REASONS
from coding.normalize import mask_account, mask_phone, mask_phones
from survey_tui.model.dispositions import outcome_label
from survey_tui.model.questionnaire import QuestionType, SpecialAnswer
from survey_tui.research.respondents import Filters, case_column, respondents
from survey_tui.research.study import Study
from survey_tui.research.tallies import tables
from survey_tui.research.writers import Dataset, Variable
from survey_tui.store import Store

YES_NO = {0: "否", 1: "是"}
SPECIALS = {special.value: special.label for special in SpecialAnswer}


def interview_dataset(
    store: Store, study: Study, filters: Filters | None = None, *, include_pii: bool = False
) -> Dataset:
    """One row per completed interview, one column per question of the study (every version's,
    and any the store has answers to), multiple choice as 0/1 columns, "other" texts and special
    answers in columns of their own; then, where the study codes reasons, the reasons as 0/1
    columns and the competitor. The question texts and choice labels are the labels."""
    frame = respondents(store, study, filters or Filters())

    def case(name: str) -> Any:
        return frame.get(case_column(study, name))

    phones = case("phone") if case("phone") is not None else []
    accounts = case("account") if case("account") is not None else []
    meta = {
        "interview_id": frame["interview_id"],
        "case_id": case("case_id"),
        "agent": case("agent"),
        "started_at": pd.to_datetime(case("started_at"), utc=True).dt.tz_localize(None),
        "branch": case("branch"),
        "disconnect_date": case("disconnect_date"),
        "package": case("package"),
        "phone": [value if include_pii else mask_phone(value) for value in phones],
        "account": [value if include_pii else mask_account(value) for value in accounts],
        "questionnaire_version": case("questionnaire_version"),
    }
    out = pd.DataFrame({case_column(study, name): values for name, values in meta.items()})
    labels = {
        "interview_id": "访问编号",
        "agent": "坐席",
        "started_at": "访问开始时间（UTC）",
        "branch": "支局",
        "disconnect_date": "拆机日期",
        "package": "套餐",
        "phone": "手机号" + ("" if include_pii else "（已脱敏）"),
        "account": "宽带账号" + ("" if include_pii else "（已脱敏）"),
    }
    variables = [Variable(case_column(study, name), label) for name, label in labels.items()]
    for qid in study.answer_ids:
        question = study.question(qid)
        values = frame[qid] if qid in frame else pd.Series([None] * len(frame))
        text = question.text if question is not None else qid
        if question is not None and question.type is QuestionType.MULTIPLE_CHOICE:
            for choice in question.choices:
                name = f"{qid}__{choice.code}"
                out[name] = [int(isinstance(v, list) and choice.code in v) for v in values]
                variables.append(Variable(name, f"{question.text} {choice.label}", YES_NO))
        elif qid in frame:
            free_text = question is None or question.type in (QuestionType.SHORT_TEXT, QuestionType.LONG_TEXT)
            out[qid] = [_text(v, include_pii) for v in values] if free_text else values.to_numpy()
            choices = {c.code: c.label for c in question.choices} if question is not None and question.is_choice else {}
            variables.append(Variable(qid, text, choices))
        if f"{qid}_other" in frame:
            out[f"{qid}_other"] = [_text(v, include_pii) for v in frame[f"{qid}_other"]]
            variables.append(Variable(f"{qid}_other", f"{text}（其他，请注明）"))
        if f"{qid}_special" in frame:
            out[f"{qid}_special"] = frame[f"{qid}_special"].to_numpy()
            variables.append(Variable(f"{qid}_special", f"{text}（特殊回答）", SPECIALS))
    if study.reasons is not None:
        reason_sets = list(frame["reasons"]) if len(frame) else []
        for reason, label in REASONS.items():
            out[f"reason_{reason}"] = [int(bool(s) and reason in s) for s in reason_sets]
            variables.append(Variable(f"reason_{reason}", f"流失原因：{label}", YES_NO))
        out["coded"] = [int(s is not None) for s in reason_sets]
        variables.append(Variable("coded", "已编码", YES_NO))
    if study.reasons is not None or study.competitors is not None:
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
    labels = {code: outcome_label(str(code)) for code in frame["outcome"].dropna().unique()}
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


def summary_datasets(store: Store, study: Study, filters: Filters | None = None) -> list[Dataset]:
    """The summary tables of the study, one dataset each (sheets of the workbook)."""
    result = []
    for name, table in tables(store, study, filters or Filters()).items():
        frame = table.reset_index() if name.startswith("reasons_by_") else table.copy()
        result.append(Dataset(name[:31], frame))
    return result
