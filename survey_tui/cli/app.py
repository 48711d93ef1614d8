"""`churn-survey tui` and `review`: the Textual app for agents, and for researchers reviewing codes."""

from __future__ import annotations

import os
from pathlib import Path

import click

from survey_tui.cli.common import LANGUAGE_HELP, open_store, settings, user_errors
from survey_tui.resources import CUSTOMER_QUESTIONNAIRE, STAFF_QUESTIONNAIRE

DEMO_DB = "churn-survey-demo.db"


@click.command()
@click.option(
    "--agent",
    default=lambda: os.environ.get("USER") or "agent",
    show_default="$USER",
    help="Agent id stored with every call and answer.",
)
@click.option(
    "--questionnaire",
    "questionnaire_name",
    default=CUSTOMER_QUESTIONNAIRE,
    show_default=True,
    help="Instrument for customer calls: a shipped name, a YAML file or an XLSForm (.xlsx).",
)
@click.option(
    "--staff-questionnaire",
    "staff_name",
    default=STAFF_QUESTIONNAIRE,
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
    ctx.ensure_object(dict)
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
    from survey_tui.calling import queue

    if demo and not any(queue.counts(store).values()):
        from survey_tui.calling.call_list import import_call_list

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


@click.command()
@click.option("--coder", required=True, help="Your coder id, stored with every code you confirm.")
@click.pass_context
@user_errors
def review(ctx: click.Context, coder: str) -> None:
    """Review the automatic codes that need it, least confident first.

    Digits 1-9 and 0 toggle the ten reasons, letters set the competitor (m 移动, u 联通, g 广电,
    o 其他, t 电信, n 不用宽带, k 未知), enter stores your code, space skips, escape ends.
    """
    run_app(ctx, coder, CUSTOMER_QUESTIONNAIRE, STAFF_QUESTIONNAIRE, review=True)


COMMANDS = (tui, review)
