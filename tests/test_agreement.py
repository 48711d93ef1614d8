"""Agreement and evaluation measures against scikit-learn, hand-worked and published examples."""

from __future__ import annotations

import json
import math
import random
from collections.abc import Hashable, Sequence

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, cohen_kappa_score, precision_recall_fscore_support
from sklearn.preprocessing import MultiLabelBinarizer

from coding.agreement import (
    AgreementReport,
    agreement,
    cohen_kappa,
    coverage_at_precision,
    evaluate,
    krippendorff_alpha_multilabel,
    krippendorff_alpha_nominal,
)
from coding.ids import REASONS

LABELS = tuple(REASONS)


def random_sets(rng: random.Random, n: int, labels: Sequence[str], rate: float = 0.2) -> list[frozenset[str]]:
    return [frozenset(label for label in labels if rng.random() < rate) for _ in range(n)]


def perturb(rng: random.Random, sets: list[frozenset[str]], labels: Sequence[str]) -> list[frozenset[str]]:
    """A second coder who mostly agrees: each decision flipped with probability 0.1."""
    return [frozenset(label for label in labels if (label in s) != (rng.random() < 0.1)) for s in sets]


def binarize(sets: Sequence[frozenset[str]], labels: Sequence[str]) -> np.ndarray:
    return MultiLabelBinarizer(classes=list(labels)).fit_transform([sorted(s) for s in sets])


# --- Cohen's kappa --------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(8))
def test_cohen_kappa_matches_sklearn_on_random_data(seed: int) -> None:
    rng = random.Random(seed)
    categories = ["a", "b", "c", "d"][: rng.randint(2, 4)]
    a = [rng.choice(categories) for _ in range(rng.randint(5, 60))]
    b = [x if rng.random() < 0.6 else rng.choice(categories) for x in a]
    assert cohen_kappa(a, b) == pytest.approx(cohen_kappa_score(a, b))


def test_cohen_kappa_hand_example() -> None:
    # p_o = 3/4; p_e = 1/2 * 1/4 + 1/2 * 3/4 = 1/2; kappa = (3/4 - 1/2) / (1 - 1/2) = 1/2.
    assert cohen_kappa([1, 1, 0, 0], [1, 0, 0, 0]) == pytest.approx(0.5)
    assert cohen_kappa(["x", "y"], ["y", "x"]) == pytest.approx(-1.0)
    assert cohen_kappa(["x", "y", "z"], ["x", "y", "z"]) == 1.0


def test_cohen_kappa_undefined_and_degenerate_cases() -> None:
    assert cohen_kappa([], []) is None
    # Both coders put everything into one and the same category: p_e = 1.
    assert cohen_kappa(["x"] * 5, ["x"] * 5) is None
    assert cohen_kappa([False] * 3, [False] * 3) is None
    # One coder constant, the other not: defined (and 0 here, as sklearn says).
    assert cohen_kappa([0, 0, 0, 0], [0, 0, 0, 1]) == pytest.approx(cohen_kappa_score([0, 0, 0, 0], [0, 0, 0, 1]))
    with pytest.raises(ValueError):
        cohen_kappa([1, 2], [1])


# --- Krippendorff's alpha ----------------------------------------------------------------------------------


def reference_alpha(units: Sequence[Sequence[Hashable | None]]) -> float:
    """Straight from the paper: coincidence matrix o_ck, then alpha = 1 - D_o / D_e (nominal delta)."""
    pairable = [[v for v in unit if v is not None] for unit in units]
    pairable = [values for values in pairable if len(values) >= 2]
    values = sorted({v for unit in pairable for v in unit}, key=repr)
    index = {v: i for i, v in enumerate(values)}
    o = np.zeros((len(values), len(values)))
    for unit in pairable:
        m = len(unit)
        for i, x in enumerate(unit):
            for j, y in enumerate(unit):
                if i != j:
                    o[index[x], index[y]] += 1 / (m - 1)
    n_c = o.sum(axis=1)
    n = n_c.sum()
    delta = 1 - np.eye(len(values))
    d_o = (o * delta).sum() / n
    d_e = (np.outer(n_c, n_c) * delta).sum() / (n * (n - 1))
    return float(1 - d_o / d_e)


