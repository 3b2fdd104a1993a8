"""`bench export`: Hugging Face parquet, lmms-eval tasks and VLMEvalKit TSVs, each read back as the
same questions, answers, options, rotations and image bytes."""

from __future__ import annotations

import argparse
import base64
import importlib.util
import json
import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # everything is local; never ask the Hub
datasets = pytest.importorskip("datasets")

from lrm_llava.bench import cli as bench_cli  # noqa: E402
from lrm_llava.bench.export import ExportConfig, export_bench, vlmevalkit_name  # noqa: E402
from lrm_llava.bench.formats import MODULES  # noqa: E402
from lrm_llava.bench.prompts import build_prompt  # noqa: E402
from lrm_llava.bench.run import load_items, prediction_row  # noqa: E402
from lrm_llava.bench.translation import TranslateConfig, translate_benchmark  # noqa: E402
from lrm_llava.errors import UserError  # noqa: E402

BENCHES = ("mme", "pope", "mmbench", "seed")
LANGS = ("en", "zh", "de")  # registry order
LMMS_LAB_COLUMNS = {
    "mme": ["question_id", "image", "question", "answer", "category"],
    "pope": ["id", "question_id", "question", "answer", "image_source", "image", "category"],
    "mmbench": ["index", "question", "hint", "answer", "A", "B", "C", "D", "category", "image", "source",
                "L2-category", "comment", "split"],
    "seed": ["answer", "choice_a", "choice_b", "choice_c", "choice_d", "data_id", "data_type", "question",
             "question_id", "question_type_id", "image"],
}
"""The columns lmms-eval's tasks read from the lmms-lab datasets (lmms-lab/MME, POPE, MMBench, SEED-Bench)."""


def key(item) -> tuple:
    return (item.question_id, item.question, item.answer, item.split, item.category, item.group, item.hint,
            tuple(item.options.items()))


def image(item) -> bytes:
    return base64.b64decode(item.image_b64) if item.image_b64 else Path(item.image_path).read_bytes()


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    """English, German and Chinese of the four benchmarks (self-contained translations)."""
    from benchdata import make_bench_root

    root = make_bench_root(tmp_path_factory.mktemp("export") / "bench")
    for bench in BENCHES:
        translate_benchmark(TranslateConfig(benchmark=bench, src=root, out=root, languages="de,zh",
                                            backend="pseudo", progress=False))
    return root


@pytest.fixture(scope="module")
def hf(root, tmp_path_factory):
    out = tmp_path_factory.mktemp("hf")
    export_bench(ExportConfig(bench_root=root, out=out, format="hf"))
    return out


def assert_same(root, other, bench, lang):
    a, b = load_items(root, bench, lang), load_items(other, bench, lang)
    assert [key(i) for i in b] == [key(i) for i in a], (bench, lang)
    assert [image(i) for i in b] == [image(i) for i in a], (bench, lang)


def test_hf_round_trip(root, hf):
    for bench in BENCHES:
        for lang in LANGS:
            assert_same(root, hf, bench, lang)  # `eval --bench-root` reads the export as it is


def test_hf_configs_load_with_datasets(hf, tmp_path):
    for bench in BENCHES:
        card = (hf / bench / "README.md").read_text(encoding="utf-8")
        assert card.startswith("---\n") and "configs:" in card
        for lang in LANGS:
            split = "dev" if bench == "mmbench" else "test"
            ds = datasets.load_dataset(str(hf / bench), name=lang, split=split, cache_dir=str(tmp_path / "cache"))
            assert [c for c in LMMS_LAB_COLUMNS[bench] if c not in ds.column_names] == []
            assert len(ds) == len([i for i in load_items(hf, bench, lang)])
            first = ds[0]
            img = first["image"][0] if bench == "seed" else first["image"]
            assert img.size == (32, 32)  # embedded, decoded by datasets
    mmb = datasets.load_dataset(str(hf / "mmbench"), name="de", split="dev", cache_dir=str(tmp_path / "cache"))
    assert sorted(mmb["index"]) == [0, 1, 1000000, 1000001, 2000000, 3000000]  # rotations kept
    assert mmb[0]["hint"] == "[de] Look at the centre." and mmb[1]["hint"] is None and mmb[1]["C"] is None


def test_vlmevalkit_round_trip(root, tmp_path):
    out = tmp_path / "vlm"
    export_bench(ExportConfig(bench_root=root, out=out, format="vlmevalkit"))
    config = json.loads((out / "vlmevalkit.json").read_text(encoding="utf-8"))
    names = {p.stem for p in out.glob("*.tsv")}
    assert names == set(config["data"])
    assert "MME_LRM_DE" in names and "POPE_LRM_ZH" in names and "SEEDBench_IMG_LRM_EN" in names
    assert "MMBench_DEV_toy_LRM_DE" in names
    assert config["data"]["MME_LRM_DE"] == {"class": "ImageYORNDataset", "dataset": "MME_LRM_DE"}
    assert not any("MME" in n for n in names if n.startswith("POPE"))  # VLMEvalKit picks MME_rating by "MME"
    for bench in BENCHES:
        for lang in LANGS:
            name = vlmevalkit_name(bench, lang, "MMBench_DEV_toy.tsv")
            folder = tmp_path / "back" / bench / lang
            folder.mkdir(parents=True)
            shutil.copy(out / f"{name}.tsv", folder)
            assert_same(root, tmp_path / "back", bench, lang)
    header = (out / "POPE_LRM_DE.tsv").read_text(encoding="utf-8").splitlines()[0].split("\t")
    assert header[:5] == ["index", "image", "question", "answer", "category"]
    pope = (out / "POPE_LRM_DE.tsv").read_text(encoding="utf-8").splitlines()[1].split("\t")
    assert pope[3] == "Yes"  # VLMEvalKit's POPE_rating compares with "Yes"


