"""Training throughput: our trainer path vs the plain Hugging Face way, same model, same data.

Baseline (what a user would otherwise run): `LlavaForConditionalGeneration`, batches in random
order, padded to the longest sample, `model(**batch).loss.backward()` (the HF Trainer's default
data path: RandomSampler + pad-to-longest collator + the model's own loss over full logits, the
vision tower run on every image every step).
Ours: the token-length grouped sampler (`lrm_llava.data.grouped_order`), packed rows
(`train.packing`), the chunked/fused loss over trained tokens only (`train.loss`) and the
frozen-vision-feature cache (`train.vision_cache`). On a GPU ours also has the switches that
need one: token-budget micro-batches (`data.sampler.token_budget_batches`, budget = the token
slots of the baseline's largest measured batch, so no micro-batch holds more than the baseline's
worst), FlexAttention with the packed rows' document mask (`--attn`, default flex_attention on
CUDA) and Liger-Kernel's fused kernels when installed (`--liger auto`); `--checkpoint-every K`
and `--compile` add selective activation checkpointing and compiled LM blocks. The GPU JSON also
keeps `grouped+packing+chunked_ce+cache`, the previous "ours". With `--ablation` the speed-ups
are added one at a time. Both paths run forward + backward on the same samples for one epoch
(the optimizer step is identical in both and left out); the stage is "finetune" (LM + projector
trained, vision frozen).

Data: synthetic token ids with a LLaVA-665k-like long-tailed length distribution (log-normal text
lengths, 6% long text-only conversations, answer spans trained, instruction spans not), each
image appearing in `--langs` language variants as in the multilingual data.

    python benchmarks/train_throughput.py                    # 2-core CPU, a few minutes
    python benchmarks/train_throughput.py --ablation         # + each speed-up on its own
    python benchmarks/train_throughput.py --gpu              # 1B- and 7B-shaped LM, CLIP-L/336 tower, bf16, MFU
    python benchmarks/train_throughput.py --gpu --sizes 1b --steps 4

Useful tokens are non-padding tokens. The last output line is one JSON object:
`{"metric": "train_useful_tokens_per_s", "unit": "tokens/s", "baseline", "ours", "ratio", ...}`;
with `--gpu` it also holds per-size results with MFU against a bf16 matmul ceiling measured in
the same run.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from dataclasses import dataclass

import torch

IGNORE_INDEX = -100


# -- model shapes -----------------------------------------------------------------------------------
@dataclass
class Shape:
    """One benchmark model shape."""

    name: str
    hidden: int
    layers: int
    heads: int
    kv_heads: int
    intermediate: int
    vocab: int
    vision_hidden: int
    vision_layers: int
    vision_heads: int
    vision_intermediate: int
    image_size: int
    patch: int
    text_median: int
    """Median text tokens of an image sample (log-normal)."""
    max_length: int
    """Longest sample (image tokens included)."""
    batch_size: int


SHAPES = {
    # CPU: a 4-layer 256-wide LM with a 4000-token vocabulary (output layer ~25% of the LM, as in
    # small multilingual LMs) and a 4-layer ViT seeing 64 px images (64 patches).
    "cpu": Shape("cpu", 256, 4, 4, 4, 688, 4000, 192, 4, 4, 768, 64, 8, 40, 384, 8),
    # LLaMA-3.2-1B-like LM (vocab kept at LLaMA-2/Vicuna's 32000) and CLIP ViT-L/14-336.
    "1b": Shape("1b", 2048, 16, 32, 8, 8192, 32000, 1024, 24, 16, 4096, 336, 14, 120, 2048, 8),
    # LLaMA-2/Vicuna-7B-like LM and CLIP ViT-L/14-336 (LLaVA-1.5-7B).
    "7b": Shape("7b", 4096, 32, 32, 32, 11008, 32000, 1024, 24, 16, 4096, 336, 14, 120, 2048, 4),
}


def build_llava(shape: Shape, *, device: str, dtype: torch.dtype, attn: str = "sdpa"):
    """A random `LlavaForConditionalGeneration` of `shape`, stage "finetune" (vision frozen)."""
    from transformers import CLIPVisionConfig, LlamaConfig, LlavaConfig, LlavaForConditionalGeneration

    vision = CLIPVisionConfig(
        hidden_size=shape.vision_hidden, intermediate_size=shape.vision_intermediate,
        num_hidden_layers=shape.vision_layers, num_attention_heads=shape.vision_heads,
        image_size=shape.image_size, patch_size=shape.patch, projection_dim=shape.vision_hidden,
    )
    text = LlamaConfig(
        vocab_size=shape.vocab, hidden_size=shape.hidden, intermediate_size=shape.intermediate,
        num_hidden_layers=shape.layers, num_attention_heads=shape.heads, num_key_value_heads=shape.kv_heads,
        max_position_embeddings=4096, tie_word_embeddings=False, pad_token_id=0, bos_token_id=1, eos_token_id=2,
    )
    config = LlavaConfig(
        vision_config=vision, text_config=text, image_token_index=shape.vocab - 1,
        image_seq_length=(shape.image_size // shape.patch) ** 2, projector_hidden_act="gelu",
        vision_feature_layer=-2, vision_feature_select_strategy="default",
    )
    config._attn_implementation = attn
    config.text_config._attn_implementation = attn
    config.vision_config._attn_implementation = "sdpa"
    torch.manual_seed(0)
    old = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        with torch.device(device):
            model = LlavaForConditionalGeneration(config)
    finally:
        torch.set_default_dtype(old)
    for p in model.model.vision_tower.parameters():
        p.requires_grad_(False)
    model.train()
    return model


# -- data ---------------------------------------------------------------------------------------------
def synthetic_samples(shape: Shape, n: int, *, langs: int, seed: int = 0) -> list[dict]:
    """`n` samples: LLaVA-665k-like long-tailed lengths; images shared by `langs` variants."""
    rng = random.Random(seed)
    n_img = (shape.image_size // shape.patch) ** 2
    image_id = shape.vocab - 1
    samples = []
    images = max(1, n // max(1, langs))
    for k in range(n):
        text_only = rng.random() < 0.06
        median = shape.text_median * (4 if text_only else 1)  # ShareGPT-style long text conversations
        text = int(min(max(8, rng.lognormvariate(math.log(median), 0.8)), shape.max_length - n_img - 1))
        ids = [1] + [rng.randrange(3, shape.vocab - 1) for _ in range(text)]
        labels = [IGNORE_INDEX] * len(ids)
        # Alternating instruction / answer spans after a short system prefix: answers are trained.
        pos, train = min(len(ids), 6), False
        while pos < len(ids):
            span = rng.randint(4, 30)
            if train:
                labels[pos:pos + span] = ids[pos:pos + span]
            pos, train = pos + span, not train
        sample = {"input_ids": ids, "labels": labels[: len(ids)], "image": None}
        if not text_only:
            at = min(3, len(ids))
            sample["input_ids"] = ids[:at] + [image_id] * n_img + ids[at:]
            sample["labels"] = labels[:at] + [IGNORE_INDEX] * n_img + labels[at:]
            sample["image"] = k % images
        samples.append(sample)
    return samples


def image_tensor(shape: Shape, index: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(1000 + index)
    return torch.randn(3, shape.image_size, shape.image_size, generator=g)


def to_items(samples: list[dict], shape: Shape) -> list[dict]:
    items = []
    for s in samples:
        item = {"input_ids": s["input_ids"], "labels": s["labels"]}
        if s["image"] is not None:
            item["pixel_values"] = image_tensor(shape, s["image"])
        items.append(item)
    return items


# -- measurement ------------------------------------------------------------------------------------
@dataclass
class Variant:
    name: str
    grouped: bool
    packing: bool
    chunked: bool
    cache: bool
    budget: bool = False
    """Token-budget micro-batches instead of `batch_size` samples."""
    attn: str | None = None
    """LM attention implementation (None: the model's sdpa)."""
    liger: bool = False
    """Liger-Kernel's RMSNorm / SwiGLU / RoPE and fused linear cross-entropy (GPU, when installed)."""

    @property
    def fast(self) -> bool:
        return self.packing or self.chunked or self.cache or self.liger or self.attn is not None


VARIANTS = {
    "baseline": Variant("baseline", False, False, False, False),
    "packing": Variant("packing", False, True, False, False),
    "grouped": Variant("grouped", True, False, False, False),
    "grouped+chunked_ce": Variant("grouped+chunked_ce", True, False, True, False),
    "grouped+packing": Variant("grouped+packing", True, True, False, False),
    "grouped+packing+chunked_ce": Variant("grouped+packing+chunked_ce", True, True, True, False),
    "ours": Variant("ours", True, True, True, True),
    "ours+token_budget": Variant("ours+token_budget", True, True, True, True, budget=True),
}
PREVIOUS = "grouped+packing+chunked_ce+cache"
"""On a GPU, the name under which the CPU's "ours" (no GPU-only switch) is kept next to the new one."""


def gpu_ours(attn: str | None, liger: bool) -> Variant:
    """Ours on a GPU: everything of the CPU's ours plus token budget, attention kernel, Liger."""
    return Variant("ours", True, True, True, True, budget=True, attn=attn, liger=liger)


def batches_for(samples: list[dict], batch_size: int, grouped: bool, seed: int,
                budget: int | None = None, packed: bool = False) -> list[list[int]]:
    if budget:
        from lrm_llava.data.sampler import token_budget_batches

        lengths = [len(s["input_ids"]) for s in samples]
        return token_budget_batches(lengths, budget, has_image=[s["image"] is not None for s in samples],
                                    packed=packed, seed=seed)
    if grouped:
        from lrm_llava.data.sampler import grouped_order

        # mega_batch_mult=50: on real data (hundreds of thousands of samples) the sampler sorts
        # mega-batches of 50 global batches; a benchmark epoch is smaller than one of them.
        order = grouped_order([len(s["input_ids"]) for s in samples], batch_size,
                              has_image=[s["image"] is not None for s in samples], seed=seed, mega_batch_mult=50)
    else:  # RandomSampler
        order = torch.randperm(len(samples), generator=torch.Generator().manual_seed(seed)).tolist()
    return [order[i:i + batch_size] for i in range(0, len(order), batch_size)]


def measured_batches(samples: list[dict], batch_size: int, grouped: bool, seed: int, max_batches: int | None,
                     budget: int | None = None, packed: bool = False) -> list[list[int]]:
    """The epoch's batches, or `max_batches` of them evenly spaced over the epoch (representative)."""
    batches = batches_for(samples, batch_size, grouped, seed, budget, packed)
    if max_batches and len(batches) > max_batches:
        step = len(batches) / max_batches
        batches = [batches[int(k * step)] for k in range(max_batches)]
    return batches


def run_variant(model, items: list[dict], samples: list[dict], variant: Variant, *, batch_size: int,
                device: str, max_batches: int | None, seed: int = 0, repeats: int = 1,
                budget: int | None = None) -> dict:
    """Forward + backward over the epoch's batches; returns useful tokens/s, padding, memory."""
    from lrm_llava.data.collator import collate
    from lrm_llava.train.kernels import set_lm_attention
    from lrm_llava.train.loss import DEFAULT_CHUNK_SIZE, fast_forward_and_loss
    from lrm_llava.train.packing import collate_packed
    from lrm_llava.train.vision_cache import VisionFeatureCache

    budget = budget if variant.budget else None
    batches = measured_batches(samples, batch_size, variant.grouped, seed, max_batches, budget, variant.packing)
    cache = VisionFeatureCache() if variant.cache else None
    fast = variant.fast
    cuda = device.startswith("cuda")
    dtype = next(model.parameters()).dtype
    set_lm_attention(model, variant.attn or "sdpa")
    # FlexAttention compiles per row width: round widths up to its 128-token blocks (fewer shapes)
    multiple = 128 if variant.attn == "flex_attention" else None
    backend = "liger" if variant.liger else "auto"

    def step(batch_ids: list[int]) -> tuple[int, int]:
        feats = [items[i] for i in batch_ids]
        batch = collate_packed(feats, 0, pad_to_multiple_of=multiple) if variant.packing else collate(feats, 0)
        batch = {k: v.to(device) for k, v in batch.items()}
        if "pixel_values" in batch:
            batch["pixel_values"] = batch["pixel_values"].to(dtype)
        n_items = int((batch["labels"][:, 1:] != IGNORE_INDEX).sum())
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=cuda and dtype == torch.bfloat16):
            if fast:
                loss, _ = fast_forward_and_loss(model, batch, n_items, vision_cache=cache, chunked_loss=variant.chunked,
                                                loss_backend=backend)
            else:
                loss = model(**batch).loss
        loss.backward()
        model.zero_grad(set_to_none=True)
        return int(batch["attention_mask"].sum()), batch["input_ids"].numel()

    # warm-up (allocator, kernels; compiled code sees a few widths so later ones reuse a dynamic graph)
    for b in batches[: 3 if (variant.attn == "flex_attention" or cuda) else 1]:
        step(b)
    seconds = float("inf")
    for _ in range(max(1, repeats)):  # best of `repeats` epochs: the CPU is shared, timings are noisy
        if variant.cache:
            cache = VisionFeatureCache()  # cold every epoch: misses are paid inside the timing
        if cuda:
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
        useful = slots = 0
        widest = 0
        start = time.perf_counter()
        for b in batches:
            u, s = step(b)
            useful += u
            slots += s
            widest = max(widest, s)
        if cuda:
            torch.cuda.synchronize()
        seconds = min(seconds, time.perf_counter() - start)
    vocab = model.lm_head.weight.shape[0]
    if variant.chunked:
        logits_elems = min(DEFAULT_CHUNK_SIZE, widest) * vocab  # one chunk at a time
    else:
        logits_elems = widest * vocab  # every position of the widest batch
    out = {
        "tokens_per_s": round(useful / seconds, 1),
        "seconds": round(seconds, 3),
        "useful_tokens": useful,
        "padding_fraction": round(1 - useful / slots, 4),
        "batches": len(batches),
        # fp32 logits the loss holds at once (the model-dtype copy comes on top in the plain path)
        "max_logits_mib": round(logits_elems * 4 / 2**20, 1),
    }
    if cuda:
        out["peak_mem_gib"] = round(torch.cuda.max_memory_allocated() / 2**30, 2)
    if cache is not None:
        out["vision_cache_hit_rate"] = round(cache.hits / max(1, cache.hits + cache.misses), 3)
    if budget:
        out["token_budget"] = budget
        out["samples_per_batch"] = round(sum(len(b) for b in batches) / len(batches), 1)
    out["_batches"] = batches  # for the FLOP count; dropped from the JSON
    return out


