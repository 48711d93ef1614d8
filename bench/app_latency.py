"""Benchmark 2, the agents' app: time from `churn-survey tui` to the first screen, and from a key
press to the answer committed and the next question drawn, on SQLite and on PostgreSQL.

Usage: python bench/app_latency.py [--questions 1000] [--starts 5] [--pg URL | --no-pg]

First screen: `churn-survey tui` runs in a pseudo-terminal of 80x24, as an agent starts it; the
time is from starting the process to the queue screen's counts ("名单：待拨 …", read from the
store) appearing on the terminal. Baseline in the same run: a bare Textual app that shows one
line, started the same way (the floor that Python and Textual set).

Key to next question: the app is driven by Pilot through whole interviews (queue, call, the six
questions, closing) until --questions answers are given: digits for choices, typed text and
enter for long answers, toggles and enter for the factors. For each key that gives an answer,
the time is from the key event being sent to the answer committed to the store (the save
returns after the commit) and the next question's text set and the screen's pending messages
handled. Baseline in the same run: the store's save_answer alone, the commit every answer waits
for. Afterwards every answer given is checked to be in the store.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import pty
import re
import select
import signal
import struct
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import benchlib

MARKER = "名单：待拨"
_ESCAPES = re.compile(r"\x1b(\[[0-9;?<=>]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[()][0-9A-Za-z]|[=>78DEHMNOZc])")
BARE_APP = (
    "from textual.app import App\n"
    "from textual.widgets import Static\n"
    "class Bare(App):\n"
    "    def compose(self):\n"
    f"        yield Static('{MARKER} 0')\n"
    "    def on_key(self, event):\n"
    "        self.exit()\n"
    "Bare().run()\n"
)
TEXTS = ("太贵了", "搬家了", "网速慢", "移动送的")


def seconds_to_marker(argv: list[str], env: dict[str, str], timeout: float = 60.0) -> float:
    """Start `argv` in a pseudo-terminal of 80x24 and time it until MARKER is on the screen."""
    started = time.perf_counter()
    pid, fd = pty.fork()
    if pid == 0:  # the child: size its terminal, then become the program
        import fcntl
        import termios

        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
        os.execve(argv[0], argv, env)
    seen, elapsed = "", None
    decoder = __import__("codecs").getincrementaldecoder("utf-8")(errors="replace")
    try:
        while time.perf_counter() - started < timeout:
            ready, _, _ = select.select([fd], [], [], 0.05)
            if not ready:
                continue
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            seen += decoder.decode(chunk)
            if MARKER in _ESCAPES.sub("", seen):
                elapsed = time.perf_counter() - started
                break
        if elapsed is None:
            raise SystemExit(f"{' '.join(argv)} did not show its first screen in {timeout:.0f} s:\n{seen[-2000:]}")
        os.write(fd, b"q")
        deadline = time.perf_counter() + 10
        while time.perf_counter() < deadline:
            with contextlib.suppress(OSError):
                if select.select([fd], [], [], 0.05)[0]:
                    os.read(fd, 65536)
            done, _status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
        else:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
    finally:
        os.close(fd)
    return elapsed


def first_screen(url: str, spool: Path, starts: int) -> tuple[list[float], list[float]]:
    env = {**os.environ, "TERM": "xterm-256color", "PYTHONUTF8": "1", "COLUMNS": "80", "LINES": "24"}
    app = [sys.executable, "-m", "survey_tui", "tui", "--agent", "A01", "--db", url, "--spool-dir", str(spool)]
    bare = [sys.executable, "-c", BARE_APP]
    product, baseline = [], []
    for _ in range(starts):  # interleaved, so that both see the same machine
        baseline.append(seconds_to_marker(bare, env))
        product.append(seconds_to_marker(app, env))
    return product, baseline


async def drive(app: Any, questions: int) -> tuple[list[float], int]:
    """Answer `questions` questions as an agent does; the latency of every answering key."""
    from textual import events

    from survey_tui.model.questionnaire import QuestionType
    from survey_tui.screens import CallScreen, InterviewScreen, QueueScreen

    latencies: list[float] = []
    interviews = 0
    async with app.run_test(size=(80, 24)) as pilot:

        async def until(condition: Callable[[], bool], timeout: float = 30.0) -> None:
            deadline = time.perf_counter() + timeout
            while not condition():
                if time.perf_counter() > deadline:
                    raise SystemExit(f"the app did not get there in {timeout:.0f} s (screen {app.screen!r})")
                await asyncio.sleep(0.0002)

        async def answering_key(key: str, screen: Any) -> None:
            """Send one key as Pilot does, and time it to the next question on the screen."""
            before = screen.current
            started = time.perf_counter()
            event = events.Key(key, key if len(key) == 1 else None)
            event.set_sender(app)
            app._driver.send_message(event)

            def next_shown() -> bool:
                if not isinstance(app.screen, InterviewScreen):
                    return True  # the last question: the interview is finished and saved
                current = screen.current
                if current is before or screen.busy:
                    return False
                shown = str(screen.query_one("#question").content)
                return current is None or shown == screen.session.text(current)

            await until(next_shown)
            await pilot._wait_for_screen()
            latencies.append(time.perf_counter() - started)

        while len(latencies) < questions:
            await until(lambda: isinstance(app.screen, QueueScreen))
            await pilot.press("enter")
            await until(lambda: isinstance(app.screen, CallScreen))
            await pilot.press("1")
            await until(lambda: isinstance(app.screen, InterviewScreen) and app.screen.current is not None)
            screen = app.screen
            interviews += 1
            while isinstance(app.screen, InterviewScreen) and screen.current is not None:
                question = screen.current
                if not question.takes_answer:
                    await pilot.press("enter")
                    await until(lambda q=question, s=screen: s.current is not q or app.screen is not s)
                elif question.is_choice and question.type is not QuestionType.MULTIPLE_CHOICE:
                    await answering_key("2", screen)
                elif question.type is QuestionType.MULTIPLE_CHOICE:
                    await pilot.press("1", "2")
                    await answering_key("enter", screen)
                else:
                    await pilot.press(*TEXTS[len(latencies) % len(TEXTS)])
                    await answering_key("enter", screen)
                if len(latencies) >= questions:
                    break
        await pilot.pause()
    return latencies, interviews


def commit_baseline(store: Any, questionnaire_id: int, count: int) -> list[float]:
    """The store's save_answer alone: the commit each answer waits for."""
    from survey_tui.model.questionnaire import Answer

    timings = []
    interview = None
    for n in range(count):
        if n % 6 == 0:
            interview = store.start_interview(questionnaire_id, "baseline")
        started = time.perf_counter()
        store.save_answer(interview, f"q{n % 6}", Answer(TEXTS[n % len(TEXTS)]), answered_at=datetime.now(UTC))
        timings.append(time.perf_counter() - started)
    return timings


