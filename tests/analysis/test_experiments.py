"""Experiment runner (`pipeline.experiment`): arms; its tables (`analysis.sweeps`): aggregation
(mean ± std, Avg), the noise rule, summary tables; and one
end-to-end ablation run on the quick ShapeWorld recipe (two arms, one seed, POPE only, a few
training steps) including a resume that must not train or load a model again."""

from __future__ import annotations

import csv
import json
import math
import re
import shutil
from dataclasses import replace

import pytest

from lrm_llava.analysis.sweeps import AVG, aggregate, compare, headline_rows, mean_std, summary_table
from lrm_llava.errors import UserError
from lrm_llava.instruct.tasks import TASKS as ALL_TASKS
from lrm_llava.languages import ALL_CODES, ENGLISH, NON_ENGLISH
from lrm_llava.pipeline.experiment import (
    LARGE_LM_FOLDER,
    experiment_arms,
    run_experiment,
    select_arms,
    variant_name,
)


def _rows(variant: str, seed: int, en: float, others: dict[str, float] | float, bench: str = "pope") -> list[dict]:
    values = {c: (others[c] if isinstance(others, dict) else others) for c in NON_ENGLISH}
    return [{"experiment": "ablation", "variant": variant, "seed": seed, "benchmark": bench, "language": lang,
             "metric": "f1", "value": value} for lang, value in [(ENGLISH, en), *values.items()]]


# ------------------------------------------------------------------------------------------ arms
def test_arms_of_each_experiment():
    ablation = experiment_arms("ablation")
    assert [a.label for a in ablation] == [
        "w/o all task instructions", "w/o MVQA (pretraining)", "w/o MVQA (finetuning)", "w/o EP-VQA",
        "w/o BVQA", "LRM-LLaVA"]
    by_label = {a.label: a.variant for a in ablation}
    assert (by_label["w/o all task instructions"].pretrain_tasks, by_label["w/o all task instructions"].finetune_tasks) == ((), ())
    assert (by_label["w/o MVQA (pretraining)"].pretrain_tasks, by_label["w/o MVQA (pretraining)"].finetune_tasks) == ((), ALL_TASKS)
    assert by_label["w/o MVQA (finetuning)"].finetune_tasks == ("epvqa", "bvqa")
    assert by_label["w/o EP-VQA"].finetune_tasks == ("mvqa", "bvqa")
    assert by_label["w/o BVQA"].finetune_tasks == ("mvqa", "epvqa")
    assert {a.reference for a in ablation[:-1]} == {"lrm-llava"} and ablation[-1].reference is None

    mix = experiment_arms("mix")
    assert [a.variant.mix for a in mix] == [0.4, 0.7, 1.0, 1.5]
    assert all(a.variant.finetune_tasks == ALL_TASKS for a in mix)

    backbones = experiment_arms("backbones", quick=True)
    assert [a.variant.backbones for a in backbones] == ["backbones", "backbones", LARGE_LM_FOLDER, LARGE_LM_FOLDER]
    assert [a.label for a in backbones][::2] == ["LM 96x2 w/o all instructions", "LM 256x4 w/o all instructions"]
    assert backbones[2].reference == backbones[3].key  # each LM size is compared with its own full recipe

    # Same recipe -> same folder: the full recipe is trained once for all three experiments.
    full = {a.key for a in ablation if a.label == "LRM-LLaVA"}
    assert full == {a.key for a in mix if a.variant.mix == 1.0} == {backbones[1].key}
    assert full == {a.variant.name for a in ablation if a.label == "LRM-LLaVA"}  # the key is the variant's name
    for arms in (ablation, mix, backbones):
        names = [variant_name(a, s) for a in arms for s in range(3)]
        assert len(set(names)) == len(names)
        assert all(re.fullmatch(r"[a-z0-9.-]+", n) for n in names)


def test_variant_names_and_selection():
    full, no_bvqa = experiment_arms("ablation")[-1], experiment_arms("ablation")[-2]
    assert [variant_name(full, s) for s in range(3)] == ["lrm-llava", "lrm-llava-s1", "lrm-llava-s2"]
    assert variant_name(no_bvqa, 0) == "no-bvqa-s0"
    # an arm is a variant under a row label: each seed trains that variant in its own folder
    assert full.run(2) == replace(full.variant, name="lrm-llava-s2", seed=2)
    assert (no_bvqa.run(0).name, no_bvqa.run(0).finetune_tasks) == ("no-bvqa-s0", ("mvqa", "epvqa"))
    arms = experiment_arms("ablation")
    assert [a.key for a in select_arms(arms, ["lrm-llava", "w/o BVQA"])] == ["no-bvqa", "lrm-llava"]
    assert select_arms(arms, None) == arms
    with pytest.raises(UserError, match="no-such-arm"):
        select_arms(arms, ["no-such-arm"])
    with pytest.raises(UserError, match="unknown experiment"):
        experiment_arms("tables")


