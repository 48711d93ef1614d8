"""Schema 5: who saw full phone numbers (the PII audit), and call attempts that cannot be stored twice."""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

Moment = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "pii_audit",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("at", Moment, nullable=False),
        sa.Column("user", sa.String(64), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("host", sa.String(100)),
        sa.Column("command", sa.String(32), nullable=False),
        sa.Column("what", sa.JSON, nullable=False),
    )
    op.create_index("ix_pii_audit_at", "pii_audit", ["at"])
    with op.batch_alter_table("call_attempts") as batch:
        # The outbox's id of the write: a retry after a commit whose reply was lost adds nothing.
        batch.add_column(sa.Column("request_id", sa.String(36)))
        batch.create_unique_constraint("uq_call_attempt_request", ["request_id"])