# -- GPU extras -------------------------------------------------------------------------------------
def matmul_ceiling_tflops(device: str, n: int = 8192, reps: int = 20) -> float:
    """Achieved bf16 dense matmul TFLOP/s on this device (the MFU denominator)."""
    a = torch.randn(n, n, device=device, dtype=torch.bfloat16)
    b = torch.randn(n, n, device=device, dtype=torch.bfloat16)
    for _ in range(3):
        a @ b
    torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(reps):
        a @ b
    torch.cuda.synchronize()
    return 2 * n**3 * reps / (time.perf_counter() - start) / 1e12


def model_flops(model, samples: list[dict], batches: list[list[int]], shape: Shape) -> float:
    """Model FLOPs of the measured batches' useful work, counted as the training log line counts
    them (`lrm_llava.train.flops`): LM + projector forward+backward (6·P·T plus causal attention
    6·layers·d_attn·t²), frozen ViT forward only (2·P·tokens per image). Padding is not counted."""
    from lrm_llava.train.flops import FlopModel

    fm = FlopModel.of(model)
    total = 0.0
    for b in batches:
        total += fm.batch_flops([len(samples[i]["input_ids"]) for i in b],
                                images=sum(samples[i]["image"] is not None for i in b))
    return total


def patch_model(model, variant: Variant, args) -> None:
    """In-place model changes of the last variants: Liger's kernels, selective activation
    checkpointing, compiled LM blocks."""
    from lrm_llava.train import kernels

    if variant.liger:
        kernels.apply_liger(model)
    if args.checkpoint_every:
        enable = getattr(model, "activation_checkpointing_enable", None) or model.gradient_checkpointing_enable
        enable({"use_reentrant": False})
        kernels.select_checkpointed_layers(model, args.checkpoint_every)
    if args.compile:
        kernels.compile_lm_blocks(model)


