"""The `eval` job: load benchmarks, prompt the model in batches, append predictions, score, report.

    lrm-llava eval --model runs/model --bench-root bench --benchmarks mme,pope,mmbench,seed \\
        --languages all --out runs/eval [--batch-size 16] [--limit 50] [--model-name NAME]
    lrm-llava eval --predictions runs/eval/predictions/*.jsonl --out runs/rescored

From Python:

    from lrm_llava.bench import EvalConfig, run_eval, write_report
    rows_a = run_eval(EvalConfig(model="runs/a", bench_root="bench", out="runs/eval-a"))
    rows_b = run_eval(EvalConfig(model="runs/b", bench_root="bench", out="runs/eval-b"))
    write_report(rows_a + rows_b, "runs/compare")

Predictions go to `<out>/predictions/<benchmark>.jsonl`, one self-contained row per question, appended
and flushed after every batch: a killed run keeps every finished batch, and the same command
resumes with the questions not yet answered (a half-written last line is dropped). Generation is
greedy (`lrm_llava.infer.generate_batch`).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tqdm.auto import tqdm

from lrm_llava.bench.common import BENCHMARKS, Item, benchmark_dir, english_dir, load_image
from lrm_llava.bench.formats import MODULES
from lrm_llava.bench.formats import load as load_document
from lrm_llava.bench.parse import parse_output
from lrm_llava.bench.prompts import build_prompt
from lrm_llava.bench.report import write_report
from lrm_llava.bench.scoring import score_predictions
from lrm_llava.errors import DataError, UserError, describe_changes
from lrm_llava.jsonio import iter_jsonl, read_json, write_json
from lrm_llava.languages import parse_languages

SETTINGS_FILE = "settings.json"
"""Beside the predictions: the generation settings they were made with (`generation_settings`)."""

PREDICTION_FIELDS = ("model", "question_id", "benchmark", "split", "language", "prompt", "output", "parsed",
                     "answer", "category", "group", "options")


@dataclass
class EvalConfig:
    """Everything one `eval` run needs."""

    out: str | Path = "runs/eval"
    """Output folder: predictions/, results.json, results.csv, report.md, chart PNGs."""
    model: str | Path | None = None
    """Hugging Face Llava model folder (not needed with `predictions`)."""
    bench_root: str | Path | None = None
    """Folder holding `<benchmark>/<language>/` in native formats."""
    benchmarks: str | list[str] | tuple[str, ...] = BENCHMARKS
    """Benchmarks to run: names or a comma-separated string ("mme,pope")."""
    languages: str | list[str] = "all"
    """Languages: "all", "non-english", "zh,it" or a list. With a keyword, languages missing from a
    benchmark's folder are skipped; an explicitly named missing language is an error."""
    batch_size: int = 16
    """Questions per generation batch (and per flush of the predictions file)."""
    limit: int | None = None
    """If set, only the first N questions of each benchmark × language × split (whole MME image
    pairs and MMBench rotation groups kept) — for smoke tests."""
    model_name: str | None = None
    """Name in predictions and reports; default: the model folder's name."""
    template: str | None = None
    """Conversation template passed to generation; None: the one the model was trained with
    (`recipe.yaml` in its folder), else LLaVA-1.5's vicuna_v1."""
    max_new_tokens: int = 16
    """Generation length; answers are a word or a letter."""
    predictions: list[str | Path] = field(default_factory=list)
    """Rescore these prediction JSONL files instead of running a model."""
    fidelity: bool = True
    """Measure language fidelity (needs lingua)."""
    progress: bool = True
    """Show a tqdm progress bar."""
    device: str | None = None
    """"cpu", "cuda", "cuda:1" ...; None: a GPU when there is one."""
    dtype: str | None = None
    """"float32", "bfloat16" or "float16"; None or "auto": bfloat16 on a GPU that supports it, else float32.
    float32 on a GPU reproduces CPU answers of a model trained in float32."""


