"""A self-contained HTML report: tables, charts (inline SVG), the word cloud (inline PNG), the rates."""

from __future__ import annotations

import base64
import html
import os
import tempfile
from datetime import datetime
from pathlib import Path

import pandas as pd

from coding.pictures import bar_chart, heatmap, word_cloud
from survey_tui.model import flow
from survey_tui.research.charts import CLOUD_STOPWORDS
from survey_tui.research.respondents import Filters, respondents
from survey_tui.research.study import Study
from survey_tui.research.tallies import crosstab, tables
from survey_tui.store import Store

# The tables every study has or the study's own (STUDY_TALLIES); a choice question's table is
# titled by the question.
TITLES = {
    "reasons": "拆机原因",
    "competitors": "转网客户去向",
    "choice_reasons": "选择竞争对手的原因",
    "call_outcomes": "呼叫结果",
    "response_rates": "AAPOR 应答率",
}
STYLE = """
body { font-family: "Noto Sans CJK SC", "Microsoft YaHei", "PingFang SC", sans-serif; margin: 2em auto;
       max-width: 960px; color: #222; }
h1 { border-bottom: 3px solid #1f5fa8; padding-bottom: .3em; }
h2 { color: #1f5fa8; margin-top: 2em; }
table { border-collapse: collapse; margin: .5em 0 1em; font-size: 14px; }
th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: right; }
th { background: #eef3fa; }
td:first-child, th:first-child { text-align: left; }
.note { color: #666; font-size: 13px; }
figure { margin: 1em 0; } figure svg, figure img { max-width: 100%; height: auto; }
"""


def _table_html(table: pd.DataFrame, *, index: bool = False) -> str:
    shown = table.copy()
    for column in shown.columns:
        if str(column).startswith("share") or column == "value":
            shown[column] = [f"{v:.1%}" if isinstance(v, float) and v == v else "—" for v in shown[column]]
    return shown.to_html(index=index, border=0, na_rep="—", escape=True)


def _inline_svg(path: Path) -> str:
    text = path.read_text("utf-8")
    start = text.find("<svg")
    return text[start:] if start >= 0 else text


def _titles(study: Study) -> dict[str, str]:
    """Every table's heading: its own, or the text of the question it counts, with the question's id."""
    titles = dict(TITLES)
    if study.choice_reasons is not None:
        titles["choice_reasons"] = f"{TITLES['choice_reasons']}（{study.choice_reasons.id}）"
    for question in study.choice_tables:
        titles[str(question.tally)] = f"{flow.render(question.text, study.questionnaire, {})}（{question.id}）"
    return titles


def write_report(
    store: Store,
    study: Study,
    output: Path,
    *,
    filters: Filters | None = None,
    font: Path,
) -> Path:
    """Write the report to `output`; nothing in it is fetched from the network when opened."""
    filters = filters or Filters()
    all_tables = tables(store, study, filters)
    frame = respondents(store, study, filters)
    questionnaire = study.questionnaire
    titles = _titles(study)
    parts = [
        "<!DOCTYPE html><html lang='zh-CN'><head><meta charset='utf-8'>",
        "<title>宽带拆机客户回访报告</title>",
        f"<style>{STYLE}</style></head><body>",
        "<h1>宽带拆机客户回访报告</h1>",
        f"<p class='note'>生成时间 {datetime.now().astimezone():%Y-%m-%d %H:%M} · 完成访问 {len(frame)} 份 · "
        f"问卷 {html.escape(questionnaire.title)}（版本 {html.escape(questionnaire.version)}）</p>",
    ]
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        if "reasons" in all_tables:
            parts += _reasons(all_tables["reasons"], frame, work, font)
        if "competitors" in all_tables:
            parts += _competitors(all_tables["competitors"], work, font)
        if study.reasons is not None:
            parts += _crossed(frame, work, font)
            parts += _cloud(frame, study.reasons.id, work, font)
    for name in [n for n in all_tables if n not in ("reasons", "competitors", "response_rates")]:
        if name.startswith("reasons_by_"):
            continue
        table = all_tables[name]
        n = table.attrs.get("n")
        parts += [
            f"<h2>{html.escape(titles.get(name, name))}</h2>"
            + (f"<p class='note'>n = {n}</p>" if n is not None else ""),
            _table_html(table),
        ]
    rates = all_tables["response_rates"]
    parts += [
        f"<h2>{TITLES['response_rates']}</h2>",
        _table_html(rates),
        f"<p class='note'>{html.escape(str(rates.attrs.get('edition', '')))}</p>",
        "</body></html>",
    ]
    output.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write("\n".join(parts))
    return output


def _reasons(reasons: pd.DataFrame, frame: pd.DataFrame, work: Path, font: Path) -> list[str]:
    parts = []
    if len(frame):
        chart = bar_chart(
            reasons[reasons["reason"] != "uncoded"],
            label_column="label",
            value_column="share_of_respondents",
            title=f"拆机原因（占受访者比例，n={len(frame)}）",
            output=work / "reasons.svg",
            font=font,
        )
        parts += ["<h2>拆机原因</h2>", f"<figure>{_inline_svg(chart)}</figure>"]
    return [*parts, _table_html(reasons)]


def _competitors(competitors: pd.DataFrame, work: Path, font: Path) -> list[str]:
    parts = []
    if competitors.attrs.get("n"):
        chart = bar_chart(
            competitors,
            label_column="label",
            value_column="share",
            title=f"转网客户去向（n={competitors.attrs['n']}）",
            output=work / "competitors.svg",
            font=font,
        )
        parts += ["<h2>转网客户去向</h2>", f"<figure>{_inline_svg(chart)}</figure>"]
    return [*parts, _table_html(competitors)]


def _crossed(frame: pd.DataFrame, work: Path, font: Path) -> list[str]:
    crossed = crosstab(frame, "competitor") if len(frame) else None
    if crossed is None or not crossed.row_percent.size:
        return []
    chart = heatmap(crossed.row_percent, title="拆机原因 × 去向（行百分比）", output=work / "heat.svg", font=font)
    return [
        "<h2>拆机原因 × 去向</h2>",
        f"<figure>{_inline_svg(chart)}</figure>",
        _table_html(crossed.counts, index=True),
        f"<p class='note'>{html.escape(crossed.note)}"
        + (f"：χ² = {crossed.chi2:.2f}，df = {crossed.dof}，p = {crossed.p_value:.4f}" if crossed.chi2 else "")
        + "</p>",
    ]


def _cloud(frame: pd.DataFrame, question_id: str, work: Path, font: Path) -> list[str]:
    texts = [t for t in frame.get(question_id, pd.Series(dtype=object)) if isinstance(t, str) and t.strip()]
    if not texts:
        return []
    try:
        cloud = word_cloud(
            texts, output=work / "cloud.png", font=font, width=900, height=500, stopwords=CLOUD_STOPWORDS
        )
    except ValueError:
        return []  # nothing but stopwords: the report goes on without a cloud
    encoded = base64.b64encode(cloud.path.read_bytes()).decode("ascii")
    return [
        "<h2>词云（拆机原因原话）</h2>",
        f"<figure><img alt='词云' src='data:image/png;base64,{encoded}'></figure>",
    ]
