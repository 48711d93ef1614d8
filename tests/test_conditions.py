"""Tests for the condition language used by `relevant` and `constraint`."""

from __future__ import annotations

import ast
import builtins
import dataclasses
import inspect
import math
import pickle

import pytest

from survey_tui.model import conditions
from survey_tui.model.conditions import Condition, ConditionSyntaxError, parse_condition

OPERATOR = "${q1_operator} != '' and ${q1_operator} != 'china_telecom' and ${q1_operator} != 'none'"


def holds(text: str, answers: dict[str, object] | None = None, current: object = None) -> bool:
    return parse_condition(text).evaluate(answers or {}, current)


def value(text: str, answers: dict[str, object] | None = None, current: object = None) -> object:
    return parse_condition(text).value(answers or {}, current)


# --- typical survey conditions --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        ({}, False),
        ({"q1_operator": None}, False),
        ({"q1_operator": ""}, False),
        ({"q1_operator": "china_mobile"}, True),
        ({"q1_operator": "china_unicom"}, True),
        ({"q1_operator": "china_telecom"}, False),
        ({"q1_operator": "none"}, False),
        ({"q1_operator": "China_Telecom"}, True),  # codes are case-sensitive
        ({"other_question": "china_mobile"}, False),
    ],
)
def test_operator_relevance(answers: dict[str, object], expected: bool) -> None:
    assert holds(OPERATOR, answers) is expected


@pytest.mark.parametrize(
    ("factors", "expected"),
    [
        (["price", "speed"], True),
        (["price"], True),
        (["speed", "service"], False),
        ([], False),
        (None, False),
        ("price", True),  # a single choice answer is a plain string
        ("prices", False),
        ("", False),
        (("speed", "price"), True),
    ],
)
def test_selected(factors: object, expected: bool) -> None:
    assert holds("selected(${q5_factors}, 'price')", {"q5_factors": factors}) is expected


@pytest.mark.parametrize(
    ("factors", "count", "at_least_two"),
    [
        (["price", "speed", "service"], 3, True),
        (["price", "speed"], 2, True),
        (["price"], 1, False),
        ([], 0, False),
        (None, 0, False),
        ("price", 1, False),
        ("", 0, False),
    ],
)
def test_count_selected(factors: object, count: int, at_least_two: bool) -> None:
    answers = {"q5_factors": factors}
    assert value("count-selected(${q5_factors})", answers) == count
    assert holds("count-selected(${q5_factors}) >= 2", answers) is at_least_two


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (0, True),
        (12, True),
        (50, True),
        (51, False),
        (-1, False),
        (12.5, True),
        (50.01, False),
        ("12", True),
        (" 12 ", True),
        ("12.5", True),
        ("-3", False),
        ("51", False),
        ("abc", False),
        ("1e1", False),  # no exponent notation, as in XPath
        ("nan", False),
        ("", False),
        (None, False),
    ],
)
def test_range_constraint(answer: object, expected: bool) -> None:
    assert holds(". >= 0 and . <= 50", current=answer) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("网速太慢" * 50, True),  # exactly 200 characters
        ("网速太慢" * 50 + "。", False),
        ("宽带经常断线，客服态度差", True),
        ("", True),
        (None, True),
    ],
)
def test_length_constraint_counts_characters(text: object, expected: bool) -> None:
    assert holds("string-length(.) <= 200", current=text) is expected


def test_string_length_of_chinese() -> None:
    assert value("string-length('宽带')") == 2
    assert value("string-length(${note})", {"note": "换了移动的宽带"}) == 7


@pytest.mark.parametrize(
    ("phone", "expected"),
    [
        ("13812345678", True),
        ("19912345678", True),
        (13812345678, True),
        ("12812345678", False),
        ("1381234567", False),
        ("138123456789", False),
        ("1381234567a", False),
        ("", False),
        (None, False),
    ],
)
def test_phone_regex(phone: object, expected: bool) -> None:
    assert holds("regex(., '^1[3-9][0-9]{9}$')", current=phone) is expected


def test_regex_matches_anywhere_like_odk() -> None:
    assert holds("regex('abc123', '[0-9]')")
    assert not holds("regex('abc', '^[0-9]')")
    assert holds("regex(${note}, '慢')", {"note": "网速太慢了"})


def test_regex_with_computed_bad_pattern_is_false() -> None:
    assert holds("regex('a(', ${pattern})", {"pattern": "a\\("})
    assert not holds("regex('a(', ${pattern})", {"pattern": "a("})


