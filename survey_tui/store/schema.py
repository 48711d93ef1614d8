"""The tables of the answer store, as of the newest schema revision."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

# The Alembic revision these tables correspond to; a test keeps it equal to the migrations' head.
SCHEMA_REVISION = "0006"


class UTCDateTime(sa.TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on SQLite (which has no time zones) and PostgreSQL."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use an aware one")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


metadata = sa.MetaData()

questionnaires = sa.Table(
    "questionnaires",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(64), nullable=False),
    sa.Column("version", sa.String(32), nullable=False),
    sa.Column("title", sa.String(200), nullable=False),
    sa.Column("content_hash", sa.String(64), nullable=False),
    # The exact source, so an interview can always be read against the instrument it used.
    sa.Column("content", sa.Text, nullable=False),
    sa.Column("registered_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("name", "version", "content_hash", name="uq_questionnaire_version_hash"),
)

cases = sa.Table(
    "cases",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("phone", sa.String(20), nullable=False, unique=True),
    sa.Column("account", sa.String(64)),
    sa.Column("name", sa.String(100)),
    sa.Column("branch", sa.String(100)),
    sa.Column("disconnect_date", sa.Date),
    sa.Column("package", sa.String(200)),
    sa.Column("extra", sa.JSON, nullable=False, default=dict),
    sa.Column("source_file", sa.String(260)),
    sa.Column("source_line", sa.Integer),
    sa.Column("imported_at", UTCDateTime, nullable=False),
    # pending: never called or back in the queue; claimed: an agent has it; callback: an
    # appointment; done: a final outcome was recorded.
    sa.Column("status", sa.String(16), nullable=False, default="pending"),
    sa.Column("claimed_by", sa.String(64)),
    sa.Column("claimed_at", UTCDateTime),
    sa.Column("callback_at", UTCDateTime),
    sa.Column("callback_agent", sa.String(64)),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("last_outcome", sa.String(40)),
    sa.Index("ix_cases_status_callback", "status", "callback_at"),
    sa.Index("ix_cases_claimed_by", "claimed_by"),
)

call_attempts = sa.Table(
    "call_attempts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("case_id", sa.Integer, sa.ForeignKey("cases.id"), nullable=False, index=True),
    sa.Column("agent", sa.String(64), nullable=False),
    sa.Column("started_at", UTCDateTime, nullable=False),
    sa.Column("ended_at", UTCDateTime),
    sa.Column("outcome", sa.String(40), nullable=False),
    sa.Column("aapor_code", sa.String(10)),
    sa.Column("note", sa.Text),
    sa.Column("callback_at", UTCDateTime),
    # The outbox's id of the write: a retry after a commit whose reply was lost adds nothing.
    sa.Column("request_id", sa.String(36)),
    sa.UniqueConstraint("request_id", name="uq_call_attempt_request"),
)

interviews = sa.Table(
    "interviews",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("questionnaire_id", sa.Integer, sa.ForeignKey("questionnaires.id"), nullable=False),
    sa.Column("case_id", sa.Integer, sa.ForeignKey("cases.id"), index=True),
    # For staff interviews, who was interviewed (a staff id); null for customer calls.
    sa.Column("interviewee", sa.String(100)),
    sa.Column("agent", sa.String(64), nullable=False, index=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("started_at", UTCDateTime, nullable=False),
    sa.Column("ended_at", UTCDateTime),
    sa.Column("current_question", sa.String(64)),
    sa.Column("break_off_reason", sa.Text),
)

answers = sa.Table(
    "answers",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("interview_id", sa.Integer, sa.ForeignKey("interviews.id"), nullable=False),
    sa.Column("question_id", sa.String(64), nullable=False),
    # none_as_null: an answer with only a special answer has SQL NULL, not JSON null, as value.
    sa.Column("value", sa.JSON(none_as_null=True)),
    sa.Column("special", sa.String(16)),
    sa.Column("other_text", sa.Text),
    sa.Column("shown_at", UTCDateTime),
    sa.Column("answered_at", UTCDateTime, nullable=False),
    sa.Column("duration_ms", sa.Integer),
    sa.Column("change_count", sa.Integer, nullable=False, default=0),
    # A draft is text saved while it is being typed; it is not yet an answer.
    sa.Column("draft", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.UniqueConstraint("interview_id", "question_id", name="uq_answer_per_question"),
)

answer_codes = sa.Table(
    "answer_codes",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("answer_id", sa.Integer, sa.ForeignKey("answers.id"), nullable=False, index=True),
    sa.Column("reasons", sa.JSON, nullable=False),
    sa.Column("competitor", sa.String(20)),
    sa.Column("source", sa.String(8), nullable=False),
    sa.Column("coder", sa.String(64)),
    sa.Column("model_version", sa.String(64)),
    sa.Column("confidence", sa.Float),
    sa.Column("coded_at", UTCDateTime, nullable=False),
    sa.Column("needs_review", sa.Boolean, nullable=False, server_default=sa.false()),
)

# Every time full phone numbers or account ids left the store on request (`--include-pii`):
# who (the operating-system user and the role of the settings), when, on which host, and what.
pii_audit = sa.Table(
    "pii_audit",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("user", sa.String(64), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("host", sa.String(100)),
    sa.Column("command", sa.String(32), nullable=False),
    sa.Column("what", sa.JSON, nullable=False),
    sa.Index("ix_pii_audit_at", "at"),
)
