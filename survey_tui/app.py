"""The agents' app: a Textual shell around an agent's desk (survey_tui.calling) on the injected store."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from textual import events
from textual.app import App

from survey_tui.calling.desk import Desk
from survey_tui.calling.outbox import Outbox, default_spool_dir
from survey_tui.model.questionnaire import Questionnaire
from survey_tui.quiet_gc import QuietCollections
from survey_tui.settings import Settings
from survey_tui.store import Store

T = TypeVar("T")

DEFAULT_MAX_ATTEMPTS = 5
ROLE_LABELS = {"agent": "坐席", "supervisor": "主管", "researcher": "研究员"}
# How often the app looks for a pause in typing to collect garbage in (see QuietCollections).
QUIET_CHECK_SECONDS = 2.0


class SurveyApp(App[None]):
    """Queue, call, interview and supervisor screens over one store."""

    CSS_PATH = "app.tcss"
    TITLE = "宽带拆机回访"
    ENABLE_COMMAND_PALETTE = False

    def __init__(
        self,
        store: Store,
        questionnaire: Questionnaire,
        staff_questionnaire: Questionnaire,
        agent: str,
        *,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        spool_dir: Path | None = None,
        flush_seconds: float = 3.0,
        review_as: str | None = None,
        role: str = "agent",
    ) -> None:
        super().__init__()
        self.settings = Settings(role, "the app's settings")
        if review_as is not None:
            self.settings.require("review")
        self.review_as = review_as
        self.store = store
        self.questionnaire = questionnaire
        self.staff_questionnaire = staff_questionnaire
        self.agent = agent
        self.max_attempts = max_attempts
        self.flush_seconds = flush_seconds
        spool_dir = spool_dir or default_spool_dir()
        self.outbox = Outbox(store, spool_dir / f"spool-{_safe(agent)}.jsonl")
        # What the screens do goes through the desk; the app keeps only the Textual side.
        self.desk = Desk(
            store,
            self.outbox,
            agent,
            questionnaire=questionnaire,
            staff_questionnaire=staff_questionnaire,
            max_attempts=max_attempts,
        )
        self.sub_title = f"{ROLE_LABELS[role]} {agent}"
        self.quiet_gc = QuietCollections()

    def on_mount(self) -> None:
        from survey_tui.screens import QueueScreen

        self.desk.open()
        self.set_interval(self.flush_seconds, self.flush_outbox)
        self.quiet_gc.start()
        self.set_interval(QUIET_CHECK_SECONDS, self.quiet_gc.collect_if_quiet)
        if self.review_as is not None:
            from survey_tui.screens import ReviewScreen

            self.push_screen(ReviewScreen(self.review_as), lambda _: self.exit())
            return
        self.push_screen(QueueScreen())

    def on_unmount(self) -> None:
        self.quiet_gc.stop()

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key):
            self.quiet_gc.key_pressed()
        await super().on_event(event)

    def between_calls(self) -> None:
        """Tidy up while the agent is between customers: nobody waits on the screen now."""
        prune_stale_watchers(self)
        self.quiet_gc.collect()

    async def in_thread(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a store call off the event loop, so the screen keeps drawing while it waits."""
        return await asyncio.to_thread(function, *args, **kwargs)

    async def flush_outbox(self) -> None:
        if self.outbox.pending:
            await self.in_thread(self.outbox.flush)

    def store_status(self) -> str:
        """One line on the state of saving, shown at the bottom of every screen."""
        if self.outbox.pending:
            return (
                f"⚠ 数据库暂不可用，{self.outbox.pending} 条记录已暂存本机，正在重试保存"
                f"（{self.outbox.last_error or ''}）"
            )
        return f"✓ 已保存 · {self.desk.location}"


def prune_stale_watchers(app: App[Any]) -> int:
    """Drop the watchers that removed widgets left on live ones; the number dropped.

    Textual drops such a watcher only when the value it watches next changes (issue #6666):
    until then the removed widget and all it refers to stay in memory. A TextArea watches the
    app's theme and a FooterKey its Footer's `compact`, so every interview left its answer
    editor and its screen behind, and full garbage collections grew slower all day. This
    drops them now, by the rule Textual applies at that change (the watching node is closing).
    """
    dropped = 0
    nodes = [app, *(node for screen in app.screen_stack for node in screen.walk_children(with_self=True))]
    for node in nodes:
        for entries in (getattr(node, "__watchers", None) or {}).values():
            live = [(reactable, callback) for reactable, callback in entries if not reactable._closing]
            dropped += len(entries) - len(live)
            entries[:] = live
    return dropped


def _safe(agent: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in agent) or "agent"


def make_app(
    store: Store,
    *,
    agent: str,
    questionnaire: Questionnaire,
    staff_questionnaire: Questionnaire,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    spool_dir: Path | None = None,
    review: bool = False,
    role: str = "agent",
) -> SurveyApp:
    """The one factory of the app, for the CLI and for the tests; `review` opens the review screen.

    `role` (from the settings) decides what is offered beyond the agent's own work: the supervisor
    view for supervisors and researchers, the review of codes for researchers.
    """
    return SurveyApp(
        store,
        questionnaire,
        staff_questionnaire,
        agent,
        max_attempts=max_attempts,
        spool_dir=spool_dir,
        review_as=agent if review else None,
        role=role,
    )
