"""Charts and word clouds of the survey results, drawn only with a font that has every Chinese character."""

from __future__ import annotations

import math
import os
import re
import shutil
import subprocess
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib.util import find_spec
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fontTools.ttLib import TTFont, TTLibError

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties

FONT_ENV = "CHURN_SURVEY_FONT"
FONT_SUFFIXES = frozenset({".ttf", ".otf", ".ttc", ".otc"})
# A font counts as Chinese when it draws these common characters of the answers (simplified
# only: asking for traditional forms too would turn away good SC fonts).
PROBE_TEXT = "搬家拆迁电信资费贵网速慢装维师傅"
# The Noto Sans CJK SC file that the mplfonts wheel carries (SIL Open Font License); it is the
# fallback that makes `pip install -e .` alone draw Chinese on a machine without CJK fonts.
SHIPPED_PACKAGE = "mplfonts"
SHIPPED_FONTS = ("NotoSansCJKsc-Regular.otf", "SourceHanSerifSC-Regular.otf", "NotoSerifCJKsc-Regular.otf")
CHART_SUFFIXES = frozenset({".png", ".svg"})
# Weights and styles other than regular, and serif or monospaced designs, read worse in a chart.
_STYLED = re.compile(r"bold|light|thin|black|medium|heavy|semibold|demi|italic|oblique")
_NOT_SANS = re.compile(r"serif|mono|song|ming|kai|fangsong")
_SIMPLIFIED = re.compile(r"sc\b|sc[-_.]|cn|hans|gb|zh|hei|wqy")


class FontError(Exception):
    """No usable font, or a font that lacks glyphs for the text to draw; the message says which."""


@dataclass(frozen=True)
class WordCloudResult:
    """The PNG written and the words of the cloud with their relative frequencies (1.0 the most)."""

    path: Path
    words: dict[str, float] = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------
# Fonts


def find_cjk_font(preferred: str | Path | None = None) -> Path:
    """A font file that draws Chinese: `preferred` (a file or family name), else $CHURN_SURVEY_FONT,
    else a system font that fontconfig lists for Chinese, else the font shipped by mplfonts."""
    choice = preferred if preferred is not None else (os.environ.get(FONT_ENV) or None)
    if choice is not None:
        # An explicit choice that cannot draw Chinese is an error, not something to silently
        # replace: the researcher asked for that font and would not notice the swap.
        path = _resolve_choice(choice)
        missing = missing_glyphs(path, PROBE_TEXT)
        if missing:
            origin = "" if preferred is not None else f" (from {FONT_ENV})"
            raise FontError(f"font {path}{origin} has no Chinese glyphs (missing {''.join(missing)})")
        return path
    for candidate in (*_system_cjk_fonts(), *_shipped_fonts()):
        if _draws_chinese(candidate):
            return candidate
    raise FontError(
        "no font with Chinese characters found: install one (Debian/Ubuntu: apt-get install "
        f"fonts-noto-cjk), `pip install {SHIPPED_PACKAGE}`, or set {FONT_ENV} to a .ttf/.otf/.ttc file"
    )


def font_covers(path: Path, text: str) -> bool:
    """Whether the font (the first one of a .ttc collection) has a glyph for every non-space character."""
    return not missing_glyphs(path, text)


def missing_glyphs(path: Path, text: str) -> list[str]:
    """The distinct non-space characters of `text` that the font has no glyph for, in text order."""
    cmap = _codepoints(*_file_key(Path(path)))
    return list(dict.fromkeys(char for char in text if not char.isspace() and ord(char) not in cmap))


def _file_key(path: Path) -> tuple[str, int, int]:
    # The file's size and time are part of the cache key so that a replaced font is read again.
    try:
        stat = path.stat()
    except OSError as error:
        raise FontError(f"cannot read font file {path}: {error.strerror or error}") from error
    return str(path), stat.st_mtime_ns, stat.st_size


