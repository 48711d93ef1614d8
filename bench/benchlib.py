"""What the benchmarks share: answers drawn like real ones, a store filled in bulk, memory and timing."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"

# -- answers drawn the way survey answers repeat ---------------------------------------------------

# A detail only that customer gave: it makes the answer unique, as the long tail of real answers is.
DETAILS = (
    "一个月{}块",
    "等了{}天才来装",
    "用了{}年了",
    "在{}号楼住",
    "{}月份的事",
    "打了{}次10000号",
    "家里{}个人用",
    "138{:08d}是我电话",
)
ZIPF_EXPONENT = 1.1


def corpus_texts() -> list[str]:
    """The first corpus's short survey answers: the input the figures of bench/README.md were measured on."""
    from coding.corpus import load_corpus

    return load_corpus(corpora=("corpus",))["text"].tolist()


def phrasing_ranks(texts: Sequence[str], seed: int) -> list[str]:
    """The corpus phrasings from most to least frequent: short ones tend to come first (the terse
    notes agents type again and again), with chance mixed in so that every reason reaches the head."""
    rng = np.random.default_rng(seed)
    keys = np.array([len(text) for text in texts], dtype=float) * rng.uniform(0.3, 1.7, len(texts))
    return [texts[i] for i in np.argsort(keys, kind="stable")]


def generate_answers(count: int, unique_share: float = 0.1, empty_share: float = 0.005, seed: int = 1) -> list[str]:
    """`count` answers: Zipf (exponent 1.1) over the ranked corpus phrasings, `unique_share` of them
    made unique by a detail, `empty_share` left empty (the agent typed nothing)."""
    ranked = phrasing_ranks(corpus_texts(), seed)
    rng = np.random.default_rng(seed)
    weights = 1.0 / np.arange(1, len(ranked) + 1) ** ZIPF_EXPONENT
    weights /= weights.sum()
    answers = np.array(ranked, dtype=object)[rng.choice(len(ranked), size=count, p=weights)]
    draw = rng.random(count)
    for position in np.nonzero(draw < unique_share)[0]:
        detail = DETAILS[position % len(DETAILS)].format(position)
        answers[position] = f"{answers[position]}，{detail}"
    answers[(draw >= unique_share) & (draw < unique_share + empty_share)] = ""
    return answers.tolist()


def describe_answers(answers: Sequence[str]) -> str:
    from collections import Counter

    counts = Counter(answers)
    top = counts.most_common(10)
    head = sum(n for _text, n in top)
    singles = sum(1 for n in counts.values() if n == 1)
    return (
        f"{len(answers):,} answers, {len(counts):,} distinct ({len(counts) / max(1, len(answers)):.1%}); "
        f"the 10 most frequent are {head / max(1, len(answers)):.1%} of all (top: {top[0][0]!r} "
        f"{top[0][1] / max(1, len(answers)):.1%}); {singles:,} answers occur once"
    )


# -- figures ---------------------------------------------------------------------------------------


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def percentile(values: Sequence[float], share: float) -> float:
    return float(np.percentile(np.asarray(values, dtype=float), share * 100))


def _children(pid: int) -> list[int]:
    found = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as handle:
                found += [int(child) for child in handle.read().split()]
    except OSError:
        pass
    return found


def _tree(pid: int) -> list[int]:
    pids, queue = [], [pid]
    while queue:
        current = queue.pop()
        pids.append(current)
        queue += _children(current)
    return pids


def _memory_kb(pid: int) -> tuple[int, int]:
    """(PSS, RSS) of one process in kB: PSS shares the pages forked workers have in common."""
    pss = rss = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup") as handle:
            for line in handle:
                if line.startswith("Pss:"):
                    pss = int(line.split()[1])
                elif line.startswith("Rss:"):
                    rss = int(line.split()[1])
    except OSError:
        try:
            with open(f"/proc/{pid}/status") as handle:
                for line in handle:
                    if line.startswith("VmRSS:"):
                        rss = pss = int(line.split()[1])
        except OSError:
            pass
    return pss, rss


