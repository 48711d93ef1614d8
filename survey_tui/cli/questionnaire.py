"""`churn-survey questionnaire`: check, list, import and export questionnaires (YAML, or XLSForm spreadsheets)."""

from __future__ import annotations

from pathlib import Path

import click

from survey_tui.cli.common import LANGUAGE_HELP, Failure, SurveyGroup, user_errors


@click.group(cls=SurveyGroup)
def questionnaire() -> None:
    """Check, list, import and export questionnaires (YAML, or XLSForm spreadsheets)."""


@questionnaire.command("check")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--language", help=LANGUAGE_HELP)
def questionnaire_check(files: tuple[str, ...], language: str | None) -> None:
    """Report every problem of FILES (YAML, or XLSForm row by row); exit 1 on any."""
    from survey_tui.model import check_questionnaire

    failed = 0
    for file in files:
        problems = check_questionnaire(file, language=language)
        for problem in problems:
            click.echo(str(problem))
        if problems:
            failed += 1
        else:
            click.echo(f"{file}: ok")
    if failed:
        raise Failure(f"{failed} of {len(files)} questionnaire file(s) have problems")


@questionnaire.command("list")
def questionnaire_list() -> None:
    """List the shipped questionnaires with their question ids."""
    from survey_tui.model import load_questionnaire
    from survey_tui.resources import shipped_questionnaires

    for path in shipped_questionnaires():
        loaded = load_questionnaire(path)
        ids = ", ".join(q.id for q in loaded.answerable)
        click.echo(f"{loaded.id} (version {loaded.version}): {loaded.title}\n  {path}\n  {ids}")


@questionnaire.command("import")
@click.argument("form", type=click.Path(dir_okay=False, exists=True))
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="YAML file to write [default: print it].")
@click.option("--language", help=LANGUAGE_HELP)
@click.option("--force", is_flag=True, help="Replace an existing --output file.")
@user_errors
def questionnaire_import(form: str, output: str | None, language: str | None, force: bool) -> None:
    """Read an XLSForm (ODK, KoboToolbox, SurveyCTO) into a questionnaire YAML file.

    Whatever the app cannot run as ODK would (repeats, media, GPS, unsupported functions...)
    is listed with its sheet, row and column, and nothing is written.
    """
    from survey_tui.model.writer import dump_questionnaire, save_questionnaire
    from survey_tui.model.xlsform import read_xlsform

    if output and Path(output).exists() and not force:
        raise Failure(f"{output} exists; --force replaces it")
    loaded = read_xlsform(form, language=language)
    if output is None:
        click.echo(dump_questionnaire(loaded), nl=False)
        return
    save_questionnaire(loaded, output)
    asked = sum(1 for q in loaded.questions if q.is_asked)
    summary = f"{loaded.id} version {loaded.version}, {asked} questions, {len(loaded.groups)} groups"
    click.echo(f"{output}: {summary}", err=True)


@questionnaire.command("export")
@click.argument("name")
@click.option("--format", "fmt", type=click.Choice(["xlsform"]), default="xlsform", show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="File to write [default: ./ID.xlsx].")
@click.option("--language", help=LANGUAGE_HELP)
@click.option("--force", is_flag=True, help="Replace an existing output file.")
@user_errors
def questionnaire_export(name: str, fmt: str, output: str | None, language: str | None, force: bool) -> None:
    """Write the questionnaire NAME (a shipped name or a file) as an XLSForm for ODK and Kobo.

    The form is converted to an XForm with pyxform before it is written; "please specify"
    choices become text questions shown when the choice is selected, as ODK forms ask them.
    """
    from survey_tui.model import load_questionnaire
    from survey_tui.model.xlsform import ExportError, write_xlsform
    from survey_tui.resources import find_questionnaire

    loaded = load_questionnaire(find_questionnaire(name), language=language)
    target = Path(output or f"{loaded.id}.xlsx")
    if target.exists() and not force:
        raise Failure(f"{target} exists; --force replaces it")
    try:
        write_xlsform(loaded, target)
    except ExportError as error:
        raise Failure(str(error)) from error
    click.echo(f"{target}: {loaded.id} version {loaded.version} as XLSForm", err=True)


COMMANDS = (questionnaire,)