# -- main ---------------------------------------------------------------------------------------------
def bench_size(shape: Shape, args, device: str, dtype: torch.dtype, variants: list[str]) -> dict:
    model = build_llava(shape, device=device, dtype=dtype)
    cuda = bool(args.gpu)  # the GPU variants and MFU (main() checks that CUDA is there)
    # GPU: a 32-batch epoch of which `--steps` evenly spaced batches are timed; CPU: 160 samples.
    n = args.samples or (shape.batch_size * 32 if device.startswith("cuda") else 160)
    samples = synthetic_samples(shape, n, langs=args.langs, seed=args.seed)
    items = to_items(samples, shape)
    max_batches = args.steps or None
    table = dict(VARIANTS)
    if cuda:
        from lrm_llava.train.kernels import liger_installed

        liger = args.liger == "on" or (args.liger == "auto" and liger_installed())
        table[PREVIOUS] = Variant(PREVIOUS, True, True, True, True)
        table["ours"] = gpu_ours(None if args.attn == "sdpa" else args.attn, liger)
        variants = [v for v in variants if v != "ours"] + [PREVIOUS, "ours"]
    # The token budget: the token slots of the baseline's largest measured batch (padded to its
    # longest sample), unless --token-budget says otherwise.
    lengths = [len(s["input_ids"]) for s in samples]
    base_batches = measured_batches(samples, shape.batch_size, False, args.seed, max_batches)
    budget = args.token_budget or max(len(b) * max(lengths[i] for i in b) for b in base_batches)
    patched = False  # Liger and compiled blocks change the model in place: those variants go last
    results: dict[str, dict] = {}
    order = sorted(variants, key=lambda n: table[n].liger or (n == "ours" and (args.compile or args.checkpoint_every)))
    # Round robin over the variants, best epoch of each: load from other processes on a shared
    # machine then hits every variant alike instead of whichever ran during a busy minute.
    for rep in range(max(1, args.repeats)):
        for name in order:
            variant = table[name]
            if not patched and (variant.liger or (name == "ours" and (args.compile or args.checkpoint_every))):
                if rep + 1 < max(1, args.repeats):
                    continue  # patched variants run in the last round only
                patch_model(model, variant, args)
                patched = True
            got = run_variant(model, items, samples, variant, batch_size=shape.batch_size,
                              device=device, max_batches=max_batches, seed=args.seed, budget=budget)
            shown = {k: v for k, v in got.items() if not k.startswith("_")}
            print(f"[{shape.name}] round {rep + 1} {name:28s} {shown}", file=sys.stderr, flush=True)
            if name not in results or got["seconds"] < results[name]["seconds"]:
                results[name] = got
    out = {"shape": shape.name, "samples": n, "batch_size": shape.batch_size, "token_budget": budget,
           "params_m": round(sum(p.numel() for p in model.parameters()) / 1e6, 1), "variants": results}
    lengths = [len(s["input_ids"]) for s in samples]
    out["length_p50_p90_max"] = [sorted(lengths)[len(lengths) // 2], sorted(lengths)[int(len(lengths) * 0.9)], max(lengths)]
    if cuda:
        from lrm_llava.train.flops import peak_from_table

        ceiling = matmul_ceiling_tflops(device)
        out["matmul_ceiling_tflops"] = round(ceiling, 1)
        known = peak_from_table(torch.cuda.get_device_name())
        if known:
            out["peak_tflops"] = {"label": known[0], "tflops": known[1]}
        for name in results:
            v = results[name]
            # The FLOPs of the samples this variant actually processed.
            flops = model_flops(model, samples, v["_batches"], shape)
            v["mfu"] = round(flops / v["seconds"] / (ceiling * 1e12), 4)  # against the measured matmul
            if known:
                v["mfu_peak"] = round(flops / v["seconds"] / (known[1] * 1e12), 4)  # against the data sheet
    for v in results.values():
        v.pop("_batches", None)
    del model
    if device.startswith("cuda"):
        torch.cuda.empty_cache()
    return out


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gpu", action="store_true", help="1B- and 7B-shaped LMs with a CLIP-L/336 tower, bf16")
    parser.add_argument("--sizes", default="1b,7b", help="with --gpu: which shapes (1b, 7b)")
    parser.add_argument("--samples", type=int, default=0, help="samples per epoch (default: 160 on CPU)")
    parser.add_argument("--steps", type=int, default=0, help="measure only the first N batches (GPU default: 6)")
    parser.add_argument("--langs", type=int, default=4, help="language variants per image (vision cache reuse)")
    parser.add_argument("--ablation", action="store_true", help="also run each speed-up added one at a time")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (shared 2-core machine: 1)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=3, help="rounds over all variants; each keeps its best epoch")
    parser.add_argument("--attn", default="flex_attention", choices=["flex_attention", "sdpa", "flash_attention_2"],
                        help="with --gpu: ours' LM attention (packed rows: document mask / varlen)")
    parser.add_argument("--liger", default="auto", choices=["auto", "on", "off"],
                        help="with --gpu: Liger-Kernel in ours (auto: when installed)")
    parser.add_argument("--token-budget", type=int, default=0,
                        help="tokens per micro-batch of the token-budget variants (default: the baseline's largest batch)")
    parser.add_argument("--checkpoint-every", type=int, default=0,
                        help="with --gpu: activation checkpointing of every k-th LM layer in ours (0: off)")
    parser.add_argument("--compile", action="store_true", help="with --gpu: torch.compile the LM blocks in ours")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    variants = list(VARIANTS) if args.ablation else ["baseline", "ours"]

    if args.gpu:
        if not torch.cuda.is_available():
            raise SystemExit("--gpu: no CUDA device visible")
        args.steps = args.steps or 6
        device, dtype = "cuda", torch.bfloat16
        sizes = [s.strip() for s in args.sizes.split(",") if s.strip()]
    else:
        device, dtype, sizes = "cpu", torch.float32, ["cpu"]
    per_size = {}
    for size in sizes:
        try:
            per_size[size] = bench_size(SHAPES[size], args, device, dtype, variants)
        except torch.cuda.OutOfMemoryError as err:  # keep the other size's numbers
            per_size[size] = {"error": f"out of memory: {str(err)[:200]}"}
            torch.cuda.empty_cache()
    main_size = next((s for s in sizes if "variants" in per_size[s]), None)
    if main_size is None:
        print(json.dumps({"metric": "train_useful_tokens_per_s", "error": per_size}))
        raise SystemExit(1)
    base = per_size[main_size]["variants"]["baseline"]
    ours = per_size[main_size]["variants"]["ours"]
    result = {
        "metric": "train_useful_tokens_per_s",
        "unit": "tokens/s",
        "baseline": base["tokens_per_s"],
        "ours": ours["tokens_per_s"],
        "ratio": round(ours["tokens_per_s"] / base["tokens_per_s"], 2),
        "size": main_size,
        "device": torch.cuda.get_device_name() if device == "cuda" else f"cpu x{args.threads} threads",
        "torch": torch.__version__,
        "transformers": __import__("transformers").__version__,
        "results": per_size,
    }
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
