"""Quality signals of a build's translations, per language and source (`data build --quality`).

Three signals flag a translation (English string -> its translation in `la`):

| signal | flagged when |
|--------|--------------|
| `langid` | lingua (restricted to the registry's languages) does not see `la` in a translation with at least `min_letters` letters |
| `length_ratio` | characters out / characters in, for strings of at least `min_chars` characters, falls outside the script's bounds (`LENGTH_BOUNDS`: Chinese is much shorter than English, the Latin and Cyrillic languages a little longer) |
| `chrf` | (optional, `--back-translation`) the translation translated back to English scores below `chrf_min` chrF against the original |

`summarize` counts them per language and source (a sample's `source` field, else its file's stem);
`flags` lets the build drop the samples that use a flagged translation (`--drop-flagged`).
"""

from __future__ import annotations

from dataclasses import dataclass

from lrm_llava import languages
from lrm_llava.errors import UserError

SIGNALS = ("langid", "length_ratio", "chrf")

LENGTH_BOUNDS = {"Hans": (0.12, 1.2), "Latn": (0.5, 2.5), "Cyrl": (0.5, 2.5)}
"""Plausible characters-out / characters-in per target script, for English sources."""


@dataclass
class QualitySettings:
    """Thresholds of the quality signals."""

    min_letters: int = 20
    """Language ID looks only at translations with at least this many letters (shorter ones are too short to tell)."""
    min_chars: int = 20
    """The length ratio looks only at English strings with at least this many characters."""
    chrf_min: float = 30.0
    """Back-translation chrF below this flags a translation."""


def _detector():
    try:
        import lingua
    except ImportError:
        raise UserError("the quality signals need lingua: pip install 'lrm-llava[langid]'") from None
    by_member = {getattr(lingua.Language, lang.lingua): lang.code for lang in languages.LANGUAGES.values()}
    return lingua.LanguageDetectorBuilder.from_languages(*by_member).build(), by_member


def flags(pairs: dict[str, str], la: str, back: dict[str, str] | None = None,
          settings: QualitySettings | None = None, detector=None) -> dict[str, set[str]]:
    """{English string: signals that flag its translation} for the `pairs` (English -> `la`);
    `back` maps each English string to its back-translation (for chrF)."""
    settings = settings or QualitySettings()
    la = languages.get(la).code
    det, by_member = detector or _detector()
    low, high = LENGTH_BOUNDS.get(languages.get(la).script, (0.4, 3.0))
    out: dict[str, set[str]] = {}
    chrf = None
    if back:
        from sacrebleu.metrics import CHRF

        chrf = CHRF()
    for text, translation in pairs.items():
        found: set[str] = set()
        if sum(ch.isalpha() for ch in translation) >= settings.min_letters:
            lang = det.detect_language_of(translation)
            if lang is None or by_member.get(lang) != la:
                found.add("langid")
        if len(text) >= settings.min_chars:
            ratio = len(translation) / len(text)
            if not low <= ratio <= high:
                found.add("length_ratio")
        if chrf is not None and text in back and len(text) >= settings.min_chars:
            if chrf.sentence_score(back[text], [text]).score < settings.chrf_min:
                found.add("chrf")
        out[text] = found
    return out


def summarize(flagged: dict[str, dict[str, set[str]]], sources_of: dict[str, dict[str, set[str]]],
              signals: tuple[str, ...]) -> dict:
    """Per language and source: translations checked, flagged per signal and their shares.
    `flagged`: la -> English string -> signals; `sources_of`: la -> English string -> source names."""
    out: dict[str, dict] = {}
    for la, per_text in flagged.items():
        rows: dict[str, dict] = {}
        for text, found in per_text.items():
            for source in sorted(sources_of.get(la, {}).get(text, {"-"})):
                row = rows.setdefault(source, {"translations": 0, **{s: 0 for s in signals}, "any": 0})
                row["translations"] += 1
                for s in found:
                    if s in row:
                        row[s] += 1
                row["any"] += bool(found)
        for row in rows.values():
            n = row["translations"]
            row["share"] = {s: round(row[s] / n, 4) if n else 0.0 for s in (*signals, "any")}
        out[la] = dict(sorted(rows.items()))
    return out
