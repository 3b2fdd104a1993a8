"""Translation: backends, the SQLite cache, placeholder protection, keep-English rules.

    from lrm_llava.translate import make_translator, translate_texts, TranslationCache
    tr = make_translator("table", path="translations.jsonl")   # or "pseudo", "nllb", "google", ...
    out = translate_texts(texts, src="en", tgt="de", translator=tr, cache=TranslationCache("c.sqlite"))
    out.stats.hits, out.kept_english

See docs/data.md for every backend's options and the environment variables of the paid APIs.
Every HTTP call goes through `HttpClient` (translate/http.py): JSON POST/GET with retries, no
cross-origin redirects, keys only to their own host, secrets redacted from every error.
"""

from lrm_llava.translate.backends import (
    BACKENDS,
    PAID_BACKENDS,
    PseudoTranslator,
    TableTranslator,
    load_table,
    make_translator,
)
from lrm_llava.translate.cache import TranslationCache, TranslationStats
from lrm_llava.translate.core import Translations, Translator, plan_translation, translate_texts
from lrm_llava.translate.http import HttpClient, HttpOptions
from lrm_llava.translate.protect import is_untranslatable, protect, restore, split_sentences
from lrm_llava.translate.rules import KeepEnglishRules, keep_english_reason

__all__ = [
    "BACKENDS",
    "PAID_BACKENDS",
    "HttpClient",
    "HttpOptions",
    "KeepEnglishRules",
    "PseudoTranslator",
    "TableTranslator",
    "TranslationCache",
    "TranslationStats",
    "Translations",
    "Translator",
    "is_untranslatable",
    "keep_english_reason",
    "load_table",
    "make_translator",
    "plan_translation",
    "protect",
    "restore",
    "split_sentences",
    "translate_texts",
]
