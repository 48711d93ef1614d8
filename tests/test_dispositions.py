"""Call outcomes, AAPOR dispositions and the outcome rates a supervisor reads off the daily report."""

from __future__ import annotations

import ast
import math
import sys

import pytest

from survey_tui.model import dispositions as d
from survey_tui.model.dispositions import (
    INTERVIEW_OUTCOMES,
    MAX_ATTEMPTS_OUTCOME,
    OUTCOMES,
    PARTIAL_THRESHOLD,
    DispositionClass,
    case_disposition,
    classify,
    compute_rates,
    interview_outcome,
    outcome,
    outcome_for_key,
    rates_for_cases,
)
from tests.conftest import ROOT

RATE_NAMES = [
    "RR1", "RR2", "RR3", "RR4", "RR5", "RR6",
    "COOP1", "COOP2", "COOP3", "COOP4",
    "REF1", "REF2", "REF3",
    "CON1", "CON2", "CON3",
]  # fmt: skip


def percent(share: float | None) -> float | None:
    return None if share is None else round(share * 100, 1)


# --- the textbook vector --------------------------------------------------------------------------


def test_textbook_vector_completes_and_non_contacts() -> None:
    rates = compute_rates({DispositionClass.COMPLETE: 100, DispositionClass.NON_CONTACT: 20})
    table = rates.as_dict()
    assert list(table) == RATE_NAMES
    for name in ("RR1", "RR2", "RR3", "RR4", "RR5", "RR6", "CON1", "CON2", "CON3"):
        assert table[name] == pytest.approx(100 / 120), name
        assert percent(table[name]) == 83.3, name
    for name in ("COOP1", "COOP2", "COOP3", "COOP4"):
        assert table[name] == 1.0, name
    for name in ("REF1", "REF2", "REF3"):
        assert table[name] == 0.0, name
    assert rates.e == 1.0


# --- a mixed day, computed by hand ----------------------------------------------------------------

# AAPOR's own letters, so that the formulas below read exactly as in the Standard Definitions.
I, P, R, NC, O, UH, UO, NE = 50, 10, 20, 15, 5, 30, 10, 40  # noqa: E741
MIXED = {"I": I, "P": P, "R": R, "NC": NC, "O": O, "UH": UH, "UO": UO, "NE": NE}


def test_mixed_example_matches_the_formulas_written_out() -> None:
    e = (I + P + R + NC + O) / (I + P + R + NC + O + NE)
    expected = {
        "RR1": I / ((I + P) + (R + NC + O) + (UH + UO)),
        "RR2": (I + P) / ((I + P) + (R + NC + O) + (UH + UO)),
        "RR3": I / ((I + P) + (R + NC + O) + e * (UH + UO)),
        "RR4": (I + P) / ((I + P) + (R + NC + O) + e * (UH + UO)),
        "RR5": I / ((I + P) + (R + NC + O)),
        "RR6": (I + P) / ((I + P) + (R + NC + O)),
        "COOP1": I / ((I + P) + R + O),
        "COOP2": (I + P) / ((I + P) + R + O),
        "COOP3": I / ((I + P) + R),
        "COOP4": (I + P) / ((I + P) + R),
        "REF1": R / ((I + P) + (R + NC + O) + (UH + UO)),
        "REF2": R / ((I + P) + (R + NC + O) + e * (UH + UO)),
        "REF3": R / ((I + P) + (R + NC + O)),
        "CON1": ((I + P) + R + O) / ((I + P) + R + O + NC + (UH + UO)),
        "CON2": ((I + P) + R + O) / ((I + P) + R + O + NC + e * (UH + UO)),
        "CON3": ((I + P) + R + O) / ((I + P) + R + O + NC),
    }
    rates = compute_rates(MIXED)
    assert rates.e == pytest.approx(e)
    assert rates.as_dict() == pytest.approx(expected)


def test_mixed_example_as_the_supervisor_reads_it() -> None:
    # e = 100/140; e.g. RR3 = 50 / (100 + 40 * 5/7) = 350/900.
    table = {name: percent(share) for name, share in compute_rates(MIXED).as_dict().items()}
    assert table == {
        "RR1": 35.7, "RR2": 42.9, "RR3": 38.9, "RR4": 46.7, "RR5": 50.0, "RR6": 60.0,
        "COOP1": 58.8, "COOP2": 70.6, "COOP3": 62.5, "COOP4": 75.0,
        "REF1": 14.3, "REF2": 15.6, "REF3": 20.0,
        "CON1": 60.7, "CON2": 66.1, "CON3": 85.0,
    }  # fmt: skip


