"""Asks why an interview is being broken off; the answers given so far are kept."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label


class BreakOffDialog(ModalScreen[str | None]):
    """Returns the reason typed, or None when the agent goes back to the interview."""

    CSS_PATH = "break_off_dialog.tcss"
    BINDINGS = [Binding("escape", "cancel", "继续访问", priority=True)]

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label("中断访问？已回答的问题都已保存，下次接通时从未答的问题继续。")
            yield Label("中断原因（回车确认，Esc 继续访问）：")
            yield Input(placeholder="例如：客户在开车，稍后再打", id="reason")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(event.value.strip() or "未说明")

    def action_cancel(self) -> None:
        self.dismiss(None)
