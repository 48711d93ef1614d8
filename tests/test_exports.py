"""Exports: every format is written, read back with the researchers' own readers and compared with the frame."""

from __future__ import annotations

import datetime as dt
import json
import stat
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pyreadstat
import pytest

from survey_tui.research.writers import (
    Dataset,
    Variable,
    write,
    write_csv,
    write_dta,
    write_json,
    write_sav,
    write_xlsx,
)

OPERATOR_QUESTION = "您目前所使用的是哪个运营商的宽带？"
OPERATORS = {"china_mobile": "中国移动", "china_unicom": "中国联通", "china_broadnet": "中国广电", "other_isp": "其他"}
YES_NO = {0: "否", 1: "是"}
# Longer than SPSS's 255-byte short strings and Stata's str244 of old: long answers must survive whole.
LONG_ANSWER = "移动送了一年宽带还送手机，价格比电信便宜很多。" * 12


def interviews() -> Dataset:
    frame = pd.DataFrame(
        {
            "interview_id": [101, 102, 103, 104, 105],
            "q1_operator": ["china_mobile", "china_unicom", "china_mobile", "other_isp", "china_broadnet"],
            "q3_leave_reason": ["太贵了，移动便宜", None, "网速慢，晚上经常掉线", LONG_ANSWER, "=搬家了"],
            "reason_price": [1, 0, 0, 1, 0],
            "reason_speed": [0, 0, 1, 0, 0],
            "branch": ["城东支局", "城西支局", "城东支局", "高新支局", "城西支局"],
            "attempts": [1, 3, 2, 1, 5],
            "disconnect_date": pd.to_datetime(["2024-10-03", "2024-10-15", None, "2024-11-01", "2024-11-20"]),
        }
    )
    variables = (
        Variable("q1_operator", OPERATOR_QUESTION, OPERATORS),
        Variable("q3_leave_reason", "请问您拆机的主要原因是什么？"),
        Variable("reason_price", "原因：价格", YES_NO),
        Variable("reason_speed", "原因：网速", YES_NO),
        Variable("disconnect_date", "拆机日期"),
    )
    return Dataset("interviews", frame, variables)


def call_outcomes() -> Dataset:
    frame = pd.DataFrame(
        {
            "outcome": ["complete", "no_answer", "refusal"],
            "label": ["完成访问", "无人接听", "拒访"],
            "attempts": [40, 25, 7],
        }
    )
    return Dataset("call_outcomes", frame, (Variable("label", "结果"),))


def labels_of(dataset: Dataset) -> dict[str, str | None]:
    given = {variable.name: variable.label for variable in dataset.variables}
    return {str(column): given.get(str(column)) for column in dataset.frame.columns}


