"""Charts and word clouds: a Chinese font is found on any machine and every label is drawn with it."""

from __future__ import annotations

import re
import stat
from pathlib import Path

import matplotlib
import pandas as pd
import pytest
from fontTools.ttLib import TTFont
from PIL import Image

from coding.pictures import (
    FONT_ENV,
    FontError,
    bar_chart,
    find_cjk_font,
    font_covers,
    heatmap,
    missing_glyphs,
    word_cloud,
)

DOMAIN_TEXT = "搬家拆迁电信资费贵网速慢一拆一装ITV会员"
LATIN_FONT = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
# A glyph matplotlib cannot find is reported as a UserWarning ("Glyph … missing from font(s)"):
# turning those into errors makes any box drawn instead of a character fail the test.
no_missing_glyphs = pytest.mark.filterwarnings("error:Glyph:UserWarning")


@pytest.fixture
def cjk_font(monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv(FONT_ENV, raising=False)
    return find_cjk_font()


@pytest.fixture
def reasons() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "reason": ["搬家拆迁", "资费贵", "网速慢", "一拆一装", "ITV会员费"],
            "share": [0.31, 0.42, 0.18, 0.07, 0.12],
        }
    )


@pytest.fixture
def crosstab() -> pd.DataFrame:
    return pd.DataFrame(
        [[0.5, 0.3, 0.2], [0.1, 0.6, 0.3], [0.25, float("nan"), 0.75]],
        index=pd.Index(["中国移动", "中国联通", "广电"], name="去向"),
        columns=pd.Index(["资费贵", "网速慢", "搬家拆迁"], name="原因"),
    )


def _postscript_name(font: Path) -> str:
    with TTFont(str(font), fontNumber=0, lazy=True) as opened:
        return str(opened["name"].getDebugName(6))


def _fake_fc_list(folder: Path, *lines: str) -> None:
    """An fc-list on PATH that prints the given font files as `fc-list :lang=zh file` does."""
    folder.mkdir(exist_ok=True)
    script = folder / "fc-list"
    script.write_text("#!/bin/sh\n" + "".join(f"echo '{line}: '\n" for line in lines), "utf-8")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)


# ---------------------------------------------------------------------------------------------
# Fonts


def test_the_font_found_covers_the_domain_words(cjk_font: Path) -> None:
    assert cjk_font.is_file()
    assert font_covers(cjk_font, DOMAIN_TEXT)
    assert font_covers(cjk_font, "  一拆一装 \n")


def test_a_fresh_machine_without_fontconfig_uses_the_font_of_the_pip_dependency(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(FONT_ENV, raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))  # no fc-list
    font = find_cjk_font()
    assert "mplfonts" in font.parts
    assert font.name == "NotoSansCJKsc-Regular.otf"


