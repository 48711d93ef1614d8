"""Broadband churn survey: questionnaire model, answer store, call lists and the agents' app."""

__version__ = "0.1.0"
