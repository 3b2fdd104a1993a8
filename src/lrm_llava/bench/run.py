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
greedy, through one of the evaluation adapters of `lrm_llava.infer.adapters` (`llava`: this
project's folders through `generate_batch`; `hf`: any Hugging Face image-text-to-text folder;
`openai`: a chat-completions server). Every prediction row and `<out>/run.json` record the adapter,
the model id and the generation settings.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tqdm.auto import tqdm

from lrm_llava.bench.common import BENCHMARKS, Item, benchmark_dir, english_dir, load_image
from lrm_llava.bench.formats import MODULES
from lrm_llava.bench.formats import load as load_document
from lrm_llava.bench.parse import DEFAULT_PARSE_MODE, check_parse_mode, parse_output
from lrm_llava.bench.prompts import build_prompt
from lrm_llava.bench.report import write_report
from lrm_llava.bench.scoring import score_predictions, unanswered
from lrm_llava.errors import DataError, UserError, describe_changes
from lrm_llava.jsonio import iter_jsonl, read_json, write_json
from lrm_llava.languages import parse_languages
from lrm_llava.paths import output_folder

SETTINGS_FILE = "settings.json"
"""Beside the predictions: the generation settings they were made with (`generation_settings`)."""

RUN_FILE = "run.json"
"""Beside results.json: how the results were made (adapter, model id, generation settings, ...)."""

PREDICTION_FIELDS = ("model", "question_id", "benchmark", "split", "language", "prompt", "output", "parsed",
                     "answer", "category", "group", "options", "adapter", "model_id", "generation")


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
    adapter: str = "auto"
    """How the model is run (`lrm_llava.infer.adapters`): "llava" (this project's folders), "hf" (any
    Hugging Face image-text-to-text folder), "openai" (a chat-completions server); "auto": llava for
    a folder with recipe.yaml (or a LLaVA folder without a chat template), else hf."""
    api_base: str | None = None
    """Root of an OpenAI-compatible API (adapter "openai"), e.g. http://127.0.0.1:8000/v1; the served
    model is `model_name`."""
    api_key_env: str | None = None
    """Environment variable holding the server's key; None: OPENAI_API_KEY for the official host only."""
    concurrency: int = 8
    """Requests in flight at once to a server (adapter "openai")."""
    request_cache: str | Path | None = None
    """SQLite cache of server replies (adapter "openai"); None: `<out>/request-cache.sqlite`."""
    parse_mode: str = DEFAULT_PARSE_MODE
    """How MMBench and SEED replies are read: "official" (VLMEvalKit's `can_infer` for MMBench, LLaVA's
    exact letter for SEED) or "lenient" (the multilingual letter parser); MME and POPE read the same
    in both (docs/benchmarks.md)."""


def add_eval_flags(parser) -> None:
    """The `eval` flags of adapters and parsing: --adapter --api-base --api-key-env --concurrency
    --request-cache (`lrm_llava.infer.adapters.add_adapter_flags`) and --parse-mode. The EvalConfig
    fields of the same names receive them."""
    from lrm_llava.bench.parse import PARSE_MODES
    from lrm_llava.infer.adapters import add_adapter_flags

    add_adapter_flags(parser)
    parser.add_argument("--parse-mode", default=DEFAULT_PARSE_MODE, choices=PARSE_MODES,
                        help="how MMBench and SEED replies are read: official (VLMEvalKit's can_infer for MMBench, "
                        "LLaVA's exact letter for SEED) or lenient (the multilingual letter parser); "
                        f"default: {DEFAULT_PARSE_MODE}")


def adapter_fields(args) -> dict:
    """The EvalConfig fields of the flags `add_eval_flags` adds, from parsed arguments."""
    return {"adapter": args.adapter, "api_base": args.api_base, "api_key_env": args.api_key_env,
            "concurrency": args.concurrency, "request_cache": args.request_cache, "parse_mode": args.parse_mode}


def check_eval_config(config: EvalConfig) -> None:
    """Refuse numbers that would silently do something else than asked (the generation settings
    are checked by `infer.generate.check_generation`, the rule of every command that generates)."""
    if config.limit is not None and config.limit < 1:
        raise UserError(f"--limit {config.limit}: give at least 1 (questions per benchmark, language and "
                        "split), or leave it out to evaluate everything")
    if config.concurrency < 1:
        raise UserError(f"--concurrency {config.concurrency}: must be at least 1")
    check_parse_mode(config.parse_mode)


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


