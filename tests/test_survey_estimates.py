"""Design-based estimates, intervals and tests (municipium.lib.survey.estimates).

Most reference numbers are R `survey` 4.5 output on the `api` data (tests/data/survey):
"Survey.jl fixtures" means xKDR/Survey.jl test/r_reference/*.csv, produced by
generate_fixtures.R in that folder; the design names (strat_fpc, clus1_w, ...) are theirs.
"""

import csv
from pathlib import Path

import numpy as np
import pytest

from municipium.lib.survey.estimates import (
    CONCENTRATE,
    DONT_KNOW,
    KEEP_UP,
    LOW_PRIORITY,
    OVERKILL,
    compare_estimates,
    compare_independent,
    design,
    importance_satisfaction,
    normal_interval,
    p_adjust,
    satisfaction,
    weighted_mean,
    weighted_proportion,
    weighted_total,
    wilson_interval,
    wilson_interval_weighted,
)
from municipium.lib.survey.weights import rake

DATA = Path(__file__).parent / "data" / "survey"
STRAT_PW = {"E": 44.20999908, "M": 20.36000061, "H": 15.10000038}
STRAT_FPC = {"E": 4421, "M": 1018, "H": 755}
CLUS1_PW = 33.846996307373


def _rows(name):
    with open(DATA / name, newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def strat():
    rows = _rows("apistrat.csv")
    stype = [r["stype"] for r in rows]
    return {
        "stype": stype,
        "api00": np.array([float(r["api00"]) for r in rows]),
        "enroll": np.array([float(r["enroll"]) for r in rows]),
        "pw": np.array([STRAT_PW[s] for s in stype]),
        "fpc": [STRAT_FPC[s] for s in stype],
    }


@pytest.fixture(scope="module")
def clus1():
    rows = _rows("apiclus1.csv")
    return {
        "dnum": [r["dnum"] for r in rows],
        "stype": [r["stype"] for r in rows],
        "sch.wide": [r["sch.wide"] for r in rows],
        "api00": np.array([float(r["api00"]) for r in rows]),
        "pw": np.full(len(rows), CLUS1_PW),
        "fpc": [757] * len(rows),
    }


# -- Taylor linearisation against R -----------------------------------------------------


def test_stratified_mean_matches_the_printed_svymean_example(strat):
    # R survey, ?svydesign / ?svymean example: dstrat <- svydesign(id=~1, strata=~stype,
    # weights=~pw, data=apistrat, fpc=~fpc); svymean(~api00, dstrat) prints
    # "mean 662.29  SE 9.4089".
    d = design(strat["pw"], strata=strat["stype"], population_sizes=strat["fpc"])
    result = weighted_mean(strat["api00"], d)
    assert round(result.value, 2) == 662.29
    assert round(result.se, 4) == 9.4089


def test_stratified_mean_and_total_match_r_to_all_digits(strat):
    # Survey.jl fixtures est_basic.csv, design strat_fpc = svydesign(id=~1, strata=~stype,
    # fpc=~fpc): R derives the weights N_h / n_h from fpc, so they are used here too.
    n_h = {"E": 100, "M": 50, "H": 50}
    w = [STRAT_FPC[s] / n_h[s] for s in strat["stype"]]
    d = design(w, strata=strat["stype"], population_sizes=strat["fpc"])
    mean = weighted_mean(strat["api00"], d)
    assert mean.value == pytest.approx(662.287363577655, rel=1e-12)
    assert mean.se == pytest.approx(9.408940879434, rel=1e-10)
    total = weighted_total(strat["enroll"], d)
    assert total.value == pytest.approx(3687177.52, rel=1e-12)
    assert total.se == pytest.approx(114641.715190394, rel=1e-10)
    # confint.csv, strat_fpc: confint(svymean(~api00, d)) with normal quantiles.
    assert (mean.ci_low, mean.ci_high) == pytest.approx((643.846178321298, 680.728548834012), rel=1e-10)


def test_stratified_without_fpc_is_the_with_replacement_variance(strat):
    # Survey.jl fixtures est_basic.csv, strat_w = svydesign(id=~1, strata=~stype, weights=~pw).
    d = design(strat["pw"], strata=strat["stype"])
    mean = weighted_mean(strat["api00"], d)
    assert mean.value == pytest.approx(662.287363159321, rel=1e-12)
    assert mean.se == pytest.approx(9.53613229692516, rel=1e-9)
    total = weighted_total(strat["enroll"], d)
    assert total.se == pytest.approx(117319.085968965, rel=1e-9)


def test_cluster_sample_mean_with_and_without_fpc(clus1):
    # Survey.jl fixtures est_basic.csv: clus1_w = svydesign(id=~dnum, weights=~pw),
    # clus1_fpc = svydesign(id=~dnum, fpc=~fpc); SE 23.7790107208869 and 23.5422406937812.
    with_replacement = weighted_mean(clus1["api00"], design(clus1["pw"], clusters=clus1["dnum"]))
    assert with_replacement.value == pytest.approx(644.169398907104, rel=1e-12)
    assert with_replacement.se == pytest.approx(23.7790107208869, rel=1e-10)
    with_fpc = weighted_mean(clus1["api00"], design(clus1["pw"], clusters=clus1["dnum"], population_sizes=clus1["fpc"]))
    assert with_fpc.se == pytest.approx(23.5422406937812, rel=1e-10)
    # confint.csv, clus1_w (normal quantiles).
    assert (with_replacement.ci_low, with_replacement.ci_high) == pytest.approx(
        (597.563394306174, 690.775403508034), rel=1e-10
    )


def test_proportion_in_a_cluster_sample(clus1):
    # Survey.jl fixtures proportions.csv: svymean(~stype) level E, 0.78688524590164 with
    # SE 0.0468025716133837 (clus1_w) and 0.0463365536499119 (clus1_fpc).
    is_e = [s == "E" for s in clus1["stype"]]
    result = weighted_proportion(is_e, design(clus1["pw"], clusters=clus1["dnum"]))
    assert result.value == pytest.approx(0.78688524590164, rel=1e-12)
    assert result.se == pytest.approx(0.0468025716133837, rel=1e-10)
    fpc = weighted_proportion(is_e, design(clus1["pw"], clusters=clus1["dnum"], population_sizes=clus1["fpc"]))
    assert fpc.se == pytest.approx(0.0463365536499119, rel=1e-10)


def test_domain_means_keep_the_whole_design(clus1):
    # Survey.jl fixtures domain.csv: svyby(~api00, ~cname, d, svymean). Los Angeles county
    # is districts 197 and 406 of apiclus1, Santa Clara districts 61, 413 and 448.
    counties = [
        ({"197", "406"}, 647.266666666667, 17.4230693023744, 17.2495860301136),
        ({"61", "413", "448"}, 732.076923076923, 15.9315559043315, 15.772923782601),
    ]
    for districts, mean, se_w, se_fpc in counties:
        where = [d in districts for d in clus1["dnum"]]
        result = weighted_mean(clus1["api00"], design(clus1["pw"], clusters=clus1["dnum"]), where=where)
        assert result.value == pytest.approx(mean, rel=1e-12)
        assert result.se == pytest.approx(se_w, rel=1e-9)
        result = weighted_mean(
            clus1["api00"], design(clus1["pw"], clusters=clus1["dnum"], population_sizes=clus1["fpc"]), where=where
        )
        assert result.se == pytest.approx(se_fpc, rel=1e-9)


def test_raked_mean_se_accounts_for_the_calibration(clus1):
    # R survey 4.5, as published in samplics-org/svy
    # tests/svy/weighting/test_calibration_variance.py: on svydesign(id=~dnum, weights=~pw,
    # fpc=~fpc, data=apiclus1), svymean(~api00) has SE 23.542240693781; after
    # rake(..., list(~stype, ~sch.wide), stype E/H/M 4421/755/1018, sch.wide No/Yes
    # 1000/5194, control=list(epsilon=1e-12)) the SE is 23.745841047537.
    base = design(clus1["pw"], clusters=clus1["dnum"], population_sizes=clus1["fpc"])
    assert weighted_mean(clus1["api00"], base).se == pytest.approx(23.542240693781, rel=1e-10)
    raked = rake(
        clus1["pw"],
        {"stype": clus1["stype"], "sch.wide": clus1["sch.wide"]},
        {"stype": {"E": 4421, "H": 755, "M": 1018}, "sch.wide": {"No": 1000, "Yes": 5194}},
        tolerance=1e-14,
    )
    d = design(
        raked.weights,
        clusters=clus1["dnum"],
        population_sizes=clus1["fpc"],
        raked_on=[clus1["stype"], clus1["sch.wide"]],
    )
    assert weighted_mean(clus1["api00"], d).se == pytest.approx(23.745841047537, rel=1e-9)
    # A raked margin is known exactly, so its estimated total has no sampling error
    # (the same source states R gives 0 for post-stratified cell totals).
    is_h = np.array([s == "H" for s in clus1["stype"]], dtype=float)
    total_h = weighted_total(is_h, d)
    assert total_h.value == pytest.approx(755, rel=1e-9)
    assert total_h.se == pytest.approx(0, abs=1e-6)


def test_a_stratum_with_one_unit_is_refused():
    with pytest.raises(ValueError, match="stratum 'b' has only one"):
        weighted_mean([1, 2, 3], design([1, 1, 1], strata=["a", "a", "b"]))


def test_normal_interval_is_value_plus_minus_z_se():
    low, high = normal_interval(10, 2, 0.95)
    assert (low, high) == pytest.approx((10 - 1.959963984540054 * 2, 10 + 1.959963984540054 * 2))


# -- Wilson --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("successes", "n", "low", "high"),
    [
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0, 0.1611),
        (1, 29, 0.0061, 0.1718),
    ],
)
def test_wilson_interval_matches_newcombe_1998(successes, n, low, high):
    # Newcombe (1998), "Two-sided confidence intervals for the single proportion: comparison
    # of seven methods", Statistics in Medicine 17:857-872, Table II, method 3 (score
    # interval without continuity correction), 95%.
    result = wilson_interval(successes, n)
    assert round(result.low, 4) == low and round(result.high, 4) == high


