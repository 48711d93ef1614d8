"""The outbox: writes reach the store at once, or wait in a synced spool file and are replayed in order."""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from survey_tui.calling.outbox import Outbox, SaveAnswer
from survey_tui.model import Answer, SpecialAnswer, load_questionnaire
from survey_tui.store import Store, StoreError, StoreUnavailable
from tests.conftest import ROOT
from tests.test_store import rows

CST = timezone(timedelta(hours=8))


class FlakyStore(Store):
    """A real store whose writes fail as if the database were unreachable while `down` is set."""

    down = False

    def _check(self) -> None:
        if self.down:
            raise StoreUnavailable(f"cannot use the database {self.location}: connection refused")

    def save_answer(self, *args: Any, **kwargs: Any) -> Any:
        self._check()
        return super().save_answer(*args, **kwargs)

    def finish_interview(self, *args: Any, **kwargs: Any) -> Any:
        self._check()
        return super().finish_interview(*args, **kwargs)

    def record_attempt(self, *args: Any, **kwargs: Any) -> Any:
        self._check()
        return super().record_attempt(*args, **kwargs)


@pytest.fixture
def flaky(sqlite_url: str) -> Iterator[FlakyStore]:
    opened = FlakyStore.open(sqlite_url)
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def spool(tmp_path: Path) -> Path:
    return tmp_path / "state" / "churn-survey" / "outbox.jsonl"


@pytest.fixture
def interview(flaky: FlakyStore) -> tuple[int, int]:
    """(case id, interview id) of a claimed case with an interview in progress."""
    questionnaire = load_questionnaire(ROOT / "questionnaires" / "disconnect_phone.yaml")
    questionnaire_id = flaky.register_questionnaire(questionnaire)
    flaky.import_cases(rows(1))
    case = flaky.claim_next_case("a1")
    assert case is not None
    return case.id, flaky.start_interview(questionnaire_id, "a1", case_id=case.id)


def spool_records(spool: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in spool.read_text("utf-8").splitlines() if line.strip()]


def test_answers_go_straight_to_the_store_when_it_is_up(
    flaky: FlakyStore, spool: Path, interview: tuple[int, int]
) -> None:
    _, interview_id = interview
    outbox = Outbox(flaky, spool)

    assert outbox.save_answer(interview_id, "q1_operator", Answer("china_mobile")) is True

    assert flaky.answers_for(interview_id)["q1_operator"].answer == Answer("china_mobile")
    assert not spool.exists()
    assert outbox.pending == 0
    assert outbox.last_error is None


def test_while_the_store_is_down_the_answer_waits_in_a_private_synced_spool(
    flaky: FlakyStore, spool: Path, interview: tuple[int, int]
) -> None:
    _, interview_id = interview
    outbox = Outbox(flaky, spool)
    flaky.down = True

    saved = outbox.save_answer(interview_id, "q3_leave_reason", Answer("移动送的宽带，电信太贵了"))

    assert saved is False
    assert outbox.pending == 1
    assert "connection refused" in (outbox.last_error or "")
    assert spool.exists()
    assert spool.stat().st_mode & 0o777 == 0o600
    assert spool.parent.stat().st_mode & 0o777 == 0o700  # the folder lists no one else's answers
    text = spool.read_text("utf-8")
    assert "移动送的宽带，电信太贵了" in text  # readable Chinese, not \u escapes
    [record] = spool_records(spool)
    assert record["operation"] == "save_answer"
    assert record["arguments"]["question_id"] == "q3_leave_reason"
    flaky.down = False
    assert "q3_leave_reason" not in flaky.answers_for(interview_id)


