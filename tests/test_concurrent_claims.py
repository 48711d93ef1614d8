"""Many agent processes claiming from one call list at once: every case goes to exactly one agent."""

from __future__ import annotations

import multiprocessing
import time
from collections import Counter
from datetime import UTC, datetime

import pytest

from survey_tui.store import Store
from tests.test_store import rows

AGENTS = 8
CASES = 240


def claim_until_empty(url: str, agent: str, start_at: float) -> list[int]:
    """One agent's day: claim, call (a final outcome), repeat until the list is empty."""
    store = Store.open(url)
    claimed: list[int] = []
    time.sleep(max(0.0, start_at - time.time()))
    try:
        while (case := store.claim_next_case(agent)) is not None:
            claimed.append(case.id)
            store.record_attempt(case.id, agent, "complete", aapor_code="1.1", started_at=datetime.now(UTC), final=True)
    finally:
        store.close()
    return claimed


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_every_case_is_claimed_exactly_once(backend: str, request: pytest.FixtureRequest, tmp_path) -> None:
    url = str(tmp_path / "survey.db") if backend == "sqlite" else request.getfixturevalue("pg_url")
    with Store.open(url) as store:
        assert store.import_cases(rows(CASES)).imported == CASES

    start_at = time.time() + 1.5  # every process is connected before the first claim
    context = multiprocessing.get_context("spawn")
    with context.Pool(AGENTS) as pool:
        results = pool.starmap(claim_until_empty, [(url, f"agent{n}", start_at) for n in range(AGENTS)])

    claimed = Counter(case_id for result in results for case_id in result)
    assert sum(claimed.values()) == CASES
    assert set(claimed.values()) == {1}
    assert sum(1 for result in results if result) >= 2, "the agents did not work concurrently"
    with Store.open(url) as store:
        assert store.case_counts()["done"] == CASES
        attempts = [store.attempts_for(case_id) for case_id in claimed]
        assert all(len(a) == 1 for a in attempts)
        assert {a[0]["agent"] for a in attempts} == {f"agent{n}" for n, result in enumerate(results) if result}
