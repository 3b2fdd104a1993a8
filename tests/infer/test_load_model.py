"""`load_model` / `resolve_device` / `check_generation`: every problem a user can cause (unknown or
absent device, no answer length, a broken model folder) is a `UserError` that names it and the fix,
for every command at once; and the chat command's flags come from `options.add_model_flags`."""

from __future__ import annotations

import argparse
import json
import shutil

import pytest
import torch

from lrm_llava.errors import UserError
from lrm_llava.infer import (
    SAVED_DTYPE,
    check_generation,
    check_model_folder,
    generate_batch,
    load_model,
    resolve_device,
)


@pytest.fixture
def no_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)


@pytest.fixture
def copy_of(saved_tiny_model, tmp_path):
    """A writable copy of the saved tiny model, to break."""
    def make(name: str = "model"):
        return shutil.copytree(saved_tiny_model, tmp_path / name)
    return make


# ------------------------------------------------------------------------------------------- device
def test_auto_and_none_pick_the_cpu_without_a_gpu(no_gpu):
    for name in (None, "", "auto", " auto "):
        assert resolve_device(name) == torch.device("cpu")
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device(torch.device("cpu")) == torch.device("cpu")


@pytest.mark.parametrize("name", ["tpu9", "gpu", "cuda:x", "cpu:nope"])
def test_an_unknown_device_is_a_user_error(name):
    with pytest.raises(UserError, match=rf"unknown device '{name}'.*use auto.*cpu, cuda"):
        resolve_device(name)


def test_a_device_torch_knows_but_inference_does_not_is_refused():
    with pytest.raises(UserError, match="'meta'.*not supported.*use auto"):
        resolve_device("meta")


def test_cuda_without_a_gpu_says_so_and_names_the_fix(no_gpu):
    for name in ("cuda", "cuda:0"):
        with pytest.raises(UserError, match=r"no CUDA GPU.*Fix: pass --device cpu"):
            resolve_device(name)


