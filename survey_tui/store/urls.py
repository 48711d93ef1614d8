"""Where the store lives: a SQLite path or a PostgreSQL URL, and how to show it without secrets."""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from survey_tui.store.errors import StoreError

ENV_VAR = "CHURN_SURVEY_DB"
DEFAULT_FILE = "survey.db"


def resolve_url(target: str | os.PathLike[str] | None = None) -> URL:
    """The database to use: `target`, else $CHURN_SURVEY_DB, else survey.db in the working directory.

    A plain path is a SQLite file. A `postgresql://` URL, as libpq and psql write it, is served
    by psycopg 3.
    """
    raw = os.fspath(target) if target is not None else os.environ.get(ENV_VAR) or DEFAULT_FILE
    raw = raw.strip()
    if not raw:
        raise StoreError("the database location is empty")
    if "://" not in raw:
        return URL.create("sqlite+pysqlite", database=str(Path(raw).expanduser().resolve()))
    try:
        url = make_url(raw)
    except ArgumentError as error:
        raise StoreError(f"not a database URL: {display(raw)}") from error
    if url.drivername in ("postgresql", "postgres", "postgresql+psycopg2"):
        url = url.set(drivername="postgresql+psycopg")
    elif url.drivername == "sqlite":
        url = url.set(drivername="sqlite+pysqlite")
    if url.drivername not in ("postgresql+psycopg", "sqlite+pysqlite"):
        raise StoreError(f"unsupported database '{url.drivername}': use a SQLite file path or a postgresql:// URL")
    return url


def display(url: URL | str) -> str:
    """The URL as it may appear in output and logs: the password is never shown."""
    if isinstance(url, str):
        try:
            url = make_url(url)
        except ArgumentError:
            return "<unparseable database URL>"
    if url.drivername.startswith("sqlite"):
        return url.database or ":memory:"
    return url.render_as_string(hide_password=True)
