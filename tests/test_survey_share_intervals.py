"""Korn–Graubard intervals for shares (issue 11) against R's `svyciprop(method = "beta")`.

Reference values printed by R 4.2 with `survey` 4.1-1 (Debian bookworm r-cran-survey) on
the `api` data, script and output in tests/data/survey/README.md; the CSV copies of
`apistrat` and `apiclus1` are the ones the other estimate tests use.
"""

import numpy as np
import pytest

from municipium.lib.survey.estimates import design, satisfaction, share_interval
from tests.test_survey_estimates import clus1, strat  # noqa: F401  (module fixtures)

# name: (printed share, 2.5 %, 97.5 %) from tests/data/survey/README.md
R = {
    "clus1 sch.wide": (0.8743169399, 0.8237022108, 0.9147044921),
    "clus1_wr sch.wide": (0.8743169399, 0.8231186049, 0.9150765237),
    "clus1 api00>700": (0.3387978142, 0.1765786050, 0.5344666183),
    "clus1 M sch.wide": (0.6800000000, 0.4057089917, 0.8852412895),
    "strat api00>700": (0.4043396816, 0.3302065696, 0.4818393444),
    "strat_wr api00>700": (0.4043396816, 0.3292082658, 0.4829303113),
    "strat H api00>700": (0.3000000000, 0.1812919102, 0.4422293433),
    "strat enroll<300": (0.1890393908, 0.1312338916, 0.2588715815),
}


def _case(name, strat, clus1):  # noqa: F811
    if name.startswith("clus1"):
        fpc = None if "_wr" in name else clus1["fpc"]
        d = design(clus1["pw"], clusters=clus1["dnum"], population_sizes=fpc)
        if "sch.wide" in name:
            y = np.array([v == "Yes" for v in clus1["sch.wide"]])
        else:
            y = clus1["api00"] > 700
        where = np.array([s == "M" for s in clus1["stype"]]) if " M " in name else None
    else:
        fpc = None if "_wr" in name else strat["fpc"]
        d = design(strat["pw"], strata=strat["stype"], population_sizes=fpc)
        y = strat["enroll"] < 300 if "enroll" in name else strat["api00"] > 700
        where = np.array([s == "H" for s in strat["stype"]]) if " H " in name else None
    return share_interval(y, d, where=where)


@pytest.mark.parametrize("name", R, ids=list(R))
def test_korn_graubard_matches_r_svyciprop_beta(name, strat, clus1):  # noqa: F811
    found = _case(name, strat, clus1)
    share, low, high = R[name]
    assert (round(found.proportion, 10), round(found.low, 10), round(found.high, 10)) == pytest.approx(
        (share, low, high), abs=2e-10
    )


def test_clustering_widens_the_interval_and_degrees_of_freedom_count_clusters(clus1):  # noqa: F811
    y = clus1["api00"] > 700
    clustered = share_interval(y, design(clus1["pw"], clusters=clus1["dnum"]))
    ignored = share_interval(y, design(clus1["pw"]))
    assert clustered.degrees_of_freedom == 14 and ignored.degrees_of_freedom == 182
    assert clustered.high - clustered.low > ignored.high - ignored.low
    assert clustered.effective_n < clustered.n


def test_an_all_satisfied_cell_never_collapses_to_100_100():
    # 12 of 12 satisfied: the variance is 0; Clopper–Pearson on n = 12 gives
    # [(0.025)^(1/12), 1] = [0.7354, 1] (the exact binomial limit).
    result = satisfaction([5] * 12)
    interval = result.share_interval
    assert interval.high == 1.0 and interval.low == pytest.approx(0.025 ** (1 / 12), abs=1e-12)
    assert result.share_satisfied.ci_low == result.share_satisfied.ci_high == 1.0  # what the page used to show
    none = satisfaction([1] * 12).share_interval
    assert none.low == 0.0 and none.high == pytest.approx(1 - 0.025 ** (1 / 12), abs=1e-12)


def test_a_simple_random_sample_is_near_clopper_pearson_as_in_r():
    # Unweighted, unclustered, 7 of 12: the linearised variance divides by n − 1, so n_eff =
    # 11 and df = 11; R: svyciprop(~y, svydesign(id=~1, data=data.frame(y=c(rep(1,7),
    # rep(0,5)))), method="beta") prints 0.2637165358 0.8577951942 (the exact
    # Clopper–Pearson limits on n = 12, binom.test(7, 12), are 0.2766697 0.8483478).
    found = share_interval([1] * 7 + [0] * 5, design(n=12))
    assert (round(found.low, 10), round(found.high, 10)) == (0.2637165358, 0.8577951942)
    assert found.effective_n == pytest.approx(11)
