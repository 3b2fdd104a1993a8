"""Translated folders that stand alone: images placed in them (hard links, else copies), a manifest
with the cache's hash, quoted strings kept in MME's text subtasks, MMBench TSVs named per language."""

from __future__ import annotations

import base64
import errno
import json
import os
from pathlib import Path

import pytest
from benchdata import YN, png

from lrm_llava.bench import EvalConfig, run_eval
from lrm_llava.bench import mmbench as mmb
from lrm_llava.bench.run import load_items
from lrm_llava.bench.translation import (
    MANIFEST,
    TranslateConfig,
    file_sha256,
    translate_benchmark,
    translations_sha256,
)

BENCHES = ("mme", "pope", "mmbench", "seed")


def _translate(src, out, bench, languages="de", **kw):
    return translate_benchmark(TranslateConfig(benchmark=bench, src=src, out=out, languages=languages,
                                               backend="pseudo", progress=False, **kw))


def _bytes(item) -> bytes:
    return base64.b64decode(item.image_b64) if item.image_b64 else Path(item.image_path).read_bytes()


@pytest.fixture(scope="module")
def alone(tmp_path_factory):
    """German translations of the four benchmarks in a root that holds no English folder."""
    from benchdata import make_bench_root

    base = tmp_path_factory.mktemp("alone")
    src = make_bench_root(base / "src")
    out = base / "out"
    for bench in BENCHES:
        _translate(src, out, bench)
    return src, out


def test_translated_folder_alone_has_every_image(alone):
    src, out = alone
    assert not (out / "mme" / "en").exists()
    for bench in BENCHES:
        en = load_items(src, bench, "en")
        de = load_items(out, bench, "de")  # no English folder to fall back on
        assert [(i.question_id, i.answer) for i in de] == [(i.question_id, i.answer) for i in en]
        for a, b in zip(en, de):
            assert _bytes(a) == _bytes(b)
            if b.image_path:
                assert Path(b.image_path).is_relative_to((out / bench / "de").resolve())
    # MME keeps each subtask's layout: images/ beside questions_answers_YN/, or side by side
    assert (out / "mme" / "de" / "artwork" / "images" / "a1.png").is_file()
    assert (out / "mme" / "de" / "existence" / "e1.png").is_file()
    assert (out / "pope" / "de" / "images" / "p2.png").is_file()
    assert (out / "seed" / "de" / "images" / "s1.png").is_file()


def test_images_are_hard_links_on_one_filesystem(alone):
    src, out = alone
    a = os.stat(src / "pope" / "en" / "images" / "p1.png")
    b = os.stat(out / "pope" / "de" / "images" / "p1.png")
    assert (a.st_ino, a.st_dev) == (b.st_ino, b.st_dev)


def test_images_are_copied_across_filesystems_and_on_request(bench_root, tmp_path, monkeypatch):
    def no_link(src, dst, **kw):
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    monkeypatch.setattr(os, "link", no_link)
    _translate(bench_root, tmp_path / "x", "pope")
    copied = tmp_path / "x" / "pope" / "de" / "images" / "p1.png"
    original = bench_root / "pope" / "en" / "images" / "p1.png"
    assert copied.read_bytes() == original.read_bytes() and not os.path.samefile(copied, original)
    monkeypatch.undo()
    _translate(bench_root, tmp_path / "y", "seed", images="copy")
    copied = tmp_path / "y" / "seed" / "de" / "images" / "s1.png"
    assert not os.path.samefile(copied, bench_root / "seed" / "en" / "images" / "s1.png")


def _llava_mme_ground_truth(data_path: Path) -> dict:
    """What LLaVA's convert_answer_to_mme.py reads (its get_gt), restated: a subtask folder with an
    images/ folder keeps its questions in questions_answers_YN/, else beside the images."""
    gt = {}
    for category in os.listdir(data_path):
        category_dir = os.path.join(data_path, category)
        if not os.path.isdir(category_dir):
            continue
        if os.path.exists(os.path.join(category_dir, "images")):
            image_path = os.path.join(category_dir, "images")
            qa_path = os.path.join(category_dir, "questions_answers_YN")
        else:
            image_path = qa_path = category_dir
        assert os.path.isdir(image_path), image_path
        assert os.path.isdir(qa_path), qa_path
        for file in os.listdir(qa_path):
            if not file.endswith(".txt"):
                continue
            for line in open(os.path.join(qa_path, file), encoding="utf-8"):
                question, answer = line.strip().split("\t")
                gt[(category, file, question)] = answer
    return gt


