"""Pictures of a study: bar charts of the reasons or the competitors, a heat map of a cross-tab, a word cloud.

They are drawn by coding.pictures with a font checked to cover every character; what it refuses
(an output that is neither .png nor .svg, nothing to draw) comes back as a ResearchError.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from coding.pictures import bar_chart, heatmap, word_cloud
from survey_tui.research.errors import ResearchError
from survey_tui.research.respondents import Filters, respondents
from survey_tui.research.study import Study
from survey_tui.research.tallies import CROSS_BY, competitor_shares, crosstab, reason_tally
from survey_tui.store import Store

CHARTS = ("reasons", "competitors", "crosstab")

# Words every answer has ("宽带" is what all of them are about): in a cloud they only crowd out the reasons.
CLOUD_STOPWORDS = (
    "宽带",
    "电信",
    "就是",
    "那边",
    "这边",
    "后来",
    "现在",
    "每个",
    "问题",
    "时候",
    "东西",
    "还要",
    "一直",
    "本来",
    "以后",
    "反正",
    "这些",
    "原来",
    "其实",
    "觉得",
    "感觉",
    "自己",
)


@contextmanager
def _drawing() -> Iterator[None]:
    """coding.pictures says what it cannot draw with a ValueError; here it is the researcher's to fix."""
    try:
        yield
    except ValueError as error:
        if type(error) is not ValueError:  # FontError and the like keep their own type
            raise
        raise ResearchError(str(error)) from error


def chart(
    store: Store,
    study: Study,
    output: Path,
    *,
    what: str = "reasons",
    by: str = "competitor",
    font: Path,
    filters: Filters = Filters(),
) -> Path:
    """A bar chart of the reasons (share of respondents) or of the competitor shares, or a heat map
    of the reasons by competitor, branch, month or package (row percentages)."""
    if what not in CHARTS:
        raise ResearchError(f"the charts are {', '.join(CHARTS)}, not {what!r}")
    if by not in CROSS_BY:
        raise ResearchError(f"cross-tabs are by {', '.join(CROSS_BY)}, not {by!r}")
    if study.reasons is None and what != "competitors":
        raise ResearchError(f"{study.name} declares no question tallied as reasons (tally: reasons)")
    frame = respondents(store, study, filters)
    with _drawing():
        if what == "reasons":
            table = reason_tally(frame)
            table = table[table["reason"] != "uncoded"]
            return bar_chart(
                table,
                label_column="label",
                value_column="share_of_respondents",
                title=f"宽带拆机原因（占受访者比例，n={table.attrs.get('n', len(frame))}）",
                output=output,
                font=font,
            )
        if what == "competitors":
            table = competitor_shares(frame)
            return bar_chart(
                table,
                label_column="label",
                value_column="share",
                title=f"转网客户去向（n={table.attrs['n']}）",
                output=output,
                font=font,
            )
        crossed = crosstab(frame, by)
        return heatmap(crossed.row_percent, title=f"拆机原因 × {by}（行百分比）", output=output, font=font)


@dataclass(frozen=True)
class Cloud:
    """A word cloud drawn: where, from how many answers, and the weight of each word."""

    path: Path
    answers: int
    words: dict[str, float]


def cloud(
    store: Store,
    study: Study,
    output: Path,
    *,
    font: Path,
    question: str | None = None,
    reason: str | None = None,
    filters: Filters = Filters(),
) -> Cloud:
    """A word cloud of the answers to a text question (by default the one tallied as reasons),
    overall or of the answers coded with one reason."""
    chosen = question or (study.reasons.id if study.reasons is not None else None)
    if chosen is None:
        raise ResearchError(f"{study.name} declares no question tallied as reasons; name one with --question")
    frame = respondents(store, study, filters)
    if chosen not in frame:
        raise ResearchError(f"no answers to {chosen!r} in the interviews of {study.name}")
    if reason:
        frame = frame[[bool(value) and reason in value for value in frame["reasons"]]]
    texts = [value for value in frame[chosen] if isinstance(value, str) and value.strip()]
    with _drawing():
        drawn = word_cloud(texts, output=output, font=font, stopwords=CLOUD_STOPWORDS)
    return Cloud(drawn.path, len(texts), dict(drawn.words))
