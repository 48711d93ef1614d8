"""The codebook as data: reasons with keywords and patterns, cues, competitors and their aliases."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from coding.ids import COMPETITORS, REASONS
from coding.resources import data_file


class CodebookError(ValueError):
    """A codebook file that cannot be used; the message names the file and the entry."""


@dataclass(frozen=True)
class Reason:
    """One churn reason and the words that signal it."""

    id: str
    label: str
    definition: str
    keywords: tuple[str, ...]
    patterns: tuple[re.Pattern[str], ...]
    examples: tuple[str, ...]


@dataclass(frozen=True)
class Competitor:
    id: str
    label: str
    aliases: tuple[str, ...]


@dataclass(frozen=True)
class Codebook:
    """Everything the rule coder reads, and a hash that models record to detect edits."""

    reasons: tuple[Reason, ...]
    negation_before: tuple[str, ...]
    negation_after: tuple[str, ...]
    negation_window: int
    contrast_cues: tuple[str, ...]
    competitors: tuple[Competitor, ...]
    chosen_before: tuple[str, ...]
    chosen_after: tuple[str, ...]
    telecom_again: tuple[str, ...]
    no_broadband: tuple[str, ...]
    stopped_using: tuple[str, ...]
    provider_before: tuple[str, ...]
    provider_after: tuple[str, ...]
    complaint_marks: tuple[str, ...]
    path: Path
    sha256: str

    @property
    def reason_ids(self) -> tuple[str, ...]:
        return tuple(reason.id for reason in self.reasons)


def default_codebook_path() -> Path:
    return data_file("codebook.yaml")


@lru_cache(maxsize=8)
def load_codebook(path: str | Path | None = None, *, fixed_ids: bool = True) -> Codebook:
    """Parse and check a codebook file (default: data/codebook.yaml).

    With `fixed_ids` the categories must be the ten reason ids of the contract; a codebook of
    other categories (staff-interview themes, reasons for choosing a competitor) passes False.
    """
    file = Path(path) if path is not None else default_codebook_path()
    try:
        raw = file.read_bytes()
        data = YAML(typ="safe").load(raw.decode("utf-8-sig"))
    except OSError as error:
        raise CodebookError(f"{file}: cannot read the codebook ({error.strerror})") from error
    except (UnicodeDecodeError, YAMLError) as error:
        raise CodebookError(f"{file}: not a valid UTF-8 YAML codebook ({error})") from error
    if not isinstance(data, dict):
        raise CodebookError(f"{file}: the codebook must be a mapping")
    key = "reasons" if "reasons" in data else "categories"
    reasons = tuple(_reason(file, entry) for entry in _list(file, data, key))
    ids = [reason.id for reason in reasons]
    if len(set(ids)) != len(ids) or not all(ids):
        raise CodebookError(f"{file}: every category needs an id, and ids must be unique")
    if fixed_ids and ids != list(REASONS):
        raise CodebookError(
            f"{file}: the reasons must be exactly {', '.join(REASONS)} in that order (found {', '.join(ids)})"
        )
    competitors = tuple(_competitor(file, entry) for entry in data.get("competitors") or [])
    negation = data.get("negation") or {}
    cues = data.get("competitor_cues") or {}
    return Codebook(
        reasons=reasons,
        negation_before=_words(negation.get("before")),
        negation_after=_words(negation.get("after")),
        negation_window=int(negation.get("window", 4)),
        contrast_cues=_words((data.get("contrast") or {}).get("cues")),
        competitors=competitors,
        chosen_before=_words(cues.get("chosen_before")),
        chosen_after=_words(cues.get("chosen_after")),
        telecom_again=_words(cues.get("telecom_again")),
        no_broadband=_words(cues.get("no_broadband")),
        stopped_using=_words(cues.get("stopped_using")),
        provider_before=_words((data.get("provider_cues") or {}).get("before")),
        provider_after=_words((data.get("provider_cues") or {}).get("after")),
        complaint_marks=_words((data.get("provider_cues") or {}).get("complaint_marks")),
        path=file,
        sha256=hashlib.sha256(raw).hexdigest(),
    )


def _list(file: Path, data: dict[str, Any], key: str) -> list[dict[str, Any]]:
    value = data.get(key)
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise CodebookError(f"{file}: '{key}' must be a list of entries")
    return value


def _words(value: Any) -> tuple[str, ...]:
    # Longest first, so that "中国移动" is found before "移动".
    words = {str(item).strip().lower() for item in (value or []) if str(item).strip()}
    return tuple(sorted(words, key=lambda word: (-len(word), word)))


def _reason(file: Path, entry: dict[str, Any]) -> Reason:
    reason_id = str(entry.get("id", ""))
    patterns = []
    for pattern in entry.get("patterns") or []:
        try:
            patterns.append(re.compile(str(pattern), re.IGNORECASE))
        except re.error as error:
            raise CodebookError(f"{file}: reason {reason_id}: bad pattern {pattern!r} ({error})") from error
    return Reason(
        id=reason_id,
        label=str(entry.get("label", reason_id)),
        definition=str(entry.get("definition", "")),
        keywords=_words(entry.get("keywords")),
        patterns=tuple(patterns),
        examples=tuple(str(example) for example in entry.get("examples") or []),
    )


def _competitor(file: Path, entry: dict[str, Any]) -> Competitor:
    competitor_id = str(entry.get("id", ""))
    if competitor_id not in COMPETITORS:
        raise CodebookError(f"{file}: unknown competitor id {competitor_id!r} (known: {', '.join(COMPETITORS)})")
    return Competitor(competitor_id, str(entry.get("label", competitor_id)), _words(entry.get("aliases")))
