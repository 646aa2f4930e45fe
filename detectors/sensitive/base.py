"""Recognizer building blocks, Presidio-style: pattern → validation → context → score.

A :class:`Recognizer` declares class-level ``PATTERNS`` and ``CONTEXT``; :meth:`analyze` runs
each pattern, asks :meth:`Recognizer.validate_result` about every candidate (checksums), then
adjusts the score with context words found near the value (CJK-safe: Chinese words match as
substrings, ASCII words need non-letters around them), with a column hint, and with negative
context (``订单号``, ``order no``) that marks look-alikes. Every :class:`Finding` carries the
explanation of its score.

>>> class Digits4(Recognizer):
...     ENTITY = "PIN"
...     PATTERNS = (Pattern("pin", r"(?<!\\d)\\d{4}(?!\\d)", 0.3),)
...     CONTEXT = ("pin", "密码")
>>> [f.explanation for f in Digits4().analyze("银行卡密码1234")]
['PIN 0.65: Digits4 pattern pin 0.30; context 密码 +0.35']
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import ClassVar

__all__ = [
    "CHAR_CLASSES",
    "CJK_CLASS",
    "NON_SENSITIVE_HINT",
    "Finding",
    "Pattern",
    "PatternError",
    "PatternRecognizer",
    "Recognizer",
    "compile_context",
    "quick_regex",
]

#: CJK unified ideographs (BMP + extension A) and compatibility ideographs.
CJK_CLASS = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"

#: Prefilter classes a recognizer may require (see :attr:`Recognizer.REQUIRES`).
CHAR_CLASSES = ("digit", "cjk", "at", "alpha")

#: Pseudo-entity of column hints such as ``order_no``: values there are identifiers that look
#: like personal data by shape only, so numeric findings are penalised like negative context.
NON_SENSITIVE_HINT = "NON_SENSITIVE_ID"

_FLAG_NAMES = {"i": re.IGNORECASE, "m": re.MULTILINE, "s": re.DOTALL, "x": re.VERBOSE}


class PatternError(ValueError):
    """A pattern, context list or recognizer definition that cannot be used."""


@dataclass(frozen=True, slots=True)
class Pattern:
    """A named regex with the score a validated match earns without context.

    ``group`` selects the part of the match that is the sensitive value (e.g. the password
    inside ``IDENTIFIED BY '…'``). The regex is compiled, and the score checked, when built:

    >>> Pattern("bad", "(", 0.5)
    Traceback (most recent call last):
    ...
    detectors.sensitive.base.PatternError: pattern 'bad': invalid regex: missing ), unterminated subpattern at position 0
    """

    name: str
    regex: str
    score: float
    group: int | str = 0
    flags: str = ""
    compiled: re.Pattern = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.name or not isinstance(self.name, str):
            raise PatternError(f"pattern {self.name!r}: a pattern needs a name")
        if (
            not isinstance(self.score, (int, float))
            or isinstance(self.score, bool)
            or not 0.0 <= self.score <= 1.0
        ):
            raise PatternError(f"pattern {self.name!r}: score {self.score!r} is not in [0, 1]")
        if not isinstance(self.regex, str) or not self.regex:
            raise PatternError(f"pattern {self.name!r}: regex must be a non-empty string")
        flags = 0
        for ch in self.flags:
            if ch not in _FLAG_NAMES:
                raise PatternError(f"pattern {self.name!r}: unknown regex flag {ch!r}")
            flags |= _FLAG_NAMES[ch]
        try:
            compiled = re.compile(self.regex, flags)
        except re.error as exc:
            raise PatternError(f"pattern {self.name!r}: invalid regex: {exc}") from None
        if isinstance(self.group, int) and not 0 <= self.group <= compiled.groups:
            raise PatternError(f"pattern {self.name!r}: regex has no group {self.group}")
        if isinstance(self.group, str) and self.group not in compiled.groupindex:
            raise PatternError(f"pattern {self.name!r}: regex has no group named {self.group!r}")
        if compiled.match(""):
            raise PatternError(f"pattern {self.name!r}: regex matches the empty string")
        object.__setattr__(self, "compiled", compiled)


@dataclass(slots=True)
class Finding:
    """One sensitive value: where it is, what it is, how sure, and why.

    ``value`` holds the plaintext and is kept out of ``repr`` and :meth:`to_dict` so a finding
    can be logged or indexed without leaking what it found.
    """

    entity: str
    start: int
    end: int
    score: float
    recognizer: str
    pattern: str
    value: str = field(default="", repr=False)
    base_score: float = 0.0
    validation: str | None = None
    context: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def explanation(self) -> str:
        parts = [f"{self.recognizer} pattern {self.pattern} {self.base_score:.2f}"]
        if self.validation:
            parts.append(self.validation)
        parts.extend(self.notes)
        return f"{self.entity} {self.score:.2f}: " + "; ".join(parts)

    def to_dict(self) -> dict:
        """JSON-ready, without the value."""
        return {
            "entity": self.entity,
            "start": self.start,
            "end": self.end,
            "score": round(self.score, 3),
            "recognizer": self.recognizer,
            "explanation": self.explanation,
        }


_NAMED_GROUP = re.compile(r"\(\?P<\w+>")
_BACKREF = re.compile(r"\\[1-9]|\(\?P=")


def quick_regex(patterns: Sequence[Pattern]) -> re.Pattern | None:
    """One regex that matches wherever any of ``patterns`` does: a single C-level search tells
    the scanner whether a recognizer can find anything at all. Named groups become plain
    groups; patterns with back-references cannot be merged (None: no quick check).

    >>> quick_regex([Pattern("a", r"(?P<x>a)b", 0.5), Pattern("c", "cd", 0.5, flags="i")]).pattern
    '(?:(?:a)b)|(?i:cd)'
    """
    if not patterns or any(_BACKREF.search(p.regex) for p in patterns):
        return None
    parts = []
    for p in patterns:
        body = _NAMED_GROUP.sub("(?:", p.regex)
        parts.append(f"(?{p.flags}:{body})" if p.flags else f"(?:{body})")
    try:
        return re.compile("|".join(parts))
    except re.error:  # e.g. a global flag inside one pattern: fall back to per-pattern search
        return None


def compile_context(words: Iterable[str]) -> re.Pattern | None:
    """One case-insensitive regex for a list of context words.

    CJK words match as substrings (Chinese has no spaces, and ``\\b`` treats CJK as word
    characters); ASCII words must not touch other letters, so ``id`` does not fire in ``paid``
    but does in ``user_id`` or ``ID:``.

    >>> rx = compile_context(["id", "身份证"])
    >>> bool(rx.search("paid")), bool(rx.search("user_id")), bool(rx.search("的身份证号"))
    (False, True, True)
    """
    alts = []
    for w in sorted({w for w in words if w}, key=len, reverse=True):
        esc = re.escape(w)
        if w.isascii():
            esc = rf"(?<![A-Za-z]){esc}(?![A-Za-z])" if w[-1].isalpha() else rf"(?<![A-Za-z]){esc}"
        alts.append(esc)
    return re.compile("|".join(alts), re.IGNORECASE) if alts else None


class Recognizer:
    """Base recognizer: subclasses set ``ENTITY``, ``PATTERNS``, ``CONTEXT`` and may override
    :meth:`validate_result` (a checksum) or :meth:`analyze` (dictionary-driven recognizers).

    Constructor arguments override the class attributes and are stored verbatim.
    """

    ENTITY: ClassVar[str] = ""
    PATTERNS: ClassVar[Sequence[Pattern]] = ()
    CONTEXT: ClassVar[Sequence[str]] = ()
    NEGATIVE_CONTEXT: ClassVar[Sequence[str]] = ()
    #: Prefilter: character classes (``CHAR_CLASSES``) the value must contain, all of them.
    REQUIRES: ClassVar[Sequence[str]] = ("digit",)
    #: Prefilter: literal substrings of which at least one must occur (when non-empty).
    TRIGGERS: ClassVar[Sequence[str]] = ()
    TRIGGERS_IGNORE_CASE: ClassVar[bool] = False
    CONTEXT_BOOST: ClassVar[float] = 0.35
    HINT_BOOST: ClassVar[float] = 0.35
    NEGATIVE_PENALTY: ClassVar[float] = 0.35
    #: Characters searched for context before / after the value. Chinese puts the label right
    #: before the value (``手机号：138…``); English sometimes after (``… (mobile)``).
    WINDOW_BEFORE: ClassVar[int] = 24
    WINDOW_AFTER: ClassVar[int] = 12
    #: Whether a column hint of :data:`NON_SENSITIVE_HINT` (``order_no``) penalises findings.
    PENALISED_BY_ID_HINT: ClassVar[bool] = True

    def __init__(
        self,
        patterns: Sequence[Pattern] | None = None,
        context: Sequence[str] | None = None,
        negative_context: Sequence[str] | None = None,
        entity: str | None = None,
        name: str | None = None,
        requires: Sequence[str] | None = None,
        triggers: Sequence[str] | None = None,
        triggers_ignore_case: bool | None = None,
    ):
        self.patterns = patterns
        self.context = context
        self.negative_context = negative_context
        self.entity = entity
        self.name = name
        self.requires = requires
        self.triggers = triggers
        self.triggers_ignore_case = triggers_ignore_case
        # Resolved configuration (constructor first, class attributes otherwise).
        self._entity = entity or self.ENTITY
        self._name = name or type(self).__name__
        self._patterns = tuple(self.PATTERNS if patterns is None else patterns)
        self._requires = tuple(self.REQUIRES if requires is None else requires)
        self._triggers = tuple(self.TRIGGERS if triggers is None else triggers)
        if not self._entity:
            raise PatternError(f"{self._name}: no entity")
        bad = [r for r in self._requires if r not in CHAR_CLASSES]
        if bad:
            raise PatternError(
                f"{self._name}: unknown prefilter classes {bad} (known: {CHAR_CLASSES})"
            )
        for p in self._patterns:
            if not isinstance(p, Pattern):
                raise PatternError(f"{self._name}: {p!r} is not a Pattern")
        self._context_words = tuple(self.CONTEXT if context is None else context)
        self._negative_words = tuple(
            self.NEGATIVE_CONTEXT if negative_context is None else negative_context
        )
        self._context_rx = compile_context(self._context_words)
        self._negative_rx = compile_context(self._negative_words)
        self._triggers_ic = (
            self.TRIGGERS_IGNORE_CASE
            if triggers_ignore_case is None
            else bool(triggers_ignore_case)
        )
        self.trigger_rx = (
            re.compile(
                "|".join(re.escape(t) for t in self._triggers),
                re.IGNORECASE if self._triggers_ic else 0,
            )
            if self._triggers
            else None
        )
        self.quick_rx = quick_regex(self._patterns)

    # -- public attributes used by the scanner ------------------------------------------------

    @property
    def entity_name(self) -> str:
        return self._entity

    @property
    def recognizer_name(self) -> str:
        return self._name

    @property
    def required_classes(self) -> tuple[str, ...]:
        return self._requires

    def triggered(self, text: str) -> bool:
        """True when the literal prefilter lets ``text`` through."""
        return self.trigger_rx is None or self.trigger_rx.search(text) is not None

    # -- the pipeline ---------------------------------------------------------------------------

    def validate_result(self, value: str) -> bool | float | None:
        """Checksum hook: ``False`` rejects, ``True``/``None`` keep the pattern score, a float
        replaces it. Override with the entity's check."""
        return None

    def validation_name(self) -> str | None:
        """How :meth:`validate_result` validated, for explanations."""
        return None

    def analyze(self, text: str, hints: frozenset[str] = frozenset()) -> list[Finding]:
        """All candidates of every pattern, validated and context-scored (no threshold)."""
        out: list[Finding] = []
        for pattern in self._patterns:
            group = pattern.group
            for m in pattern.compiled.finditer(text):
                value = m.group(group)
                if not value:
                    continue
                checked = self.validate_result(value)
                if checked is False:
                    continue
                base = checked if isinstance(checked, float) else pattern.score
                f = Finding(
                    self._entity,
                    m.start(group),
                    m.end(group),
                    base,
                    self._name,
                    pattern.name,
                    value,
                    base,
                )
                if checked is not None:
                    f.validation = self.validation_name()
                out.append(self.enhance(text, f, hints))
        return out

    def enhance(
        self, text: str, f: Finding, hints: frozenset[str] = frozenset(), notes: Sequence[str] = ()
    ) -> Finding:
        """Apply context, column hints (entities a column name suggests) and negative context to
        ``f`` (in place) and return it."""
        score = f.score
        found_notes = list(notes)
        ctx: tuple[str, ...] = ()
        pos = neg = None
        if f.start > 0 or f.end < len(text):
            if self._context_rx is not None:
                pos = self._nearest(text, f.start, f.end, self._context_rx)
            if self._negative_rx is not None:
                neg = self._nearest(text, f.start, f.end, self._negative_rx)
        # The nearest label wins: "订单号…，电话138…" is a phone, "订单号 2026…" is not.
        if pos is not None and (neg is None or pos[1] <= neg[1]):
            ctx = (pos[0],)
            score += self.CONTEXT_BOOST
            found_notes.append(f"context {pos[0]} +{self.CONTEXT_BOOST:.2f}")
        if hints:
            if self._entity in hints:
                score += self.HINT_BOOST
                found_notes.append(f"column hint +{self.HINT_BOOST:.2f}")
            elif NON_SENSITIVE_HINT in hints and self.PENALISED_BY_ID_HINT:
                score -= self.NEGATIVE_PENALTY
                found_notes.append(f"column is an identifier -{self.NEGATIVE_PENALTY:.2f}")
        if neg is not None and (pos is None or neg[1] < pos[1]):
            score -= self.NEGATIVE_PENALTY
            found_notes.append(f"negative context {neg[0]} -{self.NEGATIVE_PENALTY:.2f}")
        f.score = min(1.0, max(0.0, score))
        f.context = ctx
        f.notes = tuple(found_notes)
        return f

    def _nearest(self, text: str, start: int, end: int, rx: re.Pattern) -> tuple[str, int] | None:
        """The context word closest to the value (before it, else after it) and its distance."""
        lo = max(0, start - self.WINDOW_BEFORE)
        last = None
        if start > 0:
            for last in rx.finditer(text, lo, start):
                pass
        if last is not None:
            return last.group(0), start - last.end()
        if end < len(text):
            m = rx.search(text, end, min(len(text), end + self.WINDOW_AFTER))
            if m is not None:
                return m.group(0), m.start() - end + self.WINDOW_BEFORE
        return None

    def __repr__(self) -> str:
        return f"{self._name}(entity={self._entity!r}, patterns={len(self._patterns)})"


