"""`data import`: each importer on a tiny copy of its release's layout (tests/instruct/release_fixtures.py)."""

from __future__ import annotations

import json
import shutil

import pytest
import release_fixtures as rf

from lrm_llava.cli import main
from lrm_llava.data.reader import read_samples
from lrm_llava.errors import DataError, UserError
from lrm_llava.instruct.importers import FORMATS, ImportConfig, run_import
from lrm_llava.instruct.importers.common import OPTION_LETTER, SHORT_ANSWER, has_answer_instruction
from lrm_llava.languages import get


def _run(tmp_path, fmt, src, **kw):
    out = tmp_path / "out" / f"{fmt}.json"
    stats = run_import(ImportConfig(format=fmt, src=str(src), out=str(out), **kw))
    samples = list(read_samples(out))  # the one sample rule, as train reads it
    root = tmp_path / "out" if kw.get("image_root") is None else kw["image_root"]
    for s in samples:
        if "image" in s:
            assert (root / s["image"]).is_file(), s["image"]
            assert s["conversations"][0]["value"].startswith("<image>\n")
    on_disk = json.loads((tmp_path / "out" / f"{fmt}.stats.json").read_text())
    assert on_disk["total"] == len(samples) == stats["total"]
    return {s["id"]: s for s in samples}, stats


def test_llava_665k_layout(tmp_path):
    src = rf.llava_665k(tmp_path / "playground")
    by_id, stats = _run(tmp_path, "llava", src, images=str(tmp_path / "playground"))
    assert stats["counts"] == {"coco": 2, "gqa": 1, "ocr_vqa": 1, "sharegpt": 2}
    reasons = stats["skipped"]["reasons"]
    assert reasons == {"turns do not alternate human/gpt": 1, "an empty turn": 1, "image file not found": 1}
    assert stats["renamed_duplicate_ids"] == 1 and {"000000033471", "000000033471-2"} <= set(by_id)
    ocr = by_id["140031996"]  # int id -> text; <image> moved to the front; real extension kept
    assert ocr["image"] == "ocr_vqa/images/140031996.gif"
    assert ocr["conversations"][0]["value"] == "<image>\nWho wrote this book?"
    text_only = by_id["i6IyJda_0"]
    assert "image" not in text_only and text_only["model"] == "" and text_only["source"] == "sharegpt"
    assert [t["from"] for t in by_id["Qe3FLuV_0"]["conversations"]] == ["human", "gpt"]  # leading gpt dropped
    # LLaVA's sentences are already there: nothing added, nothing doubled
    assert by_id["2354786"]["conversations"][0]["value"].count(SHORT_ANSWER) == 1
    assert by_id["000000033471"]["conversations"][0]["value"] == "<image>\nWhat are the colors of the bus in the image?"


def test_sharegpt4v_pt_layout(tmp_path):
    src = rf.sharegpt4v_pt(tmp_path / "data")  # data/sharegpt4v/<json>, images in data/sam/, data/coco/, ...
    by_id, stats = _run(tmp_path, "sharegpt4v", src)  # no --images: the data folder above the JSON is found
    assert stats["counts"] == {"coco": 1, "llava": 1, "sam": 1}
    assert by_id["sa_545504"]["conversations"][0]["value"] == "<image>\nWhat do you see happening in this image?"
    assert by_id["000138295"]["image"] == "llava/llava_pretrain/images/00013/000138295.jpg"


def test_chartqa_layout(tmp_path):
    base = rf.chartqa(tmp_path)
    by_id, stats = _run(tmp_path, "chartqa", base)
    assert stats["counts"] == {"chartqa-augmented": 2, "chartqa-human": 2}
    assert stats["skipped"]["reasons"] == {"image file not found": 1}
    assert stats["skipped"]["examples"]["image file not found"] == ["train_human.json[2]"]
    s = by_id["chartqa-train-augmented-1"]
    assert s["conversations"][0]["value"] == f"<image>\nWhat is the average of the two largest values?\n{SHORT_ANSWER}"
    assert s["conversations"][1]["value"] == "36.15"  # verbatim
    assert by_id["chartqa-train-human-0"]["image"] == "chartqa/png/10095.png"
    assert by_id["chartqa-train-human-0"]["conversations"][1]["value"] == "Yes"
    assert stats["images"]["written"] == 2  # one shared png folder: each chart once
    val, _ = _run(tmp_path, "chartqa", base, split="val")
    assert list(val) == ["chartqa-val-human-0"]


