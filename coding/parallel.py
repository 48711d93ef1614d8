"""Coding runs on every core: distinct texts coded once per run, by worker processes, in the background."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from coding.results import CodedRow, CodedTexts, TextCoder

# Below this many new distinct texts a call is coded in this process: handing texts to a worker
# and codes back costs more than it saves.
PARALLEL_MIN = 2000
# Codes of distinct texts are kept for the rest of a run, up to this many (a few hundred bytes
# each); past it the memo starts afresh, so memory stays bounded on any input.
MEMO_LIMIT = 500_000
WORKER_NICENESS = 10

_worker_coder: TextCoder | None = None


def default_processes() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _install(coder: TextCoder) -> None:
    global _worker_coder
    _worker_coder = coder
    if hasattr(os, "nice"):
        # The process that started the run reads and writes for all the workers: when there are
        # more processes than cores, it must not wait for a core behind them.
        os.nice(WORKER_NICENESS)


def _code_in_worker(texts: list[str]) -> CodedTexts:
    assert _worker_coder is not None, "the worker was started without a coder"
    return _worker_coder.code_raw(texts)


class CodingPool:
    """Worker processes, each with its own copy of the coder.

    Where the platform forks, workers start from the loaded coder without unpickling a model.
    Should a worker die (killed, out of memory), its share is coded in this process and the
    pool is retired, so a run ends with the same codes, only later.
    """

    def __init__(self, coder: TextCoder, processes: int) -> None:
        self.coder = coder
        self.processes = max(1, processes)
        method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
        self._executor: ProcessPoolExecutor | None = ProcessPoolExecutor(
            self.processes,
            mp_context=multiprocessing.get_context(method),
            initializer=_install,
            initargs=(coder,),
        )

    def submit(self, texts: list[str]) -> list[tuple[list[str], Future[CodedTexts] | None]]:
        """The texts in one share per worker, each handed to the pool (None: to be coded here)."""
        size = -(-len(texts) // self.processes)
        shares = [texts[start : start + size] for start in range(0, len(texts), size)]
        submitted: list[tuple[list[str], Future[CodedTexts] | None]] = []
        for share in shares:
            future = None
            if self._executor is not None:
                try:
                    future = self._executor.submit(_code_in_worker, share)
                except BrokenProcessPool:
                    self.close()
            submitted.append((share, future))
        return submitted

    def collect(self, submitted: list[tuple[list[str], Future[CodedTexts] | None]]) -> CodedTexts:
        """The codes of submitted shares, in order; waits for the workers."""
        parts = []
        for share, future in submitted:
            part = None
            if future is not None:
                try:
                    part = future.result()
                except BrokenProcessPool:
                    self.close()
            parts.append(part if part is not None else self.coder.code_raw(share))
        return CodedTexts.concat(parts)

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None


class _Batch:
    """The new distinct texts of one call: coded by the workers (or here), rows on demand."""

    def __init__(self, run: CodingRun, texts: list[str]) -> None:
        self.run = run
        self.rows: list[CodedRow] | None = None
        self.submitted = None
        if run.pool is not None and len(texts) >= PARALLEL_MIN:
            self.submitted = run.pool.submit(texts)
        else:
            self.rows = run.coder.code_raw(texts).rows()

    def row(self, index: int) -> CodedRow:
        if self.rows is None:
            assert self.run.pool is not None and self.submitted is not None
            self.rows = self.run.pool.collect(self.submitted).rows()
            self.submitted = None
        return self.rows[index]


class CodingRun:
    """What `Coder.pooled` holds: the worker pool and, per distinct text, where its code is.

    A text is coded once per run: a later call finds it in the memo, even while the workers
    are still coding the call that brought it first.
    """

    def __init__(self, coder: TextCoder, processes: int) -> None:
        self.coder = coder
        self.pool = CodingPool(coder, processes) if processes > 1 else None
        self.memo: dict[str, tuple[_Batch, int]] = {}

    def start(self, texts: list[str]) -> Callable[[], CodedTexts]:
        """Begin coding distinct texts as typed; the function returned waits for and gives their codes."""
        memo = self.memo
        found = [memo.get(text) for text in texts]
        new = [text for text, where in zip(texts, found, strict=True) if where is None]
        batch = _Batch(self, new) if new else None
        if len(memo) + len(new) > MEMO_LIMIT:
            memo.clear()
        places: list[tuple[_Batch, int]] = []
        position = 0
        for text, where in zip(texts, found, strict=True):
            if where is None:
                assert batch is not None
                where = memo[text] = (batch, position)
                position += 1
            places.append(where)
        reasons = len(self.coder.codebook.reason_ids)
        return lambda: CodedTexts.from_rows([owner.row(index) for owner, index in places], reasons)

    def close(self) -> None:
        if self.pool is not None:
            self.pool.close()
