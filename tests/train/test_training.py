"""Two-stage training end to end on the tiny model: freezing, projector hand-over, resume, DDP,
recipes, and the final folder loading in plain transformers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from PIL import Image
from safetensors.torch import load_file
from transformers import TrainerCallback

from lrm_llava.errors import UserError
from lrm_llava.options import parse_set
from lrm_llava.train import config_path, list_recipes, load_recipe, resolve_recipe, run_training

COLOURS = {"red": (255, 0, 0), "green": (0, 200, 0), "blue": (0, 0, 255)}


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("train_data")
    root = base / "images"
    root.mkdir()
    samples = []
    for i in range(12):
        name = list(COLOURS)[i % 3]
        Image.new("RGB", (24 + 2 * i, 16), COLOURS[name]).save(root / f"{i}.png")
        samples.append({"id": f"s{i}", "image": f"{i}.png", "lang": "en", "conversations": [
            {"from": "human", "value": "<image>\nWhat colour is the picture?"},
            {"from": "gpt", "value": f"It is {name}."}]})
    for i in range(4):
        samples.append({"id": f"t{i}", "conversations": [
            {"from": "human", "value": "Say hello."}, {"from": "gpt", "value": "Hello!"}]})
    path = base / "train.json"
    path.write_text(json.dumps(samples), encoding="utf-8")
    return path, root


def _cfg(stage, data, out, **over):
    path, root = data
    return load_recipe("tiny", stage, {"data": [str(path)], "image_root": str(root), "output_dir": str(out), **over})


@pytest.fixture(scope="module")
def initial() -> dict[str, torch.Tensor]:
    from lrm_llava.model import build_tiny_model

    return {k: v.clone() for k, v in build_tiny_model(seed=0)[0].state_dict().items()}


@pytest.fixture(scope="module")
def stage1(data, tmp_path_factory) -> Path:
    return run_training(_cfg("pretrain", data, tmp_path_factory.mktemp("s1") / "out"))


@pytest.fixture(scope="module")
def stage2(data, stage1, tmp_path_factory) -> Path:
    return run_training(_cfg("finetune", data, tmp_path_factory.mktemp("s2") / "out", projector=str(stage1)))


def _weights(folder: Path) -> dict[str, torch.Tensor]:
    from transformers import LlavaForConditionalGeneration

    return LlavaForConditionalGeneration.from_pretrained(folder).state_dict()


def _groups(state: dict[str, torch.Tensor]) -> dict[str, dict[str, torch.Tensor]]:
    out: dict[str, dict[str, torch.Tensor]] = {"vision": {}, "projector": {}, "lm": {}}
    for k, v in state.items():
        group = "vision" if "vision_tower" in k else "projector" if "multi_modal_projector" in k else "lm"
        out[group][k] = v
    return out


def _same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def _changed(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(not torch.equal(a[k], b[k]) for k in a if k.endswith("weight"))


def test_pretrain_changes_only_the_projector(stage1, initial):
    after = _groups(_weights(stage1))
    before = _groups(initial)
    assert _same(after["vision"], before["vision"]) and _same(after["lm"], before["lm"])
    assert _changed(after["projector"], before["projector"])
    proj = load_file(stage1 / "projector.safetensors")
    assert sorted(proj) == ["linear_1.bias", "linear_1.weight", "linear_2.bias", "linear_2.weight"]
    assert torch.equal(proj["linear_1.weight"], after["projector"]["model.multi_modal_projector.linear_1.weight"])
    log = [json.loads(line) for line in (stage1 / "train_log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log] == [1, 2, 3, 4]
    assert {"loss", "lr", "tokens_per_s", "samples_per_s", "elapsed_s"} <= log[0].keys()
    stats = json.loads((stage1 / "data_stats.json").read_text())
    assert stats["data"]["kept"] == 16 and stats["data"]["text_only"] == 4
    recipe = (stage1 / "recipe.yaml").read_text()
    assert "stage: pretrain" in recipe and "learning_rate: 0.001" in recipe


def test_finetune_starts_from_stage1_projector_and_keeps_vision(data, stage1, stage2, initial, tmp_path):
    from lrm_llava.train import build_model_and_processor

    start, _ = build_model_and_processor(_cfg("finetune", data, tmp_path / "x", projector=str(stage1)))
    s1_proj = load_file(stage1 / "projector.safetensors")
    assert all(torch.equal(v, s1_proj[k]) for k, v in start.model.multi_modal_projector.state_dict().items())
    after = _groups(_weights(stage2))
    s1 = _groups(_weights(stage1))
    assert _same(after["vision"], _groups(initial)["vision"])
    assert _changed(after["lm"], s1["lm"]) and _changed(after["projector"], s1["projector"])


def test_final_folder_loads_in_plain_transformers_and_answers(stage2):
    from transformers import AutoModelForImageTextToText, AutoProcessor

    config = json.loads((stage2 / "config.json").read_text())
    assert config["architectures"] == ["LlavaForConditionalGeneration"]
    model = AutoModelForImageTextToText.from_pretrained(stage2)
    processor = AutoProcessor.from_pretrained(stage2)
    inputs = processor(images=[Image.new("RGB", (30, 20), (255, 0, 0))],
                       text=["USER: <image>\nWhat colour is the picture? ASSISTANT:"], return_tensors="pt")
    out = model.generate(**inputs, max_new_tokens=4, do_sample=False)
    new = out[0, inputs["input_ids"].shape[1]:]
    assert 1 <= len(new) <= 4
    assert isinstance(processor.decode(new, skip_special_tokens=True), str)


class _Crash(Exception):
    pass


class _CrashAfterSave(TrainerCallback):
    def on_save(self, args, state, control, **kwargs):
        if state.global_step == 3:
            raise _Crash()


def test_resume_matches_an_uninterrupted_run(data, tmp_path):
    over = {"max_steps": 6, "save_steps": 3}
    full = run_training(_cfg("pretrain", data, tmp_path / "full", **over))
    with pytest.raises(_Crash):
        run_training(_cfg("pretrain", data, tmp_path / "cut", **over), callbacks=[_CrashAfterSave()])
    assert (tmp_path / "cut" / "checkpoint-3").is_dir() and not (tmp_path / "cut" / "model.safetensors").exists()
    with pytest.raises(UserError, match="pass --resume"):
        run_training(_cfg("pretrain", data, tmp_path / "cut", **over))
    resumed = run_training(_cfg("pretrain", data, tmp_path / "cut", resume=True, **over))
    a, b = _weights(full), _weights(resumed)
    assert all(torch.equal(a[k], b[k]) for k in a)

    def losses(folder):
        return [(r["step"], r["loss"]) for r in map(json.loads, (folder / "train_log.jsonl").read_text().splitlines())]

    assert losses(full) == losses(resumed) and [s for s, _ in losses(full)] == [1, 2, 3, 4, 5, 6]


@pytest.mark.slow
def test_two_process_cpu_run(data, tmp_path):
    path, root = data
    out = tmp_path / "ddp"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "lrm_llava.train.cli", "--recipe", "tiny", "--stage", "pretrain", "--data", str(path),
           "--image-root", str(root), "--output-dir", str(out), "--set", "max_steps=2", "--set", "save_steps=10",
           "--set", "ddp_backend=gloo"]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    for name in ("config.json", "model.safetensors", "projector.safetensors", "recipe.yaml", "tokenizer.json"):
        assert (out / name).is_file(), name
    assert [json.loads(line)["step"] for line in (out / "train_log.jsonl").read_text().splitlines()] == [1, 2]
    assert "world_size" not in (out / "recipe.yaml").read_text()


# -- recipes ---------------------------------------------------------------------------------------
def test_every_recipe_parses_for_both_stages(tmp_path):
    env = {"VISION_PATH": "/v", "LLM_PATH": "/l", "IMAGE_ROOT": "/i", "PRETRAIN_DATA": "/p.json",
           "FINETUNE_DATA": "/f.json", "STAGE1_OUTPUT": "/s1"}
    assert {"paper-vicuna13b", "paper-vicuna7b", "paper-llama2-13b", "paper-llama3-8b", "tiny"} <= set(list_recipes())
    for name in list_recipes():
        for stage in ("pretrain", "finetune"):
            cfg = load_recipe(name, stage, {"output_dir": str(tmp_path)}, env=env)
            assert cfg.stage == stage and cfg.output_dir == str(tmp_path)
            if name.startswith("paper-"):
                assert cfg.lr_scheduler_type == "cosine" and cfg.num_train_epochs == 1
    s1 = load_recipe("paper-vicuna13b", "pretrain", {"output_dir": str(tmp_path)}, env=env)
    s2 = load_recipe("paper-vicuna13b", "finetune", {"output_dir": str(tmp_path)}, env=env)
    assert (s1.learning_rate, s1.per_device_train_batch_size, s1.accelerate_config) == (1e-3, 24, "deepspeed_zero2")
    assert (s2.learning_rate, s2.per_device_train_batch_size, s2.accelerate_config) == (2e-5, 32, "deepspeed_zero3")
    assert s1.model_max_length == 2048 and s1.warmup_steps == 0.03 and s1.weight_decay == 0
    assert s2.template == "vicuna_v1" and s2.projector == "/s1" and s2.vision_path == "/v"
    assert load_recipe("paper-llama3-8b", "finetune", {"output_dir": str(tmp_path)}, env=env).template == "tokenizer"
    assert config_path("deepspeed_zero3").is_file() and config_path("deepspeed/zero2").is_file()


def test_recipe_errors_and_overrides(tmp_path):
    with pytest.raises(UserError, match=r"needs the environment variable VISION_PATH"):
        resolve_recipe("paper-vicuna7b", "pretrain", {}, env={})
    values = resolve_recipe("paper-vicuna7b", "pretrain", {"vision_path": "/v", "llm_path": "/l", "image_root": "/i",
                                                           "data": ["/d.json"], "learning_rate": 5e-4}, env={})
    assert values["learning_rate"] == 5e-4 and values["data"] == ["/d.json"]
    # a --set typo is blamed on --set, with the close matches
    with pytest.raises(UserError, match=r"^--set learnin_rate: unknown key learnin_rate \(did you mean learning_rate"):
        resolve_recipe("tiny", "pretrain", {"learnin_rate": 1})
    with pytest.raises(UserError, match="unknown recipe 'nope'"):
        resolve_recipe("nope", "pretrain")
    cfg = load_recipe("tiny", "finetune", {"output_dir": str(tmp_path)})
    assert cfg.learning_rate == 2e-5 and cfg.report_to in ("none", [], ["none"])
    # bf16 is "auto": on where the device supports it, never on the CPU
    assert cfg.bf16 is (cfg.use_cpu is False and torch.cuda.is_available() and torch.cuda.is_bf16_supported())
    # TrainingArguments' "no" stays a string (YAML 1.1 would read it as False); true/false are booleans
    sets = parse_set(["save_strategy=no", "bf16=false", "max_steps=3"])
    assert sets == {"save_strategy": "no", "bf16": False, "max_steps": 3}
    cfg = load_recipe("tiny", "finetune", {"output_dir": str(tmp_path), **sets})
    assert cfg.save_strategy == "no" and cfg.bf16 is False


class _RecordLearningRates(TrainerCallback):
    def __init__(self) -> None:
        self.steps: list[list[tuple[float, int, int]]] = []
        self.projector_ids: set[int] = set()

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        self.projector_ids = {id(p) for p in model.model.multi_modal_projector.parameters()}

    def on_step_end(self, args, state, control, optimizer=None, **kwargs):
        self.steps.append([(g["lr"], sum(id(p) in self.projector_ids for p in g["params"]), len(g["params"]))
                           for g in optimizer.param_groups if g["params"]])


def test_projector_lr_gives_the_projector_its_own_peak(data, stage1, tmp_path):
    record = _RecordLearningRates()
    out = run_training(_cfg("finetune", data, tmp_path / "out", projector=str(stage1), learning_rate=1e-3,
                            projector_lr=5e-3, lr_scheduler_type="constant", max_steps=3), callbacks=[record])
    assert len(record.steps) == 3
    for groups in record.steps:
        assert {lr for lr, n, _ in groups if n} == {5e-3} and {lr for lr, n, _ in groups if not n} == {1e-3}
        assert all(n in (0, size) for _, n, size in groups)  # no group mixes projector and LM
        assert sum(n for _, n, _ in groups) == len(record.projector_ids)
    # the log line reports the LM's rate, as without the option
    assert {json.loads(r)["lr"] for r in (out / "train_log.jsonl").read_text().splitlines()} == {1e-3}


def test_bad_keys_and_values_name_their_source(tmp_path):
    recipe = tmp_path / "mine.yaml"
    recipe.write_text("tiny: true\nmax_step: 3\nfinetune:\n  lerning_rate: 1.0e-4\n", encoding="utf-8")
    # an unknown key in the recipe file names the file (any section, not only the stage's)
    with pytest.raises(UserError, match=rf"^{recipe}: unknown key\(s\) max_step \(did you mean max_steps.*\), "
                                        r"finetune.lerning_rate \(did you mean learning_rate"):
        resolve_recipe(recipe, "pretrain")
    # a value of the wrong type: the key, the value and the type; blamed on --set or on the file
    with pytest.raises(UserError, match=r"^--set max_steps: max_steps takes int, got 'abc'"):
        resolve_recipe("tiny", "pretrain", parse_set(["max_steps=abc"]))
    with pytest.raises(UserError, match=r"^--set bf16: bf16 takes bool \| None, got 'maybe'"):
        resolve_recipe("tiny", "pretrain", parse_set(["bf16=maybe"]))
    with pytest.raises(UserError, match=r"^--set save_strategy: save_strategy takes \{no, steps, epoch"):
        resolve_recipe("tiny", "pretrain", parse_set(["save_strategy=sometimes"]))
    recipe.write_text("tiny: true\nlora_r: eight\n", encoding="utf-8")
    with pytest.raises(UserError, match=rf"^{recipe}: lora_r takes int, got 'eight'"):
        resolve_recipe(recipe, "finetune")
    # what YAML 1.1 leaves as text but means a number is cast; whole floats become ints
    values = resolve_recipe("tiny", "pretrain", parse_set(["learning_rate=1e-4", "max_steps=1e1", "run_name=2024"]))
    assert values["learning_rate"] == 1e-4 and values["max_steps"] == 10 and type(values["max_steps"]) is int
    assert values["run_name"] == "2024"


def test_train_cli_errors_and_list_keys(tmp_path):
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "lrm_llava.cli", "train", *args], env=env,
                              capture_output=True, text=True, timeout=120)

    bad = cli("--stage", "pretrain", "--set", "max_steps=abc", "--print-config")
    assert bad.returncode == 1 and "Traceback" not in bad.stderr
    assert "--set max_steps" in bad.stderr and "'abc'" in bad.stderr and "int" in bad.stderr
    typo = cli("--stage", "pretrain", "--set", "save_step=5", "--print-config")
    assert typo.returncode == 1 and "Traceback" not in typo.stderr and "did you mean save_steps" in typo.stderr
    assert "--list-keys" in cli("--help").stdout
    listing = cli("--list-keys")
    assert listing.returncode == 0
    own, _, passed_on = listing.stdout.partition("TrainingArguments keys")
    assert own.startswith("TrainConfig keys") and passed_on
    # every key with its type, default and help: ours in the first part, transformers' in the second
    assert "  vision_cache  (bool, default: False)\n      Run the frozen vision tower once" in own
    assert "  max_steps  (int, default: -1)" in passed_on and "max_steps" not in own
    assert "  learning_rate*  (float | None, default: None)\n      Peak learning rate" in passed_on
    from lrm_llava.train.config import key_table, valid_keys

    rows = key_table()
    assert sorted(r["key"] for r in rows) == valid_keys()
    assert all(r["help"] for r in rows if r["own"] or r["changed"])


def test_recipe_yaml_of_a_run_loads_back(stage1, tmp_path):
    cfg = load_recipe(stage1 / "recipe.yaml", "pretrain", {"output_dir": str(tmp_path / "again")})
    assert cfg.stage == "pretrain" and cfg.tiny and cfg.max_steps == 4


# -- resume after a kill during a checkpoint save ---------------------------------------------------
class _CrashAfterSaveAt(TrainerCallback):
    def __init__(self, step: int) -> None:
        self.step = step

    def on_save(self, args, state, control, **kwargs):
        if state.global_step == self.step:
            raise _Crash()


def test_resume_skips_a_checkpoint_cut_by_a_kill(data, tmp_path, caplog):
    from lrm_llava.train.trainer import checkpoint_problem

    over = {"max_steps": 6, "save_steps": 2, "save_total_limit": 3}
    full = run_training(_cfg("pretrain", data, tmp_path / "full", **over))
    with pytest.raises(_Crash):
        run_training(_cfg("pretrain", data, tmp_path / "cut", **over), callbacks=[_CrashAfterSaveAt(4)])
    cut = tmp_path / "cut"
    assert sorted(p.name for p in cut.glob("checkpoint-*")) == ["checkpoint-2", "checkpoint-4"]
    assert checkpoint_problem(cut / "checkpoint-2") is None and checkpoint_problem(cut / "checkpoint-4") is None
    # what a kill in the middle of saving checkpoint-4 leaves: the weights cut short, and no
    # trainer_state.json (the Trainer writes it last)
    weights = cut / "checkpoint-4" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    (cut / "checkpoint-4" / "trainer_state.json").unlink()
    assert "no trainer_state.json" in checkpoint_problem(cut / "checkpoint-4")
    with caplog.at_level("WARNING", logger="lrm_llava.train.trainer"):
        resumed = run_training(_cfg("pretrain", data, cut, resume=True, **over))
    said = [r.getMessage() for r in caplog.records if "incomplete checkpoint" in r.getMessage()]
    assert len(said) == 1 and "checkpoint-4 (no trainer_state.json)" in said[0] and "checkpoint-2" in said[0]
    a, b = _weights(full), _weights(resumed)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    steps = [json.loads(line)["step"] for line in (resumed / "train_log.jsonl").read_text().splitlines()]
    assert steps == [1, 2, 3, 4, 5, 6]


def test_checkpoint_completeness_rules(data, stage1, tmp_path):
    import shutil

    from lrm_llava.train.trainer import checkpoint_problem, checkpoints, last_complete_checkpoint

    out = tmp_path / "out"
    source = next(stage1.glob("checkpoint-*"))
    for step in (2, 4, 6, 8):
        shutil.copytree(source, out / f"checkpoint-{step}")
    (out / "checkpoint-8" / "trainer_state.json").write_text('{"global_step": 8, "log_hi', encoding="utf-8")
    shard = out / "checkpoint-6" / "model.safetensors"
    shard.write_bytes(shard.read_bytes()[:-100])  # a torn file with trainer_state.json present still fails
    assert [p.name for p in checkpoints(out)] == ["checkpoint-8", "checkpoint-6", "checkpoint-4", "checkpoint-2"]
    assert "trainer_state.json is cut short" in checkpoint_problem(out / "checkpoint-8")
    assert "model.safetensors does not open" in checkpoint_problem(out / "checkpoint-6")
    assert last_complete_checkpoint(out) == out / "checkpoint-4"
    assert (out / "checkpoint-8").is_dir() and (out / "checkpoint-6").is_dir()  # reported, not deleted
    # an explicit resume_from_checkpoint that is incomplete is an error, not a crash later
    with pytest.raises(UserError, match="checkpoint-6' is not a complete checkpoint"):
        run_training(_cfg("pretrain", data, out, resume_from_checkpoint=str(out / "checkpoint-6")))


# -- damaged input folders ---------------------------------------------------------------------------
def test_damaged_input_folders_name_the_file(data, stage1, tmp_path):
    import shutil

    from lrm_llava.train import build_model_and_processor

    broken_config = tmp_path / "broken_config"
    shutil.copytree(stage1, broken_config, ignore=shutil.ignore_patterns("checkpoint-*"))
    (broken_config / "config.json").write_text('{"model_type": "llava", ', encoding="utf-8")
    torn = tmp_path / "torn"
    shutil.copytree(stage1, torn, ignore=shutil.ignore_patterns("checkpoint-*"))
    for name in ("model.safetensors", "projector.safetensors"):
        (torn / name).write_bytes((torn / name).read_bytes()[:1000])
    cases = [
        ({"tiny": False, "init_from": str(broken_config)}, "finetune", r"init_from .*broken_config.*config\.json.*malformed JSON"),
        ({"tiny": False, "init_from": str(torn)}, "finetune", r"init_from .*torn.*model\.safetensors is not a complete safetensors"),
        ({"tiny": True, "projector": str(torn / "projector.safetensors")}, "finetune",
         r"projector .*projector\.safetensors is not a complete safetensors"),
        ({"tiny": False, "vision_path": str(broken_config), "llm_path": str(torn)}, "pretrain",
         r"vision_path .*broken_config.*config\.json.*malformed JSON"),
        ({"tiny": False, "vision_path": str(stage1), "llm_path": str(torn)}, "pretrain",
         r"llm_path .*torn.*model\.safetensors is not a complete safetensors"),
    ]
    for over, stage, message in cases:
        with pytest.raises(UserError, match=message):
            build_model_and_processor(_cfg(stage, data, tmp_path / "x", **over))
