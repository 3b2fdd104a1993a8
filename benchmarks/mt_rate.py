"""Machine-translation rate of an NLLB-200-sized model under CTranslate2, to size a translation job.

Translating the training data (e.g. LLaVA-665k into 9 languages) is the slowest step of building the
multilingual data, and its wall time is `segments x languages / rate`. This script measures the rate
(segments/s and target tokens/s) of a model with the exact shape of facebook/nllb-200-distilled-600M
(12+12 layers, d_model 1024, 16 heads, FFN 4096, 256,206-token vocabulary, ~615M parameters) on
your hardware, greedy decoding (beam 1, as the project's `ct2` backend), in length-sorted batches.

No download: the model is built with random weights from an `M2M100Config` of that shape
(`transformers`), saved with safetensors next to a synthetic word-level vocabulary of the right
size, and converted with CTranslate2's `TransformersConverter` (weights stored as float16; the
`--compute-type` is applied when the model is loaded). The converted model is cached under
`--workdir`, so reruns skip the build (~40 s and ~5 GB of RAM for the 600M shape). Speed
does not depend on weight values, but a random model never emits EOS at the right time, so every
output length is forced: batches hold length-sorted segments, and each batch is decoded with
`min_decoding_length = max_decoding_length` set so that it emits exactly
round(1.2 x mean source length of the batch) tokens after the target-language token, plus one
step standing in for the </s> a real model ends with (not counted as a target token).

The source lengths (in NLLB SentencePiece tokens, without the language code and </s> the encoder
also reads) come from a seeded model of LLaVA-style instruction segments (the project translates
each line, and cuts lines over 400 characters at sentence ends): 45% questions (median 13 tokens),
15% short answers (2-8 tokens), 40% pieces of long answers (15-100 tokens, mode 40; 400 characters
of English are ~100 tokens). The mean is printed; it is ~28 tokens.

    python benchmarks/mt_rate.py --shape tiny              # smoke run, a few seconds
    python benchmarks/mt_rate.py                           # NLLB-600M shape, CPU int8, ~2 min on 2 cores
    python benchmarks/mt_rate.py --compute-type float32 --json mt_rate.json
    python benchmarks/mt_rate.py --device cuda --segments 20000 --workdir ~/.cache/mt_rate

A "worker" in the printed estimate is one copy of what was measured (same device type, same
threads), e.g. one GPU or one machine: hours = segments x languages / (rate x workers) / 3600.
"CPU busy" (CPU seconds / wall seconds / threads) flags a run that shared its cores with another
job; rerun such a run on an idle machine. On CPU float32 is several times slower than int8 (~7 min
for the default segments on 2 cores).
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import random
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

# facebook/nllb-200-distilled-600M's config.json (and its larger siblings'), minus dropout, which
# inference ignores. The tiny shape only exists to check the script quickly.
SHAPES: dict[str, dict[str, int]] = {
    "nllb-600m": {"d_model": 1024, "encoder_layers": 12, "decoder_layers": 12, "encoder_attention_heads": 16,
                  "decoder_attention_heads": 16, "encoder_ffn_dim": 4096, "decoder_ffn_dim": 4096,
                  "vocab_size": 256206},
    "nllb-1.3b": {"d_model": 1024, "encoder_layers": 24, "decoder_layers": 24, "encoder_attention_heads": 16,
                  "decoder_attention_heads": 16, "encoder_ffn_dim": 8192, "decoder_ffn_dim": 8192,
                  "vocab_size": 256206},
    "tiny": {"d_model": 64, "encoder_layers": 2, "decoder_layers": 2, "encoder_attention_heads": 4,
             "decoder_attention_heads": 4, "encoder_ffn_dim": 256, "decoder_ffn_dim": 256, "vocab_size": 2000},
}
COMMON = {"max_position_embeddings": 1024, "scale_embedding": True, "activation_function": "relu",
          "bos_token_id": 0, "pad_token_id": 1, "eos_token_id": 2, "decoder_start_token_id": 2,
          "dropout": 0.0, "attention_dropout": 0.0, "activation_dropout": 0.0, "tie_word_embeddings": True}
SPECIALS = ["<s>", "<pad>", "</s>", "<unk>"]  # NLLB's ids 0-3
SRC_LANG = "eng_Latn"
TGT_LANGS = ["fra_Latn", "deu_Latn", "spa_Latn", "zho_Hans", "jpn_Jpan", "rus_Cyrl", "arb_Arab", "hin_Deva",
             "por_Latn"]
TARGET_RATIO = 1.2  # target tokens per source token, forced (see the docstring)
META = "mt_rate_meta.json"


def vocabulary(size: int) -> list[str]:
    """NLLB's layout: specials, then pieces; language codes included so prefixes look real."""
    head = SPECIALS + [SRC_LANG] + TGT_LANGS
    return head + [f"\u2581p{i}" for i in range(size - len(head))]


