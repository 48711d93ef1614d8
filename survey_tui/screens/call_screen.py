"""One customer on the phone: who to dial, earlier attempts, the intro script, and the outcome by digit."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, cast

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Input, Static

from survey_tui.calling import Call, Case, InterviewEnded, StoreError
from survey_tui.dialogs import CallbackDialog
from survey_tui.model import flow
from survey_tui.model.dispositions import OUTCOMES, Outcome, outcome, outcome_for_key, outcome_label
from survey_tui.widgets import StatusLine

if TYPE_CHECKING:
    from survey_tui.app import SurveyApp


class CallScreen(Screen[None]):
    """Dial, then press the digit of what happened."""

    CSS_PATH = "call_screen.tcss"
    # Digits are answers here: nothing may take them before the screen does.
    AUTO_FOCUS = ""
    BINDINGS = [
        Binding("n", "note", "备注"),
        Binding("escape", "leave", "放回名单", priority=True),
    ]

    def __init__(self, call: Call) -> None:
        super().__init__()
        self.call = call

    @property
    def case(self) -> Case:
        return self.call.case

    @property
    def survey(self) -> SurveyApp:
        return cast("SurveyApp", self.app)

    def compose(self) -> ComposeResult:
        yield Static(f"客户 #{self.case.id} · 第 {self.call.number} 次拨打", classes="heading")
        with Horizontal(id="body"):
            with Vertical(id="customer"):
                yield Static(self._details(), id="details")
                yield Static("", id="attempts")
                yield Static("", id="intro")
            yield Static(self._outcomes(), id="outcomes")
        yield Input(placeholder="备注（按 n 输入，回车结束）", id="note")
        yield Static("", id="message")
        yield StatusLine()
        yield Footer()

    def on_mount(self) -> None:
        questionnaire = self.survey.questionnaire
        intro = next((q for q in questionnaire.questions if not q.takes_answer), None)
        if intro is not None:
            self.query_one("#intro", Static).update(
                Text.assemble(("开场白：", "bold"), flow.render(intro.text, questionnaire, {}))
            )
        try:
            attempts = self.call.earlier_attempts()
        except StoreError:
            attempts = []
        lines = Text("以前的通话：\n" if attempts else "以前的通话：无\n", style="bold")
        for attempt in attempts:
            started = attempt.started_at.astimezone()
            note = f" · {attempt.note}" if attempt.note else ""
            lines.append(
                f"  {started:%m-%d %H:%M} {outcome_label(attempt.outcome)}（{attempt.agent}）{note}\n", style=""
            )
        self.query_one("#attempts", Static).update(lines)

    def _details(self) -> Text:
        case = self.case
        text = Text()
        # The full number is shown here only: this is the customer being called.
        text.append("电话  ", style="bold")
        text.append(f"{case.phone}\n", style="bold reverse")
        rows = [
            ("账号", case.account),
            ("姓名", case.name),
            ("支局", case.branch),
            ("拆机日期", case.disconnect_date.isoformat() if case.disconnect_date else None),
            ("套餐", case.package),
        ]
        rows += [(str(key), str(value)) for key, value in case.extra.items()]
        for label, value in rows:
            text.append(f"{label}  ", style="bold")
            text.append(f"{value or '—'}\n")
        return text

    def _outcomes(self) -> Text:
        text = Text("呼叫结果（按数字）：\n", style="bold")
        for item in OUTCOMES:
            text.append(f" {item.key} ", style="bold reverse" if item.starts_interview else "bold")
            text.append(f" {item.label}\n")
        return text

    async def on_key(self, event: events.Key) -> None:
        if self.query_one("#note", Input).has_focus:
            return
        chosen = outcome_for_key(event.key)
        if chosen is None:
            return
        event.stop()
        await self.choose(chosen)

    def action_note(self) -> None:
        self.query_one("#note", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.set_focus(None)

    async def choose(self, chosen: Outcome) -> None:
        if chosen.starts_interview:
            await self.start_interview()
        elif chosen.callback:
            self.app.push_screen(CallbackDialog(), self._callback_booked)
        else:
            await self.record(chosen)

    async def start_interview(self) -> None:
        from survey_tui.screens.interview_screen import InterviewScreen

        try:
            begun = await self.survey.in_thread(self.call.begin_interview)
        except StoreError as error:
            self.query_one("#message", Static).update(f"无法开始访问：{error}")
            return
        interview = InterviewScreen(self.survey.questionnaire, begun.interview_id)
        self.app.push_screen(interview, self._interview_ended)

    async def _interview_ended(self, ended: InterviewEnded | None) -> None:
        """Record the call's outcome from how the interview ended."""
        if ended is not None:
            await self.record(self.call.outcome_of(ended), note=ended.reason)

    async def _callback_booked(self, when: datetime | None) -> None:
        if when is not None:
            await self.record(outcome("callback"), callback_at=when)

    async def record(self, chosen: Outcome, *, note: str | None = None, callback_at: datetime | None = None) -> None:
        typed = self.query_one("#note", Input).value.strip()
        note = "；".join(part for part in (typed, note) if part) or None
        await self.survey.in_thread(self.call.record, chosen, note=note, callback_at=callback_at)
        self.app.notify(f"客户 #{self.case.id}：{chosen.label}")
        self.dismiss()

    async def action_leave(self) -> None:
        """Put the case back untouched (not dialled)."""
        try:
            await self.survey.in_thread(self.call.put_back)
        except StoreError as error:
            self.query_one("#message", Static).update(f"无法放回名单：{error}")
            return
        self.dismiss()
