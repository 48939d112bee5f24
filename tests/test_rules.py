"""Checks on figures as people type them (observations.rules) and the rules' own checks."""

import pytest
from django.core.exceptions import ValidationError

from municipium.observations.models import ValidationRule
from municipium.observations.rules import (
    ERROR,
    WARNING,
    NumberError,
    check_consistency,
    check_value,
    parse_number,
    referenced_codes,
    relative_change,
)
from tests import factories as f


class Rule:
    def __init__(self, kind, expression="", minimum=None, maximum=None, threshold=None, severity=WARNING, message=None):
        self.kind, self.expression, self.minimum, self.maximum = kind, expression, minimum, maximum
        self.threshold, self.severity, self.message = threshold, severity, message or {}


@pytest.mark.parametrize(
    "text, language, expected",
    [
        ("1234.5", "en", 1234.5),
        ("1,234.5", "en", 1234.5),
        ("1,5", "en", 1.5),
        ("-7", "en", -7),
        ("1 234,5", "pl", 1234.5),
        ("1\u202f234,5", "lt", 1234.5),
        ("1.234,5", "sr", 1234.5),
        ("1.234", "bg", 1234),
        ("1.5", "pl", 1.5),
        ("−3,25", "pl", -3.25),
        ("۱۲۳۴٫۵", "fa", 1234.5),
        ("۱٬۲۳۴", "fa", 1234),
        ("12.5", "fa", 12.5),
        ("", "en", None),
        ("   ", "pl", None),
        ("1e3", "en", 1000),
    ],
)
def test_numbers_are_read_as_each_language_writes_them(text, language, expected):
    assert parse_number(text, language) == expected


@pytest.mark.parametrize("text", ["12x", "1,2,3.4.5", "abc", "inf", "nan", "1..2", "--1"])
def test_text_that_is_not_a_number_is_refused_with_an_example_of_how_to_write_one(text):
    with pytest.raises(NumberError) as error:
        parse_number(text, "pl")
    assert "1 234,5" in str(error.value).replace("\u202f", " ").replace("\u00a0", " ")


def test_the_variables_limits_are_errors():
    assert [x.severity for x in check_value(-1, minimum=0)] == [ERROR]
    assert [x.severity for x in check_value(101, maximum=100)] == [ERROR]
    assert check_value(50, minimum=0, maximum=100) == []
    assert check_value(None, minimum=0) == []


def test_a_range_rule_has_its_own_severity_and_message():
    rule = Rule("range", minimum=10, maximum=20, severity=WARNING, message={"en": "Unusual for a small town."})
    assert check_value(25, rules=[rule], language="en")[0] == (WARNING, "Unusual for a small town.")
    assert check_value(15, rules=[rule]) == []


def test_an_unusual_change_from_the_previous_period_is_flagged_beyond_the_threshold():
    rule = Rule("change", threshold=50)
    assert check_value(140, previous=100, rules=[rule]) == []
    found = check_value(151, previous=100, rules=[rule], language="en")
    assert found[0].severity == WARNING and "51 % change" in found[0].message
    assert check_value(40, previous=100, rules=[rule])  # falls by 60 %
    assert check_value(5, previous=0, rules=[rule])  # from nothing to something
    assert check_value(5, previous=None, rules=[rule]) == []  # nothing to compare with
    assert relative_change(0, 0) == 0


def test_a_consistency_rule_holds_fails_or_waits_for_its_inputs():
    rule = Rule("consistency", "water_billed <= water_produced", severity=ERROR)
    assert check_consistency(rule, {("water_billed", ""): 5, ("water_produced", ""): 10}) is None
    finding = check_consistency(rule, {("water_billed", ""): 11, ("water_produced", ""): 10}, language="en")
    assert finding.severity == ERROR and "water_billed ≤ water_produced" in finding.message
    assert check_consistency(rule, {("water_billed", ""): 11}) is None  # produced not known yet


def test_consistency_rules_read_categories_sums_and_the_previous_period():
    values = {("pop", "F"): 6, ("pop", "M"): 5, ("pop", ""): 10}
    assert check_consistency(Rule("consistency", "sum(pop) == pop"), values)  # 11 != 10
    assert check_consistency(Rule("consistency", 'pop["F"] <= pop'), values) is None
    assert check_consistency(Rule("consistency", "pop >= lag(pop)"), values, {("pop", ""): 12})
    assert check_consistency(Rule("consistency", "pop >= lag(pop)"), values, {("pop", ""): 9}) is None
    assert referenced_codes([Rule("consistency", "a <= b + lag(c)"), Rule("change", threshold=5)]) == {"a", "b", "c"}


def test_a_broken_stored_rule_does_not_break_data_entry():
    assert check_consistency(Rule("consistency", "a <="), {("a", ""): 1}) is None


@pytest.mark.django_db
def test_a_consistency_rule_that_does_not_parse_or_names_an_unknown_variable_is_refused():
    billed = f.variable("water_billed")
    f.variable("water_produced")
    ok = ValidationRule(variable=billed, kind="consistency", expression="water_billed <= water_produced")
    ok.full_clean()
    for expression, words in (
        ("water_billed <=", "unexpected end"),
        ("water_billed <= watr", "unknown name 'watr'"),
        ("", "needs a condition"),
    ):
        rule = ValidationRule(variable=billed, kind="consistency", expression=expression)
        with pytest.raises(ValidationError) as error:
            rule.full_clean()
        assert words in str(error.value.message_dict["expression"])


@pytest.mark.django_db
def test_range_and_change_rules_need_their_numbers():
    v = f.variable()
    with pytest.raises(ValidationError):
        ValidationRule(variable=v, kind="range").full_clean()
    with pytest.raises(ValidationError):
        ValidationRule(variable=v, kind="range", minimum=5, maximum=1).full_clean()
    with pytest.raises(ValidationError):
        ValidationRule(variable=v, kind="change", threshold=0).full_clean()
    ValidationRule(variable=v, kind="change", threshold=50).full_clean()
