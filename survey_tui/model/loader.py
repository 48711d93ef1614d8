"""Reading questionnaire YAML files into the model, reporting every problem with file, line and id."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.reader import ReaderError

from survey_tui.model.conditions import Condition, ConditionSyntaxError, parse_condition
from survey_tui.model.placeholders import PlaceholderError, placeholder_names
from survey_tui.model.questionnaire import (
    CHOICE_TYPES,
    YES_NO_CHOICES,
    Choice,
    Question,
    Questionnaire,
    QuestionType,
    SpecialAnswer,
)

_ID = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# A questionnaire of a few hundred questions is some tens of KiB; more is a mistake (a data file).
MAX_FILE_BYTES = 512 * 1024
_TOP_KEYS = {"id", "version", "title", "description", "settings", "special_answers", "questions"}
_QUESTION_KEYS = {
    "id",
    "type",
    "text",
    "hint",
    "required",
    "relevant",
    "constraint",
    "constraint_message",
    "choices",
    "special",
}
_CHOICE_KEYS = {"code", "label", "specify"}


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a questionnaire file."""

    file: str
    line: int
    question_id: str | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}"
        return f"{where}: [{self.question_id}] {self.message}" if self.question_id else (f"{where}: {self.message}")


class QuestionnaireError(Exception):
    """A questionnaire that cannot be used; carries every problem found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def load_questionnaire(path: str | Path) -> Questionnaire:
    """Parse and check `path`; raise QuestionnaireError listing all problems."""
    questionnaire, problems = _read(Path(path))
    if problems or questionnaire is None:
        raise QuestionnaireError(problems)
    return questionnaire


def check_questionnaire(path: str | Path) -> list[Problem]:
    """Every problem of `path`, empty when it is clean."""
    return _read(Path(path))[1]


def _line(node: Any, key: Any = None) -> int:
    """1-based line of a mapping key (or of the node itself) in the YAML source."""
    try:
        if key is not None and isinstance(node, CommentedMap):
            return int(node.lc.key(key)[0]) + 1
        if key is not None and isinstance(node, CommentedSeq):
            return int(node.lc.item(key)[0]) + 1
        return int(node.lc.line) + 1
    except (AttributeError, KeyError, TypeError, IndexError):
        return 1


class _Reader:
    """Walks the parsed YAML once, building the model and collecting problems."""

    def __init__(self, path: Path, all_ids: set[str]) -> None:
        self.path = path
        self.all_ids = all_ids  # every id in the file, to tell "unknown" from "comes later"
        self.problems: list[Problem] = []

    def problem(self, line: int, question_id: str | None, message: str) -> None:
        self.problems.append(Problem(str(self.path), line, question_id, message))

    def read(self, data: Any) -> Questionnaire | None:
        if not isinstance(data, CommentedMap):
            self.problem(1, None, "the file must be a mapping with id, version, title and questions")
            return None
        for key in data:
            if key not in _TOP_KEYS:
                self.problem(_line(data, key), None, f"unknown key '{key}'")
        ident = self.text_field(data, "id", None, required=True)
        if ident and not _ID.fullmatch(ident):
            self.problem(_line(data, "id"), None, f"questionnaire id '{ident}' is not an identifier")
        version = data.get("version")
        if version is None:
            self.problem(_line(data), None, "missing 'version'")
        title = self.text_field(data, "title", None, required=True)
        settings = self.read_settings(data)
        default_special = self.read_special(data, "special_answers", None)
        questions = self.read_questions(data, settings, default_special)
        if self.problems:
            return None
        return Questionnaire(
            id=ident or "",
            version=str(version),
            title=title or "",
            description=self.text_field(data, "description", None),
            questions=tuple(questions),
            settings=MappingProxyType(settings),
            source=self.path,
        )

    def text_field(
        self, node: CommentedMap, key: str, question_id: str | None, *, required: bool = False
    ) -> str | None:
        value = node.get(key)
        if value is None:
            if required:
                self.problem(_line(node), question_id, f"missing '{key}'")
            return None
        if isinstance(value, (dict, list, bool)):
            self.problem(_line(node, key), question_id, f"'{key}' must be text")
            return None
        text = str(value).strip()
        if required and not text:
            self.problem(_line(node, key), question_id, f"'{key}' is empty")
        return text

    def read_settings(self, data: CommentedMap) -> dict[str, str]:
        raw = data.get("settings")
        if raw is None:
            return {}
        if not isinstance(raw, CommentedMap):
            self.problem(_line(data, "settings"), None, "'settings' must be a mapping of name: text")
            return {}
        settings: dict[str, str] = {}
        for name, value in raw.items():
            if not _ID.fullmatch(str(name)):
                self.problem(_line(raw, name), None, f"setting name '{name}' is not an identifier")
            elif isinstance(value, (dict, list)) or value is None:
                self.problem(_line(raw, name), None, f"setting '{name}' must be text")
            else:
                settings[str(name)] = str(value)
        return settings

    def read_special(self, node: CommentedMap, key: str, question_id: str | None) -> tuple[SpecialAnswer, ...] | None:
        if key not in node:
            return None
        raw = node.get(key)
        if raw is None:
            return ()
        if not isinstance(raw, list):
            raw = [raw]
        allowed = []
        for item in raw:
            try:
                allowed.append(SpecialAnswer(str(item)))
            except ValueError:
                known = ", ".join(s.value for s in SpecialAnswer)
                self.problem(_line(node, key), question_id, f"unknown special answer '{item}' (known: {known})")
        return tuple(allowed)

    def read_questions(
        self,
        data: CommentedMap,
        settings: dict[str, str],
        default_special: tuple[SpecialAnswer, ...] | None,
    ) -> list[Question]:
        raw = data.get("questions")
        if not isinstance(raw, CommentedSeq) or not raw:
            self.problem(
                _line(data, "questions") if "questions" in data else _line(data),
                None,
                "'questions' must be a non-empty list",
            )
            return []
        questions: list[Question] = []
        seen: dict[str, int] = {}
        for position, node in enumerate(raw):
            if not isinstance(node, CommentedMap):
                self.problem(_line(raw, position), None, "a question must be a mapping")
                continue
            question = self.read_question(node, settings, default_special, seen, questions)
            qid = str(node.get("id") or "")
            if qid and qid in seen:
                self.problem(_line(node, "id"), qid, f"duplicate question id (first defined on line {seen[qid]})")
            elif qid:
                seen[qid] = _line(node, "id")
            if question is not None:
                questions.append(question)
        for name in settings:
            if name in seen:
                self.problem(seen[name], name, f"question id clashes with the setting '{name}'")
        return questions

    def read_question(
        self,
        node: CommentedMap,
        settings: dict[str, str],
        default_special: tuple[SpecialAnswer, ...] | None,
        seen: dict[str, int],
        earlier: list[Question],
    ) -> Question | None:
        qid = self.text_field(node, "id", None, required=True)
        if qid and not _ID.fullmatch(qid):
            self.problem(_line(node, "id"), qid, "question id must be letters, digits and _ ")
        label = qid
        for key in node:
            if key not in _QUESTION_KEYS:
                self.problem(_line(node, key), label, f"unknown key '{key}'")
        qtype = self.read_type(node, label)
        text = self.text_field(node, "text", label, required=True) or ""
        self.check_placeholders(node, "text", text, label, settings, seen)
        hint = self.text_field(node, "hint", label)
        if hint:
            self.check_placeholders(node, "hint", hint, label, settings, seen)
        required = node.get("required", qtype is not QuestionType.NOTE)
        if not isinstance(required, bool):
            self.problem(_line(node, "required"), label, "'required' must be true or false")
            required = True
        choices = self.read_choices(node, qtype, label)
        relevant = self.read_condition(node, "relevant", label, seen, earlier, allow_current=False)
        constraint = self.read_condition(node, "constraint", label, seen, earlier, allow_current=True)
        constraint_message = self.text_field(node, "constraint_message", label)
        if constraint_message and constraint is None and "constraint" not in node:
            self.problem(_line(node, "constraint_message"), label, "'constraint_message' without a 'constraint'")
        special = self.read_special(node, "special", label)
        if special is None:
            special = default_special or ()
        if qtype is QuestionType.NOTE:
            special = ()
        if qid is None or qtype is None:
            return None
        return Question(
            id=qid,
            type=qtype,
            text=text,
            hint=hint,
            required=required,
            relevant=relevant,
            constraint=constraint,
            constraint_message=constraint_message,
            choices=choices,
            special=special,
            line=_line(node),
        )

    def read_type(self, node: CommentedMap, label: str | None) -> QuestionType | None:
        raw = node.get("type")
        if raw is None:
            self.problem(_line(node), label, "missing 'type'")
            return None
        try:
            return QuestionType(str(raw))
        except ValueError:
            known = ", ".join(t.value for t in QuestionType)
            self.problem(_line(node, "type"), label, f"unknown type '{raw}' (known: {known})")
            return None

    def read_choices(self, node: CommentedMap, qtype: QuestionType | None, label: str | None) -> tuple[Choice, ...]:
        raw = node.get("choices")
        if qtype is QuestionType.YES_NO:
            if raw is not None:
                self.problem(
                    _line(node, "choices"),
                    label,
                    "a yes_no question has its choices built in (yes 是, no 否)",
                )
            return YES_NO_CHOICES
        if qtype not in CHOICE_TYPES:
            if raw is not None and qtype is not None:
                self.problem(_line(node, "choices"), label, f"a {qtype.value} question takes no choices")
            return ()
        if not isinstance(raw, CommentedSeq) or not raw:
            self.problem(
                _line(node, "choices") if "choices" in node else _line(node),
                label,
                "a choice question needs a non-empty list of 'choices'",
            )
            return ()
        choices: list[Choice] = []
        codes: dict[str, int] = {}
        for position, item in enumerate(raw):
            line = _line(raw, position)
            if not isinstance(item, CommentedMap):
                self.problem(line, label, "a choice must be a mapping with 'code' and 'label'")
                continue
            for key in item:
                if key not in _CHOICE_KEYS:
                    self.problem(_line(item, key), label, f"unknown key '{key}' in a choice")
            code = item.get("code")
            choice_label = item.get("label")
            if code is None or str(code).strip() == "":
                self.problem(line, label, "a choice has no 'code'")
                continue
            code = str(code).strip()
            if not _ID.fullmatch(code) and not code.lstrip("-").isdigit():
                self.problem(line, label, f"choice code '{code}' must be an identifier or a number")
            if code in codes:
                self.problem(line, label, f"duplicate choice code '{code}' (first on line {codes[code]})")
                continue
            codes[code] = line
            if choice_label is None or str(choice_label).strip() == "":
                self.problem(line, label, f"choice '{code}' has no 'label'")
            specify = item.get("specify", False)
            if not isinstance(specify, bool):
                self.problem(_line(item, "specify"), label, "'specify' must be true or false")
                specify = False
            choices.append(Choice(code, str(choice_label or "").strip(), specify))
        return tuple(choices)

    def read_condition(
        self,
        node: CommentedMap,
        key: str,
        label: str | None,
        seen: dict[str, int],
        earlier: list[Question],
        *,
        allow_current: bool,
    ) -> Condition | None:
        raw = node.get(key)
        if raw is None:
            return None
        line = _line(node, key)
        try:
            condition = parse_condition(str(raw))
        except ConditionSyntaxError as error:
            self.problem(line, label, f"{key}: {error}")
            return None
        if condition.uses_current and not allow_current:
            self.problem(line, label, f"{key}: '.' (this answer) can only be used in a constraint")
        by_id = {q.id: q for q in earlier}
        for name in sorted(condition.references):
            if name == label:
                if not allow_current:
                    self.problem(line, label, f"{key}: a question cannot depend on itself")
            elif name not in seen:
                self.problem(
                    line,
                    label,
                    f"{key}: refers to question '{name}', which comes later"
                    if name in self.all_ids
                    else f"{key}: refers to unknown question '{name}'",
                )
        for name, literal in condition.code_comparisons:
            question = by_id.get(name)
            if question is not None and question.is_choice and question.choice(literal) is None:
                codes = ", ".join(c.code for c in question.choices)
                self.problem(line, label, f"{key}: '{literal}' is not a choice code of '{name}' (codes: {codes})")
        return condition

    def check_placeholders(
        self,
        node: CommentedMap,
        key: str,
        text: str,
        label: str | None,
        settings: dict[str, str],
        seen: dict[str, int],
    ) -> None:
        line = _line(node, key)
        try:
            names = placeholder_names(text)
        except PlaceholderError as error:
            self.problem(line, label, f"{key}: {error}")
            return
        for name in names:
            if name in settings or name in seen:
                continue
            if name == label:
                self.problem(line, label, f"{key}: placeholder {{{name}}} names this question itself")
            elif name in self.all_ids:
                self.problem(line, label, f"{key}: placeholder {{{name}}} names a question that comes later")
            else:
                self.problem(line, label, f"{key}: placeholder {{{name}}} is neither a setting nor an earlier question")


def _question_ids(data: Any) -> Iterator[str]:
    if isinstance(data, CommentedMap) and isinstance(data.get("questions"), list):
        for node in data["questions"]:
            if isinstance(node, CommentedMap) and node.get("id") is not None:
                yield str(node["id"])


def _read(path: Path) -> tuple[Questionnaire | None, list[Problem]]:
    def failed(line: int, message: str) -> tuple[None, list[Problem]]:
        return None, [Problem(str(path), line, None, message)]

    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            # Parsing keeps every line's position: megabytes of YAML would take minutes.
            limit = MAX_FILE_BYTES // 1024
            return failed(1, f"the file is {size / 1024:,.0f} KiB; a questionnaire is at most {limit} KiB")
        raw = path.read_bytes()
    except OSError as error:
        return failed(0, f"cannot read the file: {error.strerror}")
    try:
        source = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        return failed(raw[: error.start].count(b"\n") + 1, "the file is not UTF-8 encoded")
    yaml = YAML(typ="rt")
    try:
        data = yaml.load(source)
    except MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark is not None else 1
        return failed(line, f"YAML syntax: {error.problem or error}")
    except ReaderError as error:
        line = source[: error.position].count("\n") + 1
        code = error.character if isinstance(error.character, int) else ord(str(error.character)[:1] or " ")
        return failed(line, f"the control character U+{code:04X} is not allowed in YAML; remove it")
    except YAMLError as error:
        return failed(1, f"YAML syntax: {error}")
    except RecursionError:
        return failed(1, "lists or mappings are nested too deeply")
    if data is None:
        return failed(1, "the file is empty: it needs id, version, title and questions")
    reader = _Reader(path, set(_question_ids(data)))
    try:
        questionnaire = reader.read(data)
    except RecursionError:
        return failed(1, "lists or mappings are nested too deeply")
    if questionnaire is None:
        return None, reader.problems
    return replace(questionnaire, content_hash=hashlib.sha256(raw).hexdigest()), []
