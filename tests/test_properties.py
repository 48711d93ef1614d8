"""Property-based tests (hypothesis) of the condition parser and of the text normaliser."""

from __future__ import annotations

import math
import re
import string

import zhconv
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coding.normalize import normalize
from survey_tui.model.conditions import (
    FUNCTIONS,
    BinaryOp,
    Call,
    ConditionSyntaxError,
    Current,
    Literal,
    Negate,
    Node,
    Reference,
    parse_condition,
)

# The machine is shared and slow at times: no deadline, a fixed number of examples per property.
PROPERTY = settings(deadline=None, max_examples=300, suppress_health_check=[HealthCheck.too_slow])

# -- the condition language ---------------------------------------------------------------------

BINARY = ("or", "and", "=", "!=", "<", "<=", ">", ">=", "+", "-", "*", "div", "mod")
CALLS = sorted(name for name, spec in FUNCTIONS.items() if name != "regex" and spec.max_args is not None)
identifiers = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,10}", fullmatch=True)
# String literals have no escapes: a text holds one kind of quote at most, and no '}' after '${'.
texts = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="'\""), max_size=12)


def leaves() -> st.SearchStrategy[Node]:
    return st.one_of(
        st.integers(min_value=0, max_value=10**6).map(Literal),
        texts.map(Literal),
        identifiers.map(Reference),
        st.just(Current()),
    )


def extend(children: st.SearchStrategy[Node]) -> st.SearchStrategy[Node]:
    calls = st.sampled_from(CALLS).flatmap(
        lambda name: st.tuples(*[children] * FUNCTIONS[name].min_args).map(lambda args: Call(name, tuple(args)))
    )
    return st.one_of(
        children.map(Negate),
        st.tuples(st.sampled_from(BINARY), children, children).map(lambda t: BinaryOp(*t)),
        calls,
    )


trees = st.recursive(leaves(), extend, max_leaves=10)


def render(node: Node, space: str = " ") -> str:
    """The source text of a tree, every composite in parentheses (parentheses make no node)."""
    match node:
        case Literal(value=str(text)):
            return f"'{text}'"
        case Literal(value=value):
            return str(value)
        case Reference(name=name):
            return "${" + name + "}"
        case Current():
            return "."
        case Negate(operand=operand):
            return f"-({render(operand, space)})"
        case BinaryOp(op=op, left=left, right=right):
            return f"({render(left, space)}{space}{op}{space}{render(right, space)})"
        case Call(name=name, args=args):
            return f"{name}(" + f",{space}".join(render(arg, space) for arg in args) + ")"
    raise AssertionError(node)


@PROPERTY
@given(trees)
def test_what_is_written_parses_back_to_the_same_tree(tree: Node) -> None:
    assert parse_condition(render(tree)).root == tree


@PROPERTY
@given(trees, st.sampled_from([" ", "  ", "\t", "\n  ", " \u3000 "]))
def test_whitespace_between_tokens_changes_nothing(tree: Node, space: str) -> None:
    assert parse_condition(render(tree, space)).root == parse_condition(render(tree)).root


@PROPERTY
@given(trees)
def test_references_are_exactly_the_ids_written(tree: Node) -> None:
    source = render(tree)
    assert parse_condition(source).references == frozenset(re.findall(r"\$\{(\w+)\}", _without_strings(source)))


def _without_strings(source: str) -> str:
    return re.sub(r"'[^']*'", "''", source)


answer_values = st.one_of(
    st.none(),
    st.text(max_size=8),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.lists(st.text(max_size=5), max_size=4),
)


@PROPERTY
@given(trees, st.dictionaries(identifiers, answer_values, max_size=6), answer_values)
def test_any_condition_evaluates_to_a_boolean_whatever_the_answers(tree: Node, answers: dict, current: object) -> None:
    condition = parse_condition(render(tree))
    assert condition.evaluate(answers, current=current) in (True, False)


TOKENS = [
    "${q1}", "${", "}", ".", "..", "'a'", "'", '"', "3", "3.5", "-", "+", "*", "div", "mod", "=", "==", "!=",
    "<", "<=", ">", ">=", "and", "or", "not", "(", ")", ",", "selected", "count-selected", "regex", "if", "$",
    "（", "＝", "‘", "中文", " ", "/", "%", "&", "|", "!", "@", "\x00",
]  # fmt: skip


@PROPERTY
@given(st.one_of(st.text(max_size=60), st.lists(st.sampled_from(TOKENS), max_size=25).map("".join)))
def test_any_text_parses_or_is_a_syntax_error_with_a_column(text: str) -> None:
    try:
        condition = parse_condition(text)
    except ConditionSyntaxError as error:
        assert 1 <= error.column <= len(text) + 1
        assert str(error).endswith(f"at column {error.column}")
        return
    assert condition.evaluate({}) in (True, False)


