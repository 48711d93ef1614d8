"""Researcher tables from the store: the numbers tallied from rows a test put there, and the CLI."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner
from scipy.stats import chi2_contingency

from survey_tui.cli import cli
from survey_tui.model import Answer, SpecialAnswer, load_questionnaire
from survey_tui.research import Filters, load_study, respondents, tallies
from survey_tui.store import CallListRow, Store
from tests.conftest import ROOT

QUESTIONNAIRE = load_questionnaire(ROOT / "questionnaires" / "disconnect_phone.yaml")
NOW = datetime(2021, 5, 10, 10, 0, tzinfo=UTC)


def add_interview(
    store: Store,
    case_id: int,
    *,
    operator: str | None,
    reasons: list[str] | None,
    competitor: str | None = None,
    refused: bool = False,
    agent: str = "a1",
    factors: list[str] | None = None,
) -> None:
    """A completed interview whose q3 got a human code (None: left uncoded)."""
    interview = store.start_interview(
        store.register_questionnaire(QUESTIONNAIRE), agent, case_id=case_id, started_at=NOW
    )
    if operator:
        store.save_answer(interview, "q1_operator", Answer(operator))
    answer = store.save_answer(
        interview, "q3_leave_reason", Answer(special=SpecialAnswer.REFUSED) if refused else Answer("原因")
    )
    store.save_answer(interview, "q4_retention_call", Answer("no"))
    store.save_answer(interview, "q5_factors", Answer(factors or ["price"]))
    store.save_answer(interview, "q6_package_pref", Answer("fusion"))
    if reasons is not None:
        store.save_code(answer.id, reasons, source="human", coder="r1", competitor=competitor)
    store.finish_interview(interview, "complete", ended_at=NOW)
    store.record_attempt(case_id, agent, "complete", aapor_code="1.1", started_at=NOW, final=True)


def cases(store: Store, count: int, branches: tuple[str, ...] = ("大祥支局",)) -> list[int]:
    store.import_cases(
        [
            CallListRow(
                line=i + 2,
                phone=f"154{20000000 + i:08d}",
                account=None,
                name=None,
                branch=branches[i % len(branches)],
                disconnect_date=f"2021-0{2 + i % 3}-15",
                package="单宽带",
                extra={},
            )
            for i in range(count)
        ]
    )
    return [case.id for case in store.list_cases()]


@pytest.fixture
def store(sqlite_url: str):  # type: ignore[no-untyped-def]
    opened = Store.open(sqlite_url)
    yield opened
    opened.close()


def test_reason_tally_counts_respondents_mentions_other_uncoded_refused(store: Store) -> None:
    ids = cases(store, 6)
    add_interview(store, ids[0], operator="china_mobile", reasons=["price", "other_network"])
    add_interview(store, ids[1], operator="china_unicom", reasons=["price"])
    add_interview(store, ids[2], operator=None, reasons=["relocation"], competitor="china_mobile")
    add_interview(store, ids[3], operator="china_telecom", reasons=[])
    add_interview(store, ids[4], operator="none", reasons=None)
    add_interview(store, ids[5], operator=None, reasons=None, refused=True)

    frame = respondents(store, load_study(store))
    table = tallies.reason_tally(frame).set_index("reason")
    assert table.attrs["n"] == 6
    assert table.loc["price", "respondents"] == 2
    assert table.loc["price", "share_of_respondents"] == pytest.approx(2 / 6, abs=1e-4)
    assert table.loc["price", "share_of_mentions"] == pytest.approx(2 / 4, abs=1e-4)
    assert table.loc["relocation", "respondents"] == 1
    assert (
        table.loc["other", "respondents"],
        table.loc["uncoded", "respondents"],
        table.loc["refused", "respondents"],
    ) == (1, 1, 1)
    assert list(table.index[:2]) == ["price", "relocation"] or table.index[0] == "price"

    competitors = tallies.competitor_shares(frame).set_index("competitor")
    assert competitors.attrs["n"] == 3  # the telecom and no-broadband customers did not switch
    assert competitors.loc["china_mobile", "respondents"] == 2  # one from q1, one from the coded text
    assert competitors.loc["china_unicom", "share"] == pytest.approx(1 / 3, abs=1e-4)


def test_factors_and_single_choice_tables(store: Store) -> None:
    ids = cases(store, 3)
    for case_id, factors in zip(ids, (["price", "speed"], ["price"], ["bundle"]), strict=True):
        add_interview(store, case_id, operator="china_mobile", reasons=["price"], factors=factors)
    frame = respondents(store, load_study(store))
    factors_table = tallies.multiple_choice_table(frame, QUESTIONNAIRE.question("q5_factors")).set_index("code")
    assert factors_table.loc["price", "respondents"] == 2
    assert factors_table.loc["speed", "respondents"] == 1
    retention = tallies.choice_table(frame, QUESTIONNAIRE.question("q4_retention_call")).set_index("code")
    assert retention.loc["no", "respondents"] == 3 and retention.loc["no", "share"] == 1.0


def test_crosstab_by_branch_with_a_chi_square_that_matches_scipy(store: Store) -> None:
    ids = cases(store, 80, branches=("大祥支局", "双清支局"))
    for n, case_id in enumerate(ids):
        branch_one = n % 2 == 0
        reason = "price" if (branch_one and n % 10 < 8) or (not branch_one and n % 10 >= 7) else "slow_speed"
        add_interview(store, case_id, operator="china_mobile", reasons=[reason])
    table = tallies.crosstab(respondents(store, load_study(store)), "branch")
    counts = table.counts
    assert int(counts.to_numpy().sum()) == 80
    assert counts.loc["电信资费贵"].sum() == sum(
        1 for n in range(80) if (n % 2 == 0 and n % 10 < 8) or (n % 2 == 1 and n % 10 >= 7)
    )
    expected = chi2_contingency(counts.to_numpy())
    assert table.chi2 == pytest.approx(expected[0]) and table.p_value == pytest.approx(expected[1])
    assert table.row_percent.sum(axis=1).round(6).tolist() == [1.0, 1.0]


def test_filters_by_branch_and_agent(store: Store) -> None:
    ids = cases(store, 4, branches=("大祥支局", "双清支局"))
    for n, case_id in enumerate(ids):
        add_interview(store, case_id, operator="china_mobile", reasons=["price"], agent=f"a{n % 2}")
    study = load_study(store)
    assert len(respondents(store, study, Filters(branch="双清支局"))) == 2
    assert len(respondents(store, study, Filters(agent="a0"))) == 2
    assert len(respondents(store, study, Filters(since=datetime(2021, 6, 1).date()))) == 0


def test_the_aapor_textbook_vector_through_the_store_and_the_cli(sqlite_url: str) -> None:
    with Store.open(sqlite_url) as store:
        ids = cases(store, 120)
        for case_id in ids[:100]:
            store.record_attempt(case_id, "a1", "complete", aapor_code="1.1", started_at=NOW, final=True)
        for case_id in ids[100:]:
            store.record_attempt(case_id, "a1", "callback", aapor_code="2.21", started_at=NOW)
    result = CliRunner().invoke(cli, ["tally", "--db", sqlite_url, "--table", "response_rates", "--format", "json"])
    assert result.exit_code == 0, result.output
    rates = {row["rate"]: row["value"] for row in json.loads(result.output)["response_rates"]["rows"]}
    for name in ("RR1", "RR2", "RR3", "RR4", "RR5", "RR6"):
        assert rates[name] == pytest.approx(100 / 120)
    for name in ("COOP1", "COOP2", "COOP3", "COOP4"):
        assert rates[name] == pytest.approx(1.0)
    for name in ("REF1", "REF2", "REF3"):
        assert rates[name] == pytest.approx(0.0)


def test_demo_then_tally(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    runner = CliRunner()
    made = runner.invoke(cli, ["demo", "--cases", "60"])
    assert made.exit_code == 0, made.output
    assert "simulated 60 customers" in made.output
    again = runner.invoke(cli, ["demo", "--cases", "60"])
    assert again.exit_code == 1 and "already holds a call list" in again.output
    result = runner.invoke(cli, ["tally", "--db", "churn-survey-simulated.db", "--format", "json"])
    payload = json.loads(result.output)
    reasons = payload["reasons"]
    assert reasons["n"] > 30
    counted = sum(row["respondents"] for row in reasons["rows"] if row["reason"] in ("other", "uncoded", "refused"))
    assert counted >= 0
    shares = {row["competitor"]: row["share"] for row in payload["competitors"]["rows"]}
    assert shares["china_mobile"] > shares["china_unicom"]
    assert "RR1" in {row["rate"] for row in payload["response_rates"]["rows"]}
    table = runner.invoke(cli, ["tally", "--db", "churn-survey-simulated.db", "--table", "reasons_by_competitor"])
    assert "中国移动" in table.output
