"""A simulated survey for trying every researcher command: calls, outcomes and interviews, clearly marked.

The interviews follow the questionnaire given: every question it asks is answered (skip logic
and constraints kept), the texts of the questions tallied as reasons and as the reasons for the
choice of a competitor drawn from the labelled corpus."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from coding.corpus import load_corpus
from survey_tui.model import flow
from survey_tui.model.dispositions import outcome
from survey_tui.model.questionnaire import Answer, Question, Questionnaire, QuestionType, SpecialAnswer
from survey_tui.store import CallListRow, Store, StoreError

SIMULATED = "模拟数据（演示用，非真实客户）"
BRANCHES = ("大祥支局", "双清支局", "北塔支局", "邵东支局", "新邵支局", "隆回支局")
PACKAGES = ("单宽带100M", "单宽带300M", "融合套餐129元", "融合套餐169元", "天翼看家融合199元", "ITV+宽带套餐")
AGENTS = ("sim-A01", "sim-A02", "sim-A03", "sim-A04")
# The study reached 2,682 of 3,000 customers; of those who switched, 63% went to China Mobile.
REACH = 0.894
SWITCHED_TO = (("china_mobile", 0.63), ("china_unicom", 0.37))
NOT_REACHED = (("no_answer", 0.55), ("busy", 0.15), ("answering_machine", 0.3))
REACHED_BUT_NO_INTERVIEW = (("refusal", 0.7), ("language_hearing", 0.1), ("wrong_number", 0.2))
SWITCHED = ("china_mobile", "china_unicom", "china_broadnet", "other_isp")


@dataclass
class DemoReport:
    cases: int = 0
    attempts: int = 0
    interviews: int = 0


def _pick(rng: random.Random, weighted: tuple[tuple[str, float], ...]) -> str:
    return rng.choices([w[0] for w in weighted], weights=[w[1] for w in weighted])[0]


def simulate(store: Store, questionnaire: Questionnaire, *, cases: int = 600, seed: int = 7) -> DemoReport:
    """Fill an empty store with `cases` simulated customers, their calls and interviews."""
    if any(store.case_counts().values()):
        raise StoreError(f"{store.location} already holds a call list; the simulation needs an empty database")
    rng = random.Random(seed)
    corpus = load_corpus(corpora=("corpus",)).to_dict("records")  # answers to q3 of a telecom survey
    questionnaire_id = store.register_questionnaire(questionnaire)
    rows = [
        CallListRow(
            line=n + 2,
            phone=f"154{rng.randrange(10**8):08d}",
            account=f"SIM{n:07d}",
            name=f"模拟客户{n + 1}",
            branch=rng.choice(BRANCHES),
            disconnect_date=(date(2021, 2, 1) + timedelta(days=rng.randrange(89))).isoformat(),
            package=rng.choice(PACKAGES),
            extra={"备注": SIMULATED},
        )
        for n in range(cases)
    ]
    report = DemoReport(cases=store.import_cases(rows, source_file="simulation").imported)
    start = datetime(2021, 5, 6, 9, 0, tzinfo=UTC)
    agent_index = 0
    while (case := store.claim_next_case(AGENTS[agent_index % len(AGENTS)], now=datetime.now(UTC))) is not None:
        agent = AGENTS[agent_index % len(AGENTS)]
        agent_index += 1
        moment = start + timedelta(minutes=7 * agent_index)
        reached = rng.random() < REACH
        misses = rng.choices([0, 1, 2, 3], weights=[55, 25, 12, 8])[0] if reached else 5
        for attempt in range(misses):
            missed = outcome(_pick(rng, NOT_REACHED))
            last = attempt == 4
            store.record_attempt(
                case.id,
                agent,
                missed.code,
                aapor_code=missed.aapor_code,
                started_at=moment,
                ended_at=moment + timedelta(seconds=40),
                final=last,
            )
            report.attempts += 1
            moment += timedelta(hours=3)
            if last:
                break
        if not reached:
            continue
        if rng.random() < 0.12:
            refused = outcome(_pick(rng, REACHED_BUT_NO_INTERVIEW))
            store.record_attempt(
                case.id, agent, refused.code, aapor_code=refused.aapor_code, started_at=moment, final=True
            )
            report.attempts += 1
            continue
        interview_id = store.start_interview(questionnaire_id, agent, case_id=case.id, started_at=moment)
        for question_id, answer in _answers(rng, corpus, questionnaire).items():
            moment += timedelta(seconds=rng.randrange(5, 60))
            store.save_answer(
                interview_id, question_id, answer, shown_at=moment - timedelta(seconds=5), answered_at=moment
            )
        store.finish_interview(interview_id, "complete", ended_at=moment)
        complete = outcome("complete")
        store.record_attempt(
            case.id, agent, complete.code, aapor_code=complete.aapor_code, started_at=moment, final=True
        )
        report.attempts += 1
        report.interviews += 1
    return report


def _answers(rng: random.Random, corpus: list[dict[str, object]], questionnaire: Questionnaire) -> dict[str, Answer]:
    """One simulated respondent's answers, question by question in the order asked."""
    row = rng.choice(corpus)
    answers: dict[str, Answer] = {}
    question = flow.next_question(questionnaire, answers)
    while question is not None:
        if question.is_asked:
            answer = _answer(rng, corpus, row, question, answers)
            if answer is not None and flow.validate(question, answer, answers) is None:
                answers[question.id] = answer
        question = flow.next_question(questionnaire, answers, after=question.id)
    for question_id, value in flow.calculated_values(questionnaire, answers).items():
        answers[question_id] = Answer(value)
    return answers


