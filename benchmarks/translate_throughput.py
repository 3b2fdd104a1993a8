"""Translation throughput: the cache/de-duplication effect, and CTranslate2 vs `transformers`.

Part 1 (cache + de-dup). Benchmarks repeat themselves: POPE asks "Is there a <object> in the
image?" thousands of times over 80 objects, MME appends "Please answer yes or no." to every
question. The baseline sends every string to the MT backend (length-sorted batches, no de-dup,
no cache: what a line-by-line translation script does); ours is `translate_texts` with a fresh
`TranslationCache` (de-dup by string and by sentence segment), then again with the warm cache (a
rerun, or a second benchmark split sharing strings). Backend strings sent, backend calls and
seconds are reported; backend calls must not exceed the number of unique strings.

Part 2 (CTranslate2 vs transformers). A tiny randomly initialised Marian model (word-level
vocabulary built from the benchmark strings) is saved, converted with CTranslate2's
`TransformersConverter`, and the same unique strings are translated through the project's
`marian` (transformers) and `ct2` backends, greedy, the same decode length, one thread each.
Skipped (reported as such) when `ctranslate2` is not installed (`pip install 'lrm-llava[nmt]'`).

Part 3 (Ray vs one process). The same `--ray-strings` unique strings (no de-dup effect, nothing
cached) are translated by the tiny Marian model through `translate_texts` in one local process (one
thread), then through the Ray engine (`lrm_llava.translate.distributed.RayEngine`: a local Ray with
`--ray-workers` actors of one CPU each, blocks of `--block-size`). Reported: strings/s of both and
their ratio, end to end (actor start-up and model loading in every actor included) and in the
steady state (after the first block came back); `ray init` seconds (not in either); and the
per-block overhead: the steady-state wall time beyond the workers' own backend seconds (summed over
workers, divided by the workers), per block. Outputs are checked to be identical. Skipped when Ray is not installed (`pip install 'lrm-llava[ray]'`).

    python benchmarks/translate_throughput.py              # CPU, about a minute
    python benchmarks/translate_throughput.py --strings 6000 --d-model 256 --ray-strings 4000

The last output line is one JSON object: `{"metric": "translate_backend_strings", ...}` whose
baseline/ours are the seconds of part 1 (ratio = speed-up), plus `calls_*`, `sent_*`, `ct2_*` and `ray_*`.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path

import torch

_OBJECTS = (
    "person bicycle car motorcycle airplane bus train truck boat bench bird cat dog horse sheep cow elephant "
    "bear zebra giraffe backpack umbrella handbag tie suitcase frisbee skis snowboard kite skateboard surfboard "
    "bottle cup fork knife spoon bowl banana apple sandwich orange broccoli carrot pizza donut cake chair couch "
    "bed toilet laptop mouse remote keyboard microwave oven toaster sink refrigerator book clock vase scissors"
).split()
_TEMPLATES = (
    "Is there a {o} in the image?",
    "Is there a {o} in the image? Please answer yes or no.",
    "Is the {o} on the left of the picture? Please answer yes or no.",
    "What colour is the {o}?",
)


def benchmark_strings(n: int, seed: int = 0) -> list[str]:
    """`n` POPE/MME-like questions with heavy, long-tailed repetition (Zipf over objects)."""
    rng = random.Random(seed)
    weights = [1.0 / (rank + 1) for rank in range(len(_OBJECTS))]
    return [
        rng.choice(_TEMPLATES).format(o=rng.choices(_OBJECTS, weights)[0])
        for _ in range(n)
    ]


def build_tiny_marian(folder: Path, texts: list[str], *, d_model: int, layers: int, seed: int = 0) -> Path:
    """Save a random Marian MT model + word-level tokenizer covering `texts` under `folder`.

    `<pad>` is the last vocabulary entry, as in OPUS-MT (CTranslate2's Marian converter drops it).
    """
    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from transformers import MarianConfig, MarianMTModel, PreTrainedTokenizerFast

    pre = pre_tokenizers.Whitespace()
    vocab = {"<unk>": 0, "</s>": 1}
    for text in texts:
        for word, _ in pre.pre_tokenize_str(text):
            vocab.setdefault(word, len(vocab))
    vocab["<pad>"] = len(vocab)
    core = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    core.pre_tokenizer = pre
    core.post_processor = processors.TemplateProcessing(single="$A </s>", special_tokens=[("</s>", 1)])
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=core, unk_token="<unk>", eos_token="</s>", pad_token="<pad>")
    config = MarianConfig(
        vocab_size=len(vocab),
        d_model=d_model,
        encoder_layers=layers,
        decoder_layers=layers,
        encoder_attention_heads=4,
        decoder_attention_heads=4,
        encoder_ffn_dim=4 * d_model,
        decoder_ffn_dim=4 * d_model,
        max_position_embeddings=512,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        decoder_start_token_id=tokenizer.pad_token_id,
        forced_eos_token_id=None,
    )
    torch.manual_seed(seed)
    model = MarianMTModel(config).eval()
    # A random model may start with </s> (an empty output, which `translate_texts` retries): forbid
    # the special tokens so every output is real words and both engines decode the same length.
    with torch.no_grad():
        for token_id in (0, 1, vocab["<pad>"]):
            model.final_logits_bias[0, token_id] = -1e4
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


class CountingTranslator:
    """Wraps a backend; counts `translate` calls and strings sent (same protocol as the backend)."""

    def __init__(self, inner):
        self.inner = inner
        self.name, self.model, self.exact = inner.name, inner.model, inner.exact
        self.max_batch = inner.max_batch
        self.ratio_bounds = getattr(inner, "ratio_bounds", None)
        self.calls = 0
        self.sent = 0

    def translate(self, texts: list[str], src: str, tgt: str) -> list[str]:
        self.calls += 1
        self.sent += len(texts)
        return self.inner.translate(texts, src, tgt)


def naive_translate(translator: CountingTranslator, texts: list[str], src: str, tgt: str) -> list[str]:
    """The baseline: every string (duplicates included) to the backend, in backend-sized batches."""
    out: list[str] = []
    for i in range(0, len(texts), translator.max_batch):
        out.extend(translator.translate(texts[i : i + translator.max_batch], src, tgt))
    return out


def cache_benchmark(hf_translator, texts: list[str], src: str, tgt: str, workdir: Path, repeats: int = 2) -> dict:
    """Time the baseline and a cold-cache `translate_texts` (best of `repeats`, interleaved), then a warm rerun."""
    from lrm_llava.translate import TranslationCache, translate_texts

    hf_translator.translate(texts[:2], src, tgt)  # warm-up: the first generate call pays lazy init
    t_base = t_cold = float("inf")
    for rep in range(max(1, repeats)):
        base = CountingTranslator(hf_translator)
        t0 = time.perf_counter()
        naive_translate(base, texts, src, tgt)
        t_base = min(t_base, time.perf_counter() - t0)

        ours = CountingTranslator(hf_translator)
        cache = TranslationCache(workdir / f"cache{rep}.sqlite")
        t0 = time.perf_counter()
        cold = translate_texts(texts, src, tgt, translator=ours, cache=cache)
        t_cold = min(t_cold, time.perf_counter() - t0)
    cold_calls, cold_sent = ours.calls, ours.sent
    t0 = time.perf_counter()
    warm = translate_texts(texts, src, tgt, translator=ours, cache=cache)
    t_warm = time.perf_counter() - t0
    unique = len(set(texts))
    assert list(cold) == list(warm), "the warm cache returned different translations"
    assert cold_calls <= unique and cold_sent <= cold.stats.segments + cold.stats.retries, (cold_calls, cold_sent, unique)
    assert ours.calls == cold_calls, ("the warm run called the backend", cold.stats.as_dict(), warm.stats.as_dict())
    return {
        "strings": len(texts),
        "unique_strings": unique,
        "unique_segments": cold.stats.segments,
        "calls_baseline": base.calls,
        "calls_ours": cold_calls,
        "calls_warm": ours.calls - cold_calls,
        "retries": cold.stats.retries,
        "sent_baseline": base.sent,
        "sent_ours": cold_sent,
        "seconds_baseline": round(t_base, 3),
        "seconds_ours": round(t_cold, 3),
        "seconds_warm": round(t_warm, 3),
    }


def ct2_benchmark(model_dir: Path, workdir: Path, texts: list[str], src: str, tgt: str, *, max_len: int, batch: int) -> dict:
    try:
        import ctranslate2
        from ctranslate2.converters import TransformersConverter
    except ImportError:
        return {"ct2": "skipped: ctranslate2 not installed (pip install 'lrm-llava[nmt]')"}
    from lrm_llava.translate import make_translator

    ct2_dir = workdir / "marian-ct2"
    TransformersConverter(str(model_dir)).convert(str(ct2_dir), force=True)
    hf = make_translator("marian", path=str(model_dir), max_new_tokens=max_len, batch_size=batch)
    # One thread each (torch is set to 1 in main); CTranslate2 otherwise takes 4 intra-op threads.
    ct = make_translator("ct2", path=str(ct2_dir), tokenizer=str(model_dir), family="marian", batch_size=batch,
                         max_new_tokens=max_len, threads=1)
    hf.translate(texts[:2], src, tgt)
    ct.translate(texts[:2], src, tgt)
    t0 = time.perf_counter()
    out_hf = hf.translate(texts, src, tgt)
    t_hf = time.perf_counter() - t0
    t0 = time.perf_counter()
    out_ct = ct.translate(texts, src, tgt)
    t_ct = time.perf_counter() - t0
    same = sum(a == b for a, b in zip(out_hf, out_ct))
    return {
        "ct2": "ok",
        "ct2_strings": len(texts),
        "ct2_seconds_transformers": round(t_hf, 3),
        "ct2_seconds_ctranslate2": round(t_ct, 3),
        "ct2_ratio": round(t_hf / t_ct, 2),
        "ct2_identical_outputs": f"{same}/{len(texts)}",
        "ct2_version": ctranslate2.__version__,
    }


def ray_strings(n: int, seed: int = 0) -> list[str]:
    """`n` distinct questions about two objects (nothing for a cache or de-dup to save)."""
    pairs = [(a, b) for a in _OBJECTS for b in _OBJECTS if a != b]
    random.Random(seed).shuffle(pairs)
    forms = ("Is the {a} next to the {b}?", "Which is larger, the {a} or the {b}?")
    out = [forms[i % 2].format(a=a, b=b) for i, (a, b) in enumerate(pairs)]
    return out[:n]


def ray_benchmark(model_dir: Path, texts: list[str], *, workers: int, block_size: int, max_len: int,
                  batch: int) -> dict:
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError:
        return {"ray": "skipped: ray[data] not installed (pip install 'lrm-llava[ray]')"}
    from lrm_llava.translate import make_translator, translate_texts
    from lrm_llava.translate.distributed import RayEngine

    options = {"path": str(model_dir), "max_new_tokens": max_len, "batch_size": batch, "ratio_bounds": None}
    local = make_translator("marian", **options)
    local.translate(texts[:2], "en", "de")
    t0 = time.perf_counter()
    out_local = translate_texts(texts, "en", "de", local)
    t_local = time.perf_counter() - t0

    t0 = time.perf_counter()
    ray.init(num_cpus=workers, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
    t_start = time.perf_counter() - t0
    try:
        engine = RayEngine("marian", options, workers=workers, block_size=block_size, cpus_per_worker=1)
        t0 = time.perf_counter()
        out_ray = translate_texts(texts, "en", "de", local, engine=engine)
        t_ray = time.perf_counter() - t0
    finally:
        ray.shutdown()
    c = engine.counters
    assert list(out_ray) == list(out_local), "the Ray engine returned different translations"
    first = c["first_block_s"]
    per_block = c["seconds"] / max(1, c["blocks"])
    steady_wall = t_ray - first
    steady_blocks = max(1, c["blocks"] - 1)
    steady_strings = len(texts) * steady_blocks / max(1, c["blocks"])
    overhead = (steady_wall - per_block * steady_blocks / workers) / (steady_blocks / workers)
    local_rate = len(texts) / t_local
    return {
        "ray": "ok",
        "ray_strings": len(texts),
        "ray_workers": workers,
        "ray_block_size": block_size,
        "ray_blocks": c["blocks"],
        "ray_strings_per_s_local": round(local_rate, 1),
        "ray_strings_per_s_ray": round(len(texts) / t_ray, 1),
        "ray_ratio": round(t_local / t_ray, 2),
        "ray_strings_per_s_ray_steady": round(steady_strings / steady_wall, 1),
        "ray_ratio_steady": round(steady_strings / steady_wall / local_rate, 2),
        "ray_first_block_s": round(first, 2),
        "ray_seconds_local": round(t_local, 3),
        "ray_seconds_ray": round(t_ray, 3),
        "ray_backend_seconds_in_workers": round(c["seconds"], 3),
        "ray_overhead_s_per_block": round(overhead, 4),
        "ray_init_s": round(t_start, 2),
        "ray_version": ray.__version__,
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--strings", type=int, default=1500, help="benchmark strings (with repetition)")
    parser.add_argument("--d-model", type=int, default=128)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--max-new-tokens", type=int, default=16)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--ray-strings", type=int, default=6000, help="unique strings of part 3, at most the 3,906 object pairs (0 skips it)")
    parser.add_argument("--ray-workers", type=int, default=2)
    parser.add_argument("--block-size", type=int, default=256)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    from lrm_llava.translate import make_translator

    texts = benchmark_strings(args.strings)
    distinct = ray_strings(args.ray_strings) if args.ray_strings > 0 else []
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        model_dir = build_tiny_marian(workdir / "marian", texts + distinct, d_model=args.d_model, layers=args.layers)
        # A random model's output lengths are arbitrary: no length-ratio check, nothing is retried.
        hf = make_translator("marian", path=str(model_dir), max_new_tokens=args.max_new_tokens,
                             batch_size=args.batch_size, ratio_bounds=None)
        hf.max_batch = args.batch_size  # baseline and ours: the same batch per backend call
        part1 = cache_benchmark(hf, texts, "en", "de", workdir)
        unique = sorted(set(texts))
        part2 = ct2_benchmark(
            model_dir, workdir, unique, "en", "de", max_len=args.max_new_tokens, batch=args.batch_size
        )
        part3 = ray_benchmark(model_dir, distinct, workers=args.ray_workers, block_size=args.block_size,
                              max_len=args.max_new_tokens, batch=args.batch_size) if distinct else {"ray": "skipped"}
    result = {
        "metric": "translate_benchmark_seconds",
        "unit": "s",
        "baseline": part1["seconds_baseline"],
        "ours": part1["seconds_ours"],
        "ratio": round(part1["seconds_baseline"] / part1["seconds_ours"], 2),
        **part1,
        **part2,
        **part3,
    }
    print(
        f"no cache/de-dup: {part1['sent_baseline']} strings in {part1['calls_baseline']} calls, {part1['seconds_baseline']} s; "
        f"ours: {part1['sent_ours']} segments in {part1['calls_ours']} calls, {part1['seconds_ours']} s; "
        f"warm cache: {part1['calls_warm']} calls, {part1['seconds_warm']} s",
        file=sys.stderr,
    )
    if part3.get("ray") == "ok":
        print(
            f"Ray ({part3['ray_workers']} workers, blocks of {part3['ray_block_size']}): "
            f"{part3['ray_strings_per_s_ray']} strings/s vs one process {part3['ray_strings_per_s_local']} strings/s "
            f"(ratio {part3['ray_ratio']}); steady state {part3['ray_strings_per_s_ray_steady']} strings/s "
            f"(ratio {part3['ray_ratio_steady']}); first block after {part3['ray_first_block_s']} s; "
            f"overhead {part3['ray_overhead_s_per_block'] * 1000:.1f} ms per block; ray init {part3['ray_init_s']} s",
            file=sys.stderr,
        )
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
