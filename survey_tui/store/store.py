"""The answer store: call list, call attempts, interviews, answers and codes on SQLite or PostgreSQL."""

from __future__ import annotations

import functools
import json
import os
import re
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, NamedTuple, ParamSpec, TypeVar

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, Engine

from coding.ids import COMPETITORS, REASONS
from coding.normalize import mask_account, mask_phone
from survey_tui.call_list import CallListRow, SkippedRow
from survey_tui.model.questionnaire import Answer, Questionnaire, SpecialAnswer
from survey_tui.store import schema
from survey_tui.store.errors import SchemaError, StoreError, StoreUnavailable
from survey_tui.store.urls import display, resolve_url

P = ParamSpec("P")
T = TypeVar("T")

# How long a SQLite writer waits for another one before the store reports the file as locked.
SQLITE_BUSY_SECONDS = 15.0
INTERVIEW_STATUSES = ("in_progress", "complete", "break_off")
# Our Alembic revisions are numbered 0001, 0002, ...; anything else was written by another program.
_OUR_REVISION = re.compile(r"\d{4}")
CASE_STATUSES = ("pending", "claimed", "callback", "done")
_IN_CHUNK = 500
AGENT_ID_MAX: int = getattr(schema.cases.c.claimed_by.type, "length", None) or 64
# Call-list fields and the longest text their columns take on PostgreSQL (SQLite does not check).
_FIELD_LIMITS = {
    name: getattr(schema.cases.c[name].type, "length", None) for name in ("account", "name", "branch", "package")
}


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Case:
    """One customer of the call list and where the calls to them stand."""

    id: int
    phone: str
    account: str | None
    name: str | None
    branch: str | None
    disconnect_date: date | None
    package: str | None
    extra: dict[str, Any]
    status: str
    claimed_by: str | None
    claimed_at: datetime | None
    callback_at: datetime | None
    callback_agent: str | None
    attempts: int
    last_outcome: str | None
    imported_at: datetime

    def to_dict(self, *, include_pii: bool = False) -> dict[str, Any]:
        """JSON-ready fields; phone and account are masked unless `include_pii`."""
        return {
            "id": self.id,
            "phone": self.phone if include_pii else mask_phone(self.phone),
            "account": self.account if include_pii else mask_account(self.account),
            "name": self.name,
            "branch": self.branch,
            "disconnect_date": self.disconnect_date.isoformat() if self.disconnect_date else None,
            "package": self.package,
            "extra": self.extra,
            "status": self.status,
            "claimed_by": self.claimed_by,
            "claimed_at": _iso(self.claimed_at),
            "callback_at": _iso(self.callback_at),
            "callback_agent": self.callback_agent,
            "attempts": self.attempts,
            "last_outcome": self.last_outcome,
        }


@dataclass(frozen=True)
class StoredAnswer:
    """An answer as stored, with its timing and how often it was changed."""

    id: int
    question_id: str
    answer: Answer
    shown_at: datetime | None
    answered_at: datetime
    duration_ms: int | None
    change_count: int
    draft: bool = False


@dataclass(frozen=True)
class Interview:
    """One interview, of a customer on the call list or of a member of staff."""

    id: int
    questionnaire_id: int
    case_id: int | None
    interviewee: str | None
    agent: str
    status: str
    started_at: datetime
    ended_at: datetime | None
    current_question: str | None
    break_off_reason: str | None


class CodeRecord(NamedTuple):
    """The codes given to one answer by a coder (the model, or a person).

    A named tuple rather than a frozen dataclass: a coding run makes a million of them, and a
    tuple is made four times as quickly.
    """

    answer_id: int
    reasons: tuple[str, ...]
    source: str
    competitor: str | None = None
    coder: str | None = None
    model_version: str | None = None
    confidence: float | None = None
    needs_review: bool = False


@dataclass
class ImportResult:
    """What an import did: rows added and rows skipped with the reason."""

    imported: int = 0
    skipped: list[SkippedRow] = field(default_factory=list)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _guarded(method: Callable[P, T]) -> Callable[P, T]:
    """Turn driver errors into store errors with a message that names the database: unavailable
    (down, unreachable, locked: worth retrying) or refused (a value or a file the database rejects)."""

    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return method(*args, **kwargs)
        except sa.exc.DBAPIError as error:
            store = args[0]
            assert isinstance(store, Store)
            raise store.translate(error) from error

    return wrapper


def _is_outage(error: sa.exc.DBAPIError) -> bool:
    """A connection lost or refused, a server shutting down, a file locked: retrying later can work."""
    return isinstance(error, sa.exc.OperationalError | sa.exc.InterfaceError) or error.connection_invalidated


def _first_line(error: sa.exc.DBAPIError) -> str:
    text = str(error.orig).strip() if error.orig is not None else str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