def test_docvqa_current_and_first_release(tmp_path):
    qa = rf.docvqa(tmp_path / "docvqa")
    by_id, stats = _run(tmp_path, "docvqa", tmp_path / "docvqa")  # finds spdocvqa_qas/ + spdocvqa_images/
    assert stats["skipped"]["reasons"] == {"image file not found": 1}
    s = by_id["docvqa-train-338"]
    assert s["answers"] == ["P. Carter", "p. carter"] and s["conversations"][1]["value"] == "P. Carter"
    assert s["image"] == "docvqa/documents/xnbl0037_1.png" and s["question_types"] == ["handwritten", "form"]
    assert s["conversations"][0]["value"].endswith(f"letter?\n{SHORT_ANSWER}")
    again, _ = _run(tmp_path, "docvqa", qa)
    assert set(again) == set(by_id)
    old = rf.docvqa_first_release(tmp_path / "old")
    first, _ = _run(tmp_path, "docvqa", old)
    assert list(first) == ["docvqa-train-337"]
    with pytest.raises(DataError, match="no answers"):  # test_v1.0.json: no answers, nothing to train on
        run_import(ImportConfig(format="docvqa", src=str(tmp_path / "docvqa"), out=str(tmp_path / "t.json"),
                                split="test"))
    bad = rf.dump(tmp_path / "bad/val_v1.0.json", [{"questionId": 1}])
    with pytest.raises(DataError, match=r"val_v1\.0\.json.*Fix: pass the release's QA file"):
        run_import(ImportConfig(format="docvqa", src=str(bad), out=str(tmp_path / "b.json")))


def test_dvqa_layout(tmp_path):
    base = rf.dvqa(tmp_path / "DVQA")
    by_id, stats = _run(tmp_path, "dvqa", base)
    assert stats["counts"] == {"dvqa": 3}
    assert "answer_bbox" not in by_id["dvqa-train-120000000"]  # empty bbox: nothing to keep
    assert by_id["dvqa-train-120000013"]["answer_bbox"] == [295.4375, 379.8534658136745, 54.5, 35.0]
    assert by_id["dvqa-train-120000021"]["conversations"][1]["value"] == "8"
    assert by_id["dvqa-train-120000021"]["template_id"] == "reasoning"
    val, _ = _run(tmp_path, "dvqa", base, split="val_easy")
    assert val["dvqa-val_easy-0"]["image"] == "dvqa/images/bar_val_easy_00000000.png"
    with pytest.raises(UserError, match="val_easy, val_hard"):  # DVQA has no "val" split
        run_import(ImportConfig(format="dvqa", src=str(base), out=str(tmp_path / "v.json"), split="val"))


def test_ai2d_layout_official_test_split_and_abc_images(tmp_path):
    base = rf.ai2d(tmp_path)
    by_id, stats = _run(tmp_path, "ai2d", base)
    assert set(by_id) == {"ai2d-0.png-0", "ai2d-0.png-1", "ai2d-0.png-2"}
    assert stats["skipped"]["reasons"] == {"official test split": 1}
    q = by_id["ai2d-0.png-1"]
    assert q["conversations"][0]["value"] == ("<image>\nWhich part of the face is used to smell?\nA. ears\nB. nose\n"
                                              "C. mouth\nD. eyes\n" + OPTION_LETTER)
    assert q["conversations"][1]["value"] == "B" and q["image"] == "ai2d/images/0.png"  # correctAnswer from 0
    abc = by_id["ai2d-0.png-0"]  # "What is A in the diagram?" is asked about the lettered diagram
    assert abc["image"] == "ai2d/abc_images/0.png" and abc["abc_label"] is True
    assert abc["conversations"][1]["value"] == "D"
    assert (tmp_path / "out/ai2d/abc_images/0.png").read_bytes() == (base / "abc_images/0.png").read_bytes()
    test, _ = _run(tmp_path, "ai2d", base, split="test")
    assert set(test) == {"ai2d-1.png-0"}
    shutil.rmtree(base / "abc_images")
    _, stats = _run(tmp_path, "ai2d", base, split="all")
    assert stats["skipped"]["reasons"] == {"abc_images/ file not found (abcLabel question)": 2}
    (tmp_path / "ai2d_test_ids.csv").unlink()
    with pytest.raises(UserError, match="ai2d_test_ids.csv"):
        run_import(ImportConfig(format="ai2d", src=str(base), out=str(tmp_path / "x.json")))


