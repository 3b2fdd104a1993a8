"""The speed-up flags wired into `run_training`: the same losses step by step and the same weights
as the plain run (tiny model, a few CPU steps)."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from PIL import Image
from safetensors.torch import load_file

from lrm_llava.train import load_recipe, run_training


def _data(base: Path) -> tuple[Path, Path]:
    root = base / "images"
    root.mkdir()
    samples = []
    for i in range(8):
        Image.new("RGB", (20 + 3 * i, 16), (40 * i, 255 - 30 * i, 90)).save(root / f"{i}.png")
        for lang, question in (("en", "What colour is the picture?"), ("de", "Welche Farbe hat das Bild?")):
            samples.append({"id": f"s{i}-{lang}", "image": f"{i}.png", "lang": lang, "conversations": [
                {"from": "human", "value": "<image>\n" + question + " " + "Please be brief. " * (i % 4)},
                {"from": "gpt", "value": "It is a colour. " * (1 + i % 3)}]})
    path = base / "train.json"
    path.write_text(json.dumps(samples), encoding="utf-8")
    return path, root


def _run(data, out: Path, **over) -> tuple[list[float], dict[str, torch.Tensor]]:
    path, root = data
    cfg = load_recipe("tiny", "finetune", {"data": [str(path)], "image_root": str(root), "output_dir": str(out),
                                           "per_device_train_batch_size": 4, "max_steps": 3, "save_steps": 100,
                                           "use_cpu": True, **over})  # fp32 on any machine: a tight comparison
    folder = run_training(cfg)
    losses = [json.loads(line)["loss"] for line in (folder / "train_log.jsonl").read_text().splitlines()]
    return losses, load_file(str(folder / "model.safetensors"))


def test_speedups_train_like_the_plain_path(tmp_path):
    data = _data(tmp_path)
    plain_losses, plain_weights = _run(data, tmp_path / "plain")
    fast_losses, fast_weights = _run(data, tmp_path / "fast", packing=True, packing_max_length=400,
                                     chunked_loss=True, vision_cache=True,
                                     vision_cache_dir=str(tmp_path / "vision_cache"))
    assert len(plain_losses) == len(fast_losses) == 3
    for a, b in zip(plain_losses, fast_losses):
        assert abs(a - b) <= 1e-4 * max(1.0, abs(a)), (plain_losses, fast_losses)
    assert plain_weights.keys() == fast_weights.keys()
    for key in plain_weights:
        assert torch.allclose(plain_weights[key], fast_weights[key], atol=1e-5, rtol=1e-4), key
    assert len(list((tmp_path / "vision_cache").glob("*.safetensors"))) == 8  # one file per distinct image
