"""The `data build` job: English LLaVA data in, multilingual MVQA / EP-VQA / BVQA data out.

    from lrm_llava.instruct import BuildConfig, build_dataset
    stats = build_dataset(BuildConfig(sources=["en.json"], out="multi.json", stage="finetune",
                                      languages="zh,de", backend="table", table="translations.jsonl"))
    stats.counts        # {"en": {"mvqa": 100}, "zh": {"mvqa": 17, "epvqa": 17, "bvqa": 16}, ...}

Steps: read and validate the sources; set aside samples that stay English (keep-English rules,
per-source overrides, text-only samples in pretraining); pick the English share; plan the
non-English samples (`mix.plan_mix`); translate, per language, every string the plan needs (through
the SQLite cache, so a rerun resumes and a finished run costs nothing); build the samples
(`tasks`); shuffle with the seed; write the JSON list and `<out stem>.stats.json` beside it.
The output is written atomically, and the same inputs, seed and cache give a byte-identical file.

`registry_prompts` (LLaVA's answer-format sentences come from the language registry, not from MT)
is on for MT and API backends, off for exact tables such as the demo's. Options that are off by
default (the demo's data does not change): `engine="ray"` (the
translations are made by a Ray Data actor pool and land in the same cache: same output), `quality`
(language ID, length ratio and optional back-translation chrF per language and source, with
`drop_flagged`). Sources in another language than English (`lang` set, e.g. GeoQA's Chinese) and
sources whose `source` has a keep-English default are used as they are, never translated.
"""

from __future__ import annotations

import math
import random
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tqdm.auto import tqdm

from lrm_llava import languages
from lrm_llava.chat.templates import STAGE_NAMES
from lrm_llava.errors import UserError
from lrm_llava.instruct.mix import plan_mix
from lrm_llava.instruct.sources import Source, english_conversations, load_sources
from lrm_llava.instruct.tasks import (
    TASKS,
    build_conversations,
    languages_of,
    split_answer_format,
    texts_needed,
    with_answer_format,
)
from lrm_llava.jsonio import write_json, write_json_list
from lrm_llava.paths import check_output_apart, confined
from lrm_llava.translate import (
    PAID_BACKENDS,
    KeepEnglishRules,
    TranslationCache,
    TranslationStats,
    keep_english_reason,
    make_translator,
    plan_translation,
    translate_texts,
)
from lrm_llava.translate.flags import backend_options

MAX_MIX = 100.0
"""Largest non-English ratio `--mix` accepts: far above any useful value, low enough that a typo
(1e7) is refused before it plans billions of samples."""

STAGE_TASKS = {"pretrain": ("mvqa",), "finetune": TASKS}
"""Tasks each stage allows (and uses by default): the paper uses only MVQA in pretraining."""

DEFAULT_PRICES = {"google": 20.0, "deepl": 25.0, "openai": 10.0}
"""US dollars per million characters sent (list prices at the time of writing: check yours)."""