def check_eval_config(config: EvalConfig) -> None:
    """Refuse numbers that would silently do something else than asked."""
    if config.limit is not None and config.limit < 1:
        raise UserError(f"--limit {config.limit}: give at least 1 (questions per benchmark, language and "
                        "split), or leave it out to evaluate everything")
    if config.batch_size < 1:
        raise UserError(f"--batch-size {config.batch_size}: must be at least 1")
    if config.max_new_tokens < 1:
        raise UserError(f"--max-new-tokens {config.max_new_tokens}: must be at least 1 (answers are a word or "
                        "a letter; 16 is plenty)")


def parse_benchmarks(spec: str | list[str] | tuple[str, ...]) -> list[str]:
    """Validate benchmark names ("all" = the four)."""
    items = spec.replace(" ", ",").split(",") if isinstance(spec, str) else list(spec)
    items = [s.strip().lower() for s in items if s and s.strip()]
    if items == ["all"]:
        return list(BENCHMARKS)
    bad = [b for b in items if b not in BENCHMARKS]
    if bad or not items:
        raise UserError(f"unknown benchmark(s) {', '.join(bad) or '(none)'}; choose from {', '.join(BENCHMARKS)}")
    return list(dict.fromkeys(items))


def load_items(bench_root: str | Path, benchmark: str, language: str) -> list[Item]:
    """All items of `<bench_root>/<benchmark>/<language>/` (images shared from `en`)."""
    module = MODULES[benchmark]
    lang_dir = benchmark_dir(Path(bench_root), benchmark, language)
    en_dir = english_dir(Path(bench_root), benchmark)
    return module.items(load_document(benchmark, lang_dir), language, lang_dir, en_dir if en_dir.is_dir() else None)


def apply_limit(items: list[Item], limit: int | None) -> list[Item]:
    """The first `limit` items per split, completed to whole groups (MME pairs, MMBench rotations)."""
    if not limit:
        return items
    order: dict[tuple, list[Item]] = {}
    for it in items:
        order.setdefault((it.split, it.group if it.group is not None else ("q", it.question_id)), []).append(it)
    taken: dict[str | None, int] = {}
    keep: list[Item] = []
    for (split, _), members in order.items():
        if taken.get(split, 0) >= limit:
            continue
        taken[split] = taken.get(split, 0) + len(members)
        keep += members
    return keep


def _selection(config: EvalConfig) -> list[tuple[str, str]]:
    root = Path(config.bench_root)
    if not root.is_dir():
        raise UserError(f"{root}: benchmark root not found (expected <root>/<benchmark>/<language>/)")
    keyword = isinstance(config.languages, str) and config.languages.strip().lower() in (
        "all", "non-english", "non_english", "xx")
    langs = parse_languages(config.languages)
    pairs = []
    for bench in parse_benchmarks(config.benchmarks):
        for lang in langs:
            if benchmark_dir(root, bench, lang).is_dir():
                pairs.append((bench, lang))
            elif not keyword:
                raise UserError(f"{benchmark_dir(root, bench, lang)}: not found; translate it first "
                                f"(lrm-llava bench translate --benchmark {bench} --languages {lang}) "
                                "or drop the language")
    if not pairs:
        raise UserError(f"{root}: none of the requested benchmarks/languages exist there")
    return pairs


def _repair_tail(path: Path) -> None:
    # A run killed mid-write leaves a partial last line; cut it so appends start on a fresh line.
    if not path.is_file():
        return
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        cut = data.rfind(b"\n") + 1
        with open(path, "r+b") as fh:
            fh.truncate(cut)


_REQUIRED_FIELDS = {"question_id": (str, int), "benchmark": (str,), "language": (str,), "output": (str,),
                   "answer": (str,)}
"""Fields every prediction row must have, with the JSON types they may take."""


