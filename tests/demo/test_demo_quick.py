"""Smoke test of the whole pipeline: `lrm-llava demo --quick` through the real entry point, then a
rerun that must reuse every step (nothing retrained, same report)."""

from __future__ import annotations

import json
import shutil

import pytest

from lrm_llava.cli import main
from lrm_llava.errors import UserError
from lrm_llava.languages import ALL_CODES
from lrm_llava.pipeline.demo import DemoConfig, demo_variants
from lrm_llava.pipeline.reuse import MARKER, mark_done, reuse
from lrm_llava.pipeline.steps import Variant, data_settings, demo_phase, models_progress, step_world
from lrm_llava.train.recipes import stage_overrides

pytestmark = pytest.mark.slow


def test_demo_quick_runs_end_to_end_and_resumes(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), "--quick", "--eval-limit", "6", "--jobs", "2", "--threads", "1"]) == 0

    # the documented layout
    for rel in ("world/world.json", "world/translations.jsonl", "backbones/vision/config.json",
                "backbones/llm/config.json", "data/lrm-llava/finetune.json", "data/english-only/pretrain.json",
                "models/lrm-llava/pretrain/config.json", "models/lrm-llava/finetune/config.json",
                "models/english-only/finetune/config.json", "report/results.json", "report/report.md"):
        assert (out / rel).exists(), rel
    # checkpoints only serve to resume a killed stage: none is left once a stage is done
    assert (out / "models/lrm-llava/finetune/DONE").exists()
    assert not list(out.glob("models/*/*/checkpoint-*"))

    rows = json.loads((out / "report/results.json").read_text(encoding="utf-8"))
    seen = {(r["model"], r["benchmark"], r["language"]) for r in rows}
    for model in ("english-only", "lrm-llava"):
        for bench in ("mme", "pope", "mmbench", "seed"):
            for lang in ALL_CODES:
                assert (model, bench, lang) in seen, (model, bench, lang)
    report = (out / "report/report.md").read_text(encoding="utf-8")
    assert "Avg = mean of the 9 non-English languages" in report
    # the blind test ran on both models, on the same samples
    reliance = json.loads((out / "report/reliance.json").read_text(encoding="utf-8"))
    assert {(r["model"], r["metric"]) for r in reliance if r["language"] == "all"} == {
        (m, k) for m in ("english-only", "lrm-llava") for k in ("changed", "accuracy_own", "accuracy_swapped")}
    assert len({r["n"] for r in reliance if r["language"] == "all"}) == 1

    # the lrm-llava data holds all three task instructions in non-English languages
    samples = json.loads((out / "data/lrm-llava/finetune.json").read_text(encoding="utf-8"))
    assert {s["task"] for s in samples if s["lang"] != "en" or s["answer_lang"] != "en"} == {"mvqa", "epvqa", "bvqa"}
    english = json.loads((out / "data/english-only/finetune.json").read_text(encoding="utf-8"))
    assert {s["lang"] for s in english} == {"en"}
    # English-only data is 1 + mix times smaller, and its epochs 1 + mix times more: the same steps
    assert len(samples) == 2 * len(english)

    # a rerun reuses every finished step and reproduces the results
    weights = (out / "models/lrm-llava/finetune/model.safetensors").stat().st_mtime_ns
    capsys.readouterr()
    assert main(["demo", "--out", str(out), "--quick", "--eval-limit", "6", "--jobs", "2", "--threads", "1"]) == 0
    printed = capsys.readouterr().out
    assert "side by side" in printed
    assert all(f"{step}: reusing" in printed for step in ("world", "bench/mme", "bench/pope", "bench/mmbench", "bench/seed"))
    # each model's own output went to its log
    log = (out / "logs/lrm-llava.log").read_text(encoding="utf-8")
    assert all(f"{step}: reusing" in log for step in ("data/lrm-llava", "train/lrm-llava/pretrain",
                                                        "train/lrm-llava/finetune"))
    assert (out / "models/lrm-llava/finetune/model.safetensors").stat().st_mtime_ns == weights
    assert json.loads((out / "report/results.json").read_text(encoding="utf-8")) == rows

    # models trained side by side (the default on several CPUs) are the ones trained one after the
    # other with the same threads per process
    again = tmp_path / "sequential"
    for rel in ("world", "backbones", "bench"):
        shutil.copytree(out / rel, again / rel)
    assert main(["demo", "--out", str(again), "--quick", "--eval-limit", "6", "--jobs", "1", "--threads", "1"]) == 0
    assert json.loads((again / "report/results.json").read_text(encoding="utf-8")) == rows

    # other training settings must not silently reuse models trained without them
    capsys.readouterr()
    assert main(["demo", "--out", str(out), "--quick", "--set", "finetune.learning_rate=0.01"]) != 0
    assert "models/english-only/finetune was trained with other settings (learning_rate: None -> 0.01" in (
        capsys.readouterr().err)
    # nor reuse models trained with an older version of the recipe file
    marker = out / "models/english-only/pretrain/DONE"
    done = json.loads(marker.read_text(encoding="utf-8"))
    done["settings"]["recipe_sha256"] = "0123456789ab"
    marker.write_text(json.dumps(done), encoding="utf-8")
    assert main(["demo", "--out", str(out), "--quick"]) != 0
    assert "recipe_sha256: 0123456789ab -> " in capsys.readouterr().err


