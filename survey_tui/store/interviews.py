"""The store's interviews: the instruments used, interviews begun and ended, answers saved and read."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from survey_tui.model.questionnaire import Answer, Questionnaire, SpecialAnswer
from survey_tui.store import schema
from survey_tui.store.bulk import columns_of, decode_json
from survey_tui.store.cases import check_agent
from survey_tui.store.database import IN_CHUNK, Database, clean_text, duration_ms, guarded, insert_one, utcnow
from survey_tui.store.errors import StoreError
from survey_tui.store.records import Begun, Columns, Interview, RegisteredQuestionnaire, StoredAnswer

INTERVIEW_STATUSES = ("in_progress", "complete", "break_off")


class Interviews(Database):
    """Instruments registered, interviews begun, resumed and ended, and their answers."""

    # -- instruments ---------------------------------------------------------------------------

    @guarded
    def register_questionnaire(self, questionnaire: Questionnaire) -> int:
        """The row id for this exact instrument (id, version, content), adding it when new."""
        table = schema.questionnaires
        key = sa.and_(
            table.c.name == questionnaire.id,
            table.c.version == questionnaire.version,
            table.c.content_hash == questionnaire.content_hash,
        )
        content = questionnaire.content
        if content is None:
            content = questionnaire.source.read_text("utf-8-sig") if questionnaire.source else ""
        row = {
            "name": questionnaire.id,
            "version": questionnaire.version,
            "title": questionnaire.title,
            "content_hash": questionnaire.content_hash,
            "content": content,
        }
        try:
            with self._write() as conn:
                found = conn.execute(sa.select(table.c.id).where(key)).scalar()
                if found is not None:
                    return int(found)
                return insert_one(conn, table.insert().values(**row, registered_at=utcnow()))
        except sa.exc.IntegrityError:
            # Agents starting at the same moment on PostgreSQL: another one registered it first.
            with self._read() as conn:
                found = conn.execute(sa.select(table.c.id).where(key)).scalar()
            if found is None:
                raise
            return int(found)

    @guarded
    def list_questionnaires(self, name: str | None = None) -> list[RegisteredQuestionnaire]:
        """The instruments registered (all, or those of one id), oldest first, with their source."""
        table = schema.questionnaires
        query = sa.select(table).order_by(table.c.id)
        if name is not None:
            query = query.where(table.c.name == name)
        with self._read() as conn:
            return [RegisteredQuestionnaire(**row._mapping) for row in conn.execute(query)]

    # -- interviews and answers --------------------------------------------------------------

    @guarded
    def start_interview(
        self,
        questionnaire_id: int,
        agent: str,
        *,
        case_id: int | None = None,
        interviewee: str | None = None,
        started_at: datetime | None = None,
    ) -> int:
        check_agent(agent)
        with self._write() as conn:
            return insert_one(
                conn,
                schema.interviews.insert().values(
                    questionnaire_id=questionnaire_id,
                    agent=agent,
                    case_id=case_id,
                    interviewee=clean_text(interviewee),
                    status="in_progress",
                    started_at=started_at or utcnow(),
                ),
            )

    @guarded
    def begin_interview(self, questionnaire_id: int, agent: str, *, case_id: int | None = None) -> Begun:
        """The interview to go on with, in one transaction: for a case, its newest unfinished
        interview (in progress, or broken off and reopened); for a staff interview (no case), the
        agent's newest unfinished one of this instrument; else a new interview."""
        check_agent(agent)
        table = schema.interviews
        if case_id is not None:
            mine = sa.and_(table.c.case_id == case_id, table.c.status.in_(("in_progress", "break_off")))
        else:
            mine = sa.and_(
                table.c.case_id.is_(None),
                table.c.questionnaire_id == questionnaire_id,
                table.c.agent == agent,
                table.c.status != "complete",
            )
        with self._write() as conn:
            found = conn.execute(sa.select(table.c.id).where(mine).order_by(table.c.id.desc()).limit(1)).scalar()
            if found is not None:
                conn.execute(
                    table.update()
                    .where(table.c.id == found, table.c.status == "break_off")
                    .values(status="in_progress", ended_at=None)
                )
                return Begun(int(found), resumed=True)
            new = insert_one(
                conn,
                table.insert().values(
                    questionnaire_id=questionnaire_id,
                    agent=agent,
                    case_id=case_id,
                    status="in_progress",
                    started_at=utcnow(),
                ),
            )
        return Begun(new, resumed=False)

    @guarded
    def get_interview(self, interview_id: int) -> Interview | None:
        with self._read() as conn:
            row = conn.execute(sa.select(schema.interviews).where(schema.interviews.c.id == interview_id)).first()
        return Interview(**row._mapping) if row is not None else None

    @guarded
    def open_interview(self, case_id: int) -> Interview | None:
        """The newest unfinished interview of a case (in progress or broken off), to resume."""
        table = schema.interviews
        with self._read() as conn:
            row = conn.execute(
                sa.select(table)
                .where(table.c.case_id == case_id, table.c.status.in_(("in_progress", "break_off")))
                .order_by(table.c.id.desc())
                .limit(1)
            ).first()
        return Interview(**row._mapping) if row is not None else None

    @guarded
    def list_interviews(
        self, *, agent: str | None = None, status: str | None = None, case_id: int | None = None
    ) -> list[Interview]:
        table = schema.interviews
        query = sa.select(table).order_by(table.c.id)
        if agent is not None:
            query = query.where(table.c.agent == agent)
        if status is not None:
            query = query.where(table.c.status == status)
        if case_id is not None:
            query = query.where(table.c.case_id == case_id)
        with self._read() as conn:
            return [Interview(**row._mapping) for row in conn.execute(query)]

    @guarded
    def save_answer(
        self,
        interview_id: int,
        question_id: str,
        answer: Answer,
        *,
        shown_at: datetime | None = None,
        answered_at: datetime | None = None,
        draft: bool = False,
    ) -> StoredAnswer:
        """Store an answer durably before returning.

        A `draft` is text saved while it is still being typed, so that a crash loses nothing; it
        becomes the answer when saved without `draft`. Changing a confirmed answer counts one
        change; the drafts and confirmation of one edit count once.
        """
        answered_at = answered_at or utcnow()
        values = {
            "value": clean_text(answer.value) if answer.special is None else None,
            "special": answer.special.value if answer.special is not None else None,
            "other_text": clean_text(answer.other_text),
        }
        table = schema.answers
        with self._write() as conn:
            status = conn.execute(
                sa.select(schema.interviews.c.status).where(schema.interviews.c.id == interview_id)
            ).scalar()
            if status is None:
                raise StoreError(f"there is no interview {interview_id}")
            if status == "complete":
                raise StoreError(f"interview {interview_id} is complete; its answers are final")
            row = conn.execute(
                sa.select(table).where(table.c.interview_id == interview_id, table.c.question_id == question_id)
            ).first()
            if row is None:
                conn.execute(
                    table.insert().values(
                        interview_id=interview_id,
                        question_id=question_id,
                        shown_at=shown_at,
                        answered_at=answered_at,
                        duration_ms=None if draft else duration_ms(shown_at, answered_at),
                        change_count=0,
                        draft=draft,
                        **values,
                    )
                )
            else:
                same = all(getattr(row, key) == value for key, value in values.items())
                changed = not row.draft and not same
                shown = row.shown_at or shown_at
                conn.execute(
                    table.update()
                    .where(table.c.id == row.id)
                    .values(
                        answered_at=answered_at,
                        change_count=row.change_count + (1 if changed else 0),
                        shown_at=shown,
                        duration_ms=row.duration_ms
                        if row.duration_ms is not None or draft
                        else duration_ms(shown, answered_at),
                        draft=draft,
                        **values,
                    )
                )
            conn.execute(
                schema.interviews.update()
                .where(schema.interviews.c.id == interview_id)
                .values(current_question=question_id)
            )
            stored = conn.execute(
                sa.select(table).where(table.c.interview_id == interview_id, table.c.question_id == question_id)
            ).one()
        return _stored_answer(stored)

    @guarded
    def answers_for(self, interview_id: int) -> dict[str, StoredAnswer]:
        table = schema.answers
        with self._read() as conn:
            rows = conn.execute(sa.select(table).where(table.c.interview_id == interview_id).order_by(table.c.id))
            return {row.question_id: _stored_answer(row) for row in rows}

    @guarded
    def finish_interview(
        self,
        interview_id: int,
        status: str,
        *,
        reason: str | None = None,
        ended_at: datetime | None = None,
    ) -> None:
        """Close an interview as complete or broken off (a break-off keeps its answers)."""
        if status not in ("complete", "break_off"):
            raise StoreError(f"an interview ends as complete or break_off, not {status!r}")
        with self._write() as conn:
            conn.execute(
                schema.interviews.update()
                .where(schema.interviews.c.id == interview_id)
                .values(status=status, ended_at=ended_at or utcnow(), break_off_reason=clean_text(reason))
            )

    @guarded
    def resume_interview(self, interview_id: int) -> None:
        """Reopen a broken-off interview to go on where it stopped."""
        with self._write() as conn:
            conn.execute(
                schema.interviews.update()
                .where(schema.interviews.c.id == interview_id, schema.interviews.c.status == "break_off")
                .values(status="in_progress", ended_at=None)
            )

    def _interviews_query(self, questionnaire_name: str | None) -> sa.Select[Any]:
        interviews, cases, questionnaires = schema.interviews, schema.cases, schema.questionnaires
        query = (
            sa.select(
                interviews.c.id.label("interview_id"),
                interviews.c.case_id,
                interviews.c.agent,
                interviews.c.status,
                interviews.c.started_at,
                interviews.c.ended_at,
                interviews.c.interviewee,
                questionnaires.c.name.label("questionnaire"),
                questionnaires.c.version.label("questionnaire_version"),
                cases.c.phone,
                cases.c.account,
                cases.c.branch,
                cases.c.disconnect_date,
                cases.c.package,
            )
            .select_from(
                interviews.join(questionnaires, questionnaires.c.id == interviews.c.questionnaire_id).outerjoin(
                    cases, cases.c.id == interviews.c.case_id
                )
            )
            .order_by(interviews.c.id)
        )
        if questionnaire_name is not None:
            query = query.where(questionnaires.c.name == questionnaire_name)
        return query

    @guarded
    def interview_columns(self, questionnaire_name: str | None = None) -> Columns:
        """Every interview (of one instrument, or all) with its instrument and the case's fields,
        column by column: a million interviews take a fraction of the memory of their records."""
        with self._read() as conn:
            return columns_of(conn.execute(self._interviews_query(questionnaire_name)))

    def _answers_query(self, questionnaire_name: str | None, question_id: str | None) -> sa.Select[Any]:
        answers, interviews, questionnaires = schema.answers, schema.interviews, schema.questionnaires
        query = (
            sa.select(
                answers.c.interview_id,
                answers.c.id.label("answer_id"),
                answers.c.question_id,
                # As JSON text, decoded once per distinct text (_decode_json): answers repeat.
                sa.cast(answers.c.value, sa.Text).label("value"),
                answers.c.special,
                answers.c.other_text,
            )
            .select_from(
                answers.join(interviews, interviews.c.id == answers.c.interview_id).join(
                    questionnaires, questionnaires.c.id == interviews.c.questionnaire_id
                )
            )
            .where(answers.c.draft.is_(False))
            .order_by(answers.c.id)
        )
        if questionnaire_name is not None:
            query = query.where(questionnaires.c.name == questionnaire_name)
        if question_id is not None:
            query = query.where(answers.c.question_id == question_id)
        return query

    @guarded
    def answer_columns(self, questionnaire_name: str | None, question_id: str) -> Columns:
        """The confirmed answers to one question (of one instrument, or of all), column by column:
        interview_id, answer_id, question_id, value, special, other_text."""
        with self._read() as conn:
            columns = columns_of(conn.execute(self._answers_query(questionnaire_name, question_id)))
        columns["value"] = decode_json(columns["value"])
        return columns

    @guarded
    def question_ids(self, questionnaire_name: str) -> list[str]:
        """The ids of the questions that confirmed answers of an instrument's interviews are to."""
        answers, interviews, questionnaires = schema.answers, schema.interviews, schema.questionnaires
        query = (
            sa.select(answers.c.question_id)
            .select_from(
                answers.join(interviews, interviews.c.id == answers.c.interview_id).join(
                    questionnaires, questionnaires.c.id == interviews.c.questionnaire_id
                )
            )
            .where(questionnaires.c.name == questionnaire_name, answers.c.draft.is_(False))
            .group_by(answers.c.question_id)
            .order_by(sa.func.min(answers.c.id))
        )
        with self._read() as conn:
            return list(conn.execute(query).scalars())

    @guarded
    def question_values(self, question_id: str, interview_ids: Iterable[int] | None = None) -> dict[int, Any]:
        """interview id -> the confirmed value given to `question_id` (special answers left out),
        for every interview or for those of `interview_ids`."""
        answers = schema.answers
        query = sa.select(answers.c.interview_id, answers.c.value).where(
            answers.c.question_id == question_id, answers.c.draft.is_(False), answers.c.special.is_(None)
        )
        with self._read() as conn:
            if interview_ids is None:
                return {interview_id: value for interview_id, value in conn.execute(query)}
            wanted = sorted(set(interview_ids))
            values: dict[int, Any] = {}
            for start in range(0, len(wanted), IN_CHUNK):
                chunk = wanted[start : start + IN_CHUNK]
                rows = conn.execute(query.where(answers.c.interview_id.in_(chunk)))
                values.update({interview_id: value for interview_id, value in rows})
            return values


def _stored_answer(row: sa.Row[Any]) -> StoredAnswer:
    return StoredAnswer(
        id=row.id,
        question_id=row.question_id,
        answer=Answer(
            value=row.value,
            special=SpecialAnswer(row.special) if row.special else None,
            other_text=row.other_text,
        ),
        shown_at=row.shown_at,
        answered_at=row.answered_at,
        duration_ms=row.duration_ms,
        change_count=row.change_count,
        draft=bool(row.draft),
    )