def as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame as CSV shows it: missing cells empty, dates as YYYY-MM-DD."""
    columns = {}
    for column in frame.columns:
        series = frame[column]
        if pd.api.types.is_datetime64_any_dtype(series):
            columns[column] = series.dt.strftime("%Y-%m-%d").fillna("")
        else:
            columns[column] = series.map(lambda value: "" if value is None or pd.isna(value) else str(value))
    return pd.DataFrame(columns)


def assert_private(path: Path) -> None:
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def assert_statistical_file(
    frame_back: pd.DataFrame, decoded: pd.DataFrame, meta: pyreadstat.metadata_container, dataset: Dataset
) -> None:
    """Shared checks of a .sav or .dta read back: labels, value labels, codes and every value."""
    frame = dataset.frame
    assert list(frame_back.columns) == list(frame.columns)
    assert meta.column_names_to_labels == labels_of(dataset)
    assert meta.variable_value_labels == {
        "q1_operator": {1: "中国移动", 2: "中国联通", 3: "中国广电", 4: "其他"},
        "reason_price": YES_NO,
        "reason_speed": YES_NO,
    }
    # Text codes become 1..n in the order of the value labels.
    assert frame_back["q1_operator"].tolist() == [1, 2, 1, 4, 3]
    assert decoded["q1_operator"].astype(str).tolist() == frame["q1_operator"].map(OPERATORS).tolist()
    assert decoded["reason_price"].astype(str).tolist() == frame["reason_price"].map(YES_NO).tolist()
    assert frame_back["reason_speed"].tolist() == frame["reason_speed"].tolist()
    assert frame_back["interview_id"].tolist() == frame["interview_id"].tolist()
    assert frame_back["attempts"].tolist() == frame["attempts"].tolist()
    # Both formats keep a missing string as empty text; UTF-8 text, long answer included, comes back whole.
    assert frame_back["q3_leave_reason"].tolist() == frame["q3_leave_reason"].fillna("").tolist()
    assert frame_back["branch"].tolist() == frame["branch"].tolist()
    dates = [None if pd.isna(value) else value.date() for value in frame["disconnect_date"]]
    assert [None if pd.isna(value) else pd.Timestamp(value).date() for value in frame_back["disconnect_date"]] == dates


def test_csv_has_bom_and_reads_back_as_the_frame(tmp_path: Path) -> None:
    dataset = interviews()
    path = write_csv(dataset, tmp_path / "interviews.csv")
    assert path == tmp_path / "interviews.csv"
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    back = pd.read_csv(path, encoding="utf-8-sig", dtype=str, keep_default_na=False)
    expected = as_text(dataset.frame)
    # A text cell that a spreadsheet would run as a formula gets the apostrophe that makes it text.
    expected["q3_leave_reason"] = expected["q3_leave_reason"].replace("=搬家了", "'=搬家了")
    pd.testing.assert_frame_equal(back, expected)
    assert_private(path)


def test_json_reads_back_with_nulls_and_iso_dates(tmp_path: Path) -> None:
    path = write_json([interviews(), call_outcomes()], tmp_path / "survey.json")
    text = path.read_text("utf-8")
    assert "城东支局" in text  # ensure_ascii=False: Chinese is written as itself, not as \\u escapes
    document = json.loads(text)
    assert list(document) == ["interviews", "call_outcomes"]
    first = document["interviews"][0]
    assert first == {
        "interview_id": 101,
        "q1_operator": "china_mobile",
        "q3_leave_reason": "太贵了，移动便宜",
        "reason_price": 1,
        "reason_speed": 0,
        "branch": "城东支局",
        "attempts": 1,
        "disconnect_date": "2024-10-03",
    }
    assert document["interviews"][1]["q3_leave_reason"] is None
    assert document["interviews"][2]["disconnect_date"] is None
    assert document["interviews"][3]["q3_leave_reason"] == LONG_ANSWER
    pd.testing.assert_frame_equal(pd.DataFrame(document["call_outcomes"]), call_outcomes().frame)
    assert_private(path)


def test_json_keeps_times_and_time_zones(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "answered_at": pd.to_datetime(["2024-11-03 14:05:09", "2024-11-03 00:00:00"]),
            "started_at": pd.to_datetime(["2024-11-03 06:00:00", None]).tz_localize("Asia/Shanghai"),
            "score": [np.float64(0.5), np.nan],
        }
    )
    document = json.loads(write_json([Dataset("times", frame)], tmp_path / "t.json").read_text("utf-8"))
    assert document["times"] == [
        {"answered_at": "2024-11-03T14:05:09", "started_at": "2024-11-03T06:00:00+08:00", "score": 0.5},
        {"answered_at": "2024-11-03T00:00:00", "started_at": None, "score": None},
    ]


def test_xlsx_sheets_header_widths_and_variables(tmp_path: Path) -> None:
    dataset = interviews()
    path = write_xlsx([dataset, call_outcomes()], tmp_path / "survey.xlsx")
    assert_private(path)

    back = pd.read_excel(path, sheet_name=None)
    assert list(back) == ["interviews", "call_outcomes", "variables"]
    expected = dataset.frame.copy()
    expected["q3_leave_reason"] = expected["q3_leave_reason"].astype(object).where(expected["q3_leave_reason"].notna())
    pd.testing.assert_frame_equal(back["interviews"], expected, check_dtype=False)
    pd.testing.assert_frame_equal(back["call_outcomes"], call_outcomes().frame, check_dtype=False)

    workbook = openpyxl.load_workbook(path)
    sheet = workbook["interviews"]
    assert sheet.freeze_panes == "A2"
    assert all(cell.font.bold for cell in sheet[1])
    assert not sheet["A2"].font.bold
    assert sheet["C3"].value is None
    # An answer starting with "=" is text, never a formula Excel would run.
    assert sheet["C6"].value == "=搬家了" and sheet["C6"].data_type == "s" and sheet["C6"].quotePrefix
    assert not sheet["C2"].quotePrefix
    assert sheet["H2"].value == dt.datetime(2024, 10, 3) and sheet["H2"].number_format == "yyyy-mm-dd"
    # Column F (branch) holds four CJK characters, as wide as eight Latin ones; column B the longest code.
    widths = {letter: sheet.column_dimensions[letter].width for letter in "ABCDEFGH"}
    assert widths["F"] == len("城东支局") * 2 + 2
    assert widths["B"] == len("china_broadnet") + 2
    assert widths["C"] == 60  # the long answer is capped

    variables = back["variables"].fillna("")
    assert list(variables.columns) == ["dataset", "variable", "label", "value_labels"]
    assert len(variables) == len(dataset.frame.columns) + len(call_outcomes().frame.columns)
    operator = variables[variables["variable"] == "q1_operator"].iloc[0]
    assert operator["dataset"] == "interviews"
    assert operator["label"] == OPERATOR_QUESTION
    assert operator["value_labels"].split("\n") == [f"{code} = {text}" for code, text in OPERATORS.items()]
    reason = variables[variables["variable"] == "reason_price"].iloc[0]
    assert reason["value_labels"] == "0 = 否\n1 = 是"
    outcome_label = variables[(variables["dataset"] == "call_outcomes") & (variables["variable"] == "label")]
    assert outcome_label["label"].tolist() == ["结果"]
    assert variables[variables["variable"] == "interview_id"]["label"].tolist() == [""]


def test_xlsx_sheet_names_are_short_unique_and_valid(tmp_path: Path) -> None:
    frame = pd.DataFrame({"a": [1]})
    names = [
        "宽带拆机用户回访调查问卷结果汇总表第一部分：基本信息与运营商选择",
        "宽带拆机用户回访调查问卷结果汇总表第一部分：原因",
        "variables",
        "a/b?",
    ]
    path = write_xlsx([Dataset(name, frame) for name in names], tmp_path / "n.xlsx")
    sheets = openpyxl.load_workbook(path).sheetnames
    assert sheets[-1] == "variables"
    assert len(sheets) == 5
    assert all(len(name) <= 31 for name in sheets)
    assert len({name.lower() for name in sheets}) == 5
    assert sheets[0] == names[0][:31]
    assert sheets[3] == "a_b_"


def test_sav_reads_back_with_labels(tmp_path: Path) -> None:
    dataset = interviews()
    path = write_sav(dataset, tmp_path / "interviews.sav")
    assert_private(path)
    frame_back, meta = pyreadstat.read_sav(path)
    decoded, _ = pyreadstat.read_sav(path, apply_value_formats=True)
    assert_statistical_file(frame_back, decoded, meta, dataset)
    assert meta.file_label == "interviews"
    assert meta.original_variable_types["q1_operator"] == "F8.0"
    assert str(meta.original_variable_types["disconnect_date"]).startswith("DATE")
    assert meta.variable_measure["q1_operator"] == "nominal"


def test_dta_reads_back_with_labels(tmp_path: Path) -> None:
    dataset = interviews()
    path = write_dta(dataset, tmp_path / "interviews.dta")
    assert_private(path)
    frame_back, meta = pyreadstat.read_dta(path)
    decoded, _ = pyreadstat.read_dta(path, apply_value_formats=True)
    assert_statistical_file(frame_back, decoded, meta, dataset)
    assert meta.file_label == "interviews"
    assert meta.original_variable_types["disconnect_date"] == "%td"
    # Codes are stored as integers (Stata long), not doubles.
    assert meta.readstat_variable_types["q1_operator"] == "int32"


def test_long_labels_are_cut_to_the_format_limits(tmp_path: Path) -> None:
    label = "请问您在办理拆机之前，是否曾经因为网络质量、资费价格或者售后服务的问题联系过我们的客服热线，" * 3
    value_label = "因为竞争对手提供了更优惠的融合套餐而选择离网的用户" * 4
    dataset = Dataset(
        "long",
        pd.DataFrame({"q9": ["a", "b"]}),
        (Variable("q9", label, {"a": value_label, "b": "否"}),),
    )
    _, meta = pyreadstat.read_dta(write_dta(dataset, tmp_path / "long.dta"))
    assert meta.column_names_to_labels["q9"] == label[:80]
    assert meta.variable_value_labels["q9"] == {1: value_label, 2: "否"}
    _, meta = pyreadstat.read_sav(write_sav(dataset, tmp_path / "long.sav"))
    # SPSS counts bytes: 255 for a variable label, 120 for a value label, cut between characters.
    cut = str(meta.column_names_to_labels["q9"])
    assert label.startswith(cut)
    assert len(cut.encode()) == 255
    assert meta.variable_value_labels["q9"][1] == value_label[:40]


def test_unknown_codes_and_bad_labels_are_refused(tmp_path: Path) -> None:
    frame = pd.DataFrame({"q1_operator": ["china_mobile", "china_telecom"]})
    dataset = Dataset("i", frame, (Variable("q1_operator", OPERATOR_QUESTION, OPERATORS),))
    with pytest.raises(ValueError, match="china_telecom"):
        write_sav(dataset, tmp_path / "x.sav")
    with pytest.raises(ValueError, match="not in the table"):
        write_csv(Dataset("i", frame, (Variable("q2", "?"),)), tmp_path / "x.csv")
    with pytest.raises(ValueError, match="whole numbers"):
        write_dta(Dataset("i", pd.DataFrame({"x": [0.5]}), (Variable("x", "x", {0.5: "半"}),)), tmp_path / "x.dta")
    with pytest.raises(ValueError, match="bad name"):
        write_dta(Dataset("bad name", pd.DataFrame({"1x": [1]})), tmp_path / "x.dta")
    # A failed export leaves nothing behind, not even the temporary file.
    assert list(tmp_path.iterdir()) == []


def test_write_names_extra_files_after_the_datasets(tmp_path: Path) -> None:
    datasets = [interviews(), call_outcomes()]
    for kind in ("csv", "sav", "dta"):
        target = tmp_path / f"export.{kind}"
        written = write(kind, datasets, target)
        assert written == [target, tmp_path / f"export_call_outcomes.{kind}"]
        for path in written:
            assert_private(path)
    back = pd.read_csv(tmp_path / "export_call_outcomes.csv", encoding="utf-8-sig")
    pd.testing.assert_frame_equal(back, call_outcomes().frame)
    frame_back, meta = pyreadstat.read_dta(tmp_path / "export_call_outcomes.dta")
    assert frame_back["label"].tolist() == ["完成访问", "无人接听", "拒访"]
    assert meta.column_names_to_labels["label"] == "结果"

    for kind in ("xlsx", "json"):
        target = tmp_path / f"all.{kind}"
        assert write(kind, datasets, target) == [target]
        assert_private(target)
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(
        [f"export.{kind}" for kind in ("csv", "sav", "dta")]
        + [f"export_call_outcomes.{kind}" for kind in ("csv", "sav", "dta")]
        + ["all.xlsx", "all.json"]
    )


def test_write_refuses_unknown_formats_and_duplicate_names(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown export format"):
        write("parquet", [interviews()], tmp_path / "x.parquet")
    with pytest.raises(ValueError, match="unique"):
        write("json", [interviews(), interviews()], tmp_path / "x.json")
    with pytest.raises(ValueError, match="no datasets"):
        write("xlsx", [], tmp_path / "x.xlsx")
    assert list(tmp_path.iterdir()) == []


def test_existing_file_is_replaced_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "old.csv"
    path.write_text("old", "utf-8")
    path.chmod(0o644)
    write_csv(call_outcomes(), path)
    assert_private(path)
    assert "完成访问" in path.read_text("utf-8-sig")
