"""Schema 4: an automatic code records whether it should be reviewed by a person."""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("answer_codes") as batch:
        batch.add_column(sa.Column("needs_review", sa.Boolean, nullable=False, server_default=sa.false()))
