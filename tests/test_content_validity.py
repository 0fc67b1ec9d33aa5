"""Content-validity statistics, checked against published worked examples."""

from __future__ import annotations

import pytest

from grader import content_validity as cv

# Polit, Beck & Owen (2007), Table 4: I-CVI, the chance agreement pc and the modified
# kappa k* for panels of 3 to 9 experts, A of whom rate the item 3 or 4, as printed (rounded).
POLIT_BECK_OWEN_TABLE_4 = [
    # N, A, I-CVI, pc, k*, evaluation
    (3, 3, 1.00, 0.125, 1.00, "excellent"),
    (3, 2, 0.67, 0.375, 0.47, "fair"),
    (4, 4, 1.00, 0.063, 1.00, "excellent"),
    (4, 3, 0.75, 0.25, 0.67, "good"),
    (5, 5, 1.00, 0.031, 1.00, "excellent"),
    (5, 4, 0.80, 0.156, 0.76, "excellent"),
    (6, 6, 1.00, 0.016, 1.00, "excellent"),
    (6, 5, 0.83, 0.094, 0.81, "excellent"),
    (6, 4, 0.67, 0.234, 0.57, "fair"),
    (7, 7, 1.00, 0.008, 1.00, "excellent"),
    (7, 6, 0.86, 0.055, 0.85, "excellent"),
    (7, 5, 0.71, 0.164, 0.65, "good"),
    (8, 8, 1.00, 0.004, 1.00, "excellent"),
    (8, 7, 0.88, 0.031, 0.88, "excellent"),
    (8, 6, 0.75, 0.109, 0.72, "good"),
    (9, 9, 1.00, 0.002, 1.00, "excellent"),
    (9, 8, 0.89, 0.018, 0.89, "excellent"),
    (9, 7, 0.78, 0.070, 0.76, "excellent"),
]


@pytest.mark.parametrize(("n", "a", "icvi", "pc", "kstar", "reading"), POLIT_BECK_OWEN_TABLE_4)
def test_icvi_and_modified_kappa_match_polit_beck_owen(n, a, icvi, pc, kstar, reading):
    ratings = [4] * a + [2] * (n - a)
    assert round(cv.i_cvi(ratings), 2) == pytest.approx(icvi)
    assert round(cv.chance_agreement(n, a), 3) == pytest.approx(pc, abs=0.0011)
    # The table computes k* from the I-CVI already rounded to two decimals, which moves a few
    # entries by up to .01 from the exact value; from the rounded I-CVI it is reproduced exactly.
    assert cv.modified_kappa(n, a) == pytest.approx(kstar, abs=0.01)
    pc_exact = cv.chance_agreement(n, a)
    assert round((round(a / n, 2) - pc_exact) / (1 - pc_exact), 2) == pytest.approx(kstar)
    assert cv.kappa_label(cv.modified_kappa(n, a)) == reading


# A published worked example of Polit & Beck's (2006) two scale indices: six experts rate
# twelve items on the 4-point relevance scale (Table 4 of PMC7253559, an open-access
# validation study); the authors report S-CVI/Ave = 0.97 and S-CVI/UA = 0.83.
SIX_EXPERTS_TWELVE_ITEMS = [
    [4, 4, 4, 4, 4, 4],
    [4, 3, 4, 4, 3, 4],
    [4, 4, 4, 4, 4, 4],
    [4, 4, 4, 4, 4, 4],
    [3, 4, 4, 4, 4, 4],
    [2, 3, 4, 3, 3, 4],
    [4, 4, 4, 4, 4, 4],
    [4, 4, 4, 4, 4, 4],
    [3, 3, 4, 2, 3, 4],
    [4, 4, 4, 3, 4, 4],
    [4, 4, 4, 3, 4, 4],
    [4, 4, 4, 3, 4, 4],
]
PUBLISHED_ICVI = [1.00, 1.00, 1.00, 1.00, 1.00, 0.83, 1.00, 1.00, 0.83, 1.00, 1.00, 1.00]


def test_scale_cvi_matches_the_published_six_expert_example():
    assert [round(cv.i_cvi(row), 2) for row in SIX_EXPERTS_TWELVE_ITEMS] == PUBLISHED_ICVI
    ave, ua = cv.scale_cvi(SIX_EXPERTS_TWELVE_ITEMS)
    assert round(ave, 2) == 0.97
    assert round(ua, 2) == 0.83
    assert ave >= cv.SCVI_AVE_THRESHOLD


def test_scale_cvi_with_a_missing_rating_counts_the_raters_present():
    assert cv.scale_cvi([[4, None, 3], [2, 4, None]]) == (0.75, 0.5)
    assert cv.scale_cvi([[None, None]]) == (None, None)


def test_ratings_off_the_scale_are_refused():
    with pytest.raises(ValueError, match="not on the 1-4 scale"):
        cv.i_cvi([4, 5])


# Ayre & Scally (2014), Table 1: the critical number of experts calling an item essential
# (one-tailed exact binomial test, alpha = .05) and the critical CVR it gives, for panels of
# 5 to 40. Lawshe's (1975) original table differs at several sizes (e.g. N = 8: .75 here).
AYRE_SCALLY = {
    5: (5, 1.000),
    6: (6, 1.000),
    7: (7, 1.000),
    8: (7, 0.750),
    9: (8, 0.778),
    10: (9, 0.800),
    11: (9, 0.636),
    12: (10, 0.667),
    13: (10, 0.538),
    14: (11, 0.571),
    15: (12, 0.600),
    16: (12, 0.500),
    17: (13, 0.529),
    18: (13, 0.444),
    19: (14, 0.474),
    20: (15, 0.500),
    25: (18, 0.440),
    30: (20, 0.333),
    35: (23, 0.314),
    40: (26, 0.300),
}


@pytest.mark.parametrize(("n", "expected"), sorted(AYRE_SCALLY.items()))
def test_cvr_critical_values_match_ayre_and_scally(n, expected):
    needed, critical = cv.cvr_critical(n)
    assert (needed, round(critical, 3)) == expected


def test_no_critical_value_below_five_experts():
    # even a unanimous panel of four has p = 1/16 > .05
    assert [cv.cvr_critical(n) for n in range(1, 5)] == [None] * 4


def test_cvr_is_lawshes_ratio():
    assert cv.cvr(10, 10) == 1.0
    assert cv.cvr(5, 10) == 0.0
    assert cv.cvr(0, 10) == -1.0
    assert cv.cvr(7, 8) == pytest.approx(0.75)
    with pytest.raises(ValueError):
        cv.cvr(4, 3)
