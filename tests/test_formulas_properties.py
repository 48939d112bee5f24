"""Properties of the formula language, over random formulas and random data.

The compute engine uses to_polars() and previews use evaluate(); a page and the engine
must never show two numbers for one figure (DESIGN principle 5), so they are compared
here on formulas built from every operator and function, and on data with blanks, zeros,
NaN and huge values.
"""

import math
import os


def _configure_django_for_plain_pytest():
    """Let these tests run before the project's pytest-django settings exist (see
    test_formulas.py); the lead replaces this helper with them."""
    from django.conf import settings

    if not settings.configured and "DJANGO_SETTINGS_MODULE" not in os.environ:
        settings.configure(USE_I18N=False)


_configure_django_for_plain_pytest()

import polars as pl  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from municipium.lib.formulas import FormulaError, Ref, parse  # noqa: E402
from municipium.lib.formulas.ast import (  # noqa: E402
    COMPARISONS,
    Binary,
    Call,
    Lag,
    Number,
    Round,
    Unary,
    Variable,
    to_text,
)

UNITS = 3
PERIODS = 4

REFS = [
    Ref("a"),
    Ref("b"),
    Ref("water_billed"),
    Ref("pop", "F"),
    Ref("pop", "80+"),
    Ref("pop", None, ()),
    Ref("pop", None, ("65-79", "80+")),
]

numbers = st.one_of(
    st.sampled_from([0.0, 1.0, 2.0, 0.5, 2.5, 100.0, 1e-300, 1e300]),
    st.floats(min_value=0, max_value=1e6, allow_nan=False, allow_infinity=False),
).map(lambda v: Number(v, repr(v)))

leaves = st.one_of(numbers, st.sampled_from(REFS).map(Variable))


def _extend(children):
    two = st.tuples(children, children)
    some = st.lists(children, min_size=2, max_size=3).map(tuple)
    return st.one_of(
        st.builds(Unary, st.sampled_from(["-", "not"]), children),
        st.builds(
            lambda op, pair: Binary(op, *pair),
            st.sampled_from(["+", "-", "*", "/", *COMPARISONS, "and", "or"]),
            two,
        ),
        st.builds(Call, st.sampled_from(["min", "max", "coalesce"]), some),
        st.builds(lambda arg: Call("abs", (arg,)), children),
        st.builds(lambda args: Call("if", args), st.tuples(children, children, children)),
        st.builds(Round, children, st.integers(0, 4)),
        st.builds(Lag, children, st.integers(1, 2)),
    )


trees = st.recursive(leaves, _extend, max_leaves=12)

# Blanks, zeros, NaN (must read as missing), ordinary and extreme values.
cell = st.one_of(
    st.none(),
    st.just(0.0),
    st.just(float("nan")),
    st.sampled_from([1.0, -1.0, 2.5, -2.5, 0.125, 1e308, -1e308]),
    st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False),
    st.floats(allow_nan=False, allow_infinity=False),
)


def _agree(expected, actual) -> bool:
    if expected is None or actual is None:
        return expected is None and actual is None
    return math.isclose(expected, actual, rel_tol=1e-9)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tree=trees, data=st.data())
def test_polars_and_scalar_evaluation_agree(tree, data):
    formula = parse(to_text(tree))
    rows = UNITS * PERIODS
    columns = {ref: f"c{i}" for i, ref in enumerate(sorted(formula.refs, key=repr))}
    values = {ref: data.draw(st.lists(cell, min_size=rows, max_size=rows), label=str(ref)) for ref in columns}

    frame = pl.DataFrame(
        {
            "unit": [unit for unit in range(UNITS) for _period in range(PERIODS)],
            "period": [period for _unit in range(UNITS) for period in range(PERIODS)],
            **{columns[ref]: pl.Series(v, dtype=pl.Float64) for ref, v in values.items()},
        }
    )
    result = frame.with_columns(result=formula.to_polars(columns.__getitem__))["result"]
    assert result.dtype == pl.Float64
    assert not result.is_nan().any() and not result.is_infinite().any()

    for row, actual in enumerate(result.to_list()):
        unit, period = divmod(row, PERIODS)

        def lookup(ref, lag, unit=unit, period=period):
            # Periods before the frame's first are unknown; never read another unit's rows.
            return values[ref][unit * PERIODS + period - lag] if period - lag >= 0 else None

        expected = formula.evaluate(lookup)
        assert _agree(expected, actual), (str(formula), unit, period, expected, actual)


@settings(max_examples=200, deadline=None)
@given(tree=trees)
def test_canonical_and_pretty_text_parse_back_to_the_same_formula(tree):
    formula = parse(to_text(tree))
    assert formula.tree == tree
    assert parse(str(formula)) == formula
    assert parse(formula.pretty()) == formula
    assert str(parse(str(formula))) == str(formula)


@settings(max_examples=200, deadline=None)
@given(tree=trees)
def test_substituting_an_indicator_computes_the_same_as_computing_it_first(tree):
    # other = tree; "x * other - lag(other)" expanded must equal computing other on its own.
    other = parse(to_text(tree))
    outer = parse("x * other - lag(other)")
    expanded = outer.substitute({"other": other})
    assert "other" not in expanded.names

    def lookup(ref, lag):
        return {"x": 3.0}.get(ref.name, float(len(ref.name) + lag))

    inner = {lag: other.evaluate(lambda ref, extra, lag=lag: lookup(ref, lag + extra)) for lag in (0, 1)}
    direct = outer.evaluate(lambda ref, lag: lookup(ref, lag) if ref.name == "x" else inner[lag])
    assert _agree(direct, expanded.evaluate(lookup))


@settings(max_examples=200, deadline=None)
@given(text=st.text(alphabet="ab1 .e+-*/()[]<>=!,\"'×÷−≤≥≠$_", max_size=30) | st.text(max_size=15))
def test_any_text_either_parses_or_raises_a_formula_error_with_a_column(text):
    try:
        formula = parse(text)
    except FormulaError as error:
        assert error.column is None or 1 <= error.column <= len(text) + 1
        assert str(error)
    else:
        assert parse(str(formula)) == formula