def test_a_gpu_index_past_the_last_gpu_is_refused(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert resolve_device("cuda:1") == torch.device("cuda:1")
    with pytest.raises(UserError, match=r"has 2 CUDA GPU.*cuda:0 \.\.\. cuda:1"):
        resolve_device("cuda:2")


def test_load_model_checks_the_device_before_loading(saved_tiny_model, no_gpu):
    with pytest.raises(UserError, match="unknown device 'tpu9'"):
        load_model(saved_tiny_model, device="tpu9")
    with pytest.raises(UserError, match="no CUDA GPU"):
        load_model(saved_tiny_model, device="cuda")


# ------------------------------------------------------------------------------ generation settings
@pytest.mark.parametrize("bad", [0, -1, -16, True, 2.5, "8"])
def test_max_new_tokens_below_one_is_refused(bad):
    with pytest.raises(UserError, match=r"--max-new-tokens .*at least 1.*Fix"):
        check_generation(max_new_tokens=bad)


def test_batch_size_below_one_is_refused():
    check_generation(max_new_tokens=1, batch_size=1)
    with pytest.raises(UserError, match=r"--batch-size 0: must be at least 1"):
        check_generation(max_new_tokens=4, batch_size=0)


def test_generate_batch_refuses_max_new_tokens_zero(tiny_model):
    model, processor = tiny_model
    for bad in (0, -3):
        with pytest.raises(UserError, match="--max-new-tokens"):
            generate_batch(model, processor, [None], ["q"], max_new_tokens=bad)
    with pytest.raises(UserError, match="--batch-size"):
        generate_batch(model, processor, [None], ["q"], batch_size=0)


# ------------------------------------------------------------------------------ broken model folders
def test_a_malformed_config_json_names_the_file_and_the_fix(copy_of):
    folder = copy_of()
    (folder / "config.json").write_text('{"model_type": "llava", ', encoding="utf-8")
    with pytest.raises(UserError, match=r"config\.json is broken: .*config\.json:1:25: malformed JSON.*Fix: repair.*Or save the folder again"):
        load_model(folder, device="cpu")


def test_a_config_json_that_is_not_a_model_config_is_refused(copy_of):
    folder = copy_of()
    (folder / "config.json").write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(UserError, match=r'not a model config \(no "model_type"\).*Fix'):
        load_model(folder, device="cpu")
    (folder / "config.json").write_text(json.dumps({"model_type": "no-such-model"}), encoding="utf-8")
    with pytest.raises(UserError, match=r"cannot be loaded as a Llava model.*Fix"):
        load_model(folder, device="cpu")


@pytest.mark.parametrize("keep", [0.5, 0.999, 4])
def test_truncated_weights_are_refused_before_transformers_reads_them(copy_of, keep):
    folder = copy_of()
    weights = folder / "model.safetensors"
    data = weights.read_bytes()
    weights.write_bytes(data[: int(len(data) * keep)] if keep < 1 else data[:keep])
    with pytest.raises(UserError, match=r"model\.safetensors.*truncated or corrupt.*Fix: save the folder again"):
        check_model_folder(folder)
    with pytest.raises(UserError, match="truncated or corrupt"):
        load_model(folder, device="cpu")


def test_missing_weights_or_tokenizer_are_user_errors(copy_of):
    folder = copy_of("no-weights")
    (folder / "model.safetensors").unlink()
    with pytest.raises(UserError, match=r"cannot be loaded as a Llava model.*Fix"):
        load_model(folder, device="cpu")
    folder = copy_of("no-tokenizer")
    (folder / "tokenizer.json").unlink()
    (folder / "tokenizer_config.json").unlink()
    with pytest.raises(UserError, match="Fix"):
        load_model(folder, device="cpu")


def test_saved_dtype_keeps_what_the_folder_stores(tmp_path):
    from lrm_llava.model import build_tiny_model, save_model

    model, processor = build_tiny_model(seed=2)
    folder = save_model(model.to(torch.bfloat16), processor, tmp_path / "bf16")
    loaded, _ = load_model(folder, device="cpu", dtype=SAVED_DTYPE)
    assert loaded.dtype == torch.bfloat16
    loaded, _ = load_model(folder, device="cpu")  # auto on a CPU: float32
    assert loaded.dtype == torch.float32
    with pytest.raises(UserError, match="unknown dtype 'int8'.*saved"):
        load_model(folder, device="cpu", dtype="int8")


# ----------------------------------------------------------------------------------- the chat flags
def _chat(argv):
    from lrm_llava.infer import cli as infer_cli

    parser = argparse.ArgumentParser()
    infer_cli.register(parser.add_subparsers(dest="command"))
    return parser.parse_args(["chat", *argv])


def test_chat_takes_the_shared_model_flags_with_its_own_defaults():
    args = _chat(["--model", "m", "Hallo?"])
    assert (args.max_new_tokens, args.device, args.dtype, args.template) == (128, None, "auto", None)
    assert not hasattr(args, "batch_size")
    args = _chat(["--model", "m", "--device", "auto", "--dtype", "bfloat16", "--template", "plain", "Hallo?"])
    assert (args.device, args.dtype, args.template) == ("auto", "bfloat16", "plain")


def test_chat_refuses_bad_settings_with_user_errors(saved_tiny_model, copy_of, no_gpu):
    for argv, message in [
        (["--max-new-tokens", "0"], "--max-new-tokens 0"),
        (["--max-new-tokens", "-5"], "--max-new-tokens -5"),
        (["--device", "tpu9"], "unknown device 'tpu9'"),
        (["--device", "cuda"], "no CUDA GPU"),
    ]:
        args = _chat(["--model", str(saved_tiny_model), *argv, "Hallo?"])
        with pytest.raises(UserError, match=message):
            args.func(args)
    broken = copy_of()
    (broken / "config.json").write_text("{", encoding="utf-8")
    args = _chat(["--model", str(broken), "Hallo?"])
    with pytest.raises(UserError, match="config.json is broken"):
        args.func(args)
