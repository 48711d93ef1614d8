"""Research: what the survey found, without Textual or click, for the CLI and the app alike.

Everything follows the questionnaire: a `Study` (study.py) is a questionnaire with every version
the store holds, and its questions' `tally` keys say which tables it has.

- `study`: the questionnaire as research reads it; `respondents`: one row per interview
- `tallies`: the summary tables and cross-tabs; `charts`: bar charts, heat maps, word clouds
- `datasets` and `writers`: what an export holds, written as CSV, XLSX, SPSS, Stata or JSON;
  `export`: the one export function, which records the audit of personal data first
- `report`: the HTML report; `demo`: a simulated survey; `coding`: coding the stored answers
"""

from survey_tui.research.errors import ResearchError
from survey_tui.research.export import Exported, export
from survey_tui.research.respondents import Filters, respondents
from survey_tui.research.study import DEFAULT_STUDY, Study, load_study
from survey_tui.research.tallies import tables

__all__ = [
    "DEFAULT_STUDY",
    "Exported",
    "Filters",
    "ResearchError",
    "Study",
    "export",
    "load_study",
    "respondents",
    "tables",
]
