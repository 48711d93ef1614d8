"""Plain-text tables for the terminal that keep Chinese (double-width) columns aligned."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence


def display_width(text: str) -> int:
    """Terminal columns taken by `text`: wide and full-width characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - display_width(text))


def format_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Headers, a rule and the rows, each column as wide as its widest cell."""
    cells = [[("" if value is None else str(value)) for value in row] for row in rows]
    widths = [display_width(h) for h in headers]
    for row in cells:
        for column, value in enumerate(row):
            widths[column] = max(widths[column], display_width(value))
    lines = ["  ".join(_pad(h, w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines.extend("  ".join(_pad(v, w) for v, w in zip(row, widths, strict=True)).rstrip() for row in cells)
    return "\n".join(lines)
