"""The store under hostile conditions: damaged or foreign files, power loss, odd text, agents' isolation."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from survey_tui.cli import cli
from survey_tui.model import Answer
from survey_tui.store import SchemaError, Store, StoreError
from tests.test_store import rows


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# -- power loss ---------------------------------------------------------------------------------


def test_every_connection_commits_durably(tmp_path: Path) -> None:
    """WAL with synchronous FULL on each pooled connection, not just the first one opened."""
    path = tmp_path / "survey.db"
    with Store.open(path) as store:
        with store.engine.connect() as first, store.engine.connect() as second:
            for conn in (first, second):
                assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
                assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL: fsync on every commit
                assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        store.import_cases(rows(1))
    # WAL mode is a property of the file: a plain sqlite3 reader finds it too.
    with sqlite3.connect(path) as plain:
        assert plain.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_a_commit_is_in_the_file_before_the_store_returns(tmp_path: Path) -> None:
    """A second, independent connection sees an answer as soon as save_answer returns."""
    path = tmp_path / "survey.db"
    with Store.open(path) as store:
        store.import_cases(rows(1))
        case = store.claim_next_case("a1")
        assert case is not None
        questionnaire_id = store.register_questionnaire(_questionnaire())
        interview = store.start_interview(questionnaire_id, "a1", case_id=case.id)
        store.save_answer(interview, "q3_leave_reason", Answer("网速慢"))
        with sqlite3.connect(path) as other:
            [(value,)] = other.execute("SELECT value FROM answers").fetchall()
            assert json.loads(value) == "网速慢"


# -- damaged and foreign files ------------------------------------------------------------------

FOREIGN = {
    "random bytes": os.urandom(4096),
    "a text file": "手机号,姓名\n15400000001,张三\n".encode(),
    "a zip file": b"PK\x03\x04" + b"\x00" * 200,
    "a truncated database": None,  # made in the test from a real store
}


@pytest.mark.parametrize("kind", list(FOREIGN))
def test_a_damaged_or_foreign_file_is_refused_and_left_as_it_was(kind: str, tmp_path: Path) -> None:
    path = tmp_path / "survey.db"
    content = FOREIGN[kind]
    if content is None:
        with Store.open(path) as store:
            store.import_cases(rows(50))
        content = path.read_bytes()[:1500]  # the header survives, the pages do not
        for extra in ("-wal", "-shm"):
            Path(f"{path}{extra}").unlink(missing_ok=True)
    path.write_bytes(content)
    result = CliRunner().invoke(cli, ["--db", str(path), "db", "info"])
    assert result.exit_code == 1, result.output
    assert "left untouched" in result.output and str(path) in result.output
    assert "Traceback" not in result.output
    assert path.read_bytes() == content
    assert not Path(f"{path}.schema0004.bak").exists()


def test_another_programs_sqlite_database_is_not_touched(tmp_path: Path) -> None:
    path = tmp_path / "crm.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, phone TEXT)")
        conn.execute("INSERT INTO customers (phone) VALUES ('15400000001')")
    before = path.read_bytes()
    with pytest.raises(SchemaError, match=r"customers.*not made by churn-survey"):
        Store.open(path)
    result = CliRunner().invoke(cli, ["--db", str(path), "sample", "import", "data/demo_call_list.csv"])
    assert result.exit_code == 1 and "left untouched" in result.output
    assert path.read_bytes() == before
    with sqlite3.connect(path) as conn:
        assert [row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")] == ["customers"]


def test_another_programs_alembic_revision_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)")
        conn.execute("INSERT INTO alembic_version VALUES ('3fa9c1d2e7b0')")
    with pytest.raises(SchemaError, match="not a churn-survey schema"):
        Store.open(path)


def test_an_empty_file_becomes_a_new_store(tmp_path: Path) -> None:
    """Zero bytes is how SQLite starts a database; it is not someone else's data."""
    path = tmp_path / "survey.db"
    path.touch()
    with Store.open(path) as store:
        assert store.import_cases(rows(1)).imported == 1


# -- files readable by their owner only ---------------------------------------------------------


def test_the_database_its_journal_and_its_backups_are_owner_only(tmp_path: Path) -> None:
    from tests.test_migrations import make_old_database

    old_umask = os.umask(0o022)
    try:
        path = tmp_path / "survey.db"
        make_old_database(str(path))
        os.chmod(path, 0o600)  # as a store of this program made it
        with Store.open(path) as store:
            assert store.upgraded_from == "0001"
            store.import_cases(rows(1))
            wal = Path(f"{path}-wal")
            shm = Path(f"{path}-shm")
            assert wal.exists() and shm.exists()
            assert mode(path) == mode(wal) == mode(shm) == 0o600
        assert mode(tmp_path / "survey.db.schema0001.bak") == 0o600
        fresh = tmp_path / "fresh.db"
        Store.open(fresh).close()
        assert mode(fresh) == 0o600
    finally:
        os.umask(old_umask)


# -- text the database must keep as typed -------------------------------------------------------

ODD_ANSWERS = {
    "empty after trimming": "   ",
    "20,000 characters": "网速慢，" * 5000,
    "control characters": "第一行\n第二行\t制表\x07响铃\x1b[31m红\x00空",
    "emoji": "太贵了😡👎🏻，换移动了📱",
    "SQL": "'); DROP TABLE answers; -- \" OR 1=1 /* 移动 */",
    "formula": '=HYPERLINK("http://example.invalid","点我")',
}


@pytest.mark.parametrize("kind", list(ODD_ANSWERS))
def test_odd_answers_round_trip_on_both_databases(kind: str, store: Store) -> None:
    text = ODD_ANSWERS[kind]
    store.import_cases(rows(1))
    case = store.claim_next_case("a1")
    assert case is not None
    interview = store.start_interview(store.register_questionnaire(_questionnaire()), "a1", case_id=case.id)
    store.save_answer(interview, "q3_leave_reason", Answer(text), answered_at=datetime.now(UTC))
    store.record_attempt(case.id, "a1", "complete", started_at=datetime.now(UTC), note=text, final=True)
    saved = store.answers_for(interview)["q3_leave_reason"].answer.value
    # PostgreSQL cannot hold NUL in text: it is the one character dropped, on both databases alike.
    assert saved == text.replace("\x00", "")
    assert store.attempts_for(case.id)[0].note == text.replace("\x00", "")
    assert len(store.list_cases()) == 1


def test_values_longer_than_their_column_are_refused_clearly(store: Store) -> None:
    long_agent = "a" * 65
    with pytest.raises(StoreError, match="agent id") as raised:
        store.claim_next_case(long_agent)
    assert "Traceback" not in str(raised.value)


# -- agents see and take only their own cases ---------------------------------------------------


def test_a_colleague_holding_my_callback_does_not_hand_it_to_me(store: Store) -> None:
    store.import_cases(rows(2))
    mine = store.claim_next_case("a1")
    assert mine is not None
    due = datetime.now(UTC) - timedelta(minutes=1)
    store.record_attempt(mine.id, "a1", "callback", started_at=due, callback_at=due)
    taken = store.claim_next_case("a2")  # the due callback goes to the first free agent
    assert taken is not None and taken.id == mine.id
    assert store.held_case("a1") is None
    assert store.held_case("a2") == store.get_case(mine.id)
    other = store.claim_next_case("a1")
    assert other is not None and other.id != mine.id


def _questionnaire():  # type: ignore[no-untyped-def]
    from survey_tui.model import load_questionnaire
    from tests.conftest import ROOT

    return load_questionnaire(ROOT / "questionnaires" / "disconnect_phone.yaml")
