"""`data import`: each importer on a tiny copy of its release's layout (tests/instruct/release_fixtures.py)."""

from __future__ import annotations

import json

import pytest
import release_fixtures as rf

from lrm_llava.cli import main
from lrm_llava.data.reader import read_samples
from lrm_llava.errors import UserError
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
    src = rf.sharegpt4v_pt(tmp_path / "data")
    by_id, stats = _run(tmp_path, "sharegpt4v", src)
    assert stats["counts"] == {"llava": 1, "sam": 1}
    assert by_id["sa_545504"]["conversations"][0]["value"] == "<image>\nWhat do you see happening in this image?"
    assert by_id["000138295"]["image"] == "llava/llava_pretrain/images/00013/000138295.jpg"


def test_chartqa_layout(tmp_path):
    base = rf.chartqa(tmp_path)
    by_id, stats = _run(tmp_path, "chartqa", base)
    assert stats["counts"] == {"chartqa-augmented": 2, "chartqa-human": 2}
    assert stats["skipped"]["reasons"] == {"image file not found": 1}
    s = by_id["chartqa-train-augmented-1"]
    assert s["conversations"][0]["value"] == f"<image>\nWhat is the average of 2018 and 2019?\n{SHORT_ANSWER}"
    assert s["conversations"][1]["value"] == "36.15"  # verbatim
    assert by_id["chartqa-train-human-0"]["image"] == "chartqa/png/41699051005347.png"
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


def test_dvqa_layout(tmp_path):
    by_id, stats = _run(tmp_path, "dvqa", rf.dvqa(tmp_path / "DVQA"))
    assert stats["counts"] == {"dvqa": 3}
    assert "answer_bbox" not in by_id["dvqa-train-0"]  # empty bbox: nothing to keep
    assert by_id["dvqa-train-1"]["answer_bbox"] == [53.0, 404.0, 21.0, 12.0]
    assert by_id["dvqa-train-2"]["conversations"][1]["value"] == "8"
    assert by_id["dvqa-train-2"]["template_id"] == "data"


def test_ai2d_layout_excludes_official_test_and_abc_label(tmp_path):
    base = rf.ai2d(tmp_path)
    by_id, stats = _run(tmp_path, "ai2d", base)
    assert set(by_id) == {"ai2d-0.png-0", "ai2d-0.png-2"}
    reasons = stats["skipped"]["reasons"]
    assert reasons["official test split"] == 1
    assert reasons["abcLabel question (options are letters drawn on the diagram)"] == 1
    q = by_id["ai2d-0.png-0"]["conversations"]
    assert q[0]["value"] == ("<image>\nWhich of these is a producer?\nA. frog\nB. grass\nC. snake\nD. hawk\n"
                             + OPTION_LETTER)
    assert q[1]["value"] == "B"  # correctAnswer counts from 0
    test, _ = _run(tmp_path, "ai2d", base, split="test")
    assert set(test) == {"ai2d-1.png-0"}
    (tmp_path / "ai2d_test_ids.csv").unlink()
    with pytest.raises(UserError, match="ai2d_test_ids.csv"):
        run_import(ImportConfig(format="ai2d", src=str(base), out=str(tmp_path / "x.json")))


def test_geoqa_stays_chinese(tmp_path):
    by_id, stats = _run(tmp_path, "geoqa", rf.geoqa(tmp_path))
    s = by_id["geoqa-0"]
    assert s["lang"] == "zh" and s["source"] == "geoqa"
    assert s["conversations"][0]["value"] == ("<image>\n如图,AB∥CD,∠ABC=50°,则∠BCD等于()\nA. 40°\nB. 50°\nC. 60°\n"
                                              "D. 130°\n" + get("zh").option_suffix)
    assert s["conversations"][1]["value"] == "B"
    assert by_id["geoqa-1"]["conversations"][1]["value"] == "C"


def test_cauldron_parquet_layout(tmp_path):
    pytest.importorskip("pyarrow")
    by_id, stats = _run(tmp_path, "cauldron", rf.cauldron(tmp_path))
    assert stats["skipped"]["reasons"] == {"several images (a LLaVA sample holds one)": 1}
    first = by_id["cauldron-ai2d-train-00000-of-00001-2ce340398c113b79-0"]
    assert first["image"].startswith("cauldron/ai2d/") and first["image"].endswith(".png")
    assert len(first["conversations"]) == 4 and first["source"] == "ai2d"
    assert OPTION_LETTER not in first["conversations"][0]["value"]  # the Cauldron's own instruction kept alone
    text_only = by_id["cauldron-ai2d-train-00000-of-00001-2ce340398c113b79-2"]
    assert "image" not in text_only


def test_no_prompts_and_existing_instructions(tmp_path):
    by_id, _ = _run(tmp_path, "chartqa", rf.chartqa(tmp_path), prompts=False)
    assert by_id["chartqa-train-human-0"]["conversations"][0]["value"] == "<image>\nWhat's the value of the lowest bar?"
    assert has_answer_instruction("Is it red?\nAnswer the question using a single word or phrase.")
    assert has_answer_instruction("Which?\nGive a very brief answer.")
    assert not has_answer_instruction("What is the highest value in the chart?")


def test_cli_and_every_format_listed(tmp_path, capsys):
    assert set(FORMATS) == {"llava", "sharegpt4v", "chartqa", "docvqa", "dvqa", "ai2d", "geoqa", "cauldron"}
    base = rf.dvqa(tmp_path / "DVQA")
    out = tmp_path / "o" / "dvqa.json"
    assert main(["data", "import", "--format", "dvqa", "--src", str(base), "--out", str(out),
                 "--image-root", str(tmp_path / "imgs")]) == 0
    assert "wrote 3 samples" in capsys.readouterr().out
    assert (tmp_path / "imgs" / "dvqa/images/bar_train_00000000.png").is_file()