class PeakMemory:
    """Samples a process and its descendants every 100 ms: the peak of their summed PSS and RSS.

    Reading smaps_rollup walks a process's page tables; sampled more often, the sampler itself
    takes a share of a core from what it measures on a 2-core machine.
    """

    def __init__(self, pid: int, interval: float = 0.1) -> None:
        self.pid, self.interval = pid, interval
        self.peak_pss_kb = self.peak_rss_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval)

    def sample(self) -> None:
        pss = rss = 0
        for pid in _tree(self.pid):
            one_pss, one_rss = _memory_kb(pid)
            pss, rss = pss + one_pss, rss + one_rss
        self.peak_pss_kb, self.peak_rss_kb = max(self.peak_pss_kb, pss), max(self.peak_rss_kb, rss)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def peak_mb(self) -> float:
        return self.peak_pss_kb / 1024


@dataclass
class Run:
    """One timed command: wall seconds, CPU seconds of the process tree, peak memory (MB)."""

    seconds: float
    cpu_seconds: float
    peak_mb: float
    stdout: str


def run_command(args: Sequence[str], *, env: dict[str, str] | None = None, cwd: Path | None = None) -> Run:
    """Run a command to its end, as a user would, sampling its memory; a failure stops the benchmark."""
    before = os.times()
    started = time.perf_counter()
    process = subprocess.Popen(
        list(args),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUTF8": "1", **(env or {})},
        cwd=cwd or ROOT,
    )
    with PeakMemory(process.pid) as memory:
        stdout, stderr = process.communicate()
    seconds = time.perf_counter() - started
    after = os.times()
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed ({process.returncode}):\n{stderr}")
    cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    return Run(seconds, cpu, memory.peak_mb, stdout)


def churn_survey(*args: str) -> list[str]:
    """The installed command, run by this Python (so the benchmark uses the venv it was started in)."""
    return [sys.executable, "-m", "survey_tui", *args]


def ratio(product: float, baseline: float) -> str:
    return f"{product / baseline:,.1f}x" if baseline else "n/a"


# -- databases -------------------------------------------------------------------------------------


@contextmanager
def throwaway_pg(base_url: str) -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a fresh schema of our own, dropped afterwards."""
    import sqlalchemy as sa

    from survey_tui.store import resolve_url

    schema_name = f"bench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(resolve_url(base_url))
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema_name}"'))
    separator = "&" if "?" in base_url else "?"
    try:
        yield f"{base_url}{separator}options=-csearch_path%3D{schema_name}"
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema_name}" CASCADE'))
        admin.dispose()


def pg_available(url: str) -> str | None:
    """None when the server answers, else why not."""
    import sqlalchemy as sa

    from survey_tui.store import resolve_url

    try:
        engine = sa.create_engine(resolve_url(url), connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        engine.dispose()
    except Exception as error:  # noqa: BLE001 - any failure means: skip PostgreSQL, say why
        return str(error).splitlines()[0]
    return None


# -- a store of completed interviews, loaded in bulk -----------------------------------------------

BRANCHES = ("大祥支局", "双清支局", "北塔支局", "邵东支局", "新邵支局", "隆回支局")
PACKAGES = ("单宽带100M", "单宽带300M", "融合套餐129元", "融合套餐169元", "天翼看家融合199元", "ITV+宽带套餐")
OPERATORS = ("china_mobile", "china_unicom", "china_broadnet", "other_isp", "china_telecom", "none")
OPERATOR_WEIGHTS = (0.5, 0.25, 0.05, 0.05, 0.1, 0.05)
FACTORS = ("price", "speed", "service", "install", "bundle", "brand")


def load_call_list(url: str, count: int) -> None:
    """`count` fictional customers (numbers in the unallocated 154 segment) onto the store's call list."""
    from survey_tui.store import CallListRow, Store

    rows = [
        CallListRow(
            line=n + 2,
            phone=f"154{n:08d}",
            account=None,
            name=None,
            branch=BRANCHES[n % len(BRANCHES)],
            disconnect_date=None,
            package=None,
            extra={},
        )
        for n in range(count)
    ]
    with Store.open(url) as store:
        store.import_cases(rows)


