"""Inter-coder agreement (Cohen's kappa, Krippendorff's alpha) and evaluation of coding against gold."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, TypeVar

import pandas as pd

from coding.ids import REASONS

__all__ = [
    "COVERAGE_LEVELS",
    "AgreementReport",
    "Evaluation",
    "agreement",
    "cohen_kappa",
    "evaluate",
    "krippendorff_alpha_multilabel",
    "krippendorff_alpha_nominal",
]

# A TypeVar rather than Hashable itself: Mapping is invariant in its key, so a dict[str, ...] would not
# type-check against Mapping[Hashable, ...] in the callers' code.
K = TypeVar("K", bound=Hashable)

COVERAGE_LEVELS: tuple[float, ...] = (0.90, 0.95, 0.99)


def _check_same_length(name_a: str, a: Sequence[Any], name_b: str, b: Sequence[Any]) -> None:
    if len(a) != len(b):
        raise ValueError(f"{name_a} and {name_b} differ in length ({len(a)} != {len(b)})")


def cohen_kappa(a: Sequence[Hashable], b: Sequence[Hashable]) -> float | None:
    """Cohen's kappa of two coders' nominal labels on the same items, (p_o - p_e) / (1 - p_e).

    None when undefined: no items, or both coders put every item into one and the same category
    (p_e = 1, so kappa is 0/0). The same holds for a 0/1 category that neither coder ever used.
    """
    _check_same_length("a", a, "b", b)
    n = len(a)
    if n == 0:
        return None
    agreed = sum(1 for x, y in zip(a, b, strict=True) if x == y)
    counts_a, counts_b = Counter(a), Counter(b)
    chance = sum(count * counts_b[value] for value, count in counts_a.items())
    # Multiplying p_o and p_e through by n**2 keeps the arithmetic in integers, so the undefined case is
    # detected exactly instead of by comparing a float p_e with 1.
    denominator = n * n - chance
    if denominator == 0:
        return None
    return (n * agreed - chance) / denominator


def krippendorff_alpha_nominal(units: Sequence[Sequence[Hashable | None]]) -> float | None:
    """Krippendorff's alpha for nominal data, from the coincidence matrix (Krippendorff 2011).

    `units` holds, per unit (item), the value each coder gave, None where that coder did not code it.
    Units with fewer than two values are not pairable and are ignored. With n pairable values, n_c of
    them equal to c, and o_ck the coincidences:

        alpha = 1 - (n - 1) * sum_{c != k} o_ck / sum_{c != k} n_c * n_k

    None when undefined: no pairable values, or all pairable values are the same (no variation, so the
    expected disagreement is 0).
    """
    # Disagreeing ordered pairs of values within a unit, grouped by the unit's number of values m: each
    # such pair adds 1 / (m - 1) to the off-diagonal of the coincidence matrix.
    disagreeing_by_size: dict[int, int] = defaultdict(int)
    value_totals: Counter[Hashable] = Counter()
    for unit in units:
        values = [value for value in unit if value is not None]
        m = len(values)
        if m < 2:
            continue
        in_unit = Counter(values)
        disagreeing_by_size[m] += m * m - sum(count * count for count in in_unit.values())
        value_totals.update(in_unit)
    n = sum(value_totals.values())
    expected = n * n - sum(count * count for count in value_totals.values())
    if n == 0 or expected == 0:
        return None
    # Fractions keep the 1 / (m - 1) weights exact; they only matter when some unit has > 2 values.
    observed = sum((Fraction(pairs, m - 1) for m, pairs in disagreeing_by_size.items()), Fraction(0))
    return float(1 - (n - 1) * observed / expected)


def _binary_decisions(
    coder_a: Sequence[frozenset[str]], coder_b: Sequence[frozenset[str]], labels: Sequence[str]
) -> tuple[list[int], list[int]]:
    """The pooled (item, label) 0/1 decisions of both coders, item-major, labels in the given order."""
    _check_same_length("coder_a", coder_a, "coder_b", coder_b)
    a = [int(label in reasons) for reasons in coder_a for label in labels]
    b = [int(label in reasons) for reasons in coder_b for label in labels]
    return a, b


def krippendorff_alpha_multilabel(
    coder_a: Sequence[frozenset[str]], coder_b: Sequence[frozenset[str]], labels: Sequence[str]
) -> float | None:
    """Nominal alpha over all (item, label) binary decisions pooled, two coders.

    Each (item, label) pair is one unit whose two values say whether each coder assigned that label to
    that item. This choice treats a multi-label coding as the series of yes/no decisions a coder makes
    while going through the codebook, so a partial overlap of two sets counts as partly agreeing; a set
    distance (e.g. MASI) would be the alternative but has no established chance model as simple as this.
    Chance agreement comes from the pooled 0/1 marginals, so the many joint "not this label" decisions
    of a sparse codebook are discounted rather than inflating alpha. Ids outside `labels` are ignored.
    """
    a, b = _binary_decisions(coder_a, coder_b, labels)
    return krippendorff_alpha_nominal(list(zip(a, b, strict=True)))


def _nan_if_none(value: float | None) -> float:
    return math.nan if value is None else value


@dataclass(frozen=True)
class AgreementReport:
    """Agreement between two coders on the reasons (and competitors) of the answers both coded."""

    items: int  # answers both coders coded
    per_category: dict[str, float | None]  # Cohen's kappa of the 0/1 decisions per reason id
    overall_kappa: float | None  # Cohen's kappa on the pooled (item, reason) 0/1 decisions
    alpha: float | None  # krippendorff_alpha_multilabel over the reasons
    exact_agreement: float | None  # share of items with identical reason sets
    competitor_kappa: float | None  # kappa on competitor ids where both gave one

    def to_frame(self) -> pd.DataFrame:
        """Columns measure, value: one row per category (its id), then "overall" and "alpha".

        Undefined values (None) become NaN so that the column stays numeric.
        """
        measures = [*self.per_category, "overall", "alpha"]
        values = [
            *(_nan_if_none(kappa) for kappa in self.per_category.values()),
            _nan_if_none(self.overall_kappa),
            _nan_if_none(self.alpha),
        ]
        return pd.DataFrame({"measure": measures, "value": pd.Series(values, dtype="float64")})


def agreement(
    coder_a: Mapping[K, frozenset[str]],
    coder_b: Mapping[K, frozenset[str]],
    *,
    competitor_a: Mapping[K, str | None] | None = None,
    competitor_b: Mapping[K, str | None] | None = None,
    labels: Sequence[str] = tuple(REASONS),
) -> AgreementReport:
    """Agreement of two coders over the answers (keys) present in both `coder_a` and `coder_b`.

    Reason sets may be empty (the coder found no reason). Ids outside `labels` are ignored, so passing
    a subset of the codebook measures agreement on that subset only. The competitor kappa uses the same
    answers, limited to those where both coders gave a competitor id (missing key or None = not given);
    it is None when no competitor mappings are passed or no answer has both.
    """
    keys = [key for key in coder_a if key in coder_b]
    wanted = frozenset(labels)
    sets_a = [coder_a[key] & wanted for key in keys]
    sets_b = [coder_b[key] & wanted for key in keys]

    per_category = {label: cohen_kappa([label in s for s in sets_a], [label in s for s in sets_b]) for label in labels}
    pooled_a, pooled_b = _binary_decisions(sets_a, sets_b, labels)
    exact = sum(1 for x, y in zip(sets_a, sets_b, strict=True) if x == y) / len(keys) if keys else None

    competitor_kappa: float | None = None
    if competitor_a is not None and competitor_b is not None:
        pairs = [
            (competitor_a.get(key), competitor_b.get(key))
            for key in keys
            if competitor_a.get(key) is not None and competitor_b.get(key) is not None
        ]
        competitor_kappa = cohen_kappa([x for x, _ in pairs], [y for _, y in pairs])

    return AgreementReport(
        items=len(keys),
        per_category=per_category,
        overall_kappa=cohen_kappa(pooled_a, pooled_b),
        alpha=krippendorff_alpha_multilabel(sets_a, sets_b, labels),
        exact_agreement=exact,
        competitor_kappa=competitor_kappa,
    )


def _json_float(value: float | None) -> float | None:
    """Rounded to 4 places; NaN (undefined) becomes None, which JSON can carry."""
    if value is None or math.isnan(value):
        return None
    return round(float(value), 4)


@dataclass(frozen=True)
class Evaluation:
    """Automatic coding compared with gold (hand) coding of the same answers."""

    items: int
    # Index = reason id in `labels` order; columns precision, recall, f1 (floats), support (gold count).
    # A category with neither gold nor predicted occurrences has NaN precision/recall/f1.
    per_category: pd.DataFrame
    micro_f1: float
    macro_f1: float  # mean F1 over categories with support > 0 in gold or predictions
    exact_match: float  # share of answers whose predicted reason set equals the gold set
    competitor_accuracy: float | None
    # For each level: the largest share of answers, taken by decreasing confidence, whose exact-match
    # accuracy is >= the level; 0.0 if no such share.
    coverage_at_precision: dict[float, float]
    # The answers the coder would code automatically (needs_review false): their share, and the
    # share of them whose reason set is exactly right. None when no review flags were passed.
    automatic_share: float | None = None
    automatic_exact: float | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: floats rounded to 4 places, NaN/undefined as None, coverage keys as "0.90"."""
        per_category = {
            str(label): {
                "precision": _json_float(row["precision"]),
                "recall": _json_float(row["recall"]),
                "f1": _json_float(row["f1"]),
                "support": int(row["support"]),
            }
            for label, row in self.per_category.iterrows()
        }
        return {
            "items": self.items,
            "micro_f1": _json_float(self.micro_f1),
            "macro_f1": _json_float(self.macro_f1),
            "exact_match": _json_float(self.exact_match),
            "competitor_accuracy": _json_float(self.competitor_accuracy),
            "coverage_at_precision": {
                f"{level:.2f}": _json_float(share) for level, share in self.coverage_at_precision.items()
            },
            "automatic_share": _json_float(self.automatic_share),
            "automatic_exact": _json_float(self.automatic_exact),
            "per_category": per_category,
        }


