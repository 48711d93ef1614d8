"""The `churn-survey` command: one module per command group; each parses arguments and calls the library.

`--db` (like every shared option, see cli.common) is taken before or after any subcommand.
"""

from __future__ import annotations

import sys

import click

from survey_tui import __version__
from survey_tui.cli import app, case, coding, db, questionnaire, research, sample
from survey_tui.cli.common import SurveyGroup, db_parameter

__all__ = ["cli", "main"]


@click.group(cls=SurveyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="churn-survey")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Broadband churn survey: call lists, questionnaires, interviews and their coding.

    Exit codes: 0 done, 1 bad input, 2 bad usage, 3 nothing to claim, 4 database unavailable.
    """
    ctx.ensure_object(dict)


# The global --db reads CHURN_SURVEY_DB; given again after a subcommand, that one wins.
cli.params.insert(0, db_parameter(global_=True))

for _module in (questionnaire, sample, case, app, db, coding, research):
    for _command in _module.COMMANDS:
        cli.add_command(_command)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the console script and of `python -m survey_tui`."""
    if hasattr(sys.stdout, "reconfigure"):
        # Chinese output must not die on a terminal or pipe with a narrow default encoding.
        sys.stdout.reconfigure(errors="replace")
    try:
        cli.main(args=argv, prog_name="churn-survey", standalone_mode=True)
    except KeyboardInterrupt:
        sys.exit(130)
