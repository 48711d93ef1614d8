"""Review that teaches most per answer: which uncertain codes a person should see first, and what the
automatic codes are estimated to be worth."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from coding.coder import Coder
from coding.model import featurise
from coding.normalize import normalize


def _entropy(probabilities: np.ndarray) -> np.ndarray:
    clipped = np.clip(probabilities, 1e-6, 1 - 1e-6)
    return -(clipped * np.log2(clipped) + (1 - clipped) * np.log2(1 - clipped))


def uncertainty(coder: Coder, texts: Sequence[str]) -> np.ndarray:
    """Per answer, how unsure the model is of its reasons: the summed binary entropy of each
    reason's probability, measured from that reason's own cut-off (a probability at the cut-off
    is a coin toss, whatever the cut-off)."""
    normalised = [normalize(text) for text in texts]
    if coder.model is None or not normalised:
        return np.zeros(len(normalised))
    model = coder.model
    rules = [coder.rules.code(text) for text in normalised]
    prediction = model.predict(featurise(normalised, rules, model.reason_ids))
    cut = model.thresholds if model.thresholds.size else np.full(len(model.reason_ids), 0.5)
    # Move each cut-off to 0.5 in logit space, so that entropy peaks where the decision flips.
    logits = np.log(np.clip(prediction.probabilities, 1e-6, 1 - 1e-6) / np.clip(1 - prediction.probabilities, 1e-6, 1))
    centred = 1.0 / (1.0 + np.exp(-(logits - np.log(cut / (1 - cut)))))
    return _entropy(centred).sum(axis=1)


def teaching_order(coder: Coder, texts: Sequence[str]) -> list[int]:
    """The positions of `texts` in the order a reviewer should code them: the answers whose codes
    would change the model most first. That is uncertainty sampling, weighted by how often the same
    answer (normalised) recurs, since one code then settles all its copies; of identical answers
    the first comes first and the others follow it at once."""
    if not texts:
        return []
    keys = [normalize(text) for text in texts]
    copies = Counter(keys)
    unsure = uncertainty(coder, texts)
    score = unsure * np.log2(1 + np.array([copies[key] for key in keys], dtype=float))
    first_of: dict[str, int] = {}
    for position, key in enumerate(keys):
        first_of.setdefault(key, position)
    leaders = sorted(first_of.values(), key=lambda position: (-score[position], position))
    by_key: dict[str, list[int]] = {}
    for position, key in enumerate(keys):
        by_key.setdefault(key, []).append(position)
    return [position for leader in leaders for position in by_key[keys[leader]]]


@dataclass(frozen=True)
class AutomaticEstimate:
    """How many answers the model codes by itself and how many of those it expects to be right."""

    answers: int
    automatic: int
    expected_right: float  # the mean calibrated confidence of the automatic codes

    @property
    def automatic_share(self) -> float:
        return self.automatic / self.answers if self.answers else 0.0

    def describe(self) -> str:
        return (
            f"{self.automatic:,} of {self.answers:,} answers coded automatically ({self.automatic_share:.0%}), "
            f"estimated {self.expected_right:.1%} of them right"
        )


def estimate_automatic(coder: Coder, texts: Sequence[str]) -> AutomaticEstimate:
    """Code `texts` and estimate, from the calibrated confidence, the share of right automatic codes."""
    coded = coder.code(list(texts))
    automatic = ~coded["needs_review"].to_numpy(dtype=bool)
    confidence = coded["confidence"].to_numpy(dtype=float)
    expected = float(confidence[automatic].mean()) if automatic.any() else 0.0
    return AutomaticEstimate(len(coded), int(automatic.sum()), expected)