def test_fontconfig_fonts_come_first_and_must_cover_chinese(
    cjk_font: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    system_font = tmp_path / "fonts" / "SystemHei-Regular.otf"
    system_font.parent.mkdir()
    system_font.symlink_to(cjk_font)
    bitmap = tmp_path / "fonts" / "wenquanyi_12pt.pcf.gz"
    # fontconfig may list a font that claims zh but lacks the glyphs, or one FreeType cannot use.
    _fake_fc_list(tmp_path / "bin", str(LATIN_FONT), str(bitmap), str(system_font))
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    monkeypatch.delenv(FONT_ENV, raising=False)
    assert find_cjk_font() == system_font


def test_the_environment_variable_is_respected(cjk_font: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    chosen = tmp_path / "我的字体.otf"
    chosen.symlink_to(cjk_font)
    monkeypatch.setenv(FONT_ENV, str(chosen))
    assert find_cjk_font() == chosen
    # An argument beats the environment.
    other = tmp_path / "other.otf"
    other.symlink_to(cjk_font)
    assert find_cjk_font(other) == other


def test_a_family_name_is_looked_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(FONT_ENV, "Noto Sans CJK SC")
    assert font_covers(find_cjk_font(), DOMAIN_TEXT)


def test_a_font_without_chinese_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    assert not font_covers(LATIN_FONT, DOMAIN_TEXT)
    assert font_covers(LATIN_FONT, "ITV 100M")
    assert "搬" in missing_glyphs(LATIN_FONT, DOMAIN_TEXT)
    with pytest.raises(FontError, match="no Chinese glyphs"):
        find_cjk_font(LATIN_FONT)
    monkeypatch.setenv(FONT_ENV, str(LATIN_FONT))
    with pytest.raises(FontError, match=FONT_ENV):
        find_cjk_font()


def test_missing_or_unreadable_fonts_are_font_errors(tmp_path: Path) -> None:
    with pytest.raises(FontError, match="does not exist"):
        find_cjk_font(tmp_path / "nope.ttf")
    with pytest.raises(FontError, match="no font file of the family"):
        find_cjk_font("No Such Family 不存在")
    junk = tmp_path / "junk.ttf"
    junk.write_bytes(b"not a font at all")
    with pytest.raises(FontError, match="not a font file"):
        font_covers(junk, "中")


# ---------------------------------------------------------------------------------------------
# Charts


@no_missing_glyphs
def test_bar_chart_png(cjk_font: Path, reasons: pd.DataFrame, tmp_path: Path) -> None:
    assert font_covers(cjk_font, "".join(reasons["reason"]) + "拆机原因")
    out = bar_chart(reasons, label_column="reason", value_column="share", title="拆机原因", output=tmp_path / "r.png")
    assert out == tmp_path / "r.png"
    with Image.open(out) as image:
        assert image.format == "PNG"
        width, height = image.size
        assert width > 0 and height > 0
        # Something was drawn: not a blank white canvas.
        assert len(image.convert("L").getcolors(maxcolors=1 << 16) or ()) > 2


@no_missing_glyphs
def test_bar_chart_svg_carries_its_text_as_outlines(cjk_font: Path, reasons: pd.DataFrame, tmp_path: Path) -> None:
    out = bar_chart(
        reasons,
        label_column="reason",
        value_column="share",
        title="拆机原因（n=600）",
        output=tmp_path / "sub" / "r.svg",
        font=cjk_font,
    )
    svg = out.read_text("utf-8")
    assert "<path" in svg
    # Text became glyph outlines, not <text> elements that need the font on the viewer's machine.
    assert "<text" not in svg and "font-family" not in svg
    glyphs = set(re.findall(r'<path id="([^"]+)"', svg))
    assert glyphs, "no glyph outlines in the SVG"
    assert all(glyph.startswith(_postscript_name(cjk_font) + "-") for glyph in glyphs)


@no_missing_glyphs
def test_bar_chart_counts_without_percent(cjk_font: Path, tmp_path: Path) -> None:
    table = pd.DataFrame({"竞争对手": ["中国移动", "中国联通", "广电"], "人数": [120, 45, 9]})
    out = bar_chart(
        table, label_column="竞争对手", value_column="人数", title="去向", output=tmp_path / "c.svg", percent=False
    )
    assert out.is_file()


def test_bar_chart_refuses_a_font_without_the_labels(reasons: pd.DataFrame, tmp_path: Path) -> None:
    with pytest.raises(FontError, match="搬") as caught:
        bar_chart(
            reasons,
            label_column="reason",
            value_column="share",
            title="拆机原因",
            output=tmp_path / "r.png",
            font=LATIN_FONT,
        )
    assert "DejaVuSans" in str(caught.value)
    assert not (tmp_path / "r.png").exists()


def test_bar_chart_bad_arguments(reasons: pd.DataFrame, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="png or .svg"):
        bar_chart(reasons, label_column="reason", value_column="share", title="t", output=tmp_path / "r.pdf")
    with pytest.raises(ValueError, match="no column 'count'"):
        bar_chart(reasons, label_column="reason", value_column="count", title="t", output=tmp_path / "r.png")


@no_missing_glyphs
def test_heatmap(cjk_font: Path, crosstab: pd.DataFrame, tmp_path: Path) -> None:
    png = heatmap(crosstab, title="原因 × 去向（行百分比）", output=tmp_path / "h.png")
    with Image.open(png) as image:
        assert image.format == "PNG" and image.size[0] > 0 and image.size[1] > 0
    svg = heatmap(crosstab, title="原因 × 去向（行百分比）", output=tmp_path / "h.svg", font=cjk_font, fmt="{:.1%}")
    assert "<path" in svg.read_text("utf-8")


def test_heatmap_refuses_a_font_without_the_labels(crosstab: pd.DataFrame, tmp_path: Path) -> None:
    with pytest.raises(FontError, match="移"):
        heatmap(crosstab, title="cross-tab", output=tmp_path / "h.png", font=LATIN_FONT)


# ---------------------------------------------------------------------------------------------
# Word cloud

ANSWERS = [
    "搬家了，要一拆一装，太麻烦",
    "一拆一装还要收费，不划算",
    "ITV会员要另外收费，网速慢",
    "电信资费贵，不是网速问题",
    "移动送的宽带，电信太贵了",
]


def test_word_cloud_keeps_domain_phrases_whole(cjk_font: Path, tmp_path: Path) -> None:
    result = word_cloud(ANSWERS * 4, output=tmp_path / "cloud.png", width=600, height=400)
    assert result.path == tmp_path / "cloud.png"
    with Image.open(result.path) as image:
        assert image.format == "PNG"
        assert image.size == (600, 400)
    assert "一拆一装" in result.words
    assert result.words["一拆一装"] == 1.0  # the most frequent word
    assert "ITV" in result.words
    assert not any(word.startswith("非_") for word in result.words)
    assert all(len(word) > 1 or word.isascii() for word in result.words)
    assert "不是" not in result.words  # negators carry no topic


def test_word_cloud_stopwords_and_max_words(tmp_path: Path) -> None:
    result = word_cloud(ANSWERS, output=tmp_path / "cloud.png", stopwords=["麻烦", "itv"], max_words=5, width=400)
    assert "麻烦" not in result.words and "ITV" not in result.words
    assert 0 < len(result.words) <= 5


def test_word_cloud_with_nothing_to_draw(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no words to draw"):
        word_cloud(["的", "  ", "。", "慢"], output=tmp_path / "cloud.png")
    assert not (tmp_path / "cloud.png").exists()


def test_word_cloud_refuses_a_font_without_chinese(tmp_path: Path) -> None:
    with pytest.raises(FontError, match="拆"):
        word_cloud(ANSWERS, output=tmp_path / "cloud.png", font=LATIN_FONT)