def test_chinese_literals() -> None:
    assert holds("${city} = '北京'", {"city": "北京"})
    assert not holds("${city} = '北京'", {"city": "上海"})
    either = "contains(${reason}, '太慢') or starts-with(${reason}, '价格')"
    assert holds(either, {"reason": "价格高"})
    assert not holds(either, {"reason": "服务差"})


def test_quotes_of_the_other_kind() -> None:
    assert value("'say \"hi\"'") == 'say "hi"'
    assert value('"it\'s"') == "it's"


# --- precedence and arithmetic --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 + 2 * 3 = 7", True),
        ("(1 + 2) * 3 = 9", True),
        ("1 + 2 * 3", 7),
        ("10 - 4 - 3", 3),  # left-associative
        ("2 * 3 mod 4", 2),
        ("12 div 2 div 3", 2.0),
        ("-2 * -3", 6),
        ("- (1 + 2)", -3),
        ("3 div-1", -3.0),
        ("not(1 = 2) and (2 > 1 or 1 > 2)", True),
        ("1 = 1 or 1 = 2 and 1 = 2", True),  # and binds tighter than or
        ("(1 = 1 or 1 = 2) and 1 = 2", False),
        ("1 < 2 = 2 < 3", True),  # comparisons bind tighter than equality
        ("1 + 1 < 3", True),
        ("true() and not(false())", True),
    ],
)
def test_precedence(text: str, expected: object) -> None:
    assert value(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("7 div 2", 3.5),
        ("7 mod 3", 1),
        ("-7 mod 3", -1),  # XPath mod keeps the sign of the dividend
        ("7.5 mod 2", 1.5),
        ("0.5 + .25", 0.75),
        ("${a} + ${b}", 5),
        ("${a} * '2'", 4),
    ],
)
def test_arithmetic(text: str, expected: object) -> None:
    assert value(text, {"a": 2, "b": "3"}) == expected


@pytest.mark.parametrize(
    "text",
    ["1 div 0", "1 mod 0", "'abc' + 1", "${missing} * 2", "-'x'", "number('abc')", "int('x')"],
)
def test_nan_instead_of_errors(text: str) -> None:
    result = value(text)
    assert isinstance(result, float) and math.isnan(result)
    assert not holds(text)
    assert not holds(f"{text} = {text}")
    assert not holds(f"{text} > 0") and not holds(f"{text} < 0")


def test_huge_numbers_do_not_raise() -> None:
    big = "9" * 400
    assert holds(f"{big} > 1")
    assert holds(f"{big} * {big} > 1")
    assert holds(". > 1", current=big)
    assert isinstance(value("string(999999999 * 999999999 * 999999999 * 999999999)"), str)


# --- comparison semantics -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 = 1.0", True),
        ("'1' = 1", True),
        ("1 = ' 1.0 '", True),
        ("'1' = '1.0'", False),  # two strings compare as strings
        ("'' = 0", False),
        ("0 = ''", False),
        ("'abc' = 0", False),
        ("'abc' != 0", True),
        ("'a' = 'a'", True),
        ("'a' != 'b'", True),
        ("true() = 'true'", True),
        ("false() = 'false'", True),
        ("'b' > 'a'", False),  # orderings are numeric only
        ("'10' > '9'", True),
        ("'10' > 9", True),
        ("'' < 1", False),
        ("'' >= 0", False),
    ],
)
def test_comparisons(text: str, expected: bool) -> None:
    assert holds(text) is expected


@pytest.mark.parametrize(
    ("answer", "text", "expected"),
    [
        ("3", "${x} = 3", True),
        (3, "${x} = '3'", True),
        (3.0, "${x} = 3", True),
        ("3.0", "${x} = 3", True),
        (["a", "b"], "${x} = 'a b'", True),
        (["a", "b"], "${x} = 'a'", False),
        (["7"], "${x} = 7", True),
        (True, "${x} = 'true'", True),
        (False, "${x} = 'true'", False),
        (True, "${x}", True),
        (False, "${x}", False),
        (None, "${x} = ''", True),
        (None, "${x} = 0", False),
        (None, "${x} != 0", True),
        (None, "${x} > 3", False),
        (None, "${x} < 3", False),
        ("", "${x} <= 3", False),
        (["1", "2"], "${x} > 0", False),
    ],
)
def test_comparisons_with_answers(answer: object, text: str, expected: bool) -> None:
    assert holds(text, {"x": answer}) is expected


