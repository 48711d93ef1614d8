"""A small, safe subset of the XLSForm/ODK expression language: relevant, constraint, choice_filter, calculation."""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import NamedTuple, TypeAlias

Value: TypeAlias = str | int | float | bool | list[str]

# Recursive descent spends about nine Python frames per level of parentheses, calls or unary
# minus; this keeps a hostile or machine-made expression well inside the interpreter's stack.
MAX_NESTING = 32
# The evaluator recurses once per tree level, and long `and` chains build left-deep trees.
MAX_DEPTH = 200

# Integers beyond this lose nothing by becoming floats, and keeping ints small means no operation
# can hit Python's int/str conversion limit or overflow when turned into a float.
_BIG_INT = 2**53


class ConditionSyntaxError(ValueError):
    """str(e) is a user-facing message like "unexpected ')' at column 12"; .column is 1-based."""

    def __init__(self, reason: str, column: int) -> None:
        super().__init__(f"{reason} at column {column}")
        self.reason = reason
        self.column = column

    def __reduce__(self) -> tuple[type[ConditionSyntaxError], tuple[str, int]]:
        # The default pickling would call the class with the formatted message alone.
        return (type(self), (self.reason, self.column))


# --- the syntax tree ------------------------------------------------------------------------------
# `column` is left out of equality so that two spellings of the same expression compare equal.


@dataclass(frozen=True)
class Literal:
    value: str | int | float
    column: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Reference:
    name: str
    column: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Current:
    column: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Field:
    """A bare name in a choice_filter: a column of the choice being filtered (`name`, `label`, ...)."""

    name: str
    column: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Negate:
    operand: Node
    column: int = field(default=0, compare=False)


@dataclass(frozen=True)
class BinaryOp:
    op: str
    left: Node
    right: Node
    column: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Call:
    name: str
    args: tuple[Node, ...]
    column: int = field(default=0, compare=False)


Node: TypeAlias = Literal | Reference | Current | Field | Negate | BinaryOp | Call


def _children(node: Node) -> tuple[Node, ...]:
    match node:
        case Negate(operand=operand):
            return (operand,)
        case BinaryOp(left=left, right=right):
            return (left, right)
        case Call(args=args):
            return args
        case _:
            return ()


def _walk(root: Node) -> Iterator[Node]:
    """Pre-order, left to right; iterative so that a deep tree cannot exhaust the stack."""
    stack = [root]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(reversed(_children(node)))


# --- values ---------------------------------------------------------------------------------------
# ODK semantics: an unanswered question is the empty string, a multiple choice answer is its codes
# joined by spaces when used as a string, and nothing a respondent types can make evaluation raise.

_NUMBER_TEXT = re.compile(r"\s*-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*")


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _tidy(number: int | float) -> int | float:
    if isinstance(number, int) and abs(number) > _BIG_INT:
        return float(number)
    return number


def _parse_number(text: str) -> int | float | None:
    """The number a string spells in XPath's plain notation (no exponents, 'nan' or 'inf')."""
    if not _NUMBER_TEXT.fullmatch(text):
        return None
    if "." in text or len(text.strip()) > 16:
        return float(text)
    return _tidy(int(text))


_ISO_DATE = re.compile(r"\s*([0-9]{4})-([0-9]{2})-([0-9]{2})\s*")
_EPOCH = date(1970, 1, 1)


def _date_number(text: str) -> int | None:
    """Days since 1970-01-01 of an ISO date, as ODK converts dates in comparisons and arithmetic."""
    match = _ISO_DATE.fullmatch(text)
    if match is None:
        return None
    try:
        day = date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        return None
    return (day - _EPOCH).days


def _to_number(value: object) -> int | float:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float):
        return _tidy(value)
    text = _to_string(value)
    number = _parse_number(text)
    if number is None:
        number = _date_number(text)
    return math.nan if number is None else number