def test_weighted_wilson_uses_the_kish_effective_sample_size():
    # With equal weights the effective n is n, so the interval is the plain Wilson one.
    equal = wilson_interval_weighted([1] * 81 + [0] * 182, [2.0] * 263)
    plain = wilson_interval(81, 263)
    assert (equal.low, equal.high) == pytest.approx((plain.low, plain.high))
    unequal = wilson_interval_weighted([1, 0] * 50, [1, 3] * 50)
    assert unequal.n == pytest.approx(80)  # (Σw)²/Σw² = 200² / 500
    assert unequal.proportion == pytest.approx(0.25)


# -- satisfaction ----------------------------------------------------------------------------


def test_share_satisfied_mean_and_index_exclude_dont_know():
    answers = [5, 4, 4, 3, 2, 1, 5, DONT_KNOW, None, 4]
    result = satisfaction(answers)
    assert result.answered == 8 and result.dont_know == 1 and result.missing == 1
    valid = np.array([5, 4, 4, 3, 2, 1, 5, 4], dtype=float)
    assert result.share_satisfied.value == pytest.approx(5 / 8)
    assert result.mean.value == pytest.approx(valid.mean())
    # Excluded answers are a domain, as in R (svymean(na.rm=TRUE) subsets a survey.design2
    # but keeps the sample's unit count): the 2 excluded units add zero scores, so
    # var = n/(n − 1) Σ ((y − ȳ)/n_valid)² with n = 10, not s²/8.
    assert result.mean.se == pytest.approx(np.sqrt(10 / 9 * np.sum((valid - valid.mean()) ** 2) / 64))
    assert result.index.value == pytest.approx((valid.mean() - 1) / 4 * 100)
    assert result.index.se == pytest.approx(result.mean.se * 25)
    assert result.index.ci_low == pytest.approx((result.mean.ci_low - 1) * 25)
    assert result.share_wilson.low < 5 / 8 < result.share_wilson.high


