"""Where the shipped questionnaires and demo data are, in a checkout or an installed wheel."""

from __future__ import annotations

from pathlib import Path

from coding.resources import shipped_dir

__all__ = [
    "CUSTOMER_QUESTIONNAIRE",
    "STAFF_QUESTIONNAIRE",
    "find_questionnaire",
    "shipped_dir",
    "shipped_questionnaires",
]

# The shipped instruments the app and the research commands take unless told otherwise.
CUSTOMER_QUESTIONNAIRE = "disconnect_phone"
STAFF_QUESTIONNAIRE = "staff_interview"


def find_questionnaire(name_or_path: str) -> Path:
    """A questionnaire file from a path, or from the name of a shipped one (`disconnect_phone`)."""
    # Imported here: the command line reads this module's names at start, before any questionnaire.
    from survey_tui.model.files import XLSFORM_SUFFIXES

    candidate = Path(name_or_path).expanduser()
    if candidate.suffix.lower() in (".yaml", ".yml", *XLSFORM_SUFFIXES) or candidate.exists():
        return candidate
    return shipped_dir("questionnaires") / f"{name_or_path}.yaml"


def shipped_questionnaires() -> list[Path]:
    return sorted(shipped_dir("questionnaires").glob("*.yaml"))
