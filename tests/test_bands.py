"""Value colours: absolute standards before quartiles, polarity decides the good side."""

from types import SimpleNamespace as NS

from municipium.benchmarks.bands import band

QUARTILES = NS(n=8, p25=10.0, p75=20.0)


def ind(polarity="higher_is_better", target=None, thresholds=None):
    return NS(polarity=polarity, target=target, thresholds=thresholds or {})


def test_quartiles_colour_by_polarity():
    assert band(25, ind(), QUARTILES).band == "good"
    assert band(5, ind(), QUARTILES).band == "poor"
    assert band(15, ind(), QUARTILES).band == "middle"
    assert band(25, ind("lower_is_better"), QUARTILES).band == "poor"
    assert band(5, ind("lower_is_better"), QUARTILES).band == "good"


def test_a_neutral_indicator_or_a_small_group_gets_no_colour():
    assert band(25, ind("neutral"), QUARTILES).band == "none"
    assert band(25, ind(), NS(n=3, p25=10.0, p75=20.0)).band == "none"
    assert band(None, ind(), QUARTILES).band == "none"


def test_thresholds_take_precedence_over_quartiles():
    # Best in the group, still under the standard: not "good".
    result = band(25, ind(thresholds={"good": 90, "poor": 50}), QUARTILES)
    assert (result.band, result.basis) == ("poor", "thresholds")
    assert band(70, ind(thresholds={"good": 90, "poor": 50}), QUARTILES).band == "middle"
    assert band(3, ind("lower_is_better", thresholds={"good": 5, "poor": 10}), QUARTILES).band == "good"


def test_a_target_takes_precedence_over_quartiles():
    assert band(5, ind(target=4), QUARTILES).band == "good"
    assert (band(25, ind(target=30), QUARTILES).band, band(25, ind(target=30), QUARTILES).basis) == ("poor", "target")
    assert band(3, ind("lower_is_better", target=4), QUARTILES).band == "good"


def test_a_rank_reads_in_the_direction_of_polarity_and_by_size_when_neutral():
    from municipium.benchmarks.bands import rank_text

    assert rank_text(1, 6, "lower_is_better") == "best of 6"
    assert rank_text(6, 6, "higher_is_better") == "last of 6"
    assert rank_text(3, 6, "higher_is_better") == "3 of 6"
    assert rank_text(1, 6, "neutral") == "1 of 6 by size"
    assert rank_text(None, 6, "higher_is_better") == "–"
