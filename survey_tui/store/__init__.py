"""The answer store on SQLite (embedded default) or PostgreSQL (shared by a call centre)."""

from survey_tui.store.database import make_engine, upgrade_schema
from survey_tui.store.errors import SchemaError, StoreError, StoreUnavailable
from survey_tui.store.records import (
    AnswerToCode,
    Attempt,
    AuditEntry,
    Begun,
    CallListRow,
    Case,
    CaseAttempts,
    CodedAnswer,
    CodeRecord,
    Columns,
    Disclosure,
    ImportResult,
    Interview,
    RegisteredQuestionnaire,
    SkippedRow,
    StoredAnswer,
    StoredCode,
)
from survey_tui.store.store import Store
from survey_tui.store.urls import ENV_VAR, display, resolve_url

__all__ = [
    "ENV_VAR",
    "AnswerToCode",
    "Attempt",
    "AuditEntry",
    "Begun",
    "CallListRow",
    "Case",
    "CaseAttempts",
    "CodeRecord",
    "CodedAnswer",
    "Columns",
    "Disclosure",
    "ImportResult",
    "Interview",
    "RegisteredQuestionnaire",
    "SchemaError",
    "SkippedRow",
    "Store",
    "StoreError",
    "StoreUnavailable",
    "StoredAnswer",
    "StoredCode",
    "display",
    "make_engine",
    "resolve_url",
    "upgrade_schema",
]