def _answer(
    rng: random.Random,
    corpus: list[dict[str, object]],
    row: dict[str, object],
    question: Question,
    answers: dict[str, Answer],
) -> Answer | None:
    """What the simulated respondent says to `question`; None to leave it unanswered."""
    choices = [c for c in flow.visible_choices(question, answers) if not c.specify]
    if question.tally == "competitors":
        competitor = str(row["competitor"])
        if question.choice(competitor) is None:
            competitor = _pick(rng, SWITCHED_TO) if rng.random() < 0.8 else rng.choice(["china_telecom", "none"])
        chosen = question.choice(competitor)
        if chosen is None:
            return Answer(rng.choice(choices).code) if choices else None
        if competitor == "other_isp" or chosen.specify:
            return Answer(chosen.code, other_text=rng.choice(["长城宽带", "小区宽带"]))
        return Answer(chosen.code)
    if question.tally == "reasons":
        if SpecialAnswer.REFUSED in question.special and rng.random() < 0.03:
            return Answer(special=SpecialAnswer.REFUSED)
        return Answer(str(row["text"]))
    if question.tally == "choice_reasons":
        named = next((a.value for a in answers.values() if isinstance(a.value, str) and a.value in SWITCHED), None)
        matching = [r for r in corpus if r["competitor"] == named and "other_network" in str(r["reasons"])]
        return Answer(str(rng.choice(matching or corpus)["text"]))
    kind = question.type
    if kind in (QuestionType.SINGLE_CHOICE, QuestionType.YES_NO, QuestionType.ACKNOWLEDGE):
        return Answer(rng.choice(choices).code) if choices else None
    if kind is QuestionType.MULTIPLE_CHOICE:
        return (
            Answer([c.code for c in rng.sample(choices, min(len(choices), rng.choice([1, 1, 2, 2, 3])))])
            if choices
            else None
        )
    if kind is QuestionType.LONG_TEXT:
        return Answer(str(rng.choice(corpus)["text"]))
    if kind is QuestionType.SHORT_TEXT:
        return Answer(f"模拟{rng.randrange(1, 1000)}")
    if kind in (QuestionType.INTEGER, QuestionType.DECIMAL):
        return Answer(rng.randrange(0, 20))
    if kind is QuestionType.DATE:
        return Answer((date(2021, 5, 6) - timedelta(days=rng.randrange(365))).isoformat())
    return None
