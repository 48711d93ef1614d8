"""XLSForm in and out: forms read with pyxform's reader into our model, and the model written as XLSForm.

Reading goes through pyxform twice over: its conversion to an XForm must succeed (so the form is
one ODK would run), and its parsed survey (aliases, translations, groups, `or_other` resolved) is
mapped onto our questionnaire model. Whatever the app cannot run the way ODK does is reported row
by row with the sheet, the row and the column, and nothing is imported.
"""

from __future__ import annotations

import copy
import hashlib
import io
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

from survey_tui.model.conditions import Condition, ConditionSyntaxError, Literal, parse_condition
from survey_tui.model.loader import default_problem
from survey_tui.model.placeholders import PlaceholderError, placeholder_names
from survey_tui.model.problems import Problem, QuestionnaireError
from survey_tui.model.questionnaire import (
    ACKNOWLEDGE_CHOICES,
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
from survey_tui.model.writer import dump_questionnaire, write_atomically

# Spreadsheets are read as XLSForm; anything else as YAML (survey_tui.model.files).
XLSFORM_SUFFIXES = (".xlsx", ".xlsm", ".xls")
SURVEY, CHOICES, SETTINGS = "survey", "choices", "settings"
# Our own survey column: the special answers (F8 don't know, F9 refused) a question allows.
# ODK ignores columns it does not know, so a form carrying it still runs there unchanged.
SPECIAL_COLUMN = "special_answers"
# Our own survey column too: the summary table of the study that counts the question (`tally`).
TALLY_COLUMN = "tally"

_ID = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ROW = re.compile(r"\[row : (\d+)\]")
_LABEL_REFERENCE = re.compile(r"\$\{([^}]*)\}")
_UNTRANSLATED = "default"  # pyxform's language key for columns without ::Language

# pyxform's type names (after its aliases) onto ours; select types are handled apart.
_TYPES = {
    "text": QuestionType.SHORT_TEXT,
    "integer": QuestionType.INTEGER,
    "decimal": QuestionType.DECIMAL,
    "date": QuestionType.DATE,
    "note": QuestionType.NOTE,
    "acknowledge": QuestionType.ACKNOWLEDGE,
    "trigger": QuestionType.ACKNOWLEDGE,
    "calculate": QuestionType.CALCULATE,
    "select one": QuestionType.SINGLE_CHOICE,
    "select all that apply": QuestionType.MULTIPLE_CHOICE,
}
# Metadata ODK fills in by itself; the store already keeps when an interview started and ended,
# and who did it, so these rows are accepted and need no question.
_METADATA = frozenset({"start", "end", "today", "username"})
# Appearances that change how a question looks in ODK, not what it stores; the app asks one
# question at a time with numbered choices whatever the appearance.
_LOOKS = frozenset(
    {
        "minimal",
        "quick",
        "horizontal",
        "horizontal-compact",
        "compact",
        "columns",
        "columns-pack",
        "likert",
        "autocomplete",
        "field-list",
        "numbers",
        "thousands-sep",
        "no-calendar",
        "multiline",
    }
)
_LOOK_PATTERN = re.compile(r"(?:w\d+|columns-\d+|compact-\d+)")
_BIND = {
    "relevant": "relevant",
    "required": "required",
    "constraint": "constraint",
    "jr:constraintMsg": "constraint_message",
    "jr:requiredMsg": "required_message",
    "calculate": "calculation",
}
# What pyxform adds by itself or keeps for its own bookkeeping in a question's parsed form.
_BOOKKEEPING = frozenset({"type", "name", "itemset", "list_name", "choices", "children", "parameters"})
# Columns that mean something to ODK which the app cannot do; reported when used.
_UNSUPPORTED_KEYS = {
    "media": "media (images, audio, video) cannot be shown in a terminal",
    "guidance_hint": "guidance hints are not supported",
    "trigger": "triggers are not supported",
    "repeat_count": "repeats are not supported",
    "body": "body attributes are not supported",
    "instance": "instance attributes are not supported",
    "sms_field": "SMS fields are not supported",
    "label_media": "media cannot be shown in a terminal",
}


@dataclass(frozen=True)
class _Row:
    """Where an element of the parsed survey came from: its row and the headers as written."""

    sheet: str
    number: int
    headers: Mapping[tuple[str, ...], str]  # pyxform's parsed header (e.g. ('bind', 'relevant')) -> as written
    cells: Mapping[str, Any]  # the row as read, by header as written


def is_xlsform(path: str | Path) -> bool:
    return Path(path).suffix.lower() in XLSFORM_SUFFIXES


def read_xlsform(path: str | Path, *, language: str | None = None) -> Questionnaire:
    """Read an XLSForm into our model; raise QuestionnaireError naming every row it cannot run."""
    questionnaire, problems = _read(Path(path), language)
    if problems or questionnaire is None:
        raise QuestionnaireError(problems)
    return questionnaire


def check_xlsform(path: str | Path, *, language: str | None = None) -> list[Problem]:
    """Every problem of an XLSForm, empty when the app can run it."""
    return _read(Path(path), language)[1]


def xlsform_languages(path: str | Path) -> list[str]:
    """The languages of the form's labels (`label::Chinese (zh)`), in pyxform's spelling."""
    from pyxform.xls2json import workbook_to_json
    from pyxform.xls2json_backends import get_xlsform

    data = workbook_to_json(get_xlsform(str(path)), warnings=[])
    return sorted(_languages(data) - {_UNTRANSLATED})


def _read(path: Path, language: str | None) -> tuple[Questionnaire | None, list[Problem]]:
    from pyxform.builder import create_survey_element_from_dict
    from pyxform.errors import PyXFormError
    from pyxform.xls2json import workbook_to_json
    from pyxform.xls2json_backends import get_xlsform

    if not path.is_file():
        return None, [Problem(str(path), 0, None, "no such file")]
    try:
        workbook = get_xlsform(str(path))
        warnings: list[str] = []
        data = workbook_to_json(
            copy.deepcopy(workbook), fallback_form_name=workbook.fallback_form_name, warnings=warnings
        )
        # The XForm itself is not needed, but building it is where pyxform checks references.
        create_survey_element_from_dict(copy.deepcopy(data)).to_xml(validate=False, warnings=warnings)
    except PyXFormError as error:
        return None, [_pyxform_problem(path, str(error))]
    except (OSError, ValueError, KeyError, TypeError) as error:
        return None, [Problem(str(path), 0, None, f"cannot read the form: {error}")]
    reader = _FormReader(path, workbook, data, language)
    questionnaire = reader.read()
    if reader.problems or questionnaire is None:
        return None, reader.problems
    content = dump_questionnaire(questionnaire)
    return (
        replace(
            questionnaire,
            source=path,
            content=content,
            # The hash of the YAML it stands for: the form and its imported YAML file register alike.
            content_hash=hashlib.sha256(content.encode("utf-8")).hexdigest(),
        ),
        [],
    )


def _pyxform_problem(path: Path, message: str) -> Problem:
    """pyxform's own message, with the row it names (it says `[row : 7]`)."""
    found = _ROW.search(message)
    text = " ".join(_ROW.sub("", message).split())
    if found is None:
        return Problem(str(path), 0, None, f"not a valid XLSForm: {text}")
    sheet = CHOICES if "'choices' sheet" in message else SURVEY
    return Problem(str(path), int(found.group(1)), None, f"not a valid XLSForm: {text}", sheet=sheet)


def _languages(node: Any) -> set[str]:
    """Every language key of translated texts anywhere in pyxform's parsed form."""
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("label", "hint", "jr:constraintMsg", "jr:requiredMsg") and isinstance(value, dict):
                found.update(value)
            found |= _languages(value)
    elif isinstance(node, list):
        for item in node:
            found |= _languages(item)
    return found


class _FormReader:
    """Maps pyxform's parsed form onto the model, collecting what cannot be run, row by row."""

    def __init__(self, path: Path, workbook: Any, data: dict[str, Any], language: str | None) -> None:
        self.path = path
        self.data = data
        self.problems: list[Problem] = []
        self.rows = _survey_rows(workbook)
        self.choice_rows = _choice_rows(workbook)
        self.languages = _languages(data)
        self.language = self.choose_language(language)
        self.questions: list[Question] = []
        self.groups: list[Group] = []
        self.seen: dict[str, int] = {}
        self.settings: dict[str, str] = {}
        self.tallies: dict[str, str] = {}  # tally name -> the question that took it first

    # -- reporting -------------------------------------------------------------------------

    def problem(self, row: _Row | None, key: tuple[str, ...] | None, qid: str | None, message: str) -> None:
        if row is None:
            self.problems.append(Problem(str(self.path), 1, qid, message, sheet=SURVEY))
            return
        column = None
        if key:
            # pyxform moves some columns (intent, appearance) under another key than their header's.
            column = row.headers.get(key) or row.headers.get(key[-1:]) or row.headers.get(key[:1]) or "/".join(key)
        self.problems.append(Problem(str(self.path), row.number, qid, message, sheet=row.sheet, column=column))

    # -- languages -------------------------------------------------------------------------

    def choose_language(self, wanted: str | None) -> str | None:
        named = sorted(self.languages - {_UNTRANSLATED})
        if wanted is not None:
            for candidate in named + [_UNTRANSLATED]:
                if _language_matches(candidate, wanted):
                    return candidate
            known = ", ".join(named) or "none: the form is not translated"
            self.problem(None, None, None, f"the form has no labels in '{wanted}' (languages: {known})")
            return None
        default = self.data.get("default_language")
        if default in self.languages and default != _UNTRANSLATED:
            return str(default)
        if _UNTRANSLATED in self.languages or not named:
            return _UNTRANSLATED
        if len(named) == 1:
            return named[0]
        self.problem(
            None,
            None,
            None,
            f"the form is in several languages ({', '.join(named)}); choose one with --language",
        )
        return None

    def pick(self, value: Any) -> tuple[str, str | None] | None:
        """A text in the chosen language (falling back to the untranslated column, as ODK does),
        with the language it was found in (None: the text has no translations)."""
        if value is None:
            return None
        if not isinstance(value, dict):
            return str(value), None
        for key in (self.language, self.data.get("default_language"), _UNTRANSLATED):
            if key in value and value[key] not in (None, ""):
                return str(value[key]), str(key)
        return None

    def text(self, value: Any, row: _Row | None = None, key: tuple[str, ...] = ()) -> str | None:
        """What the agent reads: the cell as the researcher wrote it.

        pyxform straightens curly quotes and folds line breaks in every cell, which expressions
        need; a label or hint keeps its 「“”」 and its lines as written.
        """
        found = self.pick(value)
        if found is None:
            return None
        text, language = found
        if row is not None and key:
            header = row.headers.get((*key, language)) if language else None
            if header is None and language in (None, _UNTRANSLATED):
                header = row.headers.get(key)
            raw = row.cells.get(header) if header else None
            if isinstance(raw, str) and raw.strip():
                return raw.strip()
        return text

    # -- the form --------------------------------------------------------------------------

    def read(self) -> Questionnaire | None:
        if self.language is None and self.problems:
            return None
        ident = _identifier(str(self.data.get("id_string") or self.path.stem))
        title = str(self.data.get("title") or ident)
        version = str(self.data.get("version") or "1")
        children = list(self.data.get("children") or [])
        self.read_settings(children)
        self.read_children(children, (), None)
        if self.problems:
            return None
        description = self.data.get("description")
        # A group without questions changes nothing; it is left out, as a YAML group needs questions.
        used = {g.id for q in self.questions for g in _path(self.groups, q.group)}
        return Questionnaire(
            id=ident,
            version=version,
            title=title,
            questions=tuple(self.questions),
            settings=MappingProxyType(dict(self.settings)),
            description=str(description) if description else None,
            groups=tuple(g for g in self.groups if g.id in used),
        )

    def read_settings(self, children: list[dict[str, Any]]) -> None:
        """Calculates of one constant text at the top become settings (our `{company}`).

        That is how an XLSForm names a constant for its labels; it is only taken as a setting
        when no expression uses it, so nothing the form computes changes.
        """
        used = _expression_references(self.data)
        for child in list(children):
            calculation = (child.get("bind") or {}).get("calculate")
            name = str(child.get("name") or "")
            if (
                child.get("type") == "calculate"
                and name not in used
                and set(child) <= {"type", "name", "bind"}
                and set(child["bind"]) == {"calculate"}
                and isinstance(calculation, str)
            ):
                literal = _string_literal(calculation)
                if literal is not None and _ID.fullmatch(name):
                    self.settings[name] = literal
                    row = self.row((), name)
                    self.seen[name] = row.number if row else 0
                    children.remove(child)

    def row(self, path: tuple[str, ...], name: str) -> _Row | None:
        return self.rows.get((path, name))

    def read_children(self, children: list[dict[str, Any]], path: tuple[str, ...], group: str | None) -> None:
        position = 0
        while position < len(children):
            child = children[position]
            position += 1
            kind = str(child.get("type") or "")
            name = str(child.get("name") or "")
            row = self.row(path, name)
            if kind == "group" and (child.get("control") or {}).get("bodyless") and name == "meta":
                self.check_metadata(child, (*path, name))
                continue
            if kind in _METADATA:
                continue
            if not self.check_name(row, name):
                continue
            if kind == "group":
                self.read_group(child, row, path, group)
                continue
            if kind in ("repeat", "loop"):
                # Refused, but what is inside is checked too, so that one import lists it all.
                self.problem(row, ("type",), name, "repeats cannot be run in the app")
                self.read_children(list(child.get("children") or []), (*path, name), group)
                continue
            question = self.read_question(child, row, group)
            if question is None:
                continue
            following = children[position] if position < len(children) else None
            specify = _specify_code(question, following, _expression_references(self.data))
            if specify is not None:
                question = replace(
                    question,
                    choices=tuple(replace(c, specify=True) if c.code == specify else c for c in question.choices),
                )
                position += 1
            self.questions.append(question)

    def check_metadata(self, meta: dict[str, Any], path: tuple[str, ...]) -> None:
        for child in meta.get("children") or []:
            if child.get("name") == "instanceID":
                continue  # pyxform adds it to every form; the store has its own ids
            if child.get("name") == "entity":
                self.problems.append(
                    Problem(str(self.path), 2, None, "entities (ODK datasets) are not supported", sheet="entities")
                )
                continue
            row = self.row(path, str(child.get("name")))
            self.problem(row, ("type",), child.get("name"), f"metadata '{child.get('type')}' is not supported")

    def check_name(self, row: _Row | None, name: str) -> bool:
        if not _ID.fullmatch(name):
            self.problem(row, ("name",), name, "a name must be letters, digits and _ in this app")
            return False
        if name in self.seen:
            first = self.seen[name]
            self.problem(row, ("name",), name, f"names must be unique in the whole form here (first on row {first})")
            return False
        self.seen[name] = row.number if row else 0
        return True

    def read_group(self, child: dict[str, Any], row: _Row | None, path: tuple[str, ...], parent: str | None) -> None:
        name = str(child["name"])
        ok = self.check_keys(child, row, name, allowed={"label", "bind", "control"})
        appearance = self.check_appearance(child, row, name, "group")
        bind = dict(child.get("bind") or {})
        relevant = self.condition(bind.pop("relevant", None), row, ("bind", "relevant"), name)
        for key in bind:
            self.problem(row, ("bind", key), name, f"'{key}' on a group is not supported")
        if ok and appearance:
            label = self.label_text(child.get("label"), row, name, required=False)
            self.groups.append(Group(name, label, relevant, parent, row.number if row else 0))
        self.read_children(list(child.get("children") or []), (*path, name), name)

    def check_keys(self, child: dict[str, Any], row: _Row | None, name: str, *, allowed: set[str]) -> bool:
        fine = True
        for key, value in child.items():
            if key in _BOOKKEEPING or key in allowed or key in (SPECIAL_COLUMN, TALLY_COLUMN):
                continue
            if key in _UNSUPPORTED_KEYS and value not in (None, "", {}, []):
                self.problem(row, (key,), name, _UNSUPPORTED_KEYS[key])
                fine = False
        parameters = child.get("parameters")
        if parameters:
            self.problem(row, ("parameters",), name, "parameters are not supported")
            fine = False
        return fine

    def check_appearance(self, child: dict[str, Any], row: _Row | None, name: str, kind: str) -> bool:
        control = dict(child.get("control") or {})
        appearance = str(control.pop("appearance", "") or "")
        fine = True
        for key in control:
            self.problem(row, ("control", key), name, f"'{key}' is not supported")
            fine = False
        for word in appearance.split():
            if word not in _LOOKS and not _LOOK_PATTERN.fullmatch(word):
                self.problem(row, ("control", "appearance"), name, f"appearance '{word}' on a {kind} is not supported")
                fine = False
        return fine

    def read_question(self, child: dict[str, Any], row: _Row | None, group: str | None) -> Question | None:
        name = str(child["name"])
        kind = str(child.get("type") or "")
        qtype = _TYPES.get(kind)
        if qtype is None:
            written = str(row.cells.get(row.headers.get(("type",), "type")) or kind) if row else kind
            what = "repeats" if kind in ("repeat", "loop") else f"the question type '{written}'"
            self.problem(row, ("type",), name, f"{what} cannot be run in the app")
            return None
        ok = self.check_keys(child, row, name, allowed={"label", "hint", "bind", "control", "default", "choice_filter"})
        ok = self.check_appearance(child, row, name, kind) and ok
        appearance = str((child.get("control") or {}).get("appearance") or "").split()
        if qtype is QuestionType.SHORT_TEXT and "multiline" in appearance:
            qtype = QuestionType.LONG_TEXT
        bind = dict(child.get("bind") or {})
        fields: dict[str, Any] = {}
        for key, value in bind.items():
            if key not in _BIND:
                self.problem(row, ("bind", key), name, f"'{key}' is not supported")
                ok = False
            else:
                fields[_BIND[key]] = value
        computed = qtype is QuestionType.CALCULATE
        text = self.label_text(child.get("label"), row, name, required=qtype is not QuestionType.CALCULATE)
        hint = self.label_text(child.get("hint"), row, name, required=False, key="hint")
        required = self.required(fields.get("required"), row, name)
        choices = self.choices(child, qtype, row, name)
        if qtype is QuestionType.SINGLE_CHOICE and choices == YES_NO_CHOICES:
            qtype = QuestionType.YES_NO
        relevant = self.condition(fields.get("relevant"), row, ("bind", "relevant"), name)
        constraint = self.condition(fields.get("constraint"), row, ("bind", "constraint"), name, current=True)
        calculation = self.condition(fields.get("calculation"), row, ("bind", "calculate"), name)
        if computed and calculation is None and not self.problems:
            self.problem(row, ("bind", "calculate"), name, "a calculate needs a calculation")
        choice_filter = None
        if child.get("choice_filter"):
            choice_filter = self.condition(child["choice_filter"], row, ("choice_filter",), name, columns=True)
        default = self.default(child.get("default"), qtype, kind, choices, row, name)
        special = self.special(child.get(SPECIAL_COLUMN), row, name)
        tally = self.tally(child.get(TALLY_COLUMN), qtype, row, name)
        if not ok or (qtype in (QuestionType.NOTE, QuestionType.CALCULATE) and required):
            if ok:
                self.problem(row, ("bind", "required"), name, f"a {kind} cannot be required")
            return None
        return Question(
            id=name,
            type=qtype,
            text=text or "",
            hint=hint,
            required=required,
            relevant=relevant,
            constraint=constraint,
            constraint_message=self.message(fields.get("constraint_message"), row, name, "jr:constraintMsg"),
            choices=choices,
            special=() if qtype in (QuestionType.NOTE, QuestionType.CALCULATE) else special,
            required_message=self.message(fields.get("required_message"), row, name, "jr:requiredMsg"),
            default=default,
            choice_filter=choice_filter,
            calculation=calculation,
            group=group,
            tally=tally,
            line=row.number if row else 0,
        )

    # -- parts of a question ---------------------------------------------------------------

    def label_text(self, value: Any, row: _Row | None, name: str, *, required: bool, key: str = "label") -> str | None:
        text = self.text(value, row, (key,))
        if text is None:
            if required:
                self.problem(row, (key,), name, f"no {key} in {self.language_name()}")
            return None
        return self.placeholders(text, row, (key, self.language or _UNTRANSLATED), name)

    def message(self, value: Any, row: _Row | None, name: str, key: str) -> str | None:
        text = self.text(value, row, ("bind", key))
        return None if text is None else self.placeholders(text, row, ("bind", key), name)

    def language_name(self) -> str:
        return "the form" if self.language in (None, _UNTRANSLATED) else f"'{self.language}'"

    def placeholders(self, text: str, row: _Row | None, key: tuple[str, ...], name: str) -> str:
        """`${q}` in a label becomes our `{q}`; literal braces are doubled so they stay literal."""
        out: list[str] = []
        last = 0
        for match in _LABEL_REFERENCE.finditer(text):
            out.append(_escape_braces(text[last : match.start()]))
            reference = match.group(1).strip()
            if reference not in self.seen or reference == name:
                where = "comes later" if reference != name else "is this question itself"
                if reference not in self.seen and not any(reference in names for names in self.rows):
                    where = "is not in the form"
                self.problem(row, key, name, f"the label shows ${{{reference}}}, which {where}")
            out.append("{" + reference + "}")
            last = match.end()
        out.append(_escape_braces(text[last:]))
        result = "".join(out)
        try:
            placeholder_names(result)
        except PlaceholderError as error:
            self.problem(row, key, name, str(error))
        return result

    def required(self, value: Any, row: _Row | None, name: str) -> bool:
        from pyxform import aliases

        if value in (None, ""):
            return False
        answer = aliases.yes_no.get(str(value).strip())
        if answer is None:
            self.problem(row, ("bind", "required"), name, "a required that depends on other answers is not supported")
            return False
        return bool(answer)

    def condition(
        self,
        value: Any,
        row: _Row | None,
        key: tuple[str, ...],
        name: str,
        *,
        current: bool = False,
        columns: bool = False,
    ) -> Condition | None:
        if value in (None, ""):
            return None
        source = str(value)
        try:
            condition = parse_condition(source, choice_columns=columns)
        except ConditionSyntaxError as error:
            self.problem(row, key, name, f"the app cannot run this expression: {error}")
            return None
        if condition.uses_current and not current:
            self.problem(row, key, name, "'.' (this answer) can only be used in a constraint")
        for reference in sorted(condition.references):
            if reference == name and current:
                continue
            if reference not in self.seen or reference == name:
                state = "comes later" if reference != name else "is this question itself"
                self.problem(
                    row, key, name, f"refers to ${{{reference}}}, which {state}; the app asks questions in order"
                )
        return condition

    def choices(self, child: dict[str, Any], qtype: QuestionType, row: _Row | None, name: str) -> tuple[Choice, ...]:
        if qtype is QuestionType.ACKNOWLEDGE:
            return ACKNOWLEDGE_CHOICES
        if qtype not in (QuestionType.SINGLE_CHOICE, QuestionType.MULTIPLE_CHOICE):
            return ()
        listed = child.get("choices")
        if not listed:
            message = "choices from a file, from earlier answers or in random order are not supported"
            self.problem(row, ("type",), name, message)
            return ()
        list_name = str(child.get("list_name") or child.get("itemset") or "")
        choices: list[Choice] = []
        for item in listed:
            code = str(item.get("name") or "")
            choice_row = self.choice_rows.get((list_name, code))
            if item.get("media"):
                self.problem(choice_row, ("media",), name, f"choice '{code}': media cannot be shown in a terminal")
            label = self.text(item.get("label"), choice_row, ("label",))
            if label is None:
                self.problem(choice_row, ("label",), name, f"choice '{code}' has no label in {self.language_name()}")
                label = ""
            columns = tuple(
                (str(k), str(v))
                for k, v in item.items()
                if k not in ("name", "label", "media", "__row") and _ID.fullmatch(str(k)) and not isinstance(v, dict)
            )
            choices.append(Choice(code, _escape_braces(label), columns=columns))
        return tuple(choices)

    def default(
        self, value: Any, qtype: QuestionType, kind: str, choices: tuple[Choice, ...], row: _Row | None, name: str
    ) -> str | None:
        from pyxform.utils import default_is_dynamic

        if value in (None, ""):
            return None
        text = str(value)
        if default_is_dynamic(text, kind):
            self.problem(row, ("default",), name, "a default computed from an expression is not supported")
            return None
        problem = default_problem(qtype, text, choices)
        if problem:
            self.problem(row, ("default",), name, problem)
        return text

    def tally(self, value: Any, qtype: QuestionType, row: _Row | None, name: str) -> str | None:
        tally = str(value).strip() if value not in (None, "") else ""
        if not tally:
            return None
        problem = tally_problem(qtype, tally)
        if problem is None and tally in self.tallies and tally not in SHARED_TALLIES:
            problem = f"tally '{tally}' is already the table of '{self.tallies[tally]}'"
        if problem:
            self.problem(row, (TALLY_COLUMN,), name, problem)
        self.tallies.setdefault(tally, name)
        return tally

    def special(self, value: Any, row: _Row | None, name: str) -> tuple[SpecialAnswer, ...]:
        found: list[SpecialAnswer] = []
        for word in str(value or "").split():
            try:
                found.append(SpecialAnswer(word))
            except ValueError:
                known = ", ".join(s.value for s in SpecialAnswer)
                self.problem(row, (SPECIAL_COLUMN,), name, f"unknown special answer '{word}' (known: {known})")
        return tuple(found)


# -- helpers for reading ------------------------------------------------------------------------


def _path(groups: list[Group], group_id: str | None) -> Iterator[Group]:
    by_id = {g.id: g for g in groups}
    while group_id is not None and group_id in by_id:
        yield by_id[group_id]
        group_id = by_id[group_id].parent


def _language_matches(candidate: str, wanted: str) -> bool:
    """'Chinese (zh)' is chosen by 'Chinese (zh)', 'chinese' or 'zh'."""
    wanted = wanted.strip().lower()
    spelled = candidate.lower()
    if spelled == wanted:
        return True
    match = re.fullmatch(r"\s*(.*?)\s*\(([^)]*)\)\s*", spelled)
    return match is not None and wanted in (match.group(1), match.group(2).strip())


def _identifier(text: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9_]", "_", text)
    return cleaned if _ID.fullmatch(cleaned) else f"form_{cleaned}"


def _string_literal(expression: str) -> str | None:
    try:
        root = parse_condition(expression).root
    except ConditionSyntaxError:
        return None
    return root.value if isinstance(root, Literal) and isinstance(root.value, str) else None


def _escape_braces(text: str) -> str:
    return text.replace("{", "{{").replace("}", "}}")


def _expressions(node: Any) -> Iterator[str]:
    """Every expression of pyxform's parsed form (binds and choice filters)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "bind" and isinstance(value, dict):
                for bind_key in ("relevant", "constraint", "calculate", "required"):
                    if isinstance(value.get(bind_key), str):
                        yield value[bind_key]
            elif key == "choice_filter" and isinstance(value, str):
                yield value
            elif key in ("children", "choices") or isinstance(value, dict | list):
                yield from _expressions(value)
    elif isinstance(node, list):
        for item in node:
            yield from _expressions(item)


def _expression_references(data: dict[str, Any]) -> set[str]:
    names: set[str] = set()
    for expression in _expressions({"children": data.get("children")}):
        names.update(re.findall(r"\$\{\s*([^}\s]+)\s*\}", expression))
        names.update(re.findall(r"\.\./([A-Za-z_][A-Za-z0-9_]*)", expression))
    return names


_SELECTED = re.compile(
    r"\s*selected\(\s*(?:\$\{(?P<ref>[A-Za-z_][A-Za-z0-9_]*)\}|\.\./(?P<rel>[A-Za-z_][A-Za-z0-9_]*))\s*,\s*"
    r"(?P<q>['\"])(?P<code>[^'\"]*)(?P=q)\s*\)\s*"
)


def _specify_code(question: Question, following: dict[str, Any] | None, used: set[str]) -> str | None:
    """The choice whose "please specify" text the next row holds, or None.

    ODK forms ask for it as a text question shown when the choice is selected (pyxform's
    `or_other` writes one named `<question>_other`); the app asks it with the choice instead.
    Only a plain text question is folded, and only when nothing else refers to it.
    """
    if (
        following is None
        or not question.choices
        or question.type
        not in (
            QuestionType.SINGLE_CHOICE,
            QuestionType.MULTIPLE_CHOICE,
        )
    ):
        return None
    if following.get("type") != "text" or following.get("name") in used:
        return None
    if set(following) - {"type", "name", "label", "bind"}:
        return None
    bind = dict(following.get("bind") or {})
    match = _SELECTED.fullmatch(str(bind.pop("relevant", "")))
    if match is None or set(bind) - {"required"}:
        return None
    if (match.group("ref") or match.group("rel")) != question.id:
        return None
    code = match.group("code")
    choice = question.choice(code)
    return code if choice is not None and not choice.specify else None


def _header_tokens(headers: list[str], aliases: Mapping[str, Any], columns: set[str]) -> dict[tuple[str, ...], str]:
    from pyxform.parsing.sheet_headers import process_header

    use_double_colon = any("::" in h for h in headers)
    found: dict[tuple[str, ...], str] = {}
    for header in headers:
        _, tokens = process_header(header, use_double_colon, aliases, columns)  # type: ignore[arg-type]
        found[tuple(tokens)] = header
        found.setdefault(tuple(tokens[:1]), header)
        if tokens and tokens[0] in ("label", "hint") and len(tokens) == 1:
            found[(tokens[0], _UNTRANSLATED)] = header
    return found


def _sheet_headers(header_rows: Any) -> list[str]:
    return [str(h) for h in (header_rows[0] if header_rows else {})]


def _survey_rows(workbook: Any) -> dict[tuple[tuple[str, ...], str], _Row]:
    """(group names, name) -> the survey row it was written on."""
    from pyxform import aliases
    from pyxform.question import MultipleChoiceQuestion
    from pyxform.xls2json import RE_BEGIN_CONTROL, RE_END_CONTROL

    headers = _sheet_headers(workbook.survey_header)
    tokens = _header_tokens(headers, aliases.survey_header, set(MultipleChoiceQuestion.get_slot_names()))
    by_column = {tokens_[0]: header for tokens_, header in tokens.items() if len(tokens_) == 1}
    type_header = by_column.get("type", "type")
    name_header = by_column.get("name", "name")
    rows: dict[tuple[tuple[str, ...], str], _Row] = {}
    path: list[str] = []
    for index, raw in enumerate(workbook.survey or []):
        kind = str(raw.get(type_header) or "").strip()
        name = str(raw.get(name_header) or "").strip()
        number = index + 2
        if RE_END_CONTROL.match(kind.lower()):
            if path:
                path.pop()
            continue
        if name:
            rows[(tuple(path), name)] = _Row(SURVEY, number, tokens, raw)
        if RE_BEGIN_CONTROL.match(kind.lower()):
            path.append(name)
    return rows


def _choice_rows(workbook: Any) -> dict[tuple[str, str], _Row]:
    from pyxform import aliases
    from pyxform.question import Option

    headers = _sheet_headers(workbook.choices_header)
    tokens = _header_tokens(headers, aliases.list_header, set(Option.get_slot_names()) | {"list_name"})
    by_column = {tokens_[0]: header for tokens_, header in tokens.items() if len(tokens_) == 1}
    list_header = by_column.get("list_name", "list_name")
    name_header = by_column.get("name", "name")
    return {
        (str(raw.get(list_header) or "").strip(), str(raw.get(name_header) or "").strip()): _Row(
            CHOICES, index + 2, tokens, raw
        )
        for index, raw in enumerate(workbook.choices or [])
    }


# -- writing ------------------------------------------------------------------------------------

SURVEY_COLUMNS = (
    "type",
    "name",
    "label",
    "hint",
    "required",
    "required_message",
    "relevant",
    "constraint",
    "constraint_message",
    "default",
    "choice_filter",
    "calculation",
    "appearance",
)
_EXPORT_TYPES = {
    QuestionType.SHORT_TEXT: "text",
    QuestionType.LONG_TEXT: "text",
    QuestionType.INTEGER: "integer",
    QuestionType.DECIMAL: "decimal",
    QuestionType.DATE: "date",
    QuestionType.NOTE: "note",
    QuestionType.ACKNOWLEDGE: "acknowledge",
    QuestionType.CALCULATE: "calculate",
}


class ExportError(ValueError):
    """A questionnaire that XLSForm cannot express."""


def xlsform_rows(questionnaire: Questionnaire) -> dict[str, list[list[str]]]:
    """The sheets of the XLSForm for `questionnaire`: survey, choices and settings, header first."""
    special = any(q.special for q in questionnaire.questions)
    tallied = any(q.tally for q in questionnaire.questions)
    survey_header = [*SURVEY_COLUMNS, *([SPECIAL_COLUMN] if special else []), *([TALLY_COLUMN] if tallied else [])]
    survey: list[dict[str, str]] = []
    for name, value in questionnaire.settings.items():
        survey.append({"type": "calculate", "name": name, "calculation": _quote(value)})
    choice_columns: list[str] = []
    choices: list[dict[str, str]] = []
    taken = {q.id for q in questionnaire.questions} | {g.id for g in questionnaire.groups}
    open_groups: list[Group] = []
    for question in questionnaire.questions:
        path = list(questionnaire.group_path(question))
        while open_groups and (len(open_groups) > len(path) or open_groups[-1] is not path[len(open_groups) - 1]):
            open_groups.pop()
            survey.append({"type": "end group"})
        for group in path[len(open_groups) :]:
            survey.append(
                {
                    "type": "begin group",
                    "name": group.id,
                    "label": _xls_text(group.label) if group.label else "",
                    "relevant": group.relevant.source if group.relevant else "",
                }
            )
            open_groups.append(group)
        survey.append(_question_row(question, special))
        if question.type in (QuestionType.SINGLE_CHOICE, QuestionType.MULTIPLE_CHOICE, QuestionType.YES_NO):
            for choice in question.choices:
                row = {"list_name": question.id, "name": choice.code, "label": _xls_text(choice.label)}
                for key, value in choice.columns:
                    if key not in choice_columns:
                        choice_columns.append(key)
                    row[key] = value
                choices.append(row)
            for choice in question.choices:
                if choice.specify:
                    name = _free_name(f"{question.id}_{choice.code}", taken)
                    survey.append(
                        {
                            "type": "text",
                            "name": name,
                            "label": f"请注明“{_xls_text(choice.label)}”",
                            "required": "yes",
                            "relevant": f"selected(${{{question.id}}}, '{choice.code}')",
                        }
                    )
    survey.extend({"type": "end group"} for _ in open_groups)
    settings_header = ["form_title", "form_id", "version", *(["description"] if questionnaire.description else [])]
    settings_row = [questionnaire.title, questionnaire.id, questionnaire.version]
    if questionnaire.description:
        settings_row.append(questionnaire.description)
    choices_header = ["list_name", "name", "label", *choice_columns]
    return {
        SURVEY: [survey_header, *([row.get(c, "") for c in survey_header] for row in survey)],
        CHOICES: [choices_header, *([row.get(c, "") for c in choices_header] for row in choices)],
        SETTINGS: [settings_header, settings_row],
    }


def write_xlsform(questionnaire: Questionnaire, path: str | Path) -> Path:
    """Write `questionnaire` as an XLSForm workbook (.xlsx), checked first by converting it to an
    XForm with pyxform: a form pyxform refuses is never written."""
    from pyxform.errors import PyXFormError
    from pyxform.xls2xform import convert

    data = xlsform_bytes(questionnaire)
    try:
        convert(xlsform=data, file_type=".xlsx", warnings=[])
    except PyXFormError as error:
        raise ExportError(f"pyxform does not accept the exported form: {error}") from error
    return write_atomically(path, data)


def xlsform_bytes(questionnaire: Questionnaire) -> bytes:
    """The .xlsx file of `questionnaire` as XLSForm."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    sheets = xlsform_rows(questionnaire)
    workbook = Workbook()
    first = True
    for title, rows in sheets.items():
        sheet = workbook.active if first else workbook.create_sheet()
        first = False
        assert sheet is not None
        sheet.title = title
        for row in rows:
            sheet.append(row)
            for cell in sheet[sheet.max_row]:
                # Kept as text: a label such as `=1` must stay what the researcher wrote, not a formula.
                if isinstance(cell.value, str) and cell.value.startswith("="):
                    cell.data_type = "s"
        for cell in sheet[1]:
            cell.font = Font(bold=True)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _question_row(question: Question, special: bool) -> dict[str, str]:
    if question.type in (QuestionType.SINGLE_CHOICE, QuestionType.YES_NO):
        kind = f"select_one {question.id}"
    elif question.type is QuestionType.MULTIPLE_CHOICE:
        kind = f"select_multiple {question.id}"
    else:
        kind = _EXPORT_TYPES[question.type]
    row = {
        "type": kind,
        "name": question.id,
        "label": _xls_text(question.text),
        "hint": _xls_text(question.hint) if question.hint else "",
        "required": "yes" if question.required else "",
        "required_message": _xls_text(question.required_message) if question.required_message else "",
        "relevant": question.relevant.source if question.relevant else "",
        "constraint": question.constraint.source if question.constraint else "",
        "constraint_message": _xls_text(question.constraint_message) if question.constraint_message else "",
        "default": question.default or "",
        "choice_filter": question.choice_filter.source if question.choice_filter else "",
        "calculation": question.calculation.source if question.calculation else "",
        "appearance": "multiline" if question.type is QuestionType.LONG_TEXT else "",
    }
    if special:
        row[SPECIAL_COLUMN] = " ".join(s.value for s in question.special)
    if question.tally:
        row[TALLY_COLUMN] = question.tally
    return row


def _xls_text(text: str) -> str:
    """Our `{q}` placeholders as XLSForm's `${q}`; `{{` and `}}` back to plain braces."""
    out: list[str] = []
    for match in re.finditer(r"\{\{|\}\}|\{([^{}]*)\}|[^{}]+|[{}]", text):
        token = match.group(0)
        if token == "{{":
            out.append("{")
        elif token == "}}":
            out.append("}")
        elif match.group(1) is not None:
            out.append("${" + match.group(1).strip() + "}")
        else:
            out.append(token)
    return "".join(out)


def _quote(value: str) -> str:
    if "'" not in value:
        return f"'{value}'"
    if '"' not in value:
        return f'"{value}"'
    raise ExportError(f"the setting value {value!r} has both kinds of quotes, which XLSForm cannot write")


def _free_name(wanted: str, taken: set[str]) -> str:
    name = wanted
    suffix = 2
    while name in taken:
        name = f"{wanted}_{suffix}"
        suffix += 1
    taken.add(name)
    return name


__all__ = [
    "ExportError",
    "check_xlsform",
    "is_xlsform",
    "read_xlsform",
    "write_xlsform",
    "xlsform_languages",
    "xlsform_rows",
]
