"""Placeholder protection and sentence splitting: what keeps MT from mangling structure.

Before a string goes to a machine-translation backend, spans that must survive unchanged
(`<image>`, fenced and inline code, LaTeX, URLs, option markers such as "A." or "(B)", numbers)
are replaced by sentinels `[0]`, `[1]`, ... ; after translation they are put back. Every digit run
of the text is protected, so any digits left in the masked text belong to sentinels.

Long lines are split into sentences (NLLB silently drops text past ~200 tokens) and grouped into
segments of at most `max_chars` characters; each segment's sentinels are renumbered from 0 so the
same segment text is translated (and cached) once, whatever numbers the original held.

    >>> masked, spans = protect("<image>\\nIs 3.5 > 2? A. yes")
    >>> masked, spans
    ('[0]\\nIs [1] > [2]? [3] yes', ['<image>', '3.5', '2', 'A.'])
    >>> restore("[0]\\nIst [1] > [2]? [3] ja", spans)
    '<image>\\nIst 3.5 > 2? A. ja'
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Order matters: earlier alternatives win where spans overlap (a URL's digits stay in the URL).
_PROTECT = re.compile(
    r"```.*?```"  # fenced code block
    r"|`[^`\n]+`"  # inline code
    r"|\$\$.+?\$\$"  # display LaTeX
    r"|\$[^$\n]+?\$"  # inline LaTeX
    r"|\\\(.+?\\\)|\\\[.+?\\\]"  # \( .. \) and \[ .. \]
    r"|\\begin\{(\w+\*?)\}.*?\\end\{\1\}"  # LaTeX environments
    r"|\\[A-Za-z]+(?:\{[^{}\n]*\})*"  # bare LaTeX commands such as \frac{a}{b}
    r"|(?:https?://|www\.)[^\s<>\"]*[^\s<>\".,;:!?)\]]"  # URLs, without trailing punctuation
    r"|<image>"
    r"|(?:(?<=^)|(?<=\n)|(?<=[ \t]))\(?[A-H][.)](?=\s|$)"  # option markers: "A." "B)" "(C)"
    r"|\d+(?:[.,:/]\d+)*",  # numbers, decimals, times, fractions
    re.DOTALL,
)

# Translators sometimes turn brackets into full-width ones or pad them with spaces.
_SENTINEL = re.compile(r"[\[【［]\s*(\d+)\s*[\]】］]")
_LETTER = re.compile(r"[^\W\d_]")


def protect(text: str) -> tuple[str, list[str]]:
    """Replace protected spans by `[i]` sentinels; returns the masked text and the spans."""
    spans: list[str] = []

    def _sub(match: re.Match) -> str:
        spans.append(match.group(0))
        return f"[{len(spans) - 1}]"

    return _PROTECT.sub(_sub, text), spans


def sentinel_ids(text: str) -> list[int]:
    """The sentinel numbers in `text`, in order of appearance (duplicates kept)."""
    return [int(m.group(1)) for m in _SENTINEL.finditer(text)]


def sentinels_intact(masked_in: str, translated: str) -> bool:
    """True when `translated` holds every sentinel of `masked_in` exactly once and no other."""
    return sorted(sentinel_ids(masked_in)) == sorted(sentinel_ids(translated))


def restore(translated: str, spans: list[str]) -> str:
    """Put the protected spans back; a sentinel number out of range raises ValueError."""
    return _SENTINEL.sub(lambda m: spans[int(m.group(1))], translated)


def has_words(masked: str) -> bool:
    """True when a masked text holds something to translate (a letter outside the sentinels)."""
    return bool(_LETTER.search(_SENTINEL.sub("", masked)))


def is_untranslatable(text: str) -> bool:
    """True for strings with nothing to translate: empty, numbers, a lone option letter, code..."""
    stripped = text.strip()
    if re.fullmatch(r"\(?[A-H][.)]?", stripped):
        return True
    return not has_words(protect(text)[0])


@dataclass(frozen=True)
class Segment:
    """One piece of a string as sent to a backend."""

    text: str
    """Masked text with sentinels renumbered from 0 (the backend input and the cache key)."""
    spans: tuple[str, ...]
    """The protected spans, indexed by the renumbered sentinels."""


Piece = str | Segment
"""A string's plan: literal text kept as is, or a Segment to translate."""


def _renumber(masked: str, spans: list[str]) -> Segment:
    local: list[str] = []

    def _sub(match: re.Match) -> str:
        local.append(spans[int(match.group(1))])
        return f"[{len(local) - 1}]"

    return Segment(_SENTINEL.sub(_sub, masked), tuple(local))


def split_sentences(line: str, enders: str = ".!?") -> list[str]:
    """Split one line after sentence-ending characters; the pieces join back to `line` exactly.

    Whitespace after a sentence end stays with the preceding sentence, so ''.join() restores it.
    """
    ends = re.escape(enders)
    pieces = re.findall(rf"[^{ends}]*(?:[{ends}]+[\"')\]»”’]*\s*|$)", line)
    return [p for p in pieces if p]


def _group(sentences: list[str], max_chars: int) -> list[str]:
    groups: list[str] = []
    for sentence in sentences:
        if groups and len(groups[-1]) + len(sentence) <= max_chars:
            groups[-1] += sentence
        else:
            groups.append(sentence)
    return groups


def plan_pieces(text: str, *, max_chars: int = 400, enders: str = ".!?") -> list[Piece]:
    """Cut `text` into literal pieces and Segments to translate.

    Lines are translated separately (the line structure of multiple-choice questions survives);
    a line longer than `max_chars` is split into sentences grouped up to `max_chars`. Leading and
    trailing whitespace and lines without words stay literal.
    """
    if re.fullmatch(r"\s*\(?[A-H][.)]?\s*", text):  # a bare option letter is an answer, not a word
        return [text]
    masked, spans = protect(text)
    pieces: list[Piece] = []
    for i, line in enumerate(masked.split("\n")):
        if i:
            pieces.append("\n")
        chunks = [line] if len(line) <= max_chars else _group(split_sentences(line, enders), max_chars)
        for chunk in chunks:
            core = chunk.strip()
            if not core or not has_words(core):
                pieces.append(restore(chunk, spans))
                continue
            start = chunk.index(core)
            lead, trail = chunk[:start], chunk[start + len(core):]
            if lead:
                pieces.append(lead)
            pieces.append(_renumber(core, spans))
            if trail:
                pieces.append(trail)
    return pieces


def assemble(pieces: list[Piece], translations: dict[str, str]) -> str:
    """Join a plan back together from `translations` (segment text -> translated masked text)."""
    out = []
    for piece in pieces:
        if isinstance(piece, Segment):
            out.append(restore(translations[piece.text], list(piece.spans)))
        else:
            out.append(piece)
    return "".join(out)
