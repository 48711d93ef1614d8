"""Writes that must never be lost: applied to the store at once, or spooled to a local file and retried.

A write is a typed operation (SaveAnswer, FinishInterview, RecordAttempt) that calls the store
with every keyword spelled out, so that a store method renamed or changed is a type error here,
not a spooled answer that fails to replay. The spool keeps one JSON line per write,

    {"operation": "save_answer", "arguments": {"interview_id": 7, "answer": {"$answer": ...}, ...}}

the format every version has written. A line is read back field by field: a field renamed since
is found under its old name (`RENAMED`), and a line this version cannot apply (an operation or a
field it does not know, written by a newer one) is put aside in the rejected file with the
reason, never dropped and never blocking the writes behind it.
"""

from __future__ import annotations

import dataclasses
import json
import os
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

from survey_tui.model.questionnaire import Answer, SpecialAnswer
from survey_tui.store import Store, StoreError, StoreUnavailable


def default_spool_dir() -> Path:
    """Per-user state folder (XDG), where answers wait while the database is unreachable."""
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "churn-survey"


# -- the operations ----------------------------------------------------------------------------


@dataclass(frozen=True)
class SaveAnswer:
    """Store an answer (or, as a `draft`, text still being typed) to one question of an interview."""

    operation: ClassVar[str] = "save_answer"
    interview_id: int
    question_id: str
    answer: Answer
    shown_at: datetime | None = None
    answered_at: datetime | None = None
    draft: bool = False

    def apply(self, store: Store) -> None:
        store.save_answer(
            self.interview_id,
            self.question_id,
            self.answer,
            shown_at=self.shown_at,
            answered_at=self.answered_at,
            draft=self.draft,
        )


@dataclass(frozen=True)
class FinishInterview:
    """Close an interview as complete or broken off (with the agent's reason)."""

    operation: ClassVar[str] = "finish_interview"
    interview_id: int
    status: str
    reason: str | None = None
    ended_at: datetime | None = None

    def apply(self, store: Store) -> None:
        store.finish_interview(self.interview_id, self.status, reason=self.reason, ended_at=self.ended_at)


@dataclass(frozen=True)
class RecordAttempt:
    """Store a call attempt and move its case on (see Store.record_attempt).

    An attempt is not idempotent by itself; its `request_id` makes a replay of a write that did
    reach the database (its reply lost with the connection) change nothing.
    """

    operation: ClassVar[str] = "record_attempt"
    case_id: int
    agent: str
    outcome: str
    started_at: datetime
    ended_at: datetime | None = None
    aapor_code: str | None = None
    note: str | None = None
    callback_at: datetime | None = None
    final: bool = False
    max_attempts: int | None = None
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)

    def apply(self, store: Store) -> None:
        store.record_attempt(
            self.case_id,
            self.agent,
            self.outcome,
            started_at=self.started_at,
            ended_at=self.ended_at,
            aapor_code=self.aapor_code,
            note=self.note,
            callback_at=self.callback_at,
            final=self.final,
            max_attempts=self.max_attempts,
            request_id=self.request_id,
        )


Operation = SaveAnswer | FinishInterview | RecordAttempt
OPERATIONS: dict[str, type[Operation]] = {kind.operation: kind for kind in (SaveAnswer, FinishInterview, RecordAttempt)}
# Fields renamed since a spool was written: operation -> {old name: new name}. A spooled line of
# an older version replays under the new names; add a line here whenever a field is renamed.
RENAMED: dict[str, dict[str, str]] = {}


class UnreadableWrite(ValueError):
    """A spooled line this version cannot apply: an unknown operation or field, a missing field."""


# -- the spool's lines -------------------------------------------------------------------------


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, Answer):
        return {
            "$answer": {
                "value": value.value,
                "special": value.special.value if value.special else None,
                "other_text": value.other_text,
            }
        }
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict) and "$datetime" in value:
        return datetime.fromisoformat(value["$datetime"])
    if isinstance(value, dict) and "$answer" in value:
        raw = value["$answer"]
        special = SpecialAnswer(raw["special"]) if raw["special"] else None
        return Answer(value=raw["value"], special=special, other_text=raw["other_text"])
    return value


def to_line(write: Operation) -> str:
    """The spool line of a write."""
    arguments = {item.name: _encode(getattr(write, item.name)) for item in dataclasses.fields(write)}
    return json.dumps({"operation": write.operation, "arguments": arguments}, ensure_ascii=False)


