"""The coding library: normalisation, tokens, codebook, rules, the coder's output contract, files."""

from __future__ import annotations

import csv
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from coding.codebook import CodebookError, load_codebook
from coding.coder import OUTPUT_COLUMNS, Coder, reason_columns
from coding.corpus import load_corpus
from coding.ids import REASONS
from coding.jobs import code_file
from coding.normalize import mask_phones, normalize
from coding.rules import NEGATED, WEAK, RuleCoder
from coding.segment import segment
from coding.tables import TableError


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("寬帶網速太慢😡，電視會員費還貴", "宽带网速太慢,电视会员费还贵"),
        ("ＩＴＶ　会员费１０元", "ITV 会员费10元"),
        ("  移动送的\t\t宽带  ", "移动送的 宽带"),
        ("有事打我 154 1234 5678", "有事打我 154****5678"),
        ("座机0739-5551234", "座机0739-***1234"),
        (None, ""),
    ],
)
def test_normalisation(raw: object, expected: str) -> None:
    assert normalize(raw) == expected


def test_phone_numbers_in_free_text_are_masked() -> None:
    assert mask_phones("打+86 15412345678或者15498765432") == "打154****5678或者154****5432"
    assert mask_phones("账单100元，200兆") == "账单100元，200兆"


def test_segmentation_keeps_domain_words_and_negators() -> None:
    assert "一拆一装" in segment("一拆一装用老婆身份证")
    assert "融合套餐" in segment("只能办融合套餐")
    words = segment("网速不慢")
    assert "不" in words and "非_慢" in words
    assert "的" not in segment("移动送的宽带")


def test_the_shipped_codebook_has_exactly_the_contract_ids() -> None:
    book = load_codebook()
    assert book.reason_ids == tuple(REASONS)
    assert {c.id for c in book.competitors} == {"china_mobile", "china_unicom", "china_broadnet", "other_isp"}
    assert len(book.sha256) == 64


def test_a_broken_codebook_names_the_file_and_the_entry(tmp_path: Path) -> None:
    source = load_codebook().path.read_text("utf-8")
    renamed = tmp_path / "renamed.yaml"
    renamed.write_text(source.replace("id: price", "id: expensive"), "utf-8")
    with pytest.raises(CodebookError, match="renamed.yaml.*must be exactly"):
        load_codebook(renamed)
    bad_pattern = tmp_path / "bad.yaml"
    bad_pattern.write_text(source.replace("'比.{0,8}贵'", "'比.{0,8}贵('"), "utf-8")
    with pytest.raises(CodebookError, match="reason price: bad pattern"):
        load_codebook(bad_pattern)


@pytest.mark.parametrize(
    ("text", "reasons", "competitor"),
    [
        ("移动送的宽带，电信太贵了", ["price", "other_network"], "china_mobile"),
        ("不是网速问题，主要是太贵", ["price"], "unknown"),
        ("网速还可以，就是服务太差", ["poor_service"], "unknown"),
        ("服务没得说，就是晚上卡得要死", ["slow_speed"], "unknown"),
        ("价格倒无所谓，关键是老掉线", ["slow_speed"], "unknown"),
        ("装了联通", ["other_network"], "china_unicom"),
        ("移动联通都差不多", [], "unknown"),
        ("一拆一装", ["reinstall"], "china_telecom"),
        ("用手机流量够了", [], "none"),
        ("搬家了，新小区电信没覆盖", ["relocation"], "unknown"),
        ("本来想报修的后来搬家了", ["relocation"], "unknown"),
        ("新房子那边没有线路装不了", ["relocation"], "unknown"),
        ("不是移动送的", [], "unknown"),
        ("物业统一装的网", ["other_network"], "other_isp"),
        ("手机热点够用", [], "none"),
        ("人在外地，网用不上", ["relocation"], "unknown"),  # a move says nothing of broadband now
    ],
)
def test_rule_coder_handles_negation_contrast_and_competitors(text: str, reasons: list[str], competitor: str) -> None:
    result = RuleCoder(load_codebook()).code(normalize(text))
    assert result.reasons == reasons
    assert result.competitor == competitor


def test_free_of_charge_is_not_a_denial_of_the_operator() -> None:
    rules = RuleCoder(load_codebook())
    assert rules.code("不要钱的移动宽带").competitor == "china_mobile"
    denied = rules.code("不是移动送的")
    assert (denied.competitor, denied.competitor_denied) == ("unknown", True)


def test_rule_signals_tell_negated_and_weak_mentions() -> None:
    rules = RuleCoder(load_codebook())
    assert rules.code("网速不慢").signals["slow_speed"] == NEGATED
    weak = rules.code("网速有点慢,但主要是太贵")
    assert weak.signals["slow_speed"] == WEAK and weak.signals["price"] == 1.0


def test_coder_output_follows_the_contract(coder: Coder) -> None:
    texts = ["移动送的宽带，电信太贵了", "搬家了", "", "打我15412345678，网速太慢", "搬家了", "不想说"]
    coded = coder.code(
        texts,
        ids=["a", "b", "c", "d", "e", "f"],
        competitor_hints=[None, "china_unicom", None, "", "x", None],
    )
    assert list(coded.columns) == [*OUTPUT_COLUMNS, *reason_columns(REASONS)]
    assert list(coded["id"]) == ["a", "b", "c", "d", "e", "f"]
    first = coded.iloc[0]
    assert set(first["reasons"].split(";")) >= {"price", "other_network"}
    assert first["reasons"] == ";".join(r for r in REASONS if r in first["reasons"].split(";"))
    assert first["competitor"] == "china_mobile"
    assert coded.iloc[1]["reasons"] == "relocation"
    assert coded.iloc[1]["competitor"] == "china_unicom"  # the structured answer wins
    assert coded.iloc[4]["competitor"] == coded.iloc[4]["competitor"]
    assert (coded.iloc[2]["reasons"], bool(coded.iloc[2]["needs_review"])) == ("", False)
    assert coded.iloc[3]["text"] == "打我154****5678，网速太慢"
    assert "slow_speed" in coded.iloc[3]["reasons"]
    for _, row in coded.iterrows():
        flags = [r for r in REASONS if row[f"reason_{r}"] == 1]
        assert ";".join(flags) == row["reasons"]
        assert 0.0 <= row["confidence"] <= 1.0
        assert row["primary_reason"] in (flags or [""])
    # The same answer twice gets the same codes.
    assert coded.iloc[1]["reasons"] == coded.iloc[4]["reasons"]