def test_english_only_trains_as_many_steps_as_the_recipe_it_is_compared_with():
    english, full = demo_variants(DemoConfig(mix=0.7))
    assert (english.name, english.epoch_scale) == ("english-only", 1.7)
    assert (full.name, full.epoch_scale) == ("lrm-llava", 1.0)
    # any task in either stage makes it a multilingual variant, trained for the recipe's epochs
    assert Variant("no-mvqa-pt", pretrain_tasks=(), finetune_tasks=("mvqa",)).epoch_scale == 1.0


def test_a_world_built_with_other_settings_is_not_reused(tmp_path):
    cfg = DemoConfig(out=str(tmp_path), quick=True)
    world = step_world(cfg, tmp_path)
    built = (world / "world.json").stat().st_mtime_ns
    assert step_world(cfg, tmp_path) == world  # unchanged: reused
    # a world without its marker (killed before the end, or built by `world build`) is made again:
    # here `build_world` finds its own world.json with the same config and rewrites nothing
    (world / MARKER).unlink()
    assert step_world(cfg, tmp_path) == world and (world / MARKER).is_file()
    assert (world / "world.json").stat().st_mtime_ns == built
    data = data_settings(world, Variant("lrm-llava"))
    meta = json.loads((world / MARKER).read_text(encoding="utf-8"))
    meta["settings"]["image_size"] = 64
    del meta["settings"]["generator"]  # as recorded by the first version
    (world / MARKER).write_text(json.dumps(meta), encoding="utf-8")
    with pytest.raises(UserError, match=r"generator: None -> 2, image_size: 64 -> 96.*remove"):
        step_world(cfg, tmp_path)
    # what was made from a world records it: data built from the old one is stale for the new one
    assert data_settings(world, Variant("lrm-llava"))["world"] != data["world"]


def test_one_reuse_rule(tmp_path):
    folder = tmp_path / "step"
    settings = {"recipe": "shapeworld", "tasks": ("mvqa", "bvqa"), "mix": 1.0}
    assert reuse(folder, settings) is False  # no marker: make it
    folder.mkdir()
    (folder / "half-written.json").write_text("[", encoding="utf-8")
    assert reuse(folder, settings) is False  # outputs without a marker are not trusted either
    mark_done(folder, settings, seconds=1.5)
    assert json.loads((folder / MARKER).read_text(encoding="utf-8")) == {
        "settings": {"recipe": "shapeworld", "tasks": ["mvqa", "bvqa"], "mix": 1.0}, "seconds": 1.5}
    assert reuse(folder, settings) is True  # equal key by key (a tuple reads back as a list)
    with pytest.raises(UserError, match=r"step was trained with other settings \(learning_rate: None -> 0.1, "
                       r"mix: 1.0 -> 0.7, recipe: shapeworld -> None\): remove it or pass another --out"):
        reuse(folder, {"tasks": ["mvqa", "bvqa"], "mix": 0.7, "learning_rate": 0.1}, made="trained")


def test_demo_overrides_apply_to_both_stages_or_to_the_named_one():
    sets = {"learning_rate": 1e-4, "finetune.num_train_epochs": 6}
    assert stage_overrides(sets, "pretrain") == {"learning_rate": 1e-4}
    assert stage_overrides(sets, "finetune") == {"learning_rate": 1e-4, "num_train_epochs": 6}
    with pytest.raises(UserError, match="prefix must be a stage"):
        stage_overrides({"stage2.max_steps": 3}, "finetune")


def test_every_subcommand_has_help(capsys):
    for command in (["--help"], ["world", "--help"], ["data", "build", "--help"], ["train", "--help"],
                    ["chat", "--help"], ["bench", "translate", "--help"], ["eval", "--help"],
                    ["analyze", "bleu", "--help"], ["analyze", "gap", "--help"], ["experiment", "--help"],
                    ["demo", "--help"]):
        with pytest.raises(SystemExit) as exit_info:
            main(command)
        assert exit_info.value.code == 0, command
    assert "demo" in capsys.readouterr().out


def test_demo_phase_names_the_step_a_model_log_is_at(tmp_path):
    log = tmp_path / "lrm-llava.log"
    assert demo_phase(log, "lrm-llava") == ""
    log.write_text("[demo 10:00:00] data/lrm-llava/finetune: building from x\n"
                   "[demo 10:00:05] train/lrm-llava/finetune: data.json\n"
                   "step 10/4000  loss 2.1\r 1%|          | 10/4000\n", encoding="utf-8")
    assert demo_phase(log, "lrm-llava") == "train/finetune"
    assert models_progress(tmp_path, {"lrm-llava": "45%|████▌     | 1800/4000 [03:10<04:00]"}) == (
        "lrm-llava: train/finetune 45% 1800/4000 [03:10<04:00]")
