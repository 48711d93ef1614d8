"""Errors the store raises, each with a message meant for the person at the keyboard."""

from __future__ import annotations


class StoreError(Exception):
    """A problem with the answer store that the user can act on."""


class StoreUnavailable(StoreError):
    """The database cannot be reached, or stays locked by another program."""


class SchemaError(StoreError):
    """The database is of a newer schema, or is not a churn-survey database at all."""