def test_alpha_krippendorff_published_nominal_example() -> None:
    # Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", section C: 4 observers,
    # 12 units, missing values; nominal alpha = 0.743. Unit 12 has a single value and is not pairable.
    n = None
    observer_a = [1, 2, 3, 3, 2, 1, 4, 1, 2, n, n, n]
    observer_b = [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, n, 3]
    observer_c = [n, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, n]
    observer_d = [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, n]
    units = list(zip(observer_a, observer_b, observer_c, observer_d, strict=True))
    alpha = krippendorff_alpha_nominal(units)
    assert alpha is not None
    assert round(alpha, 3) == 0.743
    assert alpha == pytest.approx(reference_alpha(units))


def test_alpha_krippendorff_published_binary_example() -> None:
    # Same paper, section A: two observers, ten units, binary data; alpha = 1 - 19 * 4 / (14 * 6) = 0.095.
    observer_a = [0, 1, 0, 0, 0, 0, 0, 0, 1, 0]
    observer_b = [1, 1, 1, 0, 0, 1, 0, 0, 0, 0]
    alpha = krippendorff_alpha_nominal(list(zip(observer_a, observer_b, strict=True)))
    assert alpha is not None
    assert alpha == pytest.approx(1 - 19 * 4 / (14 * 6))
    assert round(alpha, 3) == 0.095


@pytest.mark.parametrize("seed", range(6))
def test_alpha_two_coders_no_missing_relates_to_scotts_pi(seed: int) -> None:
    # With two coders and N units, n = 2N values and alpha = 1 - (n - 1) / n * (1 - pi), where Scott's pi
    # uses the pooled marginals for the expected agreement.
    rng = random.Random(seed)
    a = [rng.choice("pqr") for _ in range(rng.randint(4, 40))]
    b = [x if rng.random() < 0.5 else rng.choice("pqr") for x in a]
    n_units = len(a)
    p_o = sum(x == y for x, y in zip(a, b, strict=True)) / n_units
    pooled = a + b
    p_e = sum((pooled.count(c) / len(pooled)) ** 2 for c in set(pooled))
    pi = (p_o - p_e) / (1 - p_e)
    n = 2 * n_units
    alpha = krippendorff_alpha_nominal(list(zip(a, b, strict=True)))
    assert alpha == pytest.approx(1 - (n - 1) / n * (1 - pi))


@pytest.mark.parametrize("seed", range(6))
def test_alpha_matches_coincidence_matrix_reference_with_missing_values(seed: int) -> None:
    rng = random.Random(100 + seed)
    coders = rng.randint(2, 5)
    units = [[rng.choice([None, "u", "v", "w", "w"]) for _ in range(coders)] for _ in range(rng.randint(5, 30))]
    units.append(["u", "v"])  # at least one pairable unit with variation
    assert krippendorff_alpha_nominal(units) == pytest.approx(reference_alpha(units))


def test_alpha_edge_cases() -> None:
    assert krippendorff_alpha_nominal([]) is None
    assert krippendorff_alpha_nominal([["x"], [None, "y"], [None, None]]) is None  # nothing pairable
    assert krippendorff_alpha_nominal([["x", "x"], ["x", "x", None]]) is None  # no variation at all
    assert krippendorff_alpha_nominal([["x", "x"], ["y", "y", "y"], [None, "z", "z"]]) == 1.0
    base = [["x", "y"], ["x", "x"], ["y", "y"]]
    # Units with fewer than two values carry no information about agreement.
    assert krippendorff_alpha_nominal([*base, ["z"], [None, "x"]]) == krippendorff_alpha_nominal(base)


def test_alpha_multilabel_is_nominal_alpha_on_pooled_binary_decisions() -> None:
    labels = ["p", "q", "r"]
    a = [frozenset({"p"}), frozenset({"p", "q"}), frozenset(), frozenset({"r"})]
    b = [frozenset({"p"}), frozenset({"q"}), frozenset({"r"}), frozenset({"r"})]
    units = [(int(label in x), int(label in y)) for x, y in zip(a, b, strict=True) for label in labels]
    # 12 decisions, 2 disagreements: n = 24 values, eight 1s -> alpha = 1 - 23 * 4 / (24**2 - 8**2 - 16**2).
    expected = 1 - 23 * 4 / (24**2 - 8**2 - 16**2)
    assert krippendorff_alpha_multilabel(a, b, labels) == pytest.approx(expected)
    assert krippendorff_alpha_multilabel(a, b, labels) == pytest.approx(krippendorff_alpha_nominal(units))
    assert krippendorff_alpha_multilabel(a, a, labels) == 1.0
    assert krippendorff_alpha_multilabel([], [], labels) is None
    assert krippendorff_alpha_multilabel([frozenset()], [frozenset()], labels) is None
    with pytest.raises(ValueError):
        krippendorff_alpha_multilabel(a, b[:2], labels)