def keys_benchmark(url: str, spool: Path, questions: int) -> dict[str, Any]:
    import sqlalchemy as sa

    from survey_tui.app import make_app
    from survey_tui.store import Store, schema

    questionnaire = benchlib.disconnect_questionnaire()
    from survey_tui.model import load_questionnaire
    from survey_tui.resources import find_questionnaire

    staff = load_questionnaire(find_questionnaire("staff_interview"))
    with Store.open(url) as store:
        app = make_app(store, agent="A01", questionnaire=questionnaire, staff_questionnaire=staff, spool_dir=spool)
        latencies, interviews = asyncio.run(drive(app, questions))
        with store.engine.connect() as conn:
            stored = conn.execute(
                sa.select(sa.func.count())
                .select_from(schema.answers.join(schema.interviews))
                .where(schema.interviews.c.agent == "A01", schema.answers.c.draft.is_(False))
            ).scalar()
        baseline = commit_baseline(store, store.register_questionnaire(questionnaire), questions)
    if stored != len(latencies):
        raise SystemExit(f"{len(latencies)} answers were given but {stored} are in the store")
    return {"latencies": latencies, "interviews": interviews, "stored": stored, "baseline": baseline}


def milliseconds(values: list[float]) -> str:
    return f"median {benchlib.median(values) * 1000:.1f} ms, p99 {benchlib.percentile(values, 0.99) * 1000:.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=1000)
    parser.add_argument("--starts", type=int, default=5, help="starts of the app (and of the bare app)")
    parser.add_argument("--cases", type=int, default=5000, help="customers on the call list")
    parser.add_argument("--pg", default=benchlib.DEFAULT_PG)
    parser.add_argument("--no-pg", action="store_true")
    args = parser.parse_args()

    rows = []
    with tempfile.TemporaryDirectory(prefix="churn-bench-") as folder:
        work = Path(folder)
        backends: list[tuple[str, Any]] = [("SQLite", contextlib.nullcontext(str(work / "survey.db")))]
        problem = None if args.no_pg else benchlib.pg_available(args.pg)
        if problem:
            print(f"PostgreSQL at {args.pg} skipped: {problem}")
        elif not args.no_pg:
            backends.append(("PostgreSQL", benchlib.throwaway_pg(args.pg)))
        for name, context in backends:
            with context as url:
                benchlib.load_call_list(url, max(args.cases, args.questions // 6 + 10))
                starts, bare = first_screen(url, work / f"spool-{name}", args.starts)
                print(
                    f"{name}: first screen {benchlib.median(starts):.2f} s median of {len(starts)} "
                    f"({', '.join(f'{s:.2f}' for s in starts)}); bare Textual app {benchlib.median(bare):.2f} s; "
                    f"{benchlib.ratio(benchlib.median(starts), benchlib.median(bare))} the bare app's time"
                )
                keys = keys_benchmark(url, work / f"spool-keys-{name}", args.questions)
                print(
                    f"{name}: key to next question over {len(keys['latencies'])} answers "
                    f"({keys['interviews']} interviews): {milliseconds(keys['latencies'])}; "
                    f"save_answer alone: {milliseconds(keys['baseline'])}; all {keys['stored']} answers in the store"
                )
                rows.append((name, starts, bare, keys))
    print()
    print(
        f"{'store':<11} {'first screen s':>15} {'bare app s':>11} {'key median ms':>14} {'key p99 ms':>11} "
        f"{'commit median ms':>17} {'commit p99 ms':>14}"
    )
    for name, starts, bare, keys in rows:
        key, commit = keys["latencies"], keys["baseline"]
        print(
            f"{name:<11} {benchlib.median(starts):15.2f} {benchlib.median(bare):11.2f} "
            f"{benchlib.median(key) * 1000:14.1f} {benchlib.percentile(key, 0.99) * 1000:11.1f} "
            f"{benchlib.median(commit) * 1000:17.1f} {benchlib.percentile(commit, 0.99) * 1000:14.1f}"
        )
    print("targets: first screen under 1 s; 99th percentile key to next question under 50 ms")


if __name__ == "__main__":
    main()