def test_llava_mme_converter_finds_every_translated_question(alone):
    _, out = alone
    folder = out / "mme" / "de"
    gt = _llava_mme_ground_truth(folder)
    items = load_items(out, "mme", "de")
    assert len(gt) == len(items) == 8
    for item in items:
        subtask, name, _ = item.question_id.split("/")
        # every question's image sits where the converter's image folder is
        image_dir = folder / subtask / ("images" if (folder / subtask / "images").is_dir() else "")
        assert any(image_dir.glob(f"{name}.*"))
    assert {k[0] for k in gt} == {"artwork", "existence", "code_reasoning"}


def test_translated_folder_alone_runs_eval(saved_tiny_model, alone, tmp_path):
    _, out = alone
    results = run_eval(EvalConfig(model=str(saved_tiny_model), bench_root=out, out=tmp_path / "eval",
                                  benchmarks="mme,pope,seed", languages="de", batch_size=4, max_new_tokens=2,
                                  progress=False, fidelity=False, limit=2))
    assert {r["benchmark"] for r in results} == {"mme", "pope", "seed"}


def test_manifest_records_the_cache_hash(bench_root, tmp_path):
    out = tmp_path / "out"
    _translate(bench_root, out, "seed", languages="de,cs")
    cache = out / "translation-cache.sqlite"
    for lang in ("de", "cs"):
        manifest = json.loads((out / "seed" / lang / MANIFEST).read_text(encoding="utf-8"))
        assert manifest["cache"] == {"file": cache.name, "sha256": file_sha256(cache)}
        assert manifest["images"] == "link" and manifest["image_files"] == 2
        assert len(manifest["translations_sha256"]) == 64
    de = json.loads((out / "seed" / "de" / MANIFEST).read_text(encoding="utf-8"))
    cs = json.loads((out / "seed" / "cs" / MANIFEST).read_text(encoding="utf-8"))
    assert de["translations_sha256"] != cs["translations_sha256"]
    again = tmp_path / "again"
    _translate(bench_root, again, "seed", languages="de", cache=tmp_path / "other.sqlite")
    redo = json.loads((again / "seed" / "de" / MANIFEST).read_text(encoding="utf-8"))
    assert redo["translations_sha256"] == de["translations_sha256"]  # same translations, another cache
    assert translations_sha256({"a": "b", "": ""}) == translations_sha256({"a": "b"})


class Upper:
    """An MT backend that upper-cases what it gets, and remembers it."""

    name, model, exact, max_batch = "upper", "", False, 16

    def __init__(self):
        self.seen: list[str] = []

    def translate(self, texts, src, tgt):
        self.seen += texts
        return [t.upper() for t in texts]


def _mme_with_quotes(folder: Path) -> None:
    lines = {
        ("OCR", "o1"): [('Is the word in the logo "angie\'s"?', "Yes"), ("Is the word in the logo 'mao'?", "No")],
        ("code_reasoning", "c1"): [("Is the output of the code print(len('abc')) equal to `3`?", "Yes"),
                                   ("Does the code print “Hello, World”?", "No")],
        ("text_translation", "t1"): [("Is it appropriate to translate the Chinese into English 'classic taste'?",
                                      "Yes"), ("Is the translation 'good food'?", "No")],
        ("existence", "e1"): [('Is there a "dog" in this image?', "Yes"), ("Is there a cat?", "No")],
    }
    for (subtask, name), pairs in lines.items():
        png((1, 2, 3), folder / subtask / f"{name}.png")
        (folder / subtask / f"{name}.txt").write_text("".join(f"{q}{YN}\t{a}\n" for q, a in pairs), encoding="utf-8")


