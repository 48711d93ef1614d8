"""Coding of free-text churn answers into the codebook's reason and competitor ids."""

from coding.ids import COMPETITORS, REASONS

__all__ = ["COMPETITORS", "REASONS"]
