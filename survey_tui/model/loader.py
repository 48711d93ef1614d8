"""Reading questionnaire YAML files into the model, reporting every problem with file, line and id."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.reader import ReaderError

from survey_tui.model.conditions import Condition, ConditionSyntaxError, parse_condition
from survey_tui.model.flow import parse_date, parse_number
from survey_tui.model.placeholders import PlaceholderError, placeholder_names
from survey_tui.model.problems import Problem, QuestionnaireError
from survey_tui.model.questionnaire import (
    ACKNOWLEDGE_CHOICES,
    CHOICE_TYPES,
    LISTED_CHOICE_TYPES,
    SHARED_TALLIES,
    YES_NO_CHOICES,
    Choice,
    Group,
    Question,
    Questionnaire,
    QuestionType,
    SpecialAnswer,
    tally_problem,
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
    "required_message",
    "default",
    "choice_filter",
    "calculation",
    "tally",
}
_GROUP_KEYS = {"group", "text", "relevant", "questions"}
_CHOICE_KEYS = {"code", "label", "specify", "columns"}
# Built-in choices, which a questionnaire does not list.
_BUILT_IN_CHOICES = {QuestionType.YES_NO: YES_NO_CHOICES, QuestionType.ACKNOWLEDGE: ACKNOWLEDGE_CHOICES}


def load_yaml(path: str | Path) -> Questionnaire:
    """Parse and check the YAML questionnaire at `path`; raise QuestionnaireError listing all problems."""
    questionnaire, problems = _read(Path(path))
    if problems or questionnaire is None:
        raise QuestionnaireError(problems)
    return questionnaire


def check_yaml(path: str | Path) -> list[Problem]:
    """Every problem of the YAML questionnaire at `path`, empty when it is clean."""
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
        self.groups: list[Group] = []
        self.tallies: dict[str, str] = {}  # tally name -> the question that took it first

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
            groups=tuple(self.groups),
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
        self.read_items(raw, None, settings, default_special, seen, questions)
        for name in settings:
            if name in seen:
                self.problem(seen[name], name, f"question id clashes with the setting '{name}'")
        return questions

    def read_items(
        self,
        raw: CommentedSeq,
        group: str | None,
        settings: dict[str, str],
        default_special: tuple[SpecialAnswer, ...] | None,
        seen: dict[str, int],
        questions: list[Question],
    ) -> None:
        """Questions and groups of one list, in order; a group's own list is read in place."""
        for position, node in enumerate(raw):
            if not isinstance(node, CommentedMap):
                self.problem(_line(raw, position), None, "a question must be a mapping")
                continue
            if "group" in node:
                self.read_group(node, group, settings, default_special, seen, questions)
                continue
            question = self.read_question(node, settings, default_special, seen, questions, group)
            qid = str(node.get("id") or "")
            self.remember(qid, _line(node, "id"), seen)
            if question is not None:
                questions.append(question)

    def remember(self, ident: str, line: int, seen: dict[str, int], kind: str = "question") -> None:
        """Question and group ids share one namespace, as the store keys answers by id."""
        if ident and ident in seen:
            self.problem(line, ident, f"duplicate {kind} id (first defined on line {seen[ident]})")
        elif ident:
            seen[ident] = line

    def read_group(
        self,
        node: CommentedMap,
        parent: str | None,
        settings: dict[str, str],
        default_special: tuple[SpecialAnswer, ...] | None,
        seen: dict[str, int],
        questions: list[Question],
    ) -> None:
        gid = self.text_field(node, "group", None, required=True)
        if gid and not _ID.fullmatch(gid):
            self.problem(_line(node, "group"), gid, "group id must be letters, digits and _ ")
        for key in node:
            if key not in _GROUP_KEYS:
                self.problem(_line(node, key), gid, f"unknown key '{key}' in a group")
        label = self.text_field(node, "text", gid)
        if label:
            self.check_placeholders(node, "text", label, gid, settings, seen)
        relevant = self.read_condition(node, "relevant", gid, seen, questions, allow_current=False)
        self.remember(gid or "", _line(node, "group"), seen, "group")
        if gid:
            self.groups.append(Group(gid, label or None, relevant, parent, _line(node)))
        items = node.get("questions")
        if not isinstance(items, CommentedSeq) or not items:
            self.problem(_line(node), gid, "a group needs a non-empty list of 'questions'")
            return
        self.read_items(items, gid or parent, settings, default_special, seen, questions)

    def read_question(
        self,
        node: CommentedMap,
        settings: dict[str, str],
        default_special: tuple[SpecialAnswer, ...] | None,
        seen: dict[str, int],
        earlier: list[Question],
        group: str | None = None,
    ) -> Question | None:
        qid = self.text_field(node, "id", None, required=True)
        if qid and not _ID.fullmatch(qid):
            self.problem(_line(node, "id"), qid, "question id must be letters, digits and _ ")
        label = qid
        for key in node:
            if key not in _QUESTION_KEYS:
                self.problem(_line(node, key), label, f"unknown key '{key}'")
        qtype = self.read_type(node, label)
        computed = qtype is QuestionType.CALCULATE
        text = self.text_field(node, "text", label, required=not computed) or ""
        self.check_placeholders(node, "text", text, label, settings, seen)
        hint = self.text_field(node, "hint", label)
        if hint:
            self.check_placeholders(node, "hint", hint, label, settings, seen)
        required = node.get("required", qtype not in (QuestionType.NOTE, QuestionType.CALCULATE))
        if not isinstance(required, bool):
            self.problem(_line(node, "required"), label, "'required' must be true or false")
            required = True
        choices = self.read_choices(node, qtype, label)
        relevant = self.read_condition(node, "relevant", label, seen, earlier, allow_current=False)
        constraint = self.read_condition(node, "constraint", label, seen, earlier, allow_current=True)
        constraint_message = self.text_field(node, "constraint_message", label)
        if constraint_message and constraint is None and "constraint" not in node:
            self.problem(_line(node, "constraint_message"), label, "'constraint_message' without a 'constraint'")
        required_message = self.text_field(node, "required_message", label)
        choice_filter = self.read_choice_filter(node, qtype, label, seen, earlier, choices)
        calculation = self.read_condition(node, "calculation", label, seen, earlier, allow_current=False)
        if computed and calculation is None and "calculation" not in node:
            self.problem(_line(node), label, "a calculate needs a 'calculation'")
        elif not computed and "calculation" in node:
            self.problem(_line(node, "calculation"), label, "only a calculate takes a 'calculation'")
        default = self.read_default(node, qtype, label, choices)
        special = self.read_special(node, "special", label)
        if special is None:
            special = default_special or ()
        if qtype in (QuestionType.NOTE, QuestionType.CALCULATE):
            special = ()
        tally = self.text_field(node, "tally", label)
        if tally is not None and qtype is not None:
            problem = tally_problem(qtype, tally)
            if problem is None and tally in self.tallies and tally not in SHARED_TALLIES:
                problem = f"tally '{tally}' is already the table of '{self.tallies[tally]}'"
            if problem:
                self.problem(_line(node, "tally"), label, problem)
            self.tallies.setdefault(tally, label or "")
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
            required_message=required_message,
            default=default,
            choice_filter=choice_filter,
            calculation=calculation,
            group=group,
            tally=tally,
            line=_line(node),
        )

    def read_choice_filter(
        self,
        node: CommentedMap,
        qtype: QuestionType | None,
        label: str | None,
        seen: dict[str, int],
        earlier: list[Question],
        choices: tuple[Choice, ...],
    ) -> Condition | None:
        if "choice_filter" not in node:
            return None
        if qtype not in LISTED_CHOICE_TYPES:
            message = "only a single or multiple choice takes a 'choice_filter'"
            self.problem(_line(node, "choice_filter"), label, message)
            return None
        condition = self.read_condition(
            node, "choice_filter", label, seen, earlier, allow_current=False, choice_columns=True
        )
        if condition is None:
            return None
        columns = {"name", "label"} | {key for c in choices for key, _ in c.columns}
        for name in sorted(condition.fields - columns):
            self.problem(
                _line(node, "choice_filter"),
                label,
                f"choice_filter: '{name}' is not a column of the choices (columns: {', '.join(sorted(columns))})",
            )
        return condition

    def read_default(
        self, node: CommentedMap, qtype: QuestionType | None, label: str | None, choices: tuple[Choice, ...]
    ) -> str | None:
        default = self.text_field(node, "default", label)
        if default is None or qtype is None:
            return None
        line = _line(node, "default")
        problem = default_problem(qtype, default, choices)
        if problem:
            self.problem(line, label, problem)
        return default

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
        if qtype in _BUILT_IN_CHOICES:
            built_in = _BUILT_IN_CHOICES[qtype]
            if raw is not None:
                listed = ", ".join(f"{c.code} {c.label}" for c in built_in)
                self.problem(
                    _line(node, "choices"),
                    label,
                    f"a {qtype.value} question has its choices built in ({listed})",
                )
            return built_in
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
            columns = self.read_columns(item, label)
            choices.append(Choice(code, str(choice_label or "").strip(), specify, columns))
        return tuple(choices)

    def read_columns(self, item: CommentedMap, label: str | None) -> tuple[tuple[str, str], ...]:
        raw = item.get("columns")
        if raw is None:
            return ()
        if not isinstance(raw, CommentedMap):
            self.problem(_line(item, "columns"), label, "'columns' must be a mapping of column: value")
            return ()
        columns = []
        for name, value in raw.items():
            if not _ID.fullmatch(str(name)) or name in ("name", "label"):
                self.problem(_line(raw, name), label, f"'{name}' cannot be a choice column name")
            elif isinstance(value, (dict, list)) or value is None:
                self.problem(_line(raw, name), label, f"choice column '{name}' must be text")
            else:
                columns.append((str(name), str(value)))
        return tuple(columns)

    def read_condition(
        self,
        node: CommentedMap,
        key: str,
        label: str | None,
        seen: dict[str, int],
        earlier: list[Question],
        *,
        allow_current: bool,
        choice_columns: bool = False,
    ) -> Condition | None:
        raw = node.get(key)
        if raw is None:
            return None
        line = _line(node, key)
        try:
            condition = parse_condition(str(raw), choice_columns=choice_columns)
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


