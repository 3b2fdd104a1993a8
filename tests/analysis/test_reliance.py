"""Tests for the image-reliance analysis (`lrm_llava.analysis.reliance`).

Pure functions on hand-computed cases; the end-to-end test runs `lrm-llava analyze reliance`
through its parser on the tiny random Llava of the gap tests, once as built and once with the
projector zeroed (a model that cannot see: no answer may change).

    .venv/bin/python -m pytest -q tests/analysis/test_reliance.py
"""

from __future__ import annotations

import argparse
import importlib.util
import json
from pathlib import Path

import pytest

from lrm_llava.analysis import reliance
from lrm_llava.errors import DataError, UserError


def _prompt(i: int, lang: str, answer: str, image: str = "a.png") -> reliance.ReliancePrompt:
    return reliance.ReliancePrompt(id=str(i), image=image, lang=lang, question="Is there a star?", answer=answer)


def test_swapped_images_never_give_a_sample_its_own_image_and_are_reproducible() -> None:
    images = ["a", "a", "b", "c", "c", "c", "d"]
    swapped = reliance.swapped_images(images, seed=3)
    assert all(s != own for s, own in zip(swapped, images))
    assert swapped == reliance.swapped_images(images, seed=3)


def test_swapped_images_need_two_different_images() -> None:
    with pytest.raises(UserError, match="two different images"):
        reliance.swapped_images(["a", "a", "a"])


def test_normalise_ignores_case_and_outer_punctuation() -> None:
    assert reliance.normalise(" Yes. ") == "yes"
    assert reliance.normalise("¿Sí?") == "sí"
    assert reliance.normalise("Two hearts.") == "two hearts"


def test_rows_on_a_hand_computed_case() -> None:
    prompts = [_prompt(0, "en", "Yes."), _prompt(1, "en", "No."), _prompt(2, "de", "Ja."), _prompt(3, "en", "No.")]
    own = ["yes", "No", "Ja.", "Yes."]
    swapped = ["No.", "no", "Ja", "No"]
    rows = reliance.reliance_rows("m", prompts, own, swapped)
    got = {(r["language"], r["metric"]): (r["value"], r["n"]) for r in rows}
    # all: changed 0 and 3 of 4; own correct 0, 1, 2; swapped correct 1, 2, 3
    assert got[("all", "changed")] == (50.0, 4)
    assert got[("all", "accuracy_own")] == (75.0, 4)
    assert got[("all", "accuracy_swapped")] == (75.0, 4)
    assert got[("en", "changed")] == (66.67, 3)
    assert got[("en", "accuracy_own")] == (66.67, 3)
    assert got[("de", "accuracy_swapped")] == (100.0, 1)
    assert [r["language"] for r in rows][::3] == ["all", "en", "de"]  # registry order after "all"


def test_prompts_skip_text_only_samples_and_name_bad_ones_by_id() -> None:
    good = {"id": "s1", "image": "a.png", "lang": "fr",
            "conversations": [{"from": "human", "value": "<image>\nY a-t-il une étoile ?"}, {"from": "gpt", "value": "Non."}]}
    assert reliance.to_prompt(good, "f.json line 1") == reliance.ReliancePrompt("s1", "a.png", "fr", "Y a-t-il une étoile ?", "Non.")
    assert reliance.to_prompt({"id": "t", "conversations": []}, "x") is None
    with pytest.raises(DataError, match=r"f.json line 2 \(id 's2'\).*human"):
        reliance.to_prompt({"id": "s2", "image": "a.png", "conversations": [{"from": "gpt", "value": "x"}, {"from": "human", "value": "y"}]},
                           "f.json line 2")
    with pytest.raises(DataError, match=r"id 's3'.*xx"):
        reliance.to_prompt({**good, "id": "s3", "lang": "xx"}, "f.json line 3")


# --------------------------------------------------------------------------------------------------
# End to end on a tiny random model
# --------------------------------------------------------------------------------------------------