def test_satisfaction_with_a_weighted_stratified_design():
    answers = [5, 4, 1, 2, DONT_KNOW, 5, 4, 3]
    d = design([1, 1, 1, 1, 2, 2, 2, 2], strata=["a"] * 4 + ["b"] * 4)
    result = satisfaction(answers, d)
    # Satisfied: 5, 4 in a (weight 1 each) and 5, 4 in b (weight 2 each) of weight 4 + 6.
    assert result.share_satisfied.value == pytest.approx((2 + 4) / 10)
    assert result.share_satisfied.n == 7


def test_answers_outside_the_scale_are_refused():
    with pytest.raises(ValueError, match="answer 6 at position 1"):
        satisfaction([5, 6])
    with pytest.raises(ValueError, match="nobody answered"):
        satisfaction([DONT_KNOW, None])


# -- comparisons and multiple testing ---------------------------------------------------------


def test_difference_of_two_independent_estimates():
    result = compare_independent(0.60, 0.03, 0.50, 0.04)
    assert result.difference == pytest.approx(0.10)
    assert result.se == pytest.approx(0.05)
    assert result.z == pytest.approx(2.0)
    # Two-sided normal tail for z = 2: 0.0455003 (standard normal table; R 2*pnorm(-2)).
    assert result.p_value == pytest.approx(0.04550026, rel=1e-6)


