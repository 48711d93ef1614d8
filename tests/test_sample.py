"""Importing call lists into the store: GBK, UTF-8 with BOM and XLSX files, all or nothing."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import openpyxl
import pytest

from survey_tui.calling.call_list import CallListError, import_call_list
from survey_tui.store import Store

HEADER = "手机号,宽带账号,姓名,支局,拆机日期,套餐,装机地址\n"
BODY = (
    "15400000001,SY000000001,张伟,大祥支局,2021-02-03,融合套餐129元,大祥区红旗路1号\n"
    "154-0000-0002,SY000000002,李娜,双清支局,2021/3/4,单宽带100M,双清区东风路2号\n"
    "12345,SY000000003,王芳,北塔支局,2021-04-05,单宽带300M,北塔区3号\n"
    "15400000001,SY000000004,张伟,大祥支局,2021-02-03,融合套餐129元,重复\n"
)


def check_imported(store: Store, report) -> None:  # type: ignore[no-untyped-def]
    assert report.imported == 2
    assert report.skipped_by_reason() == {"bad_phone": 1, "duplicate_in_file": 1}
    cases = {case.phone: case for case in store.list_cases()}
    assert set(cases) == {"15400000001", "15400000002"}
    assert cases["15400000002"].name == "李娜"
    assert cases["15400000002"].disconnect_date.isoformat() == "2021-03-04"
    assert cases["15400000001"].extra == {"装机地址": "大祥区红旗路1号"}


def test_gbk_csv(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "拆机清单.csv"
    path.write_bytes((HEADER + BODY).encode("gbk"))
    report = import_call_list(store, path)
    assert report.encoding == "gb18030"
    check_imported(store, report)


def test_utf8_bom_csv(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "list.csv"
    path.write_bytes(b"\xef\xbb\xbf" + (HEADER + BODY).encode("utf-8"))
    report = import_call_list(store, path)
    assert report.encoding == "utf-8-sig"
    check_imported(store, report)


def test_xlsx_with_chinese_headers(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "list.xlsx"
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(HEADER.strip().split(","))
    for line in BODY.strip().splitlines():
        cells: list[object] = line.split(",")
        if cells[0].isdigit() and len(cells[0]) == 11:
            cells[0] = int(cells[0])  # Excel keeps phone numbers as numbers
        year, month, day = cells[4].replace("/", "-").split("-")
        cells[4] = datetime(int(year), int(month), int(day))
        sheet.append(cells)
    book.save(path)
    report = import_call_list(store, path)
    assert report.encoding is None
    check_imported(store, report)


def test_a_second_import_adds_nothing(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "list.csv"
    path.write_text(HEADER + BODY, encoding="utf-8")
    import_call_list(store, path)
    again = import_call_list(store, path)
    assert again.imported == 0
    assert again.skipped_by_reason() == {"bad_phone": 1, "duplicate_in_file": 1, "already_listed": 2}
    assert len(store.list_cases()) == 2


def test_a_file_without_a_phone_column_changes_nothing(store: Store, tmp_path: Path) -> None:
    good = tmp_path / "good.csv"
    good.write_text(HEADER + BODY, encoding="utf-8")
    import_call_list(store, good)
    bad = tmp_path / "bad.csv"
    bad.write_text("姓名,支局\n赵六,大祥支局\n", encoding="gbk")
    with pytest.raises(CallListError, match="no phone column"):
        import_call_list(store, bad)
    assert len(store.list_cases()) == 2
