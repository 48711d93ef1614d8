"""Placeholders in question texts: `{company}` from settings, `{q1_operator}` from an earlier answer."""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache

from survey_tui.model.questionnaire import Answer, Question

_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

# Shown where an earlier answer is missing, so the agent sees a gap rather than a wrong word.
MISSING = "＿＿"


class PlaceholderError(ValueError):
    """A text whose braces do not form valid placeholders."""


@lru_cache(maxsize=1024)
def placeholder_names(text: str) -> tuple[str, ...]:
    """The names used in `text`, in order; `{{` and `}}` are literal braces."""
    names: list[str] = []
    for match in _TOKEN.finditer(text):
        token = match.group(0)
        if token in ("{{", "}}"):
            continue
        if token in ("{", "}"):
            raise PlaceholderError(
                f"unbalanced '{token}' at character {match.start() + 1} (write {{{{ or }}}} for a literal brace)"
            )
        name = match.group(1).strip()
        if not _NAME.fullmatch(name):
            raise PlaceholderError(f"'{token}' is not a placeholder name")
        names.append(name)
    return tuple(names)


def answer_text(question: Question, answer: Answer | None) -> str | None:
    """How an earlier answer reads inside a sentence: the choice label, or what was specified."""
    if answer is None or answer.special is not None or not answer.is_given:
        return None
    value = answer.value
    if question.is_choice:
        codes = value if isinstance(value, list) else [value]
        words = []
        for code in codes:
            choice = question.choice(str(code))
            if choice is None:
                words.append(str(code))
            elif choice.specify and answer.other_text:
                words.append(answer.other_text)
            else:
                words.append(choice.label)
        return "、".join(words)
    return str(value)


def fill(
    text: str,
    settings: Mapping[str, str],
    questions: Mapping[str, Question],
    answers: Mapping[str, Answer],
) -> str:
    """`text` with every placeholder replaced; a missing answer shows as a visible gap."""

    def replace(match: re.Match[str]) -> str:
        token = match.group(0)
        if token == "{{":
            return "{"
        if token == "}}":
            return "}"
        name = (match.group(1) or "").strip()
        if name in settings:
            return str(settings[name])
        if name in questions:
            return answer_text(questions[name], answers.get(name)) or MISSING
        return MISSING

    return _TOKEN.sub(replace, text)
