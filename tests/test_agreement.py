"""Agreement statistics, checked against published worked examples."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from grader.agreement import (
    NOT_ENOUGH,
    AgreementError,
    agreement_table,
    icc,
    koo_li,
    krippendorff_alpha,
    krippendorff_label,
    landis_koch,
    largest_disagreements,
    weighted_kappa,
)
from grader.rubric import CRITERION_KEYS

nan = np.nan

# Shrout & Fleiss (1979), Table 2: six targets rated by four judges.
SHROUT_FLEISS = [
    [9, 2, 5, 8],
    [6, 1, 3, 2],
    [8, 4, 6, 8],
    [7, 1, 2, 6],
    [10, 5, 6, 9],
    [6, 2, 4, 7],
]
# Their Table 4: every form of the ICC for that data, to two decimals.
SHROUT_FLEISS_PUBLISHED = {
    "ICC(1,1)": 0.17,
    "ICC(2,1)": 0.29,
    "ICC(3,1)": 0.71,
    "ICC(1,k)": 0.44,
    "ICC(2,k)": 0.62,
    "ICC(3,k)": 0.91,
}

# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability": 4 coders x 12 units,
# with missing values.
KRIPPENDORFF_2011 = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, nan, nan, nan],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, nan, 3],
    [nan, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, nan],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, nan],
]

# Kundel & Polansky (2003), Radiology 228:303-308, Table A1: 110 mammograms, two readers,
# four ordered categories (absent, minimal, moderate, severe); rows reader 2, columns reader 1.
MAMMOGRAMS = [[34, 10, 2, 0], [6, 8, 8, 2], [2, 5, 4, 12], [0, 1, 2, 14]]

# SAS/STAT PROC FREQ documentation, "Agreement Study": two dermatologists, 88 patients,
# terrible / poor / marginal / clear.
SKIN_CONDITION = [[10, 4, 1, 0], [5, 10, 12, 2], [2, 4, 12, 5], [0, 2, 6, 13]]


def _long(matrix) -> pd.DataFrame:
    """targets x raters matrix -> long frame."""
    return pd.DataFrame(
        [(t, r, v) for t, row in enumerate(matrix) for r, v in enumerate(row)],
        columns=["target", "rater", "score"],
    )


def _pairs(table) -> tuple[list[int], list[int]]:
    """An agreement table (rows rater A, columns rater B) -> the two raters' score lists."""
    a, b = [], []
    for i, row in enumerate(table, start=1):
        for j, count in enumerate(row, start=1):
            a += [i] * count
            b += [j] * count
    return a, b


def _cohen_by_hand(table, weights: str) -> float:
    """Cohen's (1968) weighted kappa straight from its definition: 1 - sum(w*o) / sum(w*e)."""
    observed = np.asarray(table, dtype=float)
    observed /= observed.sum()
    expected = np.outer(observed.sum(axis=1), observed.sum(axis=0))
    k = len(observed)
    i, j = np.indices((k, k))
    w = np.abs(i - j) if weights == "linear" else (i - j) ** 2
    return 1 - (w * observed).sum() / (w * expected).sum()


# -- ICC -----------------------------------------------------------------------------------


def test_icc_reproduces_shrout_and_fleiss():
    result = icc(_long(SHROUT_FLEISS), "target", "rater", "score")
    assert round(result.value, 2) == SHROUT_FLEISS_PUBLISHED["ICC(2,1)"]
    for form, published in SHROUT_FLEISS_PUBLISHED.items():
        if form != "ICC(2,1)":
            assert round(result.others[form], 2) == published, form
    assert (result.model, result.type, result.unit) == (
        "two-way random effects",
        "absolute agreement",
        "single rater",
    )
    assert "ICC(2,1)" in result.definition and "Shrout & Fleiss" in result.definition
    assert (result.n_targets, result.n_raters) == (6, 4)
    assert result.ci_low < result.value < result.ci_high
    assert result.label == "poor" and result.label_range == "poor to good"


def test_icc_uses_only_targets_every_rater_rated():
    frame = _long(SHROUT_FLEISS)
    frame.loc[(frame.target == 5) & (frame.rater == 0), "score"] = nan
    frame = pd.concat([frame, pd.DataFrame({"target": [99], "rater": [1], "score": [4]})])
    result = icc(frame, "target", "rater", "score")
    assert result.n_targets == 5 and result.computed


