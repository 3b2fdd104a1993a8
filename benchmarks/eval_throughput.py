"""Batched evaluation vs LLaVA's one-question-at-a-time loop, with identical predictions asserted.

The baseline is LLaVA's `model_vqa_loader` loop: for each question build one prompt, process one
image, make one `generate` call. Ours is `lrm_llava.infer.generate_batch` (length-grouped,
left-padded batches, greedy). Both run on the same model and the same questions (with images);
the predictions must be identical, then questions/s are compared. The default model has the shape
of the ShapeWorld demo's model (64 px images, 16 image tokens, a 3-layer 128-wide LM, a 3-layer
96-wide ViT); each path is timed `--repeats` times, interleaved, and the best time counts, because
the CPU is shared and a single timing is noisy.

Why the CPU ratio is bounded: prefill costs the same matmul FLOPs in both paths, batched or not, so
batching only removes per-call and per-decode-step overhead (Python, kernel launches, tiny GEMVs).
The ratio therefore shrinks as the model (prefill compute) grows relative to the number of decode
steps; on a GPU, where batch 1 leaves the device idle, it grows instead.

    python benchmarks/eval_throughput.py                       # CPU, a demo-shaped random Llava (< 1 min)
    python benchmarks/eval_throughput.py --model runs/x/finetune --questions 128 --batch-size 32
    python benchmarks/eval_throughput.py --device cuda --questions 256 --batch-size 64
    python benchmarks/eval_throughput.py --hf-family idefics3      # the hf adapter on another family
    python benchmarks/eval_throughput.py --hf-model runs/gemma3 --questions 128

The `hf` evaluation adapter (`lrm_llava.infer.adapters.hf`: a model through its own processor and
chat template) is measured the same way on a non-LLaVA family: a tiny random checkpoint of
`--hf-family` (`lrm_llava.infer.adapters.tiny`, default gemma3), or `--hf-model PATH`; its batched
replies must equal its one-by-one replies (`--hf-family none` skips it).

The last line of output is one JSON object:
`{"metric": "eval_questions_per_s", "unit": "questions/s", "baseline": ..., "ours": ..., "ratio": ...,
"hf": {"family": ..., "baseline": ..., "ours": ..., "ratio": ..., "identical_predictions": ...}}`.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time

import torch
from PIL import Image

# Benchmark-like questions: short MME/POPE-style yes/no prompts and longer MMBench/SEED-style ones.
_STEMS = [
    "Is there a {c} {s} in the image?",
    "Is the {s} {c}? Please answer yes or no.",
    "How many {s}s are there in the picture?",
    "What colour is the {s} on the left side of the image?",
    "Which shape is larger, the {c} {s} or the other one? Answer with the option's letter.",
    "Describe the position of the {c} {s} relative to the centre of the picture in one word.",
]
_COLOURS = ["red", "blue", "green", "yellow", "purple", "orange"]
_SHAPES = ["circle", "square", "triangle", "star"]


def make_questions(n: int, image_size: int, seed: int = 0) -> tuple[list[Image.Image], list[str]]:
    """`n` (image, question) pairs: coloured rectangles on varied canvases, varied question lengths."""
    rng = random.Random(seed)
    images, questions = [], []
    for _ in range(n):
        width = rng.randint(image_size // 2, image_size * 2)
        height = rng.randint(image_size // 2, image_size * 2)
        img = Image.new("RGB", (width, height), tuple(rng.randrange(256) for _ in range(3)))
        x0, y0 = rng.randrange(width // 2), rng.randrange(height // 2)
        img.paste(tuple(rng.randrange(256) for _ in range(3)), (x0, y0, x0 + width // 3, y0 + height // 3))
        images.append(img)
        questions.append(rng.choice(_STEMS).format(c=rng.choice(_COLOURS), s=rng.choice(_SHAPES)))
    return images, questions


def build_bench_model(args):
    """(model, processor): `--model` loaded from disk, or a small random Llava built from configs."""
    if args.model:
        from lrm_llava.infer import load_model

        return load_model(args.model, device=args.device, dtype=getattr(torch, args.dtype) if args.dtype else None)
    from lrm_llava.model import build_tiny_model

    model, processor = build_tiny_model(
        seed=0,
        image_size=args.image_size,
        patch_size=args.patch_size,
        text_hidden=args.text_hidden,
        vision_hidden=args.vision_hidden,
        layers=args.layers,
    )
    dtype = getattr(torch, args.dtype) if args.dtype else (torch.bfloat16 if args.device.startswith("cuda") else torch.float32)
    return model.to(args.device, dtype=dtype).eval(), processor


def one_by_one(model, processor, images, questions, *, template: str, max_new_tokens: int) -> list[str]:
    """LLaVA's eval loop: one prompt, one image, one `generate` call per question."""
    from lrm_llava.infer import answer

    return [
        answer(model, processor, img, q, template=template, max_new_tokens=max_new_tokens)
        for img, q in zip(images, questions)
    ]


