"""The codes of distinct texts as the coder and its worker processes hand them to each other."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from coding.codebook import Codebook


class TextCoder(Protocol):
    """What a worker process needs of the coder: its codebook, and coding distinct texts as typed."""

    codebook: Codebook

    def code_raw(self, texts: list[str]) -> CodedTexts: ...


# One distinct text's code: reasons, primary reason, competitor, confidence, needs review, the
# 0/1 flag of every reason as bytes.
CodedRow = tuple[str, str, str, float, bool, bytes]


@dataclass
class CodedTexts:
    """The codes of distinct texts, in their order, as `Coder.code_unique` gives them."""

    reasons: list[str]
    primary: list[str]
    competitor: list[str]
    confidence: np.ndarray
    needs_review: np.ndarray
    flags: np.ndarray

    def rows(self) -> list[CodedRow]:
        flags = self.flags.astype(np.int8)
        return [
            (reasons, primary, competitor, float(confidence), bool(review), flags[row].tobytes())
            for row, (reasons, primary, competitor, confidence, review) in enumerate(
                zip(self.reasons, self.primary, self.competitor, self.confidence, self.needs_review, strict=True)
            )
        ]

    @classmethod
    def from_rows(cls, rows: Sequence[CodedRow], reason_count: int) -> CodedTexts:
        flags = np.frombuffer(b"".join(row[5] for row in rows), dtype=np.int8).reshape(len(rows), reason_count)
        return cls(
            [row[0] for row in rows],
            [row[1] for row in rows],
            [row[2] for row in rows],
            np.array([row[3] for row in rows], dtype=float),
            np.array([row[4] for row in rows], dtype=bool),
            flags.astype(int),
        )

    def take(self, positions: np.ndarray) -> CodedTexts:
        """The codes at `positions`, in that order."""
        return CodedTexts(
            [self.reasons[p] for p in positions],
            [self.primary[p] for p in positions],
            [self.competitor[p] for p in positions],
            self.confidence[positions],
            self.needs_review[positions],
            self.flags[positions],
        )

    @classmethod
    def concat(cls, parts: Sequence[CodedTexts]) -> CodedTexts:
        return cls(
            [value for part in parts for value in part.reasons],
            [value for part in parts for value in part.primary],
            [value for part in parts for value in part.competitor],
            np.concatenate([part.confidence for part in parts]),
            np.concatenate([part.needs_review for part in parts]),
            np.concatenate([part.flags for part in parts]),
        )
