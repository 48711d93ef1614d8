"""The bottom line of every screen: saved, or the database is away and answers wait locally."""

from __future__ import annotations

from typing import Any

from textual.widgets import Static


class StatusLine(Static):
    """Refreshes itself from the app's outbox every half second."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__("", classes="status-line", **kwargs)

    def on_mount(self) -> None:
        self.refresh_status()
        self.set_interval(0.5, self.refresh_status)

    def refresh_status(self) -> None:
        app: Any = self.app
        self.update(app.store_status())
        self.set_class(bool(app.outbox.pending), "-problem")