def default_problem(qtype: QuestionType, default: str, choices: tuple[Choice, ...]) -> str | None:
    """Why `default` cannot be the default answer of a question of this type, or None."""
    codes = {c.code for c in choices}
    if qtype in (QuestionType.NOTE, QuestionType.CALCULATE):
        return f"a {qtype.value} takes no 'default'"
    if qtype in (QuestionType.INTEGER, QuestionType.DECIMAL) and parse_number(default, qtype) is None:
        return f"default '{default}' is not {'a whole number' if qtype is QuestionType.INTEGER else 'a number'}"
    if qtype is QuestionType.DATE and parse_date(default) != default:
        return f"default '{default}' is not a date written YYYY-MM-DD"
    if qtype is QuestionType.MULTIPLE_CHOICE:
        unknown = [code for code in default.split() if code not in codes]
        if unknown:
            return f"default '{' '.join(unknown)}' is not a choice code"
    elif qtype in CHOICE_TYPES and default not in codes:
        return f"default '{default}' is not a choice code"
    return None


def _question_ids(data: Any) -> Iterator[str]:
    nodes = data.get("questions") if isinstance(data, CommentedMap) else None
    if not isinstance(nodes, list):
        return
    for node in nodes:
        if not isinstance(node, CommentedMap):
            continue
        if node.get("id") is not None:
            yield str(node["id"])
        if node.get("group") is not None:
            yield str(node["group"])
            yield from _question_ids(node)


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
    questionnaire, problems = _parse(source, path)
    if questionnaire is None:
        return None, problems
    return replace(questionnaire, content_hash=hashlib.sha256(raw).hexdigest()), []


def parse_yaml(text: str, *, name: str, content_hash: str = "") -> Questionnaire:
    """A questionnaire from its YAML text (as the store keeps each instrument used), named `name`
    in messages; QuestionnaireError listing every problem."""
    questionnaire, problems = _parse(text, Path(name))
    if questionnaire is None:
        raise QuestionnaireError(problems)
    return replace(questionnaire, source=None, content=text, content_hash=content_hash)


def _parse(source: str, path: Path) -> tuple[Questionnaire | None, list[Problem]]:
    def failed(line: int, message: str) -> tuple[None, list[Problem]]:
        return None, [Problem(str(path), line, None, message)]

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
    return questionnaire, []
