"""The attention, kernel and compilation switches (`train.kernels`): FlexAttention with the packed
rows' document mask computes what the unpacked batch computes; selective activation checkpointing
and compiled LM blocks train exactly like the plain path; Liger and flex refuse clearly where they
cannot run. PyTorch's FlexAttention has no backward pass on the CPU, so its gradient test runs on a
CUDA GPU only (benchmarks/gpu_check.sh runs it)."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import pytest
import torch
from PIL import Image
from safetensors.torch import load_file
from test_perf_equivalence import _grads, _items, _plain_loss  # the shared synthetic items (tests/perf)

from lrm_llava.errors import UserError
from lrm_llava.train import kernels, load_recipe, run_training
from lrm_llava.train.loss import fast_forward_and_loss
from lrm_llava.train.packing import block_causal_mask, collate_packed, document_ids, flex_block_mask


@pytest.fixture
def train_model():
    from lrm_llava.model import apply_stage, build_tiny_model

    model, processor = build_tiny_model(seed=3)
    apply_stage(model, "finetune")
    model.train()
    return model, processor


def test_flex_block_mask_is_the_packed_document_mask():
    from torch.nn.attention.flex_attention import create_mask

    pos = torch.tensor([[0, 1, 2, 0, 1, 0, 1, 2, 3, 0, 1], [0, 1, 2, 3, 4, 5, 0, 1, 2, 0, 1]])
    real = torch.tensor([[1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0]])
    block = flex_block_mask(pos, real)
    dense = create_mask(block.mask_mod, 2, 1, 11, 11, device="cpu")[:, 0]
    reference = block_causal_mask(pos, real, torch.float32)[:, 0] == 0
    is_real = real.bool()
    # every real query sees exactly what the dense block-diagonal causal mask lets it see
    assert torch.equal(dense[is_real], reference[is_real])
    # padding queries see padding only (their own causal block), never a real token
    assert not (dense & ~is_real[:, :, None] & is_real[:, None, :]).any()
    assert dense.any(-1).all()  # no empty softmax row
    # unpacked, right-padded rows: the attention mask is the document id
    assert torch.equal(document_ids(None, real), real)


def test_flex_block_mask_skips_blocks_of_other_samples():
    # two samples of 256 tokens in one 512-token row: of the 4 x 4 blocks of 128 a full causal
    # mask would compute 10; the document mask leaves 6 (3 per sample), the rest are skipped
    pos = torch.cat([torch.arange(256), torch.arange(256)])[None]
    block = flex_block_mask(pos, torch.ones_like(pos))
    assert block.BLOCK_SIZE == (128, 128)
    computed = int(block.kv_num_blocks.sum()) + int(block.full_kv_num_blocks.sum())
    assert computed == 6


def test_flex_attention_packed_loss_equals_unpacked_sdpa(train_model):
    """The LM on FlexAttention with the document BlockMask of packed rows gives the unpacked SDPA
    batch's loss (forward only here: FlexAttention has no CPU backward)."""
    from lrm_llava.data.collator import collate

    model, processor = train_model
    items = _items(model, processor, [40, 25, 33, 20, 12], [True, False, True, True, False], seed=1)
    pad = processor.tokenizer.pad_token_id
    plain_batch = collate(items, pad)
    n_items = int((plain_batch["labels"][:, 1:] != -100).sum())
    packed_batch = collate_packed(items, pad, max_length=80)
    assert packed_batch["input_ids"].shape[0] < len(items)
    with torch.no_grad():
        plain = _plain_loss(model, plain_batch, n_items)
        kernels.set_lm_attention(model, "flex_attention")
        assert model.config.text_config._attn_implementation == "flex_attention"
        flex, _ = fast_forward_and_loss(model, packed_batch, n_items, loss_backend="torch")
    assert torch.allclose(flex, plain, atol=1e-5, rtol=1e-5), (flex.item(), plain.item())


@pytest.mark.skipif(not torch.cuda.is_available(), reason="FlexAttention trains on a CUDA GPU only")
def test_flex_attention_packed_loss_and_gradients_on_gpu():
    """fp32 on CUDA: packed rows on FlexAttention give the unpacked SDPA batch's loss and every
    parameter gradient (tight tolerances; not bit-equal across kernels)."""
    from lrm_llava.data.collator import collate
    from lrm_llava.model import apply_stage, build_tiny_model

    model, processor = build_tiny_model(seed=3)
    apply_stage(model, "finetune")
    model.to("cuda").train()
    items = _items(model, processor, [40, 25, 33, 20, 12, 150], [True, False, True, True, False, True], seed=1)
    pad = processor.tokenizer.pad_token_id
    on_gpu = lambda batch: {k: v.to("cuda") for k, v in batch.items()}  # noqa: E731
    plain_batch = collate(items, pad)
    n_items = int((plain_batch["labels"][:, 1:] != -100).sum())
    model.zero_grad()
    plain = _plain_loss(model, on_gpu(plain_batch), n_items)
    plain.backward()
    ref = _grads(model)
    model.zero_grad()
    kernels.set_lm_attention(model, "flex_attention")
    flex, _ = fast_forward_and_loss(model, on_gpu(collate_packed(items, pad, max_length=160)), n_items,
                                    loss_backend="torch")
    flex.backward()
    got = _grads(model)
    assert torch.allclose(flex, plain, atol=1e-5, rtol=1e-5), (flex.item(), plain.item())
    assert ref.keys() == got.keys() and ref
    for name in ref:
        assert torch.allclose(got[name], ref[name], atol=1e-5, rtol=1e-4), name