@lru_cache(maxsize=16)
def _codepoints(path: str, _mtime_ns: int, _size: int) -> frozenset[int]:
    try:
        # fontNumber=0 picks the first font of a collection and is ignored for a single font;
        # lazy loading reads only the cmap table of a 16 MB CJK font.
        with TTFont(path, fontNumber=0, lazy=True) as font:
            cmap = font.getBestCmap()
    except (TTLibError, OSError, AssertionError, KeyError, ValueError) as error:
        raise FontError(f"{path} is not a font file fontTools can read ({error})") from error
    return frozenset(cmap or ())


def _draws_chinese(path: Path) -> bool:
    try:
        return font_covers(path, PROBE_TEXT)
    except FontError:
        return False


def _resolve_choice(choice: str | Path) -> Path:
    path = Path(choice).expanduser()
    if path.is_file():
        return path
    text = str(choice)
    if isinstance(choice, Path) or os.sep in text or "/" in text or path.suffix.lower() in FONT_SUFFIXES:
        raise FontError(f"font file {path} does not exist")
    found = next(_fonts_of_family(text), None)
    if found is None:
        raise FontError(f"no font file of the family {text!r} found (give a .ttf/.otf/.ttc path instead)")
    return found


def _fonts_of_family(family: str) -> Iterator[Path]:
    # fontconfig knows the system's fonts by every localised name (思源黑体 as well as Source Han
    # Sans SC); the shipped fonts are not registered with it, so their name tables are read too.
    escaped = re.sub(r"([\\:,\-])", r"\\\1", family)
    yield from _ranked(_fc_list(f":family={escaped}"))
    wanted = family.casefold()
    for path in _shipped_fonts():
        if wanted in _family_names(str(path)):
            yield path


@lru_cache(maxsize=8)
def _family_names(path: str) -> frozenset[str]:
    try:
        with TTFont(path, fontNumber=0, lazy=True) as font:
            names = font["name"].names
            return frozenset(str(record).casefold() for record in names if record.nameID in (1, 4, 16))
    except (TTLibError, OSError, KeyError, UnicodeDecodeError):
        return frozenset()


def _system_cjk_fonts() -> list[Path]:
    return _ranked(_fc_list(":lang=zh"))


def _fc_list(pattern: str) -> list[Path]:
    program = shutil.which("fc-list")
    if program is None:
        return []
    try:
        result = subprocess.run(
            [program, pattern, "file"], capture_output=True, text=True, timeout=30, check=False, errors="replace"
        )
    except (OSError, subprocess.TimeoutExpired):
        # A broken fontconfig must not stop the charts: the shipped font is still there.
        return []
    paths = []
    for line in result.stdout.splitlines():
        # Each line is "/path/to/font.ttc: "; bitmap and Type 1 fonts cannot be used by FreeType here.
        path = Path(line.strip().removesuffix(":"))
        if path.suffix.lower() in FONT_SUFFIXES:
            paths.append(path)
    return paths


def _ranked(paths: Iterable[Path]) -> list[Path]:
    def rank(path: Path) -> tuple[bool, bool, bool, str]:
        name = path.name.lower()
        return bool(_STYLED.search(name)), bool(_NOT_SANS.search(name)), not _SIMPLIFIED.search(name), str(path)

    return sorted(set(paths), key=rank)


