"""Hostile input to `bench translate` and `eval`: inputs are never overwritten, each question counts
once, images never escape their folder, resumed runs never mix settings, numbers mean what they say."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from lrm_llava.bench import EvalConfig, read_predictions, run_eval
from lrm_llava.bench.run import load_items
from lrm_llava.bench.translation import MANIFEST, TranslateConfig, translate_benchmark
from lrm_llava.errors import DataError, UserError


def _digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_translation_never_writes_over_an_original(bench_root):
    # the documented layout (out = src) with a German source and "all" targets: English must survive
    german = bench_root / "pope" / "de"
    shutil.copytree(bench_root / "pope" / "en", german)
    before = _digest(bench_root)
    with pytest.raises(UserError, match=r"pope/en holds a benchmark that `bench translate` did not write"):
        translate_benchmark(TranslateConfig(benchmark="pope", src=bench_root, out=bench_root, languages="all",
                                            src_language="de", backend="pseudo", progress=False))
    assert _digest(bench_root) == before


def test_translated_folders_carry_a_manifest_and_are_redone_on_rerun(bench_root):
    cfg = TranslateConfig(benchmark="pope", src=bench_root, out=bench_root, languages="de", backend="pseudo",
                          progress=False)
    translate_benchmark(cfg)
    manifest = json.loads((bench_root / "pope" / "de" / MANIFEST).read_text(encoding="utf-8"))
    assert manifest["backend"] == "pseudo" and manifest["source_language"] == "en" and manifest["language"] == "de"
    translate_benchmark(cfg)  # ours: may be rewritten
    assert len(load_items(bench_root, "pope", "de")) == len(load_items(bench_root, "pope", "en"))


def test_benchmark_image_symlinked_outside_is_refused(bench_root, tmp_path):
    images = bench_root / "pope" / "en" / "images"
    target = next(images.iterdir())
    secret = tmp_path / "secret.png"
    shutil.copy(target, secret)
    target.unlink()
    target.symlink_to(secret)
    with pytest.raises(DataError, match="leads outside the image root"):
        load_items(bench_root, "pope", "en")


def _rows(tmp_path: Path, rows: list[dict], name: str = "p.jsonl") -> Path:
    path = tmp_path / name
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _row(qid, output="yes", **kw) -> dict:
    return {"model": "m", "question_id": qid, "benchmark": "pope", "language": "en", "split": "random",
            "output": output, "answer": "yes", **kw}


def test_predictions_count_once(tmp_path):
    path = _rows(tmp_path, [_row("1"), _row("2", "no")])
    with pytest.raises(UserError, match="given twice"):
        read_predictions([path, path])
    assert len(read_predictions([_rows(tmp_path, [_row("1"), _row("1"), _row("2")], "dup.jsonl")])) == 2
    with pytest.raises(DataError, match=r"dup2.jsonl:2: question 1 .*already answered differently at .*dup2.jsonl:1"):
        read_predictions([_rows(tmp_path, [_row("1"), _row(1, "no")], "dup2.jsonl")])


@pytest.mark.parametrize("line", ["5", "null", '"text"', json.dumps(_row("1", output=7)),
                                  json.dumps(_row(None)), json.dumps({"question_id": "1"})])
def test_malformed_prediction_rows_are_clear_errors(tmp_path, line):
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(_row("0")) + "\n" + line + "\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"bad.jsonl:2: "):
        read_predictions([path])


def test_predictions_of_another_benchmark_are_not_appended_to(tmp_path):
    path = _rows(tmp_path, [_row("1")], "mme.jsonl")
    with pytest.raises(UserError, match="a pope prediction in the mme predictions file"):
        read_predictions([path], benchmark="mme")


@pytest.mark.parametrize("field,value,match", [("limit", 0, "--limit 0"), ("limit", -1, "--limit -1"),
                                               ("max_new_tokens", 0, "--max-new-tokens 0"),
                                               ("batch_size", 0, "--batch-size 0")])
def test_numbers_that_would_do_something_else_are_refused(tmp_path, bench_root, field, value, match):
    with pytest.raises(UserError, match=match):
        run_eval(EvalConfig(model=str(tmp_path / "none"), bench_root=bench_root, out=tmp_path / "o",
                            **{field: value}))


def test_resume_refuses_predictions_made_with_other_settings(saved_tiny_model, translated_root, tmp_path):
    cfg = dict(model=str(saved_tiny_model), bench_root=translated_root, out=tmp_path / "eval", benchmarks="pope",
               languages="en", batch_size=4, max_new_tokens=3, progress=False, model_name="tiny", limit=2)
    run_eval(EvalConfig(**cfg))
    before = _digest(tmp_path / "eval" / "predictions")
    for change in ({"max_new_tokens": 5}, {"template": "vicuna_v1_nosystem"}):
        with pytest.raises(UserError, match="made with other settings"):
            run_eval(EvalConfig(**{**cfg, **change}))
    assert _digest(tmp_path / "eval" / "predictions") == before
    run_eval(EvalConfig(**cfg))  # same settings: resumes (nothing left to do)
