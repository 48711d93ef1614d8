"""Store round trips on SQLite and PostgreSQL: call list, claims, attempts, interviews, answers, codes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from survey_tui.model import Answer, SpecialAnswer, load_questionnaire
from survey_tui.store import CallListRow, Store, StoreError
from tests.conftest import ROOT


def rows(count: int, start: int = 0) -> list[CallListRow]:
    return [
        CallListRow(
            line=i + 2,
            phone=f"154{10000000 + start + i:08d}",
            account=f"SY{start + i:09d}",
            name=f"客户{start + i}",
            branch="大祥支局",
            disconnect_date="2021-03-15",
            package="融合套餐129元",
            extra={"备注": "虚构数据"},
        )
        for i in range(count)
    ]


def test_import_stores_every_field_and_skips_phones_already_listed(store: Store) -> None:
    first = store.import_cases(rows(3), source_file="list.csv")
    again = store.import_cases(rows(4), source_file="list.csv")

    assert first.imported == 3
    assert again.imported == 1
    assert [s.reason for s in again.skipped] == ["already_listed"] * 3
    assert all("****" in s.detail for s in again.skipped)
    cases = store.list_cases()
    assert len(cases) == 4
    case = cases[0]
    assert case.phone == "15410000000"
    assert case.name == "客户0"
    assert case.disconnect_date.isoformat() == "2021-03-15"
    assert case.extra == {"备注": "虚构数据"}
    assert case.status == "pending"
    assert case.to_dict()["phone"] == "154****0000"
    assert case.to_dict(include_pii=True)["phone"] == "15410000000"


def test_claims_hand_out_each_case_once_then_nothing(store: Store) -> None:
    store.import_cases(rows(3))
    claimed = [store.claim_next_case(agent) for agent in ("a1", "a2", "a1")]
    assert [c.id for c in claimed if c] == sorted({c.id for c in claimed if c})
    assert len({c.id for c in claimed if c}) == 3
    assert store.claim_next_case("a3") is None
    assert store.case_counts()["claimed"] == 3
    assert store.get_case(claimed[1].id).claimed_by == "a2"


def test_due_callbacks_come_first_and_future_ones_wait(store: Store) -> None:
    store.import_cases(rows(3))
    now = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
    first = store.claim_next_case("a1", now=now)
    second = store.claim_next_case("a1", now=now)
    store.record_attempt(first.id, "a1", "callback", started_at=now, callback_at=now + timedelta(hours=1))
    store.record_attempt(second.id, "a1", "callback", started_at=now, callback_at=now + timedelta(minutes=30))

    # Before the appointments only the third, never-called case is offered.
    assert store.claim_next_case("a2", now=now).id not in (first.id, second.id)
    later = now + timedelta(hours=2)
    assert store.claim_next_case("a2", now=later).id == second.id
    assert store.claim_next_case("a2", now=later).id == first.id
    assert store.get_case(first.id).attempts == 1


def test_attempts_are_kept_and_a_final_outcome_closes_the_case(store: Store) -> None:
    store.import_cases(rows(1))
    case = store.claim_next_case("a1")
    start = datetime.now(UTC)
    store.record_attempt(case.id, "a1", "no_answer", aapor_code="3.13", started_at=start)
    assert store.get_case(case.id).status == "pending"
    again = store.claim_next_case("a1")
    store.record_attempt(again.id, "a1", "refusal", aapor_code="2.11", started_at=start, note="不需要", final=True)

    done = store.get_case(case.id)
    assert (done.status, done.attempts, done.last_outcome) == ("done", 2, "refusal")
    attempts = store.attempts_for(case.id)
    assert [(a.outcome, a.aapor_code) for a in attempts] == [("no_answer", "3.13"), ("refusal", "2.11")]
    assert attempts[1].note == "不需要"
    assert store.claim_next_case("a1") is None


def test_release_puts_a_case_back(store: Store) -> None:
    store.import_cases(rows(1))
    case = store.claim_next_case("a1")
    store.release_case(case.id, "a1")
    assert store.claim_next_case("a2").id == case.id


def test_interview_answers_round_trip_with_timing_and_changes(store: Store) -> None:
    questionnaire = load_questionnaire(ROOT / "questionnaires" / "disconnect_phone.yaml")
    qid = store.register_questionnaire(questionnaire)
    assert store.register_questionnaire(questionnaire) == qid
    store.import_cases(rows(1))
    case = store.claim_next_case("a1")
    interview = store.start_interview(qid, "a1", case_id=case.id)

    shown = datetime.now(UTC)
    answered = shown + timedelta(seconds=4)
    store.save_answer(interview, "q1_operator", Answer("china_mobile"), shown_at=shown, answered_at=answered)
    store.save_answer(interview, "q1_operator", Answer("other_isp", other_text="小区宽带"), shown_at=shown)
    store.save_answer(interview, "q3_leave_reason", Answer("移动送的宽带，电信太贵了"))
    store.save_answer(interview, "q4_retention_call", Answer(special=SpecialAnswer.DONT_KNOW))
    store.save_answer(interview, "q5_factors", Answer(["price", "bundle"]))

    stored = store.answers_for(interview)
    assert stored["q1_operator"].answer == Answer("other_isp", other_text="小区宽带")
    assert stored["q1_operator"].change_count == 1
    assert stored["q1_operator"].duration_ms == 4000
    assert stored["q3_leave_reason"].answer.value == "移动送的宽带，电信太贵了"
    assert stored["q4_retention_call"].answer == Answer(special=SpecialAnswer.DONT_KNOW)
    assert stored["q5_factors"].answer.value == ["price", "bundle"]
    assert store.get_interview(interview).current_question == "q5_factors"

    store.finish_interview(interview, "break_off", reason="客户要开会")
    assert store.get_interview(interview).status == "break_off"
    store.resume_interview(interview)
    store.finish_interview(interview, "complete")
    assert store.list_interviews(agent="a1", status="complete")[0].id == interview
    with pytest.raises(StoreError, match="complete"):
        store.save_answer(interview, "q6_package_pref", Answer("single"))


def test_staff_interview_has_no_case(store: Store) -> None:
    questionnaire = load_questionnaire(ROOT / "questionnaires" / "staff_interview.yaml")
    qid = store.register_questionnaire(questionnaire)
    interview = store.start_interview(qid, "researcher1", interviewee="ST0042")
    store.save_answer(interview, "years_of_service", Answer(12))
    assert store.answers_for(interview)["years_of_service"].answer.value == 12
    assert store.get_interview(interview).case_id is None


def test_codes_are_checked_against_the_codebook(store: Store) -> None:
    questionnaire = load_questionnaire(ROOT / "questionnaires" / "disconnect_phone.yaml")
    interview = store.start_interview(store.register_questionnaire(questionnaire), "a1")
    answer = store.save_answer(interview, "q3_leave_reason", Answer("搬家了，新房子没有电信的线"))
    store.save_code(
        answer.id,
        ["relocation"],
        competitor="unknown",
        source="auto",
        model_version="rules-1",
        confidence=0.93,
    )
    store.save_code(answer.id, ["relocation", "slow_install"], source="human", coder="r1")
    codes = store.codes_for(answer.id)
    assert [c.reasons for c in codes] == [["relocation"], ["relocation", "slow_install"]]
    assert codes[0].confidence == pytest.approx(0.93)
    with pytest.raises(StoreError, match="unknown reason"):
        store.save_code(answer.id, ["too_expensive"], source="auto")


def test_codes_saved_column_by_column_read_back_exactly(store: Store) -> None:
    """The bulk path of a coding run (COPY on PostgreSQL): odd text, nulls and repeats survive."""
    questionnaire = load_questionnaire(ROOT / "questionnaires" / "disconnect_phone.yaml")
    interview = store.start_interview(store.register_questionnaire(questionnaire), "a1")
    answers = [
        store.save_answer(interview, question, Answer(text)).id
        for question, text in [("q2_competitor_reason", "送的"), ("q3_leave_reason", "太贵"), ("q6_package_pref", "x")]
    ]
    odd_version = "模型\t1\\2\n3\r"  # tab, backslash and line ends must not break the stream
    store.save_code_columns(
        answers,
        [("price", "other_network"), (), ("price",)],
        source="auto",
        competitors=["china_mobile", None, "unknown"],
        confidences=[0.5, None, 1.0],
        needs_review=[True, False, False],
        model_version=odd_version,
        per_transaction=2,
    )
    stored = [store.codes_for(answer)[0] for answer in answers]
    assert [code.reasons for code in stored] == [["price", "other_network"], [], ["price"]]
    assert [code.competitor for code in stored] == ["china_mobile", None, "unknown"]
    assert [code.confidence for code in stored] == [0.5, None, 1.0]
    assert [code.needs_review for code in stored] == [True, False, False]
    assert {code.model_version for code in stored} == {odd_version}
    assert all(code.coded_at.tzinfo is not None for code in stored)
    with pytest.raises(StoreError, match="unknown reason"):
        store.save_code_columns([answers[0]], [("too_expensive",)], source="auto")


def test_sqlite_file_is_private_and_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "survey.db"
    with Store.open(path) as opened, opened.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
    assert path.stat().st_mode & 0o777 == 0o600


def test_a_locked_sqlite_file_gives_a_clear_error_and_loses_nothing(tmp_path: Path) -> None:
    import sqlite3

    from survey_tui.store import StoreUnavailable

    path = tmp_path / "survey.db"
    with Store.open(path) as store:
        store.import_cases(rows(1))
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        with Store.open(path, busy_seconds=0.3) as store:
            with pytest.raises(StoreUnavailable, match="locked by another program"):
                store.import_cases(rows(2, start=100))
            assert len(store.list_cases()) == 1  # readers are not blocked in WAL mode
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    with Store.open(path) as store:
        assert store.import_cases(rows(2, start=100)).imported == 2