class Store:
    """All reads and writes of survey data; the app and the CLI get one injected."""

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
    ) -> Store:
        """Open (and create or upgrade) the store at `target`; see `resolve_url` for defaults."""
        url = target if isinstance(target, URL) else resolve_url(target)
        engine = _make_engine(url, busy_seconds)
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

    def __enter__(self) -> Store:
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

    # -- questionnaires ----------------------------------------------------------------------

    @_guarded
    def register_questionnaire(self, questionnaire: Questionnaire) -> int:
        """The row id for this exact instrument (id, version, content), adding it when new."""
        table = schema.questionnaires
        key = sa.and_(
            table.c.name == questionnaire.id,
            table.c.version == questionnaire.version,
            table.c.content_hash == questionnaire.content_hash,
        )
        content = questionnaire.content
        if content is None:
            content = questionnaire.source.read_text("utf-8-sig") if questionnaire.source else ""
        row = {
            "name": questionnaire.id,
            "version": questionnaire.version,
            "title": questionnaire.title,
            "content_hash": questionnaire.content_hash,
            "content": content,
        }
        try:
            with self._write() as conn:
                found = conn.execute(sa.select(table.c.id).where(key)).scalar()
                if found is not None:
                    return int(found)
                return _insert(conn, table.insert().values(**row, registered_at=utcnow()))
        except sa.exc.IntegrityError:
            # Agents starting at the same moment on PostgreSQL: another one registered it first.
            with self._read() as conn:
                found = conn.execute(sa.select(table.c.id).where(key)).scalar()
            if found is None:
                raise
            return int(found)

    @_guarded
    def list_questionnaires(self) -> list[dict[str, Any]]:
        table = schema.questionnaires
        with self._read() as conn:
            rows = conn.execute(
                sa.select(
                    table.c.id,
                    table.c.name,
                    table.c.version,
                    table.c.title,
                    table.c.content_hash,
                    table.c.registered_at,
                ).order_by(table.c.id)
            )
            return [dict(row._mapping) for row in rows]

    # -- the call list -----------------------------------------------------------------------

    @_guarded
    def import_cases(self, rows: Iterable[CallListRow], source_file: str | None = None) -> ImportResult:
        """Add the rows whose phone is not yet on the list, all in one transaction."""
        rows = list(rows)
        result = ImportResult()
        now = utcnow()
        with self._write() as conn:
            existing: set[str] = set()
            phones = [row.phone for row in rows]
            for start in range(0, len(phones), _IN_CHUNK):
                chunk = phones[start : start + _IN_CHUNK]
                existing.update(
                    conn.execute(sa.select(schema.cases.c.phone).where(schema.cases.c.phone.in_(chunk))).scalars()
                )
            fresh = []
            for row in rows:
                if row.phone in existing:
                    result.skipped.append(
                        SkippedRow(
                            row.line,
                            "already_listed",
                            f"line {row.line}: {mask_phone(row.phone)} is already on the call list",
                        )
                    )
                    continue
                too_long = _too_long(row)
                if too_long:
                    result.skipped.append(SkippedRow(row.line, "field_too_long", f"line {row.line}: {too_long}"))
                    continue
                fresh.append(
                    {
                        "phone": row.phone,
                        "account": row.account,
                        "name": row.name,
                        "branch": row.branch,
                        "disconnect_date": date.fromisoformat(row.disconnect_date) if row.disconnect_date else None,
                        "package": row.package,
                        "extra": dict(row.extra),
                        "source_file": source_file[-260:] if source_file else None,
                        "source_line": row.line,
                        "imported_at": now,
                        "status": "pending",
                        "attempts": 0,
                    }
                )
            if fresh:
                conn.execute(schema.cases.insert(), fresh)
            result.imported = len(fresh)
        return result

    @_guarded
    def claim_next_case(self, agent: str, *, now: datetime | None = None) -> Case | None:
        """Give `agent` the next case to call, atomically: no two agents get the same case.

        Callbacks that are due come first (the agent's own appointments before others'), then
        cases never called or back in the queue, in list order.
        """
        _check_agent(agent)
        now = now or utcnow()
        cases = schema.cases
        due_callback = sa.and_(cases.c.status == "callback", cases.c.callback_at <= now)
        candidate = (
            sa.select(cases.c.id)
            .where(sa.or_(cases.c.status == "pending", due_callback))
            .order_by(
                sa.case((due_callback, 0), else_=1),
                sa.case((cases.c.callback_agent == agent, 0), else_=1),
                cases.c.callback_at,
                cases.c.id,
            )
            .limit(1)
        )
        if not self.is_sqlite:
            # Row locks taken by other agents are skipped instead of waited on.
            candidate = candidate.with_for_update(skip_locked=True)
        statement = (
            cases.update()
            .where(cases.c.id == candidate.scalar_subquery())
            .values(status="claimed", claimed_by=agent, claimed_at=now)
            .returning(*cases.c)
        )
        with self._write() as conn:
            row = conn.execute(statement).first()
        return _case(row) if row is not None else None

    @_guarded
    def held_case(self, agent: str) -> Case | None:
        """The case `agent` has claimed and not finished (after a crash it is taken up again)."""
        cases = schema.cases
        query = sa.select(cases).where(cases.c.status == "claimed", cases.c.claimed_by == agent).order_by(cases.c.id)
        with self._read() as conn:
            row = conn.execute(query.limit(1)).first()
        return _case(row) if row is not None else None

    @_guarded
    def release_case(self, case_id: int, agent: str) -> None:
        """Put a claimed case back in the queue untouched (the agent did not call it)."""
        cases = schema.cases
        with self._write() as conn:
            conn.execute(
                cases.update()
                .where(cases.c.id == case_id, cases.c.claimed_by == agent, cases.c.status == "claimed")
                .values(
                    status=sa.case((cases.c.callback_at.is_not(None), "callback"), else_="pending"),
                    claimed_by=None,
                    claimed_at=None,
                )
            )

    @_guarded
    def record_attempt(
        self,
        case_id: int,
        agent: str,
        outcome: str,
        *,
        started_at: datetime,
        ended_at: datetime | None = None,
        aapor_code: str | None = None,
        note: str | None = None,
        callback_at: datetime | None = None,
        final: bool = False,
        max_attempts: int | None = None,
        request_id: str | None = None,
    ) -> int:
        """Store one call attempt and move the case on: to a callback, done, or back in the queue.

        With `max_attempts`, the attempt that reaches it closes the case whatever its outcome
        (the outcome then is the case's final one). With `request_id`, the same attempt given again
        (a retry after a commit whose reply was lost) changes nothing and gives the stored id.
        """
        if final and callback_at is not None:
            raise StoreError("a final outcome cannot also set a callback")
        _check_agent(agent)
        note = _text(note)
        with self._write() as conn:
            if request_id is not None:
                done = conn.execute(
                    sa.select(schema.call_attempts.c.id).where(schema.call_attempts.c.request_id == request_id)
                ).scalar()
                if done is not None:
                    return int(done)
            attempts = conn.execute(sa.select(schema.cases.c.attempts).where(schema.cases.c.id == case_id)).scalar()
            if attempts is None:
                raise StoreError(f"there is no case {case_id}")
            if max_attempts is not None and attempts + 1 >= max_attempts:
                final, callback_at = True, None
            status = "done" if final else "callback" if callback_at is not None else "pending"
            attempt_id = _insert(
                conn,
                schema.call_attempts.insert().values(
                    case_id=case_id,
                    agent=agent,
                    started_at=started_at,
                    ended_at=ended_at or utcnow(),
                    outcome=outcome,
                    aapor_code=aapor_code,
                    note=note,
                    callback_at=callback_at,
                    request_id=request_id,
                ),
            )
            conn.execute(
                schema.cases.update()
                .where(schema.cases.c.id == case_id)
                .values(
                    status=status,
                    claimed_by=None,
                    claimed_at=None,
                    last_outcome=outcome,
                    attempts=schema.cases.c.attempts + 1,
                    callback_at=callback_at,
                    callback_agent=agent if callback_at is not None else None,
                )
            )
        return attempt_id

    @_guarded
    def attempts_for(self, case_id: int) -> list[dict[str, Any]]:
        table = schema.call_attempts
        with self._read() as conn:
            rows = conn.execute(sa.select(table).where(table.c.case_id == case_id).order_by(table.c.id))
            return [dict(row._mapping) for row in rows]

    @_guarded
    def get_case(self, case_id: int) -> Case | None:
        with self._read() as conn:
            row = conn.execute(sa.select(schema.cases).where(schema.cases.c.id == case_id)).first()
        return _case(row) if row is not None else None

    @_guarded
    def list_cases(
        self,
        *,
        status: str | Sequence[str] | None = None,
        agent: str | None = None,
        limit: int | None = None,
    ) -> list[Case]:
        """Cases in queue order: due callbacks by time, then the rest by list order."""
        cases = schema.cases
        query = sa.select(cases)
        if status is not None:
            statuses = [status] if isinstance(status, str) else list(status)
            query = query.where(cases.c.status.in_(statuses))
        if agent is not None:
            query = query.where(sa.or_(cases.c.claimed_by == agent, cases.c.callback_agent == agent))
        query = query.order_by(sa.case((cases.c.status == "callback", 0), else_=1), cases.c.callback_at, cases.c.id)
        if limit is not None:
            query = query.limit(limit)
        with self._read() as conn:
            return [_case(row) for row in conn.execute(query)]

    @_guarded
    def case_counts(self) -> dict[str, int]:
        """Number of cases per status, every status present."""
        cases = schema.cases
        with self._read() as conn:
            rows = conn.execute(sa.select(cases.c.status, sa.func.count()).group_by(cases.c.status)).all()
        counts = dict.fromkeys(CASE_STATUSES, 0)
        counts.update({status: int(n) for status, n in rows})
        return counts

    @_guarded
    def agent_cases(self, agent: str, *, limit: int = 200) -> list[Case]:
        """The agent's own cases: claimed, booked for a callback, or called by them."""
        cases, attempts = schema.cases, schema.call_attempts
        called = sa.select(attempts.c.case_id).where(attempts.c.agent == agent)
        query = (
            sa.select(cases)
            .where(
                sa.or_(
                    cases.c.claimed_by == agent,
                    cases.c.callback_agent == agent,
                    cases.c.id.in_(called),
                )
            )
            .order_by(
                sa.case(
                    (cases.c.status == "claimed", 0),
                    (cases.c.status == "callback", 1),
                    (cases.c.status == "pending", 2),
                    else_=3,
                ),
                cases.c.callback_at,
                cases.c.id.desc(),
            )
            .limit(limit)
        )
        with self._read() as conn:
            return [_case(row) for row in conn.execute(query)]

    @_guarded
    def outcome_counts(self, *, agent: str | None = None, since: datetime | None = None) -> dict[str, int]:
        """Call attempts per outcome, for one agent or all, since a moment or ever."""
        attempts = schema.call_attempts
        query = sa.select(attempts.c.outcome, sa.func.count()).group_by(attempts.c.outcome)
        if agent is not None:
            query = query.where(attempts.c.agent == agent)
        if since is not None:
            query = query.where(attempts.c.started_at >= since)
        with self._read() as conn:
            return {outcome: int(n) for outcome, n in conn.execute(query)}

    @_guarded
    def case_attempt_codes(self) -> list[tuple[int, str | None, list[str]]]:
        """Every case with the agent of its last attempt and its attempts' AAPOR codes in order."""
        cases, attempts = schema.cases, schema.call_attempts
        query = (
            sa.select(cases.c.id, attempts.c.agent, attempts.c.aapor_code)
            .select_from(cases.outerjoin(attempts, attempts.c.case_id == cases.c.id))
            .order_by(cases.c.id, attempts.c.id)
        )
        result: dict[int, tuple[str | None, list[str]]] = {}
        with self._read() as conn:
            for case_id, agent, code in conn.execute(query):
                last_agent, codes = result.get(case_id, (None, []))
                if code is not None:
                    codes.append(code)
                result[case_id] = (agent or last_agent, codes)
        return [(case_id, agent, codes) for case_id, (agent, codes) in result.items()]

    # -- interviews and answers --------------------------------------------------------------

    @_guarded
    def start_interview(
        self,
        questionnaire_id: int,
        agent: str,
        *,
        case_id: int | None = None,
        interviewee: str | None = None,
        started_at: datetime | None = None,
    ) -> int:
        _check_agent(agent)
        with self._write() as conn:
            return _insert(
                conn,
                schema.interviews.insert().values(
                    questionnaire_id=questionnaire_id,
                    agent=agent,
                    case_id=case_id,
                    interviewee=_text(interviewee),
                    status="in_progress",
                    started_at=started_at or utcnow(),
                ),
            )

    @_guarded
    def get_interview(self, interview_id: int) -> Interview | None:
        with self._read() as conn:
            row = conn.execute(sa.select(schema.interviews).where(schema.interviews.c.id == interview_id)).first()
        return Interview(**row._mapping) if row is not None else None

    @_guarded
    def open_interview(self, case_id: int) -> Interview | None:
        """The newest unfinished interview of a case (in progress or broken off), to resume."""
        table = schema.interviews
        with self._read() as conn:
            row = conn.execute(
                sa.select(table)
                .where(table.c.case_id == case_id, table.c.status.in_(("in_progress", "break_off")))
                .order_by(table.c.id.desc())
                .limit(1)
            ).first()
        return Interview(**row._mapping) if row is not None else None

    @_guarded
    def list_interviews(
        self, *, agent: str | None = None, status: str | None = None, case_id: int | None = None
    ) -> list[Interview]:
        table = schema.interviews
        query = sa.select(table).order_by(table.c.id)
        if agent is not None:
            query = query.where(table.c.agent == agent)
        if status is not None:
            query = query.where(table.c.status == status)
        if case_id is not None:
            query = query.where(table.c.case_id == case_id)
        with self._read() as conn:
            return [Interview(**row._mapping) for row in conn.execute(query)]

    @_guarded
    def save_answer(
        self,
        interview_id: int,
        question_id: str,
        answer: Answer,
        *,
        shown_at: datetime | None = None,
        answered_at: datetime | None = None,
        draft: bool = False,
    ) -> StoredAnswer:
        """Store an answer durably before returning.

        A `draft` is text saved while it is still being typed, so that a crash loses nothing; it
        becomes the answer when saved without `draft`. Changing a confirmed answer counts one
        change; the drafts and confirmation of one edit count once.
        """
        answered_at = answered_at or utcnow()
        values = {
            "value": _text(answer.value) if answer.special is None else None,
            "special": answer.special.value if answer.special is not None else None,
            "other_text": _text(answer.other_text),
        }
        table = schema.answers
        with self._write() as conn:
            status = conn.execute(
                sa.select(schema.interviews.c.status).where(schema.interviews.c.id == interview_id)
            ).scalar()
            if status is None:
                raise StoreError(f"there is no interview {interview_id}")
            if status == "complete":
                raise StoreError(f"interview {interview_id} is complete; its answers are final")
            row = conn.execute(
                sa.select(table).where(table.c.interview_id == interview_id, table.c.question_id == question_id)
            ).first()
            if row is None:
                conn.execute(
                    table.insert().values(
                        interview_id=interview_id,
                        question_id=question_id,
                        shown_at=shown_at,
                        answered_at=answered_at,
                        duration_ms=None if draft else _duration_ms(shown_at, answered_at),
                        change_count=0,
                        draft=draft,
                        **values,
                    )
                )
            else:
                same = all(getattr(row, key) == value for key, value in values.items())
                changed = not row.draft and not same
                shown = row.shown_at or shown_at
                conn.execute(
                    table.update()
                    .where(table.c.id == row.id)
                    .values(
                        answered_at=answered_at,
                        change_count=row.change_count + (1 if changed else 0),
                        shown_at=shown,
                        duration_ms=row.duration_ms
                        if row.duration_ms is not None or draft
                        else _duration_ms(shown, answered_at),
                        draft=draft,
                        **values,
                    )
                )
            conn.execute(
                schema.interviews.update()
                .where(schema.interviews.c.id == interview_id)
                .values(current_question=question_id)
            )
            stored = conn.execute(
                sa.select(table).where(table.c.interview_id == interview_id, table.c.question_id == question_id)
            ).one()
        return _stored_answer(stored)

    @_guarded
    def answers_for(self, interview_id: int) -> dict[str, StoredAnswer]:
        table = schema.answers
        with self._read() as conn:
            rows = conn.execute(sa.select(table).where(table.c.interview_id == interview_id).order_by(table.c.id))
            return {row.question_id: _stored_answer(row) for row in rows}

    @_guarded
    def finish_interview(
        self,
        interview_id: int,
        status: str,
        *,
        reason: str | None = None,
        ended_at: datetime | None = None,
    ) -> None:
        """Close an interview as complete or broken off (a break-off keeps its answers)."""
        if status not in ("complete", "break_off"):
            raise StoreError(f"an interview ends as complete or break_off, not {status!r}")
        with self._write() as conn:
            conn.execute(
                schema.interviews.update()
                .where(schema.interviews.c.id == interview_id)
                .values(status=status, ended_at=ended_at or utcnow(), break_off_reason=_text(reason))
            )

    @_guarded
    def resume_interview(self, interview_id: int) -> None:
        """Reopen a broken-off interview to go on where it stopped."""
        with self._write() as conn:
            conn.execute(
                schema.interviews.update()
                .where(schema.interviews.c.id == interview_id, schema.interviews.c.status == "break_off")
                .values(status="in_progress", ended_at=None)
            )

    def _interviews_query(self, questionnaire_name: str | None) -> sa.Select[Any]:
        interviews, cases, questionnaires = schema.interviews, schema.cases, schema.questionnaires
        query = (
            sa.select(
                interviews.c.id.label("interview_id"),
                interviews.c.case_id,
                interviews.c.agent,
                interviews.c.status,
                interviews.c.started_at,
                interviews.c.ended_at,
                interviews.c.interviewee,
                questionnaires.c.name.label("questionnaire"),
                questionnaires.c.version.label("questionnaire_version"),
                cases.c.phone,
                cases.c.account,
                cases.c.branch,
                cases.c.disconnect_date,
                cases.c.package,
            )
            .select_from(
                interviews.join(questionnaires, questionnaires.c.id == interviews.c.questionnaire_id).outerjoin(
                    cases, cases.c.id == interviews.c.case_id
                )
            )
            .order_by(interviews.c.id)
        )
        if questionnaire_name is not None:
            query = query.where(questionnaires.c.name == questionnaire_name)
        return query

    @_guarded
    def interview_rows(self, questionnaire_name: str | None = None) -> list[dict[str, Any]]:
        """Every interview with its instrument and the case's fields (for tallies and exports)."""
        with self._read() as conn:
            return _dicts(conn.execute(self._interviews_query(questionnaire_name)))

    @_guarded
    def interview_columns(self, questionnaire_name: str | None = None) -> dict[str, list[Any]]:
        """`interview_rows` column by column: a million interviews take a fraction of the memory."""
        with self._read() as conn:
            return _columns(conn.execute(self._interviews_query(questionnaire_name)))

    def _answers_query(self, questionnaire_name: str | None, question_id: str | None) -> sa.Select[Any]:
        answers, interviews, questionnaires = schema.answers, schema.interviews, schema.questionnaires
        query = (
            sa.select(
                answers.c.interview_id,
                answers.c.id.label("answer_id"),
                answers.c.question_id,
                # As JSON text, decoded once per distinct text (_decode_json): answers repeat.
                sa.cast(answers.c.value, sa.Text).label("value"),
                answers.c.special,
                answers.c.other_text,
            )
            .select_from(
                answers.join(interviews, interviews.c.id == answers.c.interview_id).join(
                    questionnaires, questionnaires.c.id == interviews.c.questionnaire_id
                )
            )
            .where(answers.c.draft.is_(False))
            .order_by(answers.c.id)
        )
        if questionnaire_name is not None:
            query = query.where(questionnaires.c.name == questionnaire_name)
        if question_id is not None:
            query = query.where(answers.c.question_id == question_id)
        return query

    @_guarded
    def all_answers(self, questionnaire_name: str | None = None) -> list[dict[str, Any]]:
        """Every confirmed answer: interview_id, answer_id, question_id, value, special, other_text."""
        with self._read() as conn:
            rows = _dicts(conn.execute(self._answers_query(questionnaire_name, None)))
        values = _decode_json([row["value"] for row in rows])
        for row, value in zip(rows, values, strict=True):
            row["value"] = value
        return rows

    @_guarded
    def answer_columns(self, questionnaire_name: str | None, question_id: str) -> dict[str, list[Any]]:
        """The confirmed answers to one question, as `all_answers` gives them, column by column."""
        with self._read() as conn:
            columns = _columns(conn.execute(self._answers_query(questionnaire_name, question_id)))
        columns["value"] = _decode_json(columns["value"])
        return columns

    def _attempts_query(self) -> sa.Select[Any]:
        attempts, cases = schema.call_attempts, schema.cases
        return (
            sa.select(attempts, cases.c.branch, cases.c.status.label("case_status"), cases.c.phone)
            .select_from(attempts.join(cases, cases.c.id == attempts.c.case_id))
            .order_by(attempts.c.id)
        )

    @_guarded
    def all_attempts(self) -> list[dict[str, Any]]:
        """Every call attempt with the case's branch, status and phone (for outcome tables, AAPOR rates)."""
        with self._read() as conn:
            return _dicts(conn.execute(self._attempts_query()))

    @_guarded
    def attempt_columns(self) -> dict[str, list[Any]]:
        """`all_attempts` column by column."""
        with self._read() as conn:
            return _columns(conn.execute(self._attempts_query()))

    # -- the audit of personal data ---------------------------------------------------------

    @_guarded
    def record_pii_disclosure(
        self, *, user: str, role: str, command: str, what: dict[str, Any], host: str | None = None
    ) -> int:
        """Note that full phone numbers or accounts leave the store: who, when, where, what."""
        with self._write() as conn:
            return _insert(
                conn,
                schema.pii_audit.insert().values(
                    at=utcnow(),
                    user=user[:64],
                    role=role,
                    host=host[:100] if host else None,
                    command=command,
                    what=what,
                ),
            )

    @_guarded
    def pii_audit(self, *, limit: int | None = None) -> list[dict[str, Any]]:
        """The audit of disclosures, newest first."""
        table = schema.pii_audit
        query = sa.select(table).order_by(table.c.id.desc())
        if limit is not None:
            query = query.limit(limit)
        with self._read() as conn:
            return [dict(row._mapping) for row in conn.execute(query)]

    # -- codes -------------------------------------------------------------------------------

    @_guarded
    def save_code(self, answer_id: int, reasons: Sequence[str], *, source: str, **details: Any) -> int:
        """Record the codes of one answer; ids are checked against the codebook."""
        return self.save_codes([CodeRecord(answer_id, tuple(reasons), source=source, **details)])[0]

    @_guarded
    def save_codes(self, records: Sequence[CodeRecord]) -> list[int]:
        """Record many codes in one transaction; the new row's id when there is one record."""
        if not records:
            return []
        columns: dict[str, list[Any]] = {
            name: [getattr(record, name) for record in records] for name in CodeRecord._fields
        }
        with self._write() as conn:
            rows = self._code_rows(columns)
            if len(records) == 1:
                row = {name: values[0] for name, values in rows.items()}
                return [_insert(conn, schema.answer_codes.insert().values(**row))]
            _insert_many(conn, schema.answer_codes, rows)
            return []

    @_guarded
    def save_code_columns(
        self,
        answer_ids: Sequence[int],
        reasons: Sequence[Sequence[str]],
        *,
        source: str,
        competitors: Sequence[str | None] | None = None,
        confidences: Sequence[float | None] | None = None,
        needs_review: Sequence[bool] | None = None,
        coder: str | None = None,
        model_version: str | None = None,
        per_transaction: int = 20_000,
    ) -> None:
        """Record the codes of many answers given column by column (a coding run), `per_transaction`
        at a time, so that agents writing meanwhile never wait long (20,000 take about 50 ms)."""
        count = len(answer_ids)
        columns: dict[str, list[Any]] = {
            "answer_id": list(answer_ids),
            "reasons": list(reasons),
            "competitor": list(competitors) if competitors is not None else [None] * count,
            "source": [source] * count,
            "coder": [coder] * count,
            "model_version": [model_version] * count,
            "confidence": list(confidences) if confidences is not None else [None] * count,
            "needs_review": list(needs_review) if needs_review is not None else [False] * count,
        }
        if any(len(values) != count for values in columns.values()):
            raise StoreError("every column of codes needs one value per answer")
        rows = self._code_rows(columns)
        for start in range(0, count, per_transaction):
            with self._write() as conn:
                _insert_many(
                    conn,
                    schema.answer_codes,
                    {name: values[start : start + per_transaction] for name, values in rows.items()},
                )

    @staticmethod
    def _code_rows(columns: dict[str, list[Any]]) -> dict[str, list[Any]]:
        """The answer_codes columns for codes given by column, each distinct value checked once
        (a coding run stores a million codes with a few dozen distinct reason sets)."""
        reason_lists: dict[tuple[str, ...], list[str]] = {}
        for reasons in {tuple(value) for value in columns["reasons"]}:
            unknown = [reason for reason in reasons if reason not in REASONS]
            if unknown:
                raise StoreError(f"unknown reason ids {unknown}; the codebook has {list(REASONS)}")
            reason_lists[reasons] = list(dict.fromkeys(reasons))
        for competitor in set(columns["competitor"]) - {None} - set(COMPETITORS):
            raise StoreError(f"unknown competitor id {competitor!r}")
        for source in set(columns["source"]) - {"auto", "human"}:
            raise StoreError(f"a code's source is auto or human, not {source!r}")
        return {
            **columns,
            "reasons": [reason_lists[tuple(value)] for value in columns["reasons"]],
            "coded_at": [utcnow()] * len(columns["answer_id"]),
        }

    @_guarded
    def codes_for(self, answer_id: int) -> list[dict[str, Any]]:
        table = schema.answer_codes
        with self._read() as conn:
            rows = conn.execute(sa.select(table).where(table.c.answer_id == answer_id).order_by(table.c.id))
            return [dict(row._mapping) for row in rows]

    def answers_to_code_pages(
        self,
        question_id: str,
        *,
        include_auto_coded: bool = False,
        page_rows: int = 100_000,
        companion: str | None = None,
    ) -> Iterator[list[dict[str, Any]]]:
        """Confirmed answers of a question without codes (or, with `include_auto_coded`, without a
        human code), in answer id order, `page_rows` at a time: answer_id, interview_id, case_id,
        value, special and, with `companion`, `companion_value`, the confirmed value the same
        interview gave to that question (None when unanswered or a special answer). Human codes
        are never redone.

        One query however many pages: PostgreSQL plans its joins once (paging by LIMIT had it
        scan the answers again for every page). While the pages are read, codes may be written
        on another connection; the answers read are those without codes when the query began.
        """
        query = self._to_code_query(question_id, include_auto_coded, companion)
        try:
            with self._read() as conn:
                result = conn.execution_options(stream_results=True, yield_per=page_rows).execute(query)
                keys = list(result.keys())
                for page in result.partitions():
                    yield self._decoded_to_code([dict(zip(keys, row, strict=True)) for row in page], companion)
        except sa.exc.DBAPIError as error:
            raise self.translate(error) from error

    @staticmethod
    def _decoded_to_code(rows: list[dict[str, Any]], companion: str | None) -> list[dict[str, Any]]:
        for key in ("value", "companion_value") if companion is not None else ("value",):
            for row, value in zip(rows, _decode_json([row[key] for row in rows]), strict=True):
                row[key] = value
        return rows

    @staticmethod
    def _to_code_query(question_id: str, include_auto_coded: bool, companion: str | None) -> sa.Select[Any]:
        answers, interviews, codes = schema.answers, schema.interviews, schema.answer_codes
        coded = sa.select(codes.c.answer_id).where(codes.c.answer_id == answers.c.id)
        if include_auto_coded:
            coded = coded.where(codes.c.source == "human")
        # Values come as their JSON text and are decoded once per distinct text: answers repeat.
        columns = [
            answers.c.id.label("answer_id"),
            answers.c.interview_id,
            interviews.c.case_id,
            sa.cast(answers.c.value, sa.Text).label("value"),
            answers.c.special,
        ]
        source = answers.join(interviews, interviews.c.id == answers.c.interview_id)
        if companion is not None:
            other = answers.alias("companion")
            columns.append(sa.cast(other.c.value, sa.Text).label("companion_value"))
            source = source.outerjoin(
                other,
                sa.and_(
                    other.c.interview_id == answers.c.interview_id,
                    other.c.question_id == companion,
                    other.c.draft.is_(False),
                    other.c.special.is_(None),
                ),
            )
        return (
            sa.select(*columns)
            .select_from(source)
            # NOT EXISTS rather than NOT IN: PostgreSQL turns it into an anti-join however many
            # codes there are already.
            .where(
                answers.c.question_id == question_id,
                answers.c.draft.is_(False),
                ~sa.exists(coded),
            )
            .order_by(answers.c.id)
        )

    @_guarded
    def question_values(self, question_id: str, interview_ids: Iterable[int] | None = None) -> dict[int, Any]:
        """interview id -> the confirmed value given to `question_id` (special answers left out),
        for every interview or for those of `interview_ids`."""
        answers = schema.answers
        query = sa.select(answers.c.interview_id, answers.c.value).where(
            answers.c.question_id == question_id, answers.c.draft.is_(False), answers.c.special.is_(None)
        )
        with self._read() as conn:
            if interview_ids is None:
                return {interview_id: value for interview_id, value in conn.execute(query)}
            wanted = sorted(set(interview_ids))
            values: dict[int, Any] = {}
            for start in range(0, len(wanted), _IN_CHUNK):
                chunk = wanted[start : start + _IN_CHUNK]
                rows = conn.execute(query.where(answers.c.interview_id.in_(chunk)))
                values.update({interview_id: value for interview_id, value in rows})
            return values

    @_guarded
    def latest_codes(self, *, source: str | None = None, coder: str | None = None) -> dict[int, dict[str, Any]]:
        """answer id -> its newest code (optionally of one source or one coder), with the answer text."""
        codes, answers = schema.answer_codes, schema.answers
        newest = sa.select(sa.func.max(codes.c.id)).group_by(codes.c.answer_id)
        if source is not None:
            newest = newest.where(codes.c.source == source)
        if coder is not None:
            newest = newest.where(codes.c.coder == coder)
        query = (
            sa.select(codes, answers.c.value.label("text"), answers.c.question_id)
            .select_from(codes.join(answers, answers.c.id == codes.c.answer_id))
            .where(codes.c.id.in_(newest))
        )
        with self._read() as conn:
            return {row["answer_id"]: row for row in _dicts(conn.execute(query))}

    @_guarded
    def latest_code_columns(self, *, source: str) -> dict[str, list[Any]]:
        """The newest code of each answer coded by `source`: answer_id, reasons, competitor, by column."""
        codes = schema.answer_codes
        newest = sa.select(sa.func.max(codes.c.id)).where(codes.c.source == source).group_by(codes.c.answer_id)
        query = sa.select(
            codes.c.answer_id, sa.cast(codes.c.reasons, sa.Text).label("reasons"), codes.c.competitor
        ).where(codes.c.id.in_(newest))
        with self._read() as conn:
            columns = _columns(conn.execute(query))
        columns["reasons"] = _decode_json(columns["reasons"])
        return columns

    @_guarded
    def review_queue(self, limit: int = 500) -> list[dict[str, Any]]:
        """Automatic codes flagged for review with no human code yet, least confident first."""
        codes, answers = schema.answer_codes, schema.answers
        human = sa.select(codes.c.answer_id).where(codes.c.source == "human")
        newest = sa.select(sa.func.max(codes.c.id)).where(codes.c.source == "auto").group_by(codes.c.answer_id)
        query = (
            sa.select(codes, answers.c.value.label("text"), answers.c.question_id, answers.c.interview_id)
            .select_from(codes.join(answers, answers.c.id == codes.c.answer_id))
            .where(codes.c.id.in_(newest), codes.c.needs_review.is_(True), codes.c.answer_id.not_in(human))
            .order_by(codes.c.confidence, codes.c.id)
            .limit(limit)
        )
        with self._read() as conn:
            return _dicts(conn.execute(query))