def build_model(folder: Path, shape: str, seed: int) -> dict:
    """Build the random model, convert it to CTranslate2 under `folder`; return its metadata.

    Built in a sibling temp folder and renamed at the end, so an interrupted build is never reused.
    """
    import torch
    from ctranslate2.converters import TransformersConverter
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import M2M100Config, M2M100ForConditionalGeneration, PreTrainedTokenizerFast

    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
    hf_dir, ct2_dir = staging / "hf", staging / "ct2"
    t0 = time.perf_counter()
    torch.manual_seed(seed)
    config = M2M100Config(**COMMON, **SHAPES[shape])
    model = M2M100ForConditionalGeneration(config)
    params = model.num_parameters()  # tied embeddings counted once, as in the published 615M
    model.save_pretrained(hf_dir, safe_serialization=True)
    del model  # the converter loads its own copy: do not hold two fp32 copies at once
    gc.collect()

    # A word-level tokenizer is enough: the converter only reads its vocabulary and specials, and
    # the benchmark feeds token strings to translate_batch directly.
    vocab = {tok: i for i, tok in enumerate(vocabulary(config.vocab_size))}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>", unk_token="<unk>",
                            pad_token="<pad>").save_pretrained(hf_dir)
    # float16 on disk halves the file; CTranslate2 converts to the requested compute type on load.
    TransformersConverter(str(hf_dir), low_cpu_mem_usage=True).convert(str(ct2_dir), quantization="float16")
    meta = {"shape": shape, "seed": seed, "parameters": params, "config": SHAPES[shape],
            "build_seconds": round(time.perf_counter() - t0, 1)}
    (ct2_dir / META).write_text(json.dumps(meta, indent=1) + "\n")
    shutil.rmtree(hf_dir)
    if folder.exists():
        shutil.rmtree(folder)
    ct2_dir.rename(folder)
    shutil.rmtree(staging)
    return meta


