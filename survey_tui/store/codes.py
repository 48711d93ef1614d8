"""The store's codes: reasons and competitor given to answers by the model or a person, and their review."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import sqlalchemy as sa

from coding.ids import COMPETITORS, REASONS
from survey_tui.store import schema
from survey_tui.store.bulk import columns_of, decode_json, insert_many
from survey_tui.store.database import Database, guarded, insert_one, utcnow
from survey_tui.store.errors import StoreError
from survey_tui.store.records import AnswerToCode, CodedAnswer, CodeRecord, Columns, StoredCode


class Codes(Database):
    """Codes saved one by one (a reviewer) or by the million (a coding run), and read back."""

    @guarded
    def save_code(self, answer_id: int, reasons: Sequence[str], *, source: str, **details: Any) -> int:
        """Record the codes of one answer; ids are checked against the codebook."""
        return self.save_codes([CodeRecord(answer_id, tuple(reasons), source=source, **details)])[0]

    @guarded
    def save_codes(self, records: Sequence[CodeRecord]) -> list[int]:
        """Record many codes in one transaction; the new row's id when there is one record."""
        if not records:
            return []
        columns: dict[str, list[Any]] = {
            name: [getattr(record, name) for record in records] for name in CodeRecord._fields
        }
        with self._write() as conn:
            rows = self._code_rows(columns)
            if len(records) == 1:
                row = {name: values[0] for name, values in rows.items()}
                return [insert_one(conn, schema.answer_codes.insert().values(**row))]
            insert_many(conn, schema.answer_codes, rows)
            return []

    @guarded
    def save_code_columns(
        self,
        answer_ids: Sequence[int],
        reasons: Sequence[Sequence[str]],
        *,
        source: str,
        competitors: Sequence[str | None] | None = None,
        confidences: Sequence[float | None] | None = None,
        needs_review: Sequence[bool] | None = None,
        coder: str | None = None,
        model_version: str | None = None,
        per_transaction: int = 20_000,
    ) -> None:
        """Record the codes of many answers given column by column (a coding run), `per_transaction`
        at a time, so that agents writing meanwhile never wait long (20,000 take about 50 ms)."""
        count = len(answer_ids)
        columns: dict[str, list[Any]] = {
            "answer_id": list(answer_ids),
            "reasons": list(reasons),
            "competitor": list(competitors) if competitors is not None else [None] * count,
            "source": [source] * count,
            "coder": [coder] * count,
            "model_version": [model_version] * count,
            "confidence": list(confidences) if confidences is not None else [None] * count,
            "needs_review": list(needs_review) if needs_review is not None else [False] * count,
        }
        if any(len(values) != count for values in columns.values()):
            raise StoreError("every column of codes needs one value per answer")
        rows = self._code_rows(columns)
        for start in range(0, count, per_transaction):
            with self._write() as conn:
                insert_many(
                    conn,
                    schema.answer_codes,
                    {name: values[start : start + per_transaction] for name, values in rows.items()},
                )

    @staticmethod
    def _code_rows(columns: dict[str, list[Any]]) -> Columns:
        """The answer_codes columns for codes given by column, each distinct value checked once
        (a coding run stores a million codes with a few dozen distinct reason sets)."""
        reason_lists: dict[tuple[str, ...], list[str]] = {}
        for reasons in {tuple(value) for value in columns["reasons"]}:
            unknown = [reason for reason in reasons if reason not in REASONS]
            if unknown:
                raise StoreError(f"unknown reason ids {unknown}; the codebook has {list(REASONS)}")
            reason_lists[reasons] = list(dict.fromkeys(reasons))
        for competitor in set(columns["competitor"]) - {None} - set(COMPETITORS):
            raise StoreError(f"unknown competitor id {competitor!r}")
        for source in set(columns["source"]) - {"auto", "human"}:
            raise StoreError(f"a code's source is auto or human, not {source!r}")
        return {
            **columns,
            "reasons": [reason_lists[tuple(value)] for value in columns["reasons"]],
            "coded_at": [utcnow()] * len(columns["answer_id"]),
        }

    @guarded
    def codes_for(self, answer_id: int) -> list[StoredCode]:
        """Every code given to an answer, oldest first."""
        table = schema.answer_codes
        with self._read() as conn:
            rows = conn.execute(sa.select(table).where(table.c.answer_id == answer_id).order_by(table.c.id))
            return [_stored_code(row._mapping) for row in rows]

    def answers_to_code_pages(
        self,
        question_id: str,
        *,
        include_auto_coded: bool = False,
        page_rows: int = 100_000,
        companion: str | None = None,
    ) -> Iterator[list[AnswerToCode]]:
        """Confirmed answers of a question without codes (or, with `include_auto_coded`, without a
        human code), in answer id order, `page_rows` at a time: answer_id, interview_id, case_id,
        value, special and, with `companion`, `companion_value`, the confirmed value the same
        interview gave to that question (None when unanswered or a special answer). Human codes
        are never redone.

        One query however many pages: PostgreSQL plans its joins once (paging by LIMIT had it
        scan the answers again for every page). While the pages are read, codes may be written
        on another connection; the answers read are those without codes when the query began.
        """
        query = self._to_code_query(question_id, include_auto_coded, companion)
        try:
            with self._read() as conn:
                result = conn.execution_options(stream_results=True, yield_per=page_rows).execute(query)
                for page in result.partitions():
                    yield _to_code(page, companion is not None)
        except sa.exc.DBAPIError as error:
            raise self.translate(error) from error

    @staticmethod
    def _to_code_query(question_id: str, include_auto_coded: bool, companion: str | None) -> sa.Select[Any]:
        answers, interviews, codes = schema.answers, schema.interviews, schema.answer_codes
        coded = sa.select(codes.c.answer_id).where(codes.c.answer_id == answers.c.id)
        if include_auto_coded:
            coded = coded.where(codes.c.source == "human")
        # Values come as their JSON text and are decoded once per distinct text: answers repeat.
        columns = [
            answers.c.id.label("answer_id"),
            answers.c.interview_id,
            interviews.c.case_id,
            sa.cast(answers.c.value, sa.Text).label("value"),
            answers.c.special,
        ]
        source = answers.join(interviews, interviews.c.id == answers.c.interview_id)
        if companion is not None:
            other = answers.alias("companion")
            columns.append(sa.cast(other.c.value, sa.Text).label("companion_value"))
            source = source.outerjoin(
                other,
                sa.and_(
                    other.c.interview_id == answers.c.interview_id,
                    other.c.question_id == companion,
                    other.c.draft.is_(False),
                    other.c.special.is_(None),
                ),
            )
        return (
            sa.select(*columns)
            .select_from(source)
            # NOT EXISTS rather than NOT IN: PostgreSQL turns it into an anti-join however many
            # codes there are already.
            .where(
                answers.c.question_id == question_id,
                answers.c.draft.is_(False),
                ~sa.exists(coded),
            )
            .order_by(answers.c.id)
        )

    @guarded
    def latest_codes(self, *, source: str | None = None, coder: str | None = None) -> dict[int, CodedAnswer]:
        """answer id -> its newest code (optionally of one source or one coder), with the answer."""
        codes = schema.answer_codes
        newest = sa.select(sa.func.max(codes.c.id)).group_by(codes.c.answer_id)
        if source is not None:
            newest = newest.where(codes.c.source == source)
        if coder is not None:
            newest = newest.where(codes.c.coder == coder)
        with self._read() as conn:
            found = [_coded_answer(row._mapping) for row in conn.execute(_with_answers(codes.c.id.in_(newest)))]
        return {coded.code.answer_id: coded for coded in found}

    @guarded
    def latest_code_columns(self, *, source: str) -> Columns:
        """The newest code of each answer coded by `source`: answer_id, reasons, competitor, by column."""
        codes = schema.answer_codes
        newest = sa.select(sa.func.max(codes.c.id)).where(codes.c.source == source).group_by(codes.c.answer_id)
        query = sa.select(
            codes.c.answer_id, sa.cast(codes.c.reasons, sa.Text).label("reasons"), codes.c.competitor
        ).where(codes.c.id.in_(newest))
        with self._read() as conn:
            columns = columns_of(conn.execute(query))
        columns["reasons"] = decode_json(columns["reasons"])
        return columns

    @guarded
    def review_queue(self, limit: int = 500) -> list[CodedAnswer]:
        """Automatic codes flagged for review with no human code yet, least confident first."""
        codes = schema.answer_codes
        human = sa.select(codes.c.answer_id).where(codes.c.source == "human")
        newest = sa.select(sa.func.max(codes.c.id)).where(codes.c.source == "auto").group_by(codes.c.answer_id)
        query = (
            _with_answers(codes.c.id.in_(newest), codes.c.needs_review.is_(True), codes.c.answer_id.not_in(human))
            .order_by(codes.c.confidence, codes.c.id)
            .limit(limit)
        )
        with self._read() as conn:
            return [_coded_answer(row._mapping) for row in conn.execute(query)]


def _with_answers(*where: Any) -> sa.Select[Any]:
    """Codes with their answer's text, question and interview."""
    codes, answers = schema.answer_codes, schema.answers
    return (
        sa.select(codes, answers.c.value.label("text"), answers.c.question_id, answers.c.interview_id)
        .select_from(codes.join(answers, answers.c.id == codes.c.answer_id))
        .where(*where)
    )


_CODE_FIELDS = tuple(StoredCode.__dataclass_fields__)


def _stored_code(data: Any) -> StoredCode:
    return StoredCode(**{name: data[name] for name in _CODE_FIELDS})


def _coded_answer(data: Any) -> CodedAnswer:
    return CodedAnswer(_stored_code(data), data["text"], data["question_id"], data["interview_id"])


def _to_code(page: Sequence[Any], companion: bool) -> list[AnswerToCode]:
    """A page of answers to code, their values (and companions') decoded once per distinct text."""
    values = decode_json([row.value for row in page])
    others = decode_json([row.companion_value for row in page]) if companion else [None] * len(page)
    return [
        AnswerToCode(row.answer_id, row.interview_id, row.case_id, value, row.special, other)
        for row, value, other in zip(page, values, others, strict=True)
    ]