def _too_long(row: CallListRow) -> str | None:
    """Why a call-list row does not fit the store's columns, or None."""
    for name, limit in _FIELD_LIMITS.items():
        value = getattr(row, name)
        if limit is not None and value is not None and len(value) > limit:
            return f"the {name} has {len(value)} characters, at most {limit} fit; shorten it in the file"
    return None


def _check_agent(agent: str) -> None:
    if not agent or not agent.strip():
        raise StoreError("an agent id is needed")
    if len(agent) > AGENT_ID_MAX:
        raise StoreError(f"an agent id has at most {AGENT_ID_MAX} characters, not {len(agent)}")


def _text(value: Any) -> Any:
    """Text as typed, but without NUL, which PostgreSQL cannot store (SQLite drops it the same way)."""
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, list):
        return [_text(item) for item in value]
    return value


def _duration_ms(shown_at: datetime | None, answered_at: datetime) -> int | None:
    return int((answered_at - shown_at).total_seconds() * 1000) if shown_at is not None else None


def _dicts(result: sa.CursorResult[Any]) -> list[dict[str, Any]]:
    """The rows of a result as plain dicts (a million of them: building them by zip is twice as quick)."""
    keys = list(result.keys())
    return [dict(zip(keys, row, strict=True)) for row in result]


