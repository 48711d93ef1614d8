"""Exports of a simulated, coded survey read back and compared with the tallies."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pyreadstat
import pytest
from click.testing import CliRunner

from survey_tui.cli import cli


@pytest.fixture(scope="module")
def survey(tmp_path_factory: pytest.TempPathFactory) -> str:
    folder = tmp_path_factory.mktemp("survey")
    db = str(folder / "simulated.db")
    result = CliRunner().invoke(cli, ["demo", "--db", db, "--cases", "80"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return db


def run(*args: str) -> object:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def tally(db: str) -> dict:
    return json.loads(run("tally", "--db", db, "--format", "json").output)


def reason_counts(db: str) -> dict[str, int]:
    return {row["reason"]: row["respondents"] for row in tally(db)["reasons"]["rows"]}


def test_csv_export_matches_the_tally_and_masks_phones(survey: str, tmp_path: Path) -> None:
    output = tmp_path / "raw.csv"
    result = run("export", "--db", survey, "--format", "csv", "--output", str(output))
    assert result.exit_code == 0, result.output
    raw = pd.read_csv(output, encoding="utf-8-sig", dtype={"phone": str})
    counts = reason_counts(survey)
    assert len(raw) == tally(survey)["reasons"]["n"]
    for reason in ("price", "slow_speed", "relocation", "other_network"):
        assert int(raw[f"reason_{reason}"].sum()) == counts[reason]
    assert raw["phone"].str.contains(r"^154\*{4}\d{4}$").all()
    attempts = pd.read_csv(tmp_path / "raw_call_attempts.csv", encoding="utf-8-sig")
    assert set(attempts["aapor_code"].astype(str)) >= {"1.1"}
    assert output.stat().st_mode & 0o777 == 0o600


def test_xlsx_export_holds_raw_data_and_every_summary_table(survey: str, tmp_path: Path) -> None:
    output = tmp_path / "survey.xlsx"
    run("export", "--db", survey, "--format", "xlsx", "--output", str(output))
    sheets = pd.read_excel(output, sheet_name=None)
    assert {"interviews", "call_attempts", "reasons", "competitors", "response_rates", "variables"} <= set(sheets)
    reasons = sheets["reasons"].set_index("reason")["respondents"].to_dict()
    assert reasons == reason_counts(survey)
    assert "搬家/拆迁" in set(sheets["reasons"]["label"])


def test_spss_and_stata_exports_carry_question_and_choice_labels(survey: str, tmp_path: Path) -> None:
    for fmt, reader in (("sav", pyreadstat.read_sav), ("dta", pyreadstat.read_dta)):
        output = tmp_path / f"survey.{fmt}"
        result = run("export", "--db", survey, "--format", fmt, "--output", str(output))
        assert result.exit_code == 0, result.output
        frame, meta = reader(str(output), apply_value_formats=True)
        labels = meta.column_names_to_labels
        assert labels["q1_operator"].startswith("您目前所使用的是哪个运营商的宽带")
        assert set(frame["q1_operator"].dropna()) <= {
            "中国电信",
            "中国移动",
            "中国联通",
            "中国广电",
            "其他",
            "不用宽带了",
        }
        assert set(frame["reason_price"].dropna()) <= {"是", "否"}
        assert (frame["reason_price"] == "是").sum() == reason_counts(survey)["price"]


def test_json_export_and_pii_only_on_request(survey: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHURN_SURVEY_ROLE", "researcher")
    output = tmp_path / "survey.json"
    run("export", "--db", survey, "--format", "json", "--output", str(output), "--include-pii")
    payload = json.loads(output.read_text("utf-8"))
    assert payload["interviews"][0]["phone"].isdigit()
    assert {row["reason"] for row in payload["reasons"]} >= {"price", "other", "uncoded", "refused"}


def test_charts_are_written_with_a_font_that_covers_their_labels(survey: str, tmp_path: Path) -> None:
    from PIL import Image

    from coding.ids import REASONS
    from coding.pictures import find_cjk_font, font_covers

    font = find_cjk_font()
    assert font_covers(font, "".join(REASONS.values()) + "中国移动中国联通转网客户去向占受访者比例")
    png = tmp_path / "reasons.png"
    assert run("chart", "--db", survey, "--output", str(png)).exit_code == 0
    with Image.open(png) as image:
        assert image.size[0] > 400 and image.size[1] > 300
    svg = tmp_path / "heat.svg"
    result = run("chart", "--db", survey, "--output", str(svg), "--what", "crosstab", "--by", "branch")
    assert result.exit_code == 0, result.output
    assert "<path" in svg.read_text("utf-8")
    assert run("chart", "--db", survey, "--output", str(tmp_path / "c.png"), "--what", "competitors").exit_code == 0
    wrong = run("chart", "--db", survey, "--output", str(tmp_path / "x.gif"))
    assert wrong.exit_code == 1 and "png" in wrong.output.lower()


def test_word_cloud_overall_and_for_one_reason(survey: str, tmp_path: Path) -> None:
    result = run("cloud", "--db", survey, "--output", str(tmp_path / "all.png"))
    assert result.exit_code == 0, result.output
    assert "biggest words" in result.output and (tmp_path / "all.png").stat().st_size > 10_000
    priced = run("cloud", "--db", survey, "--output", str(tmp_path / "price.png"), "--reason", "price")
    assert priced.exit_code == 0, priced.output


def test_report_is_one_self_contained_html_file(survey: str, tmp_path: Path) -> None:
    output = tmp_path / "report.html"
    result = run("report", "--db", survey, "--output", str(output))
    assert result.exit_code == 0, result.output
    page = output.read_text("utf-8")
    assert page.count("<svg") >= 2 and "data:image/png;base64," in page
    # Nothing is fetched when the page opens (XML namespace names inside the SVGs are not fetches).
    assert not re.search(r"(src|href)\s*=\s*[\"']https?:", page)
    assert "<link" not in page and "<script" not in page
    for label in ("拆机原因", "转网客户去向", "AAPOR", "RR1", "电信资费贵"):
        assert label in page
