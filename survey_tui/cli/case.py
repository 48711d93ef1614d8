"""`churn-survey case`: the queue of cases to call, listed or claimed."""

from __future__ import annotations

import json

import click

from survey_tui.cli.common import NothingToClaim, SurveyGroup, disclosure, open_store, user_errors

QUEUE_HEADERS = ("id", "phone", "name", "branch", "disconnected", "package", "status", "attempts", "callback")


@click.group(cls=SurveyGroup)
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
    from survey_tui.calling import queue
    from survey_tui.cli.textable import format_table

    shown = disclosure(ctx, "case list", extra={"format": fmt}) if include_pii else None
    store = open_store(ctx)
    cases = queue.listed(store, status=status, agent=agent, limit=limit, disclosure=shown)
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
    counts = queue.counts(store)
    click.echo(format_table(QUEUE_HEADERS, rows))
    click.echo(f"\n{sum(counts.values())} case(s): " + ", ".join(f"{n} {name}" for name, n in counts.items()))


@case.command("claim")
@click.option("--agent", required=True, help="The agent taking the case.")
@click.option("--include-pii", is_flag=True, help="Print the full phone number and account (needed to dial).")
@click.pass_context
@user_errors
def case_claim(ctx: click.Context, agent: str, include_pii: bool) -> None:
    """Claim the next case for AGENT and print it as JSON; exit 3 when none is left.

    As the app's `enter`: a case AGENT already holds (claimed, not finished) comes back first.
    """
    from survey_tui.calling import queue

    # An agent may see the number of the customer they are to call, as on the call screen.
    shown = disclosure(ctx, "case claim", permission=False) if include_pii else None
    claimed = queue.next_case(open_store(ctx), agent, disclosure=shown)
    if claimed is None:
        raise NothingToClaim("no case is waiting to be called")
    click.echo(json.dumps(claimed.to_dict(include_pii=include_pii), ensure_ascii=False))


COMMANDS = (case,)