@dataclass
class BuildConfig:
    """Everything the `data build` job needs."""

    sources: list[str]
    """English LLaVA-format files (JSON list or JSONL)."""
    out: str
    """Output JSON file; the stats go to `<stem>.stats.json` beside it."""
    stage: str = "finetune"
    """"pretrain" (captions -> MVQA with localized describe prompts) or "finetune" (all three tasks)."""
    languages: str | list[str] = "non-english"
    """Target languages: "non-english", "zh,it,..." or a list; English is always the source."""
    backend: str = "pseudo"
    """Translation backend (see `lrm_llava.translate.BACKENDS`)."""
    table: str | None = None
    """Translation table for the `table` backend."""
    model: str | None = None
    """Model folder (nllb, m2m100, marian, ct2) or model name (openai)."""
    base_url: str | None = None
    """API root for the HTTP backends (e.g. a local OpenAI-compatible server)."""
    backend_options: dict = field(default_factory=dict)
    """Further `make_translator` options (timeout, retries, backoff, batch_size, device, ...)."""
    ratio: float = 1.0
    """Non-English samples = ratio x English samples, split evenly over the languages (paper: 1.0)."""
    english_share: float = 1.0
    """Share of the (valid) English source samples kept as English samples."""
    tasks: list[str] | None = None
    """Tasks to build for non-English samples; None = the stage's default; [] = English only."""
    task_weights: dict[str, float] = field(default_factory=dict)
    """Relative task proportions (default equal), e.g. {"mvqa": 2, "epvqa": 1, "bvqa": 1}."""
    cache: str | None = None
    """SQLite translation cache; default `<out stem>.translations.sqlite` beside the output."""
    dry_run: bool = False
    """Only count what would be translated (and what it would cost); write nothing."""
    seed: int = 0
    """Seed of every random choice (sample draws, tasks, prompts, final order)."""
    image_root: str | None = None
    """If given, samples whose image is missing under it are dropped (and counted)."""
    keep_english: KeepEnglishRules = field(default_factory=KeepEnglishRules)
    """Which samples stay English (math, code, ...), with per-source overrides."""
    check_language: bool = False
    """Run the lingua language check on the translations and report off-language rates."""
    prices: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_PRICES))
    """Dry-run cost: US dollars per million characters, per paid backend."""
    rate: float | None = None
    """Dry run: segments per second of one worker, measured on your hardware (benchmarks/mt_rate.py
    for a local MT model); the dry run then states the wall time on the engine's workers."""
    max_segment_chars: int = 400
    """Lines longer than this are split into sentences before MT."""
    progress: bool = True
    """Show progress bars."""
    registry_prompts: bool | None = None
    """LLaVA's answer-format sentences ("Answer the question using a single word or phrase.", ...) come
    from the language registry, the benchmarks' wording, instead of MT; EP-VQA's English question
    leaves them out. Unset (default): on for MT and API backends, off for exact tables (their
    entries hold the wording their author chose)."""
    engine: str = "local"
    """Where translations are made: "local" (in-process batches) or "ray" (a Ray Data actor pool; same output)."""
    address: str | None = None
    """Ray cluster address for engine "ray" ("auto" on a node of a running cluster); default: a local Ray."""
    engine_options: dict = field(default_factory=dict)
    """Ray engine options: workers (2), block_size (256), cpus_per_worker, gpus_per_worker, num_cpus."""
    quality: bool = False
    """Compute quality signals (language ID, length ratio) per language and source into the stats."""
    back_translation: bool = False
    """With quality: also translate the translations back to English and flag low chrF (costs a second pass)."""
    drop_flagged: bool = False
    """Drop the planned samples that use a translation flagged by a quality signal (implies quality)."""


@dataclass
class BuildStats:
    """What a build produced (also written as `<out stem>.stats.json`)."""

    out: str = ""
    stats_path: str = ""
    total: int = 0
    """Samples written."""
    counts: dict = field(default_factory=dict)
    """lang -> task -> samples; BVQA counts under its non-English side."""
    kept_english: dict = field(default_factory=dict)
    """Source samples kept English by rule, per reason (code, latex, equation, math, ...)."""
    kept_english_failed: int = 0
    """Planned non-English samples left in English because a translation failed twice."""
    dropped: dict = field(default_factory=dict)
    """Source samples left out, per reason (missing image)."""
    translation: dict = field(default_factory=dict)
    """Translation counters over the whole build (hits, misses, chars, calls, seconds, hit_rate)."""
    off_language: dict = field(default_factory=dict)
    """Language check per language (with --check-language)."""
    dry_run: dict = field(default_factory=dict)
    """Per language: strings and characters still to translate (dry run only)."""
    cost_usd: dict = field(default_factory=dict)
    """Dry run: estimated cost per paid backend for the characters above."""
    wall_time: dict = field(default_factory=dict)
    """Dry run with `rate`: {"segments", "rate", "workers", "hours"}, hours = segments / (rate x workers)."""
    quality: dict = field(default_factory=dict)
    """Quality signals per language and source (with `quality`)."""
    engine: dict = field(default_factory=dict)
    """What the Ray engine did (blocks, segments, workers, wall seconds), with engine "ray"."""

    def as_dict(self) -> dict:
        out = asdict(self)
        for optional in ("quality", "engine"):  # absent unless used: the stats of a plain build keep their shape
            if not out[optional]:
                del out[optional]
        return out


