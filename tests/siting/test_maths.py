"""The siting maths against published worked examples (AHP: Saaty 2008 and 1990; TOPSIS: Hwang
and Yoon 1981, R package MCDA) and hand-computed geometry. Sources in tests/data/siting/README.md."""

import math

import numpy as np
import pytest
import shapely
from shapely.geometry import LineString, Point, box

from municipium.lib.siting import ahp, grid, rank

# Saaty (2008), Table 2: relative consumption of drinks in the United States.
DRINKS = [
    [1, 9, 5, 2, 1, 1, 1 / 2],
    [1 / 9, 1, 1 / 3, 1 / 9, 1 / 9, 1 / 9, 1 / 9],
    [1 / 5, 3, 1, 1 / 3, 1 / 4, 1 / 3, 1 / 9],
    [1 / 2, 9, 3, 1, 1 / 2, 1, 1 / 3],
    [1, 9, 4, 2, 1, 2, 1 / 2],
    [1, 9, 3, 1, 1 / 2, 1, 1 / 3],
    [2, 9, 9, 3, 2, 3, 1],
]
# Saaty (1990), EJOR 48, the house example: eight criteria, inconsistent (CR 0.169).
HOUSE = [
    [1, 5, 3, 7, 6, 6, 1 / 3, 1 / 4],
    [1 / 5, 1, 1 / 3, 5, 3, 3, 1 / 5, 1 / 7],
    [1 / 3, 3, 1, 6, 3, 4, 6, 1 / 5],
    [1 / 7, 1 / 5, 1 / 6, 1, 1 / 3, 1 / 4, 1 / 7, 1 / 8],
    [1 / 6, 1 / 3, 1 / 3, 3, 1, 1 / 2, 1 / 5, 1 / 6],
    [1 / 6, 1 / 3, 1 / 4, 4, 2, 1, 1 / 5, 1 / 6],
    [3, 5, 1 / 6, 7, 5, 5, 1, 1 / 2],
    [4, 7, 5, 8, 6, 6, 2, 1],
]


def test_ahp_reproduces_saatys_drinks_example():
    result = ahp.weights(DRINKS)
    assert [round(w, 3) for w in result.weights] == [0.177, 0.019, 0.042, 0.116, 0.190, 0.129, 0.327]
    assert round(result.cr, 3) == 0.022
    assert result.consistent and result.responsible == ()


def test_ahp_reproduces_saatys_house_example_and_names_the_worst_judgements():
    result = ahp.weights(HOUSE)
    assert [round(w, 3) for w in result.weights] == [0.173, 0.054, 0.188, 0.018, 0.031, 0.036, 0.167, 0.333]
    assert round(result.lambda_max, 3) == 9.669
    assert round(result.ci, 3) == 0.238
    assert round(result.cr, 3) == 0.169 and not result.consistent
    worst = result.responsible[0]
    # Neighbourhood (3) judged 6 times as important as general condition (7); the weights say ~1.13.
    assert (worst.i, worst.j, worst.given) == (2, 6, 6.0)
    assert worst.implied == pytest.approx(1.128, abs=0.001)


def test_a_consistent_matrix_has_exact_weights_and_cr_zero():
    w = np.array([0.5, 0.3, 0.2])
    result = ahp.weights(w[:, None] / w[None, :])
    assert result.weights == pytest.approx(tuple(w))
    assert result.cr == pytest.approx(0.0, abs=1e-12)
    assert ahp.weights([[1]]).weights == (1.0,)


def test_group_ahp_is_the_geometric_mean_of_judgements():
    combined = ahp.group([[[1, 2], [1 / 2, 1]], [[1, 8], [1 / 8, 1]]])
    assert combined[0, 1] == pytest.approx(4.0)
    assert combined[1, 0] == pytest.approx(0.25)
    assert ahp.weights(combined).weights == pytest.approx((0.8, 0.2))


