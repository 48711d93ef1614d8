"""Schema 6: JSON stored readably, as UTF-8 text: 移动送的 where rows written before held \\u79fb\\u52a8...

The tables are the same; the rows written by earlier versions, whose JSON escaped every
character beyond ASCII, are rewritten in place (each value decoded and encoded again, so keys
keep their order and only the escapes change).
"""

import json

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# The JSON columns that can hold text (answer_codes.reasons holds ASCII ids only).
COLUMNS = (("answers", "value"), ("cases", "extra"), ("pii_audit", "what"))
PAGE_ROWS = 10_000


def upgrade() -> None:
    conn = op.get_bind()
    # PostgreSQL's json type takes the text as it is; SQLite keeps JSON as text already.
    new_value = "CAST(:value AS json)" if conn.dialect.name == "postgresql" else ":value"
    for table, column in COLUMNS:
        # Only rows with an escape can change; "!" escapes nothing here, so the backslash is literal.
        select = sa.text(
            f"SELECT id, CAST({column} AS TEXT) FROM {table} "
            f"WHERE id > :after AND CAST({column} AS TEXT) LIKE :escaped ESCAPE '!' ORDER BY id LIMIT {PAGE_ROWS}"
        )
        update = sa.text(f"UPDATE {table} SET {column} = {new_value} WHERE id = :id")
        after = 0
        while rows := conn.execute(select, {"after": after, "escaped": "%\\u%"}).all():
            changed = []
            for row_id, text in rows:
                readable = json.dumps(json.loads(text), ensure_ascii=False)
                if readable != text:
                    changed.append({"id": row_id, "value": readable})
            if changed:
                conn.execute(update, changed)
            after = rows[-1][0]
