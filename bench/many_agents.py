"""Benchmark 3, many agents on one store: 20 agent processes claiming cases and completing
interviews through the store's API as fast as they can, on SQLite and on PostgreSQL.

Usage: python bench/many_agents.py [--agents 20] [--cases 2000] [--pg URL | --no-pg]

Each agent process opens its own store and, once every agent is connected, repeats until the
list is empty: claim_next_case, start_interview, six save_answer (q1-q6, as an interview gives
them), finish_interview, record_attempt (complete, final). Every call is timed. Reported:
interviews per second, the latency of the calls, the calls that waited for another agent's
lock (on SQLite a writer waits inside the driver for the file's write lock: counted as calls
taking longer than --wait-ms; on PostgreSQL also the lock waits the server shows in pg_locks,
sampled every 20 ms), and every error an agent saw. Checks afterwards: every case was claimed
by exactly one agent, every interview is complete, every answer an agent wrote is in the store
with its value, one attempt per case. Baseline in the same run: one agent alone on a fresh
store of the same kind doing the same work.
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing
import os
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import benchlib

OPERATIONS = ("claim", "start", "answer", "finish", "attempt")


def agent_day(url: str, agent: str, questionnaire_id: int, texts: list[str], barrier: Any, results: Any) -> None:
    """One agent process: claim and interview until the list is empty (run in its own process)."""
    from survey_tui.model.questionnaire import Answer
    from survey_tui.store import Store

    timings: dict[str, list[float]] = {operation: [] for operation in OPERATIONS}
    errors: Counter[str] = Counter()
    claimed: list[int] = []
    written: list[tuple[int, str, Any]] = []
    store = Store.open(url)
    barrier.wait()
    started = time.perf_counter()

    def timed(operation: str, call: Any, *args: Any, **kwargs: Any) -> Any:
        begun = time.perf_counter()
        try:
            return call(*args, **kwargs)
        finally:
            timings[operation].append(time.perf_counter() - begun)

    try:
        n = 0
        while True:
            try:
                case = timed("claim", store.claim_next_case, agent)
                if case is None:
                    break
                claimed.append(case.id)
                interview = timed("start", store.start_interview, questionnaire_id, agent, case_id=case.id)
                for question_id, value in (
                    ("q1_operator", "china_mobile" if n % 3 else "china_unicom"),
                    ("q2_competitor_reason", texts[n % len(texts)]),
                    ("q3_leave_reason", texts[(n * 7 + 3) % len(texts)]),
                    ("q4_retention_call", "no"),
                    ("q5_factors", ["price", "bundle"]),
                    ("q6_package_pref", "fusion"),
                ):
                    shown = datetime.now(UTC)
                    timed("answer", store.save_answer, interview, question_id, Answer(value), shown_at=shown)
                    written.append((interview, question_id, value))
                timed("finish", store.finish_interview, interview, "complete")
                timed(
                    "attempt",
                    store.record_attempt,
                    case.id,
                    agent,
                    "complete",
                    aapor_code="1.1",
                    started_at=datetime.now(UTC),
                    final=True,
                )
                n += 1
            except Exception as error:  # noqa: BLE001 - every error an agent sees is counted, then it goes on
                errors[f"{type(error).__name__}: {str(error).splitlines()[0][:120]}"] += 1
                if sum(errors.values()) > 50:
                    break
    finally:
        seconds = time.perf_counter() - started
        store.close()
        results.put(
            {
                "agent": agent,
                "timings": timings,
                "errors": dict(errors),
                "claimed": claimed,
                "written": written,
                "seconds": seconds,
                "pid": os.getpid(),
            }
        )


def run_agents(url: str, agents: int, cases: int) -> dict[str, Any]:
    """Load `cases` cases into the store at `url`, run `agents` agents on it, check what they wrote."""
    from survey_tui.store import Store

    benchlib.load_call_list(url, cases)
    with Store.open(url) as store:
        questionnaire_id = store.register_questionnaire(benchlib.disconnect_questionnaire())
    texts = benchlib.corpus_texts()[:400]
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(agents + 1)
    results = context.Queue()
    processes = [
        context.Process(target=agent_day, args=(url, f"agent{n:02d}", questionnaire_id, texts, barrier, results))
        for n in range(agents)
    ]
    for process in processes:
        process.start()
    barrier.wait(timeout=300)
    sampler = LockSampler(url) if url.startswith("postgresql") else None
    started = time.perf_counter()
    with sampler if sampler is not None else contextlib.nullcontext():
        reports = [results.get(timeout=3600) for _ in processes]
    seconds = time.perf_counter() - started
    for process in processes:
        process.join()
    return {
        "seconds": seconds,
        "reports": reports,
        "check": check(url, cases, reports),
        "pg_lock_waits": sampler.waits if sampler else None,
        "pg_peak_waiting": sampler.peak if sampler else None,
    }


class LockSampler:
    """Samples pg_locks every 20 ms: lock requests of this database not granted yet."""

    def __init__(self, url: str) -> None:
        self.url, self.waits, self.peak = url, 0, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        import sqlalchemy as sa

        from survey_tui.store import resolve_url

        engine = sa.create_engine(resolve_url(self.url))
        seen: set[tuple[Any, ...]] = set()
        with engine.connect() as conn:
            while not self._stop.is_set():
                rows = conn.execute(
                    sa.text(
                        "SELECT pid, locktype, mode, relation, transactionid::text FROM pg_locks l "
                        "JOIN pg_stat_activity a USING (pid) WHERE NOT l.granted AND a.datname = current_database()"
                    )
                ).all()
                conn.commit()
                self.peak = max(self.peak, len(rows))
                for row in rows:
                    if tuple(row) not in seen:
                        seen.add(tuple(row))
                        self.waits += 1
                self._stop.wait(0.02)
        engine.dispose()

    def __enter__(self) -> LockSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def check(url: str, cases: int, reports: list[dict[str, Any]]) -> list[str]:
    """What is wrong in the store after the run (empty: nothing)."""
    import sqlalchemy as sa

    from survey_tui.store import Store, schema

    problems = []
    claims = Counter(case for report in reports for case in report["claimed"])
    if len(claims) != cases:
        problems.append(f"{cases - len(claims)} cases never claimed")
    twice = [case for case, count in claims.items() if count > 1]
    if twice:
        problems.append(f"{len(twice)} cases claimed more than once")
    with Store.open(url) as store, store.engine.connect() as conn:
        stored = {
            (interview, question): value
            for interview, question, value in conn.execute(
                sa.select(schema.answers.c.interview_id, schema.answers.c.question_id, schema.answers.c.value)
            )
        }
        written = [item for report in reports for item in report["written"]]
        missing = sum(1 for interview, question, value in written if stored.get((interview, question)) != value)
        if missing:
            problems.append(f"{missing} of {len(written)} answers written are not in the store as written")
        if len(stored) != len(written):
            problems.append(f"{len(stored)} answers in the store, {len(written)} written")
        statuses = Counter(status for (status,) in conn.execute(sa.select(schema.interviews.c.status)))
        if statuses.get("complete", 0) != len(claims):
            problems.append(f"interviews by status {dict(statuses)}, {len(claims)} cases claimed")
        attempts = Counter(case for (case,) in conn.execute(sa.select(schema.call_attempts.c.case_id)))
        if any(count != 1 for count in attempts.values()) or len(attempts) != len(claims):
            problems.append("cases without exactly one call attempt")
        counts = store.case_counts()
        if counts["done"] != cases:
            problems.append(f"case statuses {counts}")
    return problems


def summary(name: str, run: dict[str, Any], wait_ms: float) -> dict[str, Any]:
    reports = run["reports"]
    interviews = sum(len(report["claimed"]) for report in reports)
    calls = [t for report in reports for operation in OPERATIONS for t in report["timings"][operation]]
    errors: Counter[str] = Counter()
    for report in reports:
        errors.update(report["errors"])
    waited = sum(1 for t in calls if t * 1000 > wait_ms)
    return {
        "name": name,
        "agents": len(reports),
        "interviews": interviews,
        "seconds": run["seconds"],
        "rate": interviews / run["seconds"],
        "calls": len(calls),
        "p50": benchlib.median(calls) * 1000,
        "p99": benchlib.percentile(calls, 0.99) * 1000,
        "max": max(calls) * 1000,
        "waited": waited,
        "errors": dict(errors),
        "check": run["check"],
        "pg_lock_waits": run["pg_lock_waits"],
        "pg_peak_waiting": run["pg_peak_waiting"],
        "per_operation": {
            operation: (
                benchlib.median([t for r in reports for t in r["timings"][operation]]) * 1000,
                benchlib.percentile([t for r in reports for t in r["timings"][operation]], 0.99) * 1000,
            )
            for operation in OPERATIONS
        },
    }


def show(row: dict[str, Any], baseline: dict[str, Any] | None) -> None:
    ratio = f", {benchlib.ratio(row['rate'], baseline['rate'])} one agent's rate" if baseline else ""
    print(
        f"{row['name']}: {row['agents']} agent(s), {row['interviews']} interviews in {row['seconds']:.1f} s = "
        f"{row['rate']:.1f} interviews/s{ratio}; {row['calls']} calls, median {row['p50']:.1f} ms, "
        f"p99 {row['p99']:.1f} ms, max {row['max']:.0f} ms"
    )
    per = "; ".join(f"{op} {p50:.1f}/{p99:.1f}" for op, (p50, p99) in row["per_operation"].items())
    print(f"    per call (median/p99 ms): {per}")
    pg = (
        f"; PostgreSQL lock waits seen in pg_locks: {row['pg_lock_waits']} (at most {row['pg_peak_waiting']} at once)"
        if row["pg_lock_waits"] is not None
        else ""
    )
    print(f"    calls that waited for a lock (> wait threshold): {row['waited']}{pg}")
    print(f"    errors seen by agents: {row['errors'] or 'none'}")
    print(f"    checks: {'; '.join(row['check']) if row['check'] else 'every case claimed once, every answer there'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=20)
    parser.add_argument("--cases", type=int, default=2000)
    parser.add_argument("--baseline-cases", type=int, default=300, help="cases for the one-agent baseline")
    parser.add_argument("--wait-ms", type=float, default=100.0, help="a call this slow counts as a lock wait")
    parser.add_argument("--pg", default=benchlib.DEFAULT_PG)
    parser.add_argument("--no-pg", action="store_true")
    args = parser.parse_args()

    backends: list[str] = ["SQLite"]
    problem = None if args.no_pg else benchlib.pg_available(args.pg)
    if problem:
        print(f"PostgreSQL at {args.pg} skipped: {problem}")
    elif not args.no_pg:
        backends.append("PostgreSQL")
    rows = []
    failed = False
    with tempfile.TemporaryDirectory(prefix="churn-bench-") as folder:
        for name in backends:
            results = {}
            for label, agents, cases in (("baseline", 1, args.baseline_cases), ("agents", args.agents, args.cases)):
                target = Path(folder) / f"{name}-{label}.db"
                context = (
                    benchlib.throwaway_pg(args.pg) if name == "PostgreSQL" else contextlib.nullcontext(str(target))
                )
                with context as url:
                    results[label] = summary(f"{name} {label}", run_agents(url, agents, cases), args.wait_ms)
            show(results["baseline"], None)
            show(results["agents"], results["baseline"])
            failed = failed or bool(results["agents"]["check"] or results["baseline"]["check"])
            rows.append((name, results))
    print()
    print(
        f"{'store':<11} {'agents':>6} {'interviews/s':>13} {'1 agent/s':>10} {'ratio':>6} {'p99 ms':>7} "
        f"{'waits':>6} {'errors':>7} {'checks':>7}"
    )
    for name, results in rows:
        many, one = results["agents"], results["baseline"]
        print(
            f"{name:<11} {many['agents']:>6} {many['rate']:13.1f} {one['rate']:10.1f} "
            f"{benchlib.ratio(many['rate'], one['rate']):>6} {many['p99']:7.1f} {many['waited']:>6} "
            f"{sum(many['errors'].values()):>7} {'ok' if not many['check'] else 'FAILED':>7}"
        )
    if failed:
        raise SystemExit("a check failed: see above")


if __name__ == "__main__":
    main()
