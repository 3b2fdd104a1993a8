"""A tiny Llava runs `eval` on small benchmark folders in every format and several languages."""

from __future__ import annotations

import argparse
import json

import pytest

from lrm_llava.bench import EvalConfig, read_predictions, run_eval, write_report
from lrm_llava.bench import cli as bench_cli
from lrm_llava.errors import UserError

FIELDS = {"question_id", "benchmark", "split", "language", "prompt", "output", "parsed", "answer", "category",
          "group"}


class Killed(Exception):
    pass


def _config(model, root, out, **kw):
    return EvalConfig(model=str(model), bench_root=root, out=out, languages="en,de,zh", batch_size=4,
                      max_new_tokens=3, progress=False, model_name="tiny", **kw)


def _predictions(out):
    rows = read_predictions(sorted((out / "predictions").glob("*.jsonl")))
    return sorted((r["benchmark"], r["language"], str(r["split"]), r["question_id"], r["output"]) for r in rows)


@pytest.fixture(scope="module")
def full_run(saved_tiny_model, translated_root, tmp_path_factory):
    out = tmp_path_factory.mktemp("full") / "eval"
    results = run_eval(_config(saved_tiny_model, translated_root, out))
    return out, results


def test_eval_writes_predictions_results_report(full_run):
    out, results = full_run
    rows = read_predictions(sorted((out / "predictions").glob("*.jsonl")))
    # 8 MME + 6 POPE + 6 MMBench (with rotations) + 3 SEED questions, in 3 languages
    assert len(rows) == (8 + 6 + 6 + 3) * 3
    assert all(FIELDS <= set(r) for r in rows)
    mme_de = next(r for r in rows if r["benchmark"] == "mme" and r["language"] == "de")
    assert mme_de["prompt"].endswith("\nBeantworten Sie die Frage mit einem einzigen Wort oder einer kurzen Phrase.")
    assert mme_de["prompt"].startswith("[de] ") and mme_de["group"] == mme_de["question_id"].rsplit("/", 1)[0]
    pope = [r for r in rows if r["benchmark"] == "pope"]
    assert {r["split"] for r in pope} == {"random", "adversarial"} and all(r["category"] is None for r in pope)
    mmb = next(r for r in rows if r["benchmark"] == "mmbench" and r["question_id"] == "1000000")
    assert mmb["group"] == "0" and mmb["answer"] == "D" and mmb["split"] is None

    saved = json.loads((out / "results.json").read_text())
    assert saved == results
    assert set(saved[0]) == {"model", "benchmark", "split", "language", "metric", "value"}
    for bench, metric in (("mme", "perception"), ("pope", "f1"), ("mmbench", "overall"), ("seed", "overall")):
        for lang in ("en", "de", "zh"):
            assert any(r["benchmark"] == bench and r["language"] == lang and r["metric"] == metric
                       and r["split"] is None for r in saved), (bench, lang, metric)
    assert (out / "results.csv").read_text().startswith("model,benchmark,split,language,metric,value\n")
    report = (out / "report.md").read_text()
    assert "| Model | En | Zh | De | Avg |" in report
    assert "Avg = mean of the 2 non-English languages evaluated here" in report
    for bench in ("mme", "pope", "mmbench", "seed"):
        assert (out / f"chart_{bench}.png").read_bytes()[:4] == b"\x89PNG"


def test_killed_run_resumes_to_the_same_results(full_run, saved_tiny_model, translated_root, tmp_path):
    full_out, full_results = full_run
    out = tmp_path / "eval"

    def kill_after_three(batches, rows):
        if batches == 3:
            raise Killed

    with pytest.raises(Killed):
        run_eval(_config(saved_tiny_model, translated_root, out), on_batch=kill_after_three)
    partial = read_predictions(sorted((out / "predictions").glob("*.jsonl")))
    assert len(partial) == 12  # three flushed batches of four
    # a half-written line, as a kill during a write leaves it
    with open(out / "predictions" / "mme.jsonl", "a", encoding="utf-8") as fh:
        fh.write('{"model": "tiny", "question_id": "exis')
    seen = []
    results = run_eval(_config(saved_tiny_model, translated_root, out), on_batch=lambda b, rows: seen.append(len(rows)))
    assert sum(seen) == len(_predictions(full_out)) - 12  # only the missing questions were generated
    assert _predictions(out) == _predictions(full_out)
    assert results == full_results


def test_rescore_predictions_without_model(full_run, tmp_path):
    full_out, full_results = full_run
    files = [str(p) for p in sorted((full_out / "predictions").glob("*.jsonl"))]
    parser = argparse.ArgumentParser()
    bench_cli.register(parser.add_subparsers())
    args = parser.parse_args(["eval", "--predictions", *files, "--out", str(tmp_path / "re")])
    assert args.func(args) == 0
    assert json.loads((tmp_path / "re" / "results.json").read_text()) == full_results


