"""Call outcomes the agents choose from, their AAPOR dispositions, and the AAPOR outcome rates."""

from __future__ import annotations

import math
import operator
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

EDITION = (
    "AAPOR Standard Definitions: Final Dispositions of Case Codes and Outcome Rates for Surveys, 10th edition (2023)"
)

# AAPOR counts an interview as a partial rather than a break-off once at least half of the
# questions that applied to the respondent were answered.
PARTIAL_THRESHOLD = 0.5


class DispositionClass(StrEnum):
    """The groups of AAPOR final dispositions that the outcome rates are built from."""

    COMPLETE = "I"
    PARTIAL = "P"
    REFUSAL = "R"
    NON_CONTACT = "NC"
    OTHER = "O"
    UNKNOWN_HOUSEHOLD = "UH"
    UNKNOWN_OTHER = "UO"
    NOT_ELIGIBLE = "NE"


_CODE = re.compile(r"([1-4])\.([0-9])([0-9]*)")


def classify(aapor_code: str) -> DispositionClass:
    """The class of an AAPOR disposition code such as "2.11" or "3.13"; ValueError if it has none."""
    match = _CODE.fullmatch(aapor_code)
    if match is not None:
        category, group, rest = match.group(1), match.group(2), match.group(3)
        if category == "1" and not rest:
            if group == "1":
                return DispositionClass.COMPLETE
            if group == "2":
                return DispositionClass.PARTIAL
        elif category == "2":
            found = {
                "1": DispositionClass.REFUSAL,
                "2": DispositionClass.NON_CONTACT,
                "3": DispositionClass.OTHER,
            }.get(group)
            if found is not None:
                return found
        elif category == "3":
            if group == "1":
                return DispositionClass.UNKNOWN_HOUSEHOLD
            if group in ("2", "9"):
                return DispositionClass.UNKNOWN_OTHER
        elif category == "4":
            return DispositionClass.NOT_ELIGIBLE
    raise ValueError(
        f"{aapor_code!r} is not an AAPOR final disposition code this tool knows: expected 1.1, 1.2, "
        "2.1x, 2.2x, 2.3x, 3.1x, 3.2x, 3.9x or 4.x"
    )


@dataclass(frozen=True)
class Outcome:
    """One way a call or an interview can end, as the agent picks it and as AAPOR counts it."""

    code: str
    key: str | None
    label: str
    label_en: str
    aapor_code: str
    final: bool
    callback: bool = False
    starts_interview: bool = False

    def __post_init__(self) -> None:
        # A typo in the catalogue should stop the app at import, not miscount a month of calls.
        classify(self.aapor_code)
        if self.final and self.callback:
            raise ValueError(f"outcome {self.code!r} cannot both close the case and book a callback")

    @property
    def disposition_class(self) -> DispositionClass:
        return classify(self.aapor_code)


OUTCOMES: tuple[Outcome, ...] = (
    # The attempt is not stored under this code: when the interview ends the app records the
    # interview's own outcome, so 1.1 here only marks that an interview is starting.
    Outcome(
        "connected",
        "1",
        "接通，开始访问",
        "Connected, start the interview",
        "1.1",
        final=False,
        starts_interview=True,
    ),
    Outcome("no_answer", "2", "无人接听", "No answer", "3.13", final=False),
    Outcome("busy", "3", "忙音/占线", "Busy", "3.12", final=False),
    Outcome(
        "answering_machine",
        "4",
        "语音信箱/关机/无法接通提示",
        "Voicemail, phone off or unreachable message",
        "3.14",
        final=False,
    ),
    # Someone was reached and asked us to call again, so AAPOR counts it as a contact (2.21).
    Outcome("callback", "5", "约定回拨", "Callback appointment", "2.21", final=False, callback=True),
    Outcome("refusal", "6", "拒访", "Refusal", "2.11", final=True),
    Outcome("non_working", "7", "空号/停机", "Non-working or suspended number", "4.30", final=True),
    # The number now belongs to someone else, so the customer cannot be reached on it.
    Outcome("wrong_number", "8", "错号/非本人", "Wrong number, not the customer", "4.41", final=True),
    # AAPOR codes language barriers as 2.33; a respondent who cannot hear the agent is kept with
    # them, in the same "other" group (2.3x), so both count alike in every rate.
    Outcome("language_hearing", "9", "语言或听力障碍", "Language or hearing barrier", "2.33", final=True),
    Outcome("not_eligible", "0", "不符合调查条件", "Not eligible", "4.70", final=True),
)

