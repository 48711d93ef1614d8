"""Twenty agent processes on one call list at once, claiming and interviewing as the app does.

Every case goes to exactly one agent, no agent ever meets "database is locked" (or any other
store error), and every answer of every interview is in the store. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import multiprocessing
import queue
from collections import Counter
from pathlib import Path

import pytest

from survey_tui.store import Store
from tests.agent_worker import SCRIPT, agent_day
from tests.test_store import rows

AGENTS = 20
CASES = 100


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_twenty_agents_claim_and_interview_at_once(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    url = str(tmp_path / "survey.db") if backend == "sqlite" else request.getfixturevalue("pg_url")
    with Store.open(url) as store:
        assert store.import_cases(rows(CASES)).imported == CASES

    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(AGENTS)
    results = context.Queue()
    agents = [
        context.Process(target=agent_day, args=(url, f"agent{n:02d}", str(tmp_path), barrier, results))
        for n in range(AGENTS)
    ]
    for process in agents:
        process.start()
    reports = []
    try:
        for _ in agents:
            reports.append(results.get(timeout=240))
    except queue.Empty:
        pytest.fail(f"only {len(reports)} of {AGENTS} agents finished their shift")
    finally:
        for process in agents:
            process.join(timeout=30)
            if process.is_alive():
                process.kill()

    errors = [error for report in reports for error in report["errors"]]
    assert errors == [], errors[0]
    assert sum(report["spooled"] for report in reports) == 0, "a write had to wait: the store was locked"
    claimed = Counter(case_id for report in reports for case_id in report["claimed"])
    assert sorted(claimed) == list(range(1, CASES + 1)) and set(claimed.values()) == {1}
    assert sum(1 for report in reports if report["claimed"]) >= AGENTS // 2, "the agents did not work at once"
    owner = {case_id: report["agent"] for report in reports for case_id in report["claimed"]}

    with Store.open(url) as store:
        assert store.case_counts()["done"] == CASES
        assert len(store.list_questionnaires()) == 1
        interviews = store.list_interviews()
        assert len(interviews) == CASES
        for interview in interviews:
            assert interview.status == "complete"
            assert interview.agent == owner[interview.case_id]
            saved = store.answers_for(interview.id)
            assert set(saved) == {qid for qid, value in SCRIPT if value is not None}
            expected = f"{interview.agent} 给 {interview.case_id} 打电话：网速慢，太贵了"
            assert saved["q3_leave_reason"].answer.value == expected
            attempts = store.attempts_for(interview.case_id)
            assert [(a.agent, a.outcome) for a in attempts] == [(interview.agent, "complete")]
