"""The answer store on SQLite (embedded default) or PostgreSQL (shared by a call centre)."""

from survey_tui.store.errors import SchemaError, StoreError, StoreUnavailable
from survey_tui.store.store import (
    Case,
    CodeRecord,
    ImportResult,
    Interview,
    Store,
    StoredAnswer,
    upgrade_schema,
)
from survey_tui.store.urls import ENV_VAR, display, resolve_url

__all__ = [
    "ENV_VAR",
    "Case",
    "CodeRecord",
    "ImportResult",
    "Interview",
    "SchemaError",
    "Store",
    "StoreError",
    "StoreUnavailable",
    "StoredAnswer",
    "display",
    "resolve_url",
    "upgrade_schema",
]
