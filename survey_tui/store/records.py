"""The typed records at the store's edge: what goes in (a call-list row, a code) and what comes out."""

from __future__ import annotations

import getpass
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, NamedTuple

from coding.normalize import mask_account, mask_phone
from survey_tui.model.questionnaire import Answer

# Tables read column by column, for pandas: column name -> one value per row. A million
# interviews take a fraction of the memory of a million records.
Columns = dict[str, list[Any]]


# -- the call list ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CallListRow:
    """One customer of a call-list file, checked and ready to be a case."""

    line: int
    phone: str
    account: str | None
    name: str | None
    branch: str | None
    disconnect_date: str | None
    package: str | None
    extra: dict[str, str]


@dataclass(frozen=True)
class SkippedRow:
    """A row of a call list that did not become a case, and why (`reason` is a key, `detail` a sentence)."""

    line: int
    reason: str
    detail: str


@dataclass
class ImportResult:
    """What an import did: rows added and rows skipped with the reason."""

    imported: int = 0
    skipped: list[SkippedRow] = field(default_factory=list)


@dataclass(frozen=True)
class Case:
    """One customer of the call list and where the calls to them stand."""

    id: int
    phone: str
    account: str | None
    name: str | None
    branch: str | None
    disconnect_date: date | None
    package: str | None
    extra: dict[str, Any]
    status: str
    claimed_by: str | None
    claimed_at: datetime | None
    callback_at: datetime | None
    callback_agent: str | None
    attempts: int
    last_outcome: str | None
    imported_at: datetime

    def to_dict(self, *, include_pii: bool = False) -> dict[str, Any]:
        """JSON-ready fields; phone and account are masked unless `include_pii`."""
        return {
            "id": self.id,
            "phone": self.phone if include_pii else mask_phone(self.phone),
            "account": self.account if include_pii else mask_account(self.account),
            "name": self.name,
            "branch": self.branch,
            "disconnect_date": self.disconnect_date.isoformat() if self.disconnect_date else None,
            "package": self.package,
            "extra": self.extra,
            "status": self.status,
            "claimed_by": self.claimed_by,
            "claimed_at": _iso(self.claimed_at),
            "callback_at": _iso(self.callback_at),
            "callback_agent": self.callback_agent,
            "attempts": self.attempts,
            "last_outcome": self.last_outcome,
        }


@dataclass(frozen=True)
class Attempt:
    """One call to a case: who, when, how it ended (with its AAPOR code) and the agent's note."""

    id: int
    case_id: int
    agent: str
    started_at: datetime
    ended_at: datetime | None
    outcome: str
    aapor_code: str | None
    note: str | None
    callback_at: datetime | None
    request_id: str | None


class CaseAttempts(NamedTuple):
    """A case with the agent of its last attempt and its attempts' AAPOR codes, oldest first."""

    case_id: int
    agent: str | None
    codes: list[str]


# -- instruments, interviews and answers -------------------------------------------------------


@dataclass(frozen=True)
class RegisteredQuestionnaire:
    """An instrument as the store keeps it: its id, version, title and exact source (YAML)."""

    id: int
    name: str
    version: str
    title: str
    content_hash: str
    registered_at: datetime
    content: str = field(default="", repr=False)


@dataclass(frozen=True)
class Interview:
    """One interview, of a customer on the call list or of a member of staff."""

    id: int
    questionnaire_id: int
    case_id: int | None
    interviewee: str | None
    agent: str
    status: str
    started_at: datetime
    ended_at: datetime | None
    current_question: str | None
    break_off_reason: str | None


@dataclass(frozen=True)
class Begun:
    """The interview an agent is taken to: resumed where it stopped, or new."""

    interview_id: int
    resumed: bool


@dataclass(frozen=True)
class StoredAnswer:
    """An answer as stored, with its timing and how often it was changed."""

    id: int
    question_id: str
    answer: Answer
    shown_at: datetime | None
    answered_at: datetime
    duration_ms: int | None
    change_count: int
    draft: bool = False


# -- codes -----------------------------------------------------------------------------------


class CodeRecord(NamedTuple):
    """The codes given to one answer by a coder (the model, or a person).

    A named tuple rather than a frozen dataclass: a coding run makes a million of them, and a
    tuple is made four times as quickly.
    """

    answer_id: int
    reasons: tuple[str, ...]
    source: str
    competitor: str | None = None
    coder: str | None = None
    model_version: str | None = None
    confidence: float | None = None
    needs_review: bool = False


@dataclass(frozen=True)
class StoredCode:
    """A code as stored: CodeRecord's fields, its row id and when it was given."""

    id: int
    answer_id: int
    reasons: list[str]
    competitor: str | None
    source: str
    coder: str | None
    model_version: str | None
    confidence: float | None
    coded_at: datetime
    needs_review: bool


@dataclass(frozen=True)
class CodedAnswer:
    """A code with the answer it is of: the text, its question and interview (review, training)."""

    code: StoredCode
    text: Any
    question_id: str
    interview_id: int


class AnswerToCode(NamedTuple):
    """A confirmed answer waiting for its codes; `companion_value` is what the same interview
    answered to the companion question asked for (the competitor's, for a reason)."""

    answer_id: int
    interview_id: int
    case_id: int | None
    value: Any
    special: str | None
    companion_value: Any = None


# -- the audit -------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditEntry:
    """One time full phone numbers or accounts left the store: who, when, where and what."""

    id: int
    at: datetime
    user: str
    role: str
    host: str | None
    command: str
    what: dict[str, Any]


@dataclass(frozen=True)
class Disclosure:
    """Who is about to be given full phone numbers and accounts, and by which command: recorded in
    the audit before anything is shown or written (Store.record_disclosure). `extra` is what else
    the entry should say (the output format, say) beside what the command itself reports."""

    user: str
    role: str
    host: str | None
    command: str
    extra: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def by_this_user(cls, *, role: str, command: str, extra: Mapping[str, Any] | None = None) -> Disclosure:
        """The person at this keyboard: the operating-system user (their uid where the name is
        unknown, as in a container) on this host, in the `role` of their settings."""
        try:
            user = getpass.getuser()
        except (KeyError, OSError):
            user = f"uid {os.getuid()}"
        return cls(user, role, socket.gethostname(), command, dict(extra or {}))


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None