def disconnect_questionnaire() -> Any:
    from survey_tui.model import load_questionnaire
    from survey_tui.resources import find_questionnaire

    return load_questionnaire(find_questionnaire("disconnect_phone"))


def fill_store(url: str, q3_answers: Sequence[str], *, agents: int = 40, seed: int = 2, batch: int = 20_000) -> int:
    """One case, one completed call and one completed interview (q1-q6) per q3 answer, written in
    bulk beneath the store's API (the API writes one answer per transaction, as agents do);
    values go through the schema's own column types. Returns the questionnaire's row id."""
    from survey_tui.store import Store, schema

    count = len(q3_answers)
    rng = np.random.default_rng(seed)
    texts = corpus_texts()
    with Store.open(url) as store:
        questionnaire_id = store.register_questionnaire(disconnect_questionnaire())
        with BulkWriter(store.engine) as writer:
            answer_id = 0
            for first in range(0, count, batch):
                rows = _interview_rows(rng, texts, q3_answers[first : first + batch], first, answer_id, agents)
                rows["questionnaire_id"] = questionnaire_id
                for table in (schema.cases, schema.call_attempts, schema.interviews, schema.answers):
                    writer.write(table, [{**row, **_fixed(table.name, rows)} for row in rows[table.name]])
                answer_id += len(rows["answers"])
    return questionnaire_id


def _fixed(table: str, rows: dict[str, Any]) -> dict[str, Any]:
    return {"questionnaire_id": rows["questionnaire_id"]} if table == "interviews" else {}


def _interview_rows(
    rng: np.random.Generator, texts: list[str], q3: Sequence[str], first: int, answer_id: int, agents: int
) -> dict[str, Any]:
    count = len(q3)
    start = datetime(2021, 5, 6, 9, 0, tzinfo=UTC)
    seconds = rng.integers(0, 90 * 86400, count)
    operators = rng.choice(len(OPERATORS), size=count, p=OPERATOR_WEIGHTS)
    factor_counts = rng.integers(1, 4, count)
    branch = rng.integers(0, len(BRANCHES), count)
    package = rng.integers(0, len(PACKAGES), count)
    days = rng.integers(0, 89, count)
    q4 = rng.choice(["yes", "no", "not_sure"], size=count, p=[0.25, 0.6, 0.15])
    q6 = rng.choice(["single", "fusion", "no_preference"], size=count, p=[0.35, 0.45, 0.2])
    q2_pick = rng.integers(0, len(texts), count)
    cases, attempts, interviews, answers = [], [], [], []
    for offset in range(count):
        n = first + offset
        case_id = interview_id = n + 1
        moment = start + timedelta(seconds=int(seconds[offset]))
        ended = moment + timedelta(minutes=4)
        agent = f"A{n % agents:02d}"
        cases.append(
            {
                "id": case_id,
                "phone": f"154{n:08d}",
                "account": f"BENCH{n:08d}",
                "name": None,
                "branch": BRANCHES[branch[offset]],
                "disconnect_date": date(2021, 2, 1) + timedelta(days=int(days[offset])),
                "package": PACKAGES[package[offset]],
                "extra": {},
                "source_file": "bench",
                "source_line": n + 2,
                "imported_at": start,
                "status": "done",
                "claimed_by": None,
                "claimed_at": None,
                "callback_at": None,
                "callback_agent": None,
                "attempts": 1,
                "last_outcome": "complete",
            }
        )
        attempts.append(
            {
                "id": n + 1,
                "case_id": case_id,
                "agent": agent,
                "started_at": moment,
                "ended_at": ended,
                "outcome": "complete",
                "aapor_code": "1.1",
                "note": None,
                "callback_at": None,
            }
        )
        interviews.append(
            {
                "id": interview_id,
                "case_id": case_id,
                "interviewee": None,
                "agent": agent,
                "status": "complete",
                "started_at": moment,
                "ended_at": ended,
                "current_question": "q6_package_pref",
                "break_off_reason": None,
            }
        )
        operator = OPERATORS[operators[offset]]
        given: list[tuple[str, Any, str | None]] = [("q1_operator", operator, None)]
        if operator not in ("china_telecom", "none"):
            given.append(("q2_competitor_reason", texts[q2_pick[offset]], None))
        text = q3[offset]
        given.append(("q3_leave_reason", text if text else None, None if text else "refused"))
        given.append(("q4_retention_call", str(q4[offset]), None))
        given.append(("q5_factors", [FACTORS[(n + k) % len(FACTORS)] for k in range(int(factor_counts[offset]))], None))
        given.append(("q6_package_pref", str(q6[offset]), None))
        for question_id, value, special in given:
            answer_id += 1
            answers.append(
                {
                    "id": answer_id,
                    "interview_id": interview_id,
                    "question_id": question_id,
                    "value": value,
                    "special": special,
                    "other_text": None,
                    "shown_at": moment,
                    "answered_at": moment + timedelta(seconds=20),
                    "duration_ms": 20000,
                    "change_count": 0,
                    "draft": False,
                }
            )
    return {"cases": cases, "call_attempts": attempts, "interviews": interviews, "answers": answers}


