"""The researcher's commands run as a user would; results re-read from files and the store."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from coding import model as reason_model
from coding.codebook import load_codebook
from coding.coder import default_coder
from survey_tui.cli import cli
from survey_tui.model import Answer, load_questionnaire
from survey_tui.store import Store
from tests.conftest import ROOT
from tests.test_store import rows


@pytest.fixture(scope="session")
def model_file(small_model, tmp_path_factory) -> Path:  # type: ignore[no-untyped-def]
    path = tmp_path_factory.mktemp("model") / "reason_model.joblib"
    reason_model.save(small_model, path)
    return path


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, model_file: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("CHURN_SURVEY_MODEL", str(model_file))


def run(*args: str) -> object:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def interview(store: Store, operator: str | None, reason: str, agent: str = "a1") -> int:
    questionnaire = load_questionnaire(ROOT / "questionnaires" / "disconnect_phone.yaml")
    interview_id = store.start_interview(store.register_questionnaire(questionnaire), agent)
    if operator:
        store.save_answer(interview_id, "q1_operator", Answer(operator))
    return store.save_answer(interview_id, "q3_leave_reason", Answer(reason)).id


def test_code_a_file(tmp_path: Path) -> None:
    source = tmp_path / "answers.csv"
    source.write_text("id,text\n1,太贵了\n2,搬家了\n", "utf-8")
    output = tmp_path / "coded.csv"
    result = run("code", str(source), "--text-column", "text", "--id-column", "id", "--output", str(output))
    assert result.exit_code == 0, result.output
    assert "coded 2 answers" in result.output
    text = output.read_text("utf-8-sig")
    assert text.splitlines()[0].startswith("id,text,reasons,primary_reason,competitor,confidence,needs_review")
    assert ",relocation," in text


def test_code_a_file_needs_its_options(tmp_path: Path) -> None:
    source = tmp_path / "answers.csv"
    source.write_text("id,text\n1,太贵了\n", "utf-8")
    assert run("code", str(source), "--text-column", "text").exit_code == 2
    missing = run("code", str(source), "--text-column", "answer", "--output", str(tmp_path / "o.csv"))
    assert missing.exit_code == 1 and "no column 'answer'" in missing.output


def test_code_the_store_keeps_human_codes(sqlite_url: str) -> None:
    with Store.open(sqlite_url) as store:
        mobile = interview(store, "china_mobile", "送的宽带，电信太贵了")
        unknown = interview(store, None, "搬家了，新家装了联通")
        refused = store.start_interview(1, "a1")
        store.save_answer(refused, "q3_leave_reason", Answer(special=None, value=""))

    result = run("code", "--db", sqlite_url)
    assert result.exit_code == 0, result.output
    assert "coded 2 stored answer(s)" in result.output
    with Store.open(sqlite_url) as store:
        [code] = store.codes_for(mobile)
        assert code.source == "auto" and "price" in code.reasons
        assert code.competitor == "china_mobile"
        assert store.codes_for(unknown)[0].competitor == "china_unicom"
        store.save_code(mobile, ["price", "other_network"], source="human", coder="r1", competitor="china_mobile")

    assert "coded 0 stored answer(s)" in run("--db", sqlite_url, "code").output
    assert "coded 1 stored answer(s)" in run("--db", sqlite_url, "code", "--recode").output
    with Store.open(sqlite_url) as store:
        assert [c.source for c in store.codes_for(mobile)] == ["auto", "human"]
        assert len(store.codes_for(unknown)) == 2


def test_train_saves_a_model_that_code_then_uses(sqlite_url: str, tmp_path: Path) -> None:
    with Store.open(sqlite_url) as store:
        answer = interview(store, None, "家里猫老是闪红灯")
        store.save_code(answer, ["slow_speed"], source="human", coder="r1")
    target = tmp_path / "mine.joblib"
    result = run("--db", sqlite_url, "train", "--output", str(target))
    assert result.exit_code == 0, result.output
    assert "1 human codes" in result.output
    info = json.loads(target.with_suffix(".json").read_text("utf-8"))
    assert info["codebook_sha256"] == load_codebook().sha256
    assert info["sources"]["human_codes"] == 1
    assert info["libraries"]["scikit-learn"]
    source = tmp_path / "a.csv"
    source.write_text("text\n网速太慢\n", "utf-8")
    coded = run(
        "code",
        str(source),
        "--text-column",
        "text",
        "--output",
        str(tmp_path / "o.csv"),
        "--model",
        str(target),
    )
    assert info["version"] in coded.output


def test_a_model_for_another_codebook_is_retrained_with_a_notice(tmp_path: Path, model_file: Path) -> None:
    stale = tmp_path / "stale.joblib"
    stale.write_bytes(model_file.read_bytes())
    info = json.loads(model_file.with_suffix(".json").read_text("utf-8"))
    info["codebook_sha256"] = "0" * 64
    stale.with_suffix(".json").write_text(json.dumps(info), "utf-8")
    notices: list[str] = []
    coder = default_coder(notify=notices.append, model_path=stale)
    assert notices and "codebook changed" in notices[0] and "retraining" in notices[0]
    assert coder.model is not None and coder.model.info["codebook_sha256"] == load_codebook().sha256
    assert (tmp_path / "cache" / "churn-survey" / "reason_model.joblib").exists()


def test_evaluate_prints_the_figures(tmp_path: Path) -> None:
    gold = tmp_path / "gold.csv"
    gold.write_text(
        "text,reasons,competitor,split\n太贵了,price,unknown,test\n搬家了,relocation,unknown,test\n"
        "装了联通,other_network,china_unicom,test\n网速太慢,slow_speed,unknown,train\n",
        "utf-8",
    )
    result = run("evaluate", str(gold), "--competitor-column", "competitor", "--split", "test", "--json")
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output)
    assert figures["items"] == 3
    assert figures["exact_match"] == 1.0 and figures["micro_f1"] == 1.0
    assert figures["competitor_accuracy"] == 1.0
    assert set(figures["coverage_at_precision"]) == {"0.90", "0.95", "0.99"}
    table = run("evaluate", str(gold), "--rules-only")
    assert "micro-F1" in table.output and "relocation" in table.output


def test_agreement_between_two_coded_files(tmp_path: Path) -> None:
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    first.write_text("id,reasons\n1,price\n2,relocation\n3,price;slow_speed\n4,\n", "utf-8")
    second.write_text("id,reasons\n1,price\n2,relocation\n3,price\n4,\n5,price\n", "utf-8")
    result = run("agreement", str(first), str(second), "--json")
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output)
    assert figures["items"] == 4
    assert figures["exact_agreement"] == 0.75
    assert figures["per_category"]["price"] == 1.0
    assert figures["per_category"]["slow_speed"] == 0.0


def test_agreement_between_the_model_and_a_person_in_the_store(sqlite_url: str) -> None:
    with Store.open(sqlite_url) as store:
        answers = [interview(store, None, text) for text in ("太贵了", "搬家了", "网速太慢", "ITV会员费贵")]
    run("--db", sqlite_url, "code")
    with Store.open(sqlite_url) as store:
        for answer_id, reasons in zip(answers, (["price"], ["relocation"], ["slow_speed"], ["price"]), strict=True):
            store.save_code(answer_id, reasons, source="human", coder="r1")
    result = run("--db", sqlite_url, "agreement", "--coders", "auto", "r1", "--json")
    figures = json.loads(result.output)
    assert figures["items"] == 4
    assert figures["exact_agreement"] == 0.75


def test_themes_of_staff_interviews(tmp_path: Path) -> None:
    source = tmp_path / "staff.csv"
    source.write_text(
        "question,text\nq_churn_reasons,电子政务外网强制招投标，我们没中标\nq_churn_reasons,移动联通上半年免费后面半价\n"
        "q_retention_means,定期走访关键人，做组网专线\n",
        "utf-8",
    )
    result = run("themes", str(source), "--text-column", "text", "--question-column", "question", "--format", "json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    counts = {(row["question"], row["theme"]): row["answers"] for row in payload["themes"]}
    assert counts[("q_churn_reasons", "tendering")] == 1
    assert counts[("q_churn_reasons", "price_war")] == 1
    assert counts[("q_retention_means", "relationship")] == 1
    assert counts[("all", "tendering")] == 1
    assert any(row["term"] == "招投标" for row in payload["terms"]["q_churn_reasons"])


def review_app(store: Store, spool: Path):  # type: ignore[no-untyped-def]
    """The app as `churn-survey review --coder r9` opens it."""
    from survey_tui.app import make_app

    return make_app(
        store,
        agent="r9",
        questionnaire=load_questionnaire(ROOT / "questionnaires" / "disconnect_phone.yaml"),
        staff_questionnaire=load_questionnaire(ROOT / "questionnaires" / "staff_interview.yaml"),
        spool_dir=spool,
        review=True,
        role="researcher",
    )


async def test_review_screen_stores_a_human_code(sqlite_url: str, tmp_path: Path) -> None:
    from survey_tui.screens import ReviewScreen
    from tests.test_tui import until

    with Store.open(sqlite_url) as store:
        store.import_cases(rows(1))
        answer = interview(store, None, "网速有点慢，但主要是太贵")
        store.save_code(answer, ["price"], source="auto", confidence=0.4, needs_review=True)
        sure = interview(store, None, "搬家了")
        store.save_code(sure, ["relocation"], source="auto", confidence=0.99, needs_review=False)
        app = review_app(store, tmp_path)
        async with app.run_test(size=(100, 32)) as pilot:
            await until(pilot, lambda: isinstance(app.screen, ReviewScreen))
            screen = app.screen
            assert len(screen.queue) == 1  # type: ignore[attr-defined]
            shown = str(screen.query_one("#answer").render())
            assert "太贵" in shown
            await pilot.press("6", "m", "enter")  # add slow_speed, competitor China Mobile
            await until(pilot, lambda: screen.saved == 1)  # type: ignore[attr-defined]
        [human] = [c for c in store.codes_for(answer) if c.source == "human"]
        assert human.coder == "r9"
        assert human.reasons == ["price", "slow_speed"]
        assert human.competitor == "china_mobile"
        assert store.review_queue() == []
        assert human.coded_at <= datetime.now(UTC)


@pytest.fixture
def small_corpus(monkeypatch: pytest.MonkeyPatch) -> None:
    """`train` on a sample of the corpora, so that a test trains in seconds."""
    import coding.coder
    from coding.corpus import load_corpus

    sample = load_corpus(split="train").sample(600, random_state=11).reset_index(drop=True)
    monkeypatch.setattr(coding.coder, "load_corpus", lambda split=None: sample)


TEAM_CODES = [
    ("楼下分光箱被老鼠咬了，三天两头没信号", "slow_speed"),
    ("分光箱又被老鼠咬坏了", "slow_speed"),
    ("老鼠把楼道的线咬断了两回", "slow_speed"),
    ("账单里每个月有笔云盘钱，没办过", "bundling"),
    ("云盘的钱每个月都扣，从来没开过", "bundling"),
    ("又多出一笔云盘费", "bundling"),
]


def test_train_add_learns_the_teams_codes_from_csv_and_xlsx(small_corpus: None, tmp_path: Path) -> None:
    import openpyxl

    csv_file = tmp_path / "corrected.csv"
    csv_file.write_text(
        "id,text,reasons,competitor\n" + "".join(f"{n},{t},{r},unknown\n" for n, (t, r) in enumerate(TEAM_CODES[:3])),
        "utf-8-sig",
    )
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["text", "reasons"])
    for text, reasons in TEAM_CODES[3:]:
        sheet.append([text, reasons])
    xlsx_file = tmp_path / "corrected.xlsx"
    book.save(xlsx_file)
    target = tmp_path / "team.joblib"
    result = run("train", "--add", str(csv_file), "--add", str(xlsx_file), "--no-store", "--output", str(target))
    assert result.exit_code == 0, result.output
    assert "3 from" in result.output and "corrected.xlsx" in result.output
    info = json.loads(target.with_suffix(".json").read_text("utf-8"))
    assert info["sources"]["human_codes"] == 6
    answers = tmp_path / "answers.csv"
    answers.write_text("text\n" + "".join(f"{text}\n" for text, _ in TEAM_CODES), "utf-8")
    coded_file = tmp_path / "coded.csv"
    coded = run("code", str(answers), "--text-column", "text", "--output", str(coded_file), "--model", str(target))
    assert coded.exit_code == 0, coded.output
    back = coded_file.read_text("utf-8-sig").splitlines()[1:]
    assert sum(f",{reasons}," in line for line, (_, reasons) in zip(back, TEAM_CODES, strict=True)) >= 5


def test_train_add_refuses_a_bad_file_naming_the_row_and_writes_nothing(small_corpus: None, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("text,reasons\n太贵了,price\n网速慢,slowspeed\n", "utf-8")
    target = tmp_path / "never.joblib"
    result = CliRunner().invoke(cli, ["train", "--add", str(bad), "--no-store", "--output", str(target)])
    assert result.exit_code == 1
    assert "bad.csv: row 3: unknown reason ids ['slowspeed']" in result.output
    assert "Traceback" not in result.output
    assert not target.exists() and not target.with_suffix(".json").exists()
    missing = CliRunner().invoke(
        cli, ["train", "--add", str(tmp_path / "nowhere.csv"), "--no-store", "-o", str(target)]
    )
    assert missing.exit_code == 1 and "no such file" in missing.output
    assert not target.exists()


def test_evaluate_leave_one_writer_out_scores_every_writer_with_a_coder_that_never_saw_it(tmp_path: Path) -> None:
    from coding.corpus import join_reasons, load_corpus

    sample = load_corpus().groupby("part").sample(40, random_state=3)
    sample = sample[sample["part"].isin(["part_a", "part_e", "part_j"])]
    gold = tmp_path / "gold.csv"
    sample.assign(reasons=sample["reasons"].map(join_reasons))[["text", "reasons", "competitor", "part"]].to_csv(
        gold, index=False
    )
    result = run(
        "evaluate", str(gold), "--protocol", "leave-one-writer-out", "--competitor-column", "competitor", "--json"
    )
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output[result.output.index("{") :])
    assert [fold["held out"] for fold in figures["folds"]] == ["part_a", "part_e", "part_j"]
    assert all(fold["answers"] == 40 and fold["trained on"] == 80 for fold in figures["folds"])
    assert 0.0 < figures["pooled"]["micro_f1"] <= 1.0
    no_part = tmp_path / "no_part.csv"
    no_part.write_text("text,reasons\n太贵了,price\n", "utf-8")
    refused = CliRunner().invoke(cli, ["evaluate", str(no_part), "--protocol", "leave-one-writer-out"])
    assert refused.exit_code == 1 and "no column 'part'" in refused.output


async def test_review_retrains_after_a_batch_and_says_how_the_estimate_moved(
    sqlite_url: str, tmp_path: Path, small_corpus: None, small_model
) -> None:  # type: ignore[no-untyped-def]
    from coding.coder import Coder
    from survey_tui.research.coding import ReviewSession
    from survey_tui.screens import ReviewScreen
    from tests.test_tui import until

    with Store.open(sqlite_url) as store:
        store.import_cases(rows(1))
        texts = ["网速有点慢，但主要是太贵", "嗯那个也说不上来", "搬家了", "光猫老亮红灯"]
        for text in texts:
            store.save_code(interview(store, None, text), ["price"], source="auto", confidence=0.3, needs_review=True)
        app = review_app(store, tmp_path)
        model_path = tmp_path / "team.joblib"
        session = ReviewSession(store, Coder(load_codebook(), small_model), batch=2, model_path=model_path)
        async with app.run_test(size=(100, 36)) as pilot:
            await until(pilot, lambda: isinstance(app.screen, ReviewScreen))
            app.pop_screen()
            screen = ReviewScreen("r9", session)
            await app.push_screen(screen)
            await until(pilot, lambda: len(screen.queue) == 4)
            assert sorted(str(item.text) for item in screen.queue) == sorted(texts)
            await pilot.press("enter")
            await pilot.press("enter")
            await until(pilot, lambda: screen.learned is not None, timeout=120)
            assert screen.learned is not None and screen.learned.human_codes == 2
            assert "估计正确率" in str(screen.query_one("#learning").render())
        assert model_path.exists()
        assert len([c for c in store.latest_codes(source="human").values()]) == 2
