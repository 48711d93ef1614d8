"""Schema versions: a database of the previous schema is upgraded in place, with its data kept."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from survey_tui.store import SchemaError, Store, make_engine, resolve_url, schema, upgrade_schema


def make_old_database(url: str) -> None:
    """A store as schema 0001 left it, holding one case and one answer."""
    engine = make_engine(resolve_url(url))
    upgrade_schema(engine, "0001")
    now = datetime(2021, 3, 1, tzinfo=UTC)
    with engine.begin() as conn:
        conn.execute(
            schema.cases.insert().values(
                id=1,
                phone="15410000001",
                name="旧客户",
                extra={},
                imported_at=now,
                status="pending",
                attempts=0,
            )
        )
        conn.execute(
            schema.questionnaires.insert().values(
                id=1,
                name="disconnect_phone",
                version="1",
                title="t",
                content_hash="h",
                content="",
                registered_at=now,
            )
        )
        conn.execute(
            schema.interviews.insert().values(
                id=1, questionnaire_id=1, case_id=1, agent="a1", status="complete", started_at=now
            )
        )
        conn.execute(
            schema.answers.insert().values(
                id=1,
                interview_id=1,
                question_id="q3_leave_reason",
                value="太贵了",
                answered_at=now,
                change_count=0,
            )
        )
    engine.dispose()


def test_migrations_build_exactly_the_tables_the_store_uses(db_url: str) -> None:
    with Store.open(db_url) as store, store.engine.connect() as conn:
        context = MigrationContext.configure(conn)
        assert compare_metadata(context, schema.metadata) == []


def test_schema_revision_constant_is_the_migrations_head() -> None:
    config = Config()
    config.set_main_option("script_location", str(Path(schema.__file__).with_name("migrations")))
    assert ScriptDirectory.from_config(config).get_current_head() == schema.SCHEMA_REVISION


def test_previous_schema_is_upgraded_in_place_keeping_the_data(db_url: str) -> None:
    make_old_database(db_url)
    with Store.open(db_url) as store:
        assert store.upgraded_from == "0001"
        assert store.schema_revision() == schema.SCHEMA_REVISION
        assert store.get_case(1).name == "旧客户"
        answer = store.answers_for(1)["q3_leave_reason"]
        assert answer.answer.value == "太贵了"
        store.save_code(answer.id, ["price"], source="human", coder="r1")
        assert store.codes_for(answer.id)[0].reasons == ["price"]
    if "://" not in db_url:
        backup = Path(db_url).with_name("survey.db.schema0001.bak")
        with sqlite3.connect(backup) as old:
            assert old.execute("SELECT version_num FROM alembic_version").fetchone() == ("0001",)
            assert old.execute("SELECT name FROM cases").fetchone() == ("旧客户",)


def test_a_newer_schema_is_refused_not_touched(sqlite_url: str) -> None:
    Store.open(sqlite_url).close()
    with sqlite3.connect(sqlite_url) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '0099'")
    with pytest.raises(SchemaError, match="newer"):
        Store.open(sqlite_url)


def test_a_foreign_database_is_never_recreated(sqlite_url: str) -> None:
    with sqlite3.connect(sqlite_url) as conn:
        conn.execute("CREATE TABLE cases (x INTEGER)")
        conn.execute("INSERT INTO cases VALUES (42)")
    with pytest.raises(SchemaError, match="not made by churn-survey"):
        Store.open(sqlite_url)
    with sqlite3.connect(sqlite_url) as conn:
        assert conn.execute("SELECT x FROM cases").fetchall() == [(42,)]


def test_an_unreachable_postgresql_gives_a_clear_error_without_the_password() -> None:
    from survey_tui.store import StoreUnavailable

    with pytest.raises(StoreUnavailable) as raised:
        Store.open("postgresql://agent:s3cret@127.0.0.1:1/survey")
    assert "s3cret" not in str(raised.value)
    assert "127.0.0.1" in str(raised.value)