def test_geoqa_stays_chinese(tmp_path):
    by_id, stats = _run(tmp_path, "geoqa", rf.geoqa(tmp_path))
    s = by_id["geoqa-1"]
    assert s["lang"] == "zh" and s["source"] == "geoqa"
    assert s["conversations"][0]["value"] == (
        "<image>\n如图,AB∥CD,直线EF交AB于点E,交CD于点F,EG平分∠BEF,交CD于点G,∠EFG=50°,则∠EGF等于()\n"
        "A. 50°\nB. 60°\nC. 65°\nD. 70°\n" + get("zh").option_suffix)
    assert s["conversations"][1]["value"] == "C"  # label counts from 0
    assert s["image"] == "geoqa/image/1.png" and s["formal_point"] == ["平行线", "角平分线"]
    assert s["solution"].startswith("∵AB∥CD")
    assert by_id["geoqa-2"]["conversations"][1]["value"] == "C"
    excluded = tmp_path / "geoqa_test_ids.txt"
    excluded.write_text("2\n")
    only, stats = _run(tmp_path, "geoqa", tmp_path / "GeoQA3", test_ids=str(excluded))
    assert list(only) == ["geoqa-1"] and stats["skipped"]["reasons"] == {"excluded id": 1}


def test_cauldron_parquet_layout(tmp_path):
    pytest.importorskip("pyarrow")
    by_id, stats = _run(tmp_path, "cauldron", rf.cauldron(tmp_path))
    assert stats["counts"] == {"ai2d": 1, "chartqa": 2, "geomverse": 1}
    assert stats["skipped"]["by_source"] == {"nlvr2": {"several images (a LLaVA sample holds one)": 1}}
    first = by_id["cauldron-ai2d-train-00000-of-00001-2ce340398c113b79-0"]
    assert first["image"].startswith("cauldron/ai2d/") and first["image"].endswith(".png")
    assert len(first["conversations"]) == 4 and first["cauldron_subset"] == "ai2d"
    assert first["conversations"][0]["value"].endswith("D. eyes\nAnswer with the letter.")  # its own, kept alone
    assert OPTION_LETTER not in first["conversations"][0]["value"] and first["conversations"][1]["value"] == "Answer: B"
    chart = by_id["cauldron-chartqa-train-00000-of-00002-7733d4ca73ccd12e-1"]["conversations"]
    assert chart[0]["value"].endswith("graph?\nAnswer briefly.") and chart[1]["value"] == "6."
    geo = by_id["cauldron-geomverse-train-00000-of-00001-2c8a4ff8ee1d2a4b-0"]["conversations"]
    assert geo[0]["value"].endswith("compute the area of the ABCD shape.")  # no instruction, nothing added


def test_no_prompts_and_existing_instructions(tmp_path):
    by_id, _ = _run(tmp_path, "chartqa", rf.chartqa(tmp_path), prompts=False)
    assert by_id["chartqa-train-human-0"]["conversations"][0]["value"] == \
        "<image>\nIs the value of Favorable 38 in 2015?"
    assert has_answer_instruction("Is it red?\nAnswer the question using a single word or phrase.")
    assert not has_answer_instruction("What is the highest value in the chart?")
    # the Cauldron's brevity hints (PROMPTS_ANSWER_SHORTLY and QUESTION_BRIEVETY_HINT)
    for hint in ("Give a very brief answer.", "Answer briefly.", "Write a very short answer.",
                 "Quick response, please.", "Short answer required.", "Keep it brief.", "Concise answer only.",
                 "Be succinct.", "Make the answer very short.", "Your answer should be very brief.",
                 "Offer a terse response.", "Provide a succinct answer.", "Keep it short and to the point.",
                 "Ensure brevity in your answer.", "Offer a very short reply.", "Your response must be concise.",
                 "Your answer should be compact.", "Provide a short and direct response.",
                 "Answer with the letter."):
        assert has_answer_instruction(f"What is shown?\n{hint}"), hint


def test_cli_and_every_format_listed(tmp_path, capsys):
    assert set(FORMATS) == {"llava", "sharegpt4v", "chartqa", "docvqa", "dvqa", "ai2d", "geoqa", "cauldron"}
    base = rf.dvqa(tmp_path / "DVQA")
    out = tmp_path / "o" / "dvqa.json"
    assert main(["data", "import", "--format", "dvqa", "--src", str(base), "--out", str(out),
                 "--image-root", str(tmp_path / "imgs")]) == 0
    assert "wrote 3 samples" in capsys.readouterr().out
    assert (tmp_path / "imgs" / "dvqa/images/bar_train_00200000.png").is_file()