# --- agreement() -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(4))
def test_agreement_matches_sklearn(seed: int) -> None:
    rng = random.Random(seed)
    used = LABELS[:-1]  # the last reason is never used by either coder
    sets_a = random_sets(rng, 80, used)
    sets_b = perturb(rng, sets_a, used)
    coder_a = {f"r{i}": s for i, s in enumerate(sets_a)}
    coder_b = {f"r{i}": s for i, s in enumerate(sets_b)}
    coder_a["only_a"] = frozenset({"price"})
    coder_b["only_b"] = frozenset({"price"})

    report = agreement(coder_a, coder_b)
    assert report.items == 80
    assert list(report.per_category) == list(LABELS)
    matrix_a, matrix_b = binarize(sets_a, LABELS), binarize(sets_b, LABELS)
    for column, label in enumerate(used):
        assert report.per_category[label] == pytest.approx(cohen_kappa_score(matrix_a[:, column], matrix_b[:, column]))
    assert report.per_category[LABELS[-1]] is None
    assert report.overall_kappa == pytest.approx(cohen_kappa_score(matrix_a.ravel(), matrix_b.ravel()))
    assert report.alpha == pytest.approx(krippendorff_alpha_multilabel(sets_a, sets_b, LABELS))
    assert report.exact_agreement == pytest.approx(accuracy_score(matrix_a, matrix_b))
    assert report.competitor_kappa is None


def test_agreement_hand_example_with_competitors() -> None:
    labels = ["price", "slow_speed"]
    coder_a = {1: frozenset({"price"}), 2: frozenset({"price", "slow_speed"}), 3: frozenset(), 4: frozenset()}
    coder_b = {1: frozenset({"price"}), 2: frozenset({"price"}), 3: frozenset(), 4: frozenset({"slow_speed"})}
    report = agreement(
        coder_a,
        coder_b,
        competitor_a={1: "china_mobile", 2: "china_unicom", 3: "china_mobile", 4: None},
        competitor_b={1: "china_mobile", 2: "china_unicom", 3: "china_unicom", 4: "china_mobile"},
        labels=labels,
    )
    assert report.items == 4
    # price: identical decisions 1,1,0,0 -> 1.0. slow_speed: a = 0,1,0,0, b = 0,0,0,1 -> p_o = 1/2,
    # p_e = 3/4 * 3/4 + 1/4 * 1/4 = 5/8, kappa = (1/2 - 5/8) / (3/8) = -1/3.
    assert report.per_category == {"price": 1.0, "slow_speed": pytest.approx(-1 / 3)}
    assert report.exact_agreement == pytest.approx(2 / 4)
    # Competitors: answer 4 lacks coder a's id; on 1..3 p_o = 2/3, p_e = 2/3 * 1/3 + 1/3 * 2/3 = 4/9,
    # kappa = (2/3 - 4/9) / (5/9) = 2/5.
    assert report.competitor_kappa == pytest.approx(0.4)


def test_agreement_ignores_ids_outside_labels_and_handles_empty_input() -> None:
    report = agreement({1: frozenset({"price", "typo"})}, {1: frozenset({"price"})}, labels=["price", "bundling"])
    assert report.exact_agreement == 1.0
    assert report.per_category == {"price": None, "bundling": None}  # one item, constant decisions

    empty = agreement({}, {"x": frozenset()}, competitor_a={}, competitor_b={})
    assert empty.items == 0
    assert all(value is None for value in empty.per_category.values())
    assert empty.overall_kappa is None and empty.alpha is None
    assert empty.exact_agreement is None and empty.competitor_kappa is None


