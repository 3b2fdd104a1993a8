"""`translate_texts`: one output per input, in order, through the cache and the protection layer.

    from lrm_llava.translate import make_translator, translate_texts, TranslationCache
    tr = make_translator("pseudo")
    out = translate_texts(["<image>\\nWhat is 2 + 2?"], src="en", tgt="de", translator=tr,
                          cache=TranslationCache("cache.sqlite"))
    out.stats.misses, out.kept_english   # counters, and indices returned in English

What happens, in order:
1. Strings are de-duplicated. Exact backends (`translator.exact`, e.g. `table`) get whole
   strings; MT backends get masked segments (`protect.plan_pieces`): sentinels for `<image>`,
   code, LaTeX, URLs, option letters, numbers; long lines split into sentences.
2. Segments already in the cache are not sent again; the rest go to the backend in
   length-sorted batches of `translator.max_batch`, and each batch is written to the cache as soon
   as it returns (a killed job loses at most one batch).
3. An output that lost a sentinel (or whose length ratio is implausible, for backends that set
   `ratio_bounds`) is not cached and is retried once; if it fails again the whole string is
   returned in English and its index is listed in `kept_english`.
A backend failure raises `TranslationError` after everything finished before it is cached.
Step 2 can run elsewhere: with `engine=` (e.g. `distributed.RayEngine`, an actor pool on Ray Data)
the same segments are translated in blocks and the same cache is written, so the result is the same.
"""

from __future__ import annotations

import time
from typing import Protocol, runtime_checkable

from tqdm.auto import tqdm

from lrm_llava import languages
from lrm_llava.errors import TranslationError
from lrm_llava.translate.cache import TranslationCache, TranslationStats
from lrm_llava.translate.protect import Segment, assemble, plan_pieces, sentinels_intact


@runtime_checkable
class Translator(Protocol):
    """What every backend offers."""

    name: str
    """Backend name ("table", "nllb", "google", ...); part of the cache key."""
    model: str
    """Model id or path ("" where none); part of the cache key."""
    exact: bool
    """True when the backend must see whole original strings (no protection, no splitting)."""
    max_batch: int
    """Most strings per `translate` call."""

    def translate(self, texts: list[str], src: str, tgt: str) -> list[str]:
        """Translate a batch; one output per input, in order; raise TranslationError on failure."""
        ...


class Translations(list):
    """A list of translated strings, plus `stats` and `kept_english` (indices left in English)."""

    stats: TranslationStats
    kept_english: list[int]


def _plans(texts: list[str], src: str, translator: Translator, max_chars: int) -> dict[str, list]:
    enders = languages.get(src).sentence_end
    plans: dict[str, list] = {}
    for text in texts:
        if text in plans:
            continue
        if translator.exact:
            plans[text] = [Segment(text, ())] if text.strip() else [text]
        else:
            plans[text] = plan_pieces(text, max_chars=max_chars, enders=enders)
    return plans


def _segments(plans: dict[str, list]) -> list[str]:
    seen: dict[str, None] = {}
    for pieces in plans.values():
        for piece in pieces:
            if isinstance(piece, Segment):
                seen.setdefault(piece.text, None)
    return list(seen)


def _cache_key(translator: Translator) -> tuple[str, str]:
    return translator.name, translator.model


def plan_translation(
    texts: list[str],
    src: str,
    tgt: str,
    translator: Translator,
    cache: TranslationCache | None = None,
    max_chars: int = 400,
) -> tuple[int, int]:
    """Dry run: (segments, characters) that `translate_texts` would send to the backend."""
    if languages.get(src).code == languages.get(tgt).code:
        return 0, 0
    todo = _segments(_plans(texts, src, translator, max_chars))
    if cache is not None and getattr(translator, "cacheable", True):
        have = cache.get_many(*_cache_key(translator), src, tgt, todo)
        todo = [t for t in todo if t not in have]
    return len(todo), sum(len(t) for t in todo)