_LAYOUTS = {
    "mme": "<subtask>/<name>.txt + <name>.png (or <subtask>/questions_answers_YN/ + images/)",
    "pope": "coco_pope_{random,popular,adversarial}.json + images/",
    "mmbench": "*.tsv (the MMBench TSV)",
    "seed": "SEED-Bench.json (image questions) + images/",
}


def _check_not_empty(items: list[Item], bench_root: str | Path, benchmark: str, language: str) -> None:
    if not items:
        folder = benchmark_dir(Path(bench_root), benchmark, language)
        raise UserError(f"{folder}: no {benchmark} questions found there (expected {_LAYOUTS[benchmark]}). Fix: "
                        f"put the benchmark's files there (or translate it: lrm-llava bench translate "
                        f"--benchmark {benchmark} --languages {language}), or leave {benchmark} or {language} "
                        "out (--benchmarks / --languages)")


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


def generation_settings(name: str, described: dict) -> dict:
    """What makes a prediction: a resumed run only reuses rows made with equal settings.

    `described` is the adapter's `describe()`: its name and its generation settings count (for the
    llava adapter: template, max_new_tokens, dtype), the model's id does not (a moved folder resumes)."""
    return {"model_name": name, **described["generation"], "adapter": described["adapter"]}


_OLD_DEFAULTS = {"adapter": "llava"}
"""Settings files written before a setting existed: the value they were made with."""


def check_settings(path: Path, settings: dict) -> None:
    """Record `settings` in `path` (a run's settings file), or refuse when it records others."""
    if path.is_file():
        made = read_json(path, "settings file")
        if isinstance(made, dict):
            made = {**_OLD_DEFAULTS, **made}
        changed = describe_changes(made, settings) if isinstance(made, dict) else "unreadable"
        if changed:
            raise UserError(f"{path.parent} holds predictions made with other settings ({changed}); a resumed "
                            "run would mix them. Fix: use another --out folder, or remove it to start over.")
        return
    write_json(path, settings)


def prediction_row(item: Item, model_name: str, prompt: str, output: str, described: dict | None = None,
                   parse_mode: str = DEFAULT_PARSE_MODE) -> dict:
    """One self-contained prediction row (everything needed to rescore it without the benchmark), with
    the adapter, model id and generation settings of `described` (an adapter's `describe()`)."""
    row = {
        "model": model_name, "question_id": item.question_id, "benchmark": item.benchmark,
        "split": item.split, "language": item.language, "prompt": prompt, "output": output,
        "parsed": parse_output(item.benchmark, output, item.language, item.options, parse_mode),
        "answer": item.answer,
        "category": item.category, "group": item.group, "options": item.options or None,
    }
    if described is not None:
        row.update(adapter=described["adapter"], model_id=described["model_id"], generation=described["generation"])
    return row


def rescore(config: EvalConfig) -> list[dict]:
    """Score existing prediction files (no model); filtered by config.benchmarks/languages when
    they are not "all"."""
    output_folder(config.out, config.predictions)
    rows = read_predictions(list(config.predictions))
    if not rows:
        raise UserError(f"the predictions files hold no rows ({', '.join(map(str, config.predictions))}). "
                        "Fix: pass the predictions/<benchmark>.jsonl files an eval run wrote.")
    benches = set(parse_benchmarks(config.benchmarks))
    langs = set(parse_languages(config.languages))
    if config.model_name:
        rows = [{**r, "model": config.model_name} for r in rows]
    rows = [r for r in rows if r["benchmark"] in benches and r["language"] in langs]
    missing = missing_seed_rows(rows, config.bench_root, config.limit, config.parse_mode) \
        if config.bench_root is not None else []
    results = score_predictions(rows + missing, with_fidelity=config.fidelity, parse_mode=config.parse_mode)
    write_report(results, config.out)
    note_parse_mode(config.out, config.parse_mode)
    note_unanswered(config.out, rows)
    write_run_info(config.out, {**rescored_run_info(rows), "parse_mode": config.parse_mode,
                                "missing_counted_wrong": len(missing)})
    return results


def missing_seed_rows(rows: list[dict], bench_root: str | Path, limit: int | None, parse_mode: str) -> list[dict]:
    """Official mode: a row without output (wrong) for every SEED question of `bench_root` that a
    model has no prediction for, as LLaVA's converter counts it (lenient mode: none)."""
    if parse_mode != "official":
        return []
    out: list[dict] = []
    seen: dict[str, set[tuple]] = {}
    for r in rows:
        if r["benchmark"] == "seed":
            seen.setdefault(r["language"], set()).add((r.get("model"), str(r["question_id"])))
    for lang, have in sorted(seen.items()):
        items = apply_limit(load_items(bench_root, "seed", lang), limit)
        for model in sorted({m for m, _ in have}, key=str):
            out += [prediction_row(it, model, build_prompt(it), "", None, parse_mode) for it in items
                    if (model, it.question_id) not in have]
    return out


