"""Inter-rater agreement on the rubric: ICC, weighted kappa and Krippendorff's alpha.

Only the statistics and their reading live here (as a table or JSON for people at the end);
where the ratings come from is :mod:`grader.ratings`. Each
coefficient is computed by a well-kept library (pingouin, scikit-learn, krippendorff) and
returned with the conventional reading of its size:

- ICC: Koo & Li (2016): below .50 poor, .50-.75 moderate, .75-.90 good, above .90 excellent.
- Weighted kappa: Landis & Koch (1977): slight, fair, moderate, substantial, almost perfect.
- Krippendorff's alpha: Krippendorff (2004): >= .800 reliable, >= .667 tentative.

With too few rated answers, or ratings that do not vary, a coefficient is undefined or
meaningless; the result then says "not enough data" and why, and carries no number.

    >>> from grader.agreement import agreement_table
    >>> agreement_table(load_ratings(course))      # one row per rubric criterion
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import krippendorff
import numpy as np
import pandas as pd
import pingouin
from sklearn.metrics import cohen_kappa_score

from grader.errors import GraderError
from grader.rubric import CRITERIA

#: Fewest answers rated by every rater before a coefficient is reported. Below this the
#: confidence interval spans almost the whole scale and the point estimate misleads.
MIN_TARGETS = 5
#: The rubric's rating scale. Passed to the libraries explicitly: scikit-learn weights
#: disagreements by the position of a label among the labels *present*, so without it a
#: 3-vs-5 disagreement would count as one step whenever nobody happened to use a 4.
SCALE = (1, 2, 3, 4, 5)
NOT_ENOUGH = "not enough data"

KOO_LI = ((0.50, "poor"), (0.75, "moderate"), (0.90, "good"))
LANDIS_KOCH = (
    (0.0, "poor"),
    (0.20, "slight"),
    (0.40, "fair"),
    (0.60, "moderate"),
    (0.80, "substantial"),
)
#: Shrout & Fleiss (1979) names of the forms pingouin labels after McGraw & Wong (1996).
SHROUT_FLEISS = {
    "ICC(1,1)": "ICC(1,1)",
    "ICC(A,1)": "ICC(2,1)",
    "ICC(C,1)": "ICC(3,1)",
    "ICC(1,k)": "ICC(1,k)",
    "ICC(A,k)": "ICC(2,k)",
    "ICC(C,k)": "ICC(3,k)",
}


class AgreementError(GraderError, ValueError):
    """Ratings in a shape no agreement statistic can take (e.g. one rater rating twice)."""


def koo_li(value: float) -> str:
    """Koo & Li's (2016) reading of an ICC."""
    for bound, label in KOO_LI:
        if value < bound:
            return label
    return "good" if value <= 0.90 else "excellent"


def landis_koch(value: float) -> str:
    """Landis & Koch's (1977) reading of a kappa."""
    if value < 0:
        return "poor"
    for bound, label in LANDIS_KOCH[1:]:
        if value <= bound:
            return label
    return "almost perfect"


def krippendorff_label(value: float) -> str:
    """Krippendorff's (2004) reading of alpha: rely on data only from .800,
    tentatively from .667."""
    return "reliable" if value >= 0.800 else "tentative" if value >= 0.667 else "unreliable"


@dataclass(frozen=True)
class ICCResult:
    """A two-way random-effects, absolute-agreement, single-rater ICC with its 95% CI.

    The CI bounds are pingouin's, which it rounds to two decimals.

    ``value`` is None (and ``label`` is "not enough data") when it cannot be estimated;
    ``reason`` then says why. It also explains a missing CI (raters in exact agreement).
    """

    value: float | None
    ci_low: float | None
    ci_high: float | None
    n_targets: int
    n_raters: int
    label: str
    reason: str | None = None
    model: str = "two-way random effects"
    type: str = "absolute agreement"
    unit: str = "single rater"
    definition: str = "ICC(2,1) of Shrout & Fleiss (1979); ICC(A,1) of McGraw & Wong (1996)"
    others: dict[str, float] = field(default_factory=dict)
    """The other forms, by their Shrout & Fleiss names (ICC(1,1), ICC(3,1), ICC(2,k), ...)."""

    @property
    def computed(self) -> bool:
        return self.value is not None

    @property
    def label_range(self) -> str:
        """The reading of both ends of the CI: Koo & Li advise judging by the interval."""
        if self.ci_low is None or self.ci_high is None:
            return self.label
        low, high = koo_li(self.ci_low), koo_li(self.ci_high)
        return low if low == high else f"{low} to {high}"


