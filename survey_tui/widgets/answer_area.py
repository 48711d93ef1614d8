"""A multi-line answer editor where enter moves on and ctrl+j or shift+enter starts a new line."""

from __future__ import annotations

from textual import events
from textual.message import Message
from textual.widgets import TextArea


class AnswerArea(TextArea):
    """TextArea for long answers: the agent's enter means "next question", not a line break."""

    class Submitted(Message):
        """The agent pressed enter to save the text and move on."""

        def __init__(self, area: AnswerArea, text: str) -> None:
            super().__init__()
            self.area = area
            self.text = text

    async def _on_key(self, event: events.Key) -> None:
        if event.key == "enter":
            event.stop()
            event.prevent_default()
            self.post_message(self.Submitted(self, self.text))
            return
        if event.key in ("ctrl+j", "shift+enter"):
            event.stop()
            event.prevent_default()
            self.insert("\n")
            return
        await super()._on_key(event)