def note_parse_mode(out: str | Path, parse_mode: str) -> None:
    """Say in `<out>/report.md` which parse mode scored the replies."""
    from lrm_llava.jsonio import write_text

    path = Path(out) / "report.md"
    if not path.is_file():
        return
    how = {"official": "MMBench as VLMEvalKit's `can_infer`, SEED as LLaVA's exact letter, MME and POPE by "
                       "the official rules with per-language words",
           "lenient": "the multilingual letter parser for MMBench and SEED, MME and POPE by the official "
                      "rules with per-language words"}[parse_mode]
    text = path.read_text(encoding="utf-8").rstrip("\n")
    write_text(path, f"{text}\n\nReplies parsed in **{parse_mode}** mode ({how}; `--parse-mode`, "
                     "docs/benchmarks.md).\n")


NO_ANSWERS_NOTE = "no answers: use `bench submit` to make the upload file"
"""What the report says of questions without a ground truth (a test split: not scored)."""


def note_unanswered(out: str | Path, rows: list[dict]) -> None:
    """Say in `<out>/report.md` which (model, benchmark, language) have questions without answers
    (a test split such as MMBench's): their predictions are written but not scored."""
    from lrm_llava.jsonio import write_text

    counts = unanswered(rows)
    path = Path(out) / "report.md"
    if not counts or not path.is_file():
        return
    lines = [f"- {model} · {bench} · {lang}: {n} question(s) without a ground truth, not scored "
             f"({NO_ANSWERS_NOTE}: `lrm-llava bench submit --predictions predictions/{bench}.jsonl "
             "--bench-root BENCH --out submission`, run in this folder)" for (model, bench, lang), n in sorted(counts.items())]
    text = path.read_text(encoding="utf-8").rstrip("\n")
    write_text(path, f"{text}\n\n## Not scored\n\n" + "\n".join(lines) + "\n")


def rescored_run_info(rows: list[dict]) -> dict:
    """run.json of a rescoring: what the prediction rows say about how they were made."""
    made: dict[str, list] = {}
    for r in rows:
        entry = {k: r.get(k) for k in ("adapter", "model_id", "generation")}
        if entry not in made.setdefault(str(r.get("model")), []):
            made[str(r.get("model"))].append(entry)
    return {"rescored": True, "models": {m: made[m] for m in sorted(made)}, "questions": len(rows)}


def write_run_info(out: str | Path, info: dict) -> Path:
    """Write `<out>/run.json` (atomically)."""
    path = Path(out) / RUN_FILE
    write_json(path, info)
    return path


def make_eval_adapter(config: EvalConfig, *, model=None, processor=None, progress: bool = False,
                      device: str | None = None):
    """The evaluation adapter of `config` (`lrm_llava.infer.adapters.make_adapter`; nothing loaded yet)."""
    from lrm_llava.infer.adapters import make_adapter

    cache = config.request_cache or Path(config.out) / "request-cache.sqlite"
    return make_adapter(
        config.adapter, path=config.model, model_name=config.model_name, template=config.template,
        max_new_tokens=config.max_new_tokens, batch_size=config.batch_size, device=device or config.device,
        dtype=config.dtype, api_base=config.api_base, api_key_env=config.api_key_env,
        concurrency=config.concurrency, request_cache=cache, progress=progress, model=model, processor=processor,
    )


def _model_name(config: EvalConfig, described: dict) -> str:
    if config.model_name:
        return config.model_name
    if config.model:
        return Path(config.model).name
    return "model" if described["adapter"] != "openai" else str(described["model_id"])


# --------------------------------------------------------------------------- many processes
def process_rank() -> tuple[int, int]:
    """(rank, world size) of this process: `RANK` and `WORLD_SIZE` from the environment, as torchrun
    sets them; (0, 1) when they are absent."""
    try:
        rank, world = int(os.environ.get("RANK", "0") or 0), int(os.environ.get("WORLD_SIZE", "1") or 1)
    except ValueError:
        raise UserError(f"RANK={os.environ.get('RANK')!r} / WORLD_SIZE={os.environ.get('WORLD_SIZE')!r}: not "
                        "numbers. Fix: launch with torchrun, or unset them for one process") from None
    if world < 1 or not 0 <= rank < world:
        raise UserError(f"RANK={rank} with WORLD_SIZE={world}: the rank must be 0 ... WORLD_SIZE-1. Fix: launch "
                        "with torchrun --nproc_per_node N, or unset RANK and WORLD_SIZE for one process")
    return rank, world


