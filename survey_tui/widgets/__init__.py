"""Reusable widgets of the agents' app."""

from survey_tui.widgets.answer_area import AnswerArea
from survey_tui.widgets.choice_list import ChoiceList
from survey_tui.widgets.status_line import StatusLine

__all__ = ["AnswerArea", "ChoiceList", "StatusLine"]
