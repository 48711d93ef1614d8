"""`churn-survey db` and `audit`: the answer store itself, and who was given personal data from it."""

from __future__ import annotations

import dataclasses
import json

import click

from survey_tui.cli.common import SurveyGroup, open_store, settings, user_errors


@click.group(cls=SurveyGroup)
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
        click.echo(f"questionnaire: {row.name} version {row.version} ({row.content_hash[:12]})")


@db.command("upgrade")
@click.pass_context
@user_errors
def db_upgrade(ctx: click.Context) -> None:
    """Create the store, or upgrade an older one in place (a SQLite file is backed up first)."""
    store = open_store(ctx)
    click.echo(f"{store.location} is at schema {store.schema_revision()}")


@click.command()
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True, help="The newest N entries.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.pass_context
@user_errors
def audit(ctx: click.Context, limit: int, fmt: str) -> None:
    """Who was shown or exported full phone numbers and accounts (--include-pii): when, where, what.

    Needs the supervisor or researcher role.
    """
    from survey_tui.cli.textable import format_table

    settings(ctx).require("audit")
    store = open_store(ctx)
    entries = store.pii_audit(limit=limit)
    if fmt == "json":
        records = [dataclasses.asdict(entry) for entry in entries]
        click.echo(json.dumps(records, ensure_ascii=False, indent=2, default=str))
        return
    rows = [
        [
            entry.at.astimezone().strftime("%Y-%m-%d %H:%M:%S"),
            entry.user,
            entry.role,
            entry.host or "",
            entry.command,
            json.dumps(entry.what, ensure_ascii=False),
        ]
        for entry in entries
    ]
    click.echo(format_table(("when", "user", "role", "host", "command", "what"), rows))


COMMANDS = (db, audit)
