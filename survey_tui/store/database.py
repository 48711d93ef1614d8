"""The database under the store: SQLite (embedded) or PostgreSQL, opened, upgraded, in transactions."""

from __future__ import annotations

import functools
import os
import re
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ParamSpec, Self, TypeVar

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, Engine

from survey_tui.store import schema
from survey_tui.store.bulk import readable_json
from survey_tui.store.errors import SchemaError, StoreError, StoreUnavailable
from survey_tui.store.urls import display, resolve_url

P = ParamSpec("P")
T = TypeVar("T")

# How long a SQLite writer waits for another one before the store reports the file as locked.
SQLITE_BUSY_SECONDS = 15.0
# Our Alembic revisions are numbered 0001, 0002, ...; anything else was written by another program.
_OUR_REVISION = re.compile(r"\d{4}")
# Lists of ids go to IN (...) this many at a time.
IN_CHUNK = 500


def utcnow() -> datetime:
    return datetime.now(UTC)


def guarded(method: Callable[P, T]) -> Callable[P, T]:
    """Turn driver errors into store errors with a message that names the database: unavailable
    (down, unreachable, locked: worth retrying) or refused (a value or a file the database rejects)."""

    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return method(*args, **kwargs)
        except sa.exc.DBAPIError as error:
            store = args[0]
            assert isinstance(store, Database)
            raise store.translate(error) from error

    return wrapper


def _is_outage(error: sa.exc.DBAPIError) -> bool:
    """A connection lost or refused, a server shutting down, a file locked: retrying later can work."""
    return isinstance(error, sa.exc.OperationalError | sa.exc.InterfaceError) or error.connection_invalidated


def _first_line(error: sa.exc.DBAPIError) -> str:
    text = str(error.orig).strip() if error.orig is not None else str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


class Database:
    """The database under the store: opening (creating or upgrading it), transactions, and the
    translation of driver errors into store errors. Each concern of the store (survey_tui.store.
    cases, interviews, codes, audit) is a part built on it; survey_tui.store.Store has them all."""

    def __init__(
        self,
        engine: Engine,
        *,
        upgraded_from: str | None = None,
        busy_seconds: float = SQLITE_BUSY_SECONDS,
    ) -> None:
        self.engine = engine
        self.upgraded_from = upgraded_from
        self.busy_seconds = busy_seconds

    # -- opening -----------------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        target: str | os.PathLike[str] | URL | None = None,
        *,
        upgrade: bool = True,
        busy_seconds: float = SQLITE_BUSY_SECONDS,
    ) -> Self:
        """Open (and create or upgrade) the store at `target`; see `resolve_url` for defaults."""
        url = target if isinstance(target, URL) else resolve_url(target)
        engine = make_engine(url, busy_seconds)
        store = cls(engine, busy_seconds=busy_seconds)
        try:
            revision = store.schema_revision()
            if revision != schema.SCHEMA_REVISION:
                if revision is not None and not _OUR_REVISION.fullmatch(revision):
                    raise SchemaError(
                        f"{display(url)} records schema '{revision}', which is not a churn-survey schema; "
                        "it was made by another program, so it is left untouched"
                    )
                if revision is not None and revision > schema.SCHEMA_REVISION:
                    raise SchemaError(
                        f"{display(url)} has schema {revision}, newer than this program's "
                        f"({schema.SCHEMA_REVISION}); install the newer churn-survey"
                    )
                if not upgrade:
                    raise SchemaError(f"{display(url)} has schema {revision}; run `churn-survey db upgrade`")
            if store.is_sqlite:
                store._use_wal()
            if revision != schema.SCHEMA_REVISION:
                store.upgraded_from = store._migrate(revision)
        except sa.exc.DBAPIError as error:
            engine.dispose()
            raise store.translate(error) from error
        except BaseException:
            engine.dispose()
            raise
        return store

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @property
    def location(self) -> str:
        """Where the data is, safe to print (no password)."""
        return display(self.engine.url)

    def translate(self, error: sa.exc.DBAPIError) -> StoreError:
        """The store error for a driver error: unavailable when retrying can help, else refused."""
        detail = _first_line(error)
        if self.is_sqlite and ("not a database" in detail or "malformed" in detail):
            # Checked first: SQLite reports a damaged file as an OperationalError on some paths.
            return StoreError(
                f"{self.location} is not a usable SQLite database ({detail}): the file is damaged or is "
                "something else; it is left untouched, restore it from a backup or choose another --db"
            )
        if _is_outage(error):
            if self.is_sqlite and "locked" in detail:
                return StoreUnavailable(
                    f"the database file {self.location} is locked by another program "
                    f"(waited {self.busy_seconds:g} s); nothing was changed, try again"
                )
            return StoreUnavailable(f"cannot use the database {self.location}: {detail}")
        return StoreError(f"the database {self.location} refused the change: {detail}")

    def schema_revision(self) -> str | None:
        """The schema revision recorded in the database; None for an empty one."""
        with self.engine.connect() as conn:
            inspector = sa.inspect(conn)
            if not inspector.has_table("alembic_version"):
                # Any table at all means someone else's database: ours never lacks its version.
                tables = inspector.get_table_names()
                if tables:
                    raise SchemaError(
                        f"{self.location} holds tables ({', '.join(sorted(tables)[:5])}) but no schema version; "
                        "it was not made by churn-survey, so it is left untouched"
                    )
                return None
            return conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()

    def _use_wal(self) -> None:
        """Write-ahead logging: readers never block the writer, a commit is one append to the log.
        Outside any transaction (SQLite refuses the switch inside one), on the raw connection."""
        statement = "PRAGMA journal_mode=WAL"
        raw = self.engine.raw_connection()
        try:
            raw.cursor().execute(statement)
        except sqlite3.Error as error:
            # The raw cursor's errors are not wrapped by SQLAlchemy; wrapped, they get our messages.
            raise sa.exc.DBAPIError.instance(statement, None, error, sqlite3.Error) from error
        finally:
            raw.close()

    def _migrate(self, revision: str | None) -> str | None:
        """Upgrade to the newest schema; an existing SQLite file is backed up first."""
        if revision is not None and self.is_sqlite:
            self._backup_sqlite(revision)
        upgrade_schema(self.engine, schema.SCHEMA_REVISION)
        return revision

    def _backup_sqlite(self, revision: str) -> Path:
        path = Path(self.engine.url.database or "")
        backup = path.with_name(f"{path.name}.schema{revision}.bak")
        _create_private(backup)
        source = sqlite3.connect(path)
        try:
            target = sqlite3.connect(backup)
            with target:
                source.backup(target)
            target.close()
        finally:
            source.close()
        return backup

    # -- transactions ------------------------------------------------------------------------

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        """A write transaction; on SQLite it takes the write lock at once (BEGIN IMMEDIATE) so
        that two writers queue up instead of failing half-way."""
        with self.engine.connect() as conn:
            if self.is_sqlite:
                conn = conn.execution_options(sqlite_immediate=True)
            with conn.begin():
                yield conn

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            yield conn