def _ratio(numerator: int, denominator: int) -> float:
    # 0/0 scores 0.0, as scikit-learn's zero_division=0 does, so the numbers can be checked against it.
    return numerator / denominator if denominator else 0.0


def coverage_at_precision(
    correct: Sequence[bool], confidence: Sequence[float], levels: Sequence[float] = COVERAGE_LEVELS
) -> dict[float, float]:
    """For each level, the largest share of answers, by decreasing confidence, with accuracy >= level.

    Ties in confidence keep their input order (stable sort); every prefix counts, including one that
    ends inside a run of tied confidences. 0.0 when even the first answer alone is below the level.
    """
    _check_same_length("correct", correct, "confidence", confidence)
    if any(math.isnan(value) for value in confidence):
        raise ValueError("confidence contains NaN")
    n = len(correct)
    order = sorted(range(n), key=lambda i: -confidence[i])
    best = dict.fromkeys(levels, 0.0)
    hits = 0
    for taken, index in enumerate(order, start=1):
        hits += bool(correct[index])
        # hits / taken is correctly rounded and so is each level literal; rounding is monotonic, so the
        # float comparison agrees with the exact one for these small ratios.
        accuracy = hits / taken
        for level in levels:
            if accuracy >= level:
                best[level] = taken / n
    return best