def _columns(result: sa.CursorResult[Any]) -> dict[str, list[Any]]:
    """The rows of a result column by column; a text column of few distinct values (agent,
    status, branch) holds each of them once instead of once per row."""
    keys = list(result.keys())
    rows = result.all()
    if not rows:
        return {key: [] for key in keys}
    columns = {key: list(values) for key, values in zip(keys, zip(*rows, strict=True), strict=True)}
    for key, values in columns.items():
        head = values[:1000]
        if isinstance(head[0], str) and len(set(head)) * 4 < len(head):
            shared: dict[str, str] = {}
            columns[key] = [shared.setdefault(value, value) if isinstance(value, str) else value for value in values]
    return columns


def _decode_json(texts: Sequence[str | None]) -> list[Any]:
    """JSON texts decoded, each distinct text once; a list comes as its own copy, so that no two
    rows share a value one of them could change."""
    decoded: dict[str, Any] = {}
    values: list[Any] = []
    for text in texts:
        if text is None:
            values.append(None)
            continue
        if text not in decoded:
            decoded[text] = json.loads(text)
        value = decoded[text]
        if isinstance(value, list) and all(isinstance(item, str | int | float | bool) for item in value):
            value = list(value)
        elif isinstance(value, list | dict):
            value = json.loads(text)
        values.append(value)
    return values


