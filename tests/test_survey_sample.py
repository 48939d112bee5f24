"""Sample sizes and draws for user-satisfaction surveys (municipium.lib.survey.sample)."""

from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from municipium.lib.survey.sample import (
    allocate_proportional,
    draw_simple,
    draw_stratified,
    draw_systematic,
    sample_size,
    sample_size_by_stratum,
)

# -- sample size -------------------------------------------------------------------------


def test_the_classic_385_for_five_points_at_95_percent():
    # Cochran (1977), Sampling Techniques, §4.4: n0 = 1.96² × 0.25 / 0.05² = 384.16 → 385.
    result = sample_size(0.05)
    assert result.completed == 385
    steps = {s.key: s.value for s in result.steps}
    assert steps["infinite_population_n"] == pytest.approx(384.146, abs=1e-3)


@pytest.mark.parametrize(("population", "expected"), [(100, 80), (1000, 278), (10000, 370)])
def test_finite_population_correction_matches_krejcie_and_morgan(population, expected):
    # Krejcie & Morgan (1970), "Determining sample size for research activities",
    # Educational and Psychological Measurement 30:607-610, Table 1 (±5%, 95%, P = 0.5).
    assert sample_size(0.05, population=population).completed == expected


def test_design_effect_and_response_rate_raise_the_numbers_step_by_step():
    result = sample_size(0.05, design_effect=2.0, response_rate=0.4)
    steps = {s.key: s.value for s in result.steps}
    assert steps["with_design_effect"] == pytest.approx(2 * 384.1459, abs=1e-3)
    assert result.completed == 769  # ⌈768.29⌉
    assert result.contacts == 1923  # ⌈769 / 0.4⌉ = ⌈1922.5⌉
    assert [s.key for s in result.steps] == [
        "z",
        "infinite_population_n",
        "with_design_effect",
        "completed_interviews",
        "response_rate",
        "contacts",
    ]


def test_a_small_population_is_never_exceeded():
    result = sample_size(0.01, population=50, response_rate=0.5)
    assert result.completed == 50 and result.contacts == 50


def test_sample_size_per_stratum_adds_up():
    result = sample_size_by_stratum({"north": 1000, "south": 100}, 0.05)
    assert result.strata["north"].completed == 278 and result.strata["south"].completed == 80
    assert result.completed == 358


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"margin_of_error": 0.0}, "margin_of_error"),
        ({"margin_of_error": 0.05, "confidence": 1.0}, "confidence"),
        ({"margin_of_error": 0.05, "confidence": 95}, "confidence"),
        ({"margin_of_error": 0.05, "proportion": 1.0}, "proportion"),
        ({"margin_of_error": 0.05, "response_rate": 0.0}, "response_rate"),
        ({"margin_of_error": 0.05, "design_effect": 0.5}, "design_effect"),
        ({"margin_of_error": 0.05, "population": 0}, "population"),
    ],
)
def test_impossible_sample_size_requests_name_what_is_wrong(kwargs, message):
    with pytest.raises(ValueError, match=message):
        sample_size(**kwargs)


# -- draws -------------------------------------------------------------------------------


def test_simple_random_draw_is_repeatable_from_its_seed():
    first = draw_simple(1000, 50, seed=2026)
    again = draw_simple(1000, 50, seed=first.seed)
    assert np.array_equal(first.positions, again.positions)
    assert len(set(first.positions.tolist())) == 50
    assert first.positions.min() >= 0 and first.positions.max() < 1000
    assert np.allclose(first.probabilities, 0.05)


def test_a_draw_without_seed_records_the_seed_it_used():
    draw = draw_simple(100, 10)
    assert np.array_equal(draw_simple(100, 10, seed=draw.seed).positions, draw.positions)


def test_systematic_draw_with_fractional_interval_takes_exactly_n_evenly_spread():
    draw = draw_systematic(1000, 300, seed=7)
    assert draw.interval == pytest.approx(1000 / 300)
    assert len(draw.positions) == 300 and len(set(draw.positions.tolist())) == 300
    gaps = np.diff(draw.positions)
    assert set(gaps.tolist()) <= {3, 4}  # a fractional interval alternates ⌊k⌋ and ⌈k⌉
    assert 0 <= draw.start < draw.interval


