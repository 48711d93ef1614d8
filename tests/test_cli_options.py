"""The shared options of the command: `--db` before or after any subcommand, and `python -m survey_tui`."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from survey_tui.cli import cli
from survey_tui.store import Store
from tests.conftest import ROOT

DEMO = ROOT / "data" / "demo_call_list.csv"


def commands(group: click.Group, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    """Every group and command under `group`, with the words that reach it."""
    for name, command in sorted(group.commands.items()):
        yield (*path, name), command
        if isinstance(command, click.Group):
            yield from commands(command, (*path, name))


def test_every_group_and_command_takes_db() -> None:
    missing = [
        " ".join(path)
        for path, command in commands(cli)
        if "--db" not in {o for p in command.params for o in getattr(p, "opts", [])}
    ]
    assert missing == []


def test_db_after_the_subcommands_that_refused_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # the default ./survey.db would be made here: it must not be
    db = str(tmp_path / "x.db")
    runner = CliRunner()
    imported = runner.invoke(cli, ["sample", "import", str(DEMO), "--db", db])
    assert imported.exit_code == 0, imported.output
    listed = runner.invoke(cli, ["case", "list", "--db", db, "--format", "json"])
    assert listed.exit_code == 0, listed.output
    first = runner.invoke(cli, ["case", "claim", "--agent", "a1", "--db", db])
    assert first.exit_code == 0, first.output
    info = runner.invoke(cli, ["db", "info", "--db", db])
    assert info.exit_code == 0 and f"database: {db}" in info.output and "1 claimed" in info.output
    # Before a subcommand's own options, and on a group, too.
    after = runner.invoke(cli, ["case", "list", "--format", "json", "--db", db]).output
    assert runner.invoke(cli, ["case", "--db", db, "list", "--format", "json"]).output == after
    assert not (tmp_path / "survey.db").exists()
    with Store.open(db) as store:
        assert store.case_counts()["claimed"] == 1
        assert len(store.list_cases()) == len(json.loads(listed.output))


def test_db_after_the_subcommand_wins_over_before_it_and_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHURN_SURVEY_DB", str(tmp_path / "env.db"))
    chosen = str(tmp_path / "chosen.db")
    result = CliRunner().invoke(cli, ["--db", str(tmp_path / "before.db"), "db", "info", "--db", chosen])
    assert result.exit_code == 0 and f"database: {chosen}" in result.output
    from_env = CliRunner().invoke(cli, ["db", "info"])
    assert f"database: {tmp_path / 'env.db'}" in from_env.output


def test_python_dash_m_runs_the_command(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "survey_tui", "db", "info", "--db", str(tmp_path / "m.db")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert f"database: {tmp_path / 'm.db'}" in done.stdout
