"""Native loaders, their error messages, and translation round trips of every format."""

from __future__ import annotations

import json

import pytest
from benchdata import make_mme, png, write_tsv

from lrm_llava.bench import load_items
from lrm_llava.bench import mmbench as mmb
from lrm_llava.bench.common import load_image
from lrm_llava.bench.translation import TranslateConfig, translate_benchmark
from lrm_llava.errors import DataError
from lrm_llava.languages import get


def test_mme_items_both_layouts(bench_root):
    items = load_items(bench_root, "mme", "en")
    ids = [it.question_id for it in items]
    assert ids == ["artwork/a1/0", "artwork/a1/1", "code_reasoning/c1/0", "code_reasoning/c1/1",
                   "existence/e1/0", "existence/e1/1", "existence/e2/0", "existence/e2/1"]
    first = items[0]
    assert first.question == "Is this artwork yellow?"  # suffix removed; the prompt adds its own
    assert (first.answer, first.category, first.group) == ("yes", "artwork", "artwork/a1")
    assert first.image_path.endswith("artwork/images/a1.png")
    assert items[4].image_path.endswith("existence/e1.png")
    assert load_image(items[4]).size == (32, 32)


def test_pope_items(bench_root):
    items = load_items(bench_root, "pope", "en")
    assert [(it.split, it.question_id, it.answer) for it in items][:2] == [("random", "1", "yes"), ("random", "2", "no")]
    assert [it.split for it in items].count("adversarial") == 2
    assert items[0].image_path.endswith("pope/en/images/p1.png")


def test_mmbench_items_rotations_and_image_references(bench_root):
    items = load_items(bench_root, "mmbench", "en")
    by_id = {it.question_id: it for it in items}
    assert sorted(by_id, key=int) == ["0", "1", "1000000", "1000001", "2000000", "3000000"]
    assert by_id["0"].options == {"A": "red", "B": "blue", "C": "green", "D": "yellow"}
    assert by_id["0"].hint == "Look at the centre."
    assert by_id["1"].hint is None and by_id["1"].options == {"A": "yes, it is", "B": "no, it is small"}
    # rotation k=1 moves every option one letter up, the answer with it
    assert by_id["1000000"].options == {"A": "blue", "B": "green", "C": "yellow", "D": "red"}
    assert by_id["1000000"].answer == "D" and by_id["3000000"].answer == "B"
    assert by_id["1000001"].answer == "A" and by_id["1000001"].group == "1"
    assert by_id["2000000"].image_b64 == by_id["0"].image_b64  # resolved from "0"
    assert load_image(by_id["1000001"]).getpixel((0, 0)) == (0, 0, 255)


def test_seed_items_skip_video(bench_root):
    items = load_items(bench_root, "seed", "en")
    assert [(it.question_id, it.answer, it.category) for it in items] == [
        ("101", "A", "Scene Understanding"), ("102", "C", "Scene Understanding"), ("103", "A", "Instances Counting")]
    assert items[0].options["D"] == "white"


