"""A simulated survey for trying every researcher command: calls, outcomes and interviews, clearly marked."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from coding.corpus import load_corpus
from survey_tui.model.dispositions import outcome
from survey_tui.model.questionnaire import Answer, Questionnaire, SpecialAnswer
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
    corpus = load_corpus().to_dict("records")
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
        for question_id, answer in _answers(rng, corpus).items():
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


def _answers(rng: random.Random, corpus: list[dict[str, object]]) -> dict[str, Answer]:
    row = rng.choice(corpus)
    competitor = str(row["competitor"])
    if competitor not in ("china_mobile", "china_unicom", "china_broadnet", "other_isp", "china_telecom", "none"):
        competitor = _pick(rng, SWITCHED_TO) if rng.random() < 0.8 else rng.choice(["china_telecom", "none"])
    answers: dict[str, Answer] = {"q1_operator": Answer(competitor)}
    if competitor == "other_isp":
        answers["q1_operator"] = Answer("other_isp", other_text=rng.choice(["长城宽带", "小区宽带"]))
    if competitor not in ("china_telecom", "none"):
        reasons_for_choice = [
            r for r in corpus if r["competitor"] == competitor and "other_network" in str(r["reasons"])
        ]
        answers["q2_competitor_reason"] = Answer(str(rng.choice(reasons_for_choice or corpus)["text"]))
    answers["q3_leave_reason"] = (
        Answer(special=SpecialAnswer.REFUSED) if rng.random() < 0.03 else Answer(str(row["text"]))
    )
    answers["q4_retention_call"] = Answer(rng.choices(["yes", "no", "not_sure"], weights=[25, 60, 15])[0])
    factors = ["price", "speed", "service", "install", "bundle", "brand"]
    answers["q5_factors"] = Answer(rng.sample(factors, rng.choice([1, 1, 2, 2, 3])))
    answers["q6_package_pref"] = Answer(rng.choices(["single", "fusion", "no_preference"], weights=[35, 45, 20])[0])
    return answers