def _check_row(row: dict, where: str) -> None:
    missing = [k for k in _REQUIRED_FIELDS if k not in row]
    if missing:
        raise DataError(f"{where}: prediction row lacks {', '.join(missing)}. Fix: rows are written by "
                        "`lrm-llava eval`; repair or remove the line.")
    for key, types in _REQUIRED_FIELDS.items():
        if not isinstance(row[key], types) or isinstance(row[key], bool):
            raise DataError(f"{where}: {key} is {type(row[key]).__name__} {row[key]!r}, expected "
                            f"{' or '.join(t.__name__ for t in types)}. Fix: repair or remove the line.")
    if row["benchmark"] not in BENCHMARKS:
        raise DataError(f"{where}: unknown benchmark {row['benchmark']!r}; expected one of {', '.join(BENCHMARKS)}")


def read_predictions(paths: list[str | Path], benchmark: str | None = None) -> list[dict]:
    """Prediction rows from JSONL files (a truncated last line from a killed run is ignored).

    Each question counts once: the same file given twice is refused, a row repeated with the same
    output is read once, and two rows for one question (ids compared as text, so 1 and "1" are one
    question) with different outputs are an error naming both lines. With `benchmark`, every row
    must belong to it (a predictions file of another benchmark is never appended to)."""
    rows: dict[tuple, dict] = {}
    where_of: dict[tuple, str] = {}
    seen_files: dict[Path, str] = {}
    for path in paths:
        path = Path(path)
        if not path.is_file():
            raise UserError(f"{path}: predictions file not found")
        real = path.resolve()
        if real in seen_files:
            raise UserError(f"{path}: given twice (also as {seen_files[real]}); each predictions file counts once")
        seen_files[real] = str(path)
        for lineno, row in iter_jsonl(path, allow_torn_tail=True, what="predictions file"):
            where = f"{path}:{lineno}"
            _check_row(row, where)
            if benchmark is not None and row["benchmark"] != benchmark:
                raise UserError(f"{where}: a {row['benchmark']} prediction in the {benchmark} predictions file. "
                                "Fix: use another --out folder, or remove the file.")
            key = (row.get("model"), *_key(row))
            if key in rows:
                if rows[key].get("output") != row["output"]:
                    raise DataError(f"{where}: question {row['question_id']!r} ({row['benchmark']}, "
                                    f"{row['language']}) was already answered differently at {where_of[key]}. "
                                    "Fix: keep one prediction per question (remove one of the lines or files).")
                continue
            rows[key], where_of[key] = row, where
    return list(rows.values())


def _key(row: dict) -> tuple:
    return (row["benchmark"], row["language"], row.get("split"), str(row["question_id"]))


def generation_settings(config: EvalConfig, name: str, template: str) -> dict:
    """What makes a prediction: a resumed run only reuses rows made with equal settings."""
    return {"model_name": name, "template": template, "max_new_tokens": config.max_new_tokens,
            "dtype": config.dtype or "auto"}


def check_settings(path: Path, settings: dict) -> None:
    """Record `settings` in `path` (a run's settings file), or refuse when it records others."""
    if path.is_file():
        made = read_json(path, "settings file")
        changed = describe_changes(made, settings) if isinstance(made, dict) else "unreadable"
        if changed:
            raise UserError(f"{path.parent} holds predictions made with other settings ({changed}); a resumed "
                            "run would mix them. Fix: use another --out folder, or remove it to start over.")
        return
    write_json(path, settings)


def prediction_row(item: Item, model_name: str, prompt: str, output: str) -> dict:
    """One self-contained prediction row (everything needed to rescore it without the benchmark)."""
    return {
        "model": model_name, "question_id": item.question_id, "benchmark": item.benchmark,
        "split": item.split, "language": item.language, "prompt": prompt, "output": output,
        "parsed": parse_output(item.benchmark, output, item.language, item.options), "answer": item.answer,
        "category": item.category, "group": item.group, "options": item.options or None,
    }