def test_attention_and_liger_refuse_clearly(monkeypatch, caplog, train_model):
    with pytest.raises(UserError, match="CUDA GPU only"):
        kernels.check_attention("flex_attention", cuda=False)
    kernels.check_attention("flex_attention", cuda=True)  # fine where a GPU is
    with pytest.raises(UserError, match="must be one of"):
        kernels.check_attention("flash", cuda=True)
    if not kernels.importlib.util.find_spec("flash_attn"):
        with pytest.raises(UserError, match="pip install flash-attn"):
            kernels.check_attention("flash_attention_2", cuda=True)
    if not kernels.liger_installed():
        with pytest.raises(UserError, match="pip install liger-kernel"):
            kernels.check_fused_kernels(True)
    kernels.check_fused_kernels(False)
    # installed but no GPU: a warning, and the torch kernels stay
    model, _ = train_model
    monkeypatch.setattr(kernels, "liger_installed", lambda: True)
    with caplog.at_level(logging.WARNING, logger="lrm_llava.train.kernels"):
        assert kernels.apply_liger(model) is False
    assert "not on a CUDA GPU" in caplog.text


def test_selected_checkpoint_layers(train_model):
    model, _ = train_model
    enable = getattr(model, "activation_checkpointing_enable", None) or model.gradient_checkpointing_enable
    enable({"use_reentrant": False})
    assert [layer.gradient_checkpointing for layer in kernels.decoder_layers(model)] == [True, True]
    assert kernels.select_checkpointed_layers(model, 2) == [True, False]
    with pytest.raises(ValueError):
        kernels.select_checkpointed_layers(model, 0)


# -- through run_training -----------------------------------------------------------------------------
def _data(base: Path) -> tuple[Path, Path]:
    root = base / "images"
    root.mkdir()
    samples = []
    for i in range(6):
        Image.new("RGB", (20 + 3 * i, 16), (40 * i, 255 - 30 * i, 90)).save(root / f"{i}.png")
        samples.append({"id": f"s{i}", "image": f"{i}.png", "conversations": [
            {"from": "human", "value": "<image>\nWhat colour is the picture? " + "Please be brief. " * (i % 3)},
            {"from": "gpt", "value": "It is a colour. " * (1 + i % 3)}]})
    for i in range(3):
        samples.append({"id": f"t{i}", "conversations": [
            {"from": "human", "value": "Say hello " * (i + 1)}, {"from": "gpt", "value": "Hello!"}]})
    path = base / "train.json"
    path.write_text(json.dumps(samples), encoding="utf-8")
    return path, root


def _run(data, out: Path, **over) -> tuple[list[float], dict[str, torch.Tensor], list[dict]]:
    path, root = data
    cfg = load_recipe("tiny", "finetune", {"data": [str(path)], "image_root": str(root), "output_dir": str(out),
                                           "per_device_train_batch_size": 3, "max_steps": 3, "save_steps": 100,
                                           "use_cpu": True, **over})
    folder = run_training(cfg)
    records = [json.loads(line) for line in (folder / "train_log.jsonl").read_text().splitlines()]
    return [r["loss"] for r in records], load_file(str(folder / "model.safetensors")), records


def test_checkpointing_and_compiled_blocks_train_like_the_plain_path(tmp_path):
    data = _data(tmp_path)
    plain_losses, plain_weights, records = _run(data, tmp_path / "plain")
    # the dense log line's MFU fields (CPU: against a measured matmul ceiling)
    assert all(r["mfu"] is not None and 0 < r["mfu"] and r["tflops"] > 0 for r in records)
    variants = {
        "every-2nd-layer": {"gradient_checkpointing": True, "checkpoint_every": 2},
        # the eager backend traces the blocks with dynamo without generating code (fast on a CPU)
        "compiled": {"compile_blocks": True, "compile_blocks_backend": "eager"},
    }
    for name, over in variants.items():
        losses, weights, _ = _run(data, tmp_path / name, **over)
        assert losses == plain_losses, name
        assert weights.keys() == plain_weights.keys()
        for key in weights:
            assert torch.equal(weights[key], plain_weights[key]), (name, key)


@pytest.mark.skipif(os.environ.get("LRM_SLOW_TESTS") != "1", reason="inductor compiles for ~1 min on a CPU; LRM_SLOW_TESTS=1")
def test_inductor_compiled_blocks_smoke(tmp_path):
    data = _data(tmp_path)
    plain_losses, _, _ = _run(data, tmp_path / "plain", max_steps=2)
    losses, _, _ = _run(data, tmp_path / "inductor", max_steps=2, compile_blocks=True)
    assert len(losses) == 2
    for a, b in zip(plain_losses, losses):
        assert abs(a - b) <= 1e-4 * max(1.0, abs(a))


def test_flex_and_liger_switches_stop_before_training_on_a_cpu(tmp_path):
    data = _data(tmp_path)
    with pytest.raises(UserError, match="CUDA GPU only"):
        _run(data, tmp_path / "flex", attn_implementation="flex_attention", packing=True)
    if not kernels.liger_installed():
        with pytest.raises(UserError, match="pip install liger-kernel"):
            _run(data, tmp_path / "liger", fused_kernels=True)
    assert not (tmp_path / "flex" / "train_log.jsonl").exists()
