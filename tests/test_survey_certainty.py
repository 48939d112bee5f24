"""Certainty strata and the finite population correction (issue 11) against R's survey
package: a stratum taken whole adds nothing to the variance (R's `onestrat` returns 0 when
the sampling fraction is 1), however many units it has; a one-unit stratum is refused as R
does by default, or counted as certain as with `options(survey.lonely.psu = "certainty")`.

Reference values printed by R 4.2.2, `survey` 4.1-1, script and output in
tests/data/survey/README.md ("Certainty strata").
"""

import numpy as np
import pytest

from municipium.lib.survey.estimates import design, share_interval, weighted_mean, weighted_total
from tests.test_survey_estimates import strat  # noqa: F401  (module fixture)


def _certainty_design(strat, lonely_psu="fail", fpc=True):  # noqa: F811
    """apistrat with its first school (an E school) made a stratum of its own taken with
    certainty (fpc 1, weight 1), and the 50 H schools declared the whole H population."""
    strata = list(strat["stype"])
    weights = strat["pw"].copy()
    sizes = list(strat["fpc"])
    strata[0], sizes[0], weights[0] = "C", 1, 1.0
    n_high = strata.count("H")
    for i, s in enumerate(strata):
        if s == "H":
            sizes[i], weights[i] = n_high, 1.0
    if not fpc:
        weights = strat["pw"]
    return design(weights, strata=strata, population_sizes=sizes if fpc else None, lonely_psu=lonely_psu)


def test_a_stratum_taken_whole_adds_no_variance_as_in_r(strat):  # noqa: F811
    d = _certainty_design(strat)
    mean = weighted_mean(strat["api00"], d)
    # The copied weights carry 8 decimals (README), so agreement is to about 12 digits.
    assert (mean.value, mean.se) == pytest.approx((665.5982747161, 10.4148158725), rel=1e-11)
    total = weighted_total(strat["enroll"], d)
    assert total.value == pytest.approx(2744158.0475006104, rel=1e-9)
    assert total.se == pytest.approx(91168.7656973429, rel=1e-9)
    assert dict((s.key, s.value) for s in mean.steps)["certainty_strata"] == 2
    interval = share_interval(strat["api00"] > 700, d)
    assert (interval.low, interval.high) == pytest.approx((0.3308700054, 0.4991053617), rel=1e-9)


def test_a_one_unit_stratum_is_refused_unless_declared_certain_as_in_r(strat):  # noqa: F811
    with pytest.raises(ValueError, match="only one sampling unit"):
        weighted_mean(strat["api00"], _certainty_design(strat, fpc=False))
    mean = weighted_mean(strat["api00"], _certainty_design(strat, "certainty", fpc=False))
    assert (mean.value, mean.se) == pytest.approx((662.2873631593, 9.4615487827), rel=1e-11)


def test_without_a_certainty_stratum_nothing_changes(strat):  # noqa: F811
    # R ?svymean: svymean(~api00, dstrat) prints mean 662.29, SE 9.4089.
    d = design(strat["pw"], strata=strat["stype"], population_sizes=strat["fpc"])
    assert round(weighted_mean(strat["api00"], d).se, 4) == 9.4089
    with pytest.raises(ValueError, match="lonely_psu"):
        design(np.ones(3), lonely_psu="average")