def test_comparing_two_surveys_uses_their_standard_errors(strat, clus1):
    a = weighted_mean(strat["api00"], design(strat["pw"], strata=strat["stype"]))
    b = weighted_mean(clus1["api00"], design(clus1["pw"], clusters=clus1["dnum"]))
    result = compare_estimates(a, b)
    assert result.se == pytest.approx(np.hypot(a.se, b.se))
    assert result.p_value > 0.05


# R multtest::mt.rawp2adjp values on ten p-values, as published in statsmodels
# statsmodels/stats/tests/test_multi.py (res_multtest1, columns rawp, Holm, BH).
RAW = [
    5.23656777208e-05,
    2.8140506198e-04,
    0.0149877310796,
    0.0202732688798,
    0.177096952723,
    0.642193923795,
    0.680845947633,
    0.71626938238,
    0.838541367553,
    0.967833824309,
]
HOLM = [
    5.2365677720800005e-04,
    2.5326455578199999e-03,
    1.1990184863680001e-01,
    1.4191288215860001e-01,
    1,
    1,
    1,
    1,
    1,
    1,
]
BH = [
    5.2365677720800005e-04,
    1.4070253098999999e-03,
    4.9959103598666670e-02,
    5.0683172199499998e-02,
    3.5419390544599999e-01,
    8.9533672797500008e-01,
    8.9533672797500008e-01,
    8.9533672797500008e-01,
    9.3171263061444454e-01,
    9.6783382430900000e-01,
]


def test_holm_and_benjamini_hochberg_match_r():
    shuffled = [RAW[i] for i in (9, 0, 5, 2, 7, 1, 8, 3, 6, 4)]
    holm = p_adjust(shuffled, "holm")
    bh = p_adjust(shuffled, "BH")
    for position, i in enumerate((9, 0, 5, 2, 7, 1, 8, 3, 6, 4)):
        assert holm[position] == pytest.approx(HOLM[i], rel=1e-12)
        assert bh[position] == pytest.approx(BH[i], rel=1e-12)


def test_benjamini_hochberg_rejects_four_in_their_example():
    # Benjamini & Hochberg (1995), JRSS B 57:289-300, §4: of these 15 p-values the FDR
    # procedure at q = 0.05 rejects 4, the Bonferroni-type procedures 3.
    p = [
        0.0001,
        0.0004,
        0.0019,
        0.0095,
        0.0201,
        0.0278,
        0.0298,
        0.0344,
        0.0459,
        0.3240,
        0.4262,
        0.5719,
        0.6528,
        0.7590,
        1.000,
    ]
    assert sum(q <= 0.05 for q in p_adjust(p, "BH")) == 4
    assert sum(q <= 0.05 for q in p_adjust(p, "holm")) == 3


def test_missing_p_values_stay_missing_and_are_not_counted():
    assert p_adjust([0.01, None, 0.04], "holm") == [pytest.approx(0.02), None, pytest.approx(0.04)]
    with pytest.raises(ValueError, match="method"):
        p_adjust([0.1], "bonferroni")


# -- importance–satisfaction ------------------------------------------------------------------


def test_gap_scores_and_quadrants_relative_to_the_means():
    result = importance_satisfaction(
        {
            "water": (4.8, 4.5),  # important, satisfying
            "roads": (4.6, 2.9),  # important, unsatisfying
            "parks": (3.2, 3.0),  # less important, unsatisfying
            "lighting": (3.4, 4.4),  # less important, satisfying
        }
    )
    assert result.mean_importance == pytest.approx(4.0)
    assert result.mean_satisfaction == pytest.approx(3.7)
    by_service = {s.service: s for s in result.services}
    assert by_service["water"].quadrant == KEEP_UP
    assert by_service["roads"].quadrant == CONCENTRATE
    assert by_service["parks"].quadrant == LOW_PRIORITY
    assert by_service["lighting"].quadrant == OVERKILL
    assert by_service["roads"].gap == pytest.approx(1.7) and by_service["roads"].priority == 1
    assert by_service["lighting"].priority == 4