def _rank_file(pred_dir: Path, bench: str, rank: int) -> Path:
    return pred_dir / f"{bench}.rank{rank}.jsonl"


def _marker(pred_dir: Path, rank: int) -> Path:
    return pred_dir / f"rank{rank}.done"


def _prediction_files(pred_dir: Path, bench: str) -> list[Path]:
    """The merged predictions file of `bench` and every per-rank file beside it (those that exist)."""
    merged = pred_dir / f"{bench}.jsonl"
    ranks = sorted(pred_dir.glob(f"{bench}.rank*.jsonl"), key=lambda p: p.name)
    return [p for p in (merged, *ranks) if p.is_file()]


def _read_done(pred_dir: Path, bench: str, name: str) -> dict[tuple, dict]:
    rows = read_predictions(_prediction_files(pred_dir, bench), benchmark=bench)
    others = {r.get("model") for r in rows} - {name}
    if others:
        raise UserError(f"{pred_dir / (bench + '.jsonl')} holds predictions of model {sorted(map(str, others))[0]!r}, "
                        f"not {name!r}; use another --out folder (or the same --model-name) to keep runs apart")
    return {_key(r): r for r in rows}


def _wait_for_ranks(pred_dir: Path, world: int, work: list[tuple[str, str, list[Item]]], name: str,
                    poll: float = 0.5, note_every: float = 60.0) -> None:
    """Rank 0: wait until every other rank has written its done-marker and the prediction files
    together answer every question of `work`."""
    started = last_note = time.monotonic()
    while True:
        missing = [k for k in range(1, world) if not _marker(pred_dir, k).is_file()]
        if not missing:
            done = {b: _read_done(pred_dir, b, name) for b in dict.fromkeys(b for b, _, _ in work)}
            if all(it.key in done[b] for b, _, items in work for it in items):
                return
        now = time.monotonic()
        if now - last_note >= note_every:
            waiting = f"ranks {', '.join(map(str, missing))}" if missing else "the last predictions"
            print(f"eval rank 0: waiting for {waiting} ({now - started:.0f} s)", file=sys.stderr, flush=True)
            last_note = now
        time.sleep(poll)


def _merge_rank_files(pred_dir: Path, benches: list[str], order: dict[tuple, int], name: str) -> None:
    """Fold every `<bench>.rank<k>.jsonl` into `<bench>.jsonl` (atomically; rows of the merged file
    first, then the others in question order), then remove them and the done-markers."""
    from lrm_llava.jsonio import write_jsonl

    for bench in benches:
        merged = pred_dir / f"{bench}.jsonl"
        ranks = [p for p in _prediction_files(pred_dir, bench) if p != merged]
        if not ranks:
            continue
        first = read_predictions([merged], benchmark=bench) if merged.is_file() else []
        known = {_key(r) for r in first}
        rest = [r for r in _read_done(pred_dir, bench, name).values() if _key(r) not in known]
        rest.sort(key=lambda r: order.get(_key(r), len(order)))
        write_jsonl(merged, first + rest)
        for path in ranks:
            path.unlink(missing_ok=True)
    for marker in pred_dir.glob("rank*.done"):
        marker.unlink(missing_ok=True)


