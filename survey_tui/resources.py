"""Where the shipped questionnaires and demo data are, in a checkout or an installed wheel."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def shipped_dir(name: str) -> Path:
    """The top-level folder `name` (questionnaires, data) of a checkout, else the wheel's copy."""
    checkout = _PACKAGE.parent / name
    if checkout.is_dir():
        return checkout
    return _PACKAGE / "_shipped" / name


def find_questionnaire(name_or_path: str) -> Path:
    """A questionnaire file from a path, or from the name of a shipped one (`disconnect_phone`)."""
    candidate = Path(name_or_path).expanduser()
    if candidate.suffix in (".yaml", ".yml") or candidate.exists():
        return candidate
    return shipped_dir("questionnaires") / f"{name_or_path}.yaml"


def shipped_questionnaires() -> list[Path]:
    return sorted(shipped_dir("questionnaires").glob("*.yaml"))