def test_a_later_write_waits_behind_earlier_ones_and_flush_applies_them_in_order(
    flaky: FlakyStore, spool: Path, interview: tuple[int, int]
) -> None:
    _, interview_id = interview
    outbox = Outbox(flaky, spool)
    flaky.down = True
    assert outbox.save_answer(interview_id, "q1_operator", Answer("china_mobile")) is False
    assert outbox.save_answer(interview_id, "q1_operator", Answer("china_unicom")) is False
    assert outbox.save_answer(interview_id, "q3_leave_reason", Answer("网速慢")) is False
    assert outbox.pending == 3
    assert [r["arguments"]["answer"]["$answer"]["value"] for r in spool_records(spool)] == [
        "china_mobile",
        "china_unicom",
        "网速慢",
    ]

    flaky.down = False
    assert outbox.flush() == 0

    stored = flaky.answers_for(interview_id)
    # Applied in order: the second q1 answer is the one kept, as a change of the first.
    assert stored["q1_operator"].answer == Answer("china_unicom")
    assert stored["q1_operator"].change_count == 1
    assert stored["q3_leave_reason"].answer == Answer("网速慢")
    assert not spool.exists()
    assert outbox.pending == 0
    assert outbox.last_error is None


def test_a_new_write_after_recovery_goes_behind_the_spooled_ones(
    flaky: FlakyStore, spool: Path, interview: tuple[int, int]
) -> None:
    _, interview_id = interview
    outbox = Outbox(flaky, spool)
    flaky.down = True
    outbox.save_answer(interview_id, "q1_operator", Answer("china_mobile"))
    flaky.down = False

    # The store is back: the waiting write goes first, so the new answer wins as the later one.
    assert outbox.save_answer(interview_id, "q1_operator", Answer("china_broadnet")) is True

    stored = flaky.answers_for(interview_id)["q1_operator"]
    assert stored.answer == Answer("china_broadnet")
    assert stored.change_count == 1
    assert not spool.exists()


def test_a_write_during_an_outage_is_spooled_even_behind_a_half_flushed_queue(
    flaky: FlakyStore, spool: Path, interview: tuple[int, int]
) -> None:
    _, interview_id = interview
    outbox = Outbox(flaky, spool)
    flaky.down = True
    outbox.save_answer(interview_id, "q1_operator", Answer("china_mobile"))
    outbox.save_answer(interview_id, "q3_leave_reason", Answer("搬家了"))

    assert outbox.flush() == 2  # still down: nothing lost, nothing applied
    assert len(spool_records(spool)) == 2

    flaky.down = False
    assert outbox.flush() == 0
    assert set(flaky.answers_for(interview_id)) == {"q1_operator", "q3_leave_reason"}


def test_a_restarted_app_replays_the_spool_into_the_store(
    flaky: FlakyStore, spool: Path, interview: tuple[int, int]
) -> None:
    case_id, interview_id = interview
    shown = datetime(2026, 11, 22, 20, 15, 3, tzinfo=CST)
    answered = shown + timedelta(seconds=7)
    started = datetime(2026, 11, 22, 20, 14, tzinfo=CST)
    ended = datetime(2026, 11, 22, 20, 30, tzinfo=CST)
    outbox = Outbox(flaky, spool)
    flaky.down = True
    outbox.save_answer(
        interview_id,
        "q1_operator",
        Answer("other_isp", other_text="长城宽带"),
        shown_at=shown,
        answered_at=answered,
    )
    outbox.save_answer(interview_id, "q3_leave_reason", Answer(special=SpecialAnswer.REFUSED))
    outbox.save_answer(interview_id, "q5_factors", Answer(["price", "bundle"]))
    outbox.finish_interview(interview_id, "complete", ended_at=ended)
    outbox.record_attempt(case_id, "a1", "complete", aapor_code="1.1", started_at=started, final=True)
    assert outbox.pending == 5
    del outbox  # the app is killed; only the spool file is left

    flaky.down = False
    restarted = Outbox(flaky, spool)
    assert restarted.pending == 5
    assert restarted.flush() == 0

    stored = flaky.answers_for(interview_id)
    q1 = stored["q1_operator"]
    assert q1.answer == Answer("other_isp", other_text="长城宽带")
    assert q1.shown_at == shown
    assert q1.answered_at == answered
    assert q1.duration_ms == 7000
    assert stored["q3_leave_reason"].answer == Answer(special=SpecialAnswer.REFUSED)
    assert stored["q5_factors"].answer.value == ["price", "bundle"]
    finished = flaky.get_interview(interview_id)
    assert finished is not None
    assert finished.status == "complete"
    assert finished.ended_at == ended
    [attempt] = flaky.attempts_for(case_id)
    assert (attempt.outcome, attempt.aapor_code, attempt.started_at) == ("complete", "1.1", started)
    assert flaky.get_case(case_id).status == "done"
    assert not spool.exists()


