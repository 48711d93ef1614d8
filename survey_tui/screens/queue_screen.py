"""The agent's day: today's figures, own cases with masked numbers, and `enter` for the next customer."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from survey_tui.calling import Case, InterviewEnded, StoreError
from survey_tui.model.dispositions import outcome_label
from survey_tui.widgets import StatusLine

if TYPE_CHECKING:
    from survey_tui.app import SurveyApp

STATUS_LABELS = {"pending": "待拨", "claimed": "通话中", "callback": "约回拨", "done": "已结束"}


class QueueScreen(Screen[None]):
    """Start of the day and between calls."""

    CSS_PATH = "queue_screen.tcss"
    BINDINGS = [
        Binding("enter", "next_case", "下一个客户", priority=True),
        Binding("s", "staff_interview", "员工访谈"),
        Binding("v", "supervisor", "主管视图"),
        Binding("r", "refresh", "刷新"),
        Binding("q", "quit", "退出"),
    ]

    @property
    def survey(self) -> SurveyApp:
        return cast("SurveyApp", self.app)

    def compose(self) -> ComposeResult:
        yield Static("", id="today", classes="heading")
        yield Static("", id="counts")
        yield DataTable(id="cases", cursor_type="row", zebra_stripes=True)
        yield Static("", id="message")
        yield StatusLine()
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#cases", DataTable)
        table.add_columns("编号", "电话", "姓名", "支局", "状态", "次数", "回拨时间", "上次结果")
        self.refresh_queue()
        # Callbacks become due while the agent waits: show them at their time.
        self.set_interval(30, self.refresh_queue)

    def on_screen_resume(self) -> None:
        self.survey.between_calls()
        self.refresh_queue()

    def refresh_queue(self) -> None:
        if self.app.screen is not self:
            return  # on a call: the queue is read again when the agent comes back to it
        try:
            self._fill()
        except StoreError as error:
            self.query_one("#message", Static).update(f"无法读取客户列表：{error}")

    def _fill(self) -> None:
        today = self.survey.desk.today()
        others = "  ".join(
            f"{outcome_label(code)} {n}" for code, n in sorted(today.calls_by_outcome.items()) if code != "complete"
        )
        self.query_one("#today", Static).update(
            f"坐席 {self.survey.agent} · 今日拨打 {today.calls} · 完成 {today.completes}  {others}"
        )
        counts = today.cases_by_status
        self.query_one("#counts", Static).update(
            f"名单：待拨 {counts['pending']} · 约回拨 {counts['callback']}（已到时间 {today.callbacks_due}）"
            f" · 通话中 {counts['claimed']} · 已结束 {counts['done']}"
        )
        table = self.query_one("#cases", DataTable)
        table.clear()
        now = datetime.now().astimezone()
        for case in today.own_cases:
            table.add_row(*self._row(case, now), key=str(case.id))
        if not today.own_cases:
            self.query_one("#message", Static).update("按回车领取下一个客户。")

    def _row(self, case: Case, now: datetime) -> list[Any]:
        shown = case.to_dict()
        callback = ""
        if case.callback_at:
            local = case.callback_at.astimezone()
            callback = f"{local:%m-%d %H:%M}" + (" 已到" if case.callback_at <= now else "")
        return [
            case.id,
            shown["phone"],
            case.name or "",
            case.branch or "",
            STATUS_LABELS.get(case.status, case.status),
            case.attempts,
            callback,
            outcome_label(case.last_outcome),
        ]

    async def action_next_case(self) -> None:
        """The case this agent already holds (after a crash) first, else the next one (calling.queue)."""
        from survey_tui.screens.call_screen import CallScreen

        desk = self.survey.desk
        message = self.query_one("#message", Static)
        try:
            case = await self.survey.in_thread(desk.next_case)
        except StoreError as error:
            message.update(f"无法领取客户：{error}")
            return
        if case is None:
            message.update("没有待拨打的客户了。约定回拨的客户会在约定时间出现在这里。")
            return
        message.update("")
        self.app.push_screen(CallScreen(desk.call(case)))

    async def action_staff_interview(self) -> None:
        from survey_tui.screens.interview_screen import InterviewScreen

        survey = self.survey
        try:
            begun = await survey.in_thread(survey.desk.staff_interview)
        except StoreError as error:
            self.query_one("#message", Static).update(f"无法开始员工访谈：{error}")
            return
        if begun.resumed:
            self.notify(f"继续未完成的员工访谈 #{begun.interview_id}")
        self.app.push_screen(InterviewScreen(survey.staff_questionnaire, begun.interview_id), self._staff_done)

    def _staff_done(self, ended: InterviewEnded | None) -> None:
        if ended is not None and ended.complete:
            self.notify("员工访谈已完成并保存")
        self.refresh_queue()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Agents do not see the supervisor view (every agent's figures): the key is not even offered.
        if action == "supervisor":
            return self.survey.settings.allows("supervisor_view")
        return True

    def action_supervisor(self) -> None:
        from survey_tui.screens.supervisor_screen import SupervisorScreen

        self.survey.settings.require("supervisor_view")
        self.app.push_screen(SupervisorScreen())

    def action_refresh(self) -> None:
        self.refresh_queue()
