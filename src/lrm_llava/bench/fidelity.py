"""Language fidelity: the share of replies written in the language the question was asked in.

Beyond the paper: a model that answers "Yes" to a Czech question scores on MME (the parser's English
fallback) but did not answer in Czech. Each reply is classified offline:

1. A leading option-letter wrapper ("B.", "(C)") is removed; a reply that was only a letter, a
   number or punctuation carries no language and is left out of the share.
2. A reply that is one of the asked language's own yes/no words ("Ano.", "是的" starts with "是",
   "Da.") counts as that language; one that is only an English yes/no word counts as English.
   Short words are where statistical identifiers fail ("Da." is Romanian, Croatian and Russian
   transliterated), and the registry knows them exactly.
3. Anything else goes to lingua (`lingua-language-detector`, restricted to the registry's
   languages); a reply it cannot decide is left out.

    >>> fidelity(["Ano.", "Yes", "B"], "cs")["share"]
    50.0
"""

from __future__ import annotations

import re
from functools import lru_cache

from lrm_llava.bench.parse import _norm
from lrm_llava.languages import ENGLISH, LANGUAGES, get

_LETTER = re.compile(r"^\s*[\(\[]?\s*[A-Z]\s*(?:[\)\].:]\s*|\s+|$)")


@lru_cache(maxsize=1)
def _detector():
    try:
        from lingua import Language as LinguaLanguage
        from lingua import LanguageDetectorBuilder
    except ImportError:  # pragma: no cover - the dev/langid extra installs it
        return None
    langs = [getattr(LinguaLanguage, lang.lingua) for lang in LANGUAGES.values()]
    return LanguageDetectorBuilder.from_languages(*langs).build()


def available() -> bool:
    """True when lingua is installed (`pip install lrm-llava[langid]`)."""
    return _detector() is not None


def detect(output: str, asked: str) -> str | None:
    """The language code of a reply (see the module docstring), or None when it carries none."""
    text = output.strip()
    rest = _LETTER.sub("", text, count=1)
    words = re.findall(r"[^\W\d_]+", _norm(rest))
    if not words:
        return None
    if len(words) == 1:
        lang, en = get(asked), get(ENGLISH)
        own = lang.yes_words + lang.no_words
        word = words[0]
        # Chinese replies like "是的" / "没有" are one "word" that starts with a yes/no character.
        if word in own or (lang.script == "Hans" and len(word) <= 3 and word.startswith(own)):
            return asked
        if word in en.yes_words + en.no_words:
            return ENGLISH
    detector = _detector()
    found = detector.detect_language_of(rest) if detector is not None else None
    if found is None:
        return None
    return {lang.lingua: lang.code for lang in LANGUAGES.values()}.get(found.name)


def fidelity(outputs: list[str], asked: str) -> dict[str, float]:
    """{"share": % of language-bearing replies in `asked`, "n": how many replies bore a language}."""
    cache: dict[str, str | None] = {}
    hits = n = 0
    for out in outputs:
        if out not in cache:
            cache[out] = detect(out, asked)
        code = cache[out]
        if code is None:
            continue
        n += 1
        hits += code == asked
    return {"share": 100.0 * hits / n if n else float("nan"), "n": float(n)}