@pytest.mark.parametrize(
    "matrix, code, where",
    [
        ([[1, 2], [1 / 3, 1]], "reciprocal", (0, 1)),
        ([[1, 12], [1 / 12, 1]], "scale", (0, 1)),
        ([[2, 1], [1, 1]], "diagonal", (0, 0)),
        ([[1, -1], [-1, 1]], "positive", (0, 1)),
        ([[1, float("nan")], [1, 1]], "positive", (0, 1)),
        ([[1, 2, 3], [1, 1, 1]], "square", None),
        ([["a"]], "numeric", None),
    ],
)
def test_ahp_refuses_bad_matrices_at_the_cell(matrix, code, where):
    with pytest.raises(ahp.AHPError) as caught:
        ahp.weights(matrix)
    assert caught.value.code == code and caught.value.where == where


def test_from_pairs_fills_the_reciprocals():
    a = ahp.from_pairs(3, {(0, 1): 3, (0, 2): 5, (1, 2): 2})
    assert a[1, 0] == pytest.approx(1 / 3) and a[2, 1] == pytest.approx(0.5)


def test_topsis_reproduces_hwang_and_yoons_fighter_aircraft():
    # Max speed, ferry range, payload, cost (a cost), reliability, manoeuvrability.
    x = [
        [2.0, 1500, 20000, 5.5, 5, 9],
        [2.5, 2700, 18000, 6.5, 3, 5],
        [1.8, 2000, 21000, 4.5, 7, 7],
        [2.2, 1800, 20000, 5.0, 5, 5],
    ]
    c = rank.topsis(x, [0.2, 0.1, 0.1, 0.1, 0.2, 0.3], [True, True, True, False, True, True])
    assert [round(v, 3) for v in c] == [0.643, 0.268, 0.614, 0.312]
    assert rank.ranks(c) == [1, 4, 2, 3]


def test_topsis_matches_the_mcda_packages_car_example():
    # R package MCDA, TOPSIS help page: its positive ideal solution for purchase price (a cost)
    # is 0.179573776 = 0.35 * 5490 / |price column|.
    x = np.array([[5490, 51.4, 8.5, 285], [6500, 70.6, 7, 288], [6489, 54.3, 7.5, 290]], dtype=float)
    w = np.array([0.35, 0.25, 0.25, 0.15])
    v = x / np.sqrt((x**2).sum(axis=0)) * w
    assert v[:, 0].min() == pytest.approx(0.179573776, abs=1e-9)
    assert v[:, 1].max() == pytest.approx(0.171636015, abs=1e-9)
    c = rank.topsis(x, w, [False, True, True, True])
    plus = np.sqrt(((v - [0.179573776, 0.171636015, 0.159499658, 0.087302767]) ** 2).sum(axis=1))
    minus = np.sqrt(((v - [0.212610118, 0.124958799, 0.131352659, 0.085797547]) ** 2).sum(axis=1))
    assert c == pytest.approx(minus / (plus + minus), abs=1e-8)


def test_required_area_by_hand():
    # 100,000 people, no growth, 10 years, 0.8 kg/person/day: 292,000 t; at 0.8 t/m3 365,000 m3;
    # cover 20 % -> 438,000 m3; 15 m high -> 29,200 m2; 25 % for roads and buffers -> 38,933 m2.
    need = rank.required_area(100_000, 0.0, 10, 0.8, 0.8, 15, 0.2, 0.25)
    assert need.tonnes == pytest.approx(292_000)
    assert need.waste_m3 == pytest.approx(365_000)
    assert need.footprint_m2 == pytest.approx(29_200)
    assert need.area_m2 == pytest.approx(38_933.333, abs=0.01)
    grown = rank.required_area(1000, 0.1, 2, 1, 1, 1, 0, 0)  # 1000 + 1100 people-years
    assert grown.tonnes == pytest.approx(2100 * 0.365)
    with pytest.raises(rank.RankError) as caught:
        rank.required_area(1000, 0.0, 10, 0.8, 0.8, 15, 1.0, 0.25)
    assert caught.value.code == "cover"


