"""Reviewing uncertain automatic codes, most instructive first: the answer with its cues highlighted,
corrected by key; after each batch the model learns from the codes and says what that changed."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Static

from coding.codebook import load_codebook
from coding.ids import COMPETITORS
from coding.normalize import normalize
from coding.rules import NEGATED, WEAK, RuleCoder
from survey_tui.calling import StoreError
from survey_tui.research.coding import CodedAnswer, Learned, ReviewSession, confirm_code, open_review
from survey_tui.widgets import StatusLine
from survey_tui.widgets.choice_list import digit_for, position_for

if TYPE_CHECKING:
    from survey_tui.app import SurveyApp

# Letter keys for the competitor, the first letter of a word the coder knows.
COMPETITOR_KEYS = {
    "m": "china_mobile",
    "u": "china_unicom",
    "g": "china_broadnet",
    "o": "other_isp",
    "t": "china_telecom",
    "n": "none",
    "k": "unknown",
}
STYLES = {1.0: "bold green underline", WEAK: "yellow underline", NEGATED: "red strike"}


class ReviewScreen(Screen[None]):
    """Most instructive first; digits toggle reasons, letters set the competitor, enter saves."""

    CSS_PATH = "review_screen.tcss"
    AUTO_FOCUS = ""
    BINDINGS = [
        Binding("enter", "confirm", "确认并下一条", priority=True),
        Binding("space", "skip", "跳过"),
        Binding("escape", "leave", "结束"),
    ]

    def __init__(self, coder_id: str, session: ReviewSession | None = None) -> None:
        super().__init__()
        self.coder_id = coder_id
        self.session = session
        self.learning = False
        self.learned: Learned | None = None
        self.codebook = load_codebook()
        self.rules = RuleCoder(self.codebook)
        self.queue: list[CodedAnswer] = []
        self.position = 0
        self.reasons: set[str] = set()
        self.competitor = "unknown"
        self.saved = 0

    @property
    def survey(self) -> SurveyApp:
        return cast("SurveyApp", self.app)

    def compose(self) -> ComposeResult:
        yield Static("", id="progress", classes="heading")
        yield Static("", id="answer")
        yield Static("", id="suggestion")
        yield Static("", id="reasons")
        yield Static("", id="competitor")
        yield Static("", id="learning")
        yield StatusLine()
        yield Footer()

    async def on_mount(self) -> None:
        self.query_one("#progress", Static).update("复核：正在载入模型并按教学价值排序…")
        if self.session is None:
            self.session = await self.survey.in_thread(open_review, self.survey.store)
        self.queue = await self.survey.in_thread(self.session.queue)
        self.show()

    @property
    def current(self) -> CodedAnswer | None:
        return self.queue[self.position] if self.position < len(self.queue) else None

    def show(self) -> None:
        item = self.current
        progress = self.query_one("#progress", Static)
        if item is None:
            progress.update(f"复核：没有待复核的答案了（本次确认 {self.saved} 条）。Esc 结束")
            for name in ("#answer", "#suggestion", "#reasons", "#competitor"):
                self.query_one(name, Static).update("")
            return
        confidence = item.code.confidence or 0.0
        where = f"{self.position + 1}/{len(self.queue)}"
        progress.update(f"复核 {where} · 置信度 {confidence:.2f} · 复核人 {self.coder_id}")
        self.reasons = set(item.code.reasons or [])
        self.competitor = item.code.competitor or "unknown"
        self.query_one("#answer", Static).update(self._highlighted(str(item.text or "")))
        suggested = "、".join(self._label(r) for r in self.codebook.reason_ids if r in self.reasons) or "无（其他）"
        self.query_one("#suggestion", Static).update(f"模型建议：{suggested} · {COMPETITORS[self.competitor]}")
        self._draw_choices()

    def _label(self, reason_id: str) -> str:
        return next(r.label for r in self.codebook.reasons if r.id == reason_id)

    def _highlighted(self, raw: str) -> Text:
        text = normalize(raw)
        result = self.rules.code(text)
        shown = Text(text)
        for mention in result.mentions:
            shown.stylize(STYLES.get(mention.strength, "bold"), mention.start, mention.end)
        for start, end in result.competitor_cues:
            shown.stylize("bold cyan", start, end)
        return shown

    def _draw_choices(self) -> None:
        lines = Text("原因（数字键勾选/取消）：\n", style="bold")
        for position, reason in enumerate(self.codebook.reasons):
            mark = "[x]" if reason.id in self.reasons else "[ ]"
            style = "bold reverse" if reason.id in self.reasons else ""
            lines.append(f" {digit_for(position)} {mark} {reason.label}\n", style=style)
        self.query_one("#reasons", Static).update(lines)
        keys = "  ".join(
            f"{key} {COMPETITORS[cid]}" + ("◀" if cid == self.competitor else "")
            for key, cid in COMPETITOR_KEYS.items()
        )
        self.query_one("#competitor", Static).update(Text.assemble(("竞争对手（字母键）：", "bold"), keys))

    def on_key(self, event: events.Key) -> None:
        if self.current is None:
            return
        position = position_for(event.key)
        if position is not None and position < len(self.codebook.reasons):
            event.stop()
            reason = self.codebook.reasons[position].id
            self.reasons.symmetric_difference_update({reason})
            self._draw_choices()
        elif event.key in COMPETITOR_KEYS:
            event.stop()
            self.competitor = COMPETITOR_KEYS[event.key]
            self._draw_choices()

    async def action_confirm(self) -> None:
        item = self.current
        if item is None:
            return
        reasons = [r for r in self.codebook.reason_ids if r in self.reasons]
        try:
            await self.survey.in_thread(
                confirm_code, self.survey.store, item.code.answer_id, reasons, self.competitor, coder=self.coder_id
            )
        except StoreError as error:
            self.notify(f"保存失败：{error}", severity="error")
            return
        self.saved += 1
        self.position += 1
        self.show()
        if self.session is not None and self.saved % self.session.batch == 0 and not self.learning:
            self.run_worker(self._learn(), exclusive=True, group="learning")

    async def _learn(self) -> None:
        """Retrain off the event loop while the reviewer goes on; then the rest of the queue is
        put in the order the new model finds most instructive."""
        assert self.session is not None
        self.learning = True
        note = self.query_one("#learning", Static)
        note.update(f"正在用 {self.saved} 条新编码重新训练模型，可继续复核…")
        try:
            learned = await self.survey.in_thread(self.session.learn)
        except (OSError, ValueError) as error:
            note.update(f"重新训练失败：{error}")
            return
        finally:
            self.learning = False
        self.learned = learned
        note.update(learned.describe())
        remaining = self.queue[self.position :]
        reordered = await self.survey.in_thread(self.session.reorder, remaining)
        if self.queue[self.position :] == remaining:  # nothing confirmed meanwhile
            self.queue[self.position :] = reordered
            self.show()

    def action_skip(self) -> None:
        if self.current is not None:
            self.position += 1
            self.show()

    def action_leave(self) -> None:
        self.dismiss()
