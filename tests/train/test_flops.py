"""Model FLOPs and MFU (`train.flops`): the count of a tiny config against a hand computation, the
lengths of padded and packed batches, and the peaks."""

from __future__ import annotations

import pytest
import torch

from lrm_llava.train.flops import FlopModel, StepMeter, device_peak, mfu, peak_from_table, sample_lengths


@pytest.fixture(scope="module")
def tiny():
    from lrm_llava.model import build_tiny_model

    return build_tiny_model(seed=0)[0]


def _hand_lm_params(vocab: int) -> int:
    """The tiny LM (hidden 64, MLP 128, 2 layers, 4 heads of 16, 2 KV heads, untied head), by hand."""
    attention = 64 * 64 + 64 * 32 + 64 * 32 + 64 * 64  # q, k, v (2 KV heads x 16), o
    mlp = 3 * 64 * 128  # gate, up, down
    norms = 2 * 64
    return 2 * (attention + mlp + norms) + 64 + vocab * 64  # + final norm + output layer (no embedding table)


def test_flop_count_of_a_tiny_config_by_hand(tiny):
    from lrm_llava.model import apply_stage

    vocab = tiny.config.text_config.vocab_size
    p_lm = _hand_lm_params(vocab)
    p_proj = (32 * 64 + 64) + (64 * 64 + 64)  # linear_1 (vision 32 -> 64), linear_2 (64 -> 64)
    lengths = [30, 12]
    tokens, squares = 42, 30 * 30 + 12 * 12
    attention = 6 * 2 * 64 * squares  # 6 x layers x (heads x head_dim) x t^2

    apply_stage(tiny, "finetune")  # LM and projector train
    fm = FlopModel.of(tiny)
    assert (fm.lm_trained, fm.lm_frozen, fm.layers, fm.attn_width) == (p_lm, 0, 2, 64)
    assert fm.projector == p_proj and fm.image_tokens == 16 and fm.vision_tokens == 17  # 4 x 4 patches + CLS
    assert fm.batch_flops(lengths) == 6 * p_lm * tokens + attention
    vision = sum(p.numel() for p in tiny.model.vision_tower.parameters())
    assert fm.batch_flops(lengths, images=1) == 6 * p_lm * tokens + attention + 6 * p_proj * 16 + 2 * vision * 17

    apply_stage(tiny, "pretrain")  # frozen LM: backward through it without weight gradients
    fm = FlopModel.of(tiny)
    assert (fm.lm_trained, fm.lm_frozen) == (0, p_lm)
    assert fm.batch_flops(lengths) == 4 * p_lm * tokens + attention


def test_sample_lengths_padded_and_packed():
    from lrm_llava.train.packing import collate_packed

    padded = {"input_ids": torch.zeros(3, 5, dtype=torch.long),
              "attention_mask": torch.tensor([[1, 1, 1, 1, 1], [1, 1, 0, 0, 0], [1, 1, 1, 0, 0]])}
    assert sample_lengths(padded) == [5, 2, 3]
    feats = [{"input_ids": [1] * n, "labels": [1] * n} for n in (4, 3, 2, 6)]
    packed = collate_packed(feats, pad_token_id=0, max_length=8)
    assert sorted(sample_lengths(packed)) == [2, 3, 4, 6]


def test_peaks_and_mfu(tiny):
    assert peak_from_table("NVIDIA H100 80GB HBM3") == ("H100 SXM bf16", 989.4)
    assert peak_from_table("NVIDIA H100 PCIe")[1] == 756.0
    assert peak_from_table("NVIDIA H200")[1] == 989.4
    assert peak_from_table("NVIDIA A100-SXM4-80GB")[1] == 312.0
    assert peak_from_table("NVIDIA GeForce RTX 4090") is None
    label, measured = device_peak("cpu", torch.float32)
    assert label == "measured cpu fp32 matmul" and measured > 0
    assert device_peak("cpu", torch.float32, override_tflops=2.5) == ("mfu_peak_tflops", 2.5)
    assert mfu(5e12, 2.0, 10.0) == 0.25 and mfu(1.0, 1.0, None) is None
    meter = StepMeter(FlopModel.of(tiny), tiny, peak_tflops=1.0)
    meter.add({"input_ids": torch.zeros(2, 4, dtype=torch.long), "attention_mask": torch.ones(2, 4, dtype=torch.long)})
    assert meter.samples == 2 and meter.flops == FlopModel.of(tiny).batch_flops([4, 4])
    assert meter.mfu(1e12, 1.0) == 1.0 and meter.peak_text() == "1 TFLOP/s (mfu_peak_tflops)"