class PatternRecognizer(Recognizer):
    """A recognizer defined by data (YAML): patterns, an optional named validator from
    :data:`detectors.sensitive.validators.VALIDATORS`, context words and prefilters.

    >>> r = PatternRecognizer(name="Pin", entity="PIN", patterns=[Pattern("p", r"\\d{4}", 0.4)],
    ...                       validator="luhn", requires=["digit"])
    >>> [f.value for f in r.analyze("pin 4242 or 4243")]
    ['4242']
    """

    def __init__(
        self,
        *,
        name: str,
        entity: str,
        patterns: Sequence[Pattern],
        context: Sequence[str] = (),
        negative_context: Sequence[str] = (),
        validator: str | None = None,
        requires: Sequence[str] = (),
        triggers: Sequence[str] = (),
        triggers_ignore_case: bool = False,
        source: str | None = None,
    ):
        from detectors.sensitive.validators import VALIDATORS

        if validator is not None and validator not in VALIDATORS:
            raise PatternError(
                f"{name}: unknown validator {validator!r} (known: {', '.join(sorted(VALIDATORS))})"
            )
        self.validator = validator
        self.source = source
        self._validate = VALIDATORS[validator] if validator else None
        super().__init__(
            patterns=patterns,
            context=context,
            negative_context=negative_context,
            entity=entity,
            name=name,
            requires=requires,
            triggers=triggers,
            triggers_ignore_case=triggers_ignore_case,
        )

    def validate_result(self, value: str) -> bool | float | None:
        return self._validate(value) if self._validate is not None else None

    def validation_name(self) -> str | None:
        return f"{self.validator} ok" if self.validator else None
