"""The store's call list: cases imported, claimed, called and closed, and their call attempts."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from coding.normalize import mask_phone
from survey_tui.model.dispositions import is_last_attempt
from survey_tui.store import schema
from survey_tui.store.bulk import columns_of
from survey_tui.store.database import IN_CHUNK, Database, clean_text, guarded, insert_one, utcnow
from survey_tui.store.errors import StoreError
from survey_tui.store.records import Attempt, CallListRow, Case, CaseAttempts, ImportResult, SkippedRow

CASE_STATUSES = ("pending", "claimed", "callback", "done")
AGENT_ID_MAX: int = getattr(schema.cases.c.claimed_by.type, "length", None) or 64
# Call-list fields and the longest text their columns take on PostgreSQL (SQLite does not check).
_FIELD_LIMITS = {
    name: getattr(schema.cases.c[name].type, "length", None) for name in ("account", "name", "branch", "package")
}


class Cases(Database):
    """The call list: import, the queue and its claims, call attempts and the figures of calls."""

    @guarded
    def import_cases(self, rows: Iterable[CallListRow], source_file: str | None = None) -> ImportResult:
        """Add the rows whose phone is not yet on the list, all in one transaction."""
        rows = list(rows)
        result = ImportResult()
        now = utcnow()
        with self._write() as conn:
            existing: set[str] = set()
            phones = [row.phone for row in rows]
            for start in range(0, len(phones), IN_CHUNK):
                chunk = phones[start : start + IN_CHUNK]
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

    @guarded
    def claim_next_case(self, agent: str, *, now: datetime | None = None, held_first: bool = False) -> Case | None:
        """Give `agent` the next case to call, atomically: no two agents get the same case.

        Callbacks that are due come first (the agent's own appointments before others'), then
        cases never called or back in the queue, in list order. With `held_first`, a case the
        agent has claimed and not finished (after a crash) is given back instead, in the same
        transaction (survey_tui.calling.queue decides that it is).
        """
        check_agent(agent)
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
            row = conn.execute(_held_query(agent)).first() if held_first else None
            if row is None:
                row = conn.execute(statement).first()
        return _case(row) if row is not None else None

    @guarded
    def held_case(self, agent: str) -> Case | None:
        """The case `agent` has claimed and not finished (after a crash it is taken up again)."""
        with self._read() as conn:
            row = conn.execute(_held_query(agent)).first()
        return _case(row) if row is not None else None

    @guarded
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

    @guarded
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
        check_agent(agent)
        note = clean_text(note)
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
            if is_last_attempt(attempts, max_attempts):
                final, callback_at = True, None
            status = "done" if final else "callback" if callback_at is not None else "pending"
            attempt_id = insert_one(
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

    @guarded
    def attempts_for(self, case_id: int) -> list[Attempt]:
        """The calls made to a case, oldest first."""
        table = schema.call_attempts
        with self._read() as conn:
            rows = conn.execute(sa.select(table).where(table.c.case_id == case_id).order_by(table.c.id))
            return [Attempt(**row._mapping) for row in rows]

    @guarded
    def get_case(self, case_id: int) -> Case | None:
        with self._read() as conn:
            row = conn.execute(sa.select(schema.cases).where(schema.cases.c.id == case_id)).first()
        return _case(row) if row is not None else None

    @guarded
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

    @guarded
    def case_counts(self) -> dict[str, int]:
        """Number of cases per status, every status present."""
        cases = schema.cases
        with self._read() as conn:
            rows = conn.execute(sa.select(cases.c.status, sa.func.count()).group_by(cases.c.status)).all()
        counts = dict.fromkeys(CASE_STATUSES, 0)
        counts.update({status: int(n) for status, n in rows})
        return counts

    @guarded
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

    @guarded
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

    @guarded
    def case_attempt_codes(self) -> list[CaseAttempts]:
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
        return [CaseAttempts(case_id, agent, codes) for case_id, (agent, codes) in result.items()]

    def _attempts_query(self) -> sa.Select[Any]:
        attempts, cases = schema.call_attempts, schema.cases
        return (
            sa.select(attempts, cases.c.branch, cases.c.status.label("case_status"), cases.c.phone)
            .select_from(attempts.join(cases, cases.c.id == attempts.c.case_id))
            .order_by(attempts.c.id)
        )

    @guarded
    def attempt_columns(self) -> dict[str, list[Any]]:
        """Every call attempt with the case's branch, status and phone, column by column (for the
        outcome tables and the AAPOR rates)."""
        with self._read() as conn:
            return columns_of(conn.execute(self._attempts_query()))


def _too_long(row: CallListRow) -> str | None:
    """Why a call-list row does not fit the store's columns, or None."""
    for name, limit in _FIELD_LIMITS.items():
        value = getattr(row, name)
        if limit is not None and value is not None and len(value) > limit:
            return f"the {name} has {len(value)} characters, at most {limit} fit; shorten it in the file"
    return None


def check_agent(agent: str) -> None:
    if not agent or not agent.strip():
        raise StoreError("an agent id is needed")
    if len(agent) > AGENT_ID_MAX:
        raise StoreError(f"an agent id has at most {AGENT_ID_MAX} characters, not {len(agent)}")


def _held_query(agent: str) -> sa.Select[Any]:
    """The case `agent` has claimed and not finished (the oldest, should there be more)."""
    cases = schema.cases
    return (
        sa.select(cases).where(cases.c.status == "claimed", cases.c.claimed_by == agent).order_by(cases.c.id).limit(1)
    )


def _case(row: sa.Row[Any]) -> Case:
    data = row._mapping
    return Case(**{name: data[name] for name in Case.__dataclass_fields__})
