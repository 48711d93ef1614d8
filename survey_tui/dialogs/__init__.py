"""Modal dialogs of the agents' app, one per file."""

from survey_tui.dialogs.break_off_dialog import BreakOffDialog
from survey_tui.dialogs.callback_dialog import CallbackDialog

__all__ = ["BreakOffDialog", "CallbackDialog"]
