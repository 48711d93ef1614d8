"""One encoding detector, one CSV for Excel and one masking rule, shared by call lists, coding and exports."""

from __future__ import annotations

import stat
from pathlib import Path

import pandas as pd
import pytest

from coding.normalize import mask_account, mask_phone, mask_phones
from coding.tables import TableError, read_chunks
from coding.textio import EncodingError, ExcelCsvWriter, detect_encoding, excel_csv_text
from survey_tui.calling.call_list import CallListError, read_call_list

CALL_LISTS = Path(__file__).resolve().parent / "bad_input" / "call_lists"
READABLE = ["gbk.csv", "gb18030.csv", "unicode_text_utf16.txt", "formula_injection.csv", "header_only.csv"]
REFUSED = ["mixed_encodings.csv", "utf8_bom_then_gbk.csv", "not_text.csv"]


@pytest.mark.parametrize("name", READABLE)
def test_call_lists_and_answer_tables_accept_the_same_files(name: str) -> None:
    path = CALL_LISTS / name
    assert read_call_list(path).encoding == detect_encoding(path)
    # The coding commands read the very same file (its phone column, whatever its encoding).
    column = "手机号" if name != "formula_injection.csv" else next(iter(read_call_list(path).columns.values()))
    frames = list(read_chunks(path, [column]))
    assert sum(len(frame) for frame in frames) >= len(read_call_list(path).rows)


@pytest.mark.parametrize("name", REFUSED)
def test_call_lists_and_answer_tables_refuse_the_same_files_with_the_same_words(name: str) -> None:
    path = CALL_LISTS / name
    with pytest.raises(EncodingError) as detected:
        detect_encoding(path)
    with pytest.raises(CallListError) as listed:
        read_call_list(path)
    with pytest.raises(TableError) as tabled:
        list(read_chunks(path, ["手机号"]))
    assert str(detected.value) == str(listed.value) == str(tabled.value)


def test_a_workbook_named_csv_is_told_apart(tmp_path: Path) -> None:
    path = tmp_path / "list.csv"
    path.write_bytes(b"PK\x03\x04rest of a zip")
    with pytest.raises(EncodingError, match="rename it to .xlsx"):
        detect_encoding(path)


def test_csv_for_excel_has_a_bom_keeps_formulas_text_and_appears_whole(tmp_path: Path) -> None:
    frame = pd.DataFrame({"答案": ['=HYPERLINK("http://x")', "移动送的宽带"], "n": [1, 2]})
    path = tmp_path / "out.csv"
    with ExcelCsvWriter(path) as writer:
        writer.write(frame.iloc[:1])
        assert not path.exists()  # only once complete
        writer.write(frame.iloc[1:])
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    assert (
        raw.decode("utf-8-sig")
        == excel_csv_text(frame)[1:]
        == '答案,n\n"\'=HYPERLINK(""http://x"")",1\n移动送的宽带,2\n'
    )
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_one_masking_rule_for_fields_and_free_text() -> None:
    assert mask_phone("15412345678") == "154****5678"
    assert mask_account("SY00012345") == "******2345"
    assert (
        mask_phones("打15412345678或0739-5551234") == f"打{mask_phone('15412345678')}或0739-{mask_account('5551234')}"
    )
    assert mask_phone("123456") == "****56" and mask_account("1234") == "****" and mask_phone("") == ""