def rescore(config: EvalConfig) -> list[dict]:
    """Score existing prediction files (no model); filtered by config.benchmarks/languages when
    they are not "all"."""
    rows = read_predictions(list(config.predictions))
    if not rows:
        raise UserError("the predictions files hold no rows")
    benches = set(parse_benchmarks(config.benchmarks))
    langs = set(parse_languages(config.languages))
    if config.model_name:
        rows = [{**r, "model": config.model_name} for r in rows]
    rows = [r for r in rows if r["benchmark"] in benches and r["language"] in langs]
    results = score_predictions(rows, with_fidelity=config.fidelity)
    write_report(results, config.out)
    return results


def run_eval(
    config: EvalConfig,
    *,
    model=None,
    processor=None,
    on_batch: Callable[[int, list[dict]], None] | None = None,
) -> list[dict]:
    """Run (or resume) an evaluation and write predictions, results and the report under `config.out`.

    `model`/`processor` may be passed already loaded (else loaded from `config.model`). `on_batch`
    is called after each batch is flushed with (batches done so far, its rows); raising from it
    stops the run the way a kill would (finished batches stay on disk). Returns the result rows.
    """
    check_eval_config(config)
    if config.predictions:
        return rescore(config)
    if config.bench_root is None or (config.model is None and model is None):
        raise UserError("eval needs --model and --bench-root (or --predictions FILE to rescore)")
    name = config.model_name or (Path(config.model).name if config.model else "model")
    out = Path(config.out)
    pred_dir = out / "predictions"
    pred_dir.mkdir(parents=True, exist_ok=True)

    work: list[tuple[str, str, list[Item]]] = []
    for bench, lang in _selection(config):
        work.append((bench, lang, apply_limit(load_items(config.bench_root, bench, lang), config.limit)))

    from lrm_llava.infer.generate import DEFAULT_TEMPLATE, trained_template

    template = trained_template(config.model, config.template) if config.model else \
        (config.template or DEFAULT_TEMPLATE)
    check_settings(pred_dir / SETTINGS_FILE, generation_settings(config, name, template))
    done: dict[str, dict[tuple, dict]] = {}
    for bench in dict.fromkeys(b for b, _, _ in work):
        path = pred_dir / f"{bench}.jsonl"
        _repair_tail(path)
        rows = read_predictions([path], benchmark=bench) if path.is_file() else []
        others = {r.get("model") for r in rows} - {name}
        if others:
            raise UserError(f"{path} holds predictions of model {sorted(map(str, others))[0]!r}, not {name!r}; "
                            "use another --out folder (or the same --model-name) to keep runs apart")
        done[bench] = {_key(r): r for r in rows}

    todo = [(b, lang, [it for it in items if it.key not in done[b]]) for b, lang, items in work]
    total = sum(len(t) for _, _, t in todo)
    if total:
        if model is None:
            from lrm_llava.infer import load_model

            model, processor = load_model(config.model, device=config.device, dtype=config.dtype)
        from lrm_llava.infer import generate_batch

        bar = tqdm(total=total, desc=f"eval {name}", unit="q", disable=not config.progress, file=sys.stderr)
        batches = 0
        try:
            for bench, lang, items in todo:
                if not items:
                    continue
                bar.set_postfix_str(f"{bench}/{lang}")
                with open(pred_dir / f"{bench}.jsonl", "a", encoding="utf-8") as fh:
                    for i in range(0, len(items), config.batch_size):
                        batch = items[i : i + config.batch_size]
                        prompts = [build_prompt(it) for it in batch]
                        outputs = generate_batch(
                            model, processor, [load_image(it) for it in batch], prompts,
                            template=template, max_new_tokens=config.max_new_tokens,
                            batch_size=config.batch_size,
                        )
                        rows = [prediction_row(it, name, p, o) for it, p, o in zip(batch, prompts, outputs)]
                        fh.write("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
                        fh.flush()
                        os.fsync(fh.fileno())
                        for r in rows:
                            done[bench][_key(r)] = r
                        bar.update(len(batch))
                        batches += 1
                        if on_batch is not None:
                            on_batch(batches, rows)
        finally:
            bar.close()

    selected = [done[b][it.key] for b, _, items in work for it in items]
    results = score_predictions(selected, with_fidelity=config.fidelity)
    write_report(results, out)
    return results

