"""The rules of calling, once for the app and the command line: the queue, a call, its outcome."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from click.testing import CliRunner

from survey_tui.calling import Desk, InterviewEnded, Outbox, queue
from survey_tui.cli import cli
from survey_tui.model import Answer, load_questionnaire
from survey_tui.store import Store
from tests.conftest import ROOT
from tests.test_store import rows

DISCONNECT = load_questionnaire(ROOT / "questionnaires" / "disconnect_phone.yaml")
STAFF = load_questionnaire(ROOT / "questionnaires" / "staff_interview.yaml")


def desk(store: Store, tmp_path: Path, agent: str = "a1", max_attempts: int = 5) -> Desk:
    opened = Desk(
        store,
        Outbox(store, tmp_path / f"spool-{agent}.jsonl"),
        agent,
        questionnaire=DISCONNECT,
        staff_questionnaire=STAFF,
        max_attempts=max_attempts,
    )
    opened.open()
    return opened


def test_case_claim_twice_by_one_agent_gives_the_held_case(sqlite_url: str) -> None:
    with Store.open(sqlite_url) as store:
        store.import_cases(rows(3))
    runner = CliRunner()
    first = runner.invoke(cli, ["case", "claim", "--agent", "a1", "--db", sqlite_url])
    again = runner.invoke(cli, ["case", "claim", "--agent", "a1", "--db", sqlite_url])
    other = runner.invoke(cli, ["case", "claim", "--agent", "a2", "--db", sqlite_url])
    assert first.exit_code == again.exit_code == other.exit_code == 0, first.output + again.output
    assert json.loads(again.output)["id"] == json.loads(first.output)["id"]
    assert json.loads(other.output)["id"] != json.loads(first.output)["id"]
    with Store.open(sqlite_url) as store:
        assert store.case_counts()["claimed"] == 2  # one agent holds one case, not two
        assert [case.claimed_by for case in store.list_cases(status="claimed")] == ["a1", "a2"]


def test_the_app_and_the_command_line_take_the_same_next_case(store: Store, tmp_path: Path) -> None:
    store.import_cases(rows(3))
    held = queue.next_case(store, "a1")
    assert held is not None
    # After a crash the app's `enter` gives the agent the case they hold, as `case claim` does.
    assert desk(store, tmp_path).next_case() == store.get_case(held.id)
    assert queue.next_case(store, "a1") == store.get_case(held.id)
    # Once it is called it is no longer held: back in the list, for whoever comes first.
    store.record_attempt(held.id, "a1", "busy", aapor_code="3.12", started_at=datetime.now(UTC))
    assert queue.next_case(store, "a2").id == held.id  # type: ignore[union-attr]
    assert queue.next_case(store, "a1").id != held.id  # type: ignore[union-attr]


def test_a_call_begins_or_resumes_its_interview_in_one_step(store: Store, tmp_path: Path) -> None:
    store.import_cases(rows(1))
    agent = desk(store, tmp_path)
    case = agent.next_case()
    assert case is not None
    call = agent.call(case)
    begun = call.begin_interview()
    assert not begun.resumed
    session = agent.interview(DISCONNECT, begun.interview_id)
    session.start()
    session.answer(Answer())  # the intro
    session.answer(Answer("china_mobile"))
    ended = session.break_off("客户要挂电话")
    assert ended == InterviewEnded(False, 1, 6, "中断：客户要挂电话")
    assert call.outcome_of(ended).code == "break_off"
    call.record(call.outcome_of(ended), note=ended.reason)

    again = agent.next_case()
    assert again is not None and again.id == case.id
    resumed = agent.call(again).begin_interview()
    assert resumed.resumed and resumed.interview_id == begun.interview_id
    assert store.get_interview(begun.interview_id).status == "in_progress"  # type: ignore[union-attr]


def test_on_the_last_attempt_a_broken_off_interview_is_final(store: Store, tmp_path: Path) -> None:
    store.import_cases(rows(1))
    agent = desk(store, tmp_path, max_attempts=2)
    first = agent.call(agent.next_case())  # type: ignore[arg-type]
    assert not first.is_last
    first.record(first.outcome_of(InterviewEnded(False, 1, 6)))
    second = agent.call(agent.next_case())  # type: ignore[arg-type]
    assert second.is_last and second.number == 2
    chosen = second.outcome_of(InterviewEnded(False, 4, 6))
    assert (chosen.code, chosen.aapor_code) == ("partial", "1.2")
    second.record(chosen)
    done = store.get_case(second.case.id)
    assert done is not None and (done.status, done.last_outcome) == ("done", "partial")


def test_a_staff_interview_is_resumed_by_its_interviewer(store: Store, tmp_path: Path) -> None:
    mine = desk(store, tmp_path, agent="r1")
    begun = mine.staff_interview()
    assert not begun.resumed
    mine.interview(STAFF, begun.interview_id).break_off("被叫走了")
    assert mine.staff_interview().interview_id == begun.interview_id
    assert desk(store, tmp_path, agent="r2").staff_interview().interview_id != begun.interview_id