def insert_one(conn: Connection, statement: sa.Insert) -> int:
    """Run an INSERT of one row and give the new row's id."""
    key = conn.execute(statement).inserted_primary_key
    assert key is not None
    return int(key[0])


def clean_text(value: Any) -> Any:
    """Text as typed, but without NUL, which PostgreSQL cannot store (SQLite drops it the same way)."""
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, list):
        return [clean_text(item) for item in value]
    return value


def duration_ms(shown_at: datetime | None, answered_at: datetime) -> int | None:
    return int((answered_at - shown_at).total_seconds() * 1000) if shown_at is not None else None


def make_engine(url: URL, busy_seconds: float = SQLITE_BUSY_SECONDS) -> Engine:
    if url.drivername.startswith("sqlite"):
        return _sqlite_engine(url, busy_seconds)
    return sa.create_engine(url, pool_pre_ping=True, connect_args={"connect_timeout": 5}, json_serializer=readable_json)


def _create_private(file: Path) -> None:
    """Owner-only from the first byte, whatever the umask: the file will hold phone numbers.
    SQLite gives its -wal and -shm files the mode of the database file."""
    os.close(os.open(file, os.O_CREAT | os.O_WRONLY, 0o600))
    os.chmod(file, 0o600)


def _sqlite_engine(url: URL, busy_seconds: float) -> Engine:
    path = url.database
    if path and path != ":memory:":
        file = Path(path)
        if not file.parent.is_dir():
            raise StoreError(f"the folder {file.parent} for the database file does not exist")
        if not file.exists():
            _create_private(file)
    engine = sa.create_engine(url, connect_args={"timeout": busy_seconds}, json_serializer=readable_json)

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection: sqlite3.Connection, _record: object) -> None:
        # The driver's own transaction handling is switched off; BEGIN is ours (see below).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        # WAL is switched on by Store.open once the file is known to be ours (it is kept in the
        # file); doing it here would rewrite the header of someone else's database.
        # FULL: a commit is on disk before the agent sees the next question, even on power loss.
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get("sqlite_immediate", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def upgrade_schema(engine: Engine, revision: str = "head") -> None:
    """Run the migrations up to `revision` (Alembic is imported only when there is work)."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(Path(__file__).with_name("migrations")))
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            conn = conn.execution_options(sqlite_immediate=True)
        with conn.begin():
            config.attributes["connection"] = conn
            command.upgrade(config, revision)
