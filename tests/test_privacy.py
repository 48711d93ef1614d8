"""Personal data: roles from the settings, agents see their own work only, --include-pii is audited,
free text is masked in exports, and a PostgreSQL password never shows (PGPASSWORD and .pgpass work)."""

from __future__ import annotations

import csv
import getpass
import json
import socket
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from survey_tui.app import make_app
from survey_tui.cli import cli
from survey_tui.model import Answer
from survey_tui.screens import QueueScreen, SupervisorScreen
from survey_tui.settings import NotAllowed, SettingsError, load_settings
from survey_tui.store import Store, schema
from tests import pg_server
from tests.pg_server import ThrowawayPostgres
from tests.test_store import rows
from tests.test_tui import DISCONNECT, SIZE, STAFF, on, until

FULL = "15410000000"  # the first phone of tests.test_store.rows


def run(*args: str) -> Result:
    result = CliRunner().invoke(cli, list(args))
    assert "Traceback" not in result.output
    return result


# -- settings and roles -------------------------------------------------------------------------


def test_the_role_comes_from_the_settings_file_or_the_environment(tmp_path: Path) -> None:
    assert load_settings({"XDG_CONFIG_HOME": str(tmp_path)}).role == "agent"
    settings = tmp_path / "churn-survey" / "settings.toml"
    settings.parent.mkdir()
    settings.write_text('# 主管的电脑\nrole = "supervisor"\n', "utf-8")
    assert load_settings({"XDG_CONFIG_HOME": str(tmp_path)}).role == "supervisor"
    assert load_settings({"XDG_CONFIG_HOME": str(tmp_path), "CHURN_SURVEY_ROLE": "researcher"}).role == "researcher"
    other = tmp_path / "elsewhere.toml"
    other.write_text('role = "researcher"\n', "utf-8")
    loaded = load_settings({"CHURN_SURVEY_SETTINGS": str(other)})
    assert (loaded.role, loaded.source) == ("researcher", str(other))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('role = "boss"\n', "unknown role 'boss'; the roles are agent, supervisor, researcher"),
        ("role = supervisor\n", "not valid TOML"),
        ('rol = "supervisor"\n', "unknown setting rol"),
        ("role = 3\n", "role must be text"),
    ],
)
def test_bad_settings_are_refused_with_the_file_named(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "settings.toml"
    path.write_text(content, "utf-8")
    with pytest.raises(SettingsError, match=message) as raised:
        load_settings({"CHURN_SURVEY_SETTINGS": str(path)})
    assert str(path) in str(raised.value)


def test_bad_settings_stop_the_app_before_it_touches_the_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "settings.toml"
    path.write_text('role = "boss"\n', "utf-8")
    monkeypatch.setenv("CHURN_SURVEY_SETTINGS", str(path))
    db = tmp_path / "survey.db"
    result = run("tui", "--db", str(db), "--agent", "a1")
    assert result.exit_code == 1 and "unknown role 'boss'" in result.output
    assert not db.exists()
    monkeypatch.setenv("CHURN_SURVEY_SETTINGS", str(tmp_path / "missing.toml"))
    assert "does not exist" in run("tui", "--db", str(db)).output


def test_the_review_screen_is_for_researchers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = str(tmp_path / "survey.db")
    refused = run("review", "--db", db, "--coder", "a1")
    assert refused.exit_code == 1
    assert "reviewing codes needs the role researcher; the role is agent (the default)" in refused.output
    with Store.open(db) as store, pytest.raises(NotAllowed):
        make_app(store, agent="a1", questionnaire=DISCONNECT, staff_questionnaire=STAFF, review=True)
    monkeypatch.setenv("CHURN_SURVEY_ROLE", "supervisor")
    assert run("review", "--db", db, "--coder", "s1").exit_code == 1


@pytest.mark.parametrize(("role", "allowed"), [("agent", False), ("supervisor", True), ("researcher", True)])
async def test_the_supervisor_view_is_behind_the_role(role: str, allowed: bool, tmp_path: Path) -> None:
    with Store.open(tmp_path / "survey.db") as store:
        store.import_cases(rows(2))
        app = make_app(
            store, agent="x1", questionnaire=DISCONNECT, staff_questionnaire=STAFF, spool_dir=tmp_path, role=role
        )
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            footer = [key.description for key in app.screen.query("FooterKey")]
            assert "下一个客户" in footer and ("主管视图" in footer) == allowed
            await pilot.press("v")
            if allowed:
                await until(pilot, on(app, SupervisorScreen))
            else:
                await pilot.pause(0.3)
                assert isinstance(app.screen, QueueScreen)


async def test_an_agent_sees_only_their_own_cases_and_interviews(tmp_path: Path) -> None:
    with Store.open(tmp_path / "survey.db") as store:
        store.import_cases(rows(4))
        theirs = store.claim_next_case("a2")
        store.record_attempt(theirs.id, "a2", "no_answer", aapor_code="3.13", started_at=datetime.now(UTC))
        held = store.claim_next_case("a2")
        staff_id = store.register_questionnaire(STAFF)
        unfinished = store.start_interview(staff_id, "a2")
        store.save_answer(unfinished, "staff_id", Answer("ST0001"))
        mine = store.claim_next_case("a1")
        store.record_attempt(mine.id, "a1", "busy", aapor_code="3.12", started_at=datetime.now(UTC))

        app = make_app(store, agent="a1", questionnaire=DISCONNECT, staff_questionnaire=STAFF, spool_dir=tmp_path)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            table = app.screen.query_one("#cases")
            shown = {int(str(table.get_row_at(i)[0])) for i in range(table.row_count)}
            assert shown == {mine.id}
            await pilot.press("s")  # a new staff interview: a colleague's unfinished one is not offered
            await until(pilot, lambda: not isinstance(app.screen, QueueScreen))
        [started] = store.list_interviews(agent="a1")
        assert started.id != unfinished and started.case_id is None
        assert store.answers_for(started.id) == {}
        assert store.get_interview(unfinished).agent == "a2"
        assert store.get_case(held.id).claimed_by == "a2"


# -- --include-pii and its audit ----------------------------------------------------------------


@pytest.fixture
def survey(tmp_path: Path) -> str:
    """One completed interview whose answer and call note say a phone number."""
    db = str(tmp_path / "survey.db")
    with Store.open(db) as store:
        store.import_cases(rows(1))
        case = store.claim_next_case("a1")
        interview = store.start_interview(store.register_questionnaire(DISCONNECT), "a1", case_id=case.id)
        store.save_answer(interview, "q1_operator", Answer("china_mobile"))
        store.save_answer(interview, "q3_leave_reason", Answer("搬家了，有事打我爱人电话 13912345678"))
        store.finish_interview(interview, "complete")
        note = "改打 0739-5551234"
        store.record_attempt(
            case.id, "a1", "complete", aapor_code="1.1", started_at=datetime.now(UTC), note=note, final=True
        )
    return db


def test_an_agent_cannot_export_full_numbers_and_nothing_is_written(survey: str, tmp_path: Path) -> None:
    output = tmp_path / "full.csv"
    result = run("export", "--db", survey, "--format", "csv", "--output", str(output), "--include-pii")
    assert result.exit_code == 1
    assert "--include-pii" in result.output and "supervisor or researcher" in result.output
    assert not output.exists()
    assert run("--db", survey, "case", "list", "--include-pii").exit_code == 1
    with Store.open(survey) as store:
        assert store.pii_audit() == []


def test_masked_by_default_even_inside_free_text(survey: str, tmp_path: Path) -> None:
    output = tmp_path / "masked.csv"
    result = run("export", "--db", survey, "--format", "csv", "--output", str(output))
    assert result.exit_code == 0 and "masked" in result.output
    text = output.read_text("utf-8-sig") + (tmp_path / "masked_call_attempts.csv").read_text("utf-8-sig")
    assert FULL not in text and "13912345678" not in text and "5551234" not in text
    assert "154****0000" in text and "139****5678" in text and "0739-***1234" in text
    for listing in (run("--db", survey, "case", "list"), run("--db", survey, "case", "list", "--format", "json")):
        assert FULL not in listing.output and "154****0000" in listing.output
    with Store.open(survey) as store:
        assert store.pii_audit() == []  # nothing was disclosed, nothing to audit


def test_include_pii_is_audited_who_when_where_what(
    survey: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHURN_SURVEY_ROLE", "researcher")
    output = tmp_path / "full.xlsx"
    before = datetime.now(UTC)
    result = run(
        "export", "--db", survey, "--format", "xlsx", "--output", str(output), "--include-pii", "--branch", "大祥支局"
    )
    assert result.exit_code == 0, result.output
    assert output.stat().st_mode & 0o777 == 0o600
    listed = run("--db", survey, "case", "list", "--include-pii", "--format", "csv")
    assert FULL in listed.output
    monkeypatch.setenv("CHURN_SURVEY_ROLE", "agent")
    with Store.open(survey) as store:
        store.import_cases(rows(1, start=50))
    claimed = run("--db", survey, "case", "claim", "--agent", "a7", "--include-pii")
    assert claimed.exit_code == 0 and json.loads(claimed.output)["phone"] == "15410000050"

    with Store.open(survey) as store:
        entries = list(reversed(store.pii_audit()))
    assert [e.command for e in entries] == ["export", "case list", "case claim"]
    assert [e.role for e in entries] == ["researcher", "researcher", "agent"]
    for entry in entries:
        assert entry.user == getpass.getuser() and entry.host == socket.gethostname()
        assert before <= entry.at <= datetime.now(UTC)
    export = entries[0].what
    assert export["format"] == "xlsx" and export["output"] == str(output.resolve())
    assert export["interviews"] == 1 and export["filters"] == {"branch": "大祥支局"}
    assert entries[1].what["cases"] == 1 and entries[2].what["agent"] == "a7"

    assert run("audit", "--db", survey).exit_code == 1  # an agent may not read the audit
    monkeypatch.setenv("CHURN_SURVEY_ROLE", "supervisor")
    shown = run("audit", "--db", survey, "--format", "json")
    assert shown.exit_code == 0
    assert [e["command"] for e in json.loads(shown.output)] == ["case claim", "case list", "export"]
    table = run("audit", "--db", survey)
    assert "export" in table.output and str(output.resolve()) in table.output


def test_the_audit_is_written_before_the_export_or_the_export_does_not_happen(
    survey: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from survey_tui.store import StoreUnavailable

    def down(*args: object, **kwargs: object) -> None:
        raise StoreUnavailable("cannot use the database: connection refused")

    monkeypatch.setenv("CHURN_SURVEY_ROLE", "researcher")
    monkeypatch.setattr(Store, "record_pii_disclosure", down)
    output = tmp_path / "full.csv"
    result = run("export", "--db", survey, "--format", "csv", "--output", str(output), "--include-pii")
    assert result.exit_code == 4 and not output.exists()


# -- the PostgreSQL password --------------------------------------------------------------------


def test_the_password_of_a_url_never_shows(throwaway_db: str, tmp_path: Path) -> None:
    password = pg_server.PASSWORD
    for args in (["db", "upgrade"], ["db", "info"], ["case", "list"], ["sample", "import", "data/demo_call_list.csv"]):
        result = run("--db", throwaway_db, *args)
        assert result.exit_code == 0, result.output
        assert password not in result.output and "only-here" not in result.output
        assert "churn:***@127.0.0.1" in result.output or args != ["db", "info"]
    wrong = throwaway_db.replace("only-here", "wrong-one")
    refused = run("--db", wrong, "db", "info")
    assert refused.exit_code == 4 and "password authentication failed" in refused.output
    assert "wrong-one" not in refused.output


def test_pgpassword_and_pgpass_supply_the_password(
    throwaway_pg: ThrowawayPostgres, throwaway_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = throwaway_db.rsplit("/", 1)[1]
    bare = throwaway_pg.url(password=False, database=database)
    monkeypatch.delenv("PGPASSWORD", raising=False)
    monkeypatch.setenv("PGPASSFILE", str(tmp_path / "nothing-here"))
    missing = run("--db", bare, "db", "info")
    assert missing.exit_code == 4 and "no password supplied" in missing.output

    monkeypatch.setenv("PGPASSWORD", pg_server.PASSWORD)
    with_env = run("--db", bare, "db", "upgrade")
    assert with_env.exit_code == 0, with_env.output
    monkeypatch.delenv("PGPASSWORD")

    pgpass = tmp_path / "pgpass"
    secret = pg_server.PASSWORD.replace("\\", "\\\\").replace(":", "\\:")
    pgpass.write_text(f"127.0.0.1:{throwaway_pg.port}:{database}:{pg_server.USER}:{secret}\n", "utf-8")
    pgpass.chmod(0o600)
    monkeypatch.setenv("PGPASSFILE", str(pgpass))
    with_file = run("--db", bare, "db", "info")
    assert with_file.exit_code == 0, with_file.output
    assert f"schema:   {schema.SCHEMA_REVISION}" in with_file.output


async def test_the_app_shows_where_the_data_is_without_the_password(throwaway_db: str, tmp_path: Path) -> None:
    with Store.open(throwaway_db) as store:
        store.import_cases(rows(1))
        app = make_app(store, agent="a1", questionnaire=DISCONNECT, staff_questionnaire=STAFF, spool_dir=tmp_path)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            line = str(app.screen.query_one(".status-line").render())
    assert "127.0.0.1" in line and pg_server.PASSWORD not in line and "only-here" not in line


def test_exports_are_readable_by_their_owner_only(survey: str, tmp_path: Path) -> None:
    for fmt in ("csv", "xlsx", "json", "sav", "dta"):
        output = tmp_path / f"out.{fmt}"
        assert run("export", "--db", survey, "--format", fmt, "--output", str(output)).exit_code == 0
        assert output.stat().st_mode & 0o777 == 0o600, fmt
    with (tmp_path / "out.csv").open(encoding="utf-8-sig") as handle:
        assert next(csv.DictReader(handle))["phone"] == "154****0000"


async def test_the_full_number_shows_only_on_the_call_screen_of_the_case_called(tmp_path: Path) -> None:
    from survey_tui.screens import CallScreen, InterviewScreen

    def screen_text(app) -> str:  # type: ignore[no-untyped-def]
        return " ".join(str(widget.render()) for widget in app.screen.query("Static"))

    with Store.open(tmp_path / "survey.db") as store:
        store.import_cases(rows(2))
        app = make_app(store, agent="a1", questionnaire=DISCONNECT, staff_questionnaire=STAFF, spool_dir=tmp_path)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            await pilot.press("enter")
            await until(pilot, on(app, CallScreen))
            called = app.screen.case
            other = next(case for case in store.list_cases() if case.id != called.id)
            assert called.phone in screen_text(app) and called.account in screen_text(app)
            assert other.phone not in screen_text(app)
            await pilot.press("1")
            await until(pilot, on(app, InterviewScreen))
            assert called.phone not in screen_text(app)
            await pilot.press("escape")  # break off, no reason typed
            await pilot.pause(0.3)
            await pilot.press("enter")
            await until(pilot, on(app, QueueScreen))
            table = app.screen.query_one("#cases")
            cells = " ".join(str(cell) for i in range(table.row_count) for cell in table.get_row_at(i))
            assert called.phone not in cells and "154****" in cells