def _resolve_tasks(cfg: BuildConfig) -> dict[str, float]:
    if cfg.stage not in STAGE_NAMES:
        raise UserError(f"unknown stage {cfg.stage!r}; use {' or '.join(STAGE_NAMES)}")
    allowed = STAGE_TASKS[cfg.stage]
    tasks = list(allowed if cfg.tasks is None else cfg.tasks)
    for task in tasks:
        if task not in TASKS:
            raise UserError(f"unknown task {task!r}; use {', '.join(TASKS)} (or 'none')")
        if task not in allowed:
            raise UserError(f"task {task!r} is not used in stage {cfg.stage!r} (it allows {', '.join(allowed)})")
    for task in cfg.task_weights:
        if task not in TASKS:
            raise UserError(f"unknown task {task!r} in task weights; use {', '.join(TASKS)}")
    weights = {t: float(cfg.task_weights.get(t, 1.0)) for t in tasks}
    if any(w < 0 for w in weights.values()):
        raise UserError("task weights must be non-negative")
    if cfg.stage == "pretrain" and "mvqa" in weights:
        weights = {"mvqa_caption": weights["mvqa"]}
    return weights


def _target_languages(spec) -> list[str]:
    return [c for c in languages.parse_languages(spec) if c != languages.ENGLISH]


def _image_missing(src: Source, root: str | None) -> bool:
    if root is None or not src.has_image:
        return False
    return not confined(root, src.fields["image"], where=src.where).is_file()


def _source_name(src: Source) -> str:
    """The sample's `source` (as `data import` writes it), else its file's stem."""
    name = src.fields.get("source")
    return str(name) if isinstance(name, str) and name.strip() else Path(src.origin).stem


def _own_language(src: Source) -> tuple[str, str]:
    """(lang, answer_lang) of a sample used as it is: English unless the source says otherwise."""
    def code(value, default: str) -> str:
        if not isinstance(value, str) or not value.strip():
            return default
        return languages.LANGUAGES[value].code if value in languages.LANGUAGES else value.strip()

    lang = code(src.fields.get("lang"), languages.ENGLISH)
    return lang, code(src.fields.get("answer_lang"), lang)


def _record(src: Source, sample_id: str, conversations: list[dict], lang: str, answer_lang: str, task: str) -> dict:
    rec = {"id": sample_id}
    rec.update({k: v for k, v in src.fields.items() if k not in ("id", "lang", "answer_lang", "task", "source_id")})
    rec["conversations"] = conversations
    rec.update(lang=lang, answer_lang=answer_lang, task=task, source_id=src.source_id)
    return rec


def _backend_options(cfg: BuildConfig) -> dict:
    return backend_options(cfg.backend, cfg.backend_options, cfg.table, cfg.model, cfg.base_url)


def _make_translator(cfg: BuildConfig):
    return make_translator(cfg.backend, **_backend_options(cfg))