def _insert_many(conn: Connection, table: sa.Table, columns: dict[str, list[Any]]) -> None:
    """Insert rows, given column by column: COPY on PostgreSQL, the driver's executemany on
    SQLite; either way each distinct value is converted by its column's type once.

    SQLAlchemy's executemany converts every parameter of every row on its own, which was most of
    the time of storing a million codes; the values stored are the same.
    """
    dialect = conn.dialect
    quote = dialect.identifier_preparer.quote
    names = ", ".join(quote(name) for name in columns)
    if dialect.name == "postgresql":
        _copy_many(conn, f"COPY {quote(table.name)} ({names}) FROM STDIN", table, columns)
        return
    converted = []
    for name, values in columns.items():
        convert = _memoised(table.c[name].type.dialect_impl(dialect).bind_processor(dialect))
        converted.append(values if convert is None else [convert(value) for value in values])
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    statement = f"INSERT INTO {quote(table.name)} ({names}) VALUES ({', '.join([mark] * len(columns))})"
    conn.exec_driver_sql(statement, list(zip(*converted, strict=True)))


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_many(conn: Connection, statement: str, table: sa.Table, columns: dict[str, list[Any]]) -> None:
    """PostgreSQL: the rows as one COPY stream in text format, each distinct value encoded once.

    A third of the time of a pipelined executemany for a million codes, and half of psycopg's
    own row-by-row COPY, whose per-value adaptation was then most of the time left.
    """
    dialect = conn.dialect
    encoded = []
    for name, values in columns.items():
        column_type = table.c[name].type
        bind = column_type.process_bind_param if isinstance(column_type, sa.TypeDecorator) else None
        # As SQLAlchemy stores it: None in a JSON column is JSON null.
        as_json = isinstance(column_type, sa.JSON)

        def encode(value: Any, bind: Any = bind, as_json: bool = as_json) -> str:
            return _copy_text(bind(value, dialect) if bind is not None else value, as_json)

        encoded.append(_copy_column(values, encode))
    payload = "".join("\t".join(row) + "\n" for row in zip(*encoded, strict=True))
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    with cursor, cursor.copy(statement) as copy:
        copy.write(payload.encode("utf-8"))


