"""Coding runs on several processes, in chunks and pages: the same codes as coding one by one."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

from coding import parallel
from coding.coder import Coder
from coding.corpus import load_corpus
from coding.jobs import code_file
from survey_tui.model import Answer, load_questionnaire
from survey_tui.research.coding import code_store
from survey_tui.store import Store
from tests.conftest import ROOT


def answers(count: int) -> list[str]:
    """Corpus answers, repeated, with a share made unique: more distinct texts than PARALLEL_MIN."""
    texts = load_corpus()["text"].tolist()
    return [texts[n % len(texts)] + (f"，等了{n}天" if n % 3 else "") for n in range(count)]


def test_a_pooled_run_gives_the_codes_of_coding_one_by_one(coder: Coder) -> None:
    texts = answers(9000)
    alone = coder.code(texts)
    with coder.pooled(2):
        # Both calls bring enough new texts for the workers; the second repeats some of the
        # first's, which may still be being coded when it starts.
        assert len(set(texts[:5000])) > parallel.PARALLEL_MIN
        assert len(set(texts[5000:]) - set(texts[:5000])) > parallel.PARALLEL_MIN
        first = coder.start(texts[:5000])
        second = coder.start(texts[4000:])
        pooled = pd.concat([first.result(), second.result().iloc[1000:]], ignore_index=True)
    pd.testing.assert_frame_equal(pooled.drop(columns="id"), alone.drop(columns="id"))
    for position in range(0, len(texts), 997):
        one = coder.code([texts[position]])
        pd.testing.assert_frame_equal(
            one.drop(columns="id").reset_index(drop=True),
            alone.drop(columns="id").iloc[[position]].reset_index(drop=True),
        )


def _dying_worker(texts: list[str]) -> object:
    os._exit(3)


def test_a_worker_that_dies_leaves_the_codes_unchanged(coder: Coder, monkeypatch: pytest.MonkeyPatch) -> None:
    texts = answers(5000)
    alone = coder.code(texts)
    # Forked workers find the function by name: every one of them dies at its first share.
    monkeypatch.setattr(parallel, "_code_in_worker", _dying_worker)
    with coder.pooled(2):
        pooled = coder.code(texts)
        again = coder.code(texts[:10])
    pd.testing.assert_frame_equal(pooled, alone)
    pd.testing.assert_frame_equal(again, alone.iloc[:10])


def test_a_file_coded_in_chunks_on_two_processes_equals_one_process(coder: Coder, tmp_path: Path) -> None:
    source = tmp_path / "answers.csv"
    pd.DataFrame({"id": range(1, 6001), "text": answers(6000)}).to_csv(source, index=False)
    outputs = []
    for processes, chunk_rows in ((1, 100_000), (2, 2500)):
        output = tmp_path / f"coded-{processes}.csv"
        report = code_file(
            coder, source, output, text_column="text", id_column="id", processes=processes, chunk_rows=chunk_rows
        )
        assert report.answers == 6000
        outputs.append(output.read_bytes())
    assert outputs[0] == outputs[1]


def test_the_store_is_coded_page_by_page_each_answer_once(coder: Coder, store: Store) -> None:
    texts = answers(40) + [""]
    questionnaire_id = store.register_questionnaire(
        load_questionnaire(ROOT / "questionnaires" / "disconnect_phone.yaml")
    )
    answer_ids = []
    for n, text in enumerate(texts):
        interview_id = store.start_interview(questionnaire_id, "a1")
        if n % 2:
            store.save_answer(interview_id, "q1_operator", Answer("china_unicom"))
        answer_ids.append(store.save_answer(interview_id, "q3_leave_reason", Answer(text or None)).id)
    store.save_code(answer_ids[5], ["price"], source="human", coder="r1")

    report = code_store(store, coder, chunk_rows=7, processes=2)

    assert (report.coded, report.skipped_empty) == (39, 1)
    hints = ["china_unicom" if n % 2 else None for n in range(40)]
    expected = coder.code(texts[:40], competitor_hints=hints)
    for n, (answer_id, row) in enumerate(zip(answer_ids, expected.itertuples(), strict=False)):
        codes = store.codes_for(answer_id)
        if n == 5:
            assert [code.source for code in codes] == ["human"]
            continue
        [code] = codes
        assert code.reasons == [r for r in row.reasons.split(";") if r]
        assert code.competitor == row.competitor
        assert code.confidence == pytest.approx(row.confidence)
        assert code.needs_review == row.needs_review
        assert code.model_version == coder.version and code.coded_at.tzinfo is not None
    assert code_store(store, coder, chunk_rows=7).coded == 0
    assert code_store(store, coder, chunk_rows=7, recode=True).coded == 39
