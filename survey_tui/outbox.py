"""Writes that must never be lost: applied to the store at once, or spooled to a local file and retried."""

from __future__ import annotations

import json
import os
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from survey_tui.model.questionnaire import Answer, SpecialAnswer
from survey_tui.store import Store, StoreError, StoreUnavailable

_OPERATIONS = ("save_answer", "finish_interview", "record_attempt")


def default_spool_dir() -> Path:
    """Per-user state folder (XDG), where answers wait while the database is unreachable."""
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "churn-survey"


@dataclass
class Pending:
    """One write that has not reached the store yet."""

    operation: str
    arguments: dict[str, Any]


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


def _serialise(pending: Pending) -> str:
    arguments = {key: _encode(value) for key, value in pending.arguments.items()}
    return json.dumps({"operation": pending.operation, "arguments": arguments}, ensure_ascii=False)


def _append_synced(path: Path, line: str) -> None:
    """Append one line and make sure it is on disk before returning (owner-only file and folder)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        os.write(descriptor, (line + "\n").encode("utf-8"))
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


class Outbox:
    """Applies writes in order; while the store is unavailable they wait in a spool file on disk.

    The spool is appended and synced before the caller goes on, so an answer survives the
    database being down and the app being killed; it is replayed at the next start.
    """

    def __init__(self, store: Store, spool: Path) -> None:
        self.store = store
        self.spool = spool
        self.queue: list[Pending] = self._load()
        self._rewrite()  # drop a line cut short by a kill, so later appends start on a fresh line
        self.last_error: str | None = None
        # The app saves and flushes from worker threads: one write at a time, in order.
        self._lock = threading.RLock()

    @property
    def pending(self) -> int:
        return len(self.queue)

    def save_answer(self, interview_id: int, question_id: str, answer: Answer, **options: Any) -> bool:
        return self.submit("save_answer", interview_id=interview_id, question_id=question_id, answer=answer, **options)

    def finish_interview(self, interview_id: int, status: str, **options: Any) -> bool:
        return self.submit("finish_interview", interview_id=interview_id, status=status, **options)

    def record_attempt(self, case_id: int, agent: str, outcome: str, **options: Any) -> bool:
        # An attempt is not idempotent by itself; its id makes a replay of a write that did reach
        # the database (its reply lost with the connection) change nothing.
        options.setdefault("request_id", uuid.uuid4().hex)
        return self.submit("record_attempt", case_id=case_id, agent=agent, outcome=outcome, **options)

    def submit(self, operation: str, **arguments: Any) -> bool:
        """Apply the write now if the store takes it; True when it is in the store."""
        if operation not in _OPERATIONS:
            raise ValueError(f"unknown outbox operation {operation!r}")
        with self._lock:
            return self._submit(Pending(operation, arguments))

    def _submit(self, pending: Pending) -> bool:
        if self.queue:
            # Earlier writes are still waiting: keep the order, then try them all.
            self._append(pending)
            return self._flush() == 0
        try:
            self._apply(pending)
        except StoreUnavailable as error:
            self.last_error = str(error)
            self._append(pending)
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
            for pending in self.queue:
                try:
                    self._apply(pending)
                except StoreUnavailable:
                    raise
                except StoreError as error:
                    # The store refuses this write for good (e.g. the interview was closed
                    # meanwhile): keep it aside rather than block every later write.
                    self._reject(pending, error)
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

    def _reject(self, pending: Pending, error: StoreError) -> None:
        record = json.loads(_serialise(pending))
        record["error"] = str(error)
        _append_synced(self.rejected_file, json.dumps(record, ensure_ascii=False))

    def _apply(self, pending: Pending) -> None:
        method = getattr(self.store, pending.operation)
        method(**pending.arguments)

    def _append(self, pending: Pending) -> None:
        self.queue.append(pending)
        _append_synced(self.spool, _serialise(pending))

    def _rewrite(self) -> None:
        if not self.queue:
            self.spool.unlink(missing_ok=True)
            return
        temporary = self.spool.with_suffix(".tmp")
        lines = [_serialise(p) for p in self.queue]
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(descriptor, ("\n".join(lines) + "\n").encode("utf-8"))
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
        os.replace(temporary, self.spool)

    def _load(self) -> list[Pending]:
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
            arguments = {k: _decode(v) for k, v in record["arguments"].items()}
            queue.append(Pending(record["operation"], arguments))
        return queue
