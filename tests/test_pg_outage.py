"""PostgreSQL goes away while an agent works (our own throwaway server, stopped and started again)."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from survey_tui.app import make_app
from survey_tui.screens import QueueScreen
from survey_tui.store import Store, resolve_url
from tests.pg_server import PASSWORD, ThrowawayPostgres
from tests.test_store import rows
from tests.test_tui import DISCONNECT, SIZE, STAFF, answer, on, open_interview, typed, until


def status(app) -> str:  # type: ignore[no-untyped-def]
    return str(app.screen.query_one(".status-line").render())


async def test_the_server_stops_mid_interview_and_comes_back(
    throwaway_pg: ThrowawayPostgres, throwaway_db: str, tmp_path: Path
) -> None:
    store = Store.open(throwaway_db)
    store.import_cases(rows(3))
    app = make_app(store, agent="a1", questionnaire=DISCONNECT, staff_questionnaire=STAFF, spool_dir=tmp_path)
    app.flush_seconds = 0.5
    stopped = False
    try:
        async with app.run_test(size=SIZE) as pilot:
            await open_interview(pilot, app)
            await answer(pilot, app, ["enter"], "q1_operator")
            await answer(pilot, app, ["3"], "q2_competitor_reason")

            throwaway_pg.stop()
            stopped = True
            await answer(pilot, app, [*typed("联通装得快"), "enter"], "q3_leave_reason")
            await until(pilot, lambda: "数据库暂不可用" in status(app))
            assert app.outbox.pending == 1 and app.outbox.spool.exists()
            assert PASSWORD not in status(app) and "127.0.0.1" in status(app)  # where, never the password
            assert PASSWORD not in app.outbox.spool.read_text("utf-8")
            await answer(pilot, app, [*typed("网速慢又太贵"), "enter"], "q4_retention_call")
            await answer(pilot, app, ["1"], "q5_factors")
            await answer(pilot, app, ["1", "2", "enter"], "q6_package_pref")
            await answer(pilot, app, ["1"], "closing")
            await pilot.press("enter")  # the interview ends and the call is recorded, all while down
            await until(pilot, on(app, QueueScreen))
            await pilot.pause(1.0)  # the outbox retries in vain meanwhile
            assert "数据库暂不可用" in status(app)
            await pilot.press("enter")  # the next customer cannot be claimed now: the agent is told why
            await until(pilot, lambda: "无法领取客户" in str(app.screen.query_one("#message").render()))
            assert isinstance(app.screen, QueueScreen)
            await pilot.press("s")  # nor a staff interview begun; the app stays up
            await until(pilot, lambda: "无法开始员工访谈" in str(app.screen.query_one("#message").render()))
            assert isinstance(app.screen, QueueScreen)
            assert app.outbox.pending == 7  # q2 to q6, the end of the interview, the call attempt
            waiting = app.outbox.pending

            throwaway_pg.start()
            stopped = False
            await until(pilot, lambda: app.outbox.pending == 0, timeout=20)
            await until(pilot, lambda: "已保存" in status(app))
            assert not app.outbox.spool.exists()
    finally:
        if stopped:
            throwaway_pg.start()
        store.close()

    assert waiting == 7
    with Store.open(throwaway_db) as fresh:
        [interview] = fresh.list_interviews()
        assert interview.status == "complete"
        saved = fresh.answers_for(interview.id)
        assert {qid: s.answer.value for qid, s in saved.items()} == {
            "q1_operator": "china_unicom",
            "q2_competitor_reason": "联通装得快",
            "q3_leave_reason": "网速慢又太贵",
            "q4_retention_call": "yes",
            "q5_factors": ["price", "speed"],
            "q6_package_pref": DISCONNECT.question("q6_package_pref").choices[0].code,
        }
        assert all(s.change_count == 0 and not s.draft for s in saved.values())
        attempts = fresh.attempts_for(interview.case_id)
        assert [(a.outcome, a.aapor_code) for a in attempts] == [("complete", "1.1")]
        case = fresh.get_case(interview.case_id)
        assert (case.status, case.attempts) == ("done", 1)
    # Nothing written twice: one row per answer, one attempt, however often the outbox retried.
    engine = sa.create_engine(resolve_url(throwaway_db))
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM answers")).scalar() == 6
        assert conn.execute(sa.text("SELECT count(*) FROM call_attempts")).scalar() == 1
    engine.dispose()
