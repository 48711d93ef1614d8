"""Answers and other JSON read as written in the database itself: 移动送的, never \\u79fb\\u52a8\\u9001."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from survey_tui.model import Answer, load_questionnaire
from survey_tui.store import Store, resolve_url, schema, upgrade_schema
from tests.conftest import ROOT
from tests.test_store import rows

SAID = "移动送的宽带，电信太贵了"


def raw(url: str, query: str) -> list[str]:
    """Column values as the database holds them, read past the store (a researcher's own SQL)."""
    engine = sa.create_engine(resolve_url(url))
    try:
        with engine.connect() as conn:
            return [str(value) for (value,) in conn.execute(sa.text(query))]
    finally:
        engine.dispose()


def test_a_stored_chinese_answer_reads_as_chinese_in_the_database(db_url: str) -> None:
    with Store.open(db_url) as store:
        store.import_cases(rows(1))
        case = store.claim_next_case("a1")
        questionnaire_id = store.register_questionnaire(
            load_questionnaire(ROOT / "questionnaires" / "disconnect_phone.yaml")
        )
        interview = store.start_interview(questionnaire_id, "a1", case_id=case.id)
        store.save_answer(interview, "q3_leave_reason", Answer(SAID))
        store.save_answer(interview, "q5_factors", Answer(["price", "其他"]))
        store.record_pii_disclosure(user="研究员", role="researcher", command="export", what={"filters": "大祥支局"})
    values = raw(db_url, "SELECT CAST(value AS TEXT) FROM answers ORDER BY id")
    assert values == [f'"{SAID}"', '["price", "其他"]']
    assert raw(db_url, "SELECT CAST(extra AS TEXT) FROM cases") == ['{"备注": "虚构数据"}']
    assert raw(db_url, "SELECT CAST(what AS TEXT) FROM pii_audit") == ['{"filters": "大祥支局"}']


def test_rows_written_escaped_before_schema_6_are_made_readable_in_place(db_url: str) -> None:
    # An engine with SQLAlchemy's default serializer writes JSON as schema 5 stores did.
    old = sa.create_engine(resolve_url(db_url))
    upgrade_schema(old, "0005")
    now = datetime(2021, 3, 1, tzinfo=UTC)
    with old.begin() as conn:
        conn.execute(
            schema.cases.insert().values(
                id=1, phone="15410000001", extra={"套餐": "融合", "a": 1}, imported_at=now, status="pending", attempts=0
            )
        )
        conn.execute(
            schema.questionnaires.insert().values(
                id=1, name="q", version="1", title="t", content_hash="h", content="", registered_at=now
            )
        )
        conn.execute(
            schema.interviews.insert().values(
                id=1, questionnaire_id=1, case_id=1, agent="a1", status="complete", started_at=now
            )
        )
        for number, value in enumerate([SAID, ["移动", "price"], 3, "typed \\u005c by hand"], start=1):
            conn.execute(
                schema.answers.insert().values(
                    id=number, interview_id=1, question_id=f"q{number}", value=value, answered_at=now, change_count=0
                )
            )
    old.dispose()
    assert "\\u79fb" in raw(db_url, "SELECT CAST(value AS TEXT) FROM answers WHERE id = 1")[0]

    with Store.open(db_url) as store:
        assert store.upgraded_from == "0005"
        assert store.answers_for(1)["q4"].answer.value == "typed \\u005c by hand"
    assert raw(db_url, "SELECT CAST(value AS TEXT) FROM answers ORDER BY id") == [
        f'"{SAID}"',
        '["移动", "price"]',
        "3",
        '"typed \\\\u005c by hand"',
    ]
    assert raw(db_url, "SELECT CAST(extra AS TEXT) FROM cases") == ['{"套餐": "融合", "a": 1}']
