"""`lrm-llava eval --model FOLDER` on tiny random checkpoints of six vision-language families (the
`hf` adapter), and the rule that picks the adapter from the folder."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from lrm_llava.bench import EvalConfig, read_predictions, run_eval
from lrm_llava.bench.common import load_image
from lrm_llava.bench.prompts import build_prompt
from lrm_llava.bench.run import load_items
from lrm_llava.cli import main
from lrm_llava.errors import UserError
from lrm_llava.infer.adapters import Request, detect_adapter, make_adapter
from lrm_llava.infer.adapters.hf import QUIRKS, HFAdapter
from lrm_llava.infer.adapters.tiny import TINY_FAMILIES, build_tiny_family

LANGS = ("en", "de")
PER_LANGUAGE = 8 + 6 + 6 + 3  # MME, POPE, MMBench (with rotations), SEED questions of benchdata


@pytest.fixture(scope="module")
def families(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("families")
    return {name: build_tiny_family(name, root / name, seed=1) for name in TINY_FAMILIES}


def _eval_cli(folder: Path, bench_root: Path, out: Path, *extra: str) -> int:
    return main(["eval", "--model", str(folder), "--bench-root", str(bench_root), "--languages", ",".join(LANGS),
                 "--out", str(out), "--batch-size", "4", "--max-new-tokens", "3", "--no-progress", "--no-fidelity",
                 "--device", "cpu", *extra])


@pytest.mark.parametrize("family", TINY_FAMILIES)
def test_eval_cli_runs_every_family_batched_as_one_by_one(family, families, translated_root, tmp_path):
    out = tmp_path / "eval"
    assert detect_adapter(families[family]) == "hf"
    assert _eval_cli(families[family], translated_root, out) == 0
    rows = read_predictions(sorted((out / "predictions").glob("*.jsonl")))
    assert len(rows) == PER_LANGUAGE * len(LANGS)
    assert {r["adapter"] for r in rows} == {"hf"} and {r["model_id"] for r in rows} == {str(families[family])}
    assert {json.dumps(r["generation"], sort_keys=True) for r in rows} == {json.dumps(
        {"model_type": family, "prompt": {"instructblip": "question", "paligemma": "paligemma_prefix"}.get(
            family, "chat_template"), "max_new_tokens": 3, "dtype": "auto"}, sort_keys=True)}
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert {(r["benchmark"], r["language"]) for r in results if r["metric"] == "n"} == \
        {(b, lang) for b in ("mme", "pope", "mmbench", "seed") for lang in LANGS}
    assert set(results[0]) == {"model", "benchmark", "split", "language", "metric", "value"}
    assert "| Model | En | De | Avg |" in (out / "report.md").read_text(encoding="utf-8")
    run = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert run["adapter"] == "hf" and run["model_id"] == str(families[family]) and run["questions"] == len(rows)
    assert run["generation"]["model_type"] == family

    # batched (4 per batch, sorted by length) equals one question at a time
    adapter = HFAdapter(families[family], max_new_tokens=3, batch_size=1, device="cpu")
    for bench in ("mme", "mmbench"):
        for it in load_items(translated_root, bench, "de")[:4]:
            one = adapter.generate([Request(load_image(it), build_prompt(it), it.language)])
            row = next(r for r in rows if (r["benchmark"], r["language"], r["question_id"]) ==
                       (bench, "de", it.question_id))
            assert one == [row["output"]], (family, bench, it.question_id)


def _first_ids(adapter: HFAdapter, request: Request) -> list[int]:
    text, add_special = adapter.render(request)
    return adapter.processor.tokenizer(text, add_special_tokens=add_special)["input_ids"]


def test_each_family_is_prompted_its_documented_way(families, tiny_image):
    ask = Request(tiny_image, "Is it red?\nAnswer the question using a single word or phrase.", "de")
    seen = {}
    for family in TINY_FAMILIES:
        adapter = HFAdapter(families[family], device="cpu").load()
        seen[family] = adapter.render(ask)[0]
        ids = _first_ids(adapter, ask)
        bos = adapter.processor.tokenizer.bos_token_id
        if family in ("gemma3", "idefics3", "llava", "llava_next", "instructblip"):
            assert ids[0] == bos and ids[1] != bos, family  # exactly one BOS, never two
    assert seen["llava"] == "USER: <image>\nIs it red?\nAnswer the question using a single word or phrase. ASSISTANT:"
    assert seen["llava_next"].startswith("[INST] <image>\nIs it red?") and seen["llava_next"].endswith(" [/INST]")
    assert seen["gemma3"].startswith("<bos><start_of_turn>user\n<start_of_image>Is it red?")
    assert seen["gemma3"].endswith("<end_of_turn>\n<start_of_turn>model\n")
    assert seen["idefics3"].startswith("<|begin_of_text|>User:<image>Is it red?")
    assert seen["idefics3"].endswith("<end_of_utterance>\nAssistant:")
    assert seen["instructblip"] == ask.prompt  # no chat template: the question itself
    # PaliGemma's prefix prompt, on one line; the processor adds the image tokens' expansion, BOS and "\n"
    assert seen["paligemma"] == "<image>answer de Is it red? Answer the question using a single word or phrase."
    pali = HFAdapter(families["paligemma"], device="cpu").load()
    enc = pali.processor(text=[seen["paligemma"]], images=[tiny_image], return_tensors="pt",
                         add_special_tokens=False)
    ids = enc["input_ids"][0].tolist()
    tok = pali.processor.tokenizer
    assert ids[:16] == [tok.convert_tokens_to_ids("<image>")] * 16 and ids.count(tok.bos_token_id) == 1
    assert ids[16] == tok.bos_token_id
    assert tok.decode(ids[17:]) == "answer de Is it red? Answer the question using a single word or phrase.\n"
    assert set(QUIRKS) >= {"gemma3", "idefics3", "paligemma", "instructblip", "qwen2_vl"}


def test_text_only_questions_mix_with_image_questions(families, tiny_image):
    adapter = HFAdapter(families["gemma3"], max_new_tokens=4, batch_size=4, device="cpu")
    asks = [Request(tiny_image, "Is it red?"), Request(None, "Hello, how are you?"), Request(tiny_image, "Blue?"),
            Request(None, "2+2?")]
    assert adapter.generate(asks) == [adapter.generate([a])[0] for a in asks]
    with pytest.raises(UserError, match="paligemma models answer questions about an image only"):
        HFAdapter(families["paligemma"], device="cpu").generate([Request(None, "2+2?")])


def test_the_adapter_is_picked_from_the_folder(families, saved_tiny_model, tmp_path):
    assert detect_adapter(saved_tiny_model) == "llava"  # a LLaVA folder without a chat template
    ours = tmp_path / "ours"
    shutil.copytree(families["llava"], ours)
    assert detect_adapter(ours) == "hf"  # llava-hf style: its own chat template
    (ours / "recipe.yaml").write_text("template: vicuna_v1\n", encoding="utf-8")
    assert detect_adapter(ours) == "llava"  # written by `lrm-llava train`
    assert make_adapter(path=ours).name == "llava"
    assert make_adapter("hf", path=ours).name == "hf"
    with pytest.raises(UserError, match=r"no such folder\. Fix: pass the folder of a saved model"):
        detect_adapter(tmp_path / "missing")
    (tmp_path / "file.bin").write_bytes(b"x")
    with pytest.raises(UserError, match="is a file, not a model folder"):
        make_adapter(path=tmp_path / "file.bin")
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="no config.json"):
        detect_adapter(tmp_path / "empty")
    with pytest.raises(UserError, match="--template is for the llava adapter"):
        make_adapter("hf", path=families["gemma3"], template="vicuna_v1")
    with pytest.raises(UserError, match="--api-base is for --adapter openai"):
        make_adapter("hf", path=families["gemma3"], api_base="http://127.0.0.1:1/v1")


def test_missing_model_and_empty_benchmark_are_errors_with_the_fix(families, translated_root, tmp_path, capsys):
    assert _eval_cli(tmp_path / "nope", translated_root, tmp_path / "o") == 1
    assert "no such folder. Fix: pass the folder of a saved model" in capsys.readouterr().err
    root = tmp_path / "bench"
    shutil.copytree(translated_root / "pope" / "en", root / "pope" / "en")
    (root / "seed" / "en").mkdir(parents=True)
    (root / "seed" / "en" / "SEED-Bench.json").write_text(json.dumps({"questions": [], "question_type": {}}))
    with pytest.raises(UserError, match=r"seed/en: no seed questions found there .* Fix: put the benchmark's files"):
        run_eval(EvalConfig(model=str(families["gemma3"]), bench_root=root, out=tmp_path / "e", languages="en", benchmarks="pope,seed",
                            progress=False, fidelity=False))


def test_resuming_with_another_adapter_is_refused(families, translated_root, tmp_path):
    folder = families["llava"]
    cfg = dict(model=str(folder), bench_root=translated_root, out=tmp_path / "e", benchmarks="pope",
               languages="en", limit=1, max_new_tokens=2, progress=False, fidelity=False, model_name="m")
    run_eval(EvalConfig(**cfg, adapter="llava", template="vicuna_v1"))
    rows = read_predictions([tmp_path / "e" / "predictions" / "pope.jsonl"])
    assert {r["adapter"] for r in rows} == {"llava"}
    assert rows[0]["generation"] == {"template": "vicuna_v1", "max_new_tokens": 2, "dtype": "auto"}
    with pytest.raises(UserError, match="other settings .*adapter: llava -> hf"):
        run_eval(EvalConfig(**cfg, adapter="hf"))
    # settings written before adapters existed were made by the llava adapter
    settings = tmp_path / "e" / "predictions" / "settings.json"
    old = json.loads(settings.read_text())
    del old["adapter"]
    settings.write_text(json.dumps(old))
    run_eval(EvalConfig(**cfg, adapter="llava", template="vicuna_v1"))