def _quality(cfg: BuildConfig, stats: BuildStats, langs: list[str], needed, translations, failed, sources_of,
             translator, cache, engine) -> dict[str, set[str]]:
    """Flag translations (language ID, length ratio, optional back-translation chrF); fill `stats.quality`;
    return la -> the English strings whose translation is flagged."""
    from lrm_llava.instruct.quality import SIGNALS, QualitySettings, _detector, flags, summarize

    settings = QualitySettings()
    detector = _detector()
    signals = SIGNALS if cfg.back_translation else SIGNALS[:2]
    per_lang: dict[str, dict[str, set[str]]] = {}
    for la in langs:
        pairs = {t: translations[la][t] for t in needed[la] if t not in failed[la] and t in translations[la]}
        back = None
        if cfg.back_translation and pairs:
            outs = list(pairs.values())
            result = translate_texts(outs, la, "en", translator, cache, progress=cfg.progress,
                                     max_chars=cfg.max_segment_chars, engine=engine)
            back = {t: b for t, b, i in zip(pairs, result, range(len(outs))) if i not in set(result.kept_english)}
        per_lang[la] = flags(pairs, la, back, settings, detector)
    stats.quality = {
        "signals": list(signals),
        "thresholds": {"min_letters": settings.min_letters, "min_chars": settings.min_chars,
                       **({"chrf_min": settings.chrf_min} if cfg.back_translation else {})},
        "by_language": summarize(per_lang, sources_of, signals),
        "drop_flagged": cfg.drop_flagged,
    }
    return {la: {t for t, found in per_lang[la].items() if found} for la in langs}