UNANSWERED_EXPRESSIONS = [
    OPERATOR,
    "${x} > 3",
    "${x} >= 0 and ${x} <= 50",
    "${x} = 0",
    "${x} != 'a'",
    "${x} + 1 > 0",
    "${x} div ${y} = 1",
    "-${x} < 0",
    "selected(${x}, 'a')",
    "count-selected(${x}) >= 2",
    "string-length(${x}) > 0",
    "regex(${x}, '^a')",
    "contains(${x}, 'a') or starts-with(${x}, 'a')",
    "int(${x}) = 0 or number(${x}) = 0",
    "if(${x}, ${y}, 'no') = 'no'",
    "coalesce(${x}, ${y}) = ''",
    "answered(${x})",
    "not(${x})",
    ". > 3",
    "string(.) = ''",
]


@pytest.mark.parametrize("text", UNANSWERED_EXPRESSIONS)
@pytest.mark.parametrize("answers", [{}, {"x": None, "y": None}, {"x": "", "y": ""}, {"x": [], "y": []}])
def test_unanswered_never_raises(text: str, answers: dict[str, object]) -> None:
    assert isinstance(parse_condition(text).evaluate(answers), bool)
    assert isinstance(parse_condition(text).evaluate(answers, current=None), bool)


@pytest.mark.parametrize("text", ["${x} > 3", "${x} = 0", ". >= 0", "selected(${x}, 'a')"])
def test_unanswered_comparisons_are_false(text: str) -> None:
    assert holds(text, {}) is False


# --- functions ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "answers", "expected"),
    [
        ("not(1)", {}, False),
        ("not('')", {}, True),
        ("true()", {}, True),
        ("false()", {}, False),
        ("if(${a} = 1, 'one', 'other')", {"a": 1}, "one"),
        ("if(${a} = 1, 'one', 'other')", {"a": 2}, "other"),
        ("coalesce(${a}, 'fallback')", {}, "fallback"),
        ("coalesce(${a}, 'fallback')", {"a": "given"}, "given"),
        ("coalesce(${a}, 'fallback')", {"a": 0}, 0),
        ("coalesce(${a}, ${b})", {"b": ["x"]}, ["x"]),
        ("int('3.9')", {}, 3),
        ("int(-3.9)", {}, -3),
        ("number(' 42 ')", {}, 42),
        ("number(true())", {}, 1),
        ("string(3.0)", {}, "3"),
        ("string(0.5)", {}, "0.5"),
        ("string(${a})", {"a": ["x", "y"]}, "x y"),
        ("string(true())", {}, "true"),
        ("string(1 div 0)", {}, "NaN"),
        ("contains('网速太慢', '太慢')", {}, True),
        ("contains('abc', 'd')", {}, False),
        ("starts-with('china_telecom', 'china_')", {}, True),
        ("starts-with('telecom', 'china_')", {}, False),
        ("answered(${a})", {"a": "x"}, True),
        ("answered(${a})", {"a": 0}, True),
        ("answered(${a})", {"a": False}, True),
        ("answered(${a})", {"a": ["x"]}, True),
        ("answered(${a})", {"a": []}, False),
        ("answered(${a})", {"a": ""}, False),
        ("answered(${a})", {"a": None}, False),
        ("answered(${a})", {}, False),
        ("${a}", {"a": None}, ""),
        ("${a}", {"a": ("x", "y")}, ["x", "y"]),
    ],
)
def test_functions(text: str, answers: dict[str, object], expected: object) -> None:
    assert value(text, answers) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1", True),
        ("0", False),
        ("0.0", False),
        ("1 div 0", False),
        ("'x'", True),
        ("''", False),
        ("'false'", True),  # a non-empty string is true, as in XPath
        ("${list}", True),
        ("${empty}", False),
    ],
)
def test_truthiness(text: str, expected: bool) -> None:
    assert holds(text, {"list": ["a"], "empty": []}) is expected


def test_function_registry_is_extensible(monkeypatch: pytest.MonkeyPatch) -> None:
    functions = dict(conditions.FUNCTIONS)
    functions["concat"] = conditions.Function(1, None, lambda *xs: "".join(map(str, xs)))
    monkeypatch.setattr(conditions, "FUNCTIONS", functions)
    parse_condition.cache_clear()
    try:
        assert value("concat('a', 'b', 'c')") == "abc"
        with pytest.raises(ConditionSyntaxError, match="at least 1"):
            parse_condition("concat()")
    finally:
        parse_condition.cache_clear()