def test_counts_accept_the_enum_or_its_value_and_fill_missing_classes() -> None:
    by_value = compute_rates({"I": 3, "NC": 1})
    by_enum = compute_rates({DispositionClass.COMPLETE: 3, DispositionClass.NON_CONTACT: 1})
    assert by_value == by_enum
    assert dict(by_value.counts) == {cls: 0 for cls in DispositionClass} | {
        DispositionClass.COMPLETE: 3,
        DispositionClass.NON_CONTACT: 1,
    }


# --- e --------------------------------------------------------------------------------------------


def test_e_is_estimated_by_proportional_allocation() -> None:
    assert compute_rates(MIXED).e == pytest.approx(100 / 140)
    assert compute_rates({"I": 30, "NE": 10, "UH": 99}).e == pytest.approx(0.75)
    assert compute_rates({"NE": 5, "UO": 5}).e == 0.0
    # Nothing known about eligibility: the unknowns are not discounted.
    assert compute_rates({"UH": 7}).e == 1.0
    assert compute_rates({}).e == 1.0


def test_given_e_is_used_and_its_extremes_meet_the_other_rates() -> None:
    half = compute_rates(MIXED, e=0.5)
    assert half.e == 0.5
    assert half.rr3 == pytest.approx(50 / (100 + 0.5 * 40))
    no_unknown_eligible = compute_rates(MIXED, e=0.0)
    assert no_unknown_eligible.rr3 == no_unknown_eligible.rr5
    assert no_unknown_eligible.ref2 == no_unknown_eligible.ref3
    assert no_unknown_eligible.con2 == no_unknown_eligible.con3
    all_unknown_eligible = compute_rates(MIXED, e=1.0)
    assert all_unknown_eligible.rr4 == all_unknown_eligible.rr2
    assert all_unknown_eligible.con2 == all_unknown_eligible.con1


@pytest.mark.parametrize("e", [-0.1, 1.01, math.nan])
def test_e_outside_zero_one_is_refused(e: float) -> None:
    with pytest.raises(ValueError, match="between 0 and 1"):
        compute_rates(MIXED, e=e)


def test_negative_counts_and_unknown_classes_are_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        compute_rates({"I": 5, "R": -1})
    with pytest.raises(ValueError, match="not a disposition class"):
        compute_rates({"X": 1})


# --- zero denominators ----------------------------------------------------------------------------


def test_no_cases_give_no_rates_rather_than_zero() -> None:
    assert compute_rates({}).as_dict() == dict.fromkeys(RATE_NAMES)
    assert compute_rates({"NE": 12}).as_dict() == dict.fromkeys(RATE_NAMES)


def test_only_unknown_cases_give_zero_where_defined_and_none_elsewhere() -> None:
    table = compute_rates({"UH": 8}).as_dict()
    for name in ("RR1", "RR2", "RR3", "RR4", "REF1", "REF2", "CON1", "CON2"):
        assert table[name] == 0.0, name
    for name in ("RR5", "RR6", "REF3", "CON3", "COOP1", "COOP2", "COOP3", "COOP4"):
        assert table[name] is None, name


def test_only_non_contacts_leave_cooperation_undefined() -> None:
    table = compute_rates({"NC": 4}).as_dict()
    assert table["RR1"] == 0.0
    assert table["CON3"] == 0.0
    assert [table[f"COOP{n}"] for n in range(1, 5)] == [None] * 4


def test_rates_for_cases_counts_dispositions_by_class() -> None:
    cases = ["1.1"] * 50 + ["1.2"] * 10 + ["2.11"] * 12 + ["2.12"] * 8 + ["2.21"] * 15 + ["2.33"] * 5
    cases += ["3.13"] * 20 + ["3.12"] * 6 + ["3.14"] * 4 + ["3.90"] * 10 + ["4.30"] * 25 + ["4.41"] * 10
    cases += ["4.70"] * 5
    rates = rates_for_cases(cases)
    assert rates == compute_rates(MIXED)
    assert rates_for_cases(cases, e=0.5) == compute_rates(MIXED, e=0.5)
    with pytest.raises(ValueError, match="5.1"):
        rates_for_cases(["1.1", "5.1"])


