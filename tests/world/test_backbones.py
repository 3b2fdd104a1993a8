"""Tiny backbones: a few training steps, then the folders load with plain transformers, offline."""

from __future__ import annotations

import json
from dataclasses import asdict

import pytest
import torch
from PIL import Image
from transformers import AutoModelForCausalLM, AutoTokenizer, CLIPImageProcessor, CLIPModel

from lrm_llava.cli import main
from lrm_llava.errors import UserError
from lrm_llava.languages import ALL_CODES
from lrm_llava.world.backbones import QUICK, BackboneConfig, format_metrics, lm_documents, train_backbones
from lrm_llava.world.export import build_world

TINY = BackboneConfig(
    vision_hidden=32, vision_layers=1, text_hidden=32, text_layers=1, projection_dim=16, clip_steps=3,
    clip_batch=8, clip_heldout=10, llm_hidden=32, llm_layers=1, llm_heads=2, llm_vocab=400, llm_steps=3,
    llm_batch=4, llm_block=64,
)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("bb")
    build_world(root / "world", n_train_scenes=30, n_bench_scenes=8, seed=0, quick=True)
    metrics = train_backbones(root / "world", root / "backbones", config=TINY)
    return root, metrics


def test_metrics_are_recorded(trained):
    root, metrics = trained
    saved = json.loads((root / "backbones" / "metrics.json").read_text())
    assert saved["vision"]["heldout_scenes"] == 10
    v = metrics["vision"]
    assert 0.0 <= v["retrieval_top1"] <= v["retrieval_top5"] <= 1.0
    assert v["chance_top1"] == pytest.approx(0.1) and v["chance_top5"] == pytest.approx(0.5)
    ppl = metrics["llm"]["heldout_perplexity"]
    assert list(ppl) == list(ALL_CODES) and all(p > 1.0 for p in ppl.values())
    assert "top-1" in format_metrics(metrics) and "zh" in format_metrics(metrics)


def test_vision_folder_loads_like_a_real_clip(trained):
    root, _ = trained
    folder = root / "backbones" / "vision"
    model = CLIPModel.from_pretrained(folder, local_files_only=True)
    proc = CLIPImageProcessor.from_pretrained(folder, local_files_only=True)
    tok = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    # one patch per cell of the 3 x 3 layout: each image token sees exactly one shape
    assert model.config.vision_config.image_size == 96 and model.config.vision_config.patch_size == 32
    img = Image.open(root / "world" / "images" / "sw_train_000000.png")
    px = proc(images=img, return_tensors="pt")["pixel_values"]
    assert tuple(px.shape) == (1, 3, 96, 96)
    with torch.no_grad():
        hidden = model.vision_model(pixel_values=px, output_hidden_states=True).hidden_states
    assert hidden[-2].shape[1] == 1 + 9  # CLS + 9 patches, one per cell
    ids = tok("There is one shape: a large red circle on the left.")["input_ids"]
    assert ids[0] == tok.bos_token_id and ids[-1] == tok.eos_token_id == model.config.text_config.eos_token_id
    assert tok.eos_token_id != 2  # CLIP treats eos id 2 as a legacy config and pools elsewhere


def test_llm_folder_loads_like_a_real_causal_lm(trained):
    root, metrics = trained
    folder = root / "backbones" / "llm"
    model = AutoModelForCausalLM.from_pretrained(folder, local_files_only=True)
    tok = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    assert type(model).__name__ == "LlamaForCausalLM"
    assert (tok.unk_token, tok.bos_token, tok.eos_token, tok.pad_token) == ("<unk>", "<s>", "</s>", "<pad>")
    assert model.config.eos_token_id == tok.eos_token_id and model.config.vocab_size == len(tok)
    for text in ("Сколько звёзд на изображении?", "图片中有几颗星星？", "Kolik kruhů je na obrázku?"):
        assert tok.decode(tok(text)["input_ids"], skip_special_tokens=True) == text
    out = model.generate(**tok("USER: Is there a red circle in the image? ASSISTANT:", return_tensors="pt"),
                         max_new_tokens=3, do_sample=False)
    assert out.shape[1] > 1
    # Resuming: complete folders are reused, not retrained.
    again = train_backbones(root / "world", root / "backbones", config=TINY)
    assert again["vision"]["reused"] and again["llm"]["reused"]


def test_lm_text_is_english_dominant(trained):
    root, _ = trained
    train, held = lm_documents(root / "world", BackboneConfig(english_share=0.75))
    n_en = len(train["en"])
    others = [len(train[c]) for c in ALL_CODES if c != "en"]
    assert len(set(others)) == 1 and others[0] > 0
    assert n_en / (n_en + sum(others)) == pytest.approx(0.75, abs=0.05)
    assert any("ASSISTANT:" in d for d in train["ru"]) and any("USER:" in d for d in held["zh"])
    assert all(h not in train["en"] for h in held["en"][:5])


def test_missing_world_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="world build"):
        train_backbones(tmp_path / "nope", tmp_path / "out", config=TINY)


def test_backbones_trained_with_other_settings_are_refused_not_reused(trained):
    root, _ = trained
    before = (root / "backbones" / "llm" / "model.safetensors").read_bytes()
    other = BackboneConfig(**{**asdict(TINY), "llm_init_range": 0.1, "threads": 2})
    with pytest.raises(UserError, match=r"llm_init_range: 0.05 -> 0.1.*remove") as err:
        train_backbones(root / "world", root / "backbones", config=other)
    assert "threads" not in str(err.value)  # a run-time setting, not a property of the weights
    assert (root / "backbones" / "llm" / "model.safetensors").read_bytes() == before


def test_cli_set_overrides_backbone_settings(tmp_path, capsys):
    from lrm_llava.world.backbones import config_from_overrides

    assert config_from_overrides({"llm_init_range": 0.1}).llm_init_range == 0.1
    assert config_from_overrides({"llm_steps": 7}, quick=True).llm_vocab == QUICK["llm_vocab"]
    with pytest.raises(UserError, match="unknown backbone setting.*llm_init_rnage.*known: .*llm_init_range"):
        config_from_overrides({"llm_init_rnage": 0.1})
    assert main(["world", "backbones", "--world", str(tmp_path), "--out", str(tmp_path / "b"), "--set", "nope=1"]) != 0
    assert "unknown backbone setting(s) nope" in capsys.readouterr().err


def test_side_by_side_training_gives_the_same_weights(trained, tmp_path):
    root, metrics = trained
    side = train_backbones(root / "world", tmp_path / "side", config=TINY, workers=2)
    for name in ("vision", "llm"):
        a = (root / "backbones" / name / "model.safetensors").read_bytes()
        assert (tmp_path / "side" / name / "model.safetensors").read_bytes() == a, name
        assert (tmp_path / "side" / "logs" / f"{name}.log").is_file()  # each process's own output
    assert side["llm"]["heldout_perplexity"] == metrics["llm"]["heldout_perplexity"]
