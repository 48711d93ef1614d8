"""The researcher's output commands: tally, demo (and, with pictures, chart, cloud, report, export)."""

from __future__ import annotations

import dataclasses
import json
from datetime import date
from typing import Any

import click

from coding.ids import REASONS
from survey_tui.cli.common import disclose_pii, filter_options, open_store, user_errors

SIMULATED_DB = "churn-survey-simulated.db"


def make_filters(since: Any, until: Any, branch: str | None, agent: str | None, version: str | None) -> Any:
    from survey_tui.analysis import Filters

    return Filters(
        since=since.date() if since else None,
        until=until.date() if until else None,
        branch=branch,
        agent=agent,
        version=version,
    )


def disconnect_questionnaire() -> Any:
    from survey_tui.model import load_questionnaire
    from survey_tui.resources import find_questionnaire

    return load_questionnaire(find_questionnaire("disconnect_phone"))


def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, date):
        return value.isoformat()
    return value


@click.command()
@filter_options
@click.option("--table", "names", multiple=True, help="Only these tables (repeatable); default all.")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True)
@click.pass_context
@user_errors
def tally(
    ctx: click.Context,
    since: Any,
    until: Any,
    branch: str | None,
    agent: str | None,
    questionnaire_version: str | None,
    names: tuple[str, ...],
    fmt: str,
) -> None:
    """Reasons, competitors, why they chose them, q4-q6, cross-tabs with chi-square, call outcomes
    and AAPOR response rates, from the completed disconnect interviews of the store."""
    from coding.textio import excel_csv_text
    from survey_tui.analysis import tables

    store = open_store(ctx)
    all_tables = tables(
        store, disconnect_questionnaire(), make_filters(since, until, branch, agent, questionnaire_version)
    )
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
@click.pass_context
@user_errors
def demo(ctx: click.Context, cases: int) -> None:
    """Fill a local SQLite file (./churn-survey-simulated.db unless --db) with a simulated survey
    (call list, call attempts, interviews drawn from the labelled corpus, all marked as simulated),
    then code it, so that tally, export, chart, cloud and report can be tried at once."""
    from coding.coder import default_coder
    from survey_tui.coding_store import code_store
    from survey_tui.demo import simulate

    if not ctx.obj.get("db"):
        ctx.obj["db"] = SIMULATED_DB
    store = open_store(ctx)
    report = simulate(store, disconnect_questionnaire(), cases=cases)
    coded = code_store(store, default_coder(notify=lambda message: click.echo(message, err=True)))
    click.echo(
        f"simulated {report.cases} customers, {report.attempts} calls and {report.interviews} completed interviews "
        f"in {store.location}; coded {coded.coded} answers ({coded.needs_review} need review)"
    )
    click.echo(f"try: churn-survey tally --db {store.location}")


@click.command("export")
@filter_options
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx", "sav", "dta", "json"]), required=True)
@click.option("--output", "-o", required=True, type=click.Path(dir_okay=False), help="File to write.")
@click.option("--include-pii", is_flag=True, help="Write full phone numbers and account ids (masked by default).")
@click.pass_context
@user_errors
def export(
    ctx: click.Context,
    since: Any,
    until: Any,
    branch: str | None,
    agent: str | None,
    questionnaire_version: str | None,
    fmt: str,
    output: str,
    include_pii: bool,
) -> None:
    """Raw data (one row per interview, one column per question, multiple choice as 0/1 columns,
    reasons as 0/1 columns and the competitor) and the call outcomes; XLSX and JSON also hold every
    summary table. SPSS and Stata files carry the question texts and choice labels."""
    from pathlib import Path

    from survey_tui import exports
    from survey_tui.export_data import interview_dataset, outcome_dataset, summary_datasets

    store = open_store(ctx)
    questionnaire = disconnect_questionnaire()
    filters = make_filters(since, until, branch, agent, questionnaire_version)
    datasets = [
        interview_dataset(store, questionnaire, filters, include_pii=include_pii),
        outcome_dataset(store, include_pii=include_pii),
    ]
    if fmt in ("xlsx", "json"):
        datasets += summary_datasets(store, questionnaire, filters)
    if include_pii:
        # Recorded before a byte is written: an export with full numbers never goes unaccounted.
        what = {
            "format": fmt,
            "output": str(Path(output).resolve()),
            "interviews": len(datasets[0].frame),
            "call_attempts": len(datasets[1].frame),
            "filters": {k: str(v) for k, v in dataclasses.asdict(filters).items() if v is not None},
        }
        disclose_pii(ctx, store, "export", what)
    try:
        written = exports.write(fmt, datasets, Path(output))
    except (ValueError, OSError) as error:
        raise click.ClickException(str(error)) from error
    rows = len(datasets[0].frame)
    click.echo(
        f"wrote {rows} interviews to "
        + ", ".join(str(path) for path in written)
        + ("" if include_pii else " (phone numbers and accounts masked)")
    )