# ----------------------------------------------------------------------------------- aggregation
def test_cli_passes_recipe_overrides(monkeypatch):
    from lrm_llava.cli import main

    seen = {}
    monkeypatch.setattr("lrm_llava.pipeline.experiment.run_experiment", lambda kind, **kw: seen.update(kw, kind=kind))
    assert main(["experiment", "mix", "--set", "finetune.num_train_epochs=6", "--set", "learning_rate=0.0001"]) == 0
    assert seen["kind"] == "mix"
    assert seen["train_overrides"] == {"finetune.num_train_epochs": 6, "learning_rate": 1e-4}


def test_mean_std():
    assert mean_std([1.0, 2.0, 3.0]) == (2.0, 1.0, 3)
    assert mean_std([5.0]) == (5.0, None, 1)
    assert mean_std([]) == (None, None, 0)
    assert mean_std([4.0, float("nan"), 6.0, None]) == (5.0, pytest.approx(math.sqrt(2)), 2)


def test_aggregate_hand_computed():
    # seed 0: En 60, Zh 59, the other eight 50 -> Avg (59 + 8 x 50) / 9 = 51
    # seed 1: En 64, all nine 53               -> Avg 53
    rows = _rows("A", 0, 60.0, {**dict.fromkeys(NON_ENGLISH, 50.0), "zh": 59.0}) + _rows("A", 1, 64.0, 53.0)
    agg = {(r["variant"], r["benchmark"], r["language"]): r for r in aggregate(rows)}
    assert len(agg) == len(ALL_CODES) + 1
    en, avg, zh = agg[("A", "pope", ENGLISH)], agg[("A", "pope", AVG)], agg[("A", "pope", "zh")]
    assert (en["mean"], en["n"]) == (62.0, 2) and en["std"] == pytest.approx(math.sqrt(8))
    assert avg["mean"] == pytest.approx(52.0) and avg["std"] == pytest.approx(math.sqrt(2))
    assert zh["mean"] == 56.0 and zh["std"] == pytest.approx(math.sqrt(18))


def test_compare_noise_rule():
    far = compare([10.0, 12.0], [20.0, 22.0])  # diff -10, pooled std sqrt(2): far outside 2 x 1.41
    assert far["diff"] == -10.0 and far["pooled_std"] == pytest.approx(math.sqrt(2))
    assert far["verdict"] == "outside noise"
    near = compare([10.0, 14.0], [12.0, 16.0])  # diff -2, pooled std 2.83: |diff| < 5.66
    assert near["diff"] == -2.0 and near["verdict"] == "within noise"
    edge = compare([10.0, 12.0], [10.0 + 2 * math.sqrt(2) + 0.01, 12.0 + 2 * math.sqrt(2) + 0.01])
    assert edge["verdict"] == "outside noise"  # just past 2 x pooled std
    assert compare([1.0], [5.0, 6.0]) == {"diff": -4.5, "pooled_std": None, "verdict": "n/a"}
    assert compare([3.0, 3.0], [3.0, 3.0])["verdict"] == "within noise"
    assert compare([3.0, 3.0], [4.0, 4.0])["verdict"] == "outside noise"  # no variance, real difference


def test_summary_table_verdicts():
    arms = select_arms(experiment_arms("ablation"), ["english-only", "lrm-llava"])
    # En: 70/72 vs 71/71 -> diff 0, within noise; Avg: 50/52 vs 60/62 -> diff -10, pooled sqrt(2)
    rows = (_rows("w/o all task instructions", 0, 70.0, 50.0) + _rows("w/o all task instructions", 1, 72.0, 52.0)
            + _rows("LRM-LLaVA", 0, 71.0, 60.0) + _rows("LRM-LLaVA", 1, 71.0, 62.0))
    lines = summary_table(rows, arms, "pope").splitlines()
    assert lines[0] == "| Variant | Seeds | En | Avg | Δ En | Δ Avg | Noise verdict |"
    assert lines[2] == ("| w/o all task instructions | 2 | 71.0 ± 1.4 | 51.0 ± 1.4 | +0.0 | -10.0 | "
                        "Avg outside noise; En within noise |")
    assert lines[3] == "| LRM-LLaVA | 2 | 71.0 ± 0.0 | 61.0 ± 1.4 |  |  | reference |"
    wide = summary_table(rows, arms, "pope", per_language=True).splitlines()[0]
    assert wide.startswith("| Variant | Seeds | En | Zh |") and "| Hr | Avg | Δ En |" in wide


