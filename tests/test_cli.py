"""The churn-survey command: each subcommand run as a user would, results re-read from the store."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from survey_tui.cli import cli
from survey_tui.store import Store
from tests.conftest import ROOT

DEMO = ROOT / "data" / "demo_call_list.csv"


def run(*args: str, db: str | None = None) -> click.testing.Result:
    prefix = ["--db", db] if db else []
    return CliRunner().invoke(cli, [*prefix, *args], catch_exceptions=False)


def test_every_command_has_help_text() -> None:
    def walk(group: click.Group, path: list[str]) -> list[list[str]]:
        found = [path]
        for name, command in group.commands.items():
            if isinstance(command, click.Group):
                found += walk(command, [*path, name])
            else:
                found.append([*path, name])
        return found

    for path in walk(cli, []):
        result = run(*path, "--help")
        assert result.exit_code == 0, path
        command = cli
        for name in path:
            command = command.commands[name]  # type: ignore[attr-defined]
        assert command.help, f"{' '.join(path)} has no help text"


def test_import_the_demo_list_then_print_the_masked_queue(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    result = run("sample", "import", str(DEMO), db=sqlite_url)
    assert result.exit_code == 0, result.output
    assert "imported 60 case(s)" in result.output

    again = run("sample", "import", str(DEMO), db=sqlite_url)
    assert "imported 0 case(s)" in again.output
    assert "60 already on the call list" in again.output
    with Store.open(sqlite_url) as store:
        assert len(store.list_cases()) == 60

    queue = run("case", "list", db=sqlite_url)
    assert queue.exit_code == 0
    assert "154****" in queue.output
    assert "60 case(s): 60 pending" in queue.output
    with Store.open(sqlite_url) as store:
        for case in store.list_cases():
            assert case.phone not in queue.output
    monkeypatch.setenv("CHURN_SURVEY_ROLE", "supervisor")
    full = run("case", "list", "--format", "json", "--include-pii", "--limit", "2", db=sqlite_url)
    assert json.loads(full.output)[0]["phone"].isdigit()


def test_claim_prints_json_and_exits_3_when_the_list_is_empty(sqlite_url: str) -> None:
    run("sample", "import", str(DEMO), db=sqlite_url)
    # One agent holds one case at a time (claiming again gives it back), so sixty agents claim.
    claimed = [json.loads(run("case", "claim", "--agent", f"a{n}", db=sqlite_url).output) for n in range(60)]
    assert len({c["id"] for c in claimed}) == 60
    assert all("****" in c["phone"] for c in claimed)
    empty = run("case", "claim", "--agent", "a60", db=sqlite_url)
    assert empty.exit_code == 3
    assert "no case is waiting" in empty.output


def test_a_file_without_a_phone_column_changes_nothing(sqlite_url: str, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("姓名,支局\n张三,大祥支局\n", encoding="utf-8")
    result = run("sample", "import", str(bad), db=sqlite_url)
    assert result.exit_code == 1
    assert "no phone column" in result.output
    assert "Traceback" not in result.output
    with Store.open(sqlite_url) as store:
        assert store.list_cases() == []


def test_questionnaire_check_exit_codes(tmp_path: Path) -> None:
    shipped = sorted(str(p) for p in (ROOT / "questionnaires").glob("*.yaml"))
    clean = run("questionnaire", "check", *shipped)
    assert clean.exit_code == 0, clean.output
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        "id: x\nversion: 1\ntitle: t\nquestions:\n  - id: a\n    type: nope\n    text: x\n", encoding="utf-8"
    )
    result = run("questionnaire", "check", str(broken))
    assert result.exit_code == 1
    assert f"{broken}:6: [a] unknown type 'nope'" in result.output


def test_an_unreachable_database_exits_4_with_a_clear_message() -> None:
    result = run("case", "list", db="postgresql://agent:s3cret@127.0.0.1:1/survey")
    assert result.exit_code == 4
    assert "cannot use the database" in result.output
    assert "s3cret" not in result.output


def test_the_console_script_runs_without_a_traceback(tmp_path: Path) -> None:
    script = Path(sys.executable).with_name("churn-survey")
    if not script.exists():
        pytest.skip("the console script is not installed in this environment")
    result = subprocess.run(
        [str(script), "--db", str(tmp_path / "s.db"), "sample", "import", str(tmp_path / "missing.csv")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert result.stderr.startswith("error:")
    assert "Traceback" not in result.stderr


def test_queue_as_csv_opens_in_excel_with_chinese_intact(sqlite_url: str, tmp_path: Path) -> None:
    run("sample", "import", str(DEMO), db=sqlite_url)
    result = CliRunner().invoke(cli, ["--db", sqlite_url, "case", "list", "--format", "csv"])
    out = tmp_path / "queue.csv"
    out.write_bytes(result.stdout_bytes)
    assert out.read_bytes().startswith(b"\xef\xbb\xbf")
    with out.open(encoding="utf-8-sig", newline="") as handle:
        records = list(csv.DictReader(handle))
    assert len(records) == 60
    assert records[0]["branch"].endswith("支局")
    assert all("****" in r["phone"] for r in records)
