"""Shared fixtures: a store on a SQLite file and, when the server is configured, on PostgreSQL."""

from __future__ import annotations

import os
import pwd
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from coding.codebook import load_codebook
from coding.coder import Coder, train_model
from coding.corpus import load_corpus
from survey_tui.store import Store, resolve_url
from tests import pg_server
from tests.pg_server import ThrowawayPostgres

PG_ENV = "CHURN_SURVEY_TEST_PG"
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def agent_settings(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test starts as a plain agent, whatever the settings and models of the machine running it."""
    monkeypatch.delenv("CHURN_SURVEY_ROLE", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.getbasetemp() / "no-config"))
    # Nor a model trained on this machine before: the shipped one, or one a test trains itself.
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.getbasetemp() / "no-cache"))
    monkeypatch.delenv("CHURN_SURVEY_SETTINGS", raising=False)


def pg_base_url() -> str:
    url = os.environ.get(PG_ENV)
    if not url:
        pytest.skip(f"PostgreSQL tests need {PG_ENV}=postgresql://user@host:port/db (.ci/run sets it)")
    return url


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a fresh schema, dropped afterwards."""
    base = pg_base_url()
    schema_name = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(resolve_url(base))
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema_name}"'))
    separator = "&" if "?" in base else "?"
    try:
        yield f"{base}{separator}options=-csearch_path%3D{schema_name}"
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema_name}" CASCADE'))
        admin.dispose()


@pytest.fixture(scope="session")
def throwaway_pg() -> Iterator[ThrowawayPostgres]:
    """A PostgreSQL server of the tests' own, which a test may stop and start (never the shared one)."""
    bin_dir = pg_server.binaries()
    if bin_dir is None:
        pytest.skip("the PostgreSQL server binaries (initdb, pg_ctl) are not installed; apt-get install postgresql")
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        pytest.skip("initdb refuses root and runuser is missing to run it as the postgres user")
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("initdb refuses root and there is no postgres system user to run it as")
    server = ThrowawayPostgres(bin_dir)
    try:
        server.start()
        yield server
    finally:
        server.destroy()


@pytest.fixture
def throwaway_db(throwaway_pg: ThrowawayPostgres) -> Iterator[str]:
    """A fresh database on the throwaway server (server running); its URL, password included."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(resolve_url(throwaway_pg.url()), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    yield throwaway_pg.url(database=name)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return str(tmp_path / "survey.db")


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "survey.db")
    return request.getfixturevalue("pg_url")


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    opened = Store.open(db_url)
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture(scope="session")
def small_model():  # type: ignore[no-untyped-def]
    """A model trained on part of the corpus's training part: quick, and good enough to test with."""
    corpus = load_corpus(split="train").sample(700, random_state=5)
    return train_model(load_codebook(), corpus=corpus)


@pytest.fixture(scope="session")
def coder(small_model) -> Coder:  # type: ignore[no-untyped-def]
    return Coder(load_codebook(), small_model)