def test_haul_weights_distance_by_tonnes():
    distances, means = rank.haul([(0, 0)], [(3000, 4000, 1.0), (0, 10000, 3.0)])
    assert distances == [[5.0, 10.0]]
    assert means == [pytest.approx(8.75)]


def test_one_at_a_time_shift_keeps_the_sum():
    w = rank.shifted([0.5, 0.3, 0.2], 0, 0.2)
    assert w == pytest.approx([0.6, 0.24, 0.16])


def test_sensitivity_counts_rank_changes():
    # Two candidates, two criteria: A is best on criterion 0, B on criterion 1.
    scores = np.array([[1.0, 0.0], [0.0, 1.0]])

    def rank_for(w):
        return rank.ranks(scores @ w)

    stable = rank.sensitivity([0.7, 0.3], rank_for, draws=200)
    assert stable.base_rank == [1, 2]
    assert stable.best_share == [1.0, 0.0] and stable.max_rank == [1, 2]
    close = rank.sensitivity([0.52, 0.48], rank_for, draws=400)
    assert 0.3 < close.best_share[0] < 0.9 and close.max_rank[0] == 2
    assert {(e["criterion"], e["change"]) for e in close.one_at_a_time} == {(0, -0.2), (0, 0.2), (1, -0.2), (1, 0.2)}


QOM = (50.88, 34.64)


def _grid(cell=10.0, size=50):
    """A grid whose origin is at a round UTM coordinate near Qom, size x size cells."""
    epsg = grid.utm_epsg(*QOM)
    return grid.Grid(epsg, cell, 500_000.0, 3_835_000.0, size, size)


def test_utm_zone_is_chosen_from_the_area():
    assert grid.utm_epsg(*QOM) == 32639  # Qom, 39N
    assert grid.utm_epsg(21.0, 52.2) == 32634  # Warsaw, 34N
    assert grid.utm_epsg(-70.6, -33.4) == 32719  # Santiago, 19S
    area = box(50.8, 34.5, 51.0, 34.7)
    g = grid.grid_for(area, 250)
    assert g.epsg == 32639 and g.west % 250 == 0 and g.north % 250 == 0
    assert 70 <= g.width <= 80 and 85 <= g.height <= 95  # ~18.3 km x ~22.2 km


def test_buffer_mask_counts_cell_centres_within_the_distance():
    g = _grid()
    centre = Point(500_250.0, 3_834_750.0)  # a cell corner, in the middle of the grid
    mask = grid.buffer_mask(g, [centre], 100)
    # Cell centres at (5 + 10i, 5 + 10j) from the corner; count those within 100 m by hand.
    expected = sum(1 for i in range(-10, 10) for j in range(-10, 10) if math.hypot(5 + 10 * i, 5 + 10 * j) < 100)
    assert mask.sum() == expected == 316
    polygon = box(500_000, 3_834_900, 500_100, 3_835_000)  # the top-left 10 x 10 cells
    assert grid.buffer_mask(g, [polygon], 0).sum() == 100
    # Two more cells right and down (centres 5 and 15 m out), less the corner cell whose
    # centre is (15, 15) m from the square's corner: 21.2 m > 20 m.
    assert grid.buffer_mask(g, [polygon], 20).sum() == 12 * 12 - 1
    with pytest.raises(grid.GridError):
        grid.buffer_mask(g, [polygon], -1)


def test_distance_raster_is_metres_from_the_nearest_feature():
    g = _grid()
    line = LineString([(500_005, 3_835_000), (500_005, 3_834_500)])  # down the first column
    d = grid.distance(g, [line])
    assert d[10, 0] == 0 and d[10, 1] == 10 and d[10, 49] == 490
    point = Point(500_255, 3_834_745)  # centre of cell (25, 25)
    d = grid.distance(g, [point])
    assert d[25, 25] == 0 and d[28, 29] == pytest.approx(50.0)
    assert np.isinf(grid.distance(g, [])).all()