def build_dataset(cfg: BuildConfig) -> BuildStats:
    """Run the build described by `cfg` (see the module docstring); returns its stats."""
    weights = _resolve_tasks(cfg)
    langs = _target_languages(cfg.languages)
    if not (math.isfinite(cfg.ratio) and 0 <= cfg.ratio <= MAX_MIX):
        raise UserError(f"--mix {cfg.ratio}: the non-English ratio must be a number from 0 to {MAX_MIX:g} "
                        "(the paper uses 0.4 to 1.5)")
    if not (math.isfinite(cfg.english_share) and 0 <= cfg.english_share <= 1):
        raise UserError(f"english_share {cfg.english_share}: must be between 0 and 1")
    if not cfg.sources:
        raise UserError("no source given: pass --source en.json (repeatable)")
    out = Path(cfg.out)
    stats = BuildStats(out=str(out), stats_path=str(out.with_name(out.stem + ".stats.json")))
    inputs = [*cfg.sources, *([cfg.table] if cfg.table else [])]
    check_output_apart(out, inputs, "--out")
    check_output_apart(stats.stats_path, inputs, "--out (its stats file)")

    sources = load_sources(cfg.sources, cfg.image_root)
    if not sources:
        raise UserError(f"the sources hold no sample ({', '.join(map(str, cfg.sources))}); "
                        "nothing to build. Fix: check the --source files.")
    valid: list[int] = []
    pool: list[int] = []
    # images and keep-English rules: minutes for a source of LLaVA-665k's size, worth a bar
    checking = tqdm(enumerate(sources), total=len(sources), desc="checking samples", unit="sample",
                    disable=not cfg.progress or len(sources) < 10_000, mininterval=1.0)
    for i, src in checking:
        if _image_missing(src, cfg.image_root):
            stats.dropped["missing image"] = stats.dropped.get("missing image", 0) + 1
            continue
        valid.append(i)
        name = src.fields.get("source") if isinstance(src.fields.get("source"), str) else None
        mode = cfg.keep_english.mode_for(src.origin, name)
        if _own_language(src)[0] != languages.ENGLISH:
            reason = "not English (used as it is)"
        elif mode == "english":
            explicit = any(k in cfg.keep_english.source_modes
                           for k in (src.origin, Path(src.origin).name, Path(src.origin).stem, name))
            reason = "source override" if explicit else f"source default ({(name or Path(src.origin).stem).lower()})"
        elif mode == "translate":
            reason = None
        else:
            reason = keep_english_reason([t for _, t in src.turns], cfg.keep_english)
        if reason is None and cfg.stage == "pretrain" and not src.has_image:
            reason = "text-only (pretrain)"
        if reason:
            stats.kept_english[reason] = stats.kept_english.get(reason, 0) + 1
        else:
            pool.append(i)

    rng = random.Random(cfg.seed)
    n_english = round(cfg.english_share * len(valid))
    english = sorted(rng.sample(valid, n_english)) if n_english < len(valid) else valid
    plan = plan_mix(len(english), pool, langs, cfg.ratio if weights else 0.0, weights, cfg.seed)
    if plan == [] and langs and weights and cfg.ratio > 0 and english and not pool:
        raise UserError("no source sample can be translated (all are kept English or dropped); "
                        "check the keep-English rules or the per-source overrides")

    translator = _make_translator(cfg) if plan else None  # every planned sample needs a translation
    # With registry prompts, a question that ends with LLaVA's answer-format sentence is translated
    # without it, and the sentence of the target language comes from the registry. Exact backends
    # (reference tables) keep receiving whole original strings: their entries already hold the
    # wording their author chose.
    formats: dict[str, tuple[str, str, str]] = {}
    machine_translated = translator is not None and not translator.exact
    registry_prompts = machine_translated if cfg.registry_prompts is None else cfg.registry_prompts
    split_prompts = registry_prompts and machine_translated

    def sent(text: str) -> str:
        if not split_prompts:
            return text
        if text not in formats:
            core, attr, sep = split_answer_format(text)
            formats[text] = (core, attr, sep) if attr else (text, "", "")
        return formats[text][0]

    needed: dict[str, dict[str, None]] = {la: {} for la in langs}
    sources_of: dict[str, dict[str, set[str]]] = {la: {} for la in langs}
    for a in plan:
        name = _source_name(sources[a.index])
        for text in texts_needed(a.task, sources[a.index].turns, a.variant):
            segment = sent(text)
            needed[a.lang].setdefault(segment, None)
            sources_of[a.lang].setdefault(segment, set()).add(name)

    cache_path = cfg.cache or str(out.with_name(out.stem + ".translations.sqlite"))
    total = TranslationStats()
    if cfg.dry_run:
        cache = TranslationCache(cache_path) if Path(cache_path).exists() else None
        for la in langs:
            n, chars = plan_translation(list(needed[la]), "en", la, translator, cache, cfg.max_segment_chars) \
                if translator and needed[la] else (0, 0)
            stats.dry_run[la] = {"strings": n, "chars": chars}
        all_chars = sum(v["chars"] for v in stats.dry_run.values())
        stats.cost_usd = {b: round(all_chars * cfg.prices.get(b, 0.0) / 1e6, 2) for b in PAID_BACKENDS}
        if cfg.rate:
            workers = int(cfg.engine_options.get("workers", 2)) if cfg.engine == "ray" else 1
            segments = sum(v["strings"] for v in stats.dry_run.values())
            stats.wall_time = {"segments": segments, "rate": cfg.rate, "workers": workers,
                               "hours": round(segments / (cfg.rate * workers) / 3600, 3)}
        _count_plan(stats, english, sources, plan)
        return stats

    translations: dict[str, dict[str, str]] = {}
    failed: dict[str, set[str]] = {}
    engine = None
    if translator is not None:
        from lrm_llava.translate.distributed import make_engine

        engine = make_engine(cfg.engine, cfg.backend, _backend_options(cfg), address=cfg.address,
                             engine_options=cfg.engine_options, progress=cfg.progress)
    elif cfg.engine not in ("local", "ray"):
        raise UserError(f"unknown engine {cfg.engine!r}; use local or ray")
    try:
        with TranslationCache(cache_path) as cache:
            if engine is not None:  # every language in one Ray job, committed to the cache block by block
                engine.prefill({la: list(needed[la]) for la in langs}, "en", translator, cache, cfg.max_segment_chars)
            for la in tqdm(langs, desc="languages", unit="lang", disable=not cfg.progress or len(langs) < 2):
                texts = list(needed[la])
                if not texts:
                    translations[la], failed[la] = {}, set()
                    continue
                result = translate_texts(texts, "en", la, translator, cache, progress=cfg.progress,
                                         max_chars=cfg.max_segment_chars, engine=engine)
                total.add(result.stats)
                translations[la] = dict(zip(texts, result))
                failed[la] = {texts[i] for i in result.kept_english}
            if engine is not None:
                engine.account(total)
                stats.engine = {"name": "ray", "address": cfg.address or "local", "workers": engine.workers,
                                "block_size": engine.block_size,
                                **{k: round(v, 3) if isinstance(v, float) else v
                                   for k, v in engine.counters.items() if k != "cached"}}
            if cfg.quality or cfg.drop_flagged or cfg.back_translation:
                flagged_texts = _quality(cfg, stats, langs, needed, translations, failed, sources_of,
                                         translator, cache, engine)
            else:
                flagged_texts = {}
    finally:
        if engine is not None:
            engine.close()
    for text, (core, attr, sep) in formats.items():  # the registry's sentence after the translated question
        if not attr:
            continue
        for la in langs:
            if core in translations[la]:
                translations[la][text] = with_answer_format(translations[la][core], attr, sep, la)
            if core in failed[la]:
                failed[la].add(text)
            if core in flagged_texts.get(la, ()):
                flagged_texts[la].add(text)
    stats.translation = total.as_dict()

    samples = [
        _record(sources[i], sources[i].source_id, english_conversations(sources[i]), *_own_language(sources[i]),
                "mvqa")
        for i in english
    ]
    counts = _english_counts(english, sources)
    for a in plan:
        src = sources[a.index]
        task = "mvqa" if a.task == "mvqa_caption" else a.task
        suffix = f"-{a.copy}" if a.copy else ""
        sample_id = f"{src.source_id}-{a.lang}-{task}{a.variant and '-' + a.variant}{suffix}"
        if cfg.drop_flagged and any(t in flagged_texts.get(a.lang, ()) for t in texts_needed(a.task, src.turns, a.variant)):
            stats.dropped["flagged translation"] = stats.dropped.get("flagged translation", 0) + 1
            continue
        if any(t in failed[a.lang] for t in texts_needed(a.task, src.turns, a.variant)):
            stats.kept_english_failed += 1
            samples.append(_record(src, sample_id, english_conversations(src), "en", "en", "mvqa"))
            counts.setdefault("en", {}).setdefault("mvqa", 0)
            counts["en"]["mvqa"] += 1
            continue
        prompt_rng = random.Random(f"{cfg.seed}:{sample_id}")
        conv = build_conversations(a.task, src.turns, a.lang, translations[a.lang], src.has_image, a.variant,
                                   prompt_rng, registry_prompts=registry_prompts)
        lang, answer_lang = languages_of(task, a.lang, a.variant)
        samples.append(_record(src, sample_id, conv, lang, answer_lang, task))
        counts.setdefault(a.lang, {}).setdefault(task, 0)
        counts[a.lang][task] += 1
    random.Random(f"{cfg.seed}:order").shuffle(samples)
    stats.counts, stats.total = counts, len(samples)

    if cfg.check_language:
        from lrm_llava.translate.langcheck import off_language_rates

        stats.off_language = off_language_rates(
            {la: [translations[la][t] for t in needed[la] if t not in failed[la]] for la in langs}
        )
    write_json_list(out, samples)
    write_json(stats.stats_path, stats.as_dict(), indent=2)
    return stats


def _english_counts(english: list[int], sources: list[Source]) -> dict[str, dict[str, int]]:
    """The kept-as-is samples per language: English, or a source's own language (GeoQA's Chinese)."""
    counts: dict[str, dict[str, int]] = {}
    for i in english:
        lang = _own_language(sources[i])[0]
        counts.setdefault(lang, {}).setdefault("mvqa", 0)
        counts[lang]["mvqa"] += 1
    return counts


def _count_plan(stats: BuildStats, english: list[int], sources: list[Source], plan) -> None:
    counts = _english_counts(english, sources)
    for a in plan:
        task = "mvqa" if a.task == "mvqa_caption" else a.task
        counts.setdefault(a.lang, {}).setdefault(task, 0)
        counts[a.lang][task] += 1
    stats.counts = counts
    stats.total = sum(sum(v.values()) for v in counts.values())
