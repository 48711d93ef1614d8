"""Books a callback: quick choices by digit, or a typed time."""

from __future__ import annotations

from datetime import datetime

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from survey_tui.calling.callbacks import QUICK_CHOICES, CallbackTimeError, local_now, parse_callback_time


class CallbackDialog(ModalScreen[datetime | None]):
    """Returns the appointment time, or None when the agent cancels."""

    CSS_PATH = "callback_dialog.tcss"
    # The quick choices are digits: the typed-time line gets focus only on 4.
    AUTO_FOCUS = ""
    BINDINGS = [Binding("escape", "cancel", "取消", priority=True)]

    def compose(self) -> ComposeResult:
        now = local_now()
        with Vertical(id="dialog"):
            yield Label("约定回拨时间：")
            for key, label, when in QUICK_CHOICES:
                yield Static(f" {key}  {label}（{when(now):%m-%d %H:%M}）", classes="quick")
            yield Static(" 4  输入时间", classes="quick")
            yield Input(placeholder="14:30 / 明天 10:00 / 11-25 09:30 / +30m", id="typed")
            yield Label("", id="problem")

    def on_mount(self) -> None:
        self.query_one("#typed", Input).display = False

    def on_key(self, event: events.Key) -> None:
        typed = self.query_one("#typed", Input)
        if typed.has_focus:
            return
        for key, _label, when in QUICK_CHOICES:
            if event.key == key:
                event.stop()
                self.dismiss(when(local_now()))
                return
        if event.key == "4":
            event.stop()
            typed.display = True
            typed.focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        try:
            self.dismiss(parse_callback_time(event.value, local_now()))
        except CallbackTimeError as error:
            self.query_one("#problem", Label).update(str(error))

    def action_cancel(self) -> None:
        self.dismiss(None)