# ------------------------------------------------------------------------------------ the job
def run_eval(
    config: EvalConfig,
    *,
    model=None,
    processor=None,
    adapter=None,
    on_batch: Callable[[int, list[dict]], None] | None = None,
) -> list[dict]:
    """Run (or resume) an evaluation and write predictions, results, run.json and the report under
    `config.out`.

    The model is run by the adapter of `config.adapter` (`lrm_llava.infer.adapters`); `adapter` (an
    `EvalModel`) or `model`/`processor` (a loaded LLaVA model) may be passed instead. `on_batch` is
    called after each batch is flushed with (batches done so far, its rows); raising from it stops
    the run the way a kill would (finished batches stay on disk). Returns the result rows.

    Several processes (`torchrun --nproc_per_node N -m lrm_llava.cli eval ...`: `RANK` and
    `WORLD_SIZE` in the environment) share the questions: question i (in benchmark, language, file
    order) goes to rank i mod N, which appends its answers to `predictions/<benchmark>.rank<k>.jsonl`
    and writes `predictions/rank<k>.done`; rank 0 waits for the others, merges their files into
    `<benchmark>.jsonl` and scores (the other ranks return no results). No collective is used. A
    killed run resumes with any number of processes: every rank reads what all files hold.
    """
    from lrm_llava.infer.adapters import Request

    check_eval_config(config)
    if config.predictions:
        return rescore(config)
    from lrm_llava.infer.generate import check_generation

    check_generation(max_new_tokens=config.max_new_tokens, batch_size=config.batch_size)
    if config.bench_root is None or (config.model is None and model is None and adapter is None
                                     and not config.api_base):
        raise UserError("eval needs --model and --bench-root (or --predictions FILE to rescore; or "
                        "--adapter openai --api-base URL --model-name NAME for a server)")
    rank, world = process_rank()
    if adapter is None:
        device = None
        if world > 1 and not config.device and model is None:
            from lrm_llava.infer.generate import local_rank_device

            device = local_rank_device()
        adapter = make_eval_adapter(config, model=model, processor=processor, device=device)
    described = adapter.describe()
    name = _model_name(config, described)
    # results are written beside the predictions, never into the benchmarks or the model folder
    out = output_folder(config.out, [config.bench_root, config.model if config.model and Path(config.model).exists()
                                     else None])
    pred_dir = output_folder(out / "predictions")

    work: list[tuple[str, str, list[Item]]] = []
    for bench, lang in _selection(config):
        items = load_items(config.bench_root, bench, lang)
        _check_not_empty(items, config.bench_root, bench, lang)
        work.append((bench, lang, apply_limit(items, config.limit)))
    benches = list(dict.fromkeys(b for b, _, _ in work))

    check_settings(pred_dir / SETTINGS_FILE, generation_settings(name, described))
    if world > 1:
        _marker(pred_dir, rank).unlink(missing_ok=True)
    own = {b: (pred_dir / f"{b}.jsonl" if world == 1 else _rank_file(pred_dir, b, rank)) for b in benches}
    done: dict[str, dict[tuple, dict]] = {}
    for bench in benches:
        _repair_tail(own[bench])
        done[bench] = _read_done(pred_dir, bench, name)

    order: dict[tuple, int] = {}
    todo: list[tuple[str, str, list[Item]]] = []
    for b, lang, items in work:
        mine = []
        for it in items:
            position = order.setdefault(it.key, len(order))
            if position % world == rank and it.key not in done[b]:
                mine.append(it)
        todo.append((b, lang, mine))
    total = sum(len(t) for _, _, t in todo)
    if total:
        bar = tqdm(total=total, desc=f"eval {name}" + (f" rank {rank}/{world}" if world > 1 else ""), unit="q",
                   disable=not config.progress or rank != 0, file=sys.stderr)
        batches = 0
        try:
            for bench, lang, items in todo:
                if not items:
                    continue
                bar.set_postfix_str(f"{bench}/{lang}")
                with open(own[bench], "a", encoding="utf-8") as fh:
                    for i in range(0, len(items), config.batch_size):
                        batch = items[i : i + config.batch_size]
                        prompts = [build_prompt(it) for it in batch]
                        outputs = adapter.generate([Request(load_image(it), p, it.language)
                                                    for it, p in zip(batch, prompts)])
                        rows = [prediction_row(it, name, p, o, described, config.parse_mode)
                                for it, p, o in zip(batch, prompts, outputs)]
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

    if world > 1:
        write_json(_marker(pred_dir, rank), {"rank": rank, "world_size": world, "answered": total})
        if rank != 0:
            return []
        _wait_for_ranks(pred_dir, world, work, name)
    if world > 1 or any(len(_prediction_files(pred_dir, b)) > 1 for b in benches):
        _merge_rank_files(pred_dir, benches, order, name)
        done = {b: _read_done(pred_dir, b, name) for b in benches}

    selected = [done[b][it.key] for b, _, items in work for it in items]
    results = score_predictions(selected, with_fidelity=config.fidelity, parse_mode=config.parse_mode)
    write_report(results, out)
    note_parse_mode(out, config.parse_mode)
    note_unanswered(out, selected)
    write_run_info(out, {
        "model": name, **described, "benchmarks": benches,
        "languages": list(dict.fromkeys(lang for _, lang, _ in work)), "limit": config.limit,
        "batch_size": config.batch_size, "processes": world, "questions": len(selected),
        "parse_mode": config.parse_mode,
    })
    return results