def test_report_compares_two_models(full_run, tmp_path):
    _, results = full_run
    other = [{**r, "model": "other", "value": r["value"] + 1.0} for r in results]
    write_report(results + other, tmp_path / "cmp")
    report = (tmp_path / "cmp" / "report.md").read_text()
    table = report.split("## Multilingual SEED-Bench (Image)")[1].split("Avg =")[0]
    lines = [line for line in table.splitlines() if line.startswith("| tiny") or line.startswith("| other")]
    assert [line.split(" |")[0] for line in lines] == ["| tiny", "| other"]
    assert "**" in lines[1] and "**" not in lines[0]  # the better model is bold
    chance = [line for line in table.splitlines() if line.startswith("| *chance*")]
    expected = next(r["value"] for r in results if r["benchmark"] == "seed" and r["language"] == "en"
                    and r["metric"] == "chance[overall]")
    assert len(chance) == 1 and "**" not in chance[0]  # a reference, never the best
    assert chance[0].split(" | ")[1] == f"{expected:.1f}" and table.strip().endswith(chance[0])
    assert len(json.loads((tmp_path / "cmp" / "results.json").read_text())) == 2 * len(results)


def test_limit_keeps_whole_groups_and_cli_runs(saved_tiny_model, translated_root, tmp_path):
    parser = argparse.ArgumentParser()
    bench_cli.register(parser.add_subparsers())
    out = tmp_path / "lim"
    args = parser.parse_args(["eval", "--model", str(saved_tiny_model), "--bench-root", str(translated_root),
                              "--benchmarks", "mme,mmbench,pope", "--languages", "cs", "--out", str(out),
                              "--limit", "1", "--max-new-tokens", "2", "--no-progress", "--no-fidelity",
                              "--device", "cpu", "--dtype", "float32"])
    assert (args.device, args.dtype) == ("cpu", "float32")
    assert args.func(args) == 0
    rows = read_predictions(sorted((out / "predictions").glob("*.jsonl")))
    ids = sorted((r["benchmark"], str(r["split"]), r["question_id"]) for r in rows)
    assert ids == [("mmbench", "None", "0"), ("mmbench", "None", "1000000"), ("mmbench", "None", "2000000"),
                   ("mmbench", "None", "3000000"), ("mme", "None", "artwork/a1/0"), ("mme", "None", "artwork/a1/1"),
                   ("pope", "adversarial", "1"), ("pope", "random", "1")]
    assert all(r["model"] == saved_tiny_model.name for r in rows)


def test_user_errors(saved_tiny_model, translated_root, tmp_path):
    with pytest.raises(UserError, match="not found; translate it first"):
        run_eval(EvalConfig(model=str(saved_tiny_model), bench_root=translated_root, out=tmp_path, languages="hr"))
    with pytest.raises(UserError, match="unknown benchmark"):
        run_eval(EvalConfig(model=str(saved_tiny_model), bench_root=translated_root, out=tmp_path, benchmarks="vqa"))
    (tmp_path / "o" / "predictions").mkdir(parents=True)
    (tmp_path / "o" / "predictions" / "seed.jsonl").write_text(json.dumps(
        {"model": "someone-else", "question_id": "101", "benchmark": "seed", "language": "en", "output": "A",
         "answer": "A"}) + "\n")
    with pytest.raises(UserError, match="holds predictions of model 'someone-else'"):
        run_eval(EvalConfig(model=str(saved_tiny_model), bench_root=translated_root, out=tmp_path / "o",
                            benchmarks="seed", languages="en"))


def test_eval_uses_the_template_the_model_was_trained_with(saved_tiny_model, translated_root, tmp_path,
                                                            monkeypatch):
    import shutil

    import lrm_llava.infer as infer
    from lrm_llava.infer.generate import trained_template

    model = tmp_path / "model"
    shutil.copytree(saved_tiny_model, model)
    assert trained_template(model) == "vicuna_v1"  # no recipe.yaml: LLaVA-1.5's
    (model / "recipe.yaml").write_text("stage: finetune\ntemplate: plain\n", encoding="utf-8")
    assert trained_template(model) == "plain"
    seen: list[str] = []
    real = infer.generate_batch

    def spy(*args, **kwargs):
        seen.append(kwargs["template"])
        return real(*args, **kwargs)

    monkeypatch.setattr(infer, "generate_batch", spy)
    run_eval(_config(model, translated_root, tmp_path / "own", benchmarks=["pope"], limit=2))
    run_eval(_config(model, translated_root, tmp_path / "asked", benchmarks=["pope"], limit=2, template="vicuna_v1"))
    assert set(seen[: len(seen) // 2]) == {"plain"} and set(seen[len(seen) // 2:]) == {"vicuna_v1"}
    (model / "recipe.yaml").write_text("template: vicuna_v9\n", encoding="utf-8")
    with pytest.raises(UserError, match="unknown chat template 'vicuna_v9'"):
        trained_template(model)