@dataclass(frozen=True)
class Coefficient:
    """A kappa or an alpha: its value and reading, or "not enough data" and why."""

    method: str
    value: float | None
    label: str
    n: int
    """Units (answers) the coefficient is computed from."""
    reason: str | None = None

    @property
    def computed(self) -> bool:
        return self.value is not None


def icc(frame: pd.DataFrame, targets: str, raters: str, ratings: str) -> ICCResult:
    """ICC(2,1) of long-format ``frame`` (one row per target, rater and rating).

    Only targets rated by every rater enter (the two-way model needs a complete design).
    """
    data = frame[[targets, raters, ratings]].dropna()
    if data.duplicated([targets, raters]).any():
        twice = data[data.duplicated([targets, raters], keep=False)].iloc[0]
        raise AgreementError(
            f"{twice[raters]!r} rated {twice[targets]!r} more than once; "
            "an ICC needs one rating per rater and target"
        )
    n_raters = int(data[raters].nunique())
    per_target = data.groupby(targets)[raters].nunique()
    complete = per_target[per_target == n_raters].index
    data = data[data[targets].isin(complete)]
    n_targets = len(complete)

    def not_enough(reason: str) -> ICCResult:
        return ICCResult(None, None, None, n_targets, n_raters, NOT_ENOUGH, reason)

    if n_raters < 2:
        return not_enough("an ICC needs at least two raters")
    if n_targets < MIN_TARGETS:
        return not_enough(
            f"{n_targets} answers rated by every rater; at least {MIN_TARGETS} are needed"
        )
    if data[ratings].nunique() < 2:
        return not_enough("every rating is the same, so agreement cannot be told apart from chance")
    with warnings.catch_warnings():
        # Degenerate designs divide by zero inside pingouin; the NaN is caught below.
        # pingouin also trips pandas deprecation warnings that are not ours to fix.
        warnings.simplefilter("ignore")
        table = pingouin.intraclass_corr(data=data, targets=targets, raters=raters, ratings=ratings)
    forms = {SHROUT_FLEISS[row.Type]: row for row in table.itertuples()}
    chosen = forms["ICC(2,1)"]
    value = float(chosen.ICC)
    if not math.isfinite(value):
        return not_enough("the ratings do not vary between answers, so the ICC is undefined")
    others = {
        name: float(row.ICC)
        for name, row in forms.items()
        if name != "ICC(2,1)" and math.isfinite(row.ICC)
    }
    exact = (data.groupby(targets)[ratings].nunique() == 1).all()
    if exact:
        # No residual variance: the F-based interval divides by zero (pingouin returns NaN, or
        # [1, 1] after rounding error), and the value can exceed 1 by rounding.
        return ICCResult(
            1.0,
            None,
            None,
            n_targets,
            n_raters,
            koo_li(1.0),
            "the raters agree exactly, so there is no confidence interval",
            others=others,
        )
    low, high = (float(x) for x in chosen.CI95)
    if not (math.isfinite(low) and math.isfinite(high)):
        return ICCResult(
            value,
            None,
            None,
            n_targets,
            n_raters,
            koo_li(value),
            "the confidence interval is undefined for these ratings",
            others=others,
        )
    return ICCResult(value, low, high, n_targets, n_raters, koo_li(value), others=others)


