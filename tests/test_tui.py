"""The agents' app driven with Pilot: the keys an agent presses, then the rows in the store."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from textual.pilot import Pilot

from survey_tui.app import SurveyApp, make_app
from survey_tui.model import load_questionnaire
from survey_tui.screens import CallScreen, InterviewScreen, QueueScreen, SupervisorScreen
from survey_tui.store import Store, StoreUnavailable, schema
from tests.conftest import ROOT
from tests.test_store import rows

DISCONNECT = load_questionnaire(ROOT / "questionnaires" / "disconnect_phone.yaml")
STAFF = load_questionnaire(ROOT / "questionnaires" / "staff_interview.yaml")
SIZE = (100, 32)


@pytest.fixture
def store(sqlite_url: str) -> Iterator[Store]:
    opened = Store.open(sqlite_url)
    opened.import_cases(rows(3))
    yield opened
    opened.close()


@pytest.fixture
def either_store(db_url: str) -> Iterator[Store]:
    """The same, on SQLite and on PostgreSQL."""
    opened = Store.open(db_url)
    opened.import_cases(rows(3))
    yield opened
    opened.close()


@pytest.fixture
def new_app(tmp_path: Path) -> Callable[..., SurveyApp]:
    def make(store: Store, agent: str = "a1", **options: object) -> SurveyApp:
        return make_app(
            store,
            agent=agent,
            questionnaire=DISCONNECT,
            staff_questionnaire=STAFF,
            spool_dir=tmp_path / "spool",
            **options,  # type: ignore[arg-type]
        )

    return make


async def until(pilot: Pilot[None], condition: Callable[[], bool], timeout: float = 10.0) -> None:
    """Let the app work until `condition` holds (store writes run in a thread)."""
    for _ in range(int(timeout / 0.02)):
        await pilot.pause(0.02)
        if condition():
            return
    raise AssertionError("the app did not get there in time")


def on(app: SurveyApp, screen: type) -> Callable[[], bool]:
    return lambda: isinstance(app.screen, screen)


def at(app: SurveyApp, question_id: str | None) -> Callable[[], bool]:
    def check() -> bool:
        screen = app.screen
        if not isinstance(screen, InterviewScreen):
            return question_id is None
        current = screen.current
        return (current.id if current else None) == question_id

    return check


async def open_interview(pilot: Pilot[None], app: SurveyApp) -> None:
    await pilot.press("enter")
    await until(pilot, on(app, CallScreen))
    await pilot.press("1")
    await until(pilot, at(app, "intro"))


async def answer(pilot: Pilot[None], app: SurveyApp, keys: list[str], next_id: str | None) -> None:
    await pilot.press(*keys)
    await until(pilot, at(app, next_id))


def typed(text: str) -> list[str]:
    return list(text)


async def test_full_interview_with_a_competitor_user(either_store: Store, new_app) -> None:  # type: ignore[no-untyped-def]
    store = either_store
    app = new_app(store)
    async with app.run_test(size=SIZE) as pilot:
        await open_interview(pilot, app)
        await answer(pilot, app, ["enter"], "q1_operator")
        await answer(pilot, app, ["2"], "q2_competitor_reason")
        question = str(app.screen.query_one("#question").render())
        assert "请问您选择中国移动宽带的原因是什么呢" in question
        await answer(pilot, app, [*typed("移动送的宽带"), "enter"], "q3_leave_reason")
        await answer(pilot, app, [*typed("电信太贵了"), "ctrl+j", *typed("网速也慢"), "enter"], "q4_retention_call")
        await answer(pilot, app, ["2"], "q5_factors")
        await answer(pilot, app, ["1", "5", "2", "2", "enter"], "q6_package_pref")
        await answer(pilot, app, ["2"], "closing")
        await pilot.press("enter")
        await until(pilot, on(app, QueueScreen))

    [interview] = store.list_interviews()
    assert interview.status == "complete"
    stored = store.answers_for(interview.id)
    assert {qid: s.answer.value for qid, s in stored.items()} == {
        "q1_operator": "china_mobile",
        "q2_competitor_reason": "移动送的宽带",
        "q3_leave_reason": "电信太贵了\n网速也慢",
        "q4_retention_call": "no",
        "q5_factors": ["price", "bundle"],
        "q6_package_pref": "fusion",
    }
    for saved in stored.values():
        assert saved.shown_at is not None and saved.answered_at >= saved.shown_at
        assert saved.change_count == 0
    case = store.get_case(interview.case_id)
    assert (case.status, case.last_outcome) == ("done", "complete")
    assert [(a.outcome, a.aapor_code) for a in store.attempts_for(case.id)] == [("complete", "1.1")]


async def test_a_china_telecom_user_is_not_asked_q2(store: Store, new_app) -> None:  # type: ignore[no-untyped-def]
    app = new_app(store)
    async with app.run_test(size=SIZE) as pilot:
        await open_interview(pilot, app)
        await answer(pilot, app, ["enter"], "q1_operator")
        await answer(pilot, app, ["1"], "q3_leave_reason")
        assert app.screen.session.progress() == (2, 5)  # type: ignore[attr-defined]
        await answer(pilot, app, [*typed("搬家了"), "enter"], "q4_retention_call")
        await answer(pilot, app, ["f8"], "q5_factors")
        await answer(pilot, app, ["f9"], "q6_package_pref")
        await answer(pilot, app, ["3"], "closing")
        await pilot.press("enter")
        await until(pilot, on(app, QueueScreen))

    [interview] = store.list_interviews()
    stored = store.answers_for(interview.id)
    assert "q2_competitor_reason" not in stored
    assert stored["q1_operator"].answer.value == "china_telecom"
    assert stored["q4_retention_call"].answer.special.value == "dont_know"
    assert stored["q5_factors"].answer.special.value == "refused"
    assert interview.status == "complete"


async def test_other_please_specify_opens_a_text_line(store: Store, new_app) -> None:  # type: ignore[no-untyped-def]
    app = new_app(store)
    async with app.run_test(size=SIZE) as pilot:
        await open_interview(pilot, app)
        await answer(pilot, app, ["enter"], "q1_operator")
        await pilot.press("5")
        await until(pilot, lambda: app.screen.query_one("#specify").has_focus)
        await answer(pilot, app, [*typed("长城宽带"), "enter"], "q2_competitor_reason")
        assert "请问您选择长城宽带宽带的原因" in str(app.screen.query_one("#question").render())
    stored = store.answers_for(store.list_interviews()[0].id)
    assert (stored["q1_operator"].answer.value, stored["q1_operator"].answer.other_text) == (
        "other_isp",
        "长城宽带",
    )


async def test_going_back_keeps_later_answers_and_reapplies_skip_logic(  # type: ignore[no-untyped-def]
    store: Store, new_app
) -> None:
    app = new_app(store)
    async with app.run_test(size=SIZE) as pilot:
        await open_interview(pilot, app)
        await answer(pilot, app, ["enter"], "q1_operator")
        await answer(pilot, app, ["3"], "q2_competitor_reason")
        await answer(pilot, app, [*typed("联通便宜"), "enter"], "q3_leave_reason")
        await answer(pilot, app, ["pageup"], "q2_competitor_reason")
        await answer(pilot, app, ["pageup"], "q1_operator")
        await answer(pilot, app, ["1"], "q3_leave_reason")  # now China Telecom: q2 is skipped
        await answer(pilot, app, ["pageup"], "q1_operator")
    stored = store.answers_for(store.list_interviews()[0].id)
    assert stored["q1_operator"].answer.value == "china_telecom"
    assert stored["q1_operator"].change_count == 1
    assert stored["q2_competitor_reason"].answer.value == "联通便宜"  # kept, not deleted


async def test_break_off_then_resume_at_the_first_unanswered_question(  # type: ignore[no-untyped-def]
    sqlite_url: str, new_app
) -> None:
    store = Store.open(sqlite_url)
    store.import_cases(rows(1))
    app = new_app(store)
    async with app.run_test(size=SIZE) as pilot:
        await open_interview(pilot, app)
        await answer(pilot, app, ["enter"], "q1_operator")
        await answer(pilot, app, ["2"], "q2_competitor_reason")
        await answer(pilot, app, [*typed("送的"), "enter"], "q3_leave_reason")
        await pilot.press(*typed("太贵"))
        await pilot.press("escape")
        await until(pilot, lambda: app.screen.query("#reason").first().has_focus)
        await pilot.press(*typed("客户在开车"), "enter")
        await until(pilot, on(app, QueueScreen))

        [interview] = store.list_interviews()
        assert (interview.status, interview.break_off_reason) == ("break_off", "客户在开车")
        case = store.get_case(interview.case_id)
        assert (case.status, case.last_outcome) == ("pending", "break_off")
        assert store.attempts_for(case.id)[0].aapor_code == "2.12"
        # The half-typed q3 was kept as a draft, not as an answer.
        assert store.answers_for(interview.id)["q3_leave_reason"].draft

        await pilot.press("enter")
        await until(pilot, on(app, CallScreen))
        await pilot.press("1")
        await until(pilot, at(app, "q3_leave_reason"))
        assert app.screen.query_one("#long").text == "太贵"
        await answer(pilot, app, ["enter"], "q4_retention_call")
        for key, following in (("1", "q5_factors"), ("1", None), ("enter", "q6_package_pref")):
            await pilot.press(key)
            if following:
                await until(pilot, at(app, following))
        await answer(pilot, app, ["3"], "closing")
        await pilot.press("enter")
        await until(pilot, on(app, QueueScreen))

    assert len(store.list_interviews()) == 1
    assert store.list_interviews()[0].status == "complete"
    stored = store.answers_for(interview.id)
    assert stored["q3_leave_reason"].answer.value == "太贵"
    assert not stored["q3_leave_reason"].draft
    assert [a.outcome for a in store.attempts_for(case.id)] == ["break_off", "complete"]
    store.close()


async def test_callback_appointment_returns_to_the_queue_at_its_time(  # type: ignore[no-untyped-def]
    store: Store, new_app
) -> None:
    app = new_app(store)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("enter")
        await until(pilot, on(app, CallScreen))
        booked_case = app.screen.case.id  # type: ignore[attr-defined]
        await pilot.press("5")
        await until(pilot, lambda: app.screen.query(".quick").first() is not None and not on(app, CallScreen)())
        before = datetime.now(UTC)
        await pilot.press("1")  # in one hour
        await until(pilot, on(app, QueueScreen))

        case = store.get_case(booked_case)
        assert case.status == "callback"
        assert timedelta(minutes=59) < case.callback_at - before < timedelta(minutes=61)
        assert store.attempts_for(booked_case)[0].aapor_code == "2.21"

        # Not yet due: the next customer is another one.
        await pilot.press("enter")
        await until(pilot, on(app, CallScreen))
        assert app.screen.case.id != booked_case  # type: ignore[attr-defined]
        await pilot.press("2")
        await until(pilot, on(app, QueueScreen))

        # An hour later the appointment comes first.
        with store.engine.begin() as conn:
            conn.execute(
                sa.update(schema.cases)
                .where(schema.cases.c.id == booked_case)
                .values(callback_at=datetime.now(UTC) - timedelta(minutes=1))
            )
        await pilot.press("enter")
        await until(pilot, on(app, CallScreen))
        assert app.screen.case.id == booked_case  # type: ignore[attr-defined]


async def test_typed_callback_time(store: Store, new_app) -> None:  # type: ignore[no-untyped-def]
    app = new_app(store)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("enter")
        await until(pilot, on(app, CallScreen))
        case_id = app.screen.case.id  # type: ignore[attr-defined]
        await pilot.press("5")
        await until(pilot, lambda: not on(app, CallScreen)())
        await pilot.press("4")
        await until(pilot, lambda: app.screen.query_one("#typed").has_focus)
        await pilot.press(*typed("明天 10:30"), "enter")
        await until(pilot, on(app, QueueScreen))
    local = store.get_case(case_id).callback_at.astimezone()
    assert (local.hour, local.minute) == (10, 30)
    assert local.date() == (datetime.now().astimezone() + timedelta(days=1)).date()


@pytest.mark.parametrize(
    ("key", "code", "aapor", "status"),
    [
        ("2", "no_answer", "3.13", "pending"),
        ("3", "busy", "3.12", "pending"),
        ("4", "answering_machine", "3.14", "pending"),
        ("6", "refusal", "2.11", "done"),
        ("7", "non_working", "4.30", "done"),
        ("8", "wrong_number", "4.41", "done"),
        ("9", "language_hearing", "2.33", "done"),
        ("0", "not_eligible", "4.70", "done"),
    ],
)
async def test_unsuccessful_call_outcomes_are_stored_with_their_aapor_code(  # type: ignore[no-untyped-def]
    store: Store, new_app, key: str, code: str, aapor: str, status: str
) -> None:
    app = new_app(store)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("enter")
        await until(pilot, on(app, CallScreen))
        case_id = app.screen.case.id  # type: ignore[attr-defined]
        await pilot.press("n", *typed("第一次"), "enter", key)
        await until(pilot, on(app, QueueScreen))
    [attempt] = store.attempts_for(case_id)
    assert (attempt.outcome, attempt.aapor_code, attempt.agent, attempt.note) == (
        code,
        aapor,
        "a1",
        "第一次",
    )
    assert store.get_case(case_id).status == status


async def test_the_last_allowed_attempt_closes_the_case(store: Store, new_app) -> None:  # type: ignore[no-untyped-def]
    store.close()
    single = Store.open(store.engine.url)
    app = new_app(single, max_attempts=2)
    async with app.run_test(size=SIZE) as pilot:
        for _ in range(2):
            await pilot.press("enter")
            await until(pilot, on(app, CallScreen))
            await pilot.press("2")
            await until(pilot, on(app, QueueScreen))
    first = single.get_case(1)
    assert (first.status, first.attempts, first.last_outcome) == ("done", 2, "no_answer")
    single.close()


async def test_two_agents_never_get_the_same_case(db_url: str, new_app) -> None:  # type: ignore[no-untyped-def]
    claimed = []
    for agent in ("a1", "a2"):
        store = Store.open(db_url)
        if agent == "a1":
            store.import_cases(rows(2))
        app = new_app(store, agent=agent)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("enter")
            await until(pilot, on(app, CallScreen))
            claimed.append(app.screen.case.id)  # type: ignore[attr-defined]
        store.close()
    assert claimed[0] != claimed[1]
    with Store.open(db_url) as store:
        assert {c.claimed_by for c in store.list_cases(status="claimed")} == {"a1", "a2"}


async def test_staff_interview_with_long_answers(store: Store, new_app, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    app = new_app(store, agent="researcher")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("s")
        await until(pilot, at(app, "intro"))
        await answer(pilot, app, ["enter"], "staff_id")
        await answer(pilot, app, [*typed("ST0042"), "enter"], "department")
        await answer(pilot, app, ["1"], "role")
        await answer(pilot, app, ["1"], "branch")
        await answer(pilot, app, [*typed("大祥支局"), "enter"], "years_of_service")
        await answer(pilot, app, [*typed("75"), "enter"], "years_of_service")  # outside 0..50
        assert "工作年限" in str(app.screen.query_one("#problem").render())
        await pilot.press("backspace", "backspace")
        await answer(pilot, app, [*typed("12"), "enter"], "q_churn_reasons")
        await answer(
            pilot,
            app,
            [*typed("一是移动送宽带"), "ctrl+j", *typed("二是政企招投标没中标"), "enter"],
            "q_retention_means",
        )
        await answer(pilot, app, [*typed("组网专线加云业务"), "enter"], "notes")
        await answer(pilot, app, ["enter"], "closing")
        await pilot.press("enter")
        await until(pilot, on(app, QueueScreen))
    [interview] = store.list_interviews(agent="researcher")
    assert interview.case_id is None and interview.status == "complete"
    stored = store.answers_for(interview.id)
    assert stored["staff_id"].answer.value == "ST0042"
    assert stored["years_of_service"].answer.value == 12
    assert stored["q_churn_reasons"].answer.value == "一是移动送宽带\n二是政企招投标没中标"
    assert "notes" not in stored or stored["notes"].answer.value is None


async def test_long_answers_are_saved_while_typing(store: Store, new_app, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import survey_tui.screens.interview_screen as interview_screen

    monkeypatch.setattr(interview_screen, "DRAFT_SECONDS", 0.2)
    app = new_app(store)
    async with app.run_test(size=SIZE) as pilot:
        await open_interview(pilot, app)
        await answer(pilot, app, ["enter"], "q1_operator")
        await answer(pilot, app, ["1"], "q3_leave_reason")
        await pilot.press(*typed("宽带到期没人通知"))
        interview_id = store.list_interviews()[0].id

        def drafted() -> bool:
            saved = store.answers_for(interview_id).get("q3_leave_reason")
            return saved is not None and saved.draft and saved.answer.value == "宽带到期没人通知"

        await until(pilot, drafted, timeout=5)


async def test_answers_wait_locally_while_the_database_is_down(  # type: ignore[no-untyped-def]
    store: Store, new_app, monkeypatch
) -> None:
    app = new_app(store)
    real_save = store.save_answer
    async with app.run_test(size=SIZE) as pilot:
        await open_interview(pilot, app)
        await answer(pilot, app, ["enter"], "q1_operator")

        def down(*args: object, **kwargs: object) -> None:
            raise StoreUnavailable("cannot use the database: connection refused")

        monkeypatch.setattr(store, "save_answer", down)
        await answer(pilot, app, ["3"], "q2_competitor_reason")
        await until(pilot, lambda: "暂存本机" in str(app.screen.query_one(".status-line").render()))
        assert app.outbox.pending == 1
        assert app.outbox.spool.exists()
        await answer(pilot, app, [*typed("联通装得快"), "enter"], "q3_leave_reason")
        assert app.outbox.pending == 2

        monkeypatch.setattr(store, "save_answer", real_save)
        await until(pilot, lambda: app.outbox.pending == 0)
        await until(pilot, lambda: "已保存" in str(app.screen.query_one(".status-line").render()))
    stored = store.answers_for(store.list_interviews()[0].id)
    assert stored["q1_operator"].answer.value == "china_unicom"
    assert stored["q2_competitor_reason"].answer.value == "联通装得快"


async def test_supervisor_sees_rates_per_agent(store: Store, new_app) -> None:  # type: ignore[no-untyped-def]
    first = store.claim_next_case("a1")
    store.record_attempt(first.id, "a1", "complete", aapor_code="1.1", started_at=datetime.now(UTC), final=True)
    second = store.claim_next_case("a2")
    store.record_attempt(second.id, "a2", "refusal", aapor_code="2.11", started_at=datetime.now(UTC), final=True)
    app = new_app(store, role="supervisor")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("v")
        await until(pilot, on(app, SupervisorScreen))
        table = app.screen.query_one("#agents")
        lines = [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]
    assert lines[0][:6] == ["a1", "1", "1", "1", "0", "0"]
    assert lines[0][6:] == ["100.0%", "100.0%", "0.0%", "100.0%"]
    assert lines[1][:6] == ["a2", "1", "1", "0", "1", "0"]
    # Everyone: 1 complete, 1 refusal, 1 never called (unknown eligibility).
    assert lines[2][0] == "合计" and lines[2][6] == "33.3%" and lines[2][8] == "33.3%"


async def test_queue_shows_the_day_and_masks_numbers(store: Store, new_app) -> None:  # type: ignore[no-untyped-def]
    case = store.claim_next_case("a1")
    store.record_attempt(case.id, "a1", "no_answer", aapor_code="3.13", started_at=datetime.now(UTC))
    app = new_app(store)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        today = str(app.screen.query_one("#today").render())
        table = app.screen.query_one("#cases")
        cells = [str(c) for c in table.get_row_at(0)]
    assert "今日拨打 1" in today and "无人接听 1" in today
    assert cells[1] == "154****0000"
    assert case.phone not in " ".join(cells)


async def test_interviews_leave_no_widgets_behind(store: Store, new_app) -> None:  # type: ignore[no-untyped-def]
    import gc

    from textual.widget import Widget

    def live_widgets() -> int:
        gc.collect()
        return sum(1 for thing in gc.get_objects() if isinstance(thing, Widget))

    store.import_cases(rows(6)[3:])
    app = new_app(store)
    counts = []
    async with app.run_test(size=SIZE) as pilot:
        for _ in range(4):
            await open_interview(pilot, app)
            await answer(pilot, app, ["enter"], "q1_operator")
            await answer(pilot, app, ["1"], "q3_leave_reason")
            await answer(pilot, app, [*typed("搬家了"), "enter"], "q4_retention_call")
            await answer(pilot, app, ["2"], "q5_factors")
            await answer(pilot, app, ["1", "enter"], "q6_package_pref")
            await answer(pilot, app, ["3"], "closing")
            await pilot.press("enter")
            await until(pilot, on(app, QueueScreen))
            await pilot.pause()
            counts.append(live_widgets())
    # Each interview used to keep its answer editor, its screen and ten footer keys alive.
    assert counts[-1] <= counts[1], counts
    assert len(store.list_interviews(status="complete")) == 4
