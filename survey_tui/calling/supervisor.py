"""Progress and AAPOR rates per agent and in total, for the supervisor."""

from __future__ import annotations

from dataclasses import dataclass

from survey_tui.model.dispositions import DispositionClass, Rates, case_disposition, classify, rates_for_cases
from survey_tui.store import Store


@dataclass(frozen=True)
class AgentProgress:
    """One line of the supervisor's table."""

    agent: str
    cases: int
    attempts: int
    completes: int
    refusals: int
    non_contacts: int
    rates: Rates


def progress_by_agent(store: Store) -> list[AgentProgress]:
    """Per agent (cases counted for the agent of their last attempt), then a line for everyone.

    The total also counts the cases nobody has called yet (AAPOR 3.11, not attempted).
    """
    by_agent: dict[str, list[str]] = {}
    everyone: list[str] = []
    for _case_id, agent, codes in store.case_attempt_codes():
        disposition = case_disposition(codes)
        everyone.append(disposition)
        if agent is not None:
            by_agent.setdefault(agent, []).append(disposition)
    attempts = {agent: sum(store.outcome_counts(agent=agent).values()) for agent in by_agent}
    lines = [_line(agent, codes, attempts[agent]) for agent, codes in sorted(by_agent.items())]
    lines.append(_line("合计", everyone, sum(attempts.values())))
    return lines


def _line(agent: str, dispositions: list[str], attempts: int) -> AgentProgress:
    classes = [classify(code) for code in dispositions]
    return AgentProgress(
        agent=agent,
        cases=len(dispositions),
        attempts=attempts,
        completes=classes.count(DispositionClass.COMPLETE),
        refusals=classes.count(DispositionClass.REFUSAL),
        non_contacts=classes.count(DispositionClass.NON_CONTACT),
        rates=rates_for_cases(dispositions),
    )
