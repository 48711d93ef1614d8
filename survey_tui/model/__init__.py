"""The questionnaire model: typed questions, the YAML loader and checker, conditions and flow."""

from survey_tui.model.conditions import Condition, ConditionSyntaxError, parse_condition
from survey_tui.model.files import check_questionnaire, load_questionnaire
from survey_tui.model.problems import Problem, QuestionnaireError
from survey_tui.model.questionnaire import (
    Answer,
    Choice,
    Question,
    Questionnaire,
    QuestionType,
    SpecialAnswer,
)

__all__ = [
    "Answer",
    "Choice",
    "Condition",
    "ConditionSyntaxError",
    "Problem",
    "Question",
    "QuestionType",
    "Questionnaire",
    "QuestionnaireError",
    "SpecialAnswer",
    "check_questionnaire",
    "load_questionnaire",
    "parse_condition",
]
