"""Researcher tables from the store: respondents, reason tallies, competitors, cross-tabs, outcomes."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd
from scipy.stats import chi2_contingency

from coding.codebook import load_codebook
from coding.ids import COMPETITORS, REASONS
from coding.normalize import normalize
from coding.resources import data_file
from coding.rules import RuleCoder
from survey_tui.model.dispositions import EDITION, case_disposition, outcome, rates_for_cases
from survey_tui.model.questionnaire import Questionnaire
from survey_tui.store import Store

QUESTIONNAIRE = "disconnect_phone"
SWITCHED = ("china_mobile", "china_unicom", "china_broadnet", "other_isp")
EXTRA_ROWS = {"other": "其他（无归类原因）", "uncoded": "未编码", "refused": "拒答"}
# Words every answer has ("宽带" is what all of them are about): in a cloud they only crowd out the reasons.
CLOUD_STOPWORDS = (
    "宽带",
    "电信",
    "就是",
    "那边",
    "这边",
    "后来",
    "现在",
    "每个",
    "问题",
    "时候",
    "东西",
    "还要",
    "一直",
    "本来",
    "以后",
    "反正",
    "这些",
    "原来",
    "其实",
    "觉得",
    "感觉",
    "自己",
)
CROSS_BY = {"competitor": "竞争对手", "branch": "支局", "month": "拆机月份", "package": "套餐"}


@dataclass(frozen=True)
class Filters:
    """Which interviews count: by interview date, branch, agent and questionnaire version."""

    since: date | None = None
    until: date | None = None
    branch: str | None = None
    agent: str | None = None
    version: str | None = None


QUESTIONS = (
    "q1_operator",
    "q2_competitor_reason",
    "q3_leave_reason",
    "q4_retention_call",
    "q5_factors",
    "q6_package_pref",
)


def respondents(store: Store, filters: Filters = Filters()) -> pd.DataFrame:
    """One row per completed disconnect interview, with its answers, codes and the case's fields.

    The code of an answer is its newest human code, else its newest automatic code. Read column
    by column and question by question, so that a million interviews fit in memory.
    """
    rows = pd.DataFrame(store.interview_columns(QUESTIONNAIRE))
    if rows.empty:
        return _empty_respondents()
    rows = rows[rows["status"] == "complete"]
    rows = _filter(rows, filters)
    frame = rows.set_index("interview_id")
    for question in QUESTIONS:
        subset = pd.DataFrame(store.answer_columns(QUESTIONNAIRE, question)).set_index("interview_id")
        frame[question] = _objects(subset["value"].reindex(frame.index))
        frame[f"{question}_special"] = _objects(subset["special"].reindex(frame.index))
        if question in ("q1_operator", "q5_factors"):
            frame[f"{question}_other"] = _objects(subset["other_text"].reindex(frame.index))
        if question == "q3_leave_reason":
            frame["q3_answer_id"] = subset["answer_id"].reindex(frame.index)
    codes = _newest_codes(store).reindex(frame["q3_answer_id"].to_numpy())
    frame["reasons"] = _objects(codes["reasons"]).to_numpy()
    competitors = _objects(codes["competitor"]).tolist()
    frame["coded_competitor"] = competitors
    frame["code_source"] = _objects(codes["source"]).to_numpy()
    frame["competitor"] = [_competitor(q1, coded) for q1, coded in zip(frame["q1_operator"], competitors, strict=True)]
    frame["month"] = pd.to_datetime(frame["disconnect_date"]).dt.strftime("%Y-%m")
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


def _empty_respondents() -> pd.DataFrame:
    return pd.DataFrame(columns=["interview_id", "reasons", "competitor", "q3_leave_reason_special", "branch", "month"])


def _filter(rows: pd.DataFrame, filters: Filters) -> pd.DataFrame:
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
    """q1's answer when it names an operator, else what the coder read in the texts."""
    if isinstance(structured, str) and structured in COMPETITORS:
        return structured
    return coded or "unknown"


