"""Text normalisation before coding (width, script, whitespace, emoji) and the masking of personal data."""

from __future__ import annotations

import re
import unicodedata

import zhconv

# Mobile numbers (11 digits from 1[3-9]) and landlines with an area code, possibly spaced or dashed.
_PHONE = re.compile(
    r"(?<!\d)(?:\+?86[\s-]?)?(1[3-9]\d)[\s-]?(\d{4})[\s-]?(\d{4})(?!\d)|(?<!\d)(0\d{2,3})[\s-]?(\d{7,8})(?!\d)"
)
_EMOJI = re.compile(
    "[\U0001f000-\U0001faff\U00002600-\U000027bf\U0001f900-\U0001f9ff\ufe0f\u200d\u2b50\u2b55\u231a-\u23ff]"
)
_SPACE = re.compile(r"\s+")


def mask(value: str | None, *, keep_start: int = 0, keep_end: int = 4, short_keep_end: int = 0) -> str:
    """The one masking rule of personal data: the first `keep_start` and last `keep_end`
    characters are kept and every other one is a `*`; a value too short to hide anything that
    way keeps only its last `short_keep_end` (when it is longer than that)."""
    if not value:
        return ""
    if len(value) <= keep_start + keep_end:
        kept = short_keep_end if len(value) > short_keep_end else 0
        return "*" * (len(value) - kept) + value[len(value) - kept :]
    return value[:keep_start] + "*" * (len(value) - keep_start - keep_end) + value[len(value) - keep_end :]


def mask_phone(phone: str | None) -> str:
    """A phone number with its first three and last four digits: 18112342536 -> 181****2536."""
    return mask(phone, keep_start=3, short_keep_end=2)


def mask_account(account: str | None) -> str:
    """An account id with its last four characters, enough for an agent to confirm it."""
    return mask(account)


def mask_phones(text: str) -> str:
    """Phone numbers said in free text, masked: a mobile as mask_phone, a landline with its area
    code kept and the rest as mask_account (0739-***1234)."""

    def masked(match: re.Match[str]) -> str:
        if match.group(1):
            return mask_phone(match.group(1) + match.group(2) + match.group(3))
        return f"{match.group(4)}-{mask(match.group(5))}"

    return _PHONE.sub(masked, text)


def to_half_width(text: str) -> str:
    """Full-width letters, digits and ASCII punctuation to their ASCII forms; Chinese punctuation stays."""
    return (
        unicodedata.normalize("NFKC", text)
        if any("\uff01" <= ch <= "\uff5e" or ch == "\u3000" for ch in text)
        else text
    )


def normalize(text: object) -> str:
    """The form every coder sees: half-width, simplified, no emoji, single spaces, phones masked."""
    if text is None:
        return ""
    raw = str(text)
    if not raw.strip():
        return ""
    cleaned = to_half_width(raw)
    cleaned = zhconv.convert(cleaned, "zh-cn")
    cleaned = _EMOJI.sub("", cleaned)
    cleaned = _SPACE.sub(" ", cleaned).strip()
    return mask_phones(cleaned)
