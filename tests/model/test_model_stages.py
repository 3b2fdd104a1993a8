"""Stage freezing: exact requires_grad per stage, LoRA injection/merging, errors."""

from __future__ import annotations

import pytest
import torch
from transformers import AutoModelForImageTextToText

from lrm_llava.errors import UserError
from lrm_llava.model import (
    STAGES,
    LoraOptions,
    apply_stage,
    has_lora,
    merge_lora,
    save_model,
    trainable_parameter_names,
)

PROJ = "model.multi_modal_projector."
LM = "model.language_model."
VIS = "model.vision_tower."


def _numel(model, prefix: str) -> int:
    return sum(p.numel() for n, p in model.named_parameters() if n.startswith(prefix))


def test_pretrain_trains_only_the_projector(tiny_model):
    model, _ = tiny_model
    counts = apply_stage(model, "pretrain")
    names = trainable_parameter_names(model)
    assert sorted(names) == sorted(PROJ + k for k in ("linear_1.weight", "linear_1.bias", "linear_2.weight", "linear_2.bias"))
    total = sum(p.numel() for p in model.parameters())
    assert counts == {"trainable": _numel(model, PROJ), "frozen": total - _numel(model, PROJ)}
    assert STAGES["pretrain"].template == "lrm_pretrain"


def test_finetune_trains_lm_head_and_projector_not_vision(tiny_model):
    model, _ = tiny_model
    apply_stage(model, "pretrain")
    counts = apply_stage(model, "finetune")  # re-applying a stage resets the previous one
    for name, param in model.named_parameters():
        assert param.requires_grad == (not name.startswith(VIS)), name
    assert counts["frozen"] == _numel(model, VIS)
    assert counts["trainable"] == _numel(model, PROJ) + _numel(model, LM) + _numel(model, "lm_head.")


def test_lora_finetune_trains_adapters_and_projector(tiny_model, tmp_path):
    model, processor = tiny_model
    enc = processor(text="USER: Hallo ASSISTANT:", return_tensors="pt")
    apply_stage(model, "finetune", lora=LoraOptions(r=4, alpha=8, dropout=0.0, target_modules=("q_proj", "v_proj")))
    assert has_lora(model)
    names = trainable_parameter_names(model)
    lora_names = [n for n in names if "lora_" in n]
    assert lora_names and all(n.startswith(LM) for n in lora_names)
    assert {n.split(".lora_")[0].rsplit(".", 1)[-1] for n in lora_names} == {"q_proj", "v_proj"}
    assert sorted(set(names) - set(lora_names)) == sorted(n for n, _ in model.named_parameters() if n.startswith(PROJ))
    assert not any("lora_" in n for n, _ in model.model.vision_tower.named_parameters())
    # make the adapters non-trivial, then merging must keep the function and remove the adapters
    with torch.no_grad():
        for n, p in model.named_parameters():
            if "lora_B" in n:
                p.normal_(0, 0.5)
        before = model(**enc).logits
    out = save_model(model, processor, tmp_path / "merged")  # merges first
    assert not has_lora(model)
    with torch.no_grad():
        assert torch.allclose(model(**enc).logits, before, atol=1e-5)
        loaded = AutoModelForImageTextToText.from_pretrained(out).eval()
        assert torch.allclose(loaded(**enc).logits, before, atol=1e-5)
    assert merge_lora(model) is model  # no-op without adapters


def test_stage_errors(tiny_model):
    model, _ = tiny_model
    with pytest.raises(UserError, match="known stages: pretrain, finetune"):
        apply_stage(model, "warmup")
    with pytest.raises(UserError, match="LoRA is only available"):
        apply_stage(model, "pretrain", lora=LoraOptions(r=2))
    with pytest.raises(UserError, match="match no layer"):
        apply_stage(model, "finetune", lora=LoraOptions(r=2, target_modules=("nonexistent_proj",)))