def test_pope_accuracy_tabulated_beside_f1():
    # an always-"yes" model: F1 66.7 flatters it, accuracy 50.0 does not; both rows, both tables
    results = [{"model": "m", "benchmark": "pope", "split": None, "language": lang, "metric": metric, "value": value}
               for lang in ALL_CODES for metric, value in (("f1", 66.7), ("accuracy", 50.0), ("recall", 100.0))]
    rows = headline_rows(results, experiment="ablation", variant="LRM-LLaVA", seed=0, model="m", benchmarks=["pope"])
    assert [(r["metric"], r["value"]) for r in rows] == [("f1", 66.7)] * 10 + [("accuracy", 50.0)] * 10
    arms = select_arms(experiment_arms("ablation"), ["lrm-llava"])
    assert summary_table(rows, arms, "pope").splitlines()[2] == "| LRM-LLaVA | 1 | 66.7 | 66.7 |  |  | reference |"
    assert summary_table(rows, arms, "pope", metric="accuracy").splitlines()[2] == (
        "| LRM-LLaVA | 1 | 50.0 | 50.0 |  |  | reference |")
    agg = {(r["metric"], r["language"]): r["mean"] for r in aggregate(rows)}
    assert agg[("f1", AVG)] == pytest.approx(66.7) and agg[("accuracy", AVG)] == 50.0


# ------------------------------------------------------------------------------------ end to end
@pytest.fixture(scope="module")
def quick_out(tmp_path_factory):
    """An --out folder holding a quick world and quick backbones (the runner reuses both: same settings)."""
    from lrm_llava.world import build_world
    from lrm_llava.world.backbones import train_backbones

    out = tmp_path_factory.mktemp("experiments")
    build_world(out / "world", quick=True)
    train_backbones(out / "world", out / "backbones", quick=True)
    return out