def test_slope_of_a_plane_and_a_step():
    cols = np.arange(20, dtype=float)
    dem = np.tile(cols * 1.0, (20, 1))  # rises 1 m per 10 m cell eastwards: 10 %
    s = grid.slope(dem, 10)
    assert s[10, 10] == pytest.approx(math.degrees(math.atan(0.1)), abs=1e-4)
    flat = grid.slope(np.zeros((5, 5)), 30)
    assert (flat == 0).all()


def test_fuzzy_curves_at_their_control_points():
    x = np.array([0, 2, 5, 8, 10], dtype=float)
    assert grid.standardise(x, "linear", True, 2, 8).tolist() == pytest.approx([0, 0, 0.5, 1, 1])
    assert grid.standardise(x, "linear", False, 2, 8).tolist() == pytest.approx([1, 1, 0.5, 0, 0])
    assert grid.standardise(x, "sigmoid", True, 2, 8).tolist() == pytest.approx([0, 0, 0.5, 1, 1])
    j = grid.standardise(x, "j", True, 2, 8)
    assert j[1] == pytest.approx(0.5) and j[3] == 1 and j[2] == pytest.approx(1 / (1 + 0.25))
    assert grid.standardise(np.array([np.inf]), "linear", True, 0, 1)[0] == 1
    with pytest.raises(grid.GridError):
        grid.standardise(x, "linear", True, 5, 5)
    with pytest.raises(grid.GridError):
        grid.standardise(x, "cubic", True, 0, 1)


def test_wlc_and_owa_with_their_limits():
    a = np.array([[1.0, 0.2]], dtype=np.float32)
    b = np.array([[0.0, 0.6]], dtype=np.float32)
    assert grid.wlc([a, b], [0.75, 0.25])[0].tolist() == pytest.approx([0.75, 0.3])
    # alpha 1: order weights even -> WLC
    assert grid.owa([a, b], [0.75, 0.25], 1.0)[0].tolist() == pytest.approx([0.75, 0.3])
    # alpha -> 0: the best value (OR); alpha -> large: the worst (AND)
    assert grid.owa([a, b], [0.5, 0.5], 1e-6)[0].tolist() == pytest.approx([1.0, 0.6], abs=1e-4)
    assert grid.owa([a, b], [0.5, 0.5], 1e6)[0].tolist() == pytest.approx([0.0, 0.2], abs=1e-4)
    # alpha 2: order weights 1/4, 3/4; cell 1: u*v = 0.75*0.25, 0.25*0.75 -> equal -> mean 0.5
    assert grid.owa([a, b], [0.75, 0.25], 2.0)[0, 0] == pytest.approx(0.5)
    assert grid.order_weights(4, 1).tolist() == pytest.approx([0.25] * 4)


def test_classes_and_patches_by_hand():
    g = _grid(cell=100, size=6)
    suit = np.array(
        [
            [0.9, 0.9, 0.0, 0.0, 0.0, 0.0],
            [0.9, 0.7, 0.0, 0.0, 0.5, 0.0],
            [0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
            [0.0, 0.0, 0.0, 0.8, 0.8, 0.8],
            [0.0, 0.0, 0.0, 0.8, 0.8, 0.8],
            [0.6, 0.0, 0.0, 0.0, 0.0, 0.0],
        ],
        dtype=np.float32,
    )
    allowed = np.ones(suit.shape, dtype=bool)
    table = grid.classes(suit, allowed, [0.5], g.cell_area)
    assert [c["cells"] for c in table] == [24, 12]
    assert table[1]["area_m2"] == 120_000
    labels, found = grid.patches(g, suit >= 0.5, suit, 30_000)
    assert [p.cells for p in found] == [6, 4]  # the single cells (0.5 and 0.6) are too small
    big, small = found
    assert big.mean_suitability == pytest.approx(0.8) and small.mean_suitability == pytest.approx(0.85)
    assert (big.x, big.y) == (500_450.0, 3_834_600.0)
    assert big.compactness == pytest.approx(4 * math.pi * 60_000 / 1000**2)
    shapes = grid.outlines(g, labels)
    assert set(shapes) == {1, 2}
    assert shapely.geometry.shape(shapes[1]).geom_type == "Polygon"