def _copy_column(values: list[Any], encode: Callable[[Any], str]) -> list[str]:
    """Each value encoded, each distinct one once (a column of codes has few distinct values);
    ids and confidences, nearly all distinct, are written as numbers straight away."""
    if all(type(value) is int for value in values) or all(type(value) is float for value in values):
        return list(map(str, values))
    done: dict[Any, str] = {}
    out = []
    for value in values:
        key = tuple(value) if isinstance(value, list) else value
        try:
            text = done.get(key)
            if text is None:
                text = done[key] = encode(value)
        except TypeError:  # unhashable: encoded as it is
            text = encode(value)
        out.append(text)
    return out


def _copy_text(value: Any, as_json: bool) -> str:
    """One value in COPY's text format (NULL is \\N; backslash, tab and line ends escaped)."""
    if value is None and not as_json:
        return "\\N"
    if as_json:
        text = readable_json(value)
    elif isinstance(value, bool):
        return "t" if value else "f"
    elif isinstance(value, datetime | date):
        text = value.isoformat()
    else:
        text = str(value)
    return text.translate(_COPY_ESCAPES)


def _memoised(convert: Callable[[Any], Any] | None) -> Callable[[Any], Any] | None:
    """A column's bind conversion that converts each distinct value once (codes repeat a great deal)."""
    if convert is None:
        return None
    done: dict[Any, Any] = {}

    def converted(value: Any) -> Any:
        try:
            key = (list, tuple(value)) if isinstance(value, list) else (value.__class__, value)
            if key not in done:
                done[key] = convert(value)
            return done[key]
        except TypeError:  # unhashable: convert it as it is
            return convert(value)

    return converted


def _insert(conn: Connection, statement: sa.Insert) -> int:
    """Run an INSERT of one row and give the new row's id."""
    key = conn.execute(statement).inserted_primary_key
    assert key is not None
    return int(key[0])


def _case(row: sa.Row[Any]) -> Case:
    data = row._mapping
    return Case(**{name: data[name] for name in Case.__dataclass_fields__})


def _stored_answer(row: sa.Row[Any]) -> StoredAnswer:
    return StoredAnswer(
        id=row.id,
        question_id=row.question_id,
        answer=Answer(
            value=row.value,
            special=SpecialAnswer(row.special) if row.special else None,
            other_text=row.other_text,
        ),
        shown_at=row.shown_at,
        answered_at=row.answered_at,
        duration_ms=row.duration_ms,
        change_count=row.change_count,
        draft=bool(row.draft),
    )


def readable_json(value: Any) -> str:
    """JSON as the store writes it: UTF-8 text a researcher reads in the database (移动, not \\u79fb)."""
    return json.dumps(value, ensure_ascii=False)


def _make_engine(url: URL, busy_seconds: float = SQLITE_BUSY_SECONDS) -> Engine:
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
