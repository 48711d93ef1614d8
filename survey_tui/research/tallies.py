"""The summary tables of a study: reasons, competitors, why they chose them, a table per choice question,
cross-tabs with chi-square, call outcomes and the AAPOR rates; each the tally of its questionnaire's `tally`."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd
from scipy.stats import chi2_contingency

from coding.codebook import load_codebook
from coding.ids import COMPETITORS, REASONS
from coding.normalize import normalize
from coding.resources import data_file
from coding.rules import RuleCoder
from survey_tui.model.dispositions import EDITION, case_disposition, outcome_label, rates_for_cases
from survey_tui.model.questionnaire import Question, QuestionType, SpecialAnswer
from survey_tui.research.respondents import Filters, filter_rows, respondents
from survey_tui.research.study import Study
from survey_tui.store import Store

SWITCHED = ("china_mobile", "china_unicom", "china_broadnet", "other_isp")
EXTRA_ROWS = {"other": "其他（无归类原因）", "uncoded": "未编码", "refused": "拒答"}
CROSS_BY = {"competitor": "竞争对手", "branch": "支局", "month": "拆机月份", "package": "套餐"}


def reason_tally(frame: pd.DataFrame) -> pd.DataFrame:
    """Respondents per reason (multi-label: shares may sum past 100%), plus other, uncoded, refused."""
    n = len(frame)
    refused = frame["reason_special"].notna() if n else pd.Series(dtype=bool)
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


def choice_reasons(frame: pd.DataFrame, question_id: str) -> pd.DataFrame:
    """Why they chose the competitor: the answers of `question_id` coded with data/competitor_reasons.yaml."""
    book = load_codebook(data_file("competitor_reasons.yaml"), fixed_ids=False)
    coder = RuleCoder(book)
    texts = [value for value in frame.get(question_id, pd.Series(dtype=object)) if isinstance(value, str)]
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


def choice_table(frame: pd.DataFrame, question: Question) -> pd.DataFrame:
    """A single-choice (or yes/no) question: respondents per choice, then don't know and refused."""
    values = frame[question.id] if question.id in frame else pd.Series(dtype=object)
    specials = frame[f"{question.id}_special"] if f"{question.id}_special" in frame else pd.Series(dtype=object)
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
    for special in SpecialAnswer:
        count = int((specials == special.value).sum())
        rows.append({"code": special.value, "label": special.label, "respondents": count, "share": _share(count, n)})
    table = pd.DataFrame(rows)
    table.attrs["n"] = n
    return table


def multiple_choice_table(frame: pd.DataFrame, question: Question) -> pd.DataFrame:
    """A multiple-choice question, one row per choice: how many respondents named it (several each)."""
    lists = [value for value in frame.get(question.id, pd.Series(dtype=object)) if isinstance(value, list)]
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


def tally_of(frame: pd.DataFrame, question: Question) -> pd.DataFrame:
    """The table of respondents per choice of a question tallied under a name of its own."""
    if question.type is QuestionType.MULTIPLE_CHOICE:
        return multiple_choice_table(frame, question)
    return choice_table(frame, question)


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
    attempts = filter_rows(
        attempts.assign(started_at=attempts["started_at"], questionnaire_version=None),
        Filters(filters.since, filters.until, filters.branch, filters.agent),
    )
    table = attempts.groupby(["outcome", "aapor_code"], dropna=False).size().reset_index(name="attempts")
    table.insert(1, "label", [outcome_label(code) for code in table["outcome"]])
    return table.sort_values("attempts", ascending=False, kind="stable").reset_index(drop=True)


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
    store: Store, study: Study, filters: Filters = Filters(), cross: Sequence[str] = tuple(CROSS_BY)
) -> dict[str, pd.DataFrame]:
    """Every summary table of the study by name, as `tally`, the exports and the report show them:
    those its questionnaire declares (`tally`), then the call outcomes and the response rates,
    then the cross-tabs of the reasons."""
    frame = respondents(store, study, filters)
    result: dict[str, pd.DataFrame] = {}
    if study.reasons is not None:
        result["reasons"] = reason_tally(frame)
    if study.reasons is not None or study.competitors is not None:
        result["competitors"] = competitor_shares(frame)
    if study.choice_reasons is not None:
        result["choice_reasons"] = choice_reasons(frame, study.choice_reasons.id)
    for question in study.choice_tables:
        result[str(question.tally)] = tally_of(frame, question)
    result["call_outcomes"] = outcome_counts(store, filters)
    result["response_rates"] = response_rates(store, filters)
    for by in cross if study.reasons is not None else ():
        table = crosstab(frame, by)
        counts = table.counts.copy()
        counts.attrs["chi2"] = {"chi2": table.chi2, "p_value": table.p_value, "dof": table.dof, "note": table.note}
        result[f"reasons_by_{by}"] = counts
        result[f"reasons_by_{by}_row_percent"] = table.row_percent
    return result