def test_the_spool_decodes_datetimes_and_special_answers_with_their_types(
    flaky: FlakyStore, spool: Path, interview: tuple[int, int]
) -> None:
    _, interview_id = interview
    shown = datetime(2026, 11, 22, 20, 15, 3, 250000, tzinfo=CST)
    outbox = Outbox(flaky, spool)
    flaky.down = True
    outbox.save_answer(interview_id, "q4_retention_call", Answer(special=SpecialAnswer.REFUSED), shown_at=shown)

    [pending] = Outbox(flaky, spool).queue
    assert isinstance(pending, SaveAnswer)
    assert pending == SaveAnswer(interview_id, "q4_retention_call", Answer(special=SpecialAnswer.REFUSED), shown)
    assert pending.answer.special is SpecialAnswer.REFUSED
    assert pending.shown_at is not None and pending.shown_at.utcoffset() == timedelta(hours=8)


def test_a_line_cut_short_by_a_kill_is_ignored_and_the_rest_replayed(
    flaky: FlakyStore, spool: Path, interview: tuple[int, int]
) -> None:
    _, interview_id = interview
    outbox = Outbox(flaky, spool)
    flaky.down = True
    outbox.save_answer(interview_id, "q1_operator", Answer("china_mobile"))
    outbox.save_answer(interview_id, "q2_competitor_reason", Answer("移动送的宽带"))
    whole = spool.read_bytes()
    # The app is killed while it writes a third line: the last one ends half-way, without newline.
    spool.write_bytes(whole + b'{"operation": "save_answer", "arguments": {"interview_id": ')

    flaky.down = False
    restarted = Outbox(flaky, spool)
    assert restarted.pending == 2
    assert restarted.flush() == 0

    stored = flaky.answers_for(interview_id)
    assert set(stored) == {"q1_operator", "q2_competitor_reason"}
    assert stored["q2_competitor_reason"].answer == Answer("移动送的宽带")
    assert not spool.exists()


def test_a_write_spooled_after_a_cut_line_survives_another_restart(
    flaky: FlakyStore, spool: Path, interview: tuple[int, int]
) -> None:
    _, interview_id = interview
    outbox = Outbox(flaky, spool)
    flaky.down = True
    outbox.save_answer(interview_id, "q1_operator", Answer("china_mobile"))
    spool.write_bytes(spool.read_bytes() + b'{"operation": "save_ans')  # killed mid-write

    # Restarted while the database is still down; the agent goes on answering.
    restarted = Outbox(flaky, spool)
    assert restarted.save_answer(interview_id, "q3_leave_reason", Answer("太贵了")) is False

    # Killed again, restarted once the database is back: both answers must arrive.
    flaky.down = False
    again = Outbox(flaky, spool)
    assert again.flush() == 0
    assert set(flaky.answers_for(interview_id)) == {"q1_operator", "q3_leave_reason"}