def _shipped_fonts() -> list[Path]:
    # find_spec locates the package without importing it (mplfonts imports matplotlib and fire).
    spec = find_spec(SHIPPED_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return []
    folders = [Path(location) / "fonts" for location in spec.submodule_search_locations]
    return [folder / name for name in SHIPPED_FONTS for folder in folders if (folder / name).is_file()]


def _checked_font(font: Path | None, texts: Iterable[str]) -> Path:
    path = Path(font) if font is not None else find_cjk_font()
    missing = missing_glyphs(path, "".join(texts))
    if missing:
        shown = " ".join(missing[:40]) + (" …" if len(missing) > 40 else "")
        raise FontError(f"font {path} has no glyph for {len(missing)} character(s) to draw: {shown}")
    return path


# ---------------------------------------------------------------------------------------------
# Charts


def bar_chart(
    table: pd.DataFrame,
    *,
    label_column: str,
    value_column: str,
    title: str,
    output: Path,
    percent: bool = True,
    font: Path | None = None,
) -> Path:
    """Horizontal bars, largest on top, each value printed at its bar's end; PNG or SVG by suffix."""
    import pandas as pd

    output = Path(output)
    _check_suffix(output)
    for column in (label_column, value_column):
        if column not in table.columns:
            raise ValueError(f"no column {column!r}; the columns are: {', '.join(map(str, table.columns))}")
    values = pd.to_numeric(table[value_column], errors="coerce")
    rows = pd.DataFrame({"label": table[label_column].astype(str), "value": values}).dropna(subset=["value"])
    if rows.empty:
        raise ValueError(f"no numeric values in column {value_column!r} to draw")
    # barh draws the first row at the bottom, so ascending order puts the largest bar on top.
    rows = rows.sort_values("value", kind="stable")
    texts = [f"{value:.1%}" if percent else _number(value) for value in rows["value"]]
    path = _checked_font(font, [title, *rows["label"], *texts])

    with _chart_style():
        figure, prop = _figure(path, width=8.0, height=max(2.5, 0.42 * len(rows) + 1.3))
        axes = figure.add_subplot()
        bars = axes.barh(range(len(rows)), rows["value"], color="#2f6db5", height=0.65)
        axes.set_yticks(range(len(rows)), list(rows["label"]), fontproperties=prop)
        axes.bar_label(bars, labels=texts, padding=3, fontproperties=_sized(prop, 9))
        low, high = min(0.0, float(rows["value"].min())), max(0.0, float(rows["value"].max()))
        # Room right of the longest bar for its printed value.
        axes.set_xlim(low * 1.18, high * 1.18 if high > 0 else 1.0)
        # The values are printed on the bars, so a value axis would only repeat them.
        axes.xaxis.set_visible(False)
        for side in ("top", "right", "bottom"):
            axes.spines[side].set_visible(False)
        axes.tick_params(axis="y", length=0)
        axes.set_title(title, fontproperties=_sized(prop, 13), loc="left")
        return _save(figure, output)


def heatmap(
    crosstab: pd.DataFrame,
    *,
    title: str,
    output: Path,
    font: Path | None = None,
    fmt: str = "{:.0%}",
) -> Path:
    """A row-percentage cross-tab as shaded cells with the share printed in each; PNG or SVG by suffix."""
    import numpy as np
    import pandas as pd

    output = Path(output)
    _check_suffix(output)
    if crosstab.empty:
        raise ValueError("the cross-tab has no cells to draw")
    values = crosstab.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
    rows = [str(label) for label in crosstab.index]
    columns = [str(label) for label in crosstab.columns]
    cells = [["" if math.isnan(value) else fmt.format(value) for value in row] for row in values]
    axis_names = [str(name) for name in (crosstab.index.name, crosstab.columns.name) if name is not None]
    path = _checked_font(font, [title, *rows, *columns, *axis_names, *(text for row in cells for text in row)])

    longest_row = max((len(label) for label in rows), default=1)
    longest_column = max((len(label) for label in columns), default=1)
    # Long column labels are turned, so they need height rather than width.
    turned = longest_column > 4 or len(columns) > 8
    width = max(5.0, 0.85 * len(columns) + 0.2 * longest_row + 2.0)
    height = max(3.0, 0.5 * len(rows) + (0.2 * longest_column if turned else 0.4) + 1.5)
    with _chart_style():
        figure, prop = _figure(path, width=width, height=height)
        axes = figure.add_subplot()
        finite = values[np.isfinite(values)]
        top = float(finite.max()) if finite.size and finite.max() > 0 else 1.0
        axes.imshow(np.ma.masked_invalid(values), cmap="Blues", vmin=0.0, vmax=top, aspect="auto")
        axes.set_xticks(range(len(columns)), columns, fontproperties=prop)
        axes.set_yticks(range(len(rows)), rows, fontproperties=prop)
        if turned:
            for label in axes.get_xticklabels():
                label.set_rotation(40)
                label.set_horizontalalignment("right")
        axes.tick_params(length=0)
        for spine in axes.spines.values():
            spine.set_visible(False)
        # Every cell carries its share, which a colour bar would only approximate.
        for i, row in enumerate(cells):
            for j, text in enumerate(row):
                if text:
                    dark = values[i, j] / top > 0.55
                    axes.text(
                        j,
                        i,
                        text,
                        ha="center",
                        va="center",
                        color="white" if dark else "#1a1a1a",
                        fontproperties=_sized(prop, 9),
                    )
        if crosstab.index.name is not None:
            axes.set_ylabel(str(crosstab.index.name), fontproperties=prop)
        if crosstab.columns.name is not None:
            axes.set_xlabel(str(crosstab.columns.name), fontproperties=prop)
        axes.set_title(title, fontproperties=_sized(prop, 13), loc="left")
        return _save(figure, output)


def _number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def _check_suffix(output: Path) -> None:
    if output.suffix.lower() not in CHART_SUFFIXES:
        raise ValueError(f"{output}: charts are written as .png or .svg, not {output.suffix or 'no suffix'}")


def _chart_style() -> Any:
    import matplotlib

    # Text as outlines in SVG, so the Chinese shows on a machine without the font; the ASCII
    # hyphen as minus sign, which every font has.
    return matplotlib.rc_context({"svg.fonttype": "path", "axes.unicode_minus": False, "svg.hashsalt": "churn"})


def _figure(font: Path, *, width: float, height: float) -> tuple[Figure, FontProperties]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties

    # A bare Figure on its own Agg canvas: no pyplot, so no global backend is switched for the
    # caller and no window can open; the font is given by file so no other font is ever used.
    figure = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(figure)
    return figure, FontProperties(fname=str(font), size=10)


def _sized(prop: FontProperties, size: float) -> FontProperties:
    copy = prop.copy()
    copy.set_size(size)
    return copy


def _save(figure: Figure, output: Path) -> Path:
    output.parent.mkdir(parents=True, exist_ok=True)
    if output.suffix.lower() == ".svg":
        # No date in the file, so the same table gives the same SVG.
        figure.savefig(output, format="svg", metadata={"Date": None})
    else:
        figure.savefig(output, format="png", dpi=150, facecolor="white")
    return output


# ---------------------------------------------------------------------------------------------
# Word cloud


def cloud_frequencies(texts: Sequence[str], stopwords: Iterable[str] = ()) -> Counter[str]:
    """Word counts over the answers, as the word cloud draws them."""
    from coding.normalize import normalize
    from coding.segment import NEGATORS, segment

    drop = {word.casefold() for word in stopwords}
    counts: Counter[str] = Counter()
    for text in texts:
        for token in segment(normalize(text)):
            word = token.removeprefix("非_")
            # Negators carry meaning for the classifier but are noise in a picture of topics.
            if word in NEGATORS or word.casefold() in drop:
                continue
            ascii_word = word.isascii() and word.isalnum()
            if len(word) < 2 and not ascii_word:
                continue
            # segment() lowercases; the ASCII words of these answers are acronyms (ITV, IPTV, 5G).
            counts[word.upper() if ascii_word else word] += 1
    return counts


def word_cloud(
    texts: Sequence[str],
    *,
    output: Path,
    font: Path | None = None,
    stopwords: Iterable[str] = (),
    width: int = 1200,
    height: int = 800,
    max_words: int = 150,
) -> WordCloudResult:
    """A PNG word cloud of the answers' words (jieba with the domain dictionary, stopwords removed)."""
    output = Path(output)
    if output.suffix.lower() != ".png":
        raise ValueError(f"{output}: the word cloud is written as .png")
    counts = cloud_frequencies(texts, stopwords)
    if not counts:
        raise ValueError("no words to draw")
    top = dict(counts.most_common(max_words))
    path = _checked_font(font, top)

    from wordcloud import WordCloud

    # Frequencies rather than generate(): WordCloud's own tokenizer splits on spaces and would cut
    # 一拆一装 apart. Horizontal words only, as rotated Chinese reads sideways; a fixed random state
    # gives the same picture for the same answers.
    cloud = WordCloud(
        font_path=str(path),
        width=width,
        height=height,
        max_words=max_words,
        background_color="white",
        prefer_horizontal=1.0,
        random_state=0,
        colormap="viridis",
    )
    cloud.generate_from_frequencies(top)
    output.parent.mkdir(parents=True, exist_ok=True)
    cloud.to_image().save(output, format="PNG")
    return WordCloudResult(path=output, words=dict(cloud.words_))
