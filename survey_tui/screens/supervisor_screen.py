"""The supervisor's view: cases, attempts, outcomes and AAPOR rates per agent and in total."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from survey_tui.calling import StoreError
from survey_tui.model.dispositions import EDITION
from survey_tui.widgets import StatusLine

if TYPE_CHECKING:
    from survey_tui.app import SurveyApp


def percent(share: float | None) -> str:
    return "—" if share is None else f"{share * 100:.1f}%"


class SupervisorScreen(Screen[None]):
    """Refreshes on `r`; `escape` goes back to the queue."""

    CSS_PATH = "supervisor_screen.tcss"
    BINDINGS = [
        Binding("r", "refresh", "刷新"),
        Binding("escape", "app.pop_screen", "返回"),
    ]

    def compose(self) -> ComposeResult:
        yield Static("主管视图：各坐席进度与 AAPOR 比率", classes="heading")
        yield DataTable(id="agents", zebra_stripes=True)
        yield Static(f"比率按 {EDITION} 计算；e 按比例分配法估计。", id="edition")
        yield StatusLine()
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#agents", DataTable)
        table.add_columns("坐席", "客户", "拨打", "完成", "拒访/中断", "未接触", "RR1", "COOP1", "REF1", "CON1")
        self.action_refresh()

    def action_refresh(self) -> None:
        survey = cast("SurveyApp", self.app)
        table = self.query_one("#agents", DataTable)
        try:
            lines = survey.desk.progress()
        except StoreError as error:
            self.query_one("#edition", Static).update(f"无法读取进度：{error}")
            return
        table.clear()
        for line in lines:
            rates = line.rates
            table.add_row(
                line.agent,
                line.cases,
                line.attempts,
                line.completes,
                line.refusals,
                line.non_contacts,
                percent(rates.rr1),
                percent(rates.coop1),
                percent(rates.ref1),
                percent(rates.con1),
            )
