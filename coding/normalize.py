"""Text normalisation before coding: width, script, whitespace, emoji, and phone numbers masked."""

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


def mask_phones(text: str) -> str:
    """Phone numbers typed into free text keep their first three and last four digits."""

    def mask(match: re.Match[str]) -> str:
        if match.group(1):
            return f"{match.group(1)}****{match.group(3)}"
        area, number = match.group(4), match.group(5)
        return f"{area}-{'*' * (len(number) - 4)}{number[-4:]}"

    return _PHONE.sub(mask, text)


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