@pytest.mark.parametrize(
    "matrix, reason",
    [
        (SHROUT_FLEISS[:4], "at least 5"),
        ([[3, 3]] * 8, "every rating is the same"),
        ([[3], [4], [5], [2], [1]], "two raters"),
    ],
)
def test_icc_says_not_enough_data(matrix, reason):
    result = icc(_long(matrix), "target", "rater", "score")
    assert result.value is None and result.ci_low is None and result.label == NOT_ENOUGH
    assert reason in result.reason


def test_icc_of_exact_agreement_is_one_without_an_interval():
    result = icc(_long([[s, s] for s in (1, 2, 3, 4, 5, 2)]), "target", "rater", "score")
    assert result.value == 1.0 and result.ci_low is None and result.ci_high is None
    assert result.label == "excellent" and "agree exactly" in result.reason


def test_icc_refuses_a_rater_rating_a_target_twice():
    frame = pd.concat([_long(SHROUT_FLEISS), _long(SHROUT_FLEISS).head(1)])
    with pytest.raises(AgreementError, match="more than once"):
        icc(frame, "target", "rater", "score")


# -- weighted kappa ------------------------------------------------------------------------


def test_quadratic_kappa_reproduces_maple_essaytools_examples():
    """Maple's EssayTools[QuadraticWeightedKappa] help page: two worked examples on a 1-10 range."""
    first = [9, 7, 8, 7, 6, 8, 3, 5, 10]
    scale = range(1, 11)
    assert weighted_kappa(first, [8, 8, 6, 6, 7, 6, 1, 4, 8], labels=scale).value == pytest.approx(
        0.758620689655172, abs=1e-12
    )
    assert weighted_kappa(first, [3, 5, 6, 6, 7, 6, 1, 4, 8], labels=scale).value == pytest.approx(
        0.438095238095238, abs=1e-12
    )


def test_kappa_reproduces_kundel_and_polansky_mammograms():
    """Published table; vcd::Kappa's stated output for it: unweighted .3713, linear .5964."""
    a, b = _pairs(MAMMOGRAMS)
    scale = (1, 2, 3, 4)
    assert round(weighted_kappa(a, b, None, labels=scale).value, 4) == 0.3713
    assert round(weighted_kappa(a, b, "linear", labels=scale).value, 4) == 0.5964
    quadratic = weighted_kappa(a, b, "quadratic", labels=scale)
    assert quadratic.value == pytest.approx(_cohen_by_hand(MAMMOGRAMS, "quadratic"), abs=1e-12)
    assert quadratic.n == 110 and quadratic.label == landis_koch(quadratic.value)


def test_unweighted_kappa_reproduces_sas_skin_condition_study():
    a, b = _pairs(SKIN_CONDITION)
    assert round(weighted_kappa(a, b, None, labels=(1, 2, 3, 4)).value, 4) == 0.3449


def test_kappa_weights_follow_the_scale_not_the_scores_used():
    """Nobody used a 4: a 3-vs-5 disagreement must still count as two steps, not one."""
    a = [1, 2, 3, 5, 5, 3, 1, 2]
    b = [1, 3, 5, 3, 5, 3, 2, 2]
    counts = np.zeros((5, 5), dtype=int)
    for x, y in zip(a, b, strict=True):
        counts[x - 1, y - 1] += 1
    assert weighted_kappa(a, b).value == pytest.approx(
        _cohen_by_hand(counts, "quadratic"), abs=1e-12
    )


def test_kappa_leaves_out_unpaired_scores_and_says_not_enough_data():
    few = weighted_kappa([1, 2, 3, nan, 5, 4], [1, 2, nan, 4, 5, nan])
    assert few.value is None and few.label == NOT_ENOUGH and few.n == 3
    same = weighted_kappa([3] * 6, [3] * 6)
    assert same.value is None and "same score" in same.reason
    with pytest.raises(AgreementError, match="not on the scale"):
        weighted_kappa([1, 2, 3, 4, 7], [1, 2, 3, 4, 5])


# -- Krippendorff's alpha ------------------------------------------------------------------


def test_alpha_reproduces_krippendorff_2011():
    assert round(krippendorff_alpha(KRIPPENDORFF_2011, "nominal", None).value, 3) == 0.743
    assert round(krippendorff_alpha(KRIPPENDORFF_2011, "interval", None).value, 3) == 0.849
    # Not checked against the paper itself: the value the krippendorff package's own tests
    # assert for this example.
    ordinal = krippendorff_alpha(KRIPPENDORFF_2011, "ordinal", None)
    assert round(ordinal.value, 3) == 0.815
    assert ordinal.label == "reliable" and ordinal.n == 11  # unit 12 was coded once: not pairable


