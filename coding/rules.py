"""The rule coder: codebook keywords and patterns read clause by clause, with negation and contrast."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from coding.codebook import Codebook

# A mention's strength: asserted, weakened by a following contrast, or negated.
ASSERTED, WEAK, NEGATED = 1.0, 0.5, -1.0
_PUNCTUATION = re.compile(r"[,，。.;；!！?？、\n/|]+")
# A gap pattern ending in a negated complaint: "网速不慢", "速度也没卡".
_FREE_OF_CHARGE = re.compile(r"(不要|不用|不花)(钱|交钱|花钱)")
_NEGATED_TAIL = re.compile(r"(不|没有?|冇得?|并不)(太|很|算|怎么|是很)?[慢差卡弱贵烂]$")
# Reasons whose mention right after an operator's name is a complaint about that operator.
_COMPLAINT_REASONS = frozenset({"slow_speed", "poor_service", "bundling", "bad_package", "slow_install", "itv_fee"})
_PRICE_COMPLAINT = re.compile("[贵涨高]")
_GIFT = re.compile("(的)?(送|免费|赠)")
# How an operator is named: switched to, the provider complained about or addressed, named in
# passing, or denied ("不是移动送的").
CHOSEN, PROVIDER, NAMED, DENIED = "chosen", "provider", "named", "denied"


@dataclass(frozen=True)
class Mention:
    """Where a reason was found in the normalised text, and how it was said."""

    reason: str
    start: int
    end: int
    strength: float
    cue: str


@dataclass(frozen=True)
class RuleResult:
    """Per-reason signal (1 asserted, 0.5 weak, -1 negated, 0 absent), mentions, competitor."""

    signals: dict[str, float]
    mentions: tuple[Mention, ...] = ()
    competitor: str = "unknown"
    competitor_cues: tuple[tuple[int, int], ...] = field(default=())
    # An operator was named only to be denied ("不是移动送的"): nothing may guess one then.
    competitor_denied: bool = False
    # "不用了", "不想用了": no broadband now, but only when the answer gives no reason at all;
    # after a complaint it says nothing about where the customer went.
    stopped_using: bool = False
    # Every operator named, with its role (CHOSEN, PROVIDER, NAMED, DENIED).
    operators: tuple[tuple[int, int, str], ...] = ()

    def within(self, start: int, end: int) -> RuleResult:
        """The result for text[start:end] alone: the mentions and operators inside it, at their
        places there, read as they were in the whole text."""
        mentions = tuple(
            Mention(m.reason, m.start - start, m.end - start, m.strength, m.cue)
            for m in self.mentions
            if start <= m.start and m.end <= end
        )
        signals = dict.fromkeys(self.signals, 0.0)
        for mention in mentions:
            signals[mention.reason] = _combine(signals[mention.reason], mention.strength)
        operators = tuple((s - start, e - start, role) for s, e, role in self.operators if start <= s and e <= end)
        named = any(role in (CHOSEN, NAMED) for _, _, role in operators)
        return RuleResult(
            signals,
            mentions,
            self.competitor if named else "unknown",
            (),
            self.competitor_denied and any(role == DENIED for _, _, role in operators),
            self.stopped_using,
            operators,
        )

    @property
    def switched(self) -> bool:
        """The answer says the customer went to, or now uses, another operator's broadband."""
        return any(role == CHOSEN for _, _, role in self.operators) and self.competitor != "china_telecom"

    @property
    def provider_named(self) -> bool:
        """Another operator is named as the provider complained about or addressed."""
        return any(role == PROVIDER for _, _, role in self.operators)

    @property
    def reasons(self) -> list[str]:
        return [reason for reason, signal in self.signals.items() if signal > 0]