def reason_tally(frame: pd.DataFrame) -> pd.DataFrame:
    """Respondents per reason (multi-label: shares may sum past 100%), plus other, uncoded, refused."""
    n = len(frame)
    refused = frame["q3_leave_reason_special"].notna() if n else pd.Series(dtype=bool)
    coded = frame["reasons"].map(lambda value: value is not None) if n else pd.Series(dtype=bool)
    counts = {reason: 0 for reason in REASONS}
    for value in frame["reasons"] if n else []:
        for reason in value or ():
            counts[reason] += 1
    mentions = sum(counts.values())
    rows = [
        {
            "reason": reason,
            "label": REASONS[reason],
            "respondents": count,
            "share_of_respondents": _share(count, n),
            "share_of_mentions": _share(count, mentions),
        }
        for reason, count in counts.items()
    ]
    rows.sort(key=lambda row: -int(row["respondents"] or 0))
    other = int(sum(1 for value in frame["reasons"] if value is not None and not value)) if n else 0
    uncoded = int((~coded & ~refused).sum()) if n else 0
    for key, count in (("other", other), ("uncoded", uncoded), ("refused", int(refused.sum()) if n else 0)):
        rows.append(
            {
                "reason": key,
                "label": EXTRA_ROWS[key],
                "respondents": count,
                "share_of_respondents": _share(count, n),
                "share_of_mentions": None,
            }
        )
    table = pd.DataFrame(rows)
    table.attrs["n"] = n
    return table


def _share(count: int, total: int) -> float | None:
    return round(count / total, 4) if total else None


def competitor_shares(frame: pd.DataFrame) -> pd.DataFrame:
    """Where the customers who switched went (q1, or the coded text where q1 is missing)."""
    switched = frame[frame["competitor"].isin(SWITCHED)] if len(frame) else frame
    counts = switched["competitor"].value_counts() if len(switched) else pd.Series(dtype=int)
    table = pd.DataFrame(
        [
            {
                "competitor": cid,
                "label": COMPETITORS[cid],
                "respondents": int(counts.get(cid, 0)),
                "share": _share(int(counts.get(cid, 0)), len(switched)),
            }
            for cid in SWITCHED
        ]
    ).sort_values("respondents", ascending=False, kind="stable")
    table.attrs["n"] = len(switched)
    return table.reset_index(drop=True)


def choice_reasons(frame: pd.DataFrame) -> pd.DataFrame:
    """Why they chose the competitor: q2 coded with data/competitor_reasons.yaml."""
    book = load_codebook(data_file("competitor_reasons.yaml"), fixed_ids=False)
    coder = RuleCoder(book)
    texts = [value for value in frame.get("q2_competitor_reason", pd.Series(dtype=object)) if isinstance(value, str)]
    # Each distinct answer is coded once and counted as often as it was given.
    found = [(set(coder.code(normalize(text)).reasons), count) for text, count in Counter(texts).items()]
    rows = []
    for reason in book.reasons:
        count = sum(times for ids, times in found if reason.id in ids)
        rows.append(
            {"reason": reason.id, "label": reason.label, "respondents": count, "share": _share(count, len(texts))}
        )
    other = sum(times for ids, times in found if not ids)
    rows.append({"reason": "other", "label": "其他", "respondents": other, "share": _share(other, len(texts))})
    table = pd.DataFrame(rows).sort_values("respondents", ascending=False, kind="stable").reset_index(drop=True)
    table.attrs["n"] = len(texts)
    return table


def choice_table(frame: pd.DataFrame, questionnaire: Questionnaire, question_id: str) -> pd.DataFrame:
    """A single-choice question: respondents per choice, then don't know and refused."""
    question = questionnaire.question(question_id)
    values = frame[question_id] if question_id in frame else pd.Series(dtype=object)
    specials = frame[f"{question_id}_special"] if f"{question_id}_special" in frame else pd.Series(dtype=object)
    n = len(frame)
    rows = [
        {
            "code": choice.code,
            "label": choice.label,
            "respondents": int((values == choice.code).sum()),
            "share": _share(int((values == choice.code).sum()), n),
        }
        for choice in question.choices
    ]
    for special, label in (("dont_know", "不知道"), ("refused", "拒答")):
        count = int((specials == special).sum())
        rows.append({"code": special, "label": label, "respondents": count, "share": _share(count, n)})
    table = pd.DataFrame(rows)
    table.attrs["n"] = n
    return table


def factors_table(frame: pd.DataFrame, questionnaire: Questionnaire) -> pd.DataFrame:
    """q5, one row per factor: how many respondents named it (several per respondent)."""
    question = questionnaire.question("q5_factors")
    lists = [value for value in frame.get("q5_factors", pd.Series(dtype=object)) if isinstance(value, list)]
    n = len(frame)
    rows = [
        {
            "code": c.code,
            "label": c.label,
            "respondents": sum(1 for chosen in lists if c.code in chosen),
            "share": _share(sum(1 for chosen in lists if c.code in chosen), n),
        }
        for c in question.choices
    ]
    table = pd.DataFrame(rows).sort_values("respondents", ascending=False, kind="stable").reset_index(drop=True)
    table.attrs["n"] = n
    return table