INTERVIEW_OUTCOMES: tuple[Outcome, ...] = (
    Outcome("complete", None, "访问完成", "Interview complete", "1.1", final=True),
    Outcome("partial", None, "部分完成", "Partial interview", "1.2", final=True),
    # Not final: the case goes back to the queue so that the interview can be resumed.
    Outcome("break_off", None, "中途终止", "Break-off", "2.12", final=False),
)

# Set by the app, never by an agent, when a case has used up its call attempts without a final
# outcome. AAPOR describes such a case by what its calls found (no answer, busy, a callback...),
# so case_disposition() ignores this code whenever the case has other attempts.
MAX_ATTEMPTS_OUTCOME = Outcome(
    "max_attempts", None, "已达最大拨打次数", "Maximum call attempts reached", "3.90", final=True
)

_BY_CODE: Mapping[str, Outcome] = MappingProxyType(
    {o.code: o for o in (*OUTCOMES, *INTERVIEW_OUTCOMES, MAX_ATTEMPTS_OUTCOME)}
)
_BY_KEY: Mapping[str, Outcome] = MappingProxyType({o.key: o for o in OUTCOMES if o.key is not None})


def outcome(code: str) -> Outcome:
    """The outcome stored under `code`; KeyError if there is none."""
    try:
        return _BY_CODE[code]
    except KeyError:
        raise KeyError(f"no call or interview outcome has the code {code!r}") from None


def outcome_label(code: str | None) -> str:
    """The label agents read for a stored outcome code; the code itself when no outcome has it."""
    if not code:
        return ""
    found = _BY_CODE.get(code)
    return found.label if found is not None else code


def is_last_attempt(attempts_made: int, max_attempts: int | None) -> bool:
    """Whether the call after `attempts_made` earlier ones is the last a case gets: it then
    closes the case whatever its outcome (an interview broken off then counts as partial or
    break-off, by AAPOR's rule in `interview_outcome`)."""
    return max_attempts is not None and attempts_made + 1 >= max_attempts


def outcome_for_key(key: str) -> Outcome | None:
    """The call-screen outcome behind a key the agent pressed, or None for any other key."""
    return _BY_KEY.get(key)


def interview_outcome(answered: int, applicable: int, finished: bool) -> Outcome:
    """How an interview that stops now is recorded.

    `answered` counts the applicable questions that got an answer (a "don't know" or "refused"
    counts as answered) out of `applicable`. An unfinished interview with at least
    PARTIAL_THRESHOLD of them answered is a partial, which closes the case; one with fewer is a
    break-off, which leaves the case in the queue so that the interview can be resumed.
    """
    if answered < 0 or applicable < 0:
        raise ValueError(f"question counts cannot be negative (answered={answered}, applicable={applicable})")
    if answered > applicable:
        raise ValueError(f"{answered} questions answered out of only {applicable} applicable")
    if finished:
        return _BY_CODE["complete"]
    # Multiplying rather than dividing keeps the boundary exact and copes with applicable == 0.
    if applicable > 0 and answered >= PARTIAL_THRESHOLD * applicable:
        return _BY_CODE["partial"]
    return _BY_CODE["break_off"]


_FINAL_TYPE = frozenset({DispositionClass.REFUSAL, DispositionClass.OTHER, DispositionClass.NOT_ELIGIBLE})
_CONTACT = frozenset({DispositionClass.REFUSAL, DispositionClass.NON_CONTACT, DispositionClass.OTHER})


def case_disposition(attempt_codes: Sequence[str]) -> str:
    """The AAPOR code of a case from the AAPOR codes of its attempts, oldest first.

    A case never called is 3.11; any complete makes it 1.1, else any partial 1.2. Otherwise a last
    attempt that settles the case (refusal, other, not eligible) decides; failing that, AAPOR
    classes a case by its most informative contact, so the last 2.x code wins over later
    no-answers, and a case never reached keeps its last code.
    """
    classes = [classify(code) for code in attempt_codes]
    pairs = [
        (code, cls) for code, cls in zip(attempt_codes, classes, strict=True) if code != MAX_ATTEMPTS_OUTCOME.aapor_code
    ] or list(zip(attempt_codes, classes, strict=True))
    if not pairs:
        return "3.11"
    if any(cls is DispositionClass.COMPLETE for _, cls in pairs):
        return "1.1"
    if any(cls is DispositionClass.PARTIAL for _, cls in pairs):
        return "1.2"
    last_code, last_class = pairs[-1]
    if last_class in _FINAL_TYPE:
        return last_code
    contacts = [code for code, cls in pairs if cls in _CONTACT]
    return contacts[-1] if contacts else last_code