def evaluate(
    gold: Sequence[frozenset[str]],
    predicted: Sequence[frozenset[str]],
    confidence: Sequence[float],
    *,
    gold_competitor: Sequence[str | None] | None = None,
    predicted_competitor: Sequence[str | None] | None = None,
    labels: Sequence[str] = tuple(REASONS),
    levels: Sequence[float] = COVERAGE_LEVELS,
    needs_review: Sequence[bool] | None = None,
) -> Evaluation:
    """Precision, recall and F1 per category and micro/macro, exact match, competitor accuracy, coverage.

    `confidence` is the coder's confidence in each whole predicted set; the coverage figures say how
    many answers could be coded automatically at a given exact-match accuracy. Ids outside `labels` are
    ignored (in gold and predictions alike). Competitor accuracy counts the answers with a gold
    competitor (None = not coded); a missing prediction there is wrong. It is None when the competitor
    sequences are not passed or no answer has a gold competitor. With no answers at all, the ratios are
    0.0 and the coverage is 0.0.
    """
    _check_same_length("gold", gold, "predicted", predicted)
    _check_same_length("gold", gold, "confidence", confidence)
    wanted = frozenset(labels)
    gold_sets = [reasons & wanted for reasons in gold]
    predicted_sets = [reasons & wanted for reasons in predicted]

    rows: dict[str, dict[str, float]] = {}
    total_tp = total_fp = total_fn = 0
    macro_scores: list[float] = []
    for label in labels:
        in_gold = [label in s for s in gold_sets]
        in_predicted = [label in s for s in predicted_sets]
        tp = sum(1 for g, p in zip(in_gold, in_predicted, strict=True) if g and p)
        support, predicted_count = sum(in_gold), sum(in_predicted)
        fp, fn = predicted_count - tp, support - tp
        total_tp, total_fp, total_fn = total_tp + tp, total_fp + fp, total_fn + fn
        if support == 0 and predicted_count == 0:
            # Nothing to find and nothing claimed: the scores say nothing, so they are NaN, not 0.
            precision = recall = f1 = math.nan
        else:
            precision, recall = _ratio(tp, predicted_count), _ratio(tp, support)
            f1 = _ratio(2 * tp, 2 * tp + fp + fn)
            macro_scores.append(f1)
        rows[label] = {"precision": precision, "recall": recall, "f1": f1, "support": support}

    per_category = pd.DataFrame.from_dict(
        rows, orient="index", columns=["precision", "recall", "f1", "support"]
    ).reindex(list(labels))
    per_category = per_category.astype(
        {"precision": "float64", "recall": "float64", "f1": "float64", "support": "int64"}
    )

    competitor_accuracy: float | None = None
    if gold_competitor is not None and predicted_competitor is not None:
        _check_same_length("gold", gold, "gold_competitor", gold_competitor)
        _check_same_length("gold", gold, "predicted_competitor", predicted_competitor)
        judged = [(g, p) for g, p in zip(gold_competitor, predicted_competitor, strict=True) if g is not None]
        if judged:
            competitor_accuracy = sum(1 for g, p in judged if g == p) / len(judged)

    correct = [g == p for g, p in zip(gold_sets, predicted_sets, strict=True)]
    automatic_share = automatic_exact = None
    if needs_review is not None:
        _check_same_length("gold", gold, "needs_review", needs_review)
        automatic = [right for right, review in zip(correct, needs_review, strict=True) if not review]
        automatic_share = _ratio(len(automatic), len(correct))
        automatic_exact = _ratio(sum(automatic), len(automatic)) if automatic else None
    return Evaluation(
        items=len(gold_sets),
        per_category=per_category,
        micro_f1=_ratio(2 * total_tp, 2 * total_tp + total_fp + total_fn),
        macro_f1=sum(macro_scores) / len(macro_scores) if macro_scores else 0.0,
        exact_match=_ratio(sum(correct), len(correct)),
        competitor_accuracy=competitor_accuracy,
        coverage_at_precision=coverage_at_precision(correct, confidence, levels),
        automatic_share=automatic_share,
        automatic_exact=automatic_exact,
    )
