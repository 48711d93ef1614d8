"""Where the shipped data (codebook, dictionaries, corpus, model) is, in a checkout or a wheel."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
# The wheel carries the top-level folders inside survey_tui/_shipped (see pyproject.toml).
_WHEEL_COPY = _PACKAGE.parent / "survey_tui" / "_shipped"


def shipped_dir(name: str) -> Path:
    """The top-level folder `name` (data, questionnaires) of a checkout, else the wheel's copy."""
    checkout = _PACKAGE.parent / name
    if checkout.is_dir():
        return checkout
    return _WHEEL_COPY / name


def data_file(*parts: str) -> Path:
    return shipped_dir("data").joinpath(*parts)
