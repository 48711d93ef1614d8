"""An interview in progress with the real disconnect-phone questionnaire, a real store and outbox."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from survey_tui.calling.interviews import InterviewSession
from survey_tui.calling.outbox import Outbox
from survey_tui.model import Answer, Questionnaire, SpecialAnswer, load_questionnaire
from tests.conftest import ROOT
from tests.test_outbox import FlakyStore
from tests.test_store import rows


@pytest.fixture(scope="module")
def questionnaire() -> Questionnaire:
    return load_questionnaire(ROOT / "questionnaires" / "disconnect_phone.yaml")


@pytest.fixture
def db(sqlite_url: str) -> Iterator[FlakyStore]:
    opened = FlakyStore.open(sqlite_url)
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def spool(tmp_path: Path) -> Path:
    return tmp_path / "state" / "spool-a1.jsonl"


@pytest.fixture
def outbox(db: FlakyStore, spool: Path) -> Outbox:
    return Outbox(db, spool)


@pytest.fixture
def interview_id(db: FlakyStore, questionnaire: Questionnaire) -> int:
    db.import_cases(rows(1))
    case = db.claim_next_case("a1")
    assert case is not None
    return db.start_interview(db.register_questionnaire(questionnaire), "a1", case_id=case.id)


@pytest.fixture
def session(questionnaire: Questionnaire, outbox: Outbox, interview_id: int) -> InterviewSession:
    return InterviewSession(questionnaire, outbox, interview_id)


def current_id(session: InterviewSession) -> str | None:
    return session.current.id if session.current else None


def walk_to_q3_as_mobile_user(session: InterviewSession) -> None:
    assert session.start() is not None
    assert session.answer(Answer()).problem is None  # the intro is read out
    assert session.answer(Answer("china_mobile")).problem is None
    assert session.answer(Answer("移动送的宽带，不要钱")).problem is None
    assert current_id(session) == "q3_leave_reason"


def test_a_full_interview_of_a_china_mobile_user_is_stored(
    session: InterviewSession, db: FlakyStore, interview_id: int, spool: Path
) -> None:
    first = session.start()
    assert first is not None and first.id == "intro"
    assert "邵阳电信" in session.text(first)
    assert session.answer(Answer()).problem is None
    assert current_id(session) == "q1_operator"

    steps = [
        ("q1_operator", Answer("china_mobile")),
        ("q2_competitor_reason", Answer("移动送的宽带，不要钱")),
        ("q3_leave_reason", Answer("电信网速太慢，晚上打游戏老掉线")),
        ("q4_retention_call", Answer("no")),
        ("q5_factors", Answer(["price", "bundle", "other"], other_text="师傅上门快")),
        ("q6_package_pref", Answer("fusion")),
    ]
    for question_id, answer in steps:
        assert current_id(session) == question_id
        result = session.answer(answer)
        assert result.problem is None
        assert result.in_store is True

    assert current_id(session) == "closing"
    assert session.answer(Answer()).problem is None
    assert session.finished
    assert session.current is None

    stored = db.answers_for(interview_id)
    assert list(stored) == [question_id for question_id, _ in steps]
    for question_id, answer in steps:
        assert stored[question_id].answer == answer
        assert stored[question_id].change_count == 0
        assert stored[question_id].draft is False
        assert stored[question_id].shown_at is not None
        assert stored[question_id].duration_ms is not None and stored[question_id].duration_ms >= 0
    assert "intro" not in stored and "closing" not in stored  # notes take no answer
    assert db.get_interview(interview_id).current_question == "q6_package_pref"
    assert not spool.exists()
    assert session.progress() == (6, 6)
    assert session.answered_share() == (6, 6)
    assert session.answer(Answer("fusion")).problem == "the interview is finished"


def test_q2_names_the_operator_chosen_in_q1(session: InterviewSession) -> None:
    session.start()
    session.answer(Answer())
    session.answer(Answer("other_isp", other_text="长城宽带"))
    assert current_id(session) == "q2_competitor_reason"
    assert session.text(session.current) == "请问您选择长城宽带宽带的原因是什么呢？"


def test_a_china_telecom_user_is_not_asked_why_they_chose_a_competitor(
    session: InterviewSession, db: FlakyStore, interview_id: int
) -> None:
    session.start()
    session.answer(Answer())
    session.answer(Answer("china_telecom"))
    assert current_id(session) == "q3_leave_reason"
    assert session.progress() == (2, 5)
    for answer in (Answer("搬家了"), Answer("yes"), Answer(["price"]), Answer("single"), Answer()):
        assert session.answer(answer).problem is None
    assert session.finished
    assert set(db.answers_for(interview_id)) == {
        "q1_operator",
        "q3_leave_reason",
        "q4_retention_call",
        "q5_factors",
        "q6_package_pref",
    }


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        (Answer("china_xyz"), "'china_xyz' is not one of the choices"),
        (Answer("other_isp"), "please specify '其他'"),
        (Answer("other_isp", other_text="   "), "please specify '其他'"),
        (Answer(), "an answer is required"),
        (Answer(""), "an answer is required"),
        (Answer(["china_mobile"]), "not one of the choices"),
    ],
)
def test_an_invalid_answer_to_q1_is_refused_and_nothing_is_stored(
    session: InterviewSession, db: FlakyStore, interview_id: int, answer: Answer, problem: str
) -> None:
    session.start()
    session.answer(Answer())
    result = session.answer(answer)
    assert result.problem is not None
    assert problem in result.problem
    assert current_id(session) == "q1_operator"
    assert "q1_operator" not in session.answers
    assert db.answers_for(interview_id) == {}


def test_invalid_multiple_choice_answers_are_refused(
    session: InterviewSession, db: FlakyStore, interview_id: int
) -> None:
    walk_to_q3_as_mobile_user(session)
    session.answer(Answer("服务差"))
    session.answer(Answer("not_sure"))
    assert current_id(session) == "q5_factors"
    assert session.answer(Answer(["price", "price"])).problem == "a choice is selected twice"
    assert session.answer(Answer(["price", "other"])).problem == "please specify '其他'"
    assert session.answer(Answer("price")).problem == "a list of choices is expected"
    assert current_id(session) == "q5_factors"
    assert "q5_factors" not in db.answers_for(interview_id)


def test_special_answers_are_stored_and_count_as_answered(
    session: InterviewSession, db: FlakyStore, interview_id: int
) -> None:
    walk_to_q3_as_mobile_user(session)
    assert session.answer(Answer(special=SpecialAnswer.REFUSED)).problem is None
    assert session.answer(Answer(special=SpecialAnswer.DONT_KNOW)).problem is None
    stored = db.answers_for(interview_id)
    assert stored["q3_leave_reason"].answer == Answer(special=SpecialAnswer.REFUSED)
    assert stored["q4_retention_call"].answer == Answer(special=SpecialAnswer.DONT_KNOW)
    assert session.answered_share() == (4, 6)


def test_back_from_q3_goes_to_q2_and_a_changed_q1_drops_q2_but_keeps_its_answer(
    session: InterviewSession, db: FlakyStore, interview_id: int
) -> None:
    walk_to_q3_as_mobile_user(session)

    assert session.back().id == "q2_competitor_reason"
    assert session.back().id == "q1_operator"
    assert session.answer(Answer("china_telecom")).problem is None

    assert current_id(session) == "q3_leave_reason"  # q2 is skipped now
    assert session.progress() == (2, 5)
    assert session.back().id == "q1_operator"  # and skipped going back too
    stored = db.answers_for(interview_id)
    assert stored["q1_operator"].answer == Answer("china_telecom")
    assert stored["q1_operator"].change_count == 1
    # The earlier answer to q2 stays in the store: going back never deletes what was said.
    assert stored["q2_competitor_reason"].answer == Answer("移动送的宽带，不要钱")
    assert stored["q2_competitor_reason"].change_count == 0


def test_back_at_the_first_question_stays_there_and_back_after_the_end_shows_the_closing(
    session: InterviewSession,
) -> None:
    assert session.start().id == "intro"
    assert session.back().id == "intro"
    for answer in (
        Answer(),
        Answer("china_mobile"),
        Answer("移动送的"),
        Answer("服务差"),
        Answer("yes"),
        Answer(["speed"]),
        Answer("single"),
        Answer(),
    ):
        session.answer(answer)
    assert session.finished
    assert session.back().id == "closing"
    assert session.back().id == "q6_package_pref"


def test_changing_an_answer_counts_one_change_in_the_store(
    session: InterviewSession, db: FlakyStore, interview_id: int
) -> None:
    walk_to_q3_as_mobile_user(session)
    session.back()
    assert session.answer(Answer("移动送的宽带，不要钱")).problem is None  # the same again
    assert db.answers_for(interview_id)["q2_competitor_reason"].change_count == 0
    session.back()
    assert session.answer(Answer("联通便宜")).problem is None
    session.back()
    assert session.answer(Answer("联通便宜，还送手机卡")).problem is None

    stored = db.answers_for(interview_id)["q2_competitor_reason"]
    assert stored.answer == Answer("联通便宜，还送手机卡")
    assert stored.change_count == 2
    assert current_id(session) == "q3_leave_reason"


def test_a_draft_is_stored_and_a_resumed_session_picks_it_up(
    questionnaire: Questionnaire,
    session: InterviewSession,
    db: FlakyStore,
    interview_id: int,
    spool: Path,
) -> None:
    walk_to_q3_as_mobile_user(session)
    assert session.save_draft("电信网速") is True
    assert session.save_draft("电信网速太慢") is True

    stored = db.answers_for(interview_id)["q3_leave_reason"]
    assert stored.draft is True
    assert stored.answer.value == "电信网速太慢"
    assert stored.duration_ms is None

    # The app dies; a new session is built from what the store holds.
    resumed = InterviewSession(questionnaire, Outbox(db, spool), interview_id, db.answers_for(interview_id))
    assert resumed.drafts == {"q3_leave_reason": "电信网速太慢"}
    assert "q3_leave_reason" not in resumed.answers
    assert resumed.answers["q1_operator"] == Answer("china_mobile")
    assert resumed.start().id == "q3_leave_reason"
    assert resumed.progress() == (3, 6)

    assert resumed.answer(Answer("电信网速太慢，晚上卡")).problem is None
    assert resumed.drafts == {}
    confirmed = db.answers_for(interview_id)["q3_leave_reason"]
    assert confirmed.draft is False
    assert confirmed.answer == Answer("电信网速太慢，晚上卡")
    assert confirmed.change_count == 0  # typing and confirming a first answer is no change
    assert current_id(resumed) == "q4_retention_call"


def test_editing_a_confirmed_answer_through_drafts_counts_one_change(
    session: InterviewSession, db: FlakyStore, interview_id: int
) -> None:
    walk_to_q3_as_mobile_user(session)
    session.back()
    session.save_draft("移动送的宽带")
    session.save_draft("移动送的宽带，还便宜")
    session.answer(Answer("移动送的宽带，还便宜"))

    stored = db.answers_for(interview_id)["q2_competitor_reason"]
    assert (stored.answer.value, stored.draft, stored.change_count) == ("移动送的宽带，还便宜", False, 1)


def test_start_on_a_resumed_interview_returns_the_first_unanswered_question(
    questionnaire: Questionnaire, session: InterviewSession, db: FlakyStore, interview_id: int, spool: Path
) -> None:
    walk_to_q3_as_mobile_user(session)
    session.answer(Answer("服务差"))
    assert current_id(session) == "q4_retention_call"

    resumed = InterviewSession(questionnaire, Outbox(db, spool), interview_id, db.answers_for(interview_id))
    assert resumed.start().id == "q4_retention_call"
    assert resumed.progress() == (4, 6)
    assert resumed.answered_share() == (3, 6)


def test_start_on_a_new_interview_shows_the_intro_and_progress_counts_only_questions(
    session: InterviewSession,
) -> None:
    assert session.start().id == "intro"
    assert session.answered_share() == (0, 5)
    session.answer(Answer())
    assert session.progress() == (1, 5)  # q2 is not asked until q1 names a competitor
    session.answer(Answer("china_mobile"))
    assert current_id(session) == "q2_competitor_reason"
    assert session.progress() == (2, 6)
    assert session.answered_share() == (1, 6)


def test_an_answer_given_while_the_database_is_down_moves_on_and_arrives_later(
    session: InterviewSession, db: FlakyStore, outbox: Outbox, interview_id: int, spool: Path
) -> None:
    session.start()
    session.answer(Answer())
    db.down = True
    result = session.answer(Answer("china_unicom"))
    assert result.problem is None
    assert result.in_store is False
    assert current_id(session) == "q2_competitor_reason"
    assert spool.exists()
    assert session.save_draft("联通") is False

    db.down = False
    assert outbox.flush() == 0
    stored = db.answers_for(interview_id)
    assert stored["q1_operator"].answer == Answer("china_unicom")
    assert stored["q2_competitor_reason"].draft is True
    assert not spool.exists()
