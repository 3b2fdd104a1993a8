"""Model FLOPs of training steps, the device's peak, and MFU (model FLOPs utilisation).

Model FLOPs count the work the model needs for the *useful* tokens: padding, and attention between
different samples of a packed row, are not counted (masked work is waste, not model work), nor is
recomputation under activation checkpointing (that is hardware FLOPs, not model FLOPs). Per sample
of t non-padding tokens (image tokens included), and per image:

    LM         c · P_lm · t  +  6 · n_layers · d_attn · t²
    projector  6 · P_proj · n_image_tokens          (it trains in both stages)
    vision     2 · P_vit · n_vision_tokens          (frozen tower: forward only)

- `P_lm`: the LM's matmul parameters: every LM parameter except the input embedding table (a
  lookup; the output layer counts, once, also when tied). `c` is 6 for parameters that train
  (forward 2, backward 4: input and weight gradients) and 4 for frozen LM parameters the backward
  still passes through (stage 1: gradients reach the projector through the LM, without weight
  gradients; the frozen base of LoRA layers).
- Attention: QKᵀ and AV cost 2 · d_attn FLOPs each per (query, key) pair; over the causal half
  (t²/2 pairs) the forward is 2 · d_attn · t², the backward twice that, so 6 · d_attn · t² per layer
  (`d_attn` = heads × head_dim).
- The vision forward counts for every image of the batch, also when the vision-feature cache
  served its features (model FLOPs, as `benchmarks/train_throughput.py` counts them).

MFU = model FLOPs / seconds / peak. Peak (dense, no sparsity) of the training dtype from a small
table (`PEAK_TFLOPS`: H100 SXM / PCIe / NVL, H200, A100 at bf16/fp16); elsewhere (CPU, another GPU,
fp32) a measured matmul ceiling on the device (`measure_matmul_tflops`), or `mfu_peak_tflops`.

    fm = FlopModel.of(llava)
    fm.batch_flops([120, 85], images=2)      # one micro-batch of two samples
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

PEAK_TFLOPS: tuple[tuple[tuple[str, ...], str, float], ...] = (
    # (substrings the device name must all contain, label, dense bf16/fp16 tensor TFLOP/s)
    (("H200",), "H200 bf16", 989.4),
    (("H100", "PCIE"), "H100 PCIe bf16", 756.0),
    (("H100", "NVL"), "H100 NVL bf16", 835.0),
    (("H100",), "H100 SXM bf16", 989.4),
    (("A100",), "A100 bf16", 312.0),
)
"""Known peaks, first match wins (vendor data sheets; dense, without 2:4 sparsity)."""


@dataclass(frozen=True)
class FlopModel:
    """Parameter counts and shapes that the FLOP formula of the module docstring needs."""

    lm_trained: int
    """LM matmul parameters that train (6 FLOPs per parameter and token)."""
    lm_frozen: int
    """Frozen LM matmul parameters the backward passes through (4 per parameter and token)."""
    layers: int
    attn_width: int
    """heads × head_dim of the LM's attention."""
    projector: int
    vision: int
    vision_tokens: int
    """Tokens the vision tower runs per image (patches, + CLS for CLIP)."""
    image_tokens: int
    """Projected tokens per image (`image_seq_length`)."""

    @classmethod
    def of(cls, model) -> FlopModel:
        """Counts from a (possibly DDP/PEFT-wrapped) Llava, with its current `requires_grad` flags."""
        from lrm_llava.model.forward import unwrap_llava

        llava = unwrap_llava(model)
        lm = llava.model.language_model
        embed = lm.get_input_embeddings().weight
        head = llava.lm_head.weight
        trained = frozen = 0
        seen: set[int] = set()
        numel = _numel
        for p in [*lm.parameters(), *llava.lm_head.parameters()]:
            if id(p) in seen or (p is embed and p is not head):
                continue
            seen.add(id(p))
            if p.requires_grad:
                trained += numel(p)
            else:
                frozen += numel(p)
        text = llava.config.text_config
        heads = int(text.num_attention_heads)
        head_dim = int(getattr(text, "head_dim", None) or text.hidden_size // heads)
        tower = llava.model.vision_tower
        vcfg = llava.config.vision_config
        positions = getattr(getattr(tower, "embeddings", None), "num_positions", None)
        if positions is None:
            positions = (int(vcfg.image_size) // int(vcfg.patch_size)) ** 2
        return cls(
            lm_trained=trained, lm_frozen=frozen, layers=int(text.num_hidden_layers), attn_width=heads * head_dim,
            projector=sum(numel(p) for p in llava.model.multi_modal_projector.parameters()),
            vision=sum(numel(p) for p in tower.parameters()), vision_tokens=int(positions),
            image_tokens=int(llava.config.image_seq_length),
        )

    def batch_flops(self, lengths: Sequence[int], images: int = 0) -> float:
        """Model FLOPs of one micro-batch: samples of `lengths` non-padding tokens, `images` images."""
        tokens = sum(int(t) for t in lengths)
        squares = sum(int(t) * int(t) for t in lengths)
        lm = (6 * self.lm_trained + 4 * self.lm_frozen) * tokens + 6 * self.layers * self.attn_width * squares
        per_image = 6 * self.projector * self.image_tokens + 2 * self.vision * self.vision_tokens
        return float(lm + images * per_image)


def _numel(p: torch.Tensor) -> int:
    """Elements of a parameter, also when DeepSpeed ZeRO-3 has partitioned it away (`ds_numel`)."""
    return int(getattr(p, "ds_numel", None) or p.numel())


def sample_lengths(inputs: dict[str, Any]) -> list[int]:
    """Non-padding tokens of every sample of a collated batch: one per row of a padded batch, one
    per packed sample (positions restart at 0) of a packed batch."""
    ids = inputs["input_ids"]
    mask = inputs.get("attention_mask")
    mask = torch.ones_like(ids, dtype=torch.bool) if mask is None else mask.detach().to("cpu").bool()
    positions = inputs.get("position_ids")
    if positions is None:
        return [int(n) for n in mask.sum(dim=1).tolist() if n]
    from lrm_llava.train.packing import segment_ids

    seg = segment_ids(positions.detach().to("cpu"))
    out: list[int] = []
    for row_seg, row_mask in zip(seg, mask):
        counts = torch.bincount(row_seg[row_mask])
        out.extend(int(n) for n in counts.tolist() if n)
    return out


def peak_from_table(device_name: str) -> tuple[str, float] | None:
    """(label, TFLOP/s) of a known GPU name, or None."""
    name = device_name.upper()
    for needles, label, tflops in PEAK_TFLOPS:
        if all(n in name for n in needles):
            return label, tflops
    return None


def measure_matmul_tflops(device: str | torch.device = "cpu", dtype: torch.dtype = torch.float32, *,
                          n: int = 512, seconds: float = 0.15) -> float:
    """Achieved dense matmul TFLOP/s on `device` (n × n × n products for about `seconds`). Uses no
    random numbers, so measuring never moves a seed."""
    device = torch.device(device)
    a = torch.full((n, n), 0.5, device=device, dtype=dtype)
    b = torch.full((n, n), 0.25, device=device, dtype=dtype)

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    a @ b
    sync()
    reps, start = 0, time.perf_counter()
    while True:
        a @ b
        reps += 1
        if reps % 4 == 0:
            sync()
            if time.perf_counter() - start >= seconds:
                break
    elapsed = time.perf_counter() - start
    return 2 * n**3 * reps / elapsed / 1e12


def device_peak(device: str | torch.device, dtype: torch.dtype, override_tflops: float | None = None) -> tuple[str, float | None]:
    """(where the number comes from, peak TFLOP/s or None) for MFU on `device` training in `dtype`."""
    if override_tflops:
        return "mfu_peak_tflops", float(override_tflops)
    device = torch.device(device)
    if device.type == "cuda" and dtype in (torch.bfloat16, torch.float16):
        known = peak_from_table(torch.cuda.get_device_name(device))
        if known is not None:
            return known
    try:
        measured = measure_matmul_tflops(device, dtype if device.type == "cuda" else torch.float32,
                                         n=4096 if device.type == "cuda" else 512)
    except Exception:  # an unusual device: MFU is reported as n/a rather than failing the run
        return "n/a", None
    label = f"measured {str(dtype).removeprefix('torch.')} matmul" if device.type == "cuda" else "measured cpu fp32 matmul"
    return label, measured


def mfu(flops: float, seconds: float, peak_tflops: float | None) -> float | None:
    """Model FLOPs utilisation in [0, 1] (None without a peak)."""
    if not peak_tflops or seconds <= 0:
        return None
    return flops / seconds / (peak_tflops * 1e12)


class StepMeter:
    """Model FLOPs and samples of the micro-batches one process trains, and its device's peak:
    the trainer `add`s each micro-batch, the log line reads the differences (`mfu`)."""

    def __init__(self, flop_model: FlopModel, model=None, *, dtype: torch.dtype | None = None,
                 peak_tflops: float | None = None) -> None:
        self.flop_model = flop_model
        self.flops = 0.0
        self.samples = 0
        self._model = model
        self._dtype = dtype
        self._override = peak_tflops
        self.peak_source: str | None = None
        self.peak_tflops: float | None = None

    @classmethod
    def for_model(cls, model, cfg) -> StepMeter:
        """The meter of a training run: counts from `model` (after `apply_stage`), dtype from `cfg`."""
        dtype = torch.bfloat16 if cfg.bf16 else torch.float16 if cfg.fp16 else None
        return cls(FlopModel.of(model), model, dtype=dtype, peak_tflops=cfg.mfu_peak_tflops)

    def add(self, inputs: dict[str, Any]) -> None:
        lengths = sample_lengths(inputs)
        pixels = inputs.get("pixel_values")
        images = int(pixels.shape[0]) if pixels is not None else 0
        self.flops += self.flop_model.batch_flops(lengths, images)
        self.samples += len(lengths)

    def find_peak(self) -> None:
        """Look the peak up (or measure it) once, on the device the model sits on now."""
        if self.peak_source is not None:
            return
        device, dtype = torch.device("cpu"), self._dtype or torch.float32
        if self._model is not None:
            param = next(self._model.parameters())
            device, dtype = param.device, self._dtype or param.dtype
        self.peak_source, self.peak_tflops = device_peak(device, dtype, self._override)

    def peak_text(self) -> str:
        if self.peak_tflops is None:
            return "n/a"
        return f"{self.peak_tflops:.3g} TFLOP/s ({self.peak_source})"

    def mfu(self, flops: float, seconds: float) -> float | None:
        if self.peak_source is None:
            self.find_peak()
        return mfu(flops, seconds, self.peak_tflops)
