"""The real app in a pseudo-terminal, killed with SIGKILL mid-interview: nothing answered is lost."""

from __future__ import annotations

import fcntl
import os
import pty
import signal
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from survey_tui.store import Store
from tests.test_store import rows

SCRIPT = Path(sys.executable).with_name("churn-survey")


class Terminal:
    """churn-survey tui running in a pty of 100x30, fed keys like a keyboard would."""

    def __init__(self, db: str, spool: Path, agent: str = "A01") -> None:
        self.master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
        env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "100", "LINES": "30"}
        self.process = subprocess.Popen(
            [str(SCRIPT), "tui", "--db", db, "--agent", agent, "--spool-dir", str(spool)],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env,
            start_new_session=True,
        )
        os.close(slave)
        os.set_blocking(self.master, False)

    def drain(self) -> None:
        try:
            while os.read(self.master, 65536):
                pass
        except (BlockingIOError, OSError):
            pass

    def type(self, text: str) -> None:
        self.drain()
        os.write(self.master, text.encode("utf-8"))
        time.sleep(0.3)

    def key(self, text: str) -> None:
        """One keystroke, no pause after it: typing at speed."""
        self.drain()
        os.write(self.master, text.encode("utf-8"))

    def kill(self) -> None:
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        os.close(self.master)


def wait_for(condition: Callable[[], bool], terminal: Terminal, timeout: float = 20.0) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        terminal.drain()
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError("the app did not get there in time")


@pytest.mark.skipif(not SCRIPT.exists(), reason="the churn-survey console script is not installed")
def test_kill_9_mid_interview_loses_no_answer_and_resumes(tmp_path: Path) -> None:
    db = str(tmp_path / "survey.db")
    with Store.open(db) as store:
        store.import_cases(rows(1))

    def answers() -> dict:
        with Store.open(db) as store:
            interviews = store.list_interviews()
            return store.answers_for(interviews[0].id) if interviews else {}

    terminal = Terminal(db, tmp_path / "spool")
    try:
        wait_for(lambda: Path(db).exists(), terminal)
        time.sleep(1.5)  # the queue screen is up
        terminal.type("\r")  # next customer
        time.sleep(0.5)
        terminal.type("1")  # connected
        time.sleep(0.5)
        terminal.type("\r")  # past the intro
        terminal.type("3")  # q1 China Unicom
        wait_for(lambda: "q1_operator" in answers(), terminal)
        terminal.type("联通装得快\r")
        wait_for(lambda: "q2_competitor_reason" in answers(), terminal)
        terminal.type("网速慢")
        wait_for(lambda: "q3_leave_reason" in answers(), terminal)  # saved while typing
    finally:
        terminal.kill()

    saved = answers()
    assert saved["q1_operator"].answer.value == "china_unicom"
    assert saved["q2_competitor_reason"].answer.value == "联通装得快"
    assert saved["q3_leave_reason"].draft and saved["q3_leave_reason"].answer.value == "网速慢"

    terminal = Terminal(db, tmp_path / "spool")
    try:
        time.sleep(2.0)
        terminal.type("\r")  # the case this agent held comes back first
        time.sleep(0.5)
        terminal.type("1")  # resumes at q3 with what was typed
        time.sleep(0.8)
        terminal.type("，太贵\r")
        wait_for(lambda: not answers()["q3_leave_reason"].draft, terminal)
    finally:
        terminal.kill()
    with Store.open(db) as store:
        [interview] = store.list_interviews()
        assert interview.status == "in_progress"
        assert store.answers_for(interview.id)["q3_leave_reason"].answer.value == "网速慢，太贵"


# A researcher typing a staff member's long answer without a pause: a character every 0.1 s.
TYPING = "客户经理说，宽带到期前没有人打电话，移动上门送宽带送电视，我们的融合套餐比移动贵二十元，" * 2
KEY_SECONDS = 0.1
# The promise of the README: a crash loses at most the last two seconds of typing. The margin is
# for the terminal and the event loop, which take a moment to turn bytes into keys.
AT_MOST_LOST = 2.0 + 0.5


@pytest.mark.skipif(not SCRIPT.exists(), reason="the churn-survey console script is not installed")
def test_kill_9_while_typing_a_long_staff_answer_loses_at_most_two_seconds(tmp_path: Path) -> None:
    db = str(tmp_path / "survey.db")
    Store.open(db).close()

    def draft() -> str:
        with Store.open(db) as store:
            [interview] = store.list_interviews(agent="R01") or [None]
            if interview is None:
                return ""
            saved = store.answers_for(interview.id).get("q_churn_reasons")
            return str(saved.answer.value) if saved else ""

    def staff_answers() -> dict:
        with Store.open(db) as store:
            interviews = store.list_interviews(agent="R01")
            return store.answers_for(interviews[0].id) if interviews else {}

    terminal = Terminal(db, tmp_path / "spool", agent="R01")
    typed_at: list[tuple[float, int]] = []
    try:
        wait_for(lambda: Path(db).exists(), terminal)
        time.sleep(1.5)
        terminal.type("s")  # staff interview
        time.sleep(0.5)
        terminal.type("\r")  # past the intro
        terminal.type("ST0042\r")
        wait_for(lambda: "staff_id" in staff_answers(), terminal)
        terminal.type("1")
        terminal.type("1")
        terminal.type("大祥支局\r")
        terminal.type("12\r")
        wait_for(lambda: "years_of_service" in staff_answers(), terminal)
        time.sleep(0.5)
        for count, char in enumerate(TYPING, start=1):
            terminal.key(char)
            typed_at.append((time.monotonic(), count))
            time.sleep(KEY_SECONDS)
    finally:
        killed_at = time.monotonic()
        terminal.kill()

    saved = draft()
    assert TYPING.startswith(saved), "what was stored is not what was typed"
    safe = max((count for moment, count in typed_at if moment <= killed_at - AT_MOST_LOST), default=0)
    assert safe > 40, "the test typed too little to tell"
    assert len(saved) >= safe, f"lost {len(TYPING) - len(saved)} characters, more than two seconds of typing"

    terminal = Terminal(db, tmp_path / "spool", agent="R01")
    try:
        time.sleep(2.0)
        terminal.type("s")  # continues the unfinished staff interview, at the long answer
        time.sleep(1.0)
        terminal.type("就这些\r")
        wait_for(lambda: not staff_answers()["q_churn_reasons"].draft, terminal)
    finally:
        terminal.kill()
    assert staff_answers()["q_churn_reasons"].answer.value == saved + "就这些"