# Whole-number arithmetic and comparisons mean what they mean in Python.
numbers = st.recursive(
    st.integers(min_value=0, max_value=999).map(Literal),
    lambda children: st.one_of(
        children.map(Negate),
        st.tuples(st.sampled_from(["+", "-", "*"]), children, children).map(lambda t: BinaryOp(*t)),
    ),
    max_leaves=8,
)


def python_value(node: Node) -> int:
    match node:
        case Literal(value=int(value)):
            return value
        case Negate(operand=operand):
            return -python_value(operand)
        case BinaryOp(op="+", left=left, right=right):
            return python_value(left) + python_value(right)
        case BinaryOp(op="-", left=left, right=right):
            return python_value(left) - python_value(right)
        case BinaryOp(op="*", left=left, right=right):
            return python_value(left) * python_value(right)
    raise AssertionError(node)


@PROPERTY
@given(numbers, numbers, st.sampled_from(["=", "!=", "<", "<=", ">", ">="]))
def test_arithmetic_and_comparisons_agree_with_python(left: Node, right: Node, op: str) -> None:
    assert parse_condition(render(left)).value({}) == python_value(left)
    compare = {"=": "==", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}[op]
    expected = eval(f"{python_value(left)} {compare} {python_value(right)}")  # ints only, built above
    assert parse_condition(render(BinaryOp(op, left, right))).evaluate({}) is expected


@PROPERTY
@given(trees, trees, st.dictionaries(identifiers, answer_values, max_size=4))
def test_and_or_not_follow_boolean_logic(first: Node, second: Node, answers: dict) -> None:
    a = parse_condition(render(first)).evaluate(answers)
    b = parse_condition(render(second)).evaluate(answers)
    assert parse_condition(render(BinaryOp("and", first, second))).evaluate(answers) is (a and b)
    assert parse_condition(render(BinaryOp("or", first, second))).evaluate(answers) is (a or b)
    assert parse_condition(render(Call("not", (first,)))).evaluate(answers) is (not a)


@PROPERTY
@given(numbers, numbers, numbers)
def test_multiplication_binds_tighter_than_addition(a: Node, b: Node, c: Node) -> None:
    loose = f"{render(a)} + {render(b)} * {render(c)}"
    assert parse_condition(loose).root == BinaryOp("+", a, BinaryOp("*", b, c))


@PROPERTY
@given(st.integers(min_value=-1000, max_value=1000), st.integers(min_value=-1000, max_value=1000))
def test_div_and_mod_never_raise_and_mod_truncates(a: int, b: int) -> None:
    quotient = parse_condition(f"{a} div {b}").value({})
    remainder = parse_condition(f"{a} mod {b}").value({})
    if b == 0:
        assert math.isnan(quotient) and math.isnan(remainder)
    else:
        assert quotient == a / b and remainder == math.fmod(a, b)


# -- the text normaliser ------------------------------------------------------------------------

# Text as answers come: Chinese (simplified and traditional), full-width forms, emoji, spaces of
# every kind, digits and punctuation.
answer_text = st.text(
    alphabet=st.one_of(
        st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF),
        st.sampled_from("電話網絡費後臺寬帶們這個說"),
        st.characters(min_codepoint=0xFF01, max_codepoint=0xFF5E),
        st.sampled_from("😀😡👍🏻❤️\u200d\ufe0f⭐\u3000 \t\n\r，。！？、"),
        st.sampled_from(string.ascii_letters + string.digits + string.punctuation),
    ),
    max_size=40,
)
EMOJI = re.compile("[\U0001f000-\U0001faff\U00002600-\U000027bf\ufe0f\u200d\u2b50]")


@PROPERTY
@given(answer_text)
def test_normalising_twice_changes_nothing(text: str) -> None:
    once = normalize(text)
    assert normalize(once) == once


@PROPERTY
@given(answer_text)
def test_normalised_text_is_half_width_simplified_single_spaced_without_emoji(text: str) -> None:
    result = normalize(text)
    assert not any("\uff01" <= char <= "\uff5e" or char == "\u3000" for char in result)
    assert result == result.strip() and "  " not in result and not re.search(r"[\t\n\r]", result)
    assert not EMOJI.search(result)
    assert zhconv.convert(result, "zh-cn") == result


@PROPERTY
@given(st.one_of(st.none(), st.integers(), st.floats(), st.booleans(), st.text()))
def test_normalise_takes_any_cell_a_table_can_hold(value: object) -> None:
    assert isinstance(normalize(value), str)


no_digits = st.text(
    alphabet=st.one_of(st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF), st.sampled_from("，。 ab")),
    max_size=10,
)


@PROPERTY
@given(no_digits, st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True), no_digits, st.sampled_from(["", " ", "-"]))
def test_a_mobile_number_in_an_answer_is_always_masked(before: str, phone: str, after: str, separator: str) -> None:
    written = f"{phone[:3]}{separator}{phone[3:7]}{separator}{phone[7:]}"
    result = normalize(f"{before}{written}{after}")
    assert phone not in result.replace(" ", "").replace("-", "")
    assert f"{phone[:3]}****{phone[-4:]}" in result
