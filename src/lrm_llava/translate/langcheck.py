"""Optional language check: are translations really in the target language?

Uses the offline identifier lingua-language-detector (the `langid` extra), restricted to the
registry's languages. Strings with fewer than `min_letters` letters are skipped (too short to tell).

    rates = off_language_rates({"de": ["Wie viele Katzen sind da?", ...]})   # {"de": 0.0}
"""

from __future__ import annotations

from lrm_llava import languages
from lrm_llava.errors import UserError


def _detector():
    try:
        import lingua
    except ImportError:
        raise UserError("the language check needs lingua: pip install 'lrm-llava[langid]'") from None
    members = [getattr(lingua.Language, lang.lingua) for lang in languages.LANGUAGES.values()]
    by_member = {getattr(lingua.Language, lang.lingua): lang.code for lang in languages.LANGUAGES.values()}
    return lingua.LanguageDetectorBuilder.from_languages(*members).build(), by_member


def off_language_rates(texts_by_lang: dict[str, list[str]], min_letters: int = 20) -> dict[str, dict]:
    """Per language: {"checked": n, "off": k, "rate": k / n} over strings long enough to judge."""
    detector, by_member = _detector()
    out: dict[str, dict] = {}
    for code, texts in texts_by_lang.items():
        code = languages.get(code).code
        checked = off = 0
        for text in texts:
            if sum(ch.isalpha() for ch in text) < min_letters:
                continue
            checked += 1
            found = detector.detect_language_of(text)
            if found is None or by_member.get(found) != code:
                off += 1
        out[code] = {"checked": checked, "off": off, "rate": round(off / checked, 4) if checked else 0.0}
    return out