def test_a_line_cut_inside_a_chinese_character_does_not_stop_the_replay(
    flaky: FlakyStore, spool: Path, interview: tuple[int, int]
) -> None:
    _, interview_id = interview
    outbox = Outbox(flaky, spool)
    flaky.down = True
    outbox.save_answer(interview_id, "q1_operator", Answer("china_mobile"))
    whole = spool.read_bytes()
    partial = '{"operation": "save_answer", "arguments": {"answer": "网速'.encode()
    spool.write_bytes(whole + partial[:-1])  # the last character's UTF-8 bytes are incomplete

    flaky.down = False
    restarted = Outbox(flaky, spool)
    assert restarted.flush() == 0
    assert set(flaky.answers_for(interview_id)) == {"q1_operator"}


def test_only_operations_are_submitted_and_nothing_else_is_spooled(
    flaky: FlakyStore, spool: Path, interview: tuple[int, int]
) -> None:
    outbox = Outbox(flaky, spool)
    with pytest.raises(TypeError, match="not an outbox operation"):
        outbox.submit(("delete_case", {"case_id": 1}))  # type: ignore[arg-type]
    flaky.down = True
    with pytest.raises(TypeError, match="not an outbox operation"):
        outbox.submit("import_cases")  # type: ignore[arg-type]
    assert outbox.pending == 0
    assert not spool.exists()


def test_spooled_lines_of_an_older_version_replay_and_unknown_ones_are_kept_aside(
    flaky: FlakyStore, spool: Path, interview: tuple[int, int]
) -> None:
    case_id, interview_id = interview
    spool.parent.mkdir(parents=True)
    # Lines as the version before typed operations wrote them (only the fields it was given),
    # then one from a newer version with an operation and one with a field this one lacks.
    lines = [
        {
            "operation": "save_answer",
            "arguments": {
                "interview_id": interview_id,
                "question_id": "q3_leave_reason",
                "answer": {"$answer": {"value": "太贵了", "special": None, "other_text": None}},
                "shown_at": {"$datetime": "2026-11-22T20:15:03+08:00"},
            },
        },
        {"operation": "merge_cases", "arguments": {"case_id": case_id}},
        {"operation": "finish_interview", "arguments": {"interview_id": interview_id, "status": "complete", "mood": 1}},
        {
            "operation": "record_attempt",
            "arguments": {
                "case_id": case_id,
                "agent": "a1",
                "outcome": "no_answer",
                "aapor_code": "3.13",
                "started_at": {"$datetime": "2026-11-22T20:15:03+08:00"},
                "request_id": "r-1",
            },
        },
    ]
    spool.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines), "utf-8")
    outbox = Outbox(flaky, spool)
    assert [type(write).__name__ for write in outbox.queue] == ["SaveAnswer", "RecordAttempt"]
    assert outbox.flush() == 0
    assert flaky.answers_for(interview_id)["q3_leave_reason"].answer == Answer("太贵了")
    assert [(a.outcome, a.request_id) for a in flaky.attempts_for(case_id)] == [("no_answer", "r-1")]
    kept = [json.loads(line) for line in outbox.rejected_file.read_text("utf-8").splitlines()]
    assert [(k["operation"], k["error"]) for k in kept] == [
        ("merge_cases", "unknown outbox operation 'merge_cases'"),
        ("finish_interview", "finish_interview has no field mood"),
    ]


def test_flush_with_nothing_waiting_changes_nothing(flaky: FlakyStore, spool: Path) -> None:
    outbox = Outbox(flaky, spool)
    flaky.down = True
    assert outbox.flush() == 0
    assert not spool.exists()


def test_datetimes_from_utc_and_local_clocks_are_the_same_moment_after_replay(
    flaky: FlakyStore, spool: Path, interview: tuple[int, int]
) -> None:
    _, interview_id = interview
    answered = datetime(2026, 11, 22, 12, 15, tzinfo=UTC)
    outbox = Outbox(flaky, spool)
    flaky.down = True
    outbox.save_answer(interview_id, "q6_package_pref", Answer("fusion"), answered_at=answered.astimezone(CST))
    flaky.down = False
    assert Outbox(flaky, spool).flush() == 0
    assert flaky.answers_for(interview_id)["q6_package_pref"].answered_at == answered