# --- introspection --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "references", "uses_current"),
    [
        (OPERATOR, {"q1_operator"}, False),
        ("selected(${q5_factors}, 'price') and ${q6} > 3", {"q5_factors", "q6"}, False),
        (". >= 0 and . <= ${max_count}", {"max_count"}, True),
        ("string-length(.) <= 200", set(), True),
        ("if(answered(${a}), -${b}, coalesce(${c}, .))", {"a", "b", "c"}, True),
        ("1 = 1", set(), False),
        ("0.5 > .25", set(), False),  # '.25' is a number, not the current answer
    ],
)
def test_references_and_current(text: str, references: set[str], uses_current: bool) -> None:
    condition = parse_condition(text)
    assert condition.references == frozenset(references)
    assert condition.uses_current is uses_current


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (OPERATOR, (("q1_operator", "china_telecom"), ("q1_operator", "none"))),
        ("'none' = ${q1}", (("q1", "none"),)),
        (
            "selected(${q5}, 'price') or selected(${q5}, 'speed')",
            (("q5", "price"), ("q5", "speed")),
        ),
        ("${q1} = 'a' or ${q1} = 'a'", (("q1", "a"),)),
        ("not(${q2} != 'yes')", (("q2", "yes"),)),
        ("${q3} = 3", ()),  # numbers are not string literals
        ("${q3} > '3'", ()),  # orderings are not code comparisons
        ("${q3} = ${q4}", ()),
        ("contains(${q3}, 'x')", ()),
        ("selected(., 'x')", ()),
        ("${q1} = ''", ()),  # testing for "unanswered", not a code
    ],
)
def test_code_comparisons(text: str, expected: tuple[tuple[str, str], ...]) -> None:
    assert parse_condition(text).code_comparisons == expected


def test_whitespace_insensitive() -> None:
    compact = parse_condition("${a}='x'and(${b}>=2or.<1)")
    spaced = parse_condition("  ${a}  =  'x'\n and ( ${b} >= 2\tor . < 1 )  ")
    assert compact.root == spaced.root
    assert compact.source != spaced.source
    assert parse_condition("${a}\u3000=\u3000'x'").evaluate({"a": "x"})


def test_parsing_is_cached() -> None:
    assert parse_condition("${cache_me} = 1") is parse_condition("${cache_me} = 1")


def test_condition_is_frozen() -> None:
    condition = parse_condition("1 = 1")
    assert isinstance(condition, Condition)
    with pytest.raises(dataclasses.FrozenInstanceError):
        condition.source = "1 = 2"  # type: ignore[misc]


def test_long_but_reasonable_chains_work() -> None:
    text = " and ".join(f"${{q{i}}} != 'x'" for i in range(60))
    assert holds(text, {})
    assert len(parse_condition(text).references) == 60


# --- syntax errors --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "column", "fragment"),
    [
        ("", 1, "empty expression"),
        ("   ", 1, "empty expression"),
        ("${q1} = 'a')", 12, "unexpected ')'"),
        ("${q1} = 'a' 'b'", 13, "unexpected text 'b'"),
        ("1 = 1 2", 7, "unexpected number 2"),
        ("1 +", 4, "unexpected end of expression"),
        ("(1 + 2", 1, "unclosed '('"),
        ("not(1 = 1", 4, "unclosed '('"),
        ("(1 2)", 4, "expected ')'"),
        ("()", 2, "unexpected ')'"),
        ("selected(${a},)", 15, "unexpected ')'"),
        ("${q1} = 'abc", 9, "unterminated string"),
        ('"abc', 1, "unterminated string"),
        ("${q1 = 'a'", 1, "without closing '}'"),
        ("1 = ${", 5, "without closing '}'"),
        ("${} = 1", 1, "empty reference"),
        ("${1abc} = 1", 3, "invalid question id"),
        ("${a b} = 1", 3, "invalid question id"),
        ("$q1 = 1", 1, "'$' must start a reference"),
        ("foo(1)", 1, "unknown function 'foo'"),
        ("1 = bar-baz(2)", 5, "unknown function 'bar-baz'"),
        ("not(1, 2)", 1, "not() takes 1 argument, got 2"),
        ("selected(${a})", 1, "selected() takes 2 arguments, got 1"),
        ("true(1)", 1, "true() takes 0 arguments, got 1"),
        ("if(1, 2)", 1, "if() takes 3 arguments"),
        ("regex(., '[0-9')", 11, "invalid regular expression"),
        ("regex(., 'a(')", 12, "invalid regular expression"),
        ("regex(., '*')", 11, "invalid regular expression"),
        ("q1 = 'a'", 1, "refer to a question as ${q1}"),
        ("not", 1, "not is a function"),
        ("1 == 1", 3, "use '='"),
        ("6 / 2", 3, "use 'div'"),
        ("6 % 2", 3, "use 'mod'"),
        ("1 = 1 && 2 = 2", 7, "use 'and'"),
        ("!(1 = 1)", 1, "'!' is not an operator"),
        ("（1 = 1）", 1, "full-width '（'; use '('"),
        ("${a} ＝ 'x'", 6, "full-width"),
        ("${a} = ‘x’", 8, "plain ' or \""),
        ("..", 1, "'..' is not supported"),
        ("1 and", 6, "unexpected end of expression"),
        ("and 1", 1, "unexpected 'and'"),
        ("1 < < 2", 5, "unexpected '<'"),
        ("1 = #", 5, "unexpected character '#'"),
    ],
)
def test_syntax_errors(text: str, column: int, fragment: str) -> None:
    with pytest.raises(ConditionSyntaxError) as caught:
        parse_condition(text)
    error = caught.value
    assert isinstance(error, ValueError)
    assert error.column == column
    assert fragment in str(error)
    assert str(error).endswith(f" at column {column}")


