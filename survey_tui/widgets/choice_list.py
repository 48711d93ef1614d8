"""The numbered choices of a question, with the digit to press and what is selected."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.widgets import Static

from survey_tui.model.questionnaire import Choice

DIGITS = "1234567890"


def digit_for(position: int) -> str:
    """The key of the choice at `position` (0-based): 1..9, then 0 for the tenth."""
    return DIGITS[position]


def position_for(key: str) -> int | None:
    """The choice position a key selects, or None when the key is not a choice digit."""
    return DIGITS.index(key) if len(key) == 1 and key in DIGITS else None


class ChoiceList(Static):
    """Shows "1 中国电信  2 中国移动 …", marking the selected ones."""

    DEFAULT_CSS = """
    ChoiceList { height: auto; padding: 0 1; }
    """

    def show_choices(self, choices: Sequence[Choice], selected: Sequence[str], *, multiple: bool) -> None:
        text = Text()
        for position, choice in enumerate(choices[: len(DIGITS)]):
            chosen = choice.code in selected
            mark = ("[x] " if chosen else "[ ] ") if multiple else ("● " if chosen else "  ")
            label = choice.label + ("（请注明）" if choice.specify else "")
            style = "bold reverse" if chosen else ""
            text.append(f" {digit_for(position)} ", style="bold")
            text.append(f"{mark}{label}\n", style=style)
        self.update(text)
