"""An XLSForm run in the agents' app: the keys an agent presses, then the rows in the store."""

from __future__ import annotations

from pathlib import Path

import pytest

from survey_tui.app import SurveyApp, make_app
from survey_tui.model.xlsform import read_xlsform
from survey_tui.screens import QueueScreen
from survey_tui.store import Store
from tests.test_tui import SIZE, STAFF, answer, at, on, open_interview, store, typed, until
from tests.test_xlsform import FORMS, workbook


@pytest.fixture
def app(store: Store, tmp_path: Path) -> SurveyApp:
    form = read_xlsform(workbook(FORMS / "churn_features.md", tmp_path))
    return make_app(store, agent="a1", questionnaire=form, staff_questionnaire=STAFF, spool_dir=tmp_path / "spool")


def stored(store: Store) -> dict[str, object]:
    [interview] = store.list_interviews()
    return {qid: s.answer.value for qid, s in store.answers_for(interview.id).items()}


__all__ = ["store"]  # the store of test_tui (three cases on SQLite), used as a fixture here


async def test_an_xlsform_interview_stores_every_kind_of_answer(store: Store, app: SurveyApp) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await open_interview(pilot, app)
        assert "您好，这里是邵阳电信" in str(app.screen.query_one("#question").render())
        await answer(pilot, app, ["enter"], "region")
        await pilot.press("enter")  # required: its own message, and the question stays
        await pilot.pause(0.2)
        assert "请选择区" in str(app.screen.query_one("#problem").render())
        await answer(pilot, app, ["2"], "town")  # south
        offered = str(app.screen.query_one("#choices").render())
        assert "二镇" in offered and "三镇" in offered and "一镇" not in offered  # choice_filter
        await answer(pilot, app, ["2"], "factors")  # the second offered: t3
        await pilot.press("3")  # Other (or_other): asks what
        await pilot.pause(0.1)
        await answer(pilot, app, [*typed("wifi"), "enter"], "monthly_fee")
        fee = app.screen.query_one("#text")
        assert fee.value == "99.5"  # the default, offered
        await answer(pilot, app, ["enter"], "cancel_date")  # group relevant: fee > 50
        assert "拆机情况" in str(app.screen.query_one("#progress").render())  # the group's label
        await pilot.press(*typed("2099-01-01"), "enter")
        await pilot.pause(0.2)
        assert "日期不能在今天之后" in str(app.screen.query_one("#problem").render())
        app.screen.query_one("#text").value = ""
        await answer(pilot, app, [*typed("2024/5/1"), "enter"], "reason")
        await answer(pilot, app, [*typed("太贵"), "enter"], "consent")
        await answer(pilot, app, ["1"], None)
        await until(pilot, on(app, QueueScreen))

    assert stored(store) == {
        "region": "south",
        "town": "t3",
        "factors": ["other"],
        "monthly_fee": 99.5,
        "yearly_fee": 1194,  # the calculate, stored with the answers
        "cancel_date": "2024-05-01",
        "reason": "太贵",
        "consent": "OK",
    }
    [interview] = store.list_interviews()
    assert store.answers_for(interview.id)["factors"].answer.other_text == "wifi"
    assert interview.status == "complete"


async def test_a_group_that_is_not_relevant_is_skipped_and_calculates_follow_changes(
    store: Store, app: SurveyApp
) -> None:
    async with app.run_test(size=SIZE) as pilot:
        await open_interview(pilot, app)
        await answer(pilot, app, ["enter"], "region")
        await answer(pilot, app, ["1"], "town")
        await answer(pilot, app, ["1"], "factors")  # north: only 一镇
        await answer(pilot, app, ["enter"], "monthly_fee")  # optional: nothing chosen
        app.screen.query_one("#text").value = ""
        await pilot.press(*typed("abc"), "enter")  # the number line takes no letters
        await pilot.pause(0.1)
        assert "required" in str(app.screen.query_one("#problem").render())
        app.screen.query_one("#text").value = ""
        await answer(pilot, app, [*typed("30"), "enter"], "consent")  # the group is skipped
        await answer(pilot, app, ["pageup"], "monthly_fee")
        app.screen.query_one("#text").value = ""
        await answer(pilot, app, [*typed("60.5"), "enter"], "cancel_date")
        assert at(app, "cancel_date")()

    values = stored(store)
    assert values["town"] == "t1" and values["monthly_fee"] == 60.5
    assert values["yearly_fee"] == 726  # recomputed when the fee changed
    assert "cancel_date" not in values and values.get("factors") in (None, [])
