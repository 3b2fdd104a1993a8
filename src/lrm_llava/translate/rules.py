"""Keep-English rules: which samples are not translated (the paper keeps math such as GeoQA in English).

A sample stays English when any of its turns matches one rule (checked in this order):

| reason      | rule |
|-------------|------|
| `code`      | a fenced code block (```), or at least `min_code_lines` lines that look like code |
| `latex`     | LaTeX: `$...$`, `\\(...\\)`, `\\[...\\]`, `\\begin{...}` or a command such as `\\frac` |
| `equation`  | an equation or arithmetic between operands: `x = 3`, `2 + 3`, `4 * y`, `a^2` |
| `math`      | math symbols: ∠ √ π ° ≤ ≥ ≠ ± × ÷ ∑ ∫ △ ⊥ ∥ |
| `symbols`   | a turn with 3+ operators/brackets where more than `max_symbol_share` of the non-space characters are digits/operators/brackets |

Per-source overrides (`source_modes`, keyed by the source file's name or stem) force a whole file:
"english" keeps every sample English (e.g. a GeoQA file), "translate" translates every sample,
"auto" (default) applies the rules.

    >>> keep_english_reason(["What is 12 + 30?", "42"])
    'equation'
    >>> keep_english_reason(["What colour is the car?", "Red."]) is None
    True
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_CODE_LINE = re.compile(
    r"^\s*(def |class |import |from \S+ import|#include|return\b|for\s*\(|while\s*\(|if\s*\(|"
    r"function\b|public |private |var |let |const |print\(|console\.)|[;{}]\s*$"
)
_LATEX = re.compile(r"\$[^$\n]+\$|\\\(|\\\[|\\begin\{|\\(frac|sqrt|sum|int|angle|cdot|times|pi|alpha|beta|theta)\b")
_EQUATION = re.compile(
    r"(?:[A-Za-z0-9)\]]\s*(?:=|≈)\s*[A-Za-z0-9(\-])"  # x = 3, f(x) = ...
    r"|(?:\d\s*[+*/×÷^]\s*\(?\s*[\dA-Za-z])|(?:\d\s+-\s+\(?[\dA-Za-z])"  # 2 + 3, 4*y, 5 - x (not 2020-21)
    r"|(?:\b[A-Za-z]\s*[+*/^]\s*[\dA-Za-z(]\b)"  # x + 1, a^2
)
_MATH_SYMBOLS = re.compile(r"[∠√π°≤≥≠±×÷∑∫△⊥∥∞]")
_SYMBOL_CHARS = re.compile(r"[\d+\-*/=^<>()\[\]{}|%]")
_OPERATORS = re.compile(r"[+\-*/=^<>()\[\]{}|%]")


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
    """Per-source override: file name or stem -> "english" | "translate" | "auto"."""

    def mode_for(self, source: str) -> str:
        from pathlib import Path

        p = Path(source)
        for key in (source, p.name, p.stem):
            if key in self.source_modes:
                mode = self.source_modes[key]
                if mode not in ("english", "translate", "auto"):
                    from lrm_llava.errors import UserError

                    raise UserError(
                        f"source mode {mode!r} for {source}: use english, translate or auto"
                    )
                return mode
        return "auto"


def keep_english_reason(texts: list[str], rules: KeepEnglishRules | None = None) -> str | None:
    """Why a sample with these turn texts stays English, or None when it may be translated."""
    rules = rules or KeepEnglishRules()
    if not rules.enabled:
        return None
    # URLs carry "=" and "/" that are not math.
    texts = [re.sub(r"(?:https?://|www\.)\S+", "", t.replace("<image>", "")) for t in texts]
    joined = "\n".join(texts)
    if "```" in joined or sum(bool(_CODE_LINE.search(line)) for line in joined.splitlines()) >= rules.min_code_lines:
        return "code"
    if _LATEX.search(joined):
        return "latex"
    if _EQUATION.search(joined):
        return "equation"
    if _MATH_SYMBOLS.search(joined):
        return "math"
    for text in texts:
        chars = re.sub(r"\s", "", text)
        if len(chars) >= rules.min_symbol_chars and len(_OPERATORS.findall(chars)) >= 3:
            if len(_SYMBOL_CHARS.findall(chars)) / len(chars) > rules.max_symbol_share:
                return "symbols"
    return None
