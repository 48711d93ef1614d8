"""Writing a questionnaire model as the YAML that the loader reads back into an equal model."""

from __future__ import annotations

import io
import os
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from survey_tui.model.loader import load_yaml
from survey_tui.model.questionnaire import (
    ACKNOWLEDGE_CHOICES,
    YES_NO_CHOICES,
    Group,
    Question,
    Questionnaire,
    QuestionType,
)

_BUILT_IN = {QuestionType.YES_NO: YES_NO_CHOICES, QuestionType.ACKNOWLEDGE: ACKNOWLEDGE_CHOICES}
_NO_ANSWER = (QuestionType.NOTE, QuestionType.CALCULATE)


def dump_questionnaire(questionnaire: Questionnaire) -> str:
    """YAML text for `questionnaire`, in the layout of the shipped instruments."""
    top = CommentedMap()
    top["id"] = questionnaire.id
    top["version"] = int(questionnaire.version) if questionnaire.version.isdigit() else questionnaire.version
    top["title"] = questionnaire.title
    if questionnaire.description:
        top["description"] = questionnaire.description
    if questionnaire.settings:
        top["settings"] = CommentedMap(questionnaire.settings)
    default_special = _most_common_special(questionnaire)
    if default_special:
        top["special_answers"] = _flow_list([s.value for s in default_special])
    top["questions"] = _items(questionnaire, None, default_special)
    yaml = YAML(typ="rt")
    yaml.width = 4096  # one line per text, as researchers write them
    yaml.indent(mapping=2, sequence=4, offset=2)
    buffer = io.StringIO()
    yaml.dump(top, buffer)
    return buffer.getvalue()


def write_atomically(path: str | Path, data: bytes) -> Path:
    """Write `data` to `path` through a temporary file beside it, so a failure leaves no half file."""
    target = Path(path)
    handle, temporary = tempfile.mkstemp(dir=target.parent or ".", prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return target


def save_questionnaire(questionnaire: Questionnaire, path: str | Path) -> Path:
    """Write `questionnaire` as YAML at `path`, after checking it reads back as the same model."""
    text = dump_questionnaire(questionnaire)
    directory = Path(tempfile.mkdtemp(prefix="churn-survey-"))
    try:
        probe = directory / f"{questionnaire.id}.yaml"
        probe.write_text(text, encoding="utf-8")
        if load_yaml(probe) != questionnaire:
            raise ValueError(f"questionnaire {questionnaire.id} does not survive being written as YAML")
    finally:
        for leftover in directory.iterdir():
            leftover.unlink()
        directory.rmdir()
    return write_atomically(path, text.encode("utf-8"))


def _most_common_special(questionnaire: Questionnaire) -> tuple[Any, ...]:
    asked = [q.special for q in questionnaire.questions if q.type not in _NO_ANSWER]
    if not asked:
        return ()
    return Counter(asked).most_common(1)[0][0]


def _flow_list(items: list[Any]) -> CommentedSeq:
    seq = CommentedSeq(items)
    seq.fa.set_flow_style()
    return seq


def _items(questionnaire: Questionnaire, group: str | None, default_special: tuple[Any, ...]) -> CommentedSeq:
    """The questions and groups directly inside `group` (the top level when None), in order."""
    items = CommentedSeq()
    placed: set[str] = set()
    for question in questionnaire.questions:
        ids = [g.id for g in questionnaire.group_path(question)]
        if group is None:
            depth = 0
        elif group in ids:
            depth = ids.index(group) + 1
        else:
            continue
        if len(ids) == depth:
            items.append(_question(question, default_special))
        elif ids[depth] not in placed:
            placed.add(ids[depth])
            items.append(_group(questionnaire, questionnaire.group(ids[depth]), default_special))
    return items


def _group(questionnaire: Questionnaire, group: Group, default_special: tuple[Any, ...]) -> CommentedMap:
    node = CommentedMap()
    node["group"] = group.id
    if group.label:
        node["text"] = group.label
    if group.relevant is not None:
        node["relevant"] = group.relevant.source
    node["questions"] = _items(questionnaire, group.id, default_special)
    return node


def _question(question: Question, default_special: tuple[Any, ...]) -> CommentedMap:
    node = CommentedMap()
    node["id"] = question.id
    node["type"] = question.type.value
    if question.tally:
        node["tally"] = question.tally
    if question.text or question.type is not QuestionType.CALCULATE:
        node["text"] = question.text
    if question.hint:
        node["hint"] = question.hint
    if question.required != (question.type not in _NO_ANSWER):
        node["required"] = question.required
    if question.required_message:
        node["required_message"] = question.required_message
    for key in ("relevant", "constraint"):
        condition = getattr(question, key)
        if condition is not None:
            node[key] = condition.source
    if question.constraint_message:
        node["constraint_message"] = question.constraint_message
    if question.calculation is not None:
        node["calculation"] = question.calculation.source
    if question.default is not None:
        node["default"] = question.default
    if question.choice_filter is not None:
        node["choice_filter"] = question.choice_filter.source
    if question.is_choice and question.type not in _BUILT_IN:
        choices = CommentedSeq()
        for choice in question.choices:
            item = CommentedMap()
            item["code"] = choice.code
            item["label"] = choice.label
            if choice.specify:
                item["specify"] = True
            if choice.columns:
                item["columns"] = CommentedMap(choice.columns)
                item["columns"].fa.set_flow_style()
            item.fa.set_flow_style()
            choices.append(item)
        node["choices"] = choices
    if question.type not in _NO_ANSWER and question.special != default_special:
        node["special"] = _flow_list([s.value for s in question.special])
    return node