class BulkWriter:
    """Rows into tables at driver speed (COPY on PostgreSQL, executemany in one transaction on
    SQLite), each value converted by its column's type exactly as the store converts it."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self.dialect = engine.dialect
        self.raw = engine.raw_connection()
        self.cursor = self.raw.cursor()
        self.tables: set[str] = set()
        if self.dialect.name == "sqlite":
            self.cursor.execute("BEGIN")

    def _converters(self, table: Any) -> list[Any]:
        converters = []
        for column in table.c:
            convert = column.type.dialect_impl(self.dialect).bind_processor(self.dialect)
            if self.dialect.name == "postgresql" and column.type.__class__.__name__ == "JSON":
                # COPY in text form: a JSON value goes as its text.
                convert = lambda value: None if value is None else json.dumps(value, ensure_ascii=False)  # noqa: E731
            converters.append(convert)
        return converters

    def write(self, table: Any, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        self.tables.add(table.name)
        names = [column.name for column in table.c]
        converters = self._converters(table)
        values = [
            tuple(
                convert(row.get(name)) if convert is not None else row.get(name)
                for name, convert in zip(names, converters, strict=True)
            )
            for row in rows
        ]
        if self.dialect.name == "postgresql":
            with self.cursor.copy(f"COPY {table.name} ({', '.join(names)}) FROM STDIN") as copy:
                for row in values:
                    copy.write_row(row)
            return
        marks = ", ".join("?" for _ in names)
        self.cursor.executemany(f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({marks})", values)

    def __enter__(self) -> BulkWriter:
        return self

    def __exit__(self, kind: object, *exc: object) -> None:
        try:
            if kind is not None:
                self.raw.rollback() if self.dialect.name == "postgresql" else self.cursor.execute("ROLLBACK")
                return
            if self.dialect.name == "postgresql":
                for table in self.tables:
                    self.cursor.execute(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
                    )
                self.raw.commit()
                for table in self.tables:
                    self.cursor.execute(f"ANALYZE {table}")
                self.raw.commit()
            else:
                self.cursor.execute("COMMIT")
                self.cursor.execute("ANALYZE")
        finally:
            self.cursor.close()
            self.raw.close()