def test_quoted_strings_and_code_survive_translation(tmp_path):
    _mme_with_quotes(tmp_path / "mme" / "en")
    backend = Upper()
    translate_benchmark(TranslateConfig(benchmark="mme", src=tmp_path, out=tmp_path, languages="de", progress=False),
                        translator=backend)
    de = {i.question_id: i.question for i in load_items(tmp_path, "mme", "de")}
    assert de["OCR/o1/0"] == 'IS THE WORD IN THE LOGO "angie\'s"?'
    assert de["OCR/o1/1"] == "IS THE WORD IN THE LOGO 'mao'?"
    assert de["code_reasoning/c1/0"] == "IS THE OUTPUT OF THE CODE print(len('abc')) EQUAL TO `3`?"
    assert de["code_reasoning/c1/1"] == "DOES THE CODE PRINT “Hello, World”?"
    assert de["text_translation/t1/0"].endswith("INTO ENGLISH 'classic taste'?")
    assert de["existence/e1/0"] == 'IS THERE A "DOG" IN THIS IMAGE?'  # other subtasks: translated as usual
    sent = " ".join(backend.seen)
    for verbatim in ("angie", "mao", "len(", "Hello", "classic", "good food"):
        assert verbatim not in sent  # the backend never saw them
    # the answers, the labels that depend on the quoted strings, are unchanged
    assert [i.answer for i in load_items(tmp_path, "mme", "de")] == [i.answer for i in load_items(tmp_path, "mme", "en")]


def test_exact_backends_get_whole_strings(tmp_path):
    from lrm_llava.translate import backends

    _mme_with_quotes(tmp_path / "mme" / "en")
    en = load_items(tmp_path, "mme", "en")
    table = tmp_path / "t.jsonl"
    table.write_text("".join(json.dumps({"src": "en", "tgt": "de", "text": i.question, "translation": "DE " + i.question},
                                        ensure_ascii=False) + "\n" for i in en), encoding="utf-8")
    tr = backends.make_translator("table", path=str(table))
    translate_benchmark(TranslateConfig(benchmark="mme", src=tmp_path, out=tmp_path, languages="de", progress=False,
                                        backend="table"), translator=tr)
    assert [i.question for i in load_items(tmp_path, "mme", "de")] == ["DE " + i.question for i in en]


REGISTERED_MMBENCH = {
    "MMBench_DEV_EN", "MMBench_TEST_EN", "MMBench_DEV_CN", "MMBench_TEST_CN", "MMBench_DEV_KO", "MMBench",
    "MMBench_CN", "MMBench_DEV_EN_V11", "MMBench_TEST_EN_V11", "MMBench_DEV_CN_V11", "MMBench_TEST_CN_V11",
    "MMBench_V11", "MMBench_CN_V11", "MMBench_dev_ar", "MMBench_dev_cn", "MMBench_dev_en", "MMBench_dev_pt",
    "MMBench_dev_tr", "MMBench_dev_ru", "MMBench_V11_MINI",
}
"""MMBench datasets registered in VLMEvalKit (vlmeval/dataset/image_mcq.py): a TSV under one of these
names is checked against the registered MD5 and replaced by the download."""


def test_mmbench_tsv_named_per_language(bench_root):
    from lrm_llava.languages import ALL_CODES

    names = {mmb.translated_name("MMBench_DEV_EN.tsv", lang) for lang in ALL_CODES}
    assert "MMBench_DEV_LRM_DE.tsv" in names and len(names) == len(ALL_CODES)
    assert not {n[:-4] for n in names} & {r for r in REGISTERED_MMBENCH}
    assert not {n[:-4].lower() for n in names} & {r.lower() for r in REGISTERED_MMBENCH}
    assert all("mmbench" in n.lower() for n in names)  # VLMEvalKit runs CircularEval on such names
    assert mmb.translated_name("MMBench_DEV_LRM_DE.tsv", "cs") == "MMBench_DEV_LRM_CS.tsv"
    assert mmb.translated_name("mmbench_dev.tsv", "zh") == "mmbench_dev_LRM_ZH.tsv"
    _translate(bench_root, bench_root, "mmbench", languages="de,zh")
    assert sorted(p.name for p in (bench_root / "mmbench" / "de").glob("*.tsv")) == ["MMBench_DEV_toy_LRM_DE.tsv"]
    assert sorted(p.name for p in (bench_root / "mmbench" / "en").glob("*.tsv")) == ["MMBench_DEV_toy.tsv"]
    # a folder translated under an older name is cleaned up, not read twice
    (bench_root / "mmbench" / "de" / "MMBench_DEV_toy.tsv").write_bytes(
        (bench_root / "mmbench" / "de" / "MMBench_DEV_toy_LRM_DE.tsv").read_bytes())
    _translate(bench_root, bench_root, "mmbench", languages="de")
    assert [p.name for p in (bench_root / "mmbench" / "de").glob("*.tsv")] == ["MMBench_DEV_toy_LRM_DE.tsv"]
    assert len(load_items(bench_root, "mmbench", "de")) == len(load_items(bench_root, "mmbench", "en"))