# --- classify -------------------------------------------------------------------------------------

EXPECTED_CLASS = {
    "connected": DispositionClass.COMPLETE,
    "no_answer": DispositionClass.UNKNOWN_HOUSEHOLD,
    "busy": DispositionClass.UNKNOWN_HOUSEHOLD,
    "answering_machine": DispositionClass.UNKNOWN_HOUSEHOLD,
    "callback": DispositionClass.NON_CONTACT,
    "refusal": DispositionClass.REFUSAL,
    "non_working": DispositionClass.NOT_ELIGIBLE,
    "wrong_number": DispositionClass.NOT_ELIGIBLE,
    "language_hearing": DispositionClass.OTHER,
    "not_eligible": DispositionClass.NOT_ELIGIBLE,
    "complete": DispositionClass.COMPLETE,
    "partial": DispositionClass.PARTIAL,
    "break_off": DispositionClass.REFUSAL,
}


@pytest.mark.parametrize("item", [*OUTCOMES, *INTERVIEW_OUTCOMES], ids=lambda o: o.code)
def test_every_outcome_has_its_aapor_class(item: d.Outcome) -> None:
    assert classify(item.aapor_code) is EXPECTED_CLASS[item.code]
    assert item.disposition_class is EXPECTED_CLASS[item.code]


@pytest.mark.parametrize(
    ("code", "cls"),
    [
        ("1.1", "I"), ("1.2", "P"),
        ("2.10", "R"), ("2.11", "R"), ("2.111", "R"), ("2.112", "R"), ("2.12", "R"),
        ("2.20", "NC"), ("2.21", "NC"), ("2.22", "NC"),
        ("2.30", "O"), ("2.31", "O"), ("2.33", "O"), ("2.332", "O"),
        ("3.10", "UH"), ("3.11", "UH"), ("3.12", "UH"), ("3.13", "UH"), ("3.14", "UH"),
        ("3.20", "UO"), ("3.21", "UO"), ("3.90", "UO"),
        ("4.10", "NE"), ("4.30", "NE"), ("4.41", "NE"), ("4.70", "NE"), ("4.90", "NE"),
    ],
)  # fmt: skip
def test_classify_aapor_codes(code: str, cls: str) -> None:
    assert classify(code) == DispositionClass(cls)


@pytest.mark.parametrize(
    "code",
    ["", "1", "1.0", "1.3", "1.10", "2.0", "2.4", "2.41", "3.3", "3.5", "0.1", "5.1", "2.1a", " 1.1", "1,1",
     "abc", "2..1", "3.13 "],
)  # fmt: skip
def test_classify_refuses_other_codes_with_a_clear_message(code: str) -> None:
    with pytest.raises(ValueError, match="not an AAPOR final disposition code"):
        classify(code)


# --- the call screen ------------------------------------------------------------------------------


def test_keys_run_one_to_nine_then_zero_each_once() -> None:
    assert [o.key for o in OUTCOMES] == ["1", "2", "3", "4", "5", "6", "7", "8", "9", "0"]
    assert all(o.key is None for o in INTERVIEW_OUTCOMES)
    assert MAX_ATTEMPTS_OUTCOME.key is None


@pytest.mark.parametrize(
    ("key", "code", "label", "aapor_code", "final"),
    [
        ("1", "connected", "接通，开始访问", "1.1", False),
        ("2", "no_answer", "无人接听", "3.13", False),
        ("3", "busy", "忙音/占线", "3.12", False),
        ("4", "answering_machine", "语音信箱/关机/无法接通提示", "3.14", False),
        ("5", "callback", "约定回拨", "2.21", False),
        ("6", "refusal", "拒访", "2.11", True),
        ("7", "non_working", "空号/停机", "4.30", True),
        ("8", "wrong_number", "错号/非本人", "4.41", True),
        ("9", "language_hearing", "语言或听力障碍", "2.33", True),
        ("0", "not_eligible", "不符合调查条件", "4.70", True),
    ],
)
def test_each_key_maps_to_its_outcome(key: str, code: str, label: str, aapor_code: str, final: bool) -> None:
    found = outcome_for_key(key)
    assert found is not None
    assert (found.code, found.label, found.aapor_code, found.final) == (code, label, aapor_code, final)
    assert outcome(code) is found
    assert found.label_en