def test_error_message_format() -> None:
    with pytest.raises(ConditionSyntaxError) as caught:
        parse_condition("${q1} = 'a')")
    assert str(caught.value) == "unexpected ')' at column 12"


def test_error_pickles() -> None:
    error = ConditionSyntaxError("unexpected ')'", 3)
    copy = pickle.loads(pickle.dumps(error))
    assert str(copy) == str(error) and copy.column == 3


@pytest.mark.parametrize(
    "text",
    [
        "(" * 200 + "1" + ")" * 200,
        "-" * 500 + "1",
        "not(" * 100 + "1" + ")" * 100,
        " + ".join(["1"] * 1000),
        " and ".join(["1 = 1"] * 500),
    ],
)
def test_deep_or_huge_expressions_are_syntax_errors(text: str) -> None:
    with pytest.raises(ConditionSyntaxError, match="nested too deeply|too long"):
        parse_condition(text)


# --- safety ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "__import__('os').system('echo hi')",
        "${a}.__class__",
        "${a}.__class__.__mro__",
        "eval('1')",
        "exec('import os')",
        "open('/etc/passwd')",
        "().__class__.__bases__[0].__subclasses__()",
        "'x'.join(['a'])",
        "[1, 2]",
        "lambda: 1",
        "${a}[0]",
        "${__builtins__}()",
        "1; import os",
        "os.system('echo hi')",
        "${a} = 'x' or __import__('os')",
    ],
)
def test_hostile_input_is_a_syntax_error(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("the condition language must not reach Python's eval machinery")

    monkeypatch.setattr(builtins, "eval", forbidden)
    monkeypatch.setattr(builtins, "exec", forbidden)
    monkeypatch.setattr(builtins, "__import__", forbidden)
    with pytest.raises(ConditionSyntaxError):
        parse_condition(text)


def test_module_never_calls_eval() -> None:
    tree = ast.parse(inspect.getsource(conditions))
    builtins_called = set()
    methods_called = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            if isinstance(node.func, ast.Name):
                builtins_called.add(node.func.id)
            elif isinstance(node.func, ast.Attribute):
                methods_called.add(node.func.attr)
    # re.compile is a method call and harmless; the builtin compile() is not.
    dangerous = {"eval", "exec", "compile", "__import__", "getattr", "setattr"}
    assert not builtins_called & dangerous
    assert not methods_called & {"eval", "exec", "literal_eval", "__import__"}


def test_choice_filters_read_the_columns_of_each_choice() -> None:
    condition = parse_condition("region = ${region} and name != 'x'", choice_columns=True)
    assert condition.fields == {"region", "name"} and condition.references == {"region"}
    assert condition.evaluate({"region": "north"}, row={"region": "north", "name": "t1"})
    assert not condition.evaluate({"region": "north"}, row={"region": "south", "name": "t2"})
    with pytest.raises(ConditionSyntaxError, match="refer to a question as"):
        parse_condition("region = ${region}")  # a bare name only means a column in a choice_filter


def test_dates_compare_and_subtract_as_days() -> None:
    assert parse_condition(". <= today()").evaluate({}, current="2020-01-31")
    assert not parse_condition(". <= today()").evaluate({}, current="2999-01-01")
    assert parse_condition("${a} - ${b}").value({"a": "2024-03-01", "b": "2024-02-28"}) == 2
    assert parse_condition("${a} = '2024-03-01'").evaluate({"a": "2024-03-01"})


def test_prefixed_functions_are_named_when_refused() -> None:
    with pytest.raises(ConditionSyntaxError, match="unknown function 'jr:choice-name'"):
        parse_condition("jr:choice-name(${a}, '${a}')")