def test_writes_applied_before_a_refused_one_are_not_applied_twice(
    flaky: FlakyStore, spool: Path, interview: tuple[int, int]
) -> None:
    case_id, _ = interview
    start = datetime(2026, 11, 22, 20, 15, tzinfo=CST)
    outbox = Outbox(flaky, spool)
    flaky.down = True
    outbox.record_attempt(case_id, "a1", "no_answer", aapor_code="3.13", started_at=start)
    # A write the store refuses when it is back (a final outcome with a callback).
    outbox.record_attempt(
        case_id, "a1", "callback", started_at=start, callback_at=start + timedelta(hours=1), final=True
    )
    flaky.down = False

    for _ in range(2):
        with contextlib.suppress(StoreError):
            outbox.flush()

    assert [a.outcome for a in flaky.attempts_for(case_id)] == ["no_answer"]
    assert flaky.get_case(case_id).attempts == 1
    # The refused write is kept aside, with the reason, and no longer blocks later writes.
    assert outbox.pending == 0
    [refused] = outbox.rejected_file.read_text("utf-8").splitlines()
    assert '"callback"' in refused and "final outcome cannot also set a callback" in refused


def test_two_threads_flushing_at_once_apply_each_write_once(
    flaky: FlakyStore, spool: Path, interview: tuple[int, int]
) -> None:
    case_id, _ = interview
    start = datetime(2026, 11, 22, 20, 15, tzinfo=CST)
    outbox = Outbox(flaky, spool)
    flaky.down = True
    outbox.record_attempt(case_id, "a1", "no_answer", started_at=start)
    flaky.down = False

    entered, release = threading.Event(), threading.Event()
    calls = 0
    real_record_attempt = flaky.record_attempt

    def slow_first_call(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 1:  # the first flush is caught inside the database call
            entered.set()
            release.wait(5)
        return real_record_attempt(*args, **kwargs)

    flaky.record_attempt = slow_first_call  # type: ignore[method-assign]
    worker = threading.Thread(target=outbox.flush)
    worker.start()
    assert entered.wait(5)
    timer = threading.Timer(0.3, release.set)
    timer.start()
    outbox.flush()  # e.g. an answer saved while the periodic flush is still running
    worker.join(10)
    timer.join()

    assert len(flaky.attempts_for(case_id)) == 1
    assert outbox.pending == 0


class LostReplyStore(FlakyStore):
    """The commit reaches the database, then the connection dies before the reply arrives."""

    lose_next_reply = False

    def record_attempt(self, *args: Any, **kwargs: Any) -> Any:
        stored = super().record_attempt(*args, **kwargs)
        if self.lose_next_reply:
            self.lose_next_reply = False
            raise StoreUnavailable(f"cannot use the database {self.location}: server closed the connection")
        return stored


@pytest.mark.parametrize("restart", [False, True], ids=["retried", "replayed-after-restart"])
def test_a_call_attempt_whose_reply_was_lost_is_stored_once(sqlite_url: str, spool: Path, restart: bool) -> None:
    store = LostReplyStore.open(sqlite_url)
    try:
        store.import_cases(rows(1))
        case = store.claim_next_case("a1")
        assert case is not None
        outbox = Outbox(store, spool)
        store.lose_next_reply = True
        started = datetime.now(UTC)
        assert not outbox.record_attempt(case.id, "a1", "no_answer", aapor_code="3.13", started_at=started)
        assert outbox.pending == 1  # the agent was told it waits locally
        if restart:
            outbox = Outbox(store, spool)
        assert outbox.flush() == 0
        attempts = store.attempts_for(case.id)
        assert [a.outcome for a in attempts] == ["no_answer"]
        assert store.get_case(case.id).attempts == 1
    finally:
        store.close()
