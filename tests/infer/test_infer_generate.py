"""Batched greedy generation equals one-by-one; pad mode applied; chat CLI on a saved tiny model."""

from __future__ import annotations

import argparse

import pytest
import torch
from PIL import Image

from lrm_llava.errors import UserError
from lrm_llava.infer import answer, generate_batch, load_model
from lrm_llava.model import background_color, expand_to_square


def _images():
    return [
        Image.new("RGB", (40, 30), (255, 0, 0)),
        None,
        Image.new("RGB", (20, 36), (0, 0, 255)),
        None,
        Image.new("RGB", (32, 32), (0, 200, 0)),
    ]


QUESTIONS = ["What is this?", "Hello there, how are you today?", "Welche Farbe?", "你好", "Что это такое и почему?"]


def test_generate_batch_equals_one_by_one(saved_tiny_model):
    model, processor = load_model(saved_tiny_model, device="cpu")
    assert not model.training and model.dtype == torch.float32
    images = _images()
    batched = generate_batch(model, processor, images, QUESTIONS, max_new_tokens=6, batch_size=3)
    single = [answer(model, processor, img, q, max_new_tokens=6) for img, q in zip(images, QUESTIONS)]
    assert batched == single
    assert len(batched) == 5 and all(isinstance(a, str) and a == a.strip() for a in batched)
    assert any(batched)  # a random model still emits some text
    assert generate_batch(model, processor, images, QUESTIONS, max_new_tokens=6, batch_size=16) == single
    assert processor.tokenizer.padding_side == "right"  # restored
    assert generate_batch(model, processor, [], []) == []


def test_load_model_dtype_by_name(saved_tiny_model):
    model, _ = load_model(saved_tiny_model, device="cpu", dtype="bfloat16")
    assert model.dtype == torch.bfloat16
    model, _ = load_model(saved_tiny_model, device="cpu", dtype="auto")  # auto on a CPU: float32
    assert model.dtype == torch.float32
    with pytest.raises(UserError, match="unknown dtype 'fp8'"):
        load_model(saved_tiny_model, device="cpu", dtype="fp8")


def test_pad_mode_matches_manual_padding(tiny_model, tiny_image):
    model, processor = tiny_model
    padded = expand_to_square(tiny_image, background_color(processor))
    a = answer(model, processor, tiny_image, "Was?", max_new_tokens=5)
    assert a == answer(model, processor, padded, "Was?", max_new_tokens=5)
    model.config.image_aspect_ratio = "resize"  # crops instead: a different image reaches the model
    enc_pad = processor.image_processor(images=[padded], return_tensors="pt")["pixel_values"]
    enc_crop = processor.image_processor(images=[tiny_image], return_tensors="pt")["pixel_values"]
    assert not torch.equal(enc_pad, enc_crop)


def test_generate_batch_errors(tiny_model, tmp_path):
    model, processor = tiny_model
    with pytest.raises(UserError, match="2 images but 1 questions"):
        generate_batch(model, processor, [None, None], ["q"])
    with pytest.raises(UserError, match="unknown chat template"):
        generate_batch(model, processor, [None], ["q"], template="nope")
    with pytest.raises(UserError, match="not found"):
        generate_batch(model, processor, [tmp_path / "missing.png"], ["q"])
    with pytest.raises(UserError, match="no config.json"):
        load_model(tmp_path)


def test_chat_command(saved_tiny_model, tiny_image, tmp_path, capsys):
    from lrm_llava.infer import cli as infer_cli

    image_path = tmp_path / "img.png"
    tiny_image.save(image_path)
    parser = argparse.ArgumentParser()
    infer_cli.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(
        ["chat", "--model", str(saved_tiny_model), "--image", str(image_path), "--max-new-tokens", "5", "Was ist das?"]
    )
    assert args.func(args) == 0
    printed = capsys.readouterr().out.strip()
    model, processor = load_model(saved_tiny_model, device="cpu")
    assert printed == answer(model, processor, Image.open(image_path), "Was ist das?", max_new_tokens=5)


def test_chat_through_main_cli(saved_tiny_model, capsys):
    from lrm_llava import cli

    assert cli.main(["chat", "--model", str(saved_tiny_model), "--max-new-tokens", "3", "Hallo?"]) == 0
    assert capsys.readouterr().out.endswith("\n")
    assert cli.main(["chat", "--model", str(saved_tiny_model / "missing"), "Hallo?"]) == 1


def test_tokenizer_chat_template_generation(tiny_model):
    model, processor = tiny_model
    with pytest.raises(UserError, match="has none"):
        answer(model, processor, None, "Hallo", template="tokenizer")
    processor.tokenizer.chat_template = (
        "{% for m in messages %}<s>{{ m['role'] }}: {{ m['content'] }}</s>{% endfor %}"
        "{% if add_generation_prompt %}<s>assistant:{% endif %}"
    )
    images, questions = _images()[:3], QUESTIONS[:3]
    batched = generate_batch(model, processor, images, questions, template="tokenizer", max_new_tokens=4)
    single = [answer(model, processor, i, q, template="tokenizer", max_new_tokens=4) for i, q in zip(images, questions)]
    assert batched == single