def from_record(record: dict[str, Any]) -> Operation:
    """The write of a spooled line (its JSON), field by field; UnreadableWrite if it cannot be."""
    name = record.get("operation")
    kind = OPERATIONS.get(str(name))
    if kind is None:
        raise UnreadableWrite(f"unknown outbox operation {name!r}")
    renamed = RENAMED.get(kind.operation, {})
    raw: dict[str, Any] = dict(record.get("arguments") or {})
    arguments = {renamed.get(key, key): _decode(value) for key, value in raw.items()}
    known = {item.name for item in dataclasses.fields(kind)}
    unknown = sorted(set(arguments) - known)
    if unknown:
        raise UnreadableWrite(f"{kind.operation} has no field {', '.join(unknown)}")
    try:
        return kind(**arguments)
    except TypeError as error:  # a required field is missing
        raise UnreadableWrite(f"{kind.operation}: {error}") from error


def _append_synced(path: Path, line: str) -> None:
    """Append one line and make sure it is on disk before returning (owner-only file and folder)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        os.write(descriptor, (line + "\n").encode("utf-8"))
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


# -- the outbox --------------------------------------------------------------------------------


class Outbox:
    """Applies writes in order; while the store is unavailable they wait in a spool file on disk.

    The spool is appended and synced before the caller goes on, so an answer survives the
    database being down and the app being killed; it is replayed at the next start.
    """

    def __init__(self, store: Store, spool: Path) -> None:
        self.store = store
        self.spool = spool
        self.queue: list[Operation] = self._load()
        self._rewrite()  # drop a line cut short by a kill, so later appends start on a fresh line
        self.last_error: str | None = None
        # The app saves and flushes from worker threads: one write at a time, in order.
        self._lock = threading.RLock()

    @property
    def pending(self) -> int:
        return len(self.queue)

    def save_answer(
        self,
        interview_id: int,
        question_id: str,
        answer: Answer,
        *,
        shown_at: datetime | None = None,
        answered_at: datetime | None = None,
        draft: bool = False,
    ) -> bool:
        return self.submit(SaveAnswer(interview_id, question_id, answer, shown_at, answered_at, draft))

    def finish_interview(
        self, interview_id: int, status: str, *, reason: str | None = None, ended_at: datetime | None = None
    ) -> bool:
        return self.submit(FinishInterview(interview_id, status, reason, ended_at))

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
    ) -> bool:
        attempt = RecordAttempt(
            case_id,
            agent,
            outcome,
            started_at,
            ended_at=ended_at,
            aapor_code=aapor_code,
            note=note,
            callback_at=callback_at,
            final=final,
            max_attempts=max_attempts,
        )
        if request_id is not None:
            attempt = dataclasses.replace(attempt, request_id=request_id)
        return self.submit(attempt)

    def submit(self, write: Operation) -> bool:
        """Apply the write now if the store takes it; True when it is in the store."""
        if not isinstance(write, SaveAnswer | FinishInterview | RecordAttempt):
            raise TypeError(f"not an outbox operation: {write!r}")
        with self._lock:
            return self._submit(write)

    def _submit(self, write: Operation) -> bool:
        if self.queue:
            # Earlier writes are still waiting: keep the order, then try them all.
            self._append(write)
            return self._flush() == 0
        try:
            write.apply(self.store)
        except StoreUnavailable as error:
            self.last_error = str(error)
            self._append(write)
            return False
        self.last_error = None
        return True

    def flush(self) -> int:
        """Try the waiting writes in order; the number still waiting."""
        with self._lock:
            return self._flush()

    def _flush(self) -> int:
        done = 0
        try:
            for write in self.queue:
                try:
                    write.apply(self.store)
                except StoreUnavailable:
                    raise
                except StoreError as error:
                    # The store refuses this write for good (e.g. the interview was closed
                    # meanwhile): keep it aside rather than block every later write.
                    self._reject(json.loads(to_line(write)), str(error))
                done += 1
        except StoreUnavailable as error:
            self.last_error = str(error)
        else:
            self.last_error = None
        finally:
            if done:
                self.queue = self.queue[done:]
                self._rewrite()
        return len(self.queue)

    @property
    def rejected_file(self) -> Path:
        return self.spool.with_suffix(".rejected.jsonl")

    def _reject(self, record: dict[str, Any], reason: str) -> None:
        _append_synced(self.rejected_file, json.dumps({**record, "error": reason}, ensure_ascii=False))

    def _append(self, write: Operation) -> None:
        self.queue.append(write)
        _append_synced(self.spool, to_line(write))

    def _rewrite(self) -> None:
        if not self.queue:
            self.spool.unlink(missing_ok=True)
            return
        temporary = self.spool.with_suffix(".tmp")
        lines = [to_line(write) for write in self.queue]
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(descriptor, ("\n".join(lines) + "\n").encode("utf-8"))
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
        os.replace(temporary, self.spool)

    def _load(self) -> list[Operation]:
        if not self.spool.exists():
            return []
        queue = []
        for line in self.spool.read_text("utf-8", errors="replace").splitlines():
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                # A line cut short by a kill while it was written: the write never returned.
                continue
            try:
                queue.append(from_record(record))
            except UnreadableWrite as error:
                self._reject(record, str(error))
        return queue
