"""`python -m survey_tui` runs the `churn-survey` command."""

from survey_tui.cli import main

main()
