"""Masking of personal data (phone numbers, account ids) for lists, logs and exports."""

from __future__ import annotations


def mask_phone(phone: str | None) -> str:
    """Keep the first three and last four digits: 18112342536 -> 181****2536."""
    if not phone:
        return ""
    if len(phone) <= 7:
        return "*" * (len(phone) - 2) + phone[-2:] if len(phone) > 2 else "*" * len(phone)
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]


def mask_account(account: str | None) -> str:
    """Keep the last four characters of an account id, enough for an agent to confirm it."""
    if not account:
        return ""
    if len(account) <= 4:
        return "*" * len(account)
    return "*" * (len(account) - 4) + account[-4:]
