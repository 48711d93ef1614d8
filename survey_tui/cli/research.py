"""The researcher's output commands: tally, demo, export, chart, cloud and report of a study."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from coding.ids import REASONS
from survey_tui.cli.common import disclosure, open_store, study_options, user_errors
from survey_tui.resources import CUSTOMER_QUESTIONNAIRE

if TYPE_CHECKING:
    from survey_tui.research import Filters

SIMULATED_DB = "churn-survey-simulated.db"


def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, date):
        return value.isoformat()
    return value


@click.command()
@study_options
@click.option("--table", "names", multiple=True, help="Only these tables (repeatable); default all.")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True)
@click.pass_context
@user_errors
def tally(ctx: click.Context, study: str, filters: Filters, names: tuple[str, ...], fmt: str) -> None:
    """The summary tables of the study's completed interviews: those its questionnaire declares
    (`tally`: reasons, competitors, why they chose them, a table per choice question), call
    outcomes and AAPOR response rates, and the cross-tabs of the reasons with chi-square."""
    from coding.textio import excel_csv_text
    from survey_tui.research import load_study, tables

    store = open_store(ctx)
    all_tables = tables(store, load_study(store, study), filters)
    unknown = [name for name in names if name not in all_tables]
    if unknown:
        raise click.UsageError(f"no table {', '.join(unknown)}; the tables are: {', '.join(all_tables)}")
    chosen = {name: table for name, table in all_tables.items() if not names or name in names}
    if fmt == "json":
        payload = {
            name: {
                "n": table.attrs.get("n"),
                **{k: v for k, v in table.attrs.items() if k != "n"},
                "rows": [{k: _jsonable(v) for k, v in row.items()} for row in table.reset_index().to_dict("records")],
            }
            for name, table in chosen.items()
        }
        click.echo(json.dumps(payload, ensure_ascii=False, indent=2, default=str))
        return
    for name, table in chosen.items():
        heading = f"# {name}" + (f" (n={table.attrs['n']})" if table.attrs.get("n") is not None else "")
        if fmt == "csv":
            click.echo(heading)
            click.echo(excel_csv_text(table, index=name.startswith("reasons_by_"), bom=False))
            continue
        click.echo(f"\n{heading}")
        click.echo(table.to_string(index=name.startswith("reasons_by_")) if len(table) else "  (no data)")
        test = table.attrs.get("chi2")
        if test:
            click.echo(
                f"  chi-square {test['chi2']:.2f}, df {test['dof']}, p = {test['p_value']:.4f}"
                if test["chi2"] is not None
                else f"  {test['note']}"
            )
        if "edition" in table.attrs:
            click.echo(f"  {table.attrs['edition']}; e = {table.attrs['e']:.3f}")


@click.command()
@click.option("--cases", type=click.IntRange(min=10), default=600, show_default=True, help="Simulated customers.")
@click.option(
    "--questionnaire",
    "study",
    default=CUSTOMER_QUESTIONNAIRE,
    show_default=True,
    metavar="NAME|FILE",
    help="The questionnaire the simulated interviews follow.",
)
@click.pass_context
@user_errors
def demo(ctx: click.Context, cases: int, study: str) -> None:
    """Fill a local SQLite file (./churn-survey-simulated.db unless --db) with a simulated survey
    (call list, call attempts, interviews drawn from the labelled corpus, all marked as simulated),
    then code it, so that tally, export, chart, cloud and report can be tried at once."""
    from coding.coder import default_coder
    from survey_tui.research.coding import code_store
    from survey_tui.research.demo import simulate
    from survey_tui.research.study import load_study

    ctx.ensure_object(dict)
    if not ctx.obj.get("db"):
        ctx.obj["db"] = SIMULATED_DB
    store = open_store(ctx)
    report = simulate(store, load_study(store, study).questionnaire, cases=cases)
    coded = code_store(store, default_coder(notify=lambda message: click.echo(message, err=True)))
    click.echo(
        f"simulated {report.cases} customers, {report.attempts} calls and {report.interviews} completed interviews "
        f"in {store.location}; coded {coded.coded} answers ({coded.needs_review} need review)"
    )
    click.echo(f"try: churn-survey tally --db {store.location}")


@click.command("export")
@study_options
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx", "sav", "dta", "json"]), required=True)
@click.option("--output", "-o", required=True, type=click.Path(dir_okay=False), help="File to write.")
@click.option("--include-pii", is_flag=True, help="Write full phone numbers and account ids (masked by default).")
@click.pass_context
@user_errors
def export(ctx: click.Context, study: str, filters: Filters, fmt: str, output: str, include_pii: bool) -> None:
    """Raw data (one row per interview, a column for every question of the questionnaire with its
    labels, multiple choice as 0/1 columns, reasons as 0/1 columns and the competitor) and the call
    outcomes; XLSX and JSON also hold every summary table. SPSS and Stata files carry the question
    texts and choice labels."""
    from survey_tui import research

    # Who asks is checked (the role) before anything is read, and recorded before a byte is written.
    asking = disclosure(ctx, "export") if include_pii else None
    store = open_store(ctx)
    done = research.export(
        store,
        research.load_study(store, study),
        fmt,
        Path(output),
        filters=filters,
        include_pii=include_pii,
        disclosure=asking,
    )
    click.echo(
        f"wrote {done.interviews} interviews to "
        + ", ".join(str(path) for path in done.paths)
        + (" (phone numbers and accounts masked)" if done.masked else "")
    )


@click.command()
@study_options
@click.option("--output", "-o", required=True, type=click.Path(dir_okay=False), help="FILE.png or FILE.svg")
@click.option("--what", type=click.Choice(["reasons", "competitors", "crosstab"]), default="reasons", show_default=True)
@click.option(
    "--by",
    type=click.Choice(["competitor", "branch", "month", "package"]),
    default="competitor",
    show_default=True,
    help="The cross-tab's columns (with --what crosstab).",
)
@click.option("--font", help="A font file or family for the Chinese labels [env CHURN_SURVEY_FONT].")
@click.pass_context
@user_errors
def chart(ctx: click.Context, study: str, filters: Filters, output: str, what: str, by: str, font: str | None) -> None:
    """Bar chart of the reasons (share of respondents) or of the competitor shares, or a heat map
    of the reasons by competitor, branch, month or package (row percentages)."""
    from coding.pictures import find_cjk_font
    from survey_tui.research import charts, load_study

    chosen = find_cjk_font(font)
    store = open_store(ctx)
    written = charts.chart(
        store, load_study(store, study), Path(output), what=what, by=by, font=chosen, filters=filters
    )
    click.echo(f"wrote {written} (font {chosen.name})")


@click.command()
@study_options
@click.option("--output", "-o", required=True, type=click.Path(dir_okay=False), help="FILE.png")
@click.option("--reason", type=click.Choice(list(REASONS)), help="Only answers with this reason.")
@click.option("--question", help="Whose answers: a text question id [the one tallied as reasons].")
@click.option("--font", help="A font file or family for the words [env CHURN_SURVEY_FONT].")
@click.pass_context
@user_errors
def cloud(
    ctx: click.Context,
    study: str,
    filters: Filters,
    output: str,
    reason: str | None,
    question: str | None,
    font: str | None,
) -> None:
    """A word cloud of the answers (jieba words, stopwords left out, domain phrases kept whole),
    overall or for one reason."""
    from coding.pictures import find_cjk_font
    from survey_tui.research import charts, load_study

    store = open_store(ctx)
    drawn = charts.cloud(
        store,
        load_study(store, study),
        Path(output),
        font=find_cjk_font(font),
        question=question,
        reason=reason,
        filters=filters,
    )
    top = sorted(drawn.words, key=drawn.words.__getitem__, reverse=True)[:8]
    click.echo(f"wrote {drawn.path} from {drawn.answers} answers; biggest words: {'、'.join(top)}")


@click.command()
@study_options
@click.option("--output", "-o", required=True, type=click.Path(dir_okay=False), help="report.html")
@click.option("--font", help="A font file or family for the charts [env CHURN_SURVEY_FONT].")
@click.pass_context
@user_errors
def report(ctx: click.Context, study: str, filters: Filters, output: str, font: str | None) -> None:
    """One self-contained HTML file (no network needed) with the tables, charts, word cloud and
    response rates, for sharing with managers."""
    from coding.pictures import find_cjk_font
    from survey_tui.research import load_study
    from survey_tui.research.report import write_report

    chosen = find_cjk_font(font)
    store = open_store(ctx)
    written = write_report(store, load_study(store, study), Path(output), filters=filters, font=chosen)
    click.echo(f"wrote {written}")


COMMANDS = (tally, demo, export, chart, cloud, report)