@dataclass(frozen=True)
class CrossTab:
    """Reasons (rows) by another variable (columns): counts, row percentages and a chi-square test."""

    by: str
    counts: pd.DataFrame
    row_percent: pd.DataFrame
    chi2: float | None
    p_value: float | None
    dof: int | None
    note: str


def crosstab(frame: pd.DataFrame, by: str) -> CrossTab:
    """One line per (respondent, reason) mention; the chi-square is computed only where at least
    80% of expected counts are 5 or more and none is below 1 (Cochran's rule)."""
    if by not in CROSS_BY:
        raise ValueError(f"cross-tabs are by {', '.join(CROSS_BY)}, not {by!r}")
    pairs = (
        [
            (REASONS[reason], value if isinstance(value, str) and value else "（空）")
            for reasons, value in zip(frame["reasons"], frame[by], strict=True)
            for reason in (reasons or ())
        ]
        if len(frame)
        else []
    )
    if by == "competitor":
        pairs = [(reason, COMPETITORS.get(value, value)) for reason, value in pairs]
    counts = pd.crosstab(pd.Series([p[0] for p in pairs], name="reason"), pd.Series([p[1] for p in pairs], name=by))
    counts = counts.reindex([label for label in REASONS.values() if label in counts.index])
    percent = counts.div(counts.sum(axis=1), axis=0).round(4) if len(counts) else counts
    chi2 = p_value = dof = None
    note = "too few answers for a chi-square test"
    if counts.shape[0] >= 2 and counts.shape[1] >= 2:
        statistic, p, degrees, expected = chi2_contingency(counts.to_numpy())
        if (expected >= 5).mean() >= 0.8 and expected.min() >= 1:
            chi2, p_value, dof = float(statistic), float(p), int(degrees)
            note = "chi-square test of independence"
        else:
            note = "expected counts too small for a chi-square test (Cochran's rule)"
    return CrossTab(by, counts, percent, chi2, p_value, dof, note)


def outcome_counts(store: Store, filters: Filters = Filters()) -> pd.DataFrame:
    """Call attempts per outcome, with the AAPOR code and label."""
    attempts = pd.DataFrame(store.attempt_columns())
    if attempts.empty:
        return pd.DataFrame(columns=["outcome", "label", "aapor_code", "attempts"])
    attempts = _filter(
        attempts.assign(started_at=attempts["started_at"], questionnaire_version=None),
        Filters(filters.since, filters.until, filters.branch, filters.agent),
    )
    table = attempts.groupby(["outcome", "aapor_code"], dropna=False).size().reset_index(name="attempts")
    table.insert(1, "label", [_outcome_label(code) for code in table["outcome"]])
    return table.sort_values("attempts", ascending=False, kind="stable").reset_index(drop=True)


def _outcome_label(code: str) -> str:
    try:
        return outcome(code).label
    except KeyError:
        return code


def response_rates(store: Store, filters: Filters = Filters()) -> pd.DataFrame:
    """AAPOR RR1-RR6, COOP1-4, REF1-3, CON1-3 over the cases (one disposition per case)."""
    cases = store.case_attempt_codes()
    if filters.agent:
        cases = [case for case in cases if case[1] == filters.agent]
    rates = rates_for_cases([case_disposition(codes) for _case, _agent, codes in cases])
    table = pd.DataFrame([{"rate": name, "value": value} for name, value in rates.as_dict().items()])
    table.attrs["edition"] = EDITION
    table.attrs["counts"] = {str(k): v for k, v in rates.counts.items()}
    table.attrs["e"] = rates.e
    return table


def tables(
    store: Store, questionnaire: Questionnaire, filters: Filters = Filters(), cross: Sequence[str] = tuple(CROSS_BY)
) -> dict[str, pd.DataFrame]:
    """Every summary table by name, as the tally command and the exports use them."""
    frame = respondents(store, filters)
    result = {
        "reasons": reason_tally(frame),
        "competitors": competitor_shares(frame),
        "choice_reasons": choice_reasons(frame),
        "retention_call": choice_table(frame, questionnaire, "q4_retention_call"),
        "factors": factors_table(frame, questionnaire),
        "package_preference": choice_table(frame, questionnaire, "q6_package_pref"),
        "call_outcomes": outcome_counts(store, filters),
        "response_rates": response_rates(store, filters),
    }
    for by in cross:
        table = crosstab(frame, by)
        counts = table.counts.copy()
        counts.attrs["chi2"] = {"chi2": table.chi2, "p_value": table.p_value, "dof": table.dof, "note": table.note}
        result[f"reasons_by_{by}"] = counts
        result[f"reasons_by_{by}_row_percent"] = table.row_percent
    return result
