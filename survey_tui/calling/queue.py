"""The queue: which case an agent gets next, and what the queue shows of the day and of the list."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from survey_tui.store import Case, Disclosure, Store


def next_case(store: Store, agent: str, *, disclosure: Disclosure | None = None) -> Case | None:
    """The case to call next, claimed atomically: the one this agent already holds (claimed and
    not finished: after a crash, or from another terminal) first, then due callbacks (the agent's
    own appointments before others'), then the list in order. None when nothing is waiting.

    Only a case claimed by this agent comes back: one they booked a callback for may be with a
    colleague by now. The app (`enter` on the queue) and `churn-survey case claim` both ask here.
    With `disclosure`, the case's full number and account are about to be shown to the agent:
    that is recorded in the audit first.
    """
    case = store.claim_next_case(agent, held_first=True)
    if case is not None and disclosure is not None:
        store.record_disclosure(disclosure, {"case": case.id, "agent": agent})
    return case


def put_back(store: Store, case_id: int, agent: str) -> None:
    """Return a claimed case to the queue untouched (it was not dialled)."""
    store.release_case(case_id, agent)


def listed(
    store: Store,
    *,
    status: Sequence[str] | None = None,
    agent: str | None = None,
    limit: int | None = None,
    disclosure: Disclosure | None = None,
) -> list[Case]:
    """Cases in queue order (due callbacks by time, then the list), optionally by status or agent.
    With `disclosure`, their full numbers and accounts are to be shown: recorded in the audit first."""
    cases = store.list_cases(status=list(status) if status else None, agent=agent, limit=limit)
    if disclosure is not None:
        what = {"cases": len(cases), "status": list(status or ()), "agent": agent, "limit": limit}
        store.record_disclosure(disclosure, what)
    return cases


def counts(store: Store) -> dict[str, int]:
    """Cases per status (pending, claimed, callback, done), every status present."""
    return store.case_counts()


@dataclass(frozen=True)
class Today:
    """The head of an agent's queue: their calls today by outcome, and where the list stands."""

    calls_by_outcome: dict[str, int]
    cases_by_status: dict[str, int]
    callbacks_due: int
    own_cases: list[Case]

    @property
    def calls(self) -> int:
        return sum(self.calls_by_outcome.values())

    @property
    def completes(self) -> int:
        return self.calls_by_outcome.get("complete", 0)


def today(store: Store, agent: str, *, now: datetime | None = None) -> Today:
    """What the queue screen shows `agent` now (local midnight starts the day)."""
    now = now or datetime.now().astimezone()
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    booked = store.list_cases(status="callback")
    return Today(
        calls_by_outcome=store.outcome_counts(agent=agent, since=midnight),
        cases_by_status=store.case_counts(),
        callbacks_due=sum(1 for case in booked if case.callback_at and case.callback_at <= now),
        own_cases=store.agent_cases(agent),
    )
