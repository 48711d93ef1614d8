"""Schema 1: questionnaires, the call list, call attempts, interviews and answers."""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

Moment = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "questionnaires",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("version", sa.String(32), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("content", sa.Text, nullable=False),
        sa.Column("registered_at", Moment, nullable=False),
        sa.UniqueConstraint("name", "version", "content_hash", name="uq_questionnaire_version_hash"),
    )
    op.create_table(
        "cases",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("phone", sa.String(20), nullable=False, unique=True),
        sa.Column("account", sa.String(64)),
        sa.Column("name", sa.String(100)),
        sa.Column("branch", sa.String(100)),
        sa.Column("disconnect_date", sa.Date),
        sa.Column("package", sa.String(200)),
        sa.Column("extra", sa.JSON, nullable=False),
        sa.Column("source_file", sa.String(260)),
        sa.Column("source_line", sa.Integer),
        sa.Column("imported_at", Moment, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("claimed_by", sa.String(64)),
        sa.Column("claimed_at", Moment),
        sa.Column("callback_at", Moment),
        sa.Column("callback_agent", sa.String(64)),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("last_outcome", sa.String(40)),
    )
    op.create_index("ix_cases_status_callback", "cases", ["status", "callback_at"])
    op.create_index("ix_cases_claimed_by", "cases", ["claimed_by"])
    op.create_table(
        "call_attempts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("case_id", sa.Integer, sa.ForeignKey("cases.id"), nullable=False),
        sa.Column("agent", sa.String(64), nullable=False),
        sa.Column("started_at", Moment, nullable=False),
        sa.Column("ended_at", Moment),
        sa.Column("outcome", sa.String(40), nullable=False),
        sa.Column("aapor_code", sa.String(10)),
        sa.Column("note", sa.Text),
        sa.Column("callback_at", Moment),
    )
    op.create_index("ix_call_attempts_case_id", "call_attempts", ["case_id"])
    op.create_table(
        "interviews",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("questionnaire_id", sa.Integer, sa.ForeignKey("questionnaires.id"), nullable=False),
        sa.Column("case_id", sa.Integer, sa.ForeignKey("cases.id")),
        sa.Column("interviewee", sa.String(100)),
        sa.Column("agent", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("started_at", Moment, nullable=False),
        sa.Column("ended_at", Moment),
        sa.Column("current_question", sa.String(64)),
        sa.Column("break_off_reason", sa.Text),
    )
    op.create_index("ix_interviews_case_id", "interviews", ["case_id"])
    op.create_index("ix_interviews_agent", "interviews", ["agent"])
    op.create_table(
        "answers",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("interview_id", sa.Integer, sa.ForeignKey("interviews.id"), nullable=False),
        sa.Column("question_id", sa.String(64), nullable=False),
        sa.Column("value", sa.JSON),
        sa.Column("special", sa.String(16)),
        sa.Column("other_text", sa.Text),
        sa.Column("shown_at", Moment),
        sa.Column("answered_at", Moment, nullable=False),
        sa.Column("duration_ms", sa.Integer),
        sa.Column("change_count", sa.Integer, nullable=False),
        sa.UniqueConstraint("interview_id", "question_id", name="uq_answer_per_question"),
    )
