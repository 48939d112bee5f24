"""The progress arithmetic against the worked example in tests/data/progress/README.md
(Statistics Canada / Open SDG progress measure), and its edges."""

import pytest

from municipium.lib import progress as p


def test_the_growth_ratio_of_the_worked_example():
    assert p.cagr(50, 60, 5) == pytest.approx(0.037137289336648101514, rel=1e-12)
    assert p.cagr(50, 80, 15) == pytest.approx(0.031829639349793858068, rel=1e-12)
    assert p.ratio(60, 2020, 50, 2015, 80, 2030, trajectory="growth") == pytest.approx(
        1.166751810428182497977, rel=1e-12
    )
    assert p.status(60, 2020, 50, 2015, 80, 2030, direction=1, trajectory="growth") == "on_track"


def test_expected_values_on_both_paths_and_the_share_covered():
    assert p.expected(50, 80, 2015, 2030, 2020, trajectory="growth") == pytest.approx(58.480354764257321310, rel=1e-12)
    assert p.expected(50, 80, 2015, 2030, 2020) == pytest.approx(60)
    assert p.achieved(60, 50, 80) == pytest.approx(100 / 3)
    assert p.expected(50, 80, 2015, 2030, 2040) == 80  # never beyond the target year
    assert p.achieved(5, 5, 5) is None


def test_lower_is_better_targets_and_the_bands():
    # Water losses from 30 % to 15 % by 2030; 2025 is half-way in time.
    assert p.status(22.5, 2025, 30, 2020, 15, 2030, direction=-1) == "on_track"  # exactly on the line
    assert p.status(25.0, 2025, 30, 2020, 15, 2030, direction=-1) == "at_risk"  # 5/7.5 = 0.67
    assert p.status(29.0, 2025, 30, 2020, 15, 2030, direction=-1) == "off_track"
    assert p.status(31.0, 2025, 30, 2020, 15, 2030, direction=-1) == "off_track"  # moved away
    assert p.status(14.0, 2025, 30, 2020, 15, 2030, direction=-1) == "achieved"
    assert p.status(None, None, 30, 2020, 15, 2030, direction=-1) == "unknown"
    strict = p.Thresholds(on_track=1.0, at_risk=0.9)
    assert p.status(23.0, 2025, 30, 2020, 15, 2030, direction=-1, thresholds=strict) == "at_risk"
    with pytest.raises(p.ProgressError):
        p.Thresholds(on_track=0.5, at_risk=0.6)


def test_growth_needs_positive_values_and_falls_back_to_the_line():
    with pytest.raises(p.ProgressError):
        p.cagr(0, 10, 3)
    # A baseline of 0 cannot grow at a rate: status judges on the straight line instead.
    assert p.status(5, 2025, 0, 2020, 10, 2030, direction=1, trajectory="growth") == "on_track"


def test_rollup_plain_and_weighted_and_the_weight_check():
    assert p.rollup([(40, None), (80, None), (None, None)], weighted=False) == 60
    assert p.rollup([(40, 0.25), (80, 0.75)], weighted=True) == 70
    assert p.rollup([(None, 0.5)], weighted=True) is None
    assert p.check_weights([0.25, 0.75]) is None
    assert p.check_weights([40, 60]) is None  # percentages
    assert p.check_weights([0.5, 0.4]) == pytest.approx(0.9)