def measure_hf(args, images, questions) -> dict:
    """The hf adapter on a non-LLaVA family: one request per `generate` call vs batches, same replies."""
    import tempfile

    from lrm_llava.infer.adapters import Request
    from lrm_llava.infer.adapters.hf import HFAdapter
    from lrm_llava.infer.adapters.tiny import build_tiny_family

    with tempfile.TemporaryDirectory() as tmp:
        folder = args.hf_model or build_tiny_family(args.hf_family, f"{tmp}/{args.hf_family}", seed=0)
        dtype = args.dtype or ("bfloat16" if args.device.startswith("cuda") else "float32")
        single_adapter = HFAdapter(folder, max_new_tokens=args.max_new_tokens, batch_size=1, device=args.device,
                                   dtype=dtype).load()
        batched_adapter = HFAdapter(folder, max_new_tokens=args.max_new_tokens, batch_size=args.batch_size,
                                    device=args.device, dtype=dtype)
        batched_adapter.model, batched_adapter.processor = single_adapter.model, single_adapter.processor
        requests = [Request(img, q, "en") for img, q in zip(images, questions)]
        batched_adapter.generate(requests[:2])
        [single_adapter.generate([r]) for r in requests[:1]]
        t_single = t_batched = float("inf")
        for _ in range(max(1, args.repeats)):
            _sync(args.device)
            t0 = time.perf_counter()
            single = [single_adapter.generate([r])[0] for r in requests]
            _sync(args.device)
            t_single = min(t_single, time.perf_counter() - t0)
            t0 = time.perf_counter()
            batched = batched_adapter.generate(requests)
            _sync(args.device)
            t_batched = min(t_batched, time.perf_counter() - t0)
        params = sum(p.numel() for p in single_adapter.model.parameters())
        model_type = single_adapter.model_type
    n = len(requests)
    mismatches = [i for i, (a, b) in enumerate(zip(single, batched)) if a != b]
    print(f"hf {model_type}: one-by-one {n / t_single:.2f} q/s, batched {n / t_batched:.2f} q/s, "
          f"x{t_single / t_batched:.2f}, identical: {not mismatches}", file=sys.stderr)
    return {"family": model_type, "baseline": round(n / t_single, 3), "ours": round(n / t_batched, 3),
            "ratio": round(t_single / t_batched, 2), "identical_predictions": not mismatches,
            "baseline_s": round(t_single, 3), "ours_s": round(t_batched, 3), "params_m": round(params / 1e6, 3),
            "mismatches": mismatches[:5]}


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="a saved Llava folder (default: a small random model)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dtype", choices=["float32", "bfloat16", "float16"],
                        help="default: bfloat16 on cuda, float32 on cpu (float32 keeps batched == one-by-one exact)")
    parser.add_argument("--questions", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3, help="time each path this many times, keep the best")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-new-tokens", type=int, default=16, help="the `bench run` default")
    parser.add_argument("--template", default="vicuna_v1")
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--patch-size", type=int, default=16, help="64 px / 16 = 16 image tokens")
    parser.add_argument("--text-hidden", type=int, default=128)
    parser.add_argument("--vision-hidden", type=int, default=96)
    parser.add_argument("--layers", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (the CI machine has 2 cores)")
    parser.add_argument("--hf-family", default="gemma3",
                        help="tiny random family the hf adapter is measured on (llava_next, instructblip, "
                        "paligemma, gemma3, idefics3, llava), or none")
    parser.add_argument("--hf-model", help="a Hugging Face image-text-to-text folder for the hf adapter instead")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    from lrm_llava.infer import generate_batch

    model, processor = build_bench_model(args)
    images, questions = make_questions(args.questions, args.image_size)
    kw = {"template": args.template, "max_new_tokens": args.max_new_tokens}

    # Warm-up both paths once (allocator, lazy init) so neither pays first-call costs in the timing.
    generate_batch(model, processor, images[:2], questions[:2], batch_size=2, **kw)
    one_by_one(model, processor, images[:1], questions[:1], **kw)

    t_single = t_batched = float("inf")
    for _ in range(max(1, args.repeats)):
        _sync(args.device)
        t0 = time.perf_counter()
        single = one_by_one(model, processor, images, questions, **kw)
        _sync(args.device)
        t_single = min(t_single, time.perf_counter() - t0)

        t0 = time.perf_counter()
        batched = generate_batch(model, processor, images, questions, batch_size=args.batch_size, **kw)
        _sync(args.device)
        t_batched = min(t_batched, time.perf_counter() - t0)

    mismatches = [i for i, (a, b) in enumerate(zip(single, batched)) if a != b]
    n = len(questions)
    result = {
        "metric": "eval_questions_per_s",
        "unit": "questions/s",
        "baseline": round(n / t_single, 3),
        "ours": round(n / t_batched, 3),
        "ratio": round(t_single / t_batched, 2),
        "identical_predictions": not mismatches,
        "questions": n,
        "batch_size": args.batch_size,
        "max_new_tokens": args.max_new_tokens,
        "device": args.device,
        "threads": args.threads,
        "repeats": args.repeats,
        "baseline_s": round(t_single, 3),
        "ours_s": round(t_batched, 3),
        "params_m": round(sum(p.numel() for p in model.parameters()) / 1e6, 2),
    }
    if args.hf_model or args.hf_family != "none":
        result["hf"] = measure_hf(args, images, questions)
    print(f"one-by-one: {n} questions in {t_single:.2f} s ({n / t_single:.2f} q/s)", file=sys.stderr)
    print(f"batched   : {n} questions in {t_batched:.2f} s ({n / t_batched:.2f} q/s), x{t_single / t_batched:.2f}", file=sys.stderr)
    print(json.dumps(result))
    if mismatches:
        i = mismatches[0]
        raise SystemExit(
            f"predictions differ for {len(mismatches)} of {n} questions, e.g. #{i}: {single[i]!r} vs {batched[i]!r}"
        )
    if "hf" in result and not result["hf"]["identical_predictions"]:
        raise SystemExit(f"hf adapter: batched replies differ from one-by-one at {result['hf']['mismatches']}")
    return result


if __name__ == "__main__":
    main()