def _valid(segment: str, output: str, translator: Translator) -> bool:
    if not isinstance(output, str) or (segment.strip() and not output.strip()):
        return False
    if translator.exact:
        return True
    if not sentinels_intact(segment, output):
        return False
    bounds = getattr(translator, "ratio_bounds", None)
    if bounds and len(segment) >= 20:
        ratio = len(output) / len(segment)
        return bounds[0] <= ratio <= bounds[1]
    return True


def translate_texts(
    texts: list[str],
    src: str,
    tgt: str,
    translator: Translator,
    cache: TranslationCache | None = None,
    progress: bool = False,
    max_chars: int = 400,
    engine=None,
) -> Translations:
    """Translate `texts` from `src` to `tgt`; returns one string per input (see module docstring).

    `engine` (optional) translates the segments the cache lacks instead of the in-process batch
    loop: `engine.run(segments, src, tgt, translator, stats, commit=...) -> (good, failed)`, with
    the same validity rules and one retry, `commit` called with each finished block (it writes the
    cache); `lrm_llava.translate.distributed.RayEngine` runs them on Ray Data."""
    src = languages.get(src).code
    tgt = languages.get(tgt).code
    stats = TranslationStats(strings=len(texts))
    result = Translations(texts)
    result.stats, result.kept_english = stats, []
    plans = _plans(texts, src, translator, max_chars)
    stats.unique = len(plans)
    if src == tgt:
        return result
    todo = _segments(plans)
    stats.segments = len(todo)
    use_cache = cache is not None and getattr(translator, "cacheable", True)
    done: dict[str, str] = cache.get_many(*_cache_key(translator), src, tgt, todo) if use_cache else {}
    stats.hits = len(done)
    todo = sorted((t for t in todo if t not in done), key=len)  # similar lengths pad less
    stats.misses = len(todo)
    failed: set[str] = set()
    if engine is not None and todo:
        good, failed = engine.run(todo, src, tgt, translator, stats,
                                  commit=(lambda g: cache.put_many(*_cache_key(translator), src, tgt, g))
                                  if use_cache else None)
        done.update(good)
        todo = []
    bar = tqdm(total=len(todo), desc=f"translate {src}->{tgt}", unit="seg", disable=not progress)
    try:
        for attempt in range(2):
            retry: list[str] = []
            for i in range(0, len(todo), max(1, translator.max_batch)):
                batch = todo[i : i + max(1, translator.max_batch)]
                outputs = _call(translator, batch, src, tgt, stats)
                good = {s: o for s, o in zip(batch, outputs) if _valid(s, o, translator)}
                bad = [s for s in batch if s not in good]
                done.update(good)
                if use_cache and good:
                    cache.put_many(*_cache_key(translator), src, tgt, good)
                if attempt == 0:
                    retry.extend(bad)
                    bar.update(len(good))
                else:
                    failed.update(bad)
                    bar.update(len(batch))
            stats.retries += len(retry) if attempt == 0 else 0
            todo = retry
            if not todo:
                break
    finally:
        bar.close()
        if cache is not None:
            cache.stats.add(stats)
    kept: set[str] = set()
    for text, pieces in plans.items():
        if any(isinstance(p, Segment) and p.text in failed for p in pieces):
            kept.add(text)
    stats.kept_english = len(kept)
    translated = {t: assemble(p, done) for t, p in plans.items() if t not in kept}
    for i, text in enumerate(texts):
        if text in kept:
            result.kept_english.append(i)
        else:
            result[i] = translated[text]
    return result


def _call(translator: Translator, batch: list[str], src: str, tgt: str, stats: TranslationStats) -> list[str]:
    start = time.perf_counter()
    try:
        outputs = translator.translate(list(batch), src, tgt)
    finally:
        stats.calls += 1
        stats.chars += sum(len(t) for t in batch)
        stats.seconds += time.perf_counter() - start
    if len(outputs) != len(batch):
        raise TranslationError(
            f"{translator.name} backend returned {len(outputs)} translations for {len(batch)} strings "
            f"({src}->{tgt}); nothing of this batch was cached, rerun to resume"
        )
    return list(outputs)
