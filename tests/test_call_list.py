"""Tests for reading call lists from CSV and XLSX files."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest
from openpyxl import Workbook

from survey_tui.calling.call_list import (
    CallListError,
    normalize_phone,
    parse_date,
    read_call_list,
)

DEMO = Path(__file__).resolve().parent.parent / "data" / "demo_call_list.csv"
CN_HEADER = "手机号,宽带账号,姓名,支局,拆机日期,套餐,备注"


def write_text(path: Path, text: str, encoding: str) -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def write_xlsx(path: Path, rows: list[list[object]]) -> Path:
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    workbook.save(path)
    return path


# --- encodings and formats -----------------------------------------------------------------------


def test_gbk_csv_with_chinese_headers(tmp_path: Path) -> None:
    text = (
        f"{CN_HEADER}\n"
        "15400001234,SY000000001,王建国,大祥支局,2021-02-03,融合套餐129元,虚构\n"
        "15400005678,SY000000002,李秀英,双清支局,2021/3/4,单宽带100M,\n"
    )
    result = read_call_list(write_text(tmp_path / "list.csv", text, "gbk"))

    assert result.encoding == "gb18030"
    assert [row.name for row in result.rows] == ["王建国", "李秀英"]
    first = result.rows[0]
    assert first.phone == "15400001234"
    assert first.account == "SY000000001"
    assert first.branch == "大祥支局"
    assert first.disconnect_date == "2021-02-03"
    assert first.package == "融合套餐129元"
    assert first.extra == {"备注": "虚构"}
    assert result.rows[1].disconnect_date == "2021-03-04"
    assert result.rows[1].extra == {}
    assert result.columns["phone"] == "手机号"
    assert result.columns["disconnect_date"] == "拆机日期"
    assert result.skipped == []


def test_utf8_bom_csv(tmp_path: Path) -> None:
    text = f"{CN_HEADER}\n15400001234,SY000000001,张女士,北塔支局,2021年2月3日,ITV+宽带套餐,\n"
    result = read_call_list(write_text(tmp_path / "list.csv", text, "utf-8-sig"))

    assert result.encoding == "utf-8-sig"
    # A BOM left on the first header would hide the phone column.
    assert result.columns["phone"] == "手机号"
    assert result.rows[0].name == "张女士"
    assert result.rows[0].disconnect_date == "2021-02-03"


def test_plain_utf8_with_english_headers(tmp_path: Path) -> None:
    text = (
        "Phone Number,Account_ID,Customer_Name,Branch,Churn_Date,Plan\n"
        "154 0000 1234,SY1,Ann,大祥支局,20210203,单宽带300M\n"
    )
    result = read_call_list(write_text(tmp_path / "list.csv", text, "utf-8"))

    assert result.encoding == "utf-8"
    row = result.rows[0]
    assert (row.line, row.phone, row.account, row.name) == (2, "15400001234", "SY1", "Ann")
    assert (row.branch, row.disconnect_date) == ("大祥支局", "2021-02-03")
    assert row.package == "单宽带300M"
    assert set(result.columns) == {"phone", "account", "name", "branch", "disconnect_date", "package"}


def test_unknown_encoding_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "list.csv"
    path.write_bytes(b"phone\n\xff\xfe\xfd\xfc\xff\n")
    with pytest.raises(CallListError, match="encoding") as error:
        read_call_list(path)
    assert str(path) in str(error.value)


def test_xlsx_with_chinese_headers_numbers_and_dates(tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path / "list.xlsx",
        [
            ["手机号码", "宽带帐号", "客户姓名", "所属支局", "离网日期", "资费套餐", "欠费"],
            [15400001234, 73900012345, "王先生", "邵东支局", datetime(2021, 2, 3), "融合169元", 0],
            [15400005678.0, "SY000000002", "李女士", "新邵支局", date(2021, 4, 30), None, 12.5],
        ],
    )
    result = read_call_list(path)

    assert result.encoding is None
    assert [row.phone for row in result.rows] == ["15400001234", "15400005678"]
    first, second = result.rows
    assert first.line == 2 and second.line == 3
    assert first.account == "73900012345"
    assert first.name == "王先生"
    assert first.disconnect_date == "2021-02-03"
    assert second.disconnect_date == "2021-04-30"
    assert second.package is None
    assert first.extra == {"欠费": "0"}
    assert second.extra == {"欠费": "12.5"}


def test_xlsx_title_row_above_header_is_ignored(tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path / "list.xlsx",
        [["2021年2月拆机清单"], [], ["电话", "姓名"], ["15400001234", "赵六"]],
    )
    result = read_call_list(path)
    assert [(row.line, row.name) for row in result.rows] == [(4, "赵六")]


@pytest.mark.parametrize("delimiter", [";", "\t", "|"])
def test_other_delimiters(tmp_path: Path, delimiter: str) -> None:
    lines = [
        ["phone", "name", "package"],
        ["15400001234", "Ann", "融合套餐129元"],
        ["15400005678", "Bob", "单宽带100M"],
    ]
    text = "".join(delimiter.join(cells) + "\n" for cells in lines)
    result = read_call_list(write_text(tmp_path / "list.txt", text, "utf-8"))
    assert [(row.phone, row.name, row.package) for row in result.rows] == [
        ("15400001234", "Ann", "融合套餐129元"),
        ("15400005678", "Bob", "单宽带100M"),
    ]


def test_quoted_commas_and_whitespace(tmp_path: Path) -> None:
    text = 'phone , name ,备注\n" 15400001234 ","  Ann ","a, b"\n'
    result = read_call_list(write_text(tmp_path / "list.csv", text, "utf-8"))
    row = result.rows[0]
    assert (row.phone, row.name, row.extra) == ("15400001234", "Ann", {"备注": "a, b"})


# --- files that cannot be used -------------------------------------------------------------------


def test_no_phone_column_lists_found_and_accepted_headers(tmp_path: Path) -> None:
    path = write_text(tmp_path / "list.csv", "姓名,支局,Remark\n王五,大祥支局,x\n", "utf-8")
    with pytest.raises(CallListError) as error:
        read_call_list(path)
    message = str(error.value)
    assert str(path) in message
    assert "no phone column" in message
    assert "Found columns: 姓名, 支局, Remark" in message
    assert "手机号" in message and "phone" in message


def test_data_without_header_row_does_not_echo_the_phone(tmp_path: Path) -> None:
    path = write_text(tmp_path / "list.csv", "15400001234,王五\n", "utf-8")
    with pytest.raises(CallListError, match="header") as error:
        read_call_list(path)
    assert "15400001234" not in str(error.value)


def test_xls_is_refused_with_advice(tmp_path: Path) -> None:
    path = tmp_path / "old.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100)
    with pytest.raises(CallListError, match=r"\.xlsx") as error:
        read_call_list(path)
    assert str(path) in str(error.value)


def test_garbage_xlsx(tmp_path: Path) -> None:
    path = tmp_path / "broken.xlsx"
    path.write_bytes(b"this is not a workbook at all")
    with pytest.raises(CallListError, match="xlsx") as error:
        read_call_list(path)
    assert str(path) in str(error.value)


def test_xlsx_saved_as_csv(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "list.xlsx", [["phone"], ["15400001234"]])
    renamed = path.rename(tmp_path / "list.csv")
    with pytest.raises(CallListError, match="rename it to .xlsx"):
        read_call_list(renamed)


def test_unsupported_extension(tmp_path: Path) -> None:
    path = write_text(tmp_path / "list.json", "[]", "utf-8")
    with pytest.raises(CallListError, match="unsupported file type"):
        read_call_list(path)


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.csv"
    with pytest.raises(CallListError, match="not found") as error:
        read_call_list(path)
    assert str(path) in str(error.value)


@pytest.mark.parametrize("content", [b"", b"\xef\xbb\xbf", b"\n\n  \n"])
def test_empty_csv_is_an_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(content)
    with pytest.raises(CallListError, match="empty"):
        read_call_list(path)


def test_header_only_gives_no_rows(tmp_path: Path) -> None:
    result = read_call_list(write_text(tmp_path / "list.csv", CN_HEADER + "\n", "utf-8"))
    assert result.rows == [] and result.skipped == []
    xlsx = read_call_list(write_xlsx(tmp_path / "list.xlsx", [CN_HEADER.split(",")]))
    assert xlsx.rows == [] and xlsx.skipped == []


# --- rows that are skipped or repaired -----------------------------------------------------------


def test_bad_phones_and_duplicates_are_reported_masked(tmp_path: Path) -> None:
    text = (
        "phone,name\n"
        "15400001234,first\n"  # line 2
        "1540000123,ten digits\n"  # line 3
        ",no number\n"  # line 4
        "154-0000-1234,same as line 2\n"  # line 5
        "\n"  # line 6: blank, ignored
        "无,text\n"  # line 7
        "5551234,landline without area code\n"  # line 8
        "15400005678,second\n"  # line 9
    )
    result = read_call_list(write_text(tmp_path / "list.csv", text, "utf-8"))

    assert [(row.line, row.name) for row in result.rows] == [(2, "first"), (9, "second")]
    skipped = {row.line: row for row in result.skipped}
    assert {line: row.reason for line, row in skipped.items()} == {
        3: "bad_phone",
        4: "bad_phone",
        5: "duplicate_in_file",
        7: "bad_phone",
        8: "bad_phone",
    }
    assert "line 3" in skipped[3].detail and "154***0123" in skipped[3].detail
    assert "no phone number" in skipped[4].detail
    assert "line 2" in skipped[5].detail and "154****1234" in skipped[5].detail
    assert "area code" in skipped[8].detail
    for row in result.skipped:
        assert "1540000123" not in row.detail
        assert "15400001234" not in row.detail


def test_scientific_notation_from_excel_is_not_turned_into_a_number(tmp_path: Path) -> None:
    text = "phone\n1.54E+10\n1.5400001234E+10\n"
    result = read_call_list(write_text(tmp_path / "list.csv", text, "utf-8"))
    assert [row.phone for row in result.rows] == ["15400001234"]
    assert result.skipped[0].reason == "bad_phone"
    assert "scientific notation" in result.skipped[0].detail


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+86 154 0000 1234", "15400001234"),
        ("+86-15400001234", "15400001234"),
        ("008615400001234", "15400001234"),
        ("8615400001234", "15400001234"),
        ("154-0000-1234", "15400001234"),
        ("(154) 0000.1234", "15400001234"),
        ("１５４００００１２３４", "15400001234"),
        ("15400001234.0", "15400001234"),
        ('="15400001234"', "15400001234"),
        ("'15400001234", "15400001234"),
        (15400001234, "15400001234"),
        (15400001234.0, "15400001234"),
        ("0739-5551234", "07395551234"),
        ("(0739)5551234", "07395551234"),
        ("010-66551234", "01066551234"),
        ("+86 739 5551234", "07395551234"),
        ("015400001234", "15400001234"),
        ("12400001234", None),
        ("1540000123", None),
        ("5551234", None),
        ("+1 415 555 1234", None),
        ("15400001234/15400005678", None),
        (1.5400001234e10 + 0.5, None),
        (True, None),
        ("", None),
        (None, None),
    ],
)
def test_normalize_phone(raw: object, expected: str | None) -> None:
    assert normalize_phone(raw) == expected


def test_phones_normalised_in_file(tmp_path: Path) -> None:
    text = "联系电话,姓名\n+86 154 0000 1234,甲\n0739-5551234,乙\n0086-154-0000-5678,丙\n"
    result = read_call_list(write_text(tmp_path / "list.csv", text, "utf-8"))
    assert [row.phone for row in result.rows] == ["15400001234", "07395551234", "15400005678"]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2021-02-03", "2021-02-03"),
        ("2021/2/3", "2021-02-03"),
        ("2021.2.3", "2021-02-03"),
        ("20210203", "2021-02-03"),
        ("2021年2月3日", "2021-02-03"),
        ("2021-02-03 14:05:00", "2021-02-03"),
        (20210203, "2021-02-03"),
        (datetime(2021, 2, 3, 9, 30), "2021-02-03"),
        (date(2021, 2, 3), "2021-02-03"),
        ("  ", None),
        (None, None),
    ],
)
def test_parse_date(raw: object, expected: str | None) -> None:
    assert parse_date(raw) == expected


@pytest.mark.parametrize("raw", ["2月初", "2021-02-30", "03/02/2021", "44230", 44230])
def test_parse_date_rejects(raw: object) -> None:
    with pytest.raises(ValueError):
        parse_date(raw)


def test_unparseable_date_keeps_row_and_text(tmp_path: Path) -> None:
    text = "手机号,拆机日期\n15400001234,2月初\n15400005678,2021-02-30\n"
    result = read_call_list(write_text(tmp_path / "list.csv", text, "utf-8"))

    assert [row.disconnect_date for row in result.rows] == [None, None]
    assert [row.extra for row in result.rows] == [{"拆机日期": "2月初"}, {"拆机日期": "2021-02-30"}]
    assert result.skipped == []


def test_extra_columns_kept_and_duplicate_field_headers(tmp_path: Path) -> None:
    text = "【手机号】,电话,姓名（必填）,Remark,,备注,备注\n15400001234,07395551234,王五,vip,loose,a,b\n"
    result = read_call_list(write_text(tmp_path / "list.csv", text, "utf-8"))
    row = result.rows[0]

    assert result.columns["phone"] == "【手机号】"
    assert result.columns["name"] == "姓名（必填）"
    assert row.phone == "15400001234"
    assert row.name == "王五"
    # The second phone-like column loses to the first but its content is not lost.
    assert row.extra == {
        "电话": "07395551234",
        "Remark": "vip",
        "column 5": "loose",
        "备注": "a",
        "备注 (2)": "b",
    }


# --- the shipped demo list -----------------------------------------------------------------------


def test_shipped_demo_call_list() -> None:
    result = read_call_list(DEMO)

    assert result.encoding == "utf-8-sig"
    assert len(result.rows) == 60
    assert result.skipped == []
    assert all(row.phone.startswith("154") and len(row.phone) == 11 for row in result.rows)
    assert len({row.phone for row in result.rows}) == 60
    assert all(row.account and row.name and row.branch and row.package for row in result.rows)
    assert all("2021-02-01" <= (row.disconnect_date or "") <= "2021-04-30" for row in result.rows)
    assert all(row.extra == {"备注": "虚构数据（演示用）"} for row in result.rows)