def segment_lengths(n: int, seed: int) -> list[int]:
    """Source lengths in tokens of `n` LLaVA-style segments (mixture in the module docstring)."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        u = rng.random()
        if u < 0.45:  # a question line: "What is the man on the left holding in his hand?"
            k = rng.lognormvariate(math.log(13), 0.35)
        elif u < 0.60:  # a short answer that survives de-duplication: "A red double-decker bus."
            k = rng.randint(2, 8)
        else:  # a line or a <=400-character piece of a long description / reasoning answer
            k = rng.triangular(15, 100, 40)
        out.append(min(max(round(k), 1), 100))
    return out


def make_batches(lengths: list[int], size: int, by_tokens: bool) -> list[list[int]]:
    """Indices in length-sorted batches of `size` segments, or of at most `size` padded tokens."""
    order = sorted(range(len(lengths)), key=lengths.__getitem__)
    batches: list[list[int]] = []
    for i in order:
        if batches:
            last = batches[-1]
            # the encoder sees the language code and </s> too; sorted, so lengths[i] is the longest
            fits = (len(last) + 1) * (lengths[i] + 2) <= size if by_tokens else len(last) < size
            if fits:
                last.append(i)
                continue
        batches.append([i])
    return batches


def hours(segments: float, languages: int, rate: float, workers: int) -> float:
    return segments * languages / (rate * workers) / 3600


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shape", choices=sorted(SHAPES), default="nllb-600m")
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--compute-type", choices=["int8", "int8_float32", "int8_float16", "float16", "float32"],
                        help="default: int8 on cpu, float16 on cuda")
    parser.add_argument("--batch-size", type=int, help="default: 32 on cpu, 64 on cuda (examples)")
    parser.add_argument("--batch-type", choices=["examples", "tokens"], default="examples",
                        help="count --batch-size in segments or in padded source tokens")
    parser.add_argument("--segments", type=int, help="segments timed (default: 960 on cpu, 8000 on cuda)")
    parser.add_argument("--threads", type=int, help="CTranslate2 intra_threads (default: all cores on cpu, 1 on cuda)")
    parser.add_argument("--workdir", type=Path, help="where the converted model is cached (default: a temp dir)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--plan-segments", type=int, default=1_000_000, help="unique segments of the example")
    parser.add_argument("--languages", type=int, default=9, help="target languages of the example")
    parser.add_argument("--json", type=Path, help="also write the numbers to this JSON file")
    args = parser.parse_args(argv)

    import ctranslate2

    cpu = args.device == "cpu"
    compute_type = args.compute_type or ("int8" if cpu else "float16")
    try:
        supported = ctranslate2.get_supported_compute_types(args.device)
    except RuntimeError as err:  # no GPU, or a driver older than CTranslate2's CUDA
        sys.exit(f"CTranslate2 cannot use {args.device} here: {err}")
    if compute_type not in supported:  # fail clearly rather than let CTranslate2 pick another type
        sys.exit(f"compute type {compute_type} is not supported on {args.device} here (supported: {sorted(supported)})")
    batch_size = args.batch_size or ((32 if cpu else 64) if args.batch_type == "examples" else (2048 if cpu else 8192))
    n = args.segments or (960 if cpu else 8000)
    threads = args.threads if args.threads is not None else ((os.cpu_count() or 1) if cpu else 1)

    tmp = None
    if args.workdir is None:
        tmp = tempfile.TemporaryDirectory(prefix="mt_rate-")
        workdir = Path(tmp.name)
    else:
        workdir = args.workdir.expanduser()
    folder = workdir / f"{args.shape}-seed{args.seed}-ct2"
    built = not ((folder / META).is_file() and (folder / "model.bin").is_file())
    if not built:
        meta = json.loads((folder / META).read_text())
        print(f"model: cached {folder}")
    else:
        print(f"model: building {args.shape} (random weights) and converting it to CTranslate2 in {folder} ...",
              flush=True)
        meta = build_model(folder, args.shape, args.seed)
        print(f"model: built in {meta['build_seconds']} s")

    t0 = time.perf_counter()
    translator = ctranslate2.Translator(str(folder), device=args.device, compute_type=compute_type,
                                        intra_threads=threads)
    load_s = time.perf_counter() - t0

    lengths = segment_lengths(n, args.seed)
    batches = make_batches(lengths, batch_size, args.batch_type == "tokens")
    vocab_size = SHAPES[args.shape]["vocab_size"]
    first = len(SPECIALS) + 1 + len(TGT_LANGS)  # first ordinary piece
    rng = random.Random(args.seed + 1)
    pieces = vocabulary(vocab_size)[first:]
    # An NLLB source as the project's tokenizer gives it: language code, pieces, </s>.
    sources = [[SRC_LANG] + rng.choices(pieces, k=k) + ["</s>"] for k in lengths]
    tgt = TGT_LANGS[0]

    def run(batch: list[int]) -> int:
        """Translate one batch with its output length forced; return the target tokens emitted."""
        out_len = max(1, round(TARGET_RATIO * sum(lengths[i] for i in batch) / len(batch)))
        # The decoding length counts the target-language prefix token, and a real model spends one
        # more step on </s> (never emitted here, as min = max): prefix + out_len + 1 steps.
        steps = out_len + 2
        results = translator.translate_batch(
            [sources[i] for i in batch], target_prefix=[[tgt]] * len(batch), beam_size=1,
            max_batch_size=batch_size, batch_type=args.batch_type,
            min_decoding_length=steps, max_decoding_length=steps)
        decoded = sum(len(r.hypotheses[0]) for r in results)
        if decoded != steps * len(batch):  # the forcing must hold, or the rate means nothing
            raise RuntimeError(f"expected {steps} tokens per segment, got {decoded / len(batch):.1f}")
        return out_len * len(batch)

    run(batches[len(batches) // 2])  # warm-up, untimed: first-call allocations and kernel selection
    t0, cpu0 = time.perf_counter(), time.process_time()
    tgt_tokens = sum(run(b) for b in batches)
    wall = time.perf_counter() - t0
    # CPU seconds per wall second per thread: well under 1 on CPU means the cores were shared
    # (another job running) or the threads starved, and the rate is too low.
    busy = (time.process_time() - cpu0) / wall / threads
    src_tokens = sum(lengths)
    rate = n / wall
    peak_gib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # Linux: KiB
    result = {
        "metric": "mt_segments_per_s", "shape": args.shape, "parameters": meta["parameters"],
        "device": args.device, "compute_type": compute_type, "threads": threads, "batch_size": batch_size,
        "batch_type": args.batch_type, "batches": len(batches), "segments": n,
        "mean_source_tokens": round(src_tokens / n, 2), "mean_target_tokens": round(tgt_tokens / n, 2),
        "wall_s": round(wall, 2), "segments_per_s": round(rate, 3), "target_tokens_per_s": round(tgt_tokens / wall, 1),
        "source_tokens_per_s": round(src_tokens / wall, 1), "load_s": round(load_s, 2),
        "cpu_busy": round(busy, 2), "peak_rss_gib": round(peak_gib, 2), "ctranslate2": ctranslate2.__version__,
        "plan": {"segments": args.plan_segments, "languages": args.languages,
                 "hours": {w: round(hours(args.plan_segments, args.languages, rate, w), 2) for w in (1, 8, 32)}},
    }

    c = SHAPES[args.shape]
    rows = [
        ("model", f"{args.shape}: {c['encoder_layers']}+{c['decoder_layers']} layers, d_model {c['d_model']}, "
                  f"FFN {c['encoder_ffn_dim']}, vocab {c['vocab_size']:,}; {meta['parameters']:,} parameters"),
        ("device", f"{args.device}, {threads} thread(s), CTranslate2 {ctranslate2.__version__}"),
        ("compute type", compute_type),
        ("batch size", f"{batch_size} {args.batch_type} ({len(batches)} batches), greedy"),
        ("segments", f"{n:,} (mean source {src_tokens / n:.1f} tokens, target {tgt_tokens / n:.1f} = x{TARGET_RATIO})"),
        ("wall seconds", f"{wall:.1f} (after one warm-up batch; model load {load_s:.1f} s not included)"),
        ("segments/s", f"{rate:.2f}"),
        ("target tokens/s", f"{tgt_tokens / wall:.1f} (source tokens/s {src_tokens / wall:.1f})"),
        ("CPU busy", f"{busy:.0%} of {threads} thread(s) over the timed part" + (
            "  <- well under 100%: cores shared with another job?" if cpu and busy < 0.7 and args.shape != "tiny" else "")),
        ("peak RSS", f"{peak_gib:.2f} GiB (this process{', the build included' if built else ''})"),
    ]
    width = max(len(k) for k, _ in rows)
    print()
    for key, value in rows:
        print(f"{key:<{width}}  {value}")
    print(f"\nhours = segments x languages / (rate x workers) / 3600, rate = {rate:.2f} segments/s per worker")
    for w, h in result["plan"]["hours"].items():
        print(f"  {args.plan_segments:,} segments x {args.languages} languages, {w:>2} worker(s): {h:,.2f} h "
              f"({h / 24:,.2f} days)")
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n")
        print(f"wrote {args.json}")
    if tmp is not None:
        tmp.cleanup()
    return result


if __name__ == "__main__":
    main()
