"""The answer store: the call list, interviews, codes and the audit, on one database."""

from __future__ import annotations

from survey_tui.store.audit import Audit
from survey_tui.store.cases import Cases
from survey_tui.store.codes import Codes
from survey_tui.store.interviews import Interviews


class Store(Cases, Interviews, Codes, Audit):
    """All reads and writes of survey data; the app and the CLI get one injected.

    Each concern is a part of its own module, on the one Database beneath them (opening,
    upgrading, transactions): `cases` (the call list, claims and call attempts), `interviews`
    (instruments, interviews and answers), `codes` (reasons and competitors given to answers)
    and `audit` (personal data given out). What goes in and comes out are the typed records of
    `records`; tables read for pandas come column by column (`Columns`).
    """