def test_agreement_report_to_frame() -> None:
    report = AgreementReport(
        items=3,
        per_category={"price": 0.5, "slow_speed": None},
        overall_kappa=0.25,
        alpha=None,
        exact_agreement=1.0,
        competitor_kappa=None,
    )
    frame = report.to_frame()
    assert list(frame.columns) == ["measure", "value"]
    assert frame["measure"].tolist() == ["price", "slow_speed", "overall", "alpha"]
    assert frame["value"].dtype == np.float64
    assert frame["value"].iloc[0] == 0.5 and frame["value"].iloc[2] == 0.25
    assert frame["value"].isna().tolist() == [False, True, False, True]

    full = agreement({1: frozenset({"price"})}, {1: frozenset()}).to_frame()
    assert len(full) == len(LABELS) + 2


# --- evaluate() ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(4))
def test_evaluate_matches_sklearn(seed: int) -> None:
    rng = random.Random(seed)
    used = LABELS[:-2]  # the last two reasons appear neither in gold nor in predictions
    gold = random_sets(rng, 120, used, rate=0.15)
    predicted = perturb(rng, gold, used)
    confidence = [rng.random() for _ in gold]
    result = evaluate(gold, predicted, confidence)

    y_true, y_pred = binarize(gold, LABELS), binarize(predicted, LABELS)
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=list(range(len(LABELS))), zero_division=0
    )
    frame = result.per_category
    assert list(frame.index) == list(LABELS)
    assert list(frame.columns) == ["precision", "recall", "f1", "support"]
    assert frame["support"].tolist() == support.tolist()
    active = (y_true.sum(axis=0) + y_pred.sum(axis=0)) > 0
    assert active.tolist() == [True] * len(used) + [False, False]
    np.testing.assert_allclose(frame["precision"].to_numpy()[active], precision[active])
    np.testing.assert_allclose(frame["recall"].to_numpy()[active], recall[active])
    np.testing.assert_allclose(frame["f1"].to_numpy()[active], f1[active])
    assert frame.loc[list(LABELS[-2:]), ["precision", "recall", "f1"]].isna().all().all()

    _, _, micro, _ = precision_recall_fscore_support(y_true, y_pred, average="micro", zero_division=0)
    _, _, macro, _ = precision_recall_fscore_support(
        y_true, y_pred, average="macro", labels=np.flatnonzero(active).tolist(), zero_division=0
    )
    assert result.micro_f1 == pytest.approx(micro)
    assert result.macro_f1 == pytest.approx(macro)
    assert result.exact_match == pytest.approx(accuracy_score(y_true, y_pred))
    assert result.items == 120


def test_evaluate_hand_example() -> None:
    labels = ["price", "slow_speed", "bundling"]
    gold = [frozenset({"price"}), frozenset({"price", "slow_speed"}), frozenset(), frozenset({"slow_speed"})]
    predicted = [frozenset({"price"}), frozenset({"price"}), frozenset({"price"}), frozenset({"slow_speed"})]
    result = evaluate(
        gold,
        predicted,
        [0.9, 0.8, 0.7, 0.6],
        gold_competitor=["china_mobile", None, "china_unicom", "none"],
        predicted_competitor=["china_mobile", "china_mobile", "china_mobile", None],
        labels=labels,
    )
    # price: tp 2, fp 1, fn 0 -> P 2/3, R 1, F1 4/5. slow_speed: tp 1, fp 0, fn 1 -> P 1, R 1/2, F1 2/3.
    frame = result.per_category
    assert frame.loc["price"].tolist() == pytest.approx([2 / 3, 1.0, 0.8, 2])
    assert frame.loc["slow_speed"].tolist() == pytest.approx([1.0, 0.5, 2 / 3, 2])
    assert frame.loc["bundling", ["precision", "recall", "f1"]].isna().all()
    assert frame.loc["bundling", "support"] == 0
    assert result.micro_f1 == pytest.approx(2 * 3 / (2 * 3 + 1 + 1))
    assert result.macro_f1 == pytest.approx((0.8 + 2 / 3) / 2)
    assert result.exact_match == pytest.approx(0.5)
    # Competitors: the answer without a gold competitor is skipped; a missing prediction is wrong.
    assert result.competitor_accuracy == pytest.approx(1 / 3)
    # By confidence: correct, wrong, wrong, correct -> accuracies 1, 1/2, 1/3, 1/2.
    assert result.coverage_at_precision == {0.90: 0.25, 0.95: 0.25, 0.99: 0.25}


