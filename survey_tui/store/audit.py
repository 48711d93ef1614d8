"""The store's audit of personal data: every time full phone numbers or accounts left the store."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from survey_tui.store import schema
from survey_tui.store.database import Database, guarded, insert_one, utcnow
from survey_tui.store.records import AuditEntry, Disclosure


class Audit(Database):
    """Disclosures recorded before they happen (`--include-pii`), and listed for supervisors."""

    @guarded
    def record_pii_disclosure(
        self, *, user: str, role: str, command: str, what: dict[str, Any], host: str | None = None
    ) -> int:
        """Note that full phone numbers or accounts leave the store: who, when, where, what."""
        with self._write() as conn:
            return insert_one(
                conn,
                schema.pii_audit.insert().values(
                    at=utcnow(),
                    user=user[:64],
                    role=role,
                    host=host[:100] if host else None,
                    command=command,
                    what=what,
                ),
            )

    def record_disclosure(self, disclosure: Disclosure, what: dict[str, Any]) -> int:
        """Record `disclosure` with `what` is given out (counts, filters, the file): first, so that
        if this fails nothing is shown or written."""
        return self.record_pii_disclosure(
            user=disclosure.user,
            role=disclosure.role,
            host=disclosure.host,
            command=disclosure.command,
            what={**what, **disclosure.extra},
        )

    @guarded
    def pii_audit(self, *, limit: int | None = None) -> list[AuditEntry]:
        """The audit of disclosures, newest first."""
        table = schema.pii_audit
        query = sa.select(table).order_by(table.c.id.desc())
        if limit is not None:
            query = query.limit(limit)
        with self._read() as conn:
            return [AuditEntry(**row._mapping) for row in conn.execute(query)]