def test_a_huge_answer_is_coded_without_trouble(coder: Coder) -> None:
    coded = coder.code(["网速太慢" + "啊" * 200_000])
    assert "slow_speed" in coded.iloc[0]["reasons"]


def _read_output(path: Path) -> list[dict[str, str]]:
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def test_code_file_reads_gbk_csv_and_writes_csv_for_excel(coder: Coder, tmp_path: Path) -> None:
    source = tmp_path / "answers.csv"
    source.write_bytes("编号,原因,运营商\n7,太贵了，移动便宜,\n8,搬家了,china_telecom\n".encode("gbk"))
    output = tmp_path / "coded.csv"
    report = code_file(
        coder, source, output, text_column="原因", id_column="编号", competitor_column="运营商", chunk_rows=1
    )
    assert report.answers == 2
    rows = _read_output(output)
    assert [row["id"] for row in rows] == ["7", "8"]
    assert rows[0]["text"] == "太贵了，移动便宜"
    assert "price" in rows[0]["reasons"].split(";")
    assert rows[1]["competitor"] == "china_telecom"
    assert rows[0]["needs_review"] in ("true", "false")
    assert list(rows[0])[:7] == list(OUTPUT_COLUMNS)


def test_code_file_reads_xlsx(coder: Coder, tmp_path: Path) -> None:
    source = tmp_path / "answers.xlsx"
    book = openpyxl.Workbook()
    book.active.append(["id", "answer"])
    book.active.append([1, "ITV会员费太贵"])
    book.active.append([2, "报修三天没人来"])
    book.save(source)
    output = tmp_path / "coded.csv"
    code_file(coder, source, output, text_column="answer", id_column="id")
    rows = _read_output(output)
    assert "itv_fee" in rows[0]["reasons"] and "poor_service" in rows[1]["reasons"]


def test_a_missing_text_column_is_refused_with_the_columns_named(coder: Coder, tmp_path: Path) -> None:
    source = tmp_path / "answers.csv"
    source.write_text("id,answer\n1,太贵\n", "utf-8")
    with pytest.raises(TableError, match="no column 'text'; the columns are: id, answer"):
        code_file(coder, source, tmp_path / "out.csv", text_column="text")


@pytest.mark.parametrize("with_model", [False, True])
def test_stopping_without_a_reason_means_no_broadband_but_after_a_complaint_it_says_nothing(
    with_model: bool, coder: Coder
) -> None:
    chosen = coder if with_model else Coder(load_codebook())
    coded = chosen.code(["就是不想用了", "网速太慢了，就不想用了", "家里老人去世了，不用了"])
    assert list(coded["competitor"]) == ["none", "unknown", "none"]
    assert coded.iloc[1]["reasons"] == "slow_speed"


def test_rules_only_coder_needs_no_model() -> None:
    coded = Coder(load_codebook()).code(["太贵了", "网速有点慢，但主要是太贵"])
    assert coded.iloc[0]["reasons"] == "price"
    assert bool(coded.iloc[1]["needs_review"])  # a weak mention is left to a person


def test_confidence_ranks_right_codes_above_wrong_ones(coder: Coder) -> None:
    test = load_corpus(split="test")
    coded = coder.code(test["text"].tolist())
    right = pd.Series(
        [set(g) == set(p.split(";")) - {""} for g, p in zip(test["reasons"], coded["reasons"], strict=True)]
    )
    assert coded["confidence"][right].mean() > coded["confidence"][~right].mean() + 0.1


@pytest.mark.parametrize(
    ("corpus", "micro", "macro", "competitor"),
    [("corpus", 0.92, 0.92, 0.95), ("corpus2", 0.86, 0.86, 0.88)],
)
def test_the_shipped_model_holds_its_figures_on_the_held_out_test_parts(  # type: ignore[no-untyped-def]
    tmp_path, monkeypatch, corpus: str, micro: float, macro: float, competitor: float
) -> None:
    """The test parts were never trained or tuned on; the figures are those of the README, a little
    below them so that a retrained model passes, far above what a broken one reaches."""
    from coding.coder import default_coder, shipped_model_path
    from coding.evaluation import score

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv("CHURN_SURVEY_MODEL", raising=False)
    notices: list[str] = []
    coder = default_coder(notify=notices.append, model_path=shipped_model_path())
    assert notices == [], "the shipped model must match the shipped codebook and libraries"
    result = score(coder, load_corpus(split="test", corpora=(corpus,)))
    assert result.micro_f1 >= micro
    assert result.macro_f1 >= macro
    assert result.competitor_accuracy is not None and result.competitor_accuracy >= competitor
    # what is coded automatically is right far more often than the target of 90%
    assert result.automatic_share is not None and result.automatic_share >= 0.1
    assert result.automatic_exact is not None and result.automatic_exact >= 0.95