def _gap_tests():
    spec = importlib.util.spec_from_file_location("gap_tests", Path(__file__).with_name("test_gap.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> dict:
    import numpy as np
    import torch
    from PIL import Image, ImageDraw
    from safetensors.torch import load_file, save_file

    base = tmp_path_factory.mktemp("reliance")
    gap_tests = _gap_tests()
    seeing, blind = base / "seeing", base / "blind"
    gap_tests._tiny_llava(seeing)
    gap_tests._tiny_llava(blind)
    # Blind: the projector writes zeros, so every image gives the LM the same image tokens.
    weights = load_file(str(blind / "model.safetensors"))
    for key in list(weights):
        if "multi_modal_projector.linear_2" in key:
            weights[key] = torch.zeros_like(weights[key])
    save_file(weights, str(blind / "model.safetensors"), metadata={"format": "pt"})
    images = base / "images"
    images.mkdir()
    rng = np.random.default_rng(0)
    for i in range(8):
        img = Image.new("RGB", (24, 24), tuple(int(c) for c in rng.integers(0, 255, 3)))
        ImageDraw.Draw(img).rectangle((2, 2, 14, 14), fill=tuple(int(c) for c in rng.integers(0, 255, 3)))
        img.save(images / f"{i}.png")
    items = [{"id": f"s{i}", "image": f"{i % 8}.png", "lang": "en" if i % 2 else "de",
              "conversations": [{"from": "human", "value": "<image>\n" + gap_tests.SENTENCES[i % 12]},
                                {"from": "gpt", "value": "Yes."}]} for i in range(16)]
    data = base / "data.json"
    data.write_text(json.dumps(items, ensure_ascii=False), encoding="utf-8")
    return {"base": base, "seeing": seeing, "blind": blind, "images": images, "data": data}


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="lrm-llava analyze")
    reliance.add_reliance_parser(parser.add_subparsers(dest="analysis"))
    return parser.parse_args(argv)


@pytest.mark.slow
def test_a_blind_model_changes_no_answer_and_a_seeing_one_does(tiny: dict) -> None:
    out = tiny["base"] / "out"
    args = _parse(["reliance", "--model", str(tiny["seeing"]), "--model", str(tiny["blind"]),
                   "--name", "seeing", "--name", "blind", "--data", str(tiny["data"]),
                   "--image-root", str(tiny["images"]), "--n", "0", "--out", str(out),
                   "--batch-size", "5", "--max-new-tokens", "6", "--device", "cpu"])
    assert args.func(args) == 0
    rows = json.loads((out / "reliance.json").read_text(encoding="utf-8"))
    value = {(r["model"], r["language"], r["metric"]): r["value"] for r in rows}
    assert value[("blind", "all", "changed")] == 0.0
    assert value[("blind", "all", "accuracy_own")] == value[("blind", "all", "accuracy_swapped")]
    assert value[("seeing", "all", "changed")] > 0.0
    assert {r["n"] for r in rows if r["language"] == "all"} == {16}
    assert {r["n"] for r in rows if r["language"] in ("en", "de")} == {8}
    assert (out / "reliance.md").read_text(encoding="utf-8").count("| seeing |") == 3
    assert (out / "reliance.csv").read_text(encoding="utf-8").startswith("model,language,metric,value,n")


def test_an_image_outside_the_root_is_refused(tiny: dict) -> None:
    bad = tiny["base"] / "bad.json"
    bad.write_text(json.dumps([{"id": "x", "image": "../../etc/passwd", "conversations": [
        {"from": "human", "value": "<image>\nWhat?"}, {"from": "gpt", "value": "No."}]},
        {"id": "y", "image": "1.png", "conversations": [
        {"from": "human", "value": "<image>\nWhat?"}, {"from": "gpt", "value": "No."}]}]), encoding="utf-8")
    args = _parse(["reliance", "--model", str(tiny["blind"]), "--data", str(bad), "--image-root", str(tiny["images"]),
                   "--out", str(tiny["base"] / "out2"), "--device", "cpu"])
    with pytest.raises(UserError, match="id 'x'"):
        args.func(args)


def test_the_reliance_parser_takes_its_defaults_from_reliance_config() -> None:
    from lrm_llava.options import field_default

    args = _parse(["reliance", "--model", "m", "--data", "d.json", "--image-root", "img", "--out", "o"])
    for name in ("n", "seed", "batch_size", "max_new_tokens", "template", "device", "languages"):
        assert getattr(args, name) == field_default(reliance.RelianceConfig, name), name
    assert args.dtype == "auto" and args.names == [] and args.models == ["m"]


def test_bad_settings_are_user_errors_before_any_answer(tiny: dict, monkeypatch) -> None:
    import shutil

    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    out = tiny["base"] / "out3"
    common = ["reliance", "--model", str(tiny["blind"]), "--data", str(tiny["data"]),
              "--image-root", str(tiny["images"]), "--out", str(out)]
    broken = shutil.copytree(tiny["blind"], tiny["base"] / "broken")
    (broken / "config.json").write_text('{"model_type": ', encoding="utf-8")
    for extra, message in [
        (["--max-new-tokens", "0"], "--max-new-tokens 0"),
        (["--max-new-tokens", "-2"], "--max-new-tokens -2"),
        (["--batch-size", "0"], "--batch-size 0"),
        (["--device", "tpu9"], "unknown device 'tpu9'"),
        (["--device", "cuda"], "no CUDA GPU"),
        (["--model", str(broken)], "config.json is broken"),  # checked before the first model answers
    ]:
        args = _parse(common + extra)
        with pytest.raises(UserError, match=message):
            args.func(args)
    assert not out.exists()