def _to_string(value: object) -> str:
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        # XPath writes 3.0 as '3', which is what `string-length` and `=` against '3' expect.
        return str(int(value)) if value.is_integer() and abs(value) < _BIG_INT else repr(value)
    if isinstance(value, list | tuple):
        return " ".join(_to_string(item) for item in value)
    return str(value)


def _normalize(value: object) -> Value:
    """An answer as the evaluator sees it: unanswered is '', choice codes are strings."""
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return [_to_string(item) for item in value]
    if isinstance(value, str | int | float):
        return value
    return str(value)


def _is_empty(value: object) -> bool:
    return value is None or value == "" or (isinstance(value, list | tuple) and not value)


def truthy(value: object) -> bool:
    """XPath boolean(): numbers are true unless 0 or NaN, strings and lists unless empty."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value != 0 and not math.isnan(value)
    if isinstance(value, list | tuple):
        return len(value) > 0
    return _to_string(value) != ""


def _equals(left: Value, right: Value) -> bool:
    """Numeric when both are numbers or a number meets a string spelling one; else as strings.

    Booleans compare as the strings 'true' and 'false', so an unanswered question ('') never
    equals 0 and a yes/no answer stored as a bool still matches `= 'true'`.
    """
    if _is_number(left) and _is_number(right):
        return left == right
    if _is_number(left) or _is_number(right):
        number, other = (left, right) if _is_number(left) else (right, left)
        parsed = _parse_number(_to_string(other))
        if parsed is not None:
            return number == parsed
        if isinstance(number, float) and math.isnan(number):
            return False
    return _to_string(left) == _to_string(right)


_ORDERINGS: dict[str, Callable[[int | float, int | float], bool]] = {
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


def _compare(op: str, left: Value, right: Value) -> bool:
    """Orderings are numeric only: a side that is not a number (e.g. unanswered) gives False.

    NaN already compares False with everything, so `${age} > 3` with no answer is False rather
    than an error, and so is `'b' > 'a'`.
    """
    return _ORDERINGS[op](_to_number(left), _to_number(right))


def _arithmetic(op: str, left: Value, right: Value) -> int | float:
    """Non-numbers become NaN and division or modulo by zero is NaN, never an exception."""
    a, b = _to_number(left), _to_number(right)
    if math.isnan(a) or math.isnan(b):
        return math.nan
    if op == "+":
        return _tidy(a + b)
    if op == "-":
        return _tidy(a - b)
    if op == "*":
        return _tidy(a * b)
    if b == 0 or math.isinf(a):
        return math.nan
    if op == "div":
        return a / b
    # XPath's mod truncates, so the result takes the sign of the dividend (-7 mod 3 = -1).
    if isinstance(a, int) and isinstance(b, int):
        remainder = abs(a) % abs(b)
        return -remainder if a < 0 else remainder
    return math.fmod(a, b)


# --- functions ------------------------------------------------------------------------------------


class Function(NamedTuple):
    min_args: int
    max_args: int | None  # None: any number, for variadic XLSForm functions such as concat()
    impl: Callable[..., Value]


def _selected(value: Value, code: Value) -> bool:
    wanted = _to_string(code)
    if isinstance(value, list):
        return wanted in value
    text = _to_string(value)
    return text != "" and text == wanted


def _count_selected(value: Value) -> int:
    if isinstance(value, list):
        return len(value)
    return 0 if _to_string(value) == "" else 1


def _regex(value: Value, pattern: Value) -> bool:
    # ODK matches anywhere in the text, like re.search; authors anchor with ^...$ themselves.
    try:
        return re.search(_to_string(pattern), _to_string(value)) is not None
    except re.error:
        return False  # only a computed pattern can get here; literals are checked when parsing


def _int(value: Value) -> int | float:
    number = _to_number(value)
    if isinstance(number, int):
        return number
    if not math.isfinite(number):
        return math.nan
    return int(number) if abs(number) < _BIG_INT else number


FUNCTIONS: dict[str, Function] = {
    "true": Function(0, 0, lambda: True),
    "false": Function(0, 0, lambda: False),
    "not": Function(1, 1, lambda x: not truthy(x)),
    "selected": Function(2, 2, _selected),
    "count-selected": Function(1, 1, _count_selected),
    "string-length": Function(1, 1, lambda x: len(_to_string(x))),
    "regex": Function(2, 2, _regex),
    "if": Function(3, 3, lambda cond, a, b: a if truthy(cond) else b),
    "coalesce": Function(2, 2, lambda a, b: b if _is_empty(a) else a),
    "int": Function(1, 1, _int),
    "number": Function(1, 1, _to_number),
    "string": Function(1, 1, _to_string),
    "contains": Function(2, 2, lambda x, sub: _to_string(sub) in _to_string(x)),
    "starts-with": Function(2, 2, lambda x, prefix: _to_string(x).startswith(_to_string(prefix))),
    "answered": Function(1, 1, lambda x: not _is_empty(x)),
    "today": Function(0, 0, lambda: date.today().isoformat()),
}


def _check_regex(args: tuple[Node, ...]) -> None:
    pattern = args[1]
    if isinstance(pattern, Literal) and isinstance(pattern.value, str):
        try:
            re.compile(pattern.value)
        except re.error as error:
            # String literals have no escapes, so a position in the pattern maps onto the source.
            offset = 1 + (error.pos or 0)
            raise ConditionSyntaxError(f"invalid regular expression: {error.msg}", pattern.column + offset) from None


# Checks that catch an author's mistake when the questionnaire loads instead of mid-interview.
ARGUMENT_CHECKS: dict[str, Callable[[tuple[Node, ...]], None]] = {"regex": _check_regex}


# --- evaluation -----------------------------------------------------------------------------------


_NO_ROW: Mapping[str, str] = {}


def _evaluate(node: Node, answers: Mapping[str, object], current: object, row: Mapping[str, str] = _NO_ROW) -> Value:
    match node:
        case Literal(value=value):
            return value
        case Reference(name=name):
            return _normalize(answers.get(name))
        case Current():
            return _normalize(current)
        case Field(name=name):
            return row.get(name, "")
        case Negate(operand=operand):
            return _tidy(-_to_number(_evaluate(operand, answers, current, row)))
        case BinaryOp(op="or", left=left, right=right):
            return truthy(_evaluate(left, answers, current, row)) or truthy(_evaluate(right, answers, current, row))
        case BinaryOp(op="and", left=left, right=right):
            return truthy(_evaluate(left, answers, current, row)) and truthy(_evaluate(right, answers, current, row))
        case BinaryOp(op=op, left=left, right=right):
            a = _evaluate(left, answers, current, row)
            b = _evaluate(right, answers, current, row)
            if op == "=":
                return _equals(a, b)
            if op == "!=":
                return not _equals(a, b)
            if op in _ORDERINGS:
                return _compare(op, a, b)
            return _arithmetic(op, a, b)
        case Call(name=name, args=args):
            values = [_evaluate(arg, answers, current, row) for arg in args]
            return FUNCTIONS[name].impl(*values)
    raise TypeError(f"not a condition node: {node!r}")


def _code_pair(node: Node) -> tuple[str, str] | None:
    match node:
        case BinaryOp(op="=" | "!=", left=Reference(name=ref), right=Literal(value=str(code))):
            return ref, code
        case BinaryOp(op="=" | "!=", left=Literal(value=str(code)), right=Reference(name=ref)):
            return ref, code
        case Call(name="selected", args=(Reference(name=ref), Literal(value=str(code)))):
            return ref, code
    return None


@dataclass(frozen=True)
class Condition:
    """A parsed condition; build one with parse_condition()."""

    source: str
    root: Node = field(repr=False)

    @property
    def references(self) -> frozenset[str]:
        """Question ids named with ${...}, in any position."""
        return frozenset(node.name for node in _walk(self.root) if isinstance(node, Reference))

    @property
    def fields(self) -> frozenset[str]:
        """Choice columns named bare in a choice_filter (`name`, `label`, or an extra column)."""
        return frozenset(node.name for node in _walk(self.root) if isinstance(node, Field))

    @property
    def uses_current(self) -> bool:
        """True when `.` (the answer being validated) appears."""
        return any(isinstance(node, Current) for node in _walk(self.root))

    @property
    def code_comparisons(self) -> tuple[tuple[str, str], ...]:
        """(question_id, string literal) pairs where a ${ref} is compared to a string literal with
        = or != (either side), or tested with selected(${ref}, 'literal'). Lets a checker catch a
        misspelled choice code. In source order, without repeats; '' is left out."""
        pairs: dict[tuple[str, str], None] = {}
        for node in _walk(self.root):
            pair = _code_pair(node)
            # '' is how authors test for "unanswered", not a choice code to check.
            if pair is not None and pair[1] != "":
                pairs[pair] = None
        return tuple(pairs)

    def value(self, answers: Mapping[str, object], current: object = None, row: Mapping[str, str] = _NO_ROW) -> object:
        """The raw result: a bool, number (NaN included), string or list of codes.

        `row` holds the columns of the choice a choice_filter is tested on."""
        return _evaluate(self.root, answers, current, row)

    def evaluate(self, answers: Mapping[str, object], current: object = None, row: Mapping[str, str] = _NO_ROW) -> bool:
        """The result as a boolean; unanswered questions and bad input give False, not errors."""
        return truthy(self.value(answers, current, row))


# --- tokenizer ------------------------------------------------------------------------------------


class _Token(NamedTuple):
    kind: str  # number, string, ref, dot, name, op or end
    text: str  # as written, for error messages
    value: object
    column: int


_KEYWORDS = frozenset({"and", "or", "div", "mod"})
# Longest first, so that '<=' is not read as '<' followed by '='.
_OPERATORS = ("!=", "<=", ">=", "=", "<", ">", "+", "-", "*", "(", ")", ",")
# A hyphen belongs to a name only before a letter, as in count-selected, so `3 div-1` still works;
# a prefix such as `jr:` is read with the name so that `jr:choice-name()` is named when refused.
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?::[A-Za-z_][A-Za-z0-9_]*)?(?:-[A-Za-z][A-Za-z0-9_]*)*")
_NUMBER = re.compile(r"[0-9]+(?:\.[0-9]*)?|\.[0-9]+")
_QUESTION_ID = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Habits from other languages, and what to write instead.
_HINTS = {
    "==": "'==' is not an operator; use '='",
    "/": "'/' is not an operator; use 'div'",
    "%": "'%' is not an operator; use 'mod'",
    "&": "'&' is not an operator; use 'and'",
    "|": "'|' is not an operator; use 'or'",
    "!": "'!' is not an operator; use '!=' or not(...)",
}
_CURLY_QUOTES = "\u2018\u2019\u201c\u201d"


def _bad_character(char: str) -> str:
    if char in _HINTS:
        return _HINTS[char]
    if char in _CURLY_QUOTES:
        return f"unexpected {char!r}; quote text with plain ' or \""
    # Chinese input methods type full-width punctuation such as （ ） ＝ ， by default.
    if "\uff01" <= char <= "\uff5e":
        return f"unexpected full-width {char!r}; use {chr(ord(char) - 0xFEE0)!r}"
    return f"unexpected character {char!r}"


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    i = 0
    while i < len(text):
        char = text[i]
        column = i + 1
        if char.isspace():
            i += 1
            continue
        if char in "'\"":
            end = text.find(char, i + 1)
            if end < 0:
                raise ConditionSyntaxError(f"unterminated string (no closing {char})", column)
            tokens.append(_Token("string", text[i : end + 1], text[i + 1 : end], column))
            i = end + 1
            continue
        if text.startswith("${", i):
            end = text.find("}", i + 2)
            if end < 0:
                raise ConditionSyntaxError("'${' without closing '}'", column)
            name = text[i + 2 : end]
            if not name:
                raise ConditionSyntaxError("empty reference '${}'", column)
            if not _QUESTION_ID.fullmatch(name):
                raise ConditionSyntaxError(f"invalid question id {name!r}", column + 2)
            tokens.append(_Token("ref", text[i : end + 1], name, column))
            i = end + 1
            continue
        if char == "$":
            raise ConditionSyntaxError("'$' must start a reference like ${question_id}", column)
        if match := _NUMBER.match(text, i):
            number = _parse_number(match.group())
            tokens.append(_Token("number", match.group(), number, column))
            i = match.end()
            continue
        if char == ".":
            if text.startswith("..", i):
                raise ConditionSyntaxError("'..' is not supported", column)
            tokens.append(_Token("dot", ".", None, column))
            i += 1
            continue
        if match := _NAME.match(text, i):
            word = match.group()
            tokens.append(_Token("op" if word in _KEYWORDS else "name", word, None, column))
            i = match.end()
            continue
        if text.startswith("==", i):
            raise ConditionSyntaxError(_HINTS["=="], column)
        operator = next((op for op in _OPERATORS if text.startswith(op, i)), None)
        if operator is None:
            raise ConditionSyntaxError(_bad_character(char), column)
        tokens.append(_Token("op", operator, None, column))
        i += len(operator)
    tokens.append(_Token("end", "", None, len(text) + 1))
    return tokens


# --- parser ---------------------------------------------------------------------------------------

# Binary operators from the loosest to the tightest binding; all are left-associative.
_LEVELS: tuple[frozenset[str], ...] = (
    frozenset({"or"}),
    frozenset({"and"}),
    frozenset({"=", "!="}),
    frozenset({"<", "<=", ">", ">="}),
    frozenset({"+", "-"}),
    frozenset({"*", "div", "mod"}),
)


def _describe(token: _Token) -> str:
    if token.kind == "end":
        return "end of expression"
    if token.kind == "string":
        return f"text {token.text}"
    if token.kind == "number":
        return f"number {token.text}"
    return f"'{token.text}'"


def _arity(spec: Function) -> str:
    if spec.max_args is None:
        return f"at least {spec.min_args}"
    if spec.min_args == spec.max_args:
        return str(spec.min_args)
    return f"{spec.min_args} to {spec.max_args}"


class _Parser:
    def __init__(self, tokens: list[_Token], *, choice_columns: bool = False) -> None:
        self.tokens = tokens
        self.pos = 0
        self.nesting = 0
        self.choice_columns = choice_columns  # bare names are columns of the choice (choice_filter)

    def peek(self) -> _Token:
        return self.tokens[self.pos]

    def advance(self) -> _Token:
        token = self.tokens[self.pos]
        if token.kind != "end":
            self.pos += 1
        return token

    def at_op(self, text: str) -> bool:
        token = self.peek()
        return token.kind == "op" and token.text == text

    def unexpected(self, token: _Token) -> ConditionSyntaxError:
        return ConditionSyntaxError(f"unexpected {_describe(token)}", token.column)

    def enter(self, token: _Token) -> None:
        self.nesting += 1
        if self.nesting > MAX_NESTING:
            raise ConditionSyntaxError("expression is nested too deeply", token.column)

    def parse(self) -> Node:
        if self.peek().kind == "end":
            raise ConditionSyntaxError("empty expression", 1)
        root = self.binary(0)
        if self.peek().kind != "end":
            raise self.unexpected(self.peek())
        return root

    def binary(self, level: int) -> Node:
        if level == len(_LEVELS):
            return self.unary()
        left = self.binary(level + 1)
        while (token := self.peek()).kind == "op" and token.text in _LEVELS[level]:
            self.advance()
            right = self.binary(level + 1)
            left = BinaryOp(token.text, left, right, token.column)
        return left

    def unary(self) -> Node:
        if self.at_op("-"):
            token = self.advance()
            self.enter(token)
            operand = self.unary()
            self.nesting -= 1
            return Negate(operand, token.column)
        return self.primary()

    def close(self, opener: _Token) -> None:
        if self.at_op(")"):
            self.advance()
            return
        token = self.peek()
        if token.kind == "end":
            # The opening bracket says more than the end of the text about which ')' is missing.
            raise ConditionSyntaxError("unclosed '('", opener.column)
        raise ConditionSyntaxError(f"expected ')' but found {_describe(token)}", token.column)

    def primary(self) -> Node:
        token = self.advance()
        if token.kind in ("number", "string"):
            assert isinstance(token.value, str | int | float)
            return Literal(token.value, token.column)
        if token.kind == "ref":
            assert isinstance(token.value, str)
            return Reference(token.value, token.column)
        if token.kind == "dot":
            return Current(token.column)
        if token.kind == "name":
            return self.call(token)
        if token.kind == "op" and token.text == "(":
            self.enter(token)
            inner = self.binary(0)
            self.close(token)
            self.nesting -= 1
            return inner
        raise self.unexpected(token)

    def call(self, name: _Token) -> Node:
        spec = FUNCTIONS.get(name.text)
        if not self.at_op("("):
            if self.choice_columns and spec is None and ":" not in name.text:
                return Field(name.text, name.column)
            if spec is not None:
                hint = f"{name.text} is a function; write {name.text}(...)"
            else:
                hint = f"unexpected name '{name.text}'; refer to a question as ${{{name.text}}}"
            raise ConditionSyntaxError(hint, name.column)
        if spec is None:
            raise ConditionSyntaxError(f"unknown function '{name.text}'", name.column)
        opener = self.advance()
        self.enter(opener)
        args: list[Node] = []
        if not self.at_op(")"):
            args.append(self.binary(0))
            while self.at_op(","):
                self.advance()
                args.append(self.binary(0))
        self.close(opener)
        self.nesting -= 1
        count = len(args)
        if count < spec.min_args or (spec.max_args is not None and count > spec.max_args):
            plural = "" if _arity(spec) == "1" else "s"
            raise ConditionSyntaxError(f"{name.text}() takes {_arity(spec)} argument{plural}, got {count}", name.column)
        check = ARGUMENT_CHECKS.get(name.text)
        if check is not None:
            check(tuple(args))
        return Call(name.text, tuple(args), name.column)


def _check_depth(root: Node) -> None:
    stack = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise ConditionSyntaxError("expression is too long to evaluate safely", node.column)
        stack.extend((child, depth + 1) for child in _children(node))


@functools.lru_cache(maxsize=1024)
def parse_condition(text: str, *, choice_columns: bool = False) -> Condition:
    """Parse a condition; raises ConditionSyntaxError with a column for anything malformed.

    Grammar, loosest binding first (every binary operator is left-associative):

        expr    := or
        or      := and ('or' and)*
        and     := eq ('and' eq)*
        eq      := rel (('=' | '!=') rel)*
        rel     := add (('<' | '<=' | '>' | '>=') add)*
        add     := mul (('+' | '-') mul)*
        mul     := unary (('*' | 'div' | 'mod') unary)*
        unary   := '-' unary | primary
        primary := NUMBER | STRING | '${' ID '}' | '.' | NAME '(' [expr (',' expr)*] ')'
                 | '(' expr ')'

    Strings are '...' or "..." with no escapes; functions are the keys of FUNCTIONS. With
    `choice_columns` (a choice_filter), a bare NAME is a column of the choice being tested.
    The result is cached on the text because the app evaluates the same conditions repeatedly.
    """
    root = _Parser(_tokenize(text), choice_columns=choice_columns).parse()
    _check_depth(root)
    return Condition(text, root)