def test_alpha_with_the_rubric_scale_as_domain_is_unchanged():
    assert krippendorff_alpha(KRIPPENDORFF_2011, "ordinal").value == pytest.approx(
        krippendorff_alpha(KRIPPENDORFF_2011, "ordinal", None).value
    )


def test_alpha_says_not_enough_data():
    assert krippendorff_alpha([[1, 2, 3, nan], [1, 2, 3, 4]]).label == NOT_ENOUGH
    constant = krippendorff_alpha([[4] * 6, [4] * 6])
    assert constant.value is None and "same" in constant.reason


# -- readings ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, label",
    [
        (0.49, "poor"),
        (0.50, "moderate"),
        (0.74, "moderate"),
        (0.75, "good"),
        (0.90, "good"),
        (0.91, "excellent"),
    ],
)
def test_koo_and_li_bands(value, label):
    assert koo_li(value) == label


@pytest.mark.parametrize(
    "value, label",
    [
        (-0.1, "poor"),
        (0.2, "slight"),
        (0.21, "fair"),
        (0.41, "moderate"),
        (0.61, "substantial"),
        (0.81, "almost perfect"),
    ],
)
def test_landis_and_koch_bands(value, label):
    assert landis_koch(value) == label


@pytest.mark.parametrize(
    "value, label", [(0.8, "reliable"), (0.667, "tentative"), (0.66, "unreliable")]
)
def test_krippendorff_bands(value, label):
    assert krippendorff_label(value) == label


# -- the per-criterion table ---------------------------------------------------------------


def _ratings(raters=("ann", "bob"), answers=10, noise=1, seed=3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(answers):
        for criterion in CRITERION_KEYS:
            truth = rng.integers(1, 6)
            for rater in raters:
                score = int(np.clip(truth + rng.integers(-noise, noise + 1), 1, 5))
                rows.append(
                    {
                        "answer_id": f"A-{i:08x}",
                        "assignment": "m04",
                        "grade_id": "free_text_rc_020",
                        "rater": rater,
                        "criterion": criterion,
                        "score": score,
                    }
                )
    return pd.DataFrame(rows).astype({"score": "Int64"})


def test_agreement_table_has_every_criterion_in_rubric_order():
    table = agreement_table(_ratings())
    assert list(table["criterion"]) == list(CRITERION_KEYS)
    assert (table["n"] == 10).all() and (table["raters"] == 2).all()
    for column in ("icc", "kappa", "alpha"):
        assert table[column].notna().all()
        assert table[column].between(-1, 1).all()
    assert (table["icc_ci_low"] <= table["icc"]).all() and (
        table["icc"] <= table["icc_ci_high"]
    ).all()


def test_agreement_table_never_shows_nan_as_a_number():
    table = agreement_table(_ratings(answers=3))
    assert (table["icc_label"] == NOT_ENOUGH).all() and (table["kappa_label"] == NOT_ENOUGH).all()
    assert table["icc"].isna().all() and str(table["icc"].dtype) == "Float64"
    assert all(
        r["icc"] is None and r["alpha"] is None for r in json.loads(table.to_json(orient="records"))
    )
    assert "at least 5" in table["note"].iloc[0]
    empty = agreement_table(_ratings().iloc[:0])
    assert (empty["icc_label"] == NOT_ENOUGH).all() and "two or more" in empty["note"].iloc[0]


def test_kappa_is_a_two_rater_statistic():
    table = agreement_table(_ratings(raters=("ann", "bob", "cy")))
    assert (table["kappa_label"] == "two raters only").all() and table["kappa"].isna().all()
    assert table["icc"].notna().all() and table["alpha"].notna().all()


def test_largest_disagreements_come_first_with_every_score():
    ratings = _ratings(answers=6)
    worst = largest_disagreements(ratings, n=3)
    assert len(worst) <= 3 and list(worst["difference"]) == sorted(
        worst["difference"], reverse=True
    )
    top = worst.iloc[0]
    mine = ratings[ratings["answer_id"] == top["answer_id"]].pivot(
        index="criterion", columns="rater", values="score"
    )
    assert top["difference"] == (mine["ann"] - mine["bob"]).abs().sum()
    assert top["empathy (ann)"] == mine.loc["empathy", "ann"]
    agreeing = _ratings(answers=6, noise=0)
    assert largest_disagreements(agreeing).empty
