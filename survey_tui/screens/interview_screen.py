"""One question at a time: digits pick choices, enter moves on, every answer saved before the next."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Input, Static

from survey_tui.calling import InterviewEnded, InterviewSession, StoreError
from survey_tui.dialogs import BreakOffDialog
from survey_tui.model import flow
from survey_tui.model.questionnaire import (
    NUMBER_TYPES,
    Answer,
    Choice,
    Question,
    Questionnaire,
    QuestionType,
    SpecialAnswer,
)
from survey_tui.widgets import AnswerArea, ChoiceList, StatusLine
from survey_tui.widgets.choice_list import position_for

if TYPE_CHECKING:
    from survey_tui.app import SurveyApp

# Long answers are saved while typed, at least this often, so a crash loses at most this much.
DRAFT_SECONDS = 2.0

# What the answer line asks for, by the kind of answer typed into it.
PLACEHOLDERS = {
    QuestionType.INTEGER: "整数，回车确认",
    QuestionType.DECIMAL: "数字，回车确认",
    QuestionType.DATE: "日期 YYYY-MM-DD，回车确认",
}
BAD_INPUT = {
    QuestionType.INTEGER: "请输入整数",
    QuestionType.DECIMAL: "请输入数字",
    QuestionType.DATE: "请输入日期，例如 2024-05-01",
}


class InterviewScreen(Screen[InterviewEnded]):
    """Asks the questionnaire; the store holds every answer before the next question shows."""

    CSS_PATH = "interview_screen.tcss"
    # Digits are answers here: nothing may take them before the screen does.
    AUTO_FOCUS = ""
    BINDINGS = [
        Binding("f8", "special('dont_know')", "不知道", priority=True),
        Binding("f9", "special('refused')", "拒答", priority=True),
        Binding("pageup", "back", "上一题", key_display="PgUp", priority=True),
        Binding("escape", "break_off", "中断", priority=True),
    ]

    def __init__(self, questionnaire: Questionnaire, interview_id: int) -> None:
        super().__init__()
        self.questionnaire = questionnaire
        self.interview_id = interview_id
        self.session: InterviewSession | None = None
        self.selected: list[str] = []
        self.busy = False

    @property
    def survey(self) -> SurveyApp:
        return cast("SurveyApp", self.app)

    def compose(self) -> ComposeResult:
        yield Static("", id="progress", classes="heading")
        with Horizontal(id="body"):
            with Vertical(id="main"):
                yield Static("", id="question")
                yield ChoiceList(id="choices")
                yield Input(id="text")
                yield AnswerArea(id="long", soft_wrap=True, show_line_numbers=False)
                yield Input(placeholder="请注明（回车确认）", id="specify")
                yield Static("", id="keys")
                yield Static("", id="problem")
            yield Static("", id="hint")
        yield StatusLine()
        yield Footer()

    def on_mount(self) -> None:
        try:
            self.session = self.survey.desk.interview(self.questionnaire, self.interview_id)
        except StoreError as error:
            # The database went away between opening the interview and reading its answers.
            self.app.notify(f"无法打开访问：{error}", severity="error")
            self.dismiss(None)
            return
        self.session.start()
        self.set_interval(DRAFT_SECONDS, self.save_draft)
        self.show_question()

    # -- drawing -----------------------------------------------------------------------------

    @property
    def current(self) -> Question | None:
        return self.session.current if self.session else None

    def show_question(self) -> None:
        session = self.session
        assert session is not None
        question = session.current
        if question is None:
            self.finish()
            return
        position, total = session.progress()
        sections = " · ".join(session.render(g.label) for g in self.questionnaire.group_path(question) if g.label)
        heading = f"{self.questionnaire.title}{' · ' + sections if sections else ''}"
        self.query_one("#progress", Static).update(
            f"{heading} · 第 {position}/{total} 题" if question.takes_answer else heading
        )
        self.query_one("#question", Static).update(Text(session.text(question), style="bold"))
        hint = session.hint(question)
        hint_widget = self.query_one("#hint", Static)
        hint_widget.update(Text.assemble(("坐席提示\n", "bold"), hint) if hint else "")
        hint_widget.display = bool(hint)
        self.query_one("#problem", Static).update("")
        previous = session.answers.get(question.id) or flow.default_answer(question)
        self._configure_inputs(question, previous)
        self.query_one("#keys", Static).update(self._key_help(question))

    def _configure_inputs(self, question: Question, previous: Answer | None) -> None:
        choices = self.query_one("#choices", ChoiceList)
        text = self.query_one("#text", Input)
        long = self.query_one("#long", AnswerArea)
        specify = self.query_one("#specify", Input)
        for widget in (choices, text, long, specify):
            widget.display = False
        self.set_focus(None)
        value = previous.value if previous and previous.special is None else None
        if question.is_choice:
            self.selected = list(value) if isinstance(value, list) else ([value] if value else [])
            choices.display = True
            self._draw_choices()
            if previous and previous.other_text:
                specify.value = previous.other_text
        elif question.type is QuestionType.LONG_TEXT:
            long.display = True
            draft = self.session.drafts.get(question.id) if self.session else None
            long.load_text(draft if draft is not None else str(value or ""))
            long.focus()
            long.move_cursor(long.document.end)
        elif question.takes_answer:
            text.display = True
            if question.type is QuestionType.INTEGER:
                text.type = "integer"
            elif question.type is QuestionType.DECIMAL:
                text.type = "number"
            else:
                text.type = "text"
            text.value = "" if value is None else str(value)
            text.placeholder = PLACEHOLDERS.get(question.type, "回车确认")
            text.focus()
        specify.value = previous.other_text if previous and previous.other_text else ""

    def _choices(self, question: Question) -> tuple[Choice, ...]:
        return self.session.choices(question) if self.session else question.choices

    def _draw_choices(self) -> None:
        question = self.current
        if question is not None:
            self.query_one("#choices", ChoiceList).show_choices(
                self._choices(question), self.selected, multiple=question.type is QuestionType.MULTIPLE_CHOICE
            )

    def _key_help(self, question: Question) -> str:
        if not question.takes_answer:
            return "回车 继续"
        parts = {
            QuestionType.SINGLE_CHOICE: "数字 选择并进入下一题",
            QuestionType.YES_NO: "数字 选择并进入下一题",
            QuestionType.ACKNOWLEDGE: "1 确认并进入下一题",
            QuestionType.MULTIPLE_CHOICE: "数字 勾选/取消 · 回车 确认",
            QuestionType.LONG_TEXT: "回车 保存并下一题 · Ctrl+J 换行",
        }.get(question.type, "回车 保存并下一题")
        if question.is_choice and question.type is not QuestionType.MULTIPLE_CHOICE and not question.required:
            parts += " · 回车 跳过（非必答）"
        special = " · ".join(f"{'F8' if s is SpecialAnswer.DONT_KNOW else 'F9'} {s.label}" for s in question.special)
        return f"{parts}{' · ' + special if special else ''}"

    # -- keys --------------------------------------------------------------------------------

    async def on_key(self, event: events.Key) -> None:
        # Handlers here await the save, so keys typed meanwhile wait their turn, in order.
        question = self.current
        if question is None or self.query_one("#specify", Input).has_focus:
            return
        if not question.takes_answer and event.key == "enter":
            event.stop()
            await self.submit(Answer())
            return
        if not question.is_choice:
            return
        position = position_for(event.key)
        offered = self._choices(question)
        if position is not None and position < len(offered):
            event.stop()
            await self.pick(question, offered[position].code)
        elif event.key == "enter":
            event.stop()
            await self.confirm_choices(question)

    async def pick(self, question: Question, code: str) -> None:
        choice = question.choice(code)
        assert choice is not None
        if question.type is QuestionType.MULTIPLE_CHOICE:
            if code in self.selected:
                self.selected.remove(code)
            else:
                self.selected.append(code)
            self._draw_choices()
            if choice.specify and code in self.selected:
                self._ask_specify()
            return
        self.selected = [code]
        self._draw_choices()
        if choice.specify:
            self._ask_specify()
            return
        await self.submit(Answer(code))

    def _ask_specify(self) -> None:
        specify = self.query_one("#specify", Input)
        specify.display = True
        specify.focus()

    async def confirm_choices(self, question: Question) -> None:
        if question.type is QuestionType.MULTIPLE_CHOICE:
            await self.submit(Answer(list(self.selected)), other=True)
        elif self.selected:
            await self.submit(Answer(self.selected[0]), other=True)
        else:
            # Nothing chosen: moves on past a question that is not required, else says it is.
            await self.submit(Answer())

    async def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        question = self.current
        if question is None:
            return
        if event.input.id == "specify":
            await self.confirm_choices(question)
            return
        raw = event.value.strip()
        value: object = raw or None
        if raw and question.type in NUMBER_TYPES:
            value = flow.parse_number(raw, question.type)
        elif raw and question.type is QuestionType.DATE:
            value = flow.parse_date(raw)
        if raw and value is None:
            self.query_one("#problem", Static).update(BAD_INPUT[question.type])
            return
        answer = Answer(value)
        await self.submit(answer)

    async def on_answer_area_submitted(self, event: AnswerArea.Submitted) -> None:
        event.stop()
        await self.submit(Answer(event.text.strip() or None))

    # -- saving ------------------------------------------------------------------------------

    async def submit(self, answer: Answer, *, other: bool = False) -> None:
        """Save the answer (in a thread, the screen keeps drawing) and show the next question."""
        session = self.session
        question = self.current
        if session is None or question is None or self.busy:
            return
        if other and answer.special is None:
            specify = self.query_one("#specify", Input).value.strip()
            chosen = answer.value if isinstance(answer.value, list) else [answer.value]
            needs = any((c := question.choice(str(code))) is not None and c.specify for code in chosen)
            answer = Answer(answer.value, other_text=specify or None) if needs else answer
        self.busy = True
        try:
            result = await self.survey.in_thread(session.answer, answer)
        except StoreError as error:
            self.query_one("#problem", Static).update(f"保存失败：{error}")
            return
        finally:
            self.busy = False
        if result.problem:
            self.query_one("#problem", Static).update(f"⚠ {result.problem}")
            if question.is_choice and "specify" in result.problem:
                self._ask_specify()
            return
        self.query_one("#specify", Input).value = ""
        self.show_question()

    async def save_draft(self) -> None:
        question = self.current
        if self.session is None or question is None or question.type is not QuestionType.LONG_TEXT or self.busy:
            return
        text = self.query_one("#long", AnswerArea).text
        if text.strip():
            await self.survey.in_thread(self.session.save_draft, text)

    async def action_special(self, special: str) -> None:
        question = self.current
        if question is None or not question.takes_answer:
            return
        chosen = SpecialAnswer(special)
        if chosen not in question.special:
            self.query_one("#problem", Static).update(f"本题不允许“{chosen.label}”")
            return
        await self.submit(Answer(special=chosen))

    async def action_back(self) -> None:
        if self.session is None or self.busy:
            return
        await self.save_draft()
        self.session.back()
        self.show_question()

    async def action_break_off(self) -> None:
        await self.save_draft()
        self.app.push_screen(BreakOffDialog(), self._broken_off)

    def _broken_off(self, reason: str | None) -> None:
        if reason is None or self.session is None:
            return
        self.dismiss(self.session.break_off(reason))

    def finish(self) -> None:
        assert self.session is not None
        self.dismiss(self.session.finish())
