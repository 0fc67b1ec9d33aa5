"""Content-validity statistics for an expert review of the item bank.

Only statistics live here; the review sheets and the store are :mod:`grader.item_review`.

- **I-CVI** (item content validity index): the share of experts who rate an item's
  relevance 3 or 4 on a 1-4 scale (Lynn, 1986). **S-CVI/Ave** is the mean I-CVI over the
  items; **S-CVI/UA** the share of items that every expert rated 3 or 4 (Polit & Beck,
  2006). Polit, Beck & Owen (2007) recommend I-CVI >= .78 and S-CVI/Ave >= .90, and
  report beside each I-CVI the modified kappa k* = (I-CVI - pc) / (1 - pc), where pc is the
  binomial chance that A of N experts agree (> .74 excellent, .60-.74 good, .40-.59 fair).
- **CVR** (content validity ratio, Lawshe, 1975): (n_e - N/2) / (N/2), where n_e of N
  experts call an item essential. Its critical value for a panel of N is computed exactly
  from the binomial distribution, one-tailed at alpha = .05, as Ayre & Scally (2014) did
  to correct Lawshe's table.
- Krippendorff's alpha of the panel's spectrum placements comes from
  :func:`grader.agreement.krippendorff_alpha` (the `krippendorff` package).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np

#: Polit, Beck & Owen (2007): an item's I-CVI, and the scale's S-CVI/Ave, should reach these.
ICVI_THRESHOLD = 0.78
SCVI_AVE_THRESHOLD = 0.90
#: Relevance ratings that count as "relevant" on the 4-point scale (3 quite, 4 highly relevant).
RELEVANT = (3, 4)
RELEVANCE_SCALE = (1, 2, 3, 4)
#: Lawshe's three answers to "is this item essential?".
ESSENTIAL = "essential"
LAWSHE_ANSWERS = (ESSENTIAL, "useful", "not necessary")
CVR_ALPHA = 0.05


def i_cvi(ratings: Iterable[int | None]) -> float | None:
    """The share of the given 1-4 relevance ratings that are 3 or 4 (None when there are none)."""
    given = [int(r) for r in ratings if r is not None and not _missing(r)]
    outside = sorted({r for r in given if r not in RELEVANCE_SCALE})
    if outside:
        raise ValueError(f"relevance ratings {outside} are not on the 1-4 scale")
    if not given:
        return None
    return sum(r in RELEVANT for r in given) / len(given)


def chance_agreement(n_experts: int, n_agree: int) -> float:
    """pc: the binomial probability that exactly ``n_agree`` of ``n_experts`` agree by chance."""
    return math.comb(n_experts, n_agree) * 0.5**n_experts


def modified_kappa(n_experts: int, n_agree: int) -> float:
    """Polit, Beck & Owen's (2007) k*: I-CVI adjusted for chance agreement."""
    icvi = n_agree / n_experts
    pc = chance_agreement(n_experts, n_agree)
    return (icvi - pc) / (1 - pc)


def kappa_label(value: float) -> str:
    """Polit, Beck & Owen's (2007) reading of k* (after Cicchetti & Sparrow, 1981)."""
    if value > 0.74:
        return "excellent"
    if value >= 0.60:
        return "good"
    if value >= 0.40:
        return "fair"
    return "poor"


def scale_cvi(matrix: Sequence[Sequence[int | None]]) -> tuple[float | None, float | None]:
    """S-CVI/Ave and S-CVI/UA of an items x experts matrix of 1-4 relevance ratings.

    S-CVI/UA counts an item as universally agreed when every expert who rated it gave 3 or 4.
    """
    icvis = [i_cvi(row) for row in matrix]
    rated = [v for v in icvis if v is not None]
    if not rated:
        return None, None
    return float(np.mean(rated)), sum(v == 1.0 for v in rated) / len(rated)


def cvr(n_essential: int, n_experts: int) -> float:
    """Lawshe's (1975) content validity ratio, from -1 (no one) to +1 (everyone says essential)."""
    if n_experts < 1 or not 0 <= n_essential <= n_experts:
        raise ValueError(f"{n_essential} of {n_experts} experts is not a valid count")
    half = n_experts / 2
    return (n_essential - half) / half


def cvr_critical(n_experts: int, alpha: float = CVR_ALPHA) -> tuple[int, float] | None:
    """The fewest experts who must say "essential", and the CVR that gives, for p < ``alpha``.

    Exact one-tailed binomial test against p = .5 (Ayre & Scally, 2014). None when even a
    unanimous panel cannot reach significance (fewer than 5 experts at alpha = .05).
    """
    for needed in range(n_experts + 1):
        tail = sum(math.comb(n_experts, k) for k in range(needed, n_experts + 1)) * 0.5**n_experts
        if tail <= alpha:
            return needed, cvr(needed, n_experts)
    return None


def _missing(value) -> bool:
    return isinstance(value, float) and math.isnan(value)
