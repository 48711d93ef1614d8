"""Schema 2: codes for answers (churn reasons and competitor), automatic or by a human coder."""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "answer_codes",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("answer_id", sa.Integer, sa.ForeignKey("answers.id"), nullable=False),
        sa.Column("reasons", sa.JSON, nullable=False),
        sa.Column("competitor", sa.String(20)),
        sa.Column("source", sa.String(8), nullable=False),
        sa.Column("coder", sa.String(64)),
        sa.Column("model_version", sa.String(64)),
        sa.Column("confidence", sa.Float),
        sa.Column("coded_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_answer_codes_answer_id", "answer_codes", ["answer_id"])