@pytest.mark.slow
def test_ablation_end_to_end_and_resume(quick_out, monkeypatch):
    kwargs = dict(out=quick_out, seeds=1, quick=True, eval_limit=2, benchmarks=["pope"],
                  variants=["w/o all task instructions", "lrm-llava"], train_overrides={"max_steps": 3}, threads=1)
    rows = run_experiment("ablation", **kwargs)

    labels = ["w/o all task instructions", "LRM-LLaVA"]
    assert len(rows) == 2 * 2 * len(ALL_CODES)  # POPE F1 and POPE accuracy
    for label in labels:
        mine = [r for r in rows if r["variant"] == label]
        assert [r["language"] for r in mine] == list(ALL_CODES) * 2
        assert {(r["experiment"], r["seed"], r["benchmark"], r["metric"]) for r in mine} == {
            ("ablation", 0, "pope", "f1"), ("ablation", 0, "pope", "accuracy")}
        assert all(0.0 <= r["value"] <= 100.0 for r in mine)
    for name in ("english-only", "lrm-llava"):  # seed 0 of the demo's models keeps the demo's folder names
        assert (quick_out / "models" / name / "finetune" / "DONE").is_file()

    folder = quick_out / "experiment-ablation"
    assert json.loads((folder / "rows.json").read_text(encoding="utf-8")) == rows
    with open(folder / "rows.csv", encoding="utf-8") as fh:
        table = list(csv.DictReader(fh))
    assert list(table[0]) == ["experiment", "variant", "seed", "benchmark", "language", "metric", "value"]
    assert [(r["variant"], r["language"]) for r in table] == [(r["variant"], r["language"]) for r in rows]
    summary = (folder / "summary.md").read_text(encoding="utf-8")
    assert "## POPE\n" in summary and "## POPE accuracy\n" in summary and "![ablation](ablation.png)" in summary
    assert re.search(r"^\| w/o all task instructions \| 1 \| [\d.]+ \| [\d.]+ \| [+-][\d.]+ \| [+-][\d.]+ \| "
                     r"n/a \(needs ≥ 2 seeds\) \|$", summary, re.M)
    assert re.search(r"^\| LRM-LLaVA \| 1 \| [\d.]+ \| [\d.]+ \|  \|  \| reference \|$", summary, re.M)
    assert (folder / "ablation.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    # Rerun: every step is cached, so neither training nor model loading may happen again.
    def forbidden(*args, **kwargs):
        raise AssertionError("a cached step was redone")

    monkeypatch.setattr("lrm_llava.train.run_training", forbidden)
    monkeypatch.setattr("lrm_llava.infer.load_model", forbidden)
    assert run_experiment("ablation", **kwargs) == rows

    # All three tables from the saved scores alone (models may be gone, as after a GPU run): each
    # experiment gets the shared arms under its own labels; seed 1 was never run and is left out.
    shutil.rmtree(quick_out / "models")
    every = run_experiment("all", **{**kwargs, "seeds": 2}, tables_only=True)
    assert {r["experiment"] for r in every} == {"ablation", "mix", "backbones"}
    assert [r for r in every if r["experiment"] == "ablation"] == rows
    assert {r["variant"] for r in every if r["experiment"] == "mix"} == {"mix 1.0"}
    assert {r["variant"] for r in every if r["experiment"] == "backbones"} == {
        "LM 96x2 w/o all instructions", "LM 96x2 w/ all instructions"}
    mix_summary = (quick_out / "experiment-mix" / "summary.md").read_text(encoding="utf-8")
    assert "| mix 1.0 | 1 |" in mix_summary and "| mix 0.4 |" not in mix_summary  # not among --variants
    with pytest.raises(UserError, match="no run of this experiment has saved scores"):
        run_experiment("ablation", **{**kwargs, "variants": ["no-bvqa"]}, tables_only=True)
    (quick_out / "eval" / "lrm-llava" / "results.json").write_text("{truncated", encoding="utf-8")
    with pytest.raises(UserError, match=r"lrm-llava/results.json: not a readable scores file"):
        run_experiment("ablation", **kwargs, tables_only=True)


def _copy_shared(quick_out, out):
    import shutil

    for part in ("world", "backbones"):  # built once by the fixture; the runner reuses them
        shutil.copytree(quick_out / part, out / part)
    return out


@pytest.mark.slow
def test_parallel_runs_give_the_sequential_rows(quick_out, tmp_path):
    """--jobs 2: both arms train at once in spawned processes; rows identical to one at a time."""
    kwargs = dict(seeds=1, quick=True, eval_limit=2, benchmarks=["pope"], train_overrides={"max_steps": 3},
                  threads=1, variants=["w/o all task instructions", "lrm-llava"])
    sequential = run_experiment("ablation", out=_copy_shared(quick_out, tmp_path / "seq"), **kwargs)
    out = _copy_shared(quick_out, tmp_path / "par")
    assert run_experiment("ablation", out=out, jobs=2, **kwargs) == sequential
    logs = out / "experiment-ablation" / "logs"
    assert sorted(p.name for p in logs.iterdir()) == ["english-only.log", "lrm-llava.log"]
    assert "stage finetune" in (logs / "lrm-llava.log").read_text(encoding="utf-8")  # the run's own output


@pytest.mark.slow
def test_parallel_failures_are_reported_together_and_the_rest_is_kept(quick_out, tmp_path):
    from lrm_llava.pipeline.experiment import Arm, ExperimentConfig, run_parallel
    from lrm_llava.pipeline.steps import Variant, step_bench

    out = _copy_shared(quick_out, tmp_path / "fail")
    cfg = ExperimentConfig(out=str(out), quick=True, eval_limit=2, train_overrides={"max_steps": 3}, threads=1)
    common = (cfg, out, out / "world", step_bench(cfg, out, out / "world"), ["pope"])
    runs = [(Arm("broken", Variant("broken", backbones="no-such-backbones")), 1),
            (Arm("LRM-LLaVA", Variant("lrm-llava")), 0)]
    with pytest.raises(UserError, match=r"(?s)1 of 2 runs failed.*broken-s1: .*log: .*broken-s1.log"):
        run_parallel(runs, 2, 1, out / "logs", common)
    assert (out / "models" / "lrm-llava" / "finetune" / "DONE").is_file()  # the good run finished