class RuleCoder:
    """Codes normalised text with the codebook alone; transparent and editable by researchers."""

    def __init__(self, codebook: Codebook) -> None:
        self.codebook = codebook
        cues = sorted(codebook.contrast_cues, key=len, reverse=True)
        self._contrast = re.compile("|".join(re.escape(cue) for cue in cues)) if cues else None
        self._keywords = _KeywordIndex([reason.keywords for reason in codebook.reasons])
        # One search tells whether any of a reason's patterns, or any operator's name, can occur
        # at all: most answers then skip the patterns one by one (the codes are the same).
        self._any_pattern = [_union([p.pattern for p in reason.patterns]) for reason in codebook.reasons]
        aliases = [re.escape(alias) for competitor in codebook.competitors for alias in competitor.aliases]
        self._any_alias = _union(aliases) if aliases else None
        book = codebook
        self._negation_before = _words_union(book.negation_before)
        self._negation_after = _words_union(book.negation_after)
        # "after.startswith(word)" is "word in after[:8]" for every word of at most 8 characters.
        self._long_negation_after = tuple(word for word in book.negation_after if len(word) > 8)
        self._telecom_again = _words_union(book.telecom_again)
        self._no_broadband = _words_union(book.no_broadband)
        self._stopped_using = _words_union(book.stopped_using)

    def clauses(self, text: str) -> list[tuple[int, int, bool]]:
        """(start, end, followed_by_contrast) for each clause of `text`."""
        cuts: list[tuple[int, int, bool]] = []  # (position, length skipped, is_contrast)
        for match in _PUNCTUATION.finditer(text):
            cuts.append((match.start(), match.end() - match.start(), False))
        if self._contrast is not None:
            for match in self._contrast.finditer(text):
                cuts.append((match.start(), 0, True))
        cuts.sort()
        clauses = []
        start = 0
        for position, skipped, is_contrast in cuts:
            if position > start or is_contrast:
                clauses.append((start, position, is_contrast))
            start = max(start, position + skipped)
        clauses.append((start, len(text), False))
        # A punctuation mark right before a contrast cue: the clause before it is the weak one.
        merged: list[tuple[int, int, bool]] = []
        for clause in clauses:
            if merged and clause[0] == clause[1] and clause[2]:
                merged[-1] = (merged[-1][0], merged[-1][1], True)
            elif clause[0] < clause[1]:
                merged.append(clause)
        return merged

    def code(self, text: str) -> RuleResult:
        """Signals for every reason of the codebook, and the competitor named, in normalised `text`."""
        lowered = text.lower()
        clauses = self.clauses(lowered)
        signals = dict.fromkeys(self.codebook.reason_ids, 0.0)
        mentions: list[Mention] = []
        present = self._keywords.present(lowered)
        for reason, keywords, any_pattern in zip(self.codebook.reasons, present, self._any_pattern, strict=True):
            patterns = reason.patterns if any_pattern is None or any_pattern.search(lowered) else ()
            for start, end, cue in self._find(lowered, keywords, patterns):
                clause = _clause_of(clauses, start)
                strength = self._strength(lowered, start, end, clause, cue)
                mentions.append(Mention(reason.id, start, end, strength, cue))
                signals[reason.id] = _combine(signals[reason.id], strength)
        mentions.sort(key=lambda mention: mention.start)
        competitor, operators = self._competitor(lowered, clauses, signals, mentions)
        denied = competitor == "unknown" and any(role == DENIED for _, _, role in operators)
        spans = tuple((start, end) for start, end, role in operators if role in (CHOSEN, NAMED))
        if (
            competitor not in ("unknown", "china_telecom", "none")
            and any(role == CHOSEN for _, _, role in operators)
            and not any(signal > 0 for signal in signals.values())
        ):
            # An answer that only says where the customer went: the switch itself is the reason.
            signals["other_network"] = ASSERTED
        stopped = competitor == "unknown" and not denied and _occurs(self._stopped_using, lowered)
        return RuleResult(signals, tuple(mentions), competitor, spans, denied, stopped, tuple(operators))

    @staticmethod
    def _find(
        text: str, keywords: tuple[str, ...], patterns: tuple[re.Pattern[str], ...]
    ) -> list[tuple[int, int, str]]:
        found: list[tuple[int, int, str]] = []
        taken: list[tuple[int, int]] = []
        for keyword in keywords:  # longest first: "网速慢" before "慢"
            position = text.find(keyword)
            while position != -1:
                end = position + len(keyword)
                if not any(s <= position and end <= e for s, e in taken):
                    found.append((position, end, keyword))
                    taken.append((position, end))
                position = text.find(keyword, position + 1)
        for pattern in patterns:
            for match in pattern.finditer(text):
                if match.end() > match.start() and not any(s <= match.start() and match.end() <= e for s, e in taken):
                    found.append((match.start(), match.end(), match.group(0)))
                    taken.append((match.start(), match.end()))
        return found

    def _strength(self, text: str, start: int, end: int, clause: tuple[int, int, bool], cue: str) -> float:
        clause_start, clause_end, weakened = clause
        window = text[max(clause_start, start - self.codebook.negation_window) : start]
        if _occurs(self._negation_before, window):
            return NEGATED
        if _NEGATED_TAIL.search(cue):
            return NEGATED
        after = text[end:clause_end]
        if _occurs(self._negation_after, after[:8]) or any(after.startswith(w) for w in self._long_negation_after):
            return NEGATED
        return WEAK if weakened else ASSERTED

    def _competitor(
        self,
        text: str,
        clauses: list[tuple[int, int, bool]],
        signals: dict[str, float],
        mentions: list[Mention],
    ) -> tuple[str, list[tuple[int, int, str]]]:
        """The competitor the text names as chosen, and every operator named with its role."""
        book = self.codebook
        scores: dict[str, float]
        operators: list[tuple[int, int, str]] = []
        self._operator_at: dict[tuple[int, int], str] = {}
        taken: list[tuple[int, int]] = []
        named_at_all = self._any_alias is None or self._any_alias.search(text) is not None
        for competitor in book.competitors if named_at_all else ():
            for alias in competitor.aliases:
                position = text.find(alias)
                while position != -1:
                    end = position + len(alias)
                    if not any(s < end and position < e for s, e in taken):
                        taken.append((position, end))
                        role = self._operator_role(text, position, end, _clause_of(clauses, position), mentions)
                        operators.append((position, end, role))
                        self._operator_at[(position, end)] = competitor.id
                    position = text.find(alias, position + 1)
        operators.sort()
        operators = self._provider_throughout(text, operators)
        scores = {}
        for start, end, role in operators:
            if role in (CHOSEN, NAMED):
                competitor_id = self._operator_at[(start, end)]
                scores[competitor_id] = max(scores.get(competitor_id, 0.0), 2.0 if role == CHOSEN else 1.0)
        if scores:
            best = max(scores.values())
            leaders = [cid for cid, score in scores.items() if score == best]
            return (leaders[0] if len(leaders) == 1 else "unknown"), operators
        if signals.get("reinstall", 0) > 0 or _occurs(self._telecom_again, text):
            return "china_telecom", operators
        # A customer who moved may well have broadband at the new address: "用不上" says nothing then.
        if signals.get("relocation", 0) <= 0 and _occurs(self._no_broadband, text):
            return "none", operators
        return "unknown", operators

    def _provider_throughout(self, text: str, operators: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
        """Operators named beside the provider ("@中国移动10086") are the provider too, and in a
        complaint or a post ("【投诉对象】", "@", "#", "12300申诉") so is every operator named
        without a switch."""
        complaint = any(mark in text for mark in self.codebook.complaint_marks)
        result: list[tuple[int, int, str]] = []
        for start, end, role in operators:
            beside = any(r == PROVIDER and (0 <= start - e <= 1 or 0 <= s - end <= 1) for s, e, r in operators)
            if role == NAMED and (complaint or beside):
                role = PROVIDER
            result.append((start, end, role))
        return result

    def _operator_role(
        self, text: str, start: int, end: int, clause: tuple[int, int, bool], mentions: list[Mention]
    ) -> str:
        """Whether the operator named at text[start:end] is chosen, the provider, named or denied.

        The order matters: a denial, then a switch said before the name ("装了移动"), then the
        provider's cues ("你们联通", "联通客服") or a complaint right after the name in its clause
        ("联通宽带非得绑定手机卡"), then a choice said after the name ("移动送的").
        """
        book = self.codebook
        clause_start, clause_end, _ = clause
        # "不要钱的移动宽带" is free broadband, not a denial.
        before = _FREE_OF_CHARGE.sub("", text[max(clause_start, start - 4) : start])
        after = text[end : end + 5]
        if any(negator in before for negator in ("不是", "没用", "没有", "不用", "没装", "不要")) or any(
            word in after for word in ("没关系", "无关", "不相干")
        ):
            return DENIED
        if any(text[max(0, start - 4) : start].endswith(cue) for cue in book.chosen_before):
            return CHOSEN
        if _GIFT.match(text, end):
            return CHOSEN  # "移动送的宽带": the broadband that came with the mobile plan
        addressed = text[max(clause_start, start - 6) : start].rstrip(": ")
        if any(addressed.endswith(cue) for cue in book.provider_before) or any(
            text[end : end + 5].startswith(cue) for cue in book.provider_after
        ):
            return PROVIDER
        if text[max(clause_start, start - 2) : start].endswith(("比", "不如", "没有", "跟", "和")):
            return NAMED  # a comparison: "比移动贵" names the cheaper one, not the provider
        for mention in mentions:
            complaint = mention.reason in _COMPLAINT_REASONS or (
                mention.reason == "price" and _PRICE_COMPLAINT.search(mention.cue) is not None
            )
            if complaint and end <= mention.start < min(clause_end, end + 14) and mention.strength > 0:
                return PROVIDER
        if any(text[end : end + 4].startswith(cue) for cue in book.chosen_after):
            return CHOSEN
        return NAMED


class _KeywordIndex:
    """Which keywords of each reason occur in a text, without trying all of them on every text.

    Keywords are indexed by their first two characters (one for one-character keywords); a text
    is looked up by the pairs and characters it holds. The keywords found keep the codebook's
    order (longest first), so the rule coder reads them exactly as if it had tried every one.
    """

    def __init__(self, keywords_per_reason: list[tuple[str, ...]]) -> None:
        self._reasons = len(keywords_per_reason)
        self._by_start: dict[str, list[tuple[int, int, str]]] = {}
        for reason, keywords in enumerate(keywords_per_reason):
            for order, keyword in enumerate(keywords):
                if keyword:
                    self._by_start.setdefault(keyword[:2], []).append((reason, order, keyword))

    def present(self, text: str) -> list[tuple[str, ...]]:
        """Per reason, its keywords that occur in `text` (lowercased), in codebook order."""
        starts = set(text)
        starts.update(text[i : i + 2] for i in range(len(text) - 1))
        found: list[tuple[int, int, str]] = []
        for start in starts:
            candidates = self._by_start.get(start)
            if candidates:
                found.extend(candidate for candidate in candidates if candidate[2] in text)
        per_reason: list[list[str]] = [[] for _ in range(self._reasons)]
        for reason, _order, keyword in sorted(found):
            per_reason[reason].append(keyword)
        return [tuple(keywords) for keywords in per_reason]


def _words_union(words: tuple[str, ...]) -> re.Pattern[str] | None:
    """One expression found wherever one of the words is (None for no words)."""
    return re.compile("|".join(re.escape(word) for word in words)) if words else None


def _occurs(words: re.Pattern[str] | None, text: str) -> bool:
    return words is not None and words.search(text) is not None


def _union(patterns: list[str]) -> re.Pattern[str] | None:
    """One expression matching wherever any of `patterns` does; None when there are none or they
    cannot be joined (a back reference), in which case each is tried on its own."""
    if not patterns:
        return None
    try:
        return re.compile("|".join(f"(?:{pattern})" for pattern in patterns), re.IGNORECASE)
    except re.error:
        return None


def _clause_of(clauses: list[tuple[int, int, bool]], position: int) -> tuple[int, int, bool]:
    for clause in clauses:
        if clause[0] <= position < clause[1]:
            return clause
    return clauses[-1] if clauses else (0, position + 1, False)


def _combine(current: float, new: float) -> float:
    """Asserted anywhere wins; a weak mention beats none; a negation counts only if nothing else."""
    return new if current == 0.0 else max(current, new)