class FunctionTag(str):
    pass


def _yaml(path: Path) -> dict:
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    Loader.add_constructor("!function", lambda loader, node: FunctionTag(loader.construct_scalar(node)))
    return yaml.load(path.read_text(encoding="utf-8"), Loader=Loader)


def test_lmms_eval_tasks_parse_point_at_columns_and_score_like_eval(root, tmp_path):
    out = tmp_path / "lmms"
    export_bench(ExportConfig(bench_root=root, out=out, format="lmms-eval"))
    tasks = out / "lrm_llava"
    spec = importlib.util.spec_from_file_location("lrm_lmms_utils", tasks / "utils.py")
    utils = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(utils)
    top = _yaml(tasks / "lrm_llava.yaml")
    assert top["group"] == "lrm_llava" and top["task"] == [f"lrm_{b}" for b in BENCHES]
    for bench in BENCHES:
        group = _yaml(tasks / f"lrm_{bench}.yaml")
        assert group["task"] == [f"lrm_{bench}_{lang}" for lang in LANGS]
        for lang in LANGS:
            cfg = _yaml(tasks / f"lrm_{bench}_{lang}.yaml")
            assert cfg["task"] == f"lrm_{bench}_{lang}" and cfg["dataset_name"] == lang
            functions = [cfg["doc_to_visual"], cfg["doc_to_text"], cfg["process_results"],
                         *[m["aggregation"] for m in cfg["metric_list"]]]
            for fn in functions:
                assert isinstance(fn, FunctionTag) and fn.startswith("utils.") and hasattr(utils, fn[6:]), fn
            ds = datasets.load_dataset(cfg["dataset_path"], name=cfg["dataset_name"], split=cfg["test_split"],
                                       cache_dir=str(tmp_path / "cache"))
            assert cfg["doc_to_target"] in ds.column_names
            items = load_items(root, bench, lang)
            kwargs = cfg["lmms_eval_specific_kwargs"]["default"]
            docs = list(ds)
            assert len(docs) == len(items)
            doc_to_text = getattr(utils, cfg["doc_to_text"][6:])
            process = getattr(utils, cfg["process_results"][6:])
            ours, theirs = [], []
            for n, (doc, item) in enumerate(zip(docs, items)):
                assert doc_to_text(doc, kwargs) == build_prompt(item)  # the localized prompt of `eval`
                assert getattr(utils, cfg["doc_to_visual"][6:])(doc)[0].size == (32, 32)
                wrong = {"yes": "No", "no": "Yes"}.get(item.answer) or next(k for k in item.options if k != item.answer)
                output = wrong if n % 3 == 0 else (item.answer.capitalize() if bench in ("mme", "pope") else item.answer)
                ours.append(prediction_row(item, "m", build_prompt(item), output))
                theirs.append(process(doc, [output]))
            for metric in cfg["metric_list"]:
                name = metric["metric"]
                got = getattr(utils, metric["aggregation"][6:])([t[name] for t in theirs])
                want = next((v for s, m, v in MODULES[bench].score(ours) if s is None and m == name), None)
                if want is None:
                    assert got != got  # NaN: not defined for these questions (no cognition subtask...)
                else:
                    assert got == pytest.approx(want), (bench, lang, name)


def test_lmms_eval_dataset_path_option(root, tmp_path):
    written = export_bench(ExportConfig(bench_root=root, out=tmp_path / "o", format="lmms-eval", benchmarks="pope",
                                        languages="de", dataset_path="someone/lrm-bench"))
    assert not (tmp_path / "o" / "hf").exists() and "lmms-eval/utils.py" in written
    cfg = _yaml(tmp_path / "o" / "lrm_llava" / "lrm_pope_de.yaml")
    assert cfg["dataset_path"] == "someone/lrm-bench/pope"


def test_export_cli_and_errors(root, tmp_path):
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers()
    bench_cli.register(sub)
    args = parser.parse_args(["bench", "export", "--bench-root", str(root), "--format", "hf", "--out",
                              str(tmp_path / "cli"), "--benchmarks", "seed", "--languages", "de"])
    assert args.func(args) == 0
    assert (tmp_path / "cli" / "seed" / "de" / "test-00000-of-00001.parquet").is_file()
    assert not (tmp_path / "cli" / "mme").exists()
    with pytest.raises(UserError, match="unknown export format"):
        export_bench(ExportConfig(bench_root=root, out=tmp_path / "x", format="csv"))
    with pytest.raises(UserError, match="holds the bench root"):
        export_bench(ExportConfig(bench_root=root, out=root.parent, format="hf"))
    with pytest.raises(UserError, match="none of the requested"):
        export_bench(ExportConfig(bench_root=root, out=tmp_path / "y", format="hf", languages="hr"))
