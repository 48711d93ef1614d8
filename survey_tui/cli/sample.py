"""`churn-survey sample`: the call list of customers who cancelled broadband."""

from __future__ import annotations

import click

from survey_tui.cli.common import Failure, SurveyGroup, open_store, user_errors


@click.group(cls=SurveyGroup)
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
    from survey_tui.calling.call_list import import_call_list

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


COMMANDS = (sample,)
