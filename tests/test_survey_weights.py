"""Design weights, nonresponse, raking, trimming and Kish (municipium.lib.survey.weights)."""

import csv
from pathlib import Path

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from municipium.lib.survey.estimates import design, weighted_mean, weighted_total
from municipium.lib.survey.weights import (
    RakingError,
    adjust_nonresponse,
    design_weights,
    kish,
    rake,
    trim_weights,
)

DATA = Path(__file__).parent / "data" / "survey"
# apistrat's sampling weights per stratum (R survey, data(api)); see tests/data/survey/README.md
STRAT_PW = {"E": 44.20999908, "M": 20.36000061, "H": 15.10000038}
CLUS1_PW = 33.846996307373
# The ?rake example margins (R survey, man/rake.Rd): pop.types and pop.schwide.
POP_TYPES = {"E": 4421, "H": 755, "M": 1018}
POP_SCHWIDE = {"No": 1072, "Yes": 5122}


def _rows(name):
    with open(DATA / name, newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def apistrat():
    return _rows("apistrat.csv")


@pytest.fixture(scope="module")
def apiclus1():
    return _rows("apiclus1.csv")


# -- design weights and nonresponse ------------------------------------------------------


def test_design_weight_is_the_inverse_inclusion_probability():
    assert design_weights([0.5, 0.1, 1.0]).tolist() == [2.0, 10.0, 1.0]
    with pytest.raises(ValueError, match="position 1"):
        design_weights([0.5, 0.0])


def test_nonresponse_adjustment_spreads_nonrespondents_within_their_cell():
    result = adjust_nonresponse([10, 10, 10, 20, 20], [True, False, True, True, False], ["a", "a", "a", "b", "b"])
    assert result.weights.tolist() == [15.0, 0.0, 15.0, 40.0, 0.0]
    assert result.factors == {"a": 1.5, "b": 2.0}
    assert result.response_rates["a"] == pytest.approx(2 / 3)
    assert result.weights.sum() == pytest.approx(70)


def test_a_cell_without_respondents_is_named():
    with pytest.raises(ValueError, match=r"\['b'\]"):
        adjust_nonresponse([1, 1], [True, False], ["a", "b"])


# -- raking against R ----------------------------------------------------------------------


def test_raking_reproduces_r_rake_weights_on_apiclus1(apiclus1):
    # R survey 4.5: rake(svydesign(id=~dnum, weights=~pw, data=apiclus1),
    #   list(~stype, ~sch.wide), list(pop.types, pop.schwide)) — weights(rk) as published in
    # xKDR/Survey.jl test/r_reference/rake_weights.csv (generate_fixtures.R). R's default
    # control (epsilon = 1 on the change of the joint table) stops after 4 full passes; a
    # relative tolerance of 6e-6 stops this implementation after the same 4 passes.
    r_weights = {
        ("E", "Yes"): 29.8704638727345,
        ("M", "Yes"): 36.7921816646831,
        ("H", "Yes"): 50.3301527726748,
        ("E", "No"): 39.838509410554,
        ("M", "No"): 49.0700673992951,
        ("H", "No"): 67.1257826263303,
    }
    stype = [r["stype"] for r in apiclus1]
    schwide = [r["sch.wide"] for r in apiclus1]
    result = rake(
        np.full(len(apiclus1), CLUS1_PW),
        {"stype": stype, "sch.wide": schwide},
        {"stype": POP_TYPES, "sch.wide": POP_SCHWIDE},
        tolerance=6e-6,
    )
    assert result.iterations == 4
    for row, weight in zip(apiclus1, result.weights, strict=True):
        assert weight == pytest.approx(r_weights[(row["stype"], row["sch.wide"])], rel=1e-12)
    # Same source, rake_results.csv: svymean(~api00) and svytotal(~api00) of the raked
    # design: 641.230246862208 and 3971780.14906453.
    api00 = [float(r["api00"]) for r in apiclus1]
    d = design(result.weights, clusters=[r["dnum"] for r in apiclus1])
    assert weighted_mean(api00, d).value == pytest.approx(641.230246862208, rel=1e-12)
    assert weighted_total(api00, d).value == pytest.approx(3971780.14906453, rel=1e-12)


def test_raked_margins_match_the_population_and_shares_work_like_totals(apiclus1):
    stype = [r["stype"] for r in apiclus1]
    schwide = [r["sch.wide"] for r in apiclus1]
    w = np.full(len(apiclus1), CLUS1_PW)
    by_total = rake(w, {"stype": stype, "sch.wide": schwide}, {"stype": POP_TYPES, "sch.wide": POP_SCHWIDE})
    assert by_total.achieved["stype"]["H"] == pytest.approx(755, rel=1e-9)
    assert by_total.achieved["sch.wide"]["No"] == pytest.approx(1072, rel=1e-9)
    shares = {"E": 4421 / 6194, "H": 755 / 6194, "M": 1018 / 6194}
    by_share = rake(w, {"stype": stype, "sch.wide": schwide}, {"stype": shares, "sch.wide": POP_SCHWIDE})
    assert np.allclose(by_share.weights, by_total.weights, rtol=1e-9)


def test_raking_refuses_categories_the_margins_do_not_know():
    with pytest.raises(ValueError, match=r"sex.*\['x'\].*no population margin"):
        rake([1, 1, 1], {"sex": ["f", "m", "x"]}, {"sex": {"f": 50, "m": 50}})


def test_raking_refuses_an_empty_cell():
    with pytest.raises(ValueError, match=r"\['m'\].*no respondent"):
        rake([1, 1], {"sex": ["f", "f"]}, {"sex": {"f": 50, "m": 50}})


def test_raking_refuses_margins_with_different_totals():
    with pytest.raises(ValueError, match="disagree"):
        rake([1, 1], {"a": ["x", "y"], "b": ["u", "v"]}, {"a": {"x": 10, "y": 10}, "b": {"u": 10, "v": 20}})


def test_raking_that_cannot_meet_the_margins_says_it_did_not_converge():
    # Only (x, u) and (y, v) answered, so the two margins force contradictory weights.
    with pytest.raises(RakingError, match="did not converge"):
        rake(
            [1, 1, 1, 1],
            {"a": ["x", "x", "y", "y"], "b": ["u", "u", "v", "v"]},
            {"a": {"x": 50, "y": 50}, "b": {"u": 30, "v": 70}},
            max_iterations=50,
        )


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_raked_weights_reproduce_every_margin(data):
    n = data.draw(st.integers(6, 60))
    age = data.draw(st.lists(st.sampled_from(["young", "mid", "old"]), min_size=n, max_size=n))
    sex = data.draw(st.lists(st.sampled_from(["f", "m"]), min_size=n, max_size=n))
    # Every combination present, so the margins can always be met.
    assume(len(set(zip(age, sex, strict=True))) == 6)
    w = data.draw(st.lists(st.floats(0.5, 20), min_size=n, max_size=n))
    age_margin = {a: data.draw(st.floats(10, 1000)) for a in ["young", "mid", "old"]}
    total = sum(age_margin.values())
    f_share = data.draw(st.floats(0.2, 0.8))
    result = rake(
        w,
        {"age": age, "sex": sex},
        {"age": age_margin, "sex": {"f": f_share * total, "m": (1 - f_share) * total}},
        max_iterations=2000,
    )
    for a, target in age_margin.items():
        got = sum(wt for wt, x in zip(result.weights, age, strict=True) if x == a)
        assert got == pytest.approx(target, rel=1e-8)
    got_f = sum(wt for wt, x in zip(result.weights, sex, strict=True) if x == "f")
    assert got_f == pytest.approx(f_share * total, rel=1e-8)


# -- trimming ------------------------------------------------------------------------------


def test_trimming_matches_r_trimweights_on_apistrat(apistrat):
    # R survey 4.5: trimWeights(svydesign(id=~1, strata=~stype, weights=~pw, data=apistrat),
    # upper=40) — weights and svymean(~api00) from xKDR/Survey.jl
    # test/r_reference/trimweights_weights.csv and trimweights_mean.csv.
    r_weights = {"E": 40.0, "M": 24.5699996948242, "H": 19.3099994659424}
    stype = [r["stype"] for r in apistrat]
    w = np.array([STRAT_PW[s] for s in stype])
    result = trim_weights(w, upper=40, strict=False)
    for s, weight in zip(stype, result.weights, strict=True):
        assert weight == pytest.approx(r_weights[s], rel=1e-8)
    assert result.weights.sum() == pytest.approx(w.sum(), rel=1e-12)
    mean = weighted_mean([float(r["api00"]) for r in apistrat], design(result.weights, strata=stype))
    assert mean.value == pytest.approx(659.349743500561, rel=1e-9)
    assert mean.se == pytest.approx(9.06119336956428, rel=1e-6)


def test_strict_trimming_repeats_until_every_weight_is_within_bounds():
    w = [1.0, 5.5, 9.0, 9.0, 1.0]
    once = trim_weights(w, upper=6, strict=False)
    # One round caps the 9s and shares their excess of 6: 5.5 + 2 = 7.5 is over the cap again.
    assert once.weights.tolist() == pytest.approx([3.0, 7.5, 6.0, 6.0, 3.0])
    strict = trim_weights(w, upper=6)
    # Fixed point by hand: 6, 6, 6 at the cap and 1 + δ twice with 2 + 2δ = 25.5 − 18.
    assert strict.weights.tolist() == pytest.approx([3.75, 6.0, 6.0, 6.0, 3.75])
    assert strict.iterations == 2


def test_relative_bounds_are_multiples_of_the_mean_weight():
    result = trim_weights([1, 1, 1, 1, 16], upper=2, relative_to_mean=True)
    assert result.upper == pytest.approx(8)
    assert result.weights.max() == pytest.approx(8) and result.weights.sum() == pytest.approx(20)


def test_bounds_that_cannot_keep_the_total_are_refused():
    with pytest.raises(ValueError, match="cannot keep the total"):
        trim_weights([5, 5, 5], upper=4)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.floats(0.1, 100), min_size=2, max_size=60), st.floats(1.05, 4))
def test_trimming_keeps_the_total_and_the_bounds(weights, ratio):
    mean = sum(weights) / len(weights)
    result = trim_weights(weights, lower=0.3, upper=ratio, relative_to_mean=True)
    assert result.weights.sum() == pytest.approx(sum(weights), rel=1e-9)
    assert result.weights.max() <= ratio * mean * (1 + 1e-9)
    assert result.weights.min() >= 0.3 * mean * (1 - 1e-9)


# -- Kish ----------------------------------------------------------------------------------


def test_kish_design_effect_and_effective_sample_size():
    # Kish (1965), Survey Sampling, §11.7: deff = n Σw² / (Σw)²; here 2 × 10 / 16.
    result = kish([1, 3])
    assert result.design_effect == pytest.approx(1.25)
    assert result.effective_n == pytest.approx(1.6)
    assert kish([2, 2, 2]).design_effect == pytest.approx(1.0)
    assert kish([0, 2, 2]).n == 2  # a zero weight is no interview
