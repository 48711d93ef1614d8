"""One agent's shift in a process of its own, for the concurrency tests (kept light: no test imports)."""

from __future__ import annotations

import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

# What every agent answers; q3 also names the agent and the case, to find each answer's owner.
SCRIPT: list[tuple[str, Any]] = [
    ("intro", None),
    ("q1_operator", "china_unicom"),
    ("q2_competitor_reason", "联通装得快"),
    ("q3_leave_reason", "{agent} 给 {case} 打电话：网速慢，太贵了"),
    ("q4_retention_call", "no"),
    ("q5_factors", ["price", "speed"]),
    ("q6_package_pref", "fusion"),
    ("closing", None),
]


def agent_day(url: str, agent: str, spool_dir: str, barrier: Any, results: Any) -> None:
    """One agent's shift, through the same objects as the app: claim, interview, record the call."""
    report: dict[str, Any] = {"agent": agent, "claimed": [], "spooled": 0, "errors": []}
    try:
        from survey_tui.calling.interviews import InterviewSession
        from survey_tui.calling.outbox import Outbox
        from survey_tui.model import Answer, load_questionnaire
        from survey_tui.store import Store

        questionnaire = load_questionnaire(ROOT / "questionnaires" / "disconnect_phone.yaml")
        store = Store.open(url)
        outbox = Outbox(store, Path(spool_dir) / f"spool-{agent}.jsonl")
        barrier.wait(timeout=120)
        # All twenty start the app at the same moment: each registers the questionnaire.
        questionnaire_id = store.register_questionnaire(questionnaire)
        while (case := store.claim_next_case(agent)) is not None:
            report["claimed"].append(case.id)
            started = datetime.now(UTC)
            interview_id = store.start_interview(questionnaire_id, agent, case_id=case.id)
            session = InterviewSession(questionnaire, outbox, interview_id)
            session.start()
            for question_id, value in SCRIPT:
                assert session.current is not None and session.current.id == question_id, session.current
                if isinstance(value, str):
                    value = value.format(agent=agent, case=case.id)
                result = session.answer(Answer(value))
                assert result.problem is None, result.problem
                report["spooled"] += not result.in_store
            assert session.finished
            report["spooled"] += not outbox.finish_interview(interview_id, "complete")
            report["spooled"] += not outbox.record_attempt(
                case.id, agent, "complete", aapor_code="1.1", started_at=started, final=True
            )
        store.close()
    except BaseException as error:  # the parent reports it; an agent must never see one
        report["errors"].append(f"{type(error).__name__}: {error}\n{traceback.format_exc()}")
    results.put(report)