def test_systematic_draw_on_a_sort_key_spreads_the_sample_over_the_key():
    districts = ["b"] * 50 + ["a"] * 50  # frame order hides the districts
    draw = draw_systematic(100, 10, seed=1, sort_key=districts)
    picked = Counter(districts[i] for i in draw.positions)
    assert picked == {"a": 5, "b": 5}


def test_proportional_allocation_by_largest_remainder():
    assert allocate_proportional({"A": 50, "B": 30, "C": 20}, 10) == {"A": 5, "B": 3, "C": 2}
    # Quotas 4.5, 3.5, 2.0 → floors 4, 3, 2; the one left over goes to the first tie (A).
    assert allocate_proportional({"A": 45, "B": 35, "C": 20}, 10) == {"A": 5, "B": 3, "C": 2}


def test_every_non_empty_stratum_gets_at_least_one_unit():
    assert allocate_proportional({"town": 990, "hamlet": 5, "farm": 5}, 10) == {"town": 8, "hamlet": 1, "farm": 1}


def test_stratified_draw_gives_inclusion_probabilities_per_stratum():
    strata = ["x"] * 60 + ["y"] * 40
    draw = draw_stratified(strata, n=10, seed=3)
    assert draw.allocation == {"x": 6, "y": 4}
    for position, p in zip(draw.positions, draw.probabilities, strict=True):
        assert p == pytest.approx(0.1)
        assert 0 <= position < 100
    fixed = draw_stratified(strata, sizes={"x": 3, "y": 20}, seed=3)
    by_stratum = Counter(strata[i] for i in fixed.positions)
    assert by_stratum == {"x": 3, "y": 20}
    probs = {strata[i]: p for i, p in zip(fixed.positions, fixed.probabilities, strict=True)}
    assert probs == {"x": pytest.approx(3 / 60), "y": pytest.approx(20 / 40)}


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: draw_simple(10, 11), "larger than the frame"),
        (lambda: draw_simple(0, 1), "empty"),
        (lambda: draw_simple(10, 0), "at least 1"),
        (lambda: draw_systematic(5, 6), "larger than the frame"),
        (lambda: draw_stratified([], n=1), "empty"),
        (lambda: draw_stratified(["a", "b"], n=1), "non-empty strata"),
        (lambda: draw_stratified(["a", "a", "b"], sizes={"a": 3, "b": 1}), "stratum 'a'"),
        (lambda: draw_stratified(["a", "b"], sizes={"a": 1, "b": 1, "c": 1}), "not in the frame"),
        (lambda: draw_stratified(["a", "b"], sizes={"a": 1}), "strata \\['b'\\]"),
        (lambda: draw_stratified(["a"], n=1, sizes={"a": 1}), "either n"),
        (lambda: draw_simple(10, 2, seed=-1), "seed"),
    ],
)
def test_impossible_draws_are_refused_with_a_clear_reason(call, message):
    with pytest.raises(ValueError, match=message):
        call()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 500), min_size=1, max_size=8), st.data())
def test_proportional_allocation_sums_to_n_within_the_strata(sizes, data):
    frame = {f"s{i}": size for i, size in enumerate(sizes)}
    nonempty = sum(1 for s in sizes if s)
    total = sum(sizes)
    if nonempty == 0:
        return
    n = data.draw(st.integers(nonempty, total))
    allocation = allocate_proportional(frame, n)
    assert sum(allocation.values()) == n
    for name, size in frame.items():
        assert (1 if size else 0) <= allocation[name] <= size
        # Largest remainder never strays more than one unit from the quota, except where the
        # minimum of one unit had to be given to small strata.
        if allocation[name] > 1:
            assert abs(allocation[name] - n * size / total) < 1 + nonempty


@settings(max_examples=50, deadline=None)
@given(st.lists(st.sampled_from("abcd"), min_size=4, max_size=200), st.integers(0, 2**32))
def test_design_weights_of_a_stratified_draw_add_up_to_the_frame(strata, seed):
    n = len(set(strata))
    draw = draw_stratified(strata, n=n + (len(strata) - n) // 3, seed=seed)
    assert np.sum(1 / draw.probabilities) == pytest.approx(len(strata))