def weighted_kappa(
    a: Sequence[float],
    b: Sequence[float],
    weights: str | None = "quadratic",
    labels: Sequence[int] = SCALE,
) -> Coefficient:
    """Cohen's (1968) weighted kappa of two raters' scores for the same answers.

    ``weights`` is "quadratic", "linear" or None (Cohen's unweighted kappa). Pairs where
    either score is missing are left out. ``labels`` is the full ordered scale, so that the
    weights follow the distance between scores, whichever scores were used.
    """
    if weights not in ("quadratic", "linear", None):
        raise AgreementError(f"weights must be 'quadratic', 'linear' or None, not {weights!r}")
    method = f"Cohen's kappa ({weights or 'unweighted'} weights)" if weights else "Cohen's kappa"
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if x.shape != y.shape:
        raise AgreementError(
            f"the two raters have {len(x)} and {len(y)} scores; pair them by answer"
        )
    both = ~(np.isnan(x) | np.isnan(y))
    x, y = x[both], y[both]
    n = int(both.sum())
    if n < MIN_TARGETS:
        return Coefficient(
            method,
            None,
            NOT_ENOUGH,
            n,
            f"{n} answers rated by both raters; at least {MIN_TARGETS} are needed",
        )
    outside = sorted(set(np.concatenate([x, y])) - {float(v) for v in labels})
    if outside:
        raise AgreementError(f"scores {outside} are not on the scale {list(labels)}")
    if len(set(x) | set(y)) < 2:
        return Coefficient(
            method,
            None,
            NOT_ENOUGH,
            n,
            "both raters gave every answer the same score; kappa is undefined",
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a 0/0 becomes NaN, handled below
        value = float(
            cohen_kappa_score(x.astype(int), y.astype(int), labels=list(labels), weights=weights)
        )
    if not math.isfinite(value):
        return Coefficient(method, None, NOT_ENOUGH, n, "kappa is undefined for these ratings")
    return Coefficient(method, value, landis_koch(value), n)


def krippendorff_alpha(
    matrix, level: str = "ordinal", value_domain: Sequence[int] | None = SCALE
) -> Coefficient:
    """Krippendorff's alpha of a raters x units matrix (NaN = not rated).

    Works for any number of raters and tolerates missing ratings; only units rated at
    least twice (pairable units) carry information.
    """
    data = np.asarray(matrix, dtype=float)
    if data.ndim != 2:
        raise AgreementError("Krippendorff's alpha needs a raters x units matrix")
    method = f"Krippendorff's alpha ({level})"
    pairable = (~np.isnan(data)).sum(axis=0) >= 2
    n = int(pairable.sum())
    if n < MIN_TARGETS:
        return Coefficient(
            method,
            None,
            NOT_ENOUGH,
            n,
            f"{n} answers rated more than once; at least {MIN_TARGETS} are needed",
        )
    values = data[:, pairable]
    if len(np.unique(values[~np.isnan(values)])) < 2:
        return Coefficient(
            method,
            None,
            NOT_ENOUGH,
            n,
            "every rating is the same, so agreement cannot be told apart from chance",
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a 0/0 becomes NaN, handled below
        domain = None if value_domain is None else list(value_domain)
        value = float(
            krippendorff.alpha(
                reliability_data=data, level_of_measurement=level, value_domain=domain
            )
        )
    if not math.isfinite(value):
        return Coefficient(method, None, NOT_ENOUGH, n, "alpha is undefined for these ratings")
    return Coefficient(method, value, krippendorff_label(value), n)


def _wide(ratings: pd.DataFrame, criterion: str) -> pd.DataFrame:
    """answer_id x rater scores of one criterion (NaN where a rater left it unrated)."""
    rows = ratings[ratings["criterion"] == criterion]
    scores = rows.pivot(index="answer_id", columns="rater", values="score")
    return scores.astype(float)


def agreement_table(ratings: pd.DataFrame) -> pd.DataFrame:
    """One row per rubric criterion: ICC(2,1) with CI, weighted kappa and alpha, each read.

    ``ratings`` is long format (answer_id, rater, criterion, score), as
    :func:`grader.ratings.load_ratings` returns it. Weighted kappa (quadratic) is a
    two-rater statistic: with more raters its cells say so. ``icc_ci_label`` reads both ends
    of the ICC's CI, as Koo & Li advise for small samples. A coefficient that cannot be
    estimated is missing (<NA>), its ``*_label`` says "not enough data" and ``note`` says why.
    """
    _check_columns(ratings, ("answer_id", "rater", "criterion", "score"))
    raters = sorted(ratings["rater"].unique())
    rows = []
    for c in CRITERIA:
        if len(raters) < 2:
            rows.append(
                _table_row(
                    c.key,
                    len(raters),
                    None,
                    None,
                    None,
                    f"ratings from {len(raters)} rater(s); agreement needs two or more",
                )
            )
            continue
        wide = _wide(ratings, c.key).reindex(columns=raters)
        result = icc(
            ratings[ratings["criterion"] == c.key].astype({"score": float}),
            "answer_id",
            "rater",
            "score",
        )
        if len(raters) == 2:
            kappa = weighted_kappa(wide[raters[0]], wide[raters[1]], "quadratic")
        else:
            kappa = Coefficient(
                "Cohen's kappa (quadratic weights)",
                None,
                "two raters only",
                0,
                f"weighted kappa compares exactly two raters; there are {len(raters)}",
            )
        alpha = krippendorff_alpha(wide.T.to_numpy(), "ordinal")
        notes = [
            f"{name}: {r.reason}"
            for name, r in (("ICC", result), ("kappa", kappa), ("alpha", alpha))
            if r.reason
        ]
        rows.append(_table_row(c.key, len(raters), result, kappa, alpha, "; ".join(notes)))
    table = pd.DataFrame(rows)
    # Nullable floats: a coefficient that could not be estimated is <NA>, never a NaN number.
    for column in ("icc", "icc_ci_low", "icc_ci_high", "kappa", "alpha"):
        table[column] = pd.array(table[column].tolist(), dtype="Float64")
    return table


def _table_row(
    criterion: str,
    raters: int,
    result: ICCResult | None,
    kappa: Coefficient | None,
    alpha: Coefficient | None,
    note: str,
) -> dict:
    def value(r, attribute):
        return None if r is None else getattr(r, attribute)

    def label(r, attribute="label"):
        return NOT_ENOUGH if r is None else getattr(r, attribute)

    return {
        "criterion": criterion,
        "n": 0 if result is None else result.n_targets,
        "raters": raters,
        "icc": value(result, "value"),
        "icc_ci_low": value(result, "ci_low"),
        "icc_ci_high": value(result, "ci_high"),
        "icc_label": label(result),
        "icc_ci_label": label(result, "label_range"),
        "kappa": value(kappa, "value"),
        "kappa_label": label(kappa),
        "alpha": value(alpha, "value"),
        "alpha_label": label(alpha),
        "note": note,
    }


def largest_disagreements(ratings: pd.DataFrame, n: int = 10) -> pd.DataFrame:
    """The ``n`` answers on which the raters differ most, with every rater's scores.

    The difference of an answer is the sum over criteria of the spread of its scores
    (|a - b| for two raters; highest minus lowest for more). Criteria a rater left unrated
    do not count; answers on which the raters agree completely are not listed.
    """
    _check_columns(ratings, ("answer_id", "rater", "criterion", "score"))
    if ratings.empty:
        return pd.DataFrame(columns=["answer_id", "difference"])
    keys = [k for k in ("answer_id", "assignment", "grade_id") if k in ratings.columns]
    scores = ratings.pivot_table(
        index=keys, columns=["criterion", "rater"], values="score", aggfunc="first"
    )
    raters = sorted(ratings["rater"].unique())
    spread = pd.DataFrame(index=scores.index)
    out = pd.DataFrame(index=scores.index)
    for c in CRITERIA:
        if c.key not in scores.columns.get_level_values(0):
            continue
        block = scores[c.key].reindex(columns=raters)
        spread[c.key] = block.max(axis=1) - block.min(axis=1)
        for rater in raters:
            out[f"{c.key} ({rater})"] = block[rater].astype("Int64")
    out.insert(0, "difference", spread.sum(axis=1, min_count=1).astype("Int64"))
    out = out[out["difference"].fillna(0) > 0].reset_index()
    return (
        out.sort_values(["difference", "answer_id"], ascending=[False, True])
        .head(n)
        .reset_index(drop=True)
    )


def _check_columns(frame: pd.DataFrame, needed: tuple[str, ...]) -> None:
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise AgreementError(f"ratings need the columns {list(needed)}; missing {missing}")


# -- the results for people: the table `dialectic ratings agreement` prints, or JSON ---------


def agreement_record(ratings: pd.DataFrame, table: pd.DataFrame, worst: pd.DataFrame) -> dict:
    """:func:`agreement_table` and :func:`largest_disagreements` as plain JSON-ready values."""
    import json

    return {
        "raters": sorted(ratings["rater"].unique()),
        "answers": int(ratings["answer_id"].nunique()),
        "agreement": json.loads(table.to_json(orient="records")),
        "largest_disagreements": json.loads(worst.to_json(orient="records")),
    }


def agreement_text(ratings: pd.DataFrame, table: pd.DataFrame, worst: pd.DataFrame) -> str:
    """The coefficients per criterion, each with its reading, and the largest disagreements,
    as a table."""
    raters = sorted(ratings["rater"].unique())
    lines = [
        f"Agreement of {len(raters)} rater(s) ({', '.join(raters)}) on "
        f"{ratings['answer_id'].nunique()} written answers.",
        "",
        f"{'criterion':<10}{'n':>4}  {'ICC(2,1) [95% CI]':<52}"
        f"{'weighted kappa':<26}alpha (ordinal)",
    ]
    for row in table.itertuples():
        icc_text = _number(row.icc, row.icc_label)
        if not _missing(row.icc) and not _missing(row.icc_ci_low):
            icc_text = (
                f"{row.icc:.2f} [{row.icc_ci_low:.2f}, {row.icc_ci_high:.2f}] {row.icc_label}"
            )
            if row.icc_ci_label != row.icc_label:
                icc_text += f" (CI {row.icc_ci_label})"
        lines.append(
            f"{row.criterion:<10}{row.n:>4}  {icc_text:<52}"
            f"{_number(row.kappa, row.kappa_label):<26}"
            f"{_number(row.alpha, row.alpha_label)}"
        )
    lines += [
        "",
        "ICC(2,1): two-way random effects, absolute agreement, "
        "single rater (Shrout & Fleiss 1979),",
        "read by Koo & Li (2016), who advise judging by the whole CI. Kappa: quadratic weights,",
        "read by Landis & Koch (1977). Alpha: Krippendorff, ordinal "
        "(>= .800 reliable, >= .667 tentative).",
    ]
    notes = [f"  {row.criterion}: {row.note}" for row in table.itertuples() if row.note]
    if notes:
        lines += ["", "Notes:", *notes]
    if not worst.empty:
        criteria = [
            c for c in table["criterion"] if any(col.startswith(f"{c} (") for col in worst.columns)
        ]
        lines += [
            "",
            f"Largest disagreements (scores as {' / '.join(raters)}):",
            f"  {'answer_id':<12}{'assignment':<34}{'diff':>5}  "
            + "".join(f"{c:<12}" for c in criteria),
        ]
        for record in worst.to_dict("records"):
            cells = "".join(
                f"{' / '.join(_score(record.get(f'{c} ({r})')) for r in raters):<12}"
                for c in criteria
            )
            lines.append(
                f"  {record['answer_id']:<12}{str(record.get('assignment', '')):<34}"
                f"{int(record['difference']):>5}  {cells}"
            )
    return "\n".join(lines)


def _missing(value) -> bool:
    return value is None or pd.isna(value)


def _number(value, label: str) -> str:
    return label if _missing(value) else f"{value:.2f} {label}"


def _score(value) -> str:
    return "-" if _missing(value) else str(int(value))