def test_only_connected_starts_an_interview_and_only_callback_asks_for_a_time() -> None:
    everything = [*OUTCOMES, *INTERVIEW_OUTCOMES, MAX_ATTEMPTS_OUTCOME]
    assert [o.code for o in everything if o.starts_interview] == ["connected"]
    assert [o.code for o in everything if o.callback] == ["callback"]


def test_other_keys_have_no_outcome() -> None:
    for key in ("", "a", "10", "*", "#", " 1", "F1"):
        assert outcome_for_key(key) is None


def test_outcome_by_stored_code() -> None:
    codes = [o.code for o in (*OUTCOMES, *INTERVIEW_OUTCOMES)]
    assert len(set(codes)) == len(codes)
    assert outcome("complete").aapor_code == "1.1" and outcome("complete").final
    assert outcome("partial").aapor_code == "1.2" and outcome("partial").final
    assert outcome("break_off").aapor_code == "2.12" and not outcome("break_off").final
    assert outcome("max_attempts") is MAX_ATTEMPTS_OUTCOME and MAX_ATTEMPTS_OUTCOME.final
    with pytest.raises(KeyError, match="hung_up"):
        outcome("hung_up")


def test_a_broken_catalogue_entry_fails_at_once() -> None:
    with pytest.raises(ValueError, match="not an AAPOR"):
        d.Outcome("typo", None, "错", "Typo", "2.4", final=True)
    with pytest.raises(ValueError, match="callback"):
        d.Outcome("odd", None, "错", "Odd", "2.21", final=True, callback=True)


# --- interview outcome ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answered", "applicable", "finished", "code"),
    [
        (6, 6, True, "complete"),
        (4, 6, True, "complete"),  # the flow ended: later questions did not apply
        (5, 10, False, "partial"),  # exactly half
        (9, 10, False, "partial"),
        (3, 6, False, "partial"),
        (4, 10, False, "break_off"),
        (2, 6, False, "break_off"),
        (0, 6, False, "break_off"),
        (0, 0, False, "break_off"),
    ],
)
def test_interview_outcome_thresholds(answered: int, applicable: int, finished: bool, code: str) -> None:
    assert PARTIAL_THRESHOLD == 0.5
    assert interview_outcome(answered, applicable, finished).code == code


def test_interview_outcome_refuses_impossible_counts() -> None:
    with pytest.raises(ValueError):
        interview_outcome(7, 6, False)
    with pytest.raises(ValueError):
        interview_outcome(-1, 6, False)


# --- case disposition -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("attempts", "expected"),
    [
        ([], "3.11"),
        (["3.13", "3.13", "3.13"], "3.13"),
        (["3.13", "2.11"], "2.11"),
        (["2.21", "1.1"], "1.1"),
        (["3.13", "2.21", "3.13"], "2.21"),
        (["3.13", "2.12", "1.2"], "1.2"),
        (["1.2", "3.13"], "1.2"),
        (["2.12", "1.2", "1.1"], "1.1"),
        (["3.12", "3.13", "3.14"], "3.14"),
        (["2.21", "3.13", "4.30"], "4.30"),
        (["3.13", "2.33"], "2.33"),
        (["3.13", "2.12"], "2.12"),
        (["2.21", "2.12", "3.13"], "2.12"),
        # Closing a case after the last allowed attempt does not hide what the calls found.
        (["3.13", "3.12", "3.90"], "3.12"),
        (["3.13", "2.21", "3.13", "3.90"], "2.21"),
    ],
)
def test_case_disposition(attempts: list[str], expected: str) -> None:
    assert case_disposition(attempts) == expected


def test_case_disposition_refuses_bad_codes() -> None:
    with pytest.raises(ValueError, match="9.9"):
        case_disposition(["3.13", "9.9"])


# --- housekeeping ---------------------------------------------------------------------------------


def test_edition_is_cited() -> None:
    assert "10th edition (2023)" in d.EDITION
    assert d.EDITION.startswith("AAPOR Standard Definitions")


def test_module_uses_only_the_standard_library() -> None:
    tree = ast.parse((ROOT / "survey_tui" / "model" / "dispositions.py").read_text(encoding="utf-8"))
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert {name.split(".")[0] for name in imported} <= set(sys.stdlib_module_names) | {"__future__"}
