"""Questionnaire files of either kind: YAML (model.loader) or an XLSForm spreadsheet (model.xlsform)."""

from __future__ import annotations

from pathlib import Path

from survey_tui.model.loader import check_yaml, load_yaml
from survey_tui.model.problems import Problem
from survey_tui.model.questionnaire import Questionnaire
from survey_tui.model.xlsform import XLSFORM_SUFFIXES, check_xlsform, is_xlsform, read_xlsform

__all__ = ["XLSFORM_SUFFIXES", "check_questionnaire", "is_xlsform", "load_questionnaire"]


def load_questionnaire(path: str | Path, *, language: str | None = None) -> Questionnaire:
    """Parse and check `path` (YAML, or an XLSForm in the `language` chosen); raise
    QuestionnaireError listing all problems."""
    if is_xlsform(path):
        return read_xlsform(path, language=language)
    return load_yaml(path)


def check_questionnaire(path: str | Path, *, language: str | None = None) -> list[Problem]:
    """Every problem of `path`, empty when it is clean."""
    if is_xlsform(path):
        return check_xlsform(path, language=language)
    return check_yaml(path)
