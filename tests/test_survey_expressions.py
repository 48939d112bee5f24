"""XLSForm `relevant` and `constraint` expressions evaluate on the server as ODK does."""

import pytest

from municipium.surveys.expressions import ExpressionError, parse


@pytest.mark.parametrize(
    ("text", "answers", "current", "expected"),
    [
        ("${q1} = '5'", {"q1": "5"}, None, True),
        ("${q1} = 5", {"q1": "5"}, None, True),  # numeric text compares as a number
        ("${q1} >= 4", {"q1": "3"}, None, False),
        (". >= 0 and . <= 120", {}, 130, False),
        (". >= 0 and . <= 120", {}, 30, True),
        ("selected(${s}, 'b')", {"s": ["a", "b"]}, None, True),
        ("selected(${s}, 'c')", {"s": "a b"}, None, False),  # ODK's space-separated form
        ("count-selected(${s}) <= 2", {"s": ["a", "b", "c"]}, None, False),
        ("not(${x} = '')", {}, None, False),  # unanswered is the empty string
        ("${x} != ''", {"x": "no"}, None, True),
        ("${a} div 2 = 3", {"a": 6}, None, True),
        ("${a} mod 4 = 2", {"a": 6}, None, True),
        ("${a}-1 = 2", {"a": 3}, None, True),
        ("-${a} < 0", {"a": 3}, None, True),
        ("string-length(.) <= 5", {}, "abcdef", False),
        ("if(${a} > 1, 'y', 'n') = 'y'", {"a": 2}, None, True),
        ("coalesce(${a}, 'none') = 'none'", {}, None, True),
        ("${age} > 17 or ${consent} = 'yes'", {"age": 12, "consent": "yes"}, None, True),
        ("${q} < 3", {}, None, False),  # an unanswered question is not less than anything
    ],
)
def test_expressions_follow_xpath_rules(text, answers, current, expected):
    assert parse(text).holds(answers, current) is expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("${q1} = ", "does not parse"),
        ("foo(1)", "Unknown function “foo”"),
        ("${a} === 1", "near “== 1”"),
        ("selected(${a})", "takes 2 to 2 arguments, not 1"),
        ("${a} = 'x", "does not parse"),
        ("", "ends too early"),
        ("${a} = 1 = 2", "near “= 2”"),
    ],
)
def test_bad_expressions_say_what_and_where(text, message):
    with pytest.raises(ExpressionError) as caught:
        parse(text)
    assert message in caught.value.message


def test_references_are_checked_against_the_questionnaire():
    assert parse("${a} = 1 and ${b} > 2").references == {"a", "b"}
    with pytest.raises(ExpressionError, match=r"does not exist: \$\{zz\}"):
        parse("${zz} = 1", frozenset({"a"}))
