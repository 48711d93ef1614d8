"""The `churn-survey` command: parses arguments and calls the library; user errors exit non-zero."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from survey_tui import __version__
from survey_tui.cli_coding import COMMANDS
from survey_tui.cli_research import COMMANDS as RESEARCH_COMMANDS
from survey_tui.cli_support import (
    Failure,
    NothingToClaim,
    db_option,
    disclose_pii,
    open_store,
    settings,
    user_errors,
)

QUEUE_HEADERS = ("id", "phone", "name", "branch", "disconnected", "package", "status", "attempts", "callback")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--db",
    metavar="PATH_OR_URL",
    envvar="CHURN_SURVEY_DB",
    help="SQLite file or postgresql:// URL [env CHURN_SURVEY_DB; default ./survey.db].",
)
@click.version_option(__version__, prog_name="churn-survey")
@click.pass_context
def cli(ctx: click.Context, db: str | None) -> None:
    """Broadband churn survey: call lists, questionnaires, interviews and their coding.

    Exit codes: 0 done, 1 bad input, 2 bad usage, 3 nothing to claim, 4 database unavailable.
    """
    ctx.ensure_object(dict)
    ctx.obj["db"] = db


# -- questionnaires -----------------------------------------------------------------------------


LANGUAGE_HELP = "For an XLSForm with translations: the language of the labels, e.g. 'Chinese (zh)' or 'zh'."


@cli.group()
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


# -- the call list ------------------------------------------------------------------------------


@cli.group()
def sample() -> None:
    """The call list: customers who cancelled broadband."""


@sample.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--show-skipped", is_flag=True, help="List every skipped row, not just the first 10.")
@click.pass_context
@user_errors
def sample_import(ctx: click.Context, file: str, show_skipped: bool) -> None:
    """Import a call list (CSV in UTF-8 or GBK, or XLSX) with Chinese or English headers.

    Columns: 手机号/电话/phone (required), 账号/宽带账号/account, 姓名/name, 支局/branch,
    拆机日期/disconnect_date, 套餐/package; other columns are kept as extra fields.
    Rows already on the list are skipped, so importing a file twice adds nothing.
    """
    from survey_tui.sample import import_call_list

    store = open_store(ctx)
    report = import_call_list(store, file)
    click.echo(report.summary())
    shown = report.skipped if show_skipped else report.skipped[:10]
    for row in shown:
        click.echo(f"  skipped {row.detail}")
    if len(shown) < len(report.skipped):
        click.echo(f"  ... {len(report.skipped) - len(shown)} more (--show-skipped lists them)")
    if report.unusable:
        raise Failure(f"{file}: no row of the file can be called; nothing was imported")


# -- cases --------------------------------------------------------------------------------------


@cli.group()
def case() -> None:
    """The queue of cases to call."""


@case.command("list")
@click.option(
    "--status",
    type=click.Choice(["pending", "claimed", "callback", "done"]),
    multiple=True,
    help="Only cases with this status (repeatable).",
)
@click.option("--agent", help="Only cases claimed by or booked for this agent.")
@click.option("--limit", type=click.IntRange(min=1), help="At most this many cases.")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True)
@click.option("--include-pii", is_flag=True, help="Show full phone numbers and account ids (masked by default).")
@click.pass_context
@user_errors
def case_list(
    ctx: click.Context,
    status: tuple[str, ...],
    agent: str | None,
    limit: int | None,
    fmt: str,
    include_pii: bool,
) -> None:
    """Print the queue: due callbacks first, then the list in order."""
    from coding.textio import excel_csv_text
    from survey_tui.textable import format_table

    store = open_store(ctx)
    cases = store.list_cases(status=list(status) or None, agent=agent, limit=limit)
    if include_pii:
        what = {"cases": len(cases), "status": list(status), "agent": agent, "limit": limit, "format": fmt}
        disclose_pii(ctx, store, "case list", what)
    records = [case.to_dict(include_pii=include_pii) for case in cases]
    if fmt == "json":
        click.echo(json.dumps(records, ensure_ascii=False, indent=2))
        return
    rows = [
        [
            r["id"],
            r["phone"],
            r["name"],
            r["branch"],
            r["disconnect_date"],
            r["package"],
            r["status"],
            r["attempts"],
            (r["callback_at"] or "")[:16],
        ]
        for r in records
    ]
    if fmt == "csv":
        import pandas as pd

        click.echo(excel_csv_text(pd.DataFrame(rows, columns=list(QUEUE_HEADERS))), nl=False)
        return
    counts = store.case_counts()
    click.echo(format_table(QUEUE_HEADERS, rows))
    click.echo(f"\n{sum(counts.values())} case(s): " + ", ".join(f"{n} {name}" for name, n in counts.items()))


@case.command("claim")
@click.option("--agent", required=True, help="The agent taking the case.")
@click.option("--include-pii", is_flag=True, help="Print the full phone number and account (needed to dial).")
@click.pass_context
@user_errors
def case_claim(ctx: click.Context, agent: str, include_pii: bool) -> None:
    """Claim the next case for AGENT and print it as JSON; exit 3 when none is left."""
    store = open_store(ctx)
    claimed = store.claim_next_case(agent)
    if claimed is None:
        raise NothingToClaim("no case is waiting to be called")
    if include_pii:
        # An agent may see the number of the customer they are to call, as on the call screen.
        disclose_pii(ctx, store, "case claim", {"case": claimed.id, "agent": agent}, permission=False)
    click.echo(json.dumps(claimed.to_dict(include_pii=include_pii), ensure_ascii=False))


# -- the agents' app ----------------------------------------------------------------------------

DEMO_DB = "churn-survey-demo.db"


@cli.command()
@click.option(
    "--agent",
    default=lambda: os.environ.get("USER") or "agent",
    show_default="$USER",
    help="Agent id stored with every call and answer.",
)
@click.option("--db", "db_option", metavar="PATH_OR_URL", help="Overrides the global --db.")
@click.option(
    "--questionnaire",
    "questionnaire_name",
    default="disconnect_phone",
    show_default=True,
    help="Instrument for customer calls: a shipped name, a YAML file or an XLSForm (.xlsx).",
)
@click.option(
    "--staff-questionnaire",
    "staff_name",
    default="staff_interview",
    show_default=True,
    help="Instrument for staff interviews (key s on the queue); a name, YAML file or XLSForm.",
)
@click.option("--language", help=LANGUAGE_HELP)
@click.option(
    "--max-attempts",
    type=click.IntRange(min=1),
    default=5,
    show_default=True,
    help="Calls to one customer before the case gets its final outcome.",
)
@click.option("--demo", is_flag=True, help=f"Use ./{DEMO_DB}, loaded with the fictional demo call list when empty.")
@click.option(
    "--spool-dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Where answers wait while the database is unreachable [~/.local/state/churn-survey].",
)
@click.pass_context
@user_errors
def tui(
    ctx: click.Context,
    agent: str,
    db_option: str | None,
    questionnaire_name: str,
    staff_name: str,
    language: str | None,
    max_attempts: int,
    demo: bool,
    spool_dir: str | None,
) -> None:
    """Open the agents' app: call queue, call outcomes, interviews, staff interviews, supervisor view.

    Keys are shown in the footer of every screen; the README lists them all.
    """
    if db_option:
        ctx.obj["db"] = db_option
    if demo and not ctx.obj.get("db"):
        ctx.obj["db"] = DEMO_DB
    run_app(
        ctx,
        agent,
        questionnaire_name,
        staff_name,
        language=language,
        max_attempts=max_attempts,
        demo=demo,
        spool_dir=spool_dir,
    )


def run_app(
    ctx: click.Context,
    agent: str,
    questionnaire_name: str,
    staff_name: str,
    *,
    language: str | None = None,
    max_attempts: int = 5,
    demo: bool = False,
    spool_dir: str | None = None,
    review: bool = False,
) -> None:
    """Load the instruments, open the store and run the app until the user quits."""
    from survey_tui.model import load_questionnaire
    from survey_tui.resources import find_questionnaire, shipped_dir

    role = settings(ctx)
    if review:
        role.require("review")

    questionnaire = load_questionnaire(find_questionnaire(questionnaire_name), language=language)
    staff = load_questionnaire(find_questionnaire(staff_name), language=language)
    store = open_store(ctx)
    if demo and not any(store.case_counts().values()):
        from survey_tui.sample import import_call_list

        import_call_list(store, shipped_dir("data") / "demo_call_list.csv")
    from survey_tui.app import make_app

    app = make_app(
        store,
        agent=agent,
        questionnaire=questionnaire,
        staff_questionnaire=staff,
        max_attempts=max_attempts,
        spool_dir=Path(spool_dir) if spool_dir else None,
        review=review,
        role=role.role,
    )
    app.run()


@cli.command()
@db_option
@click.option("--coder", required=True, help="Your coder id, stored with every code you confirm.")
@click.pass_context
@user_errors
def review(ctx: click.Context, coder: str) -> None:
    """Review the automatic codes that need it, least confident first.

    Digits 1-9 and 0 toggle the ten reasons, letters set the competitor (m 移动, u 联通, g 广电,
    o 其他, t 电信, n 不用宽带, k 未知), enter stores your code, space skips, escape ends.
    """
    run_app(ctx, coder, "disconnect_phone", "staff_interview", review=True)


# -- the database -------------------------------------------------------------------------------


@cli.group()
def db() -> None:
    """The answer store itself."""


@db.command("info")
@click.pass_context
@user_errors
def db_info(ctx: click.Context) -> None:
    """Where the store is, its schema revision and how many cases it holds."""
    store = open_store(ctx)
    click.echo(f"database: {store.location}")
    click.echo(f"schema:   {store.schema_revision()}")
    counts = store.case_counts()
    click.echo("cases:    " + ", ".join(f"{n} {name}" for name, n in counts.items()))
    for row in store.list_questionnaires():
        click.echo(f"questionnaire: {row['name']} version {row['version']} ({row['content_hash'][:12]})")


@db.command("upgrade")
@click.pass_context
@user_errors
def db_upgrade(ctx: click.Context) -> None:
    """Create the store, or upgrade an older one in place (a SQLite file is backed up first)."""
    store = open_store(ctx)
    click.echo(f"{store.location} is at schema {store.schema_revision()}")


@cli.command()
@db_option
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True, help="The newest N entries.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.pass_context
@user_errors
def audit(ctx: click.Context, limit: int, fmt: str) -> None:
    """Who was shown or exported full phone numbers and accounts (--include-pii): when, where, what.

    Needs the supervisor or researcher role.
    """
    from survey_tui.textable import format_table

    settings(ctx).require("audit")
    store = open_store(ctx)
    entries = store.pii_audit(limit=limit)
    if fmt == "json":
        click.echo(json.dumps(entries, ensure_ascii=False, indent=2, default=str))
        return
    rows = [
        [
            entry["at"].astimezone().strftime("%Y-%m-%d %H:%M:%S"),
            entry["user"],
            entry["role"],
            entry["host"] or "",
            entry["command"],
            json.dumps(entry["what"], ensure_ascii=False),
        ]
        for entry in entries
    ]
    click.echo(format_table(("when", "user", "role", "host", "command", "what"), rows))


for _command in (*COMMANDS, *RESEARCH_COMMANDS):
    cli.add_command(_command)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the console script."""
    if hasattr(sys.stdout, "reconfigure"):
        # Chinese output must not die on a terminal or pipe with a narrow default encoding.
        sys.stdout.reconfigure(errors="replace")
    try:
        cli.main(args=argv, prog_name="churn-survey", standalone_mode=True)
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
