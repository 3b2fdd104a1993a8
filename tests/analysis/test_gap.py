"""Tests for the modality-gap analysis (`lrm_llava.analysis.gap`).

Metric tests use synthetic features with known answers; the end-to-end test builds a tiny random
Llava model (CLIP vision tower + LLaMA LM + a BPE tokenizer trained here), a few images and a small
multilingual LLaVA JSON, and runs `lrm-llava analyze gap` through its parser.

    .venv/bin/python -m pytest -q tests/analysis/test_gap.py
"""

from __future__ import annotations

import argparse
import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest

from lrm_llava.analysis import gap
from lrm_llava.errors import DataError, UserError

# --------------------------------------------------------------------------------------------------
# Metrics on synthetic features
# --------------------------------------------------------------------------------------------------


def _gaussians(shift: float, n: int = 400, d: int = 8, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    visual = rng.normal(size=(n, d))
    text = rng.normal(size=(n, d))
    text[:, 0] += shift
    return visual, text


def test_identical_distributions_show_no_gap() -> None:
    visual, text = _gaussians(0.0, n=1000)
    # E||mu_v - mu_t||^2 = 2d/n and tr Cov = d, so the expected value is about sqrt(2/n) = 0.045.
    assert gap.centroid_distance(visual, text) < 0.1
    assert abs(gap.probe_accuracy(visual, text) - 0.5) < 0.06
    assert abs(gap.mmd2_unbiased(visual, text)) < 0.005


def test_shifted_distributions_show_a_gap_that_grows_with_the_shift() -> None:
    shifts = [0.5, 1.0, 2.0, 4.0, 8.0]
    mmd = [gap.mmd2_unbiased(*_gaussians(s)) for s in shifts]
    mmd_fixed = [gap.mmd2_unbiased(*_gaussians(s), bandwidth=3.0) for s in shifts]
    centroid = [gap.centroid_distance(*_gaussians(s)) for s in shifts]
    assert all(m > 0.003 for m in mmd)
    assert mmd == sorted(mmd) and len(set(mmd)) == len(mmd)
    assert mmd_fixed == sorted(mmd_fixed)
    assert centroid == sorted(centroid)
    # A far shift along one axis: the two clouds are linearly separable.
    assert gap.probe_accuracy(*_gaussians(8.0)) > 0.99
    assert gap.mmd2_unbiased(*_gaussians(0.0)) < mmd[0]


def test_centroid_distance_exact_value() -> None:
    # text is visual translated by delta: same spread, centroids exactly delta apart.
    visual = np.array([[0.0, 0.0], [2.0, 0.0], [0.0, 2.0], [2.0, 2.0]])
    delta = np.array([3.0, 4.0])
    # tr Cov = var(x) + var(y) = 1 + 1 = 2 for both, so the value is |delta| / sqrt(2) = 5 / sqrt(2).
    assert gap.centroid_distance(visual, visual + delta) == pytest.approx(5.0 / math.sqrt(2.0), abs=1e-12)
    assert gap.centroid_distance(visual, visual) == 0.0
    # Invariant to scaling both modalities together.
    assert gap.centroid_distance(10 * visual, 10 * (visual + delta)) == pytest.approx(5.0 / math.sqrt(2.0))


def test_mmd2_exact_value_on_a_hand_computed_case() -> None:
    # 1-D, bandwidth 1: k(a, b) = exp(-(a - b)^2 / 2).
    x = np.array([[0.0], [1.0]])
    y = np.array([[0.0], [2.0]])
    kxx = math.exp(-0.5)  # the one off-diagonal pair (0, 1), counted twice / (2 * 1)
    kyy = math.exp(-2.0)  # pair (0, 2)
    # cross pairs: (0,0)=1, (0,2)=e^-2, (1,0)=e^-0.5, (1,2)=e^-0.5; mean over 4
    kxy = (1 + math.exp(-2.0) + 2 * math.exp(-0.5)) / 4
    expected = kxx + kyy - 2 * kxy  # simplifies to (e^-2 - 1) / 2
    assert expected == pytest.approx(-0.5 + 0.5 * math.exp(-2.0), abs=1e-12)
    assert gap.mmd2_unbiased(x, y, bandwidth=1.0) == pytest.approx(expected, abs=1e-12)


def test_median_bandwidth_ignores_duplicates() -> None:
    # pooled points 0, 0, 1, 3: non-zero distances 1, 1, 3, 3, 2 -> median 2.
    v = np.array([[0.0], [0.0]])
    t = np.array([[1.0], [3.0]])
    assert gap.median_bandwidth(v, t) == pytest.approx(2.0)


def test_probe_groups_keep_duplicated_images_out_of_the_test_fold() -> None:
    # Ten images, each repeated in 4 samples (4 languages); the text rows are fresh noise from the
    # same distribution. Without groups the probe memorises the duplicated visual rows.
    rng = np.random.default_rng(1)
    images = rng.normal(size=(10, 32))
    visual = np.repeat(images, 4, axis=0)
    text = rng.normal(size=(40, 32))
    groups = [f"img{i}" for i in range(10) for _ in range(4)]
    assert gap.probe_accuracy(visual, text, groups=groups) < 0.75
    with pytest.raises(ValueError):
        gap.probe_accuracy(visual, text[:-1], groups=groups)


def test_metrics_reject_mismatched_widths() -> None:
    with pytest.raises(ValueError, match="width"):
        gap.centroid_distance(np.zeros((3, 2)), np.zeros((3, 3)))


# --------------------------------------------------------------------------------------------------
# Data handling
# --------------------------------------------------------------------------------------------------


def _sample(i: int, lang: str, image: str = "a.png", question: str = "What colour is the shape?") -> dict:
    return {
        "id": f"s{i}", "image": image, "lang": lang, "answer_lang": lang, "task": "mvqa",
        "source_id": f"src{i}",
        "conversations": [{"from": "human", "value": f"<image>\n{question}"}, {"from": "gpt", "value": "Red."}],
    }


def test_select_samples_filters_languages_skips_text_only_and_subsamples_reproducibly() -> None:
    items = [_sample(i, ["en", "de", "zh"][i % 3]) for i in range(30)] + [{"id": "t", "conversations": []}]
    de = gap.select_samples(items, ["de"], None, seed=0)
    assert [s.lang for s in de] == ["de"] * 10
    assert de[0].text == "What colour is the shape?"
    picked = gap.select_samples(items, None, 7, seed=3)
    assert len(picked) == 7 and picked == gap.select_samples(items, None, 7, seed=3)
    assert [s.id for s in picked] == sorted([s.id for s in picked], key=lambda x: int(x[1:]))


def test_samples_without_lang_or_question_are_reported_by_id() -> None:
    bad = _sample(5, "de")
    del bad["lang"]
    with pytest.raises(DataError, match=r"id 's5'.*'lang'"):
        gap.select_samples([bad], None, None, 0)
    only_image = _sample(6, "de", question="")
    with pytest.raises(DataError, match="id 's6'.*only <image>"):
        gap.select_samples([only_image], None, None, 0)
    with pytest.raises(DataError, match="id 's7'"):
        gap.select_samples([_sample(7, "xx")], None, None, 0)


def test_tables_are_tidy(tmp_path: Path) -> None:
    rows = [
        {"model": "m", "language": "all", "metric": "n", "value": 20},
        {"model": "m", "language": "all", "metric": "probe_accuracy", "value": 0.75},
    ]
    gap.write_tables(rows, tmp_path)
    assert json.loads((tmp_path / "gap.json").read_text()) == rows
    with (tmp_path / "gap.csv").open() as fh:
        assert list(csv.DictReader(fh))[1] == {"model": "m", "language": "all", "metric": "probe_accuracy", "value": "0.75"}
    assert "| m | all | 20 | nan | 0.750 | nan |" in (tmp_path / "gap.md").read_text()


# --------------------------------------------------------------------------------------------------
# End to end on a tiny random Llava model
# --------------------------------------------------------------------------------------------------

SENTENCES = [
    "What colour is the shape?", "Welche Farbe hat die Form?", "Di che colore è la forma?",
    "De quelle couleur est la forme ?", "这个形状是什么颜色？", "Какого цвета фигура?",
    "How many circles are there?", "Wie viele Kreise gibt es?", "Quanti cerchi ci sono?",
    "Combien de cercles y a-t-il ?", "有几个圆？", "Сколько кругов?",
]
LANGS = ["en", "de", "it", "fr", "zh", "ru"]


def _tiny_llava(folder: Path) -> None:
    """A random Llava (CLIP 32px/patch 8 + 2-layer LLaMA) with a BPE tokenizer trained on SENTENCES."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import (
        CLIPImageProcessor,
        CLIPVisionConfig,
        LlamaConfig,
        LlavaConfig,
        LlavaForConditionalGeneration,
        LlavaProcessor,
        PreTrainedTokenizerFast,
    )

    specials = ["<unk>", "<s>", "</s>", "<pad>", "<image>"]
    bpe = Tokenizer(models.BPE(unk_token="<unk>"))
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    bpe.train_from_iterator(SENTENCES * 3, trainers.BpeTrainer(vocab_size=300, special_tokens=specials))
    bpe.post_processor = processors.TemplateProcessing(
        single="<s> $A", special_tokens=[("<s>", bpe.token_to_id("<s>"))]
    )
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=bpe, unk_token="<unk>", bos_token="<s>", eos_token="</s>", pad_token="<pad>",
        extra_special_tokens={"image_token": "<image>"},
    )
    torch.manual_seed(0)
    config = LlavaConfig(
        vision_config=CLIPVisionConfig(
            hidden_size=16, intermediate_size=32, num_hidden_layers=2, num_attention_heads=2,
            image_size=32, patch_size=8, projection_dim=16,
        ),
        text_config=LlamaConfig(
            vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
            num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=256,
            pad_token_id=tokenizer.pad_token_id, bos_token_id=tokenizer.bos_token_id,
            eos_token_id=tokenizer.eos_token_id,
        ),
        image_token_index=tokenizer.convert_tokens_to_ids("<image>"),
        vision_feature_layer=-2, vision_feature_select_strategy="default", projector_hidden_act="gelu",
    )
    LlavaForConditionalGeneration(config).save_pretrained(folder)
    image_processor = CLIPImageProcessor(
        size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32},
        image_mean=[0.5, 0.4, 0.3], image_std=[0.25, 0.25, 0.25],
    )
    LlavaProcessor(
        image_processor=image_processor, tokenizer=tokenizer, patch_size=8,
        vision_feature_select_strategy="default", num_additional_image_tokens=1,
    ).save_pretrained(folder)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> dict:
    from PIL import Image, ImageDraw

    base = tmp_path_factory.mktemp("gap")
    model = base / "model"
    _tiny_llava(model)
    images = base / "images"
    (images / "shapes").mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(12):
        img = Image.new("RGB", (40, 24) if i % 2 else (24, 24), tuple(int(c) for c in rng.integers(0, 255, 3)))
        ImageDraw.Draw(img).ellipse((4, 4, 18, 18), fill=tuple(int(c) for c in rng.integers(0, 255, 3)))
        img.save(images / "shapes" / f"{i}.png")
    items = []
    for i in range(12):
        for j, lang in enumerate(LANGS):
            q = SENTENCES[(j + 6 * (i % 2)) % len(SENTENCES)]
            items.append(_sample(len(items), lang, image=f"shapes/{i}.png", question=q))
    items.append({"id": "text-only", "conversations": [{"from": "human", "value": "Hi"}, {"from": "gpt", "value": "Hello."}]})
    data = base / "data.json"
    data.write_text(json.dumps(items, ensure_ascii=False), encoding="utf-8")
    return {"base": base, "model": model, "images": images, "data": data}


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="lrm-llava analyze")
    gap.add_gap_parser(parser.add_subparsers(dest="analysis"))
    return parser.parse_args(argv)


@pytest.mark.slow
def test_end_to_end_two_models_per_language(tiny_run: dict) -> None:
    out = tiny_run["base"] / "out"
    args = _parse([
        "gap", "--model", str(tiny_run["model"]), "--model", str(tiny_run["model"]),
        "--name", "a", "--name", "b", "--data", str(tiny_run["data"]),
        "--image-root", str(tiny_run["images"]), "--n", "0", "--languages", "en,de,zh",
        "--out", str(out), "--per-language", "--batch-size", "7", "--device", "cpu",
    ])
    assert args.func(args) == 0
    rows = json.loads((out / "gap.json").read_text())
    assert set(rows[0]) == {"model", "language", "metric", "value"}
    cells = {(r["model"], r["language"], r["metric"]): r["value"] for r in rows}
    assert cells[("a", "all", "n")] == 36  # 12 images x 3 languages; the rest and text-only left out
    assert {r["language"] for r in rows} == {"all", "en", "zh", "de"}
    for lang in ("all", "en", "zh", "de"):
        assert cells[("a", lang, "n")] == (36 if lang == "all" else 12)
        for metric in gap.METRICS:
            assert math.isfinite(cells[("a", lang, metric)])
            # Same weights, same samples: both models give the same numbers.
            assert cells[("a", lang, metric)] == pytest.approx(cells[("b", lang, metric)])
    # Random projector vs random LM states: the modalities are far apart.
    assert cells[("a", "all", "probe_accuracy")] > 0.9
    assert cells[("a", "all", "centroid_distance")] > 0.5
    assert (out / "gap.png").stat().st_size > 1000
    assert (out / "gap_de.png").stat().st_size > 1000 and not (out / "gap_ru.png").exists()
    assert (out / "gap.csv").is_file() and "| a | de | 12 |" in (out / "gap.md").read_text()
    # A cached rerun reuses the features and gives the same rows.
    first = (out / "features" / "a.npz").stat().st_mtime_ns
    assert gap.run_gap(gap.GapConfig(
        models=[str(tiny_run["model"])] * 2, names=["a", "b"], data=str(tiny_run["data"]),
        image_root=str(tiny_run["images"]), out=str(out), n=None, languages="en,de,zh",
        device="cpu", plot=False,
    )) == rows
    assert (out / "features" / "a.npz").stat().st_mtime_ns == first


def test_features_match_the_model_by_hand(tiny_run: dict) -> None:
    import torch
    from transformers import AutoModelForImageTextToText, AutoProcessor

    model = AutoModelForImageTextToText.from_pretrained(tiny_run["model"]).eval()
    processor = AutoProcessor.from_pretrained(tiny_run["model"])
    text = "Wie viele Kreise gibt es?"
    emb = gap.text_features(model, processor, [text, "Hi"], layer="embed")
    ids = processor.tokenizer(text, return_tensors="pt")["input_ids"]
    assert ids[0, 0].item() == processor.tokenizer.bos_token_id
    with torch.no_grad():
        want = model.get_input_embeddings()(ids[:, 1:])[0].mean(0).numpy()  # BOS left out of the mean
        last_want = model.model.language_model(input_ids=ids).last_hidden_state[0, 1:].mean(0).numpy()
    np.testing.assert_allclose(emb[0], want, rtol=1e-5, atol=1e-6)
    last = gap.text_features(model, processor, [text, "Hi"], layer="last")
    np.testing.assert_allclose(last[0], last_want, rtol=1e-4, atol=1e-5)
    # Padding in a batch does not change a text's features.
    alone = gap.text_features(model, processor, ["Hi"], layer="last")
    np.testing.assert_allclose(last[1], alone[0], rtol=1e-4, atol=1e-5)
    vis = gap.visual_features(model, processor, ["shapes/1.png"], tiny_run["images"])
    # Image 1 is 40x24: padded to 40x40 with the mean colour (int(255 * mean), as in training).
    from PIL import Image

    img = Image.open(tiny_run["images"] / "shapes" / "1.png").convert("RGB")
    square = Image.new("RGB", (40, 40), (127, 102, 76))
    square.paste(img, (0, 8))
    pixels = processor.image_processor(images=[square], return_tensors="pt")["pixel_values"]
    with torch.no_grad():
        feats = model.model.get_image_features(
            pixel_values=pixels, vision_feature_layer=-2, vision_feature_select_strategy="default"
        ).pooler_output
    assert feats[0].shape == (16, 32)  # (32 / 8)^2 patches, CLS dropped; LM width 32
    np.testing.assert_allclose(vis[0], feats[0].mean(0).numpy(), rtol=1e-5, atol=1e-6)
    with pytest.raises(DataError, match="outside the image root"):
        gap.visual_features(model, processor, ["../data.json"], tiny_run["images"])


def test_cli_errors_are_user_errors(tiny_run: dict) -> None:
    args = _parse(["gap", "--model", str(tiny_run["model"]), "--name", "x", "--name", "y",
                   "--data", str(tiny_run["data"]), "--image-root", str(tiny_run["images"])])
    with pytest.raises(UserError, match="one name per model"):
        args.func(args)
    args = _parse(["gap", "--model", str(tiny_run["base"]), "--data", str(tiny_run["data"]),
                   "--image-root", str(tiny_run["images"]), "--out", str(tiny_run["base"] / "o2")])
    with pytest.raises(UserError, match="no config.json"):
        args.func(args)


# --------------------------------------------------------------------------------------------------
# The sample contract shared with `analyze reliance`, flags, and errors before any model runs
# --------------------------------------------------------------------------------------------------


def test_first_exchange_reads_the_first_round_wherever_the_image_token_sits() -> None:
    item = _sample(1, "de", question="Welche Farbe?")
    assert gap.first_exchange(item, "f.json line 1") == ("Welche Farbe?", "Red.")
    item["conversations"][0]["value"] = "Welche  \n  Farbe?\n<image>"
    assert gap.first_exchange(item, "f.json line 1") == ("Welche\nFarbe?", "Red.")
    # user/assistant are accepted speaker names (data.reader's rule); the answer is kept as written
    item["conversations"] = [{"from": "user", "value": "<image>Was?"}, {"from": "assistant", "value": " Rot. "}]
    assert gap.first_exchange(item, "x") == ("Was?", " Rot. ")


def test_first_exchange_applies_the_readers_validation() -> None:
    two_images = _sample(2, "de")
    two_images["conversations"][1]["value"] = "<image>"
    with pytest.raises(DataError, match=r"f.json line 3 \(id 's2'\).*exactly one <image>"):
        gap.first_exchange(two_images, "f.json line 3")
    with pytest.raises(DataError, match=r"\(id 's3'\).*ends with a human turn"):
        gap.first_exchange({**_sample(3, "de"), "conversations": [{"from": "human", "value": "<image>\nQ"}]}, "x")


def test_sample_language_defaults_and_errors() -> None:
    assert gap.sample_language({"id": 1, "lang": "zh"}, "x") == "zh"
    assert gap.sample_language({"id": 1}, "x", default="en") == "en"
    with pytest.raises(DataError, match=r"x \(id 1\): no 'lang' field.*Fix"):
        gap.sample_language({"id": 1}, "x")


def test_the_gap_parser_takes_its_defaults_from_gap_config() -> None:
    from lrm_llava.options import field_default

    args = _parse(["gap", "--model", "m", "--data", "d.json", "--image-root", "img"])
    for name in ("out", "n", "languages", "per_language", "text_layer", "batch_size", "dtype", "seed", "plot"):
        assert getattr(args, name) == field_default(gap.GapConfig, name), name
    assert args.device is None and not hasattr(args, "template") and args.names == []
    assert gap.GapConfig(models=["m"], data="d", image_root="i").device is None  # "auto": a GPU when there is one
    args = _parse(["gap", "--model", "m", "--model", "n", "--name", "a", "--name", "b", "--data", "d.json",
                   "--image-root", "img", "--device", "auto", "--dtype", "bfloat16", "--no-plot", "--n", "0"])
    assert (args.models, args.names, args.device, args.dtype, args.plot) == (["m", "n"], ["a", "b"], "auto", "bfloat16", False)


def test_bad_settings_are_user_errors_before_any_model_loads(tiny_run: dict, monkeypatch) -> None:
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    common = ["gap", "--model", str(tiny_run["model"]), "--data", str(tiny_run["data"]),
              "--image-root", str(tiny_run["images"]), "--out", str(tiny_run["base"] / "o3")]
    for extra, message in [
        (["--device", "tpu9"], "unknown device 'tpu9'"),
        (["--device", "cuda"], "no CUDA GPU.*--device cpu"),
        (["--batch-size", "0"], "--batch-size 0"),
    ]:
        args = _parse(common + extra)
        with pytest.raises(UserError, match=message):
            args.func(args)
    with pytest.raises(SystemExit):  # no chat template in gap: the flag does not exist
        _parse(common + ["--template", "vicuna_v1"])
    assert not (tiny_run["base"] / "o3").exists()
    # "auto" is still accepted, and the config alone works as it did
    assert gap.check_config(gap.GapConfig(models=[str(tiny_run["model"])], data=str(tiny_run["data"]),
                                          image_root=str(tiny_run["images"]), device="auto")) == ["model"]


def test_a_broken_model_folder_is_a_user_error(tiny_run: dict) -> None:
    import shutil

    broken = shutil.copytree(tiny_run["model"], tiny_run["base"] / "broken")
    weights = broken / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])
    args = _parse(["gap", "--model", str(broken), "--data", str(tiny_run["data"]), "--device", "cpu",
                   "--image-root", str(tiny_run["images"]), "--out", str(tiny_run["base"] / "o4"), "--no-plot"])
    with pytest.raises(UserError, match="truncated or corrupt"):
        args.func(args)
    (broken / "config.json").write_text("{nope", encoding="utf-8")
    with pytest.raises(UserError, match="config.json is broken"):
        args.func(args)