def test_coverage_at_precision_ten_items() -> None:
    # Given in shuffled order; by decreasing confidence the answers are correct except the fifth.
    by_confidence = [(0.99, True), (0.97, True), (0.95, True), (0.93, True), (0.91, False),
                     (0.89, True), (0.87, True), (0.85, True), (0.83, True), (0.81, True)]  # fmt: skip
    shuffled = random.Random(7).sample(by_confidence, k=len(by_confidence))
    coverage = coverage_at_precision([c for _, c in shuffled], [p for p, _ in shuffled])
    # Prefix accuracies: 1, 1, 1, 1, .8, .833, .857, .875, .889, .9; the full set reaches exactly 0.90.
    assert coverage == {0.90: 1.0, 0.95: 0.4, 0.99: 0.4}

    # A wrong first answer: prefix accuracies 0, .5, .67, ... , 8/9, 9/10, so only 0.90 is ever reached.
    first_wrong = [False] + [True] * 9
    assert coverage_at_precision(first_wrong, [1.0 - i / 100 for i in range(10)]) == {
        0.90: 1.0,
        0.95: 0.0,
        0.99: 0.0,
    }


def test_coverage_at_precision_boundaries_and_ties() -> None:
    # 19 of 20 correct, the wrong one last: accuracy 19/20 = 0.95 exactly, so 0.95 covers everything.
    correct = [True] * 19 + [False]
    confidence = [1.0 - i / 100 for i in range(20)]
    assert coverage_at_precision(correct, confidence) == {0.90: 1.0, 0.95: 1.0, 0.99: 0.95}

    # Tied confidences keep input order: 0.9 (correct), 0.9 (wrong), 0.9 (correct), then 0.5 (correct).
    # A prefix may end inside the tie, so one answer out of four is covered at every level.
    tied = coverage_at_precision([True, True, False, True], [0.5, 0.9, 0.9, 0.9])
    assert tied == {0.90: 0.25, 0.95: 0.25, 0.99: 0.25}
    # Reordering within the tie changes which prefixes exist: now two correct answers come first.
    assert coverage_at_precision([True, True, True, False], [0.5, 0.9, 0.9, 0.9])[0.90] == 0.5

    assert coverage_at_precision([], []) == {0.90: 0.0, 0.95: 0.0, 0.99: 0.0}
    with pytest.raises(ValueError):
        coverage_at_precision([True], [math.nan])


def test_evaluate_empty_input_and_validation() -> None:
    result = evaluate([], [], [])
    assert result.items == 0
    assert result.micro_f1 == 0.0 and result.macro_f1 == 0.0 and result.exact_match == 0.0
    assert result.competitor_accuracy is None
    assert result.coverage_at_precision == {0.90: 0.0, 0.95: 0.0, 0.99: 0.0}
    assert list(result.per_category.index) == list(LABELS)
    assert (result.per_category["support"] == 0).all()
    with pytest.raises(ValueError):
        evaluate([frozenset()], [], [0.5])
    with pytest.raises(ValueError):
        evaluate([frozenset()], [frozenset()], [])
    with pytest.raises(ValueError):
        evaluate([frozenset()], [frozenset()], [0.5], gold_competitor=["none"], predicted_competitor=[])


def test_evaluation_as_dict_is_json_ready() -> None:
    gold = [frozenset({"price"}), frozenset({"price", "slow_speed"}), frozenset()]
    predicted = [frozenset({"price"}), frozenset({"slow_speed"}), frozenset()]
    result = evaluate(gold, predicted, [0.3, 0.2, 0.1], gold_competitor=["none"] * 3, predicted_competitor=["none"] * 3)
    data = result.as_dict()
    json.dumps(data, allow_nan=False)  # no NaN, no non-string keys
    assert data["items"] == 3
    assert data["micro_f1"] == round(result.micro_f1, 4) == 0.8
    assert data["macro_f1"] == 0.8333  # price F1 2/3, slow_speed F1 1
    assert data["exact_match"] == 0.6667
    assert data["competitor_accuracy"] == 1.0
    assert data["coverage_at_precision"] == {"0.90": 0.3333, "0.95": 0.3333, "0.99": 0.3333}
    assert list(data["per_category"]) == list(LABELS)
    assert data["per_category"]["price"] == {"precision": 1.0, "recall": 0.5, "f1": 0.6667, "support": 2}
    assert data["per_category"]["bundling"] == {"precision": None, "recall": None, "f1": None, "support": 0}
    assert isinstance(data["per_category"]["price"]["support"], int)
