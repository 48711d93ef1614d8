"""Schema 3: answers saved while the agent is still typing are marked as drafts."""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("answers") as batch:
        batch.add_column(sa.Column("draft", sa.Boolean, nullable=False, server_default=sa.false()))