def test_mme_errors_name_file_and_line(tmp_path):
    folder = tmp_path / "mme" / "en"
    make_mme(folder)
    bad = folder / "existence" / "e1.txt"
    bad.write_text("Is there a cat? Please answer yes or no.\tMaybe\nIs there a dog?\tNo\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"e1\.txt:1: answer must be Yes or No, found 'Maybe'"):
        load_items(tmp_path, "mme", "en")
    bad.write_text("no tab here\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"e1\.txt:1: expected 'question<TAB>Yes\|No'"):
        load_items(tmp_path, "mme", "en")
    bad.write_text("Q1?\tYes\n", encoding="utf-8")
    with pytest.raises(DataError, match="exactly two questions"):
        load_items(tmp_path, "mme", "en")
    bad.unlink()
    (folder / "bogus").mkdir()
    with pytest.raises(DataError, match="unknown MME subtask folder 'bogus'"):
        load_items(tmp_path, "mme", "en")


def test_pope_errors_and_path_escape(bench_root):
    path = bench_root / "pope" / "en" / "coco_pope_random.json"
    lines = path.read_text().splitlines()
    path.write_text(lines[0] + "\n{not json\n")
    with pytest.raises(DataError, match=r"coco_pope_random\.json:2: malformed JSON"):
        load_items(bench_root, "pope", "en")
    row = json.loads(lines[0])
    path.write_text(json.dumps({**row, "label": "maybe"}) + "\n")
    with pytest.raises(DataError, match=r"coco_pope_random\.json:1: label must be 'yes' or 'no'"):
        load_items(bench_root, "pope", "en")
    path.write_text(json.dumps({**row, "image": "../../../etc/passwd"}) + "\n")
    with pytest.raises(DataError, match="must be relative and stay inside"):
        load_items(bench_root, "pope", "en")
    path.write_text(json.dumps({**row, "image": "missing.png"}) + "\n")
    with pytest.raises(DataError, match=r"coco_pope_random\.json:1: image 'missing.png' not found"):
        load_items(bench_root, "pope", "en")


def test_mmbench_errors(tmp_path):
    rows = [{"index": "0", "question": "Q?", "A": "x", "B": "y", "answer": "C", "image": "nope"}]
    write_tsv(tmp_path / "mmbench" / "en" / "t.tsv", rows)
    with pytest.raises(DataError, match=r"t\.tsv:2: answer 'C' of question 0 is not one of its options A, B"):
        load_items(tmp_path, "mmbench", "en")
    rows[0]["answer"] = "A"
    write_tsv(tmp_path / "mmbench" / "en" / "t.tsv", rows)
    with pytest.raises(DataError, match=r"t\.tsv:2: image cell 'nope'"):
        load_items(tmp_path, "mmbench", "en")
    rows.append({**rows[0]})
    write_tsv(tmp_path / "mmbench" / "en" / "t.tsv", rows)
    with pytest.raises(DataError, match=r"t\.tsv:3: index 0 already used"):
        load_items(tmp_path, "mmbench", "en")


def test_seed_errors(bench_root):
    path = bench_root / "seed" / "en" / "SEED-Bench.json"
    doc = json.loads(path.read_text())
    doc["questions"][1]["answer"] = "E"
    path.write_text(json.dumps(doc))
    with pytest.raises(DataError, match=r"questions\[1\] \(question_id 102\): answer 'E'"):
        load_items(bench_root, "seed", "en")


def test_round_trip_all_formats(translated_root):
    root = translated_root
    for bench in ("mme", "pope", "mmbench", "seed"):
        en = load_items(root, bench, "en")
        for lang in ("de", "zh", "cs"):
            tr = load_items(root, bench, lang)
            assert [(i.question_id, i.answer, i.split, i.category, i.group, list(i.options)) for i in tr] == [
                (i.question_id, i.answer, i.split, i.category, i.group, list(i.options)) for i in en], (bench, lang)
            for a, b in zip(en, tr):
                assert b.question == f"[{lang}] {a.question}"
                assert b.options == {k: f"[{lang}] {v}" for k, v in a.options.items()}
                assert b.hint == (None if a.hint is None else f"[{lang}] {a.hint}")
                # images are shared from en (MMBench: inline, copied with the text)
                assert b.image_path == a.image_path and b.image_b64 == a.image_b64
    # translated folders hold text files only
    assert not list((root / "mme" / "de").rglob("*.png"))
    assert not (root / "pope" / "de" / "images").exists()


def test_mme_translation_localizes_suffix_and_keeps_layout(translated_root):
    de = (translated_root / "mme" / "de" / "artwork" / "questions_answers_YN" / "a1.txt").read_text(encoding="utf-8")
    assert de == (f"[de] Is this artwork yellow? {get('de').yes_no_suffix}\tYes\n"
                  f"[de] Is this artwork purple? {get('de').yes_no_suffix}\tNo\n")
    zh = (translated_root / "mme" / "zh" / "existence" / "e1.txt").read_text(encoding="utf-8")
    assert zh.splitlines()[0] == f"[zh] Is there a red square in this image?{get('zh').yes_no_suffix}\tYes"


def test_mmbench_translation_keeps_indices_letters_answers(translated_root):
    docs = mmb.load(translated_root / "mmbench" / "cs")
    rows = {r["index"]: r for r in docs[0].rows}
    assert docs[0].header[:4] == ["index", "question", "hint", "A"]
    assert rows["1000000"]["A"] == "[cs] blue" and rows["1000000"]["answer"] == "D"
    assert rows["1"]["hint"] == "nan" and rows["1"]["C"] == ""
    assert rows["0"]["category"] == "attribute_recognition" and rows["2000000"]["image"] == "0"


class Counting:
    """A backend that counts the strings it is asked for and can fail like a killed job."""

    name, model, exact, max_batch = "counting", "", False, 4

    def __init__(self, fail_at: int | None = None):
        self.sent: list[int] = []
        self.fail_at = fail_at

    def translate(self, texts, src, tgt):
        if self.fail_at is not None and len(self.sent) + 1 == self.fail_at:
            raise KeyboardInterrupt
        self.sent.append(len(texts))
        return [f"<{tgt}> {t}" for t in texts]


def test_translation_resumes_from_cache(tmp_path, bench_root):
    """A second run after a kill asks the backend only for what the cache lacks."""
    cfg = TranslateConfig(benchmark="seed", src=bench_root, out=bench_root, languages="de", progress=False)
    killed = Counting(fail_at=2)
    with pytest.raises(KeyboardInterrupt):
        translate_benchmark(cfg, translator=killed)
    assert killed.sent == [4]
    resumed = Counting()
    translate_benchmark(cfg, translator=resumed)
    fresh = Counting()
    translate_benchmark(TranslateConfig(benchmark="seed", src=bench_root, out=tmp_path / "fresh", languages="de",
                                        progress=False), translator=fresh)
    assert sum(resumed.sent) == sum(fresh.sent) - 4 > 0
    assert load_items(bench_root, "seed", "de")[0].question == "<de> What is the main color of the scene?"
    again = Counting()
    translate_benchmark(cfg, translator=again)
    assert again.sent == []  # everything cached


def test_translate_from_english_folder_itself(tmp_path, bench_root):
    out = tmp_path / "out"
    written = translate_benchmark(TranslateConfig(benchmark="pope", src=bench_root / "pope" / "en", out=out,
                                                  languages="ro", backend="pseudo", progress=False))
    assert written == {"ro": out / "pope" / "ro"}
    lines = (out / "pope" / "ro" / "coco_pope_random.json").read_text(encoding="utf-8").splitlines()
    assert json.loads(lines[2]) == {"question_id": 3, "image": "p2.png", "text": "[ro] Is there a red car in the image?",
                                    "label": "yes"}


def test_translated_language_uses_own_image_first(translated_root, tmp_path):
    import shutil

    root = tmp_path / "copy"
    shutil.copytree(translated_root / "pope", root / "pope")
    png((1, 2, 3), root / "pope" / "de" / "images" / "p1.png")
    items = load_items(root, "pope", "de")
    assert items[0].image_path.endswith("pope/de/images/p1.png")
    assert items[2].image_path.endswith("pope/en/images/p2.png")
