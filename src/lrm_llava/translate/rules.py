"""Keep-English rules: which samples are not translated (the paper keeps math such as GeoQA in English).

A sample stays English when any of its turns matches one rule (checked in this order):

| reason      | rule |
|-------------|------|
| `code`      | a fenced code block (```), or at least `min_code_lines` lines that look like code |
| `latex`     | LaTeX: `$...$`, `\\(...\\)`, `\\[...\\]`, `\\begin{...}` or a command such as `\\frac` |
| `equation`  | an equation or arithmetic between operands: `x = 3`, `2 + 3`, `4 * y`, `a^2` |
| `math`      | math symbols: ∠ √ π ° ≤ ≥ ≠ ± × ÷ ∑ ∫ △ ⊥ ∥ |
| `geometry`  | a named figure: "angle ABC", "triangle ABC", "circle O", "segment AB" (geometry without symbols) |
| `symbols`   | a turn with 3+ operators/brackets where more than `max_symbol_share` of the non-space characters are digits/operators/brackets |

Before the rules look, what real documents and charts are full of is set aside, so that DocVQA,
ChartQA and DVQA are translated: URLs, money ("$5 and $10" is not LaTeX), dates ("12/05/2019",
"1/8/93", "2019-05-12" are not division), seasons and ratios written with a slash ("2019/20", "3/4",
"km/h", "and/or"), temperatures and coordinates ("25°C", "40°N" are not geometry), age groups and
ranges ("65+", "18 - 24").

Per-source overrides (`source_modes`, keyed by the source file's name or stem, or by a sample's
`source` field as `data import` writes it) force a whole source: "english" keeps every sample
untranslated (e.g. a GeoQA file), "translate" translates every sample, "auto" applies the rules.
Without an override, `SOURCE_DEFAULTS` apply: GeoQA (Chinese geometry, kept in its own language)
and the other geometry sets are never machine-translated.

    >>> keep_english_reason(["What is 12 + 30?", "42"])
    'equation'
    >>> keep_english_reason(["What colour is the car?", "Red."]) is None
    True
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

_CODE_LINE = re.compile(
    r"^\s*(def |class |import |from \S+ import|#include|return\b|for\s*\(|while\s*\(|if\s*\(|"
    r"function\b|public |private |var |let |const |print\(|console\.)|[;{}]\s*$"
)
_LATEX = re.compile(r"\$[^$\n]+\$|\\\(|\\\[|\\begin\{|\\(frac|sqrt|sum|int|angle|cdot|times|pi|alpha|beta|theta)\b")
_EQUATION = re.compile(
    r"(?:[A-Za-z0-9)\]]\s*(?:=|≈)\s*[A-Za-z0-9(\-])"  # x = 3, f(x) = ...
    r"|(?:\d\s*[*×÷^]\s*\(?\s*[\dA-Za-z])"  # 4*y, 2^3
    r"|(?:\d\s*\+\s*\(?\d)|(?:\d\s+\+\s+\(?[A-Za-z]\b)|(?:\d\+[A-Za-z]\b)"  # 2 + 3, 2 + x, 3+x (not "65+ years")
    r"|(?:\d\s+/\s*\(?\d)|(?:\d\s*/\s+\(?\d)"  # 12 / 4 (not 3/4, 2019/20, 12/05/2019)
    r"|(?:\d\s+-\s+\(?[A-Za-z]\b)"  # 5 - x (not 2020-21, "18 - 24")
    r"|(?:\b[A-Za-z]\s*[+*^]\s*[\dA-Za-z(]\b)"  # x + 1, a^2 (not "and/or", "km/h")
)
_MATH_SYMBOLS = re.compile(r"[∠√π°≤≥≠±×÷∑∫△⊥∥∞]")
_GEOMETRY = re.compile(
    r"\b(?i:angle|triangle|circle|segment|chord|arc|quadrilateral|parallelogram|rhombus|trapezoid|polygon|"
    r"rectangle|square|vertex|tangent|ray)s?[ \t]+(?!(?:UK|US|USA|EU|UN|TV|PC|AI|OK|ID)\b)[A-Z]{1,4}\b"
    r"|\b(?i:line|side|point|diameter|radius)s?[ \t]+(?!(?:UK|US|EU|UN|TV|PC|AI|OK|ID)\b)[A-Z]{1,2}\d?\b"
)
"""A named figure ("angle ABC", "circle O", "side AB"): a geometry problem even without symbols."""

_NOT_MATH = (
    re.compile(r"(?:https?://|www\.)\S+"),  # URLs carry "=" and "/"
    re.compile(r"(?:US|A|C|NZ|HK)?\$\s?\d[\d,]*(?:\.\d+)?(?:\s?(?:k|m|bn|million|billion|trillion|thousand)\b)?",
               re.IGNORECASE),  # money: "$5 and $10", "$1.2 billion"
    re.compile(r"\b\d{1,4}([/.\-])\d{1,2}\1\d{1,4}\b"),  # dates: 12/05/2019, 1/8/93, 2019-05-12, 12.05.2019
    re.compile(r"-?\d+(?:[.,]\d+)?\s?°\s?[CFK]\b|\d+(?:[.,]\d+)?\s?°\s?[NSEW]\b"),  # 25°C, 40°N
    re.compile(r"\b\d+(?:[.,]\d+)?\s?%"),  # 12.5%
)
"""Spans that look like math to the rules but are everyday text in documents and charts."""
_SYMBOL_CHARS = re.compile(r"[\d+\-*/=^<>()\[\]{}|%]")
_OPERATORS = re.compile(r"[+\-*/=^<>()\[\]{}|%]")


SOURCE_DEFAULTS: dict[str, str] = {
    "geoqa": "english", "geoqa+": "english", "geoqa-plus": "english", "unigeo": "english",
    "geometry3k": "english", "intergps": "english", "geomverse": "english",
}
"""Per-source keep-English defaults, by source name (a sample's `source`, or its file's stem): GeoQA
is never machine-translated (the paper trains math in its own language), nor are the other
geometry sets. An explicit `--source-mode` wins."""


@dataclass
class KeepEnglishRules:
    """Settings of the keep-English rule set (see the module docstring for the rules)."""

    enabled: bool = True
    """False translates everything (per-source "english" overrides still apply)."""
    min_code_lines: int = 2
    """Lines that look like code before a sample counts as code-heavy."""
    max_symbol_share: float = 0.35
    """Share of digits/operators/brackets among non-space characters above which a turn is a formula."""
    min_symbol_chars: int = 20
    """The symbol-share rule only looks at turns with at least this many non-space characters."""
    source_modes: dict[str, str] = field(default_factory=dict)
    """Per-source override: file name or stem, or a sample's `source` -> "english" | "translate" | "auto"."""
    source_defaults: bool = True
    """Apply `SOURCE_DEFAULTS` (GeoQA and other geometry sets stay untranslated) where no override is given."""

    def mode_for(self, origin: str, source: str | None = None) -> str:
        """The mode of a sample from file `origin` whose `source` field is `source` (if any)."""
        p = Path(origin)
        for key in (origin, p.name, p.stem, source):
            if key is not None and key in self.source_modes:
                mode = self.source_modes[key]
                if mode not in ("english", "translate", "auto"):
                    from lrm_llava.errors import UserError

                    raise UserError(
                        f"source mode {mode!r} for {key}: use english, translate or auto"
                    )
                return mode
        if self.source_defaults:
            for key in (source, p.stem):
                if key is not None and key.lower() in SOURCE_DEFAULTS:
                    return SOURCE_DEFAULTS[key.lower()]
        return "auto"


def keep_english_reason(texts: list[str], rules: KeepEnglishRules | None = None) -> str | None:
    """Why a sample with these turn texts stays English, or None when it may be translated."""
    rules = rules or KeepEnglishRules()
    if not rules.enabled:
        return None
    texts = [_everyday(t.replace("<image>", "")) for t in texts]
    joined = "\n".join(texts)
    if "```" in joined or sum(bool(_CODE_LINE.search(line)) for line in joined.splitlines()) >= rules.min_code_lines:
        return "code"
    if _LATEX.search(joined):
        return "latex"
    if _EQUATION.search(joined):
        return "equation"
    if _MATH_SYMBOLS.search(joined):
        return "math"
    if _GEOMETRY.search(joined):
        return "geometry"
    for text in texts:
        chars = re.sub(r"\s", "", text)
        if len(chars) >= rules.min_symbol_chars and len(_OPERATORS.findall(chars)) >= 3:
            if len(_SYMBOL_CHARS.findall(chars)) / len(chars) > rules.max_symbol_share:
                return "symbols"
    return None


def _everyday(text: str) -> str:
    """`text` with money, dates, temperatures, percentages and URLs replaced by a plain word."""
    for pattern in _NOT_MATH:
        text = pattern.sub(" value ", text)
    return text
