"""What research refuses, with a message for the researcher: no such questionnaire, table or question."""

from __future__ import annotations


class ResearchError(ValueError):
    """A request of a research command that cannot be met; the message says what and why."""