_RATE_NAMES = (
    "RR1", "RR2", "RR3", "RR4", "RR5", "RR6",
    "COOP1", "COOP2", "COOP3", "COOP4",
    "REF1", "REF2", "REF3",
    "CON1", "CON2", "CON3",
)  # fmt: skip


@dataclass(frozen=True)
class Rates:
    """AAPOR response, cooperation, refusal and contact rates as shares in [0, 1].

    A rate is None when its denominator is 0, so that "no cases yet" never reads as 0%.
    """

    counts: Mapping[DispositionClass, int]
    e: float
    rr1: float | None
    rr2: float | None
    rr3: float | None
    rr4: float | None
    rr5: float | None
    rr6: float | None
    coop1: float | None
    coop2: float | None
    coop3: float | None
    coop4: float | None
    ref1: float | None
    ref2: float | None
    ref3: float | None
    con1: float | None
    con2: float | None
    con3: float | None

    def as_dict(self) -> dict[str, float | None]:
        return {name: getattr(self, name.lower()) for name in _RATE_NAMES}


def _share(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


def compute_rates(counts: Mapping[DispositionClass | str, int], e: float | None = None) -> Rates:
    """The AAPOR outcome rates from case counts by class (missing classes count 0).

    `e` is the share of unknown-eligibility cases (UH, UO) taken to be eligible; by default it is
    estimated by proportional allocation from the cases whose eligibility is known.
    """
    full: dict[DispositionClass, int] = dict.fromkeys(DispositionClass, 0)
    for key, value in counts.items():
        try:
            cls = DispositionClass(key)
        except ValueError:
            raise ValueError(f"{key!r} is not a disposition class ({', '.join(DispositionClass)})") from None
        number = operator.index(value)
        if number < 0:
            raise ValueError(f"the count of {cls.value} cannot be negative ({number})")
        full[cls] = number

    i = full[DispositionClass.COMPLETE]
    p = full[DispositionClass.PARTIAL]
    r = full[DispositionClass.REFUSAL]
    nc = full[DispositionClass.NON_CONTACT]
    o = full[DispositionClass.OTHER]
    unknown = full[DispositionClass.UNKNOWN_HOUSEHOLD] + full[DispositionClass.UNKNOWN_OTHER]
    ne = full[DispositionClass.NOT_ELIGIBLE]

    eligible = i + p + r + nc + o
    if e is None:
        # With nothing known about eligibility there is no evidence to discount the unknowns.
        e = eligible / (eligible + ne) if eligible + ne else 1.0
    elif math.isnan(e) or not 0.0 <= e <= 1.0:
        raise ValueError(f"e is a share of cases and must lie between 0 and 1, not {e}")

    interviews = i + p
    all_unknown = eligible + unknown
    est_unknown = eligible + e * unknown
    contacted = interviews + r + o
    return Rates(
        counts=MappingProxyType(full),
        e=e,
        rr1=_share(i, all_unknown),
        rr2=_share(interviews, all_unknown),
        rr3=_share(i, est_unknown),
        rr4=_share(interviews, est_unknown),
        rr5=_share(i, eligible),
        rr6=_share(interviews, eligible),
        coop1=_share(i, interviews + r + o),
        coop2=_share(interviews, interviews + r + o),
        coop3=_share(i, interviews + r),
        coop4=_share(interviews, interviews + r),
        ref1=_share(r, all_unknown),
        ref2=_share(r, est_unknown),
        ref3=_share(r, eligible),
        con1=_share(contacted, contacted + nc + unknown),
        con2=_share(contacted, contacted + nc + e * unknown),
        con3=_share(contacted, contacted + nc),
    )


def rates_for_cases(dispositions: Iterable[str], *, e: float | None = None) -> Rates:
    """The AAPOR outcome rates of cases given by their AAPOR disposition codes."""
    tally: Counter[DispositionClass | str] = Counter(classify(code) for code in dispositions)
    return compute_rates(tally, e)