def picture_errors(function: Any) -> Any:
    """Font problems are user errors: the message says which characters or which font."""
    from functools import wraps

    @wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from coding.pictures import FontError

        try:
            return function(*args, **kwargs)
        except (FontError, ValueError) as error:
            raise click.ClickException(str(error)) from error

    return wrapper


@click.command()
@filter_options
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
@picture_errors
def chart(
    ctx: click.Context,
    since: Any,
    until: Any,
    branch: str | None,
    agent: str | None,
    questionnaire_version: str | None,
    output: str,
    what: str,
    by: str,
    font: str | None,
) -> None:
    """Bar chart of the reasons (share of respondents) or of the competitor shares, or a heat map
    of the reasons by competitor, branch, month or package (row percentages)."""
    from pathlib import Path

    from coding.pictures import bar_chart, find_cjk_font, heatmap
    from survey_tui.analysis import competitor_shares, crosstab, reason_tally, respondents

    store = open_store(ctx)
    frame = respondents(store, make_filters(since, until, branch, agent, questionnaire_version))
    chosen = find_cjk_font(font)
    if what == "reasons":
        table = reason_tally(frame)
        table = table[table["reason"] != "uncoded"]
        written = bar_chart(
            table,
            label_column="label",
            value_column="share_of_respondents",
            title=f"宽带拆机原因（占受访者比例，n={table.attrs.get('n', len(frame))}）",
            output=Path(output),
            font=chosen,
        )
    elif what == "competitors":
        table = competitor_shares(frame)
        written = bar_chart(
            table,
            label_column="label",
            value_column="share",
            title=f"转网客户去向（n={table.attrs['n']}）",
            output=Path(output),
            font=chosen,
        )
    else:
        crossed = crosstab(frame, by)
        written = heatmap(crossed.row_percent, title=f"拆机原因 × {by}（行百分比）", output=Path(output), font=chosen)
    click.echo(f"wrote {written} (font {chosen.name})")


@click.command()
@filter_options
@click.option("--output", "-o", required=True, type=click.Path(dir_okay=False), help="FILE.png")
@click.option("--reason", type=click.Choice(list(REASONS)), help="Only answers with this reason.")
@click.option("--question", default="q3_leave_reason", show_default=True, help="Whose answers: a text question id.")
@click.option("--font", help="A font file or family for the words [env CHURN_SURVEY_FONT].")
@click.pass_context
@user_errors
@picture_errors
def cloud(
    ctx: click.Context,
    since: Any,
    until: Any,
    branch: str | None,
    agent: str | None,
    questionnaire_version: str | None,
    output: str,
    reason: str | None,
    question: str,
    font: str | None,
) -> None:
    """A word cloud of the answers (jieba words, stopwords left out, domain phrases kept whole),
    overall or for one reason."""
    from pathlib import Path

    from coding.pictures import find_cjk_font, word_cloud
    from survey_tui.analysis import CLOUD_STOPWORDS, respondents

    store = open_store(ctx)
    frame = respondents(store, make_filters(since, until, branch, agent, questionnaire_version))
    if question not in frame:
        raise click.UsageError(f"no answers to {question!r} in the disconnect interviews")
    if reason:
        frame = frame[[bool(value) and reason in value for value in frame["reasons"]]]
    texts = [value for value in frame[question] if isinstance(value, str) and value.strip()]
    result = word_cloud(texts, output=Path(output), font=find_cjk_font(font), stopwords=CLOUD_STOPWORDS)
    top = sorted(result.words, key=result.words.__getitem__, reverse=True)[:8]
    click.echo(f"wrote {result.path} from {len(texts)} answers; biggest words: {'、'.join(top)}")


@click.command()
@filter_options
@click.option("--output", "-o", required=True, type=click.Path(dir_okay=False), help="report.html")
@click.option("--font", help="A font file or family for the charts [env CHURN_SURVEY_FONT].")
@click.pass_context
@user_errors
@picture_errors
def report(
    ctx: click.Context,
    since: Any,
    until: Any,
    branch: str | None,
    agent: str | None,
    questionnaire_version: str | None,
    output: str,
    font: str | None,
) -> None:
    """One self-contained HTML file (no network needed) with the tables, charts, word cloud and
    response rates, for sharing with managers."""
    from pathlib import Path

    from coding.pictures import find_cjk_font
    from survey_tui.report import write_report

    store = open_store(ctx)
    filters = make_filters(since, until, branch, agent, questionnaire_version)
    written = write_report(store, disconnect_questionnaire(), Path(output), filters=filters, font=find_cjk_font(font))
    click.echo(f"wrote {written}")


COMMANDS = (tally, demo, export, chart, cloud, report)
