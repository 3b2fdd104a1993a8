"""Tiny copies of each public release's layout (file names, folders, field names and value types as
the releases ship them), for the importer tests. Texts are real-looking examples of each source."""

from __future__ import annotations

import io
import json
from pathlib import Path

from PIL import Image


def png(path: Path, colour=(200, 30, 30), fmt: str = "PNG") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (8, 8), colour).save(path, format=fmt)
    return path


def png_bytes(colour=(0, 120, 0)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), colour).save(buf, format="PNG")
    return buf.getvalue()


def dump(path: Path, data) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def llava_665k(root: Path) -> Path:
    """`llava_v1_5_mix665k.json` beside its image folders (coco/, gqa/, ocr_vqa/, textvqa/)."""
    png(root / "coco/train2017/000000033471.jpg", fmt="JPEG")
    png(root / "gqa/images/2354786.jpg", fmt="JPEG")
    png(root / "ocr_vqa/images/140031996.gif", fmt="GIF")  # the JSON says .jpg
    rows = [
        {"id": "000000033471", "image": "coco/train2017/000000033471.jpg", "conversations": [
            {"from": "human", "value": "<image>\nWhat are the colors of the bus in the image?"},
            {"from": "gpt", "value": "The bus in the image is white and red."},
            {"from": "human", "value": "What feature can be seen on the back of the bus?"},
            {"from": "gpt", "value": "The back of the bus features an advertisement."}]},
        {"id": "000000033471", "image": "coco/train2017/000000033471.jpg", "conversations": [  # VQAv2, same id
            {"from": "human", "value": "<image>\nIs the bus moving?\nAnswer the question using a single word or phrase."},
            {"from": "gpt", "value": "No"}]},
        {"id": 140031996, "image": "ocr_vqa/images/140031996.jpg", "conversations": [  # int id, <image> at the end
            {"from": "human", "value": "Who wrote this book?\n<image>"}, {"from": "gpt", "value": "Tom Haydock"},
            {"from": "human", "value": "Is this a comedy book?"}, {"from": "gpt", "value": "No"}]},
        {"id": "2354786", "image": "gqa/images/2354786.jpg", "conversations": [
            {"from": "human", "value": "<image>\nIs the sky dark?\nAnswer the question using a single word or phrase."},
            {"from": "gpt", "value": "Yes"}]},
        {"id": "i6IyJda_0", "model": "", "conversations": [  # ShareGPT, text-only
            {"from": "human", "value": "How to tell if a customer segment is well segmented? In 3 bullet points."},
            {"from": "gpt", "value": "1. Homogeneity\n2. Distinctiveness\n3. Stability"}]},
        {"id": "Qe3FLuV_0", "model": "", "conversations": [  # starts with the assistant
            {"from": "gpt", "value": "Hello! How can I help?"},
            {"from": "human", "value": "Write a haiku about autumn."}, {"from": "gpt", "value": "Leaves drift down."}]},
        {"id": "oD5Eh6k_12", "model": "", "conversations": [  # does not alternate
            {"from": "human", "value": "continue"}, {"from": "human", "value": "please"},
            {"from": "gpt", "value": "Sure."}]},
        {"id": "VxS2bJh_0", "model": "", "conversations": [
            {"from": "human", "value": "Hi"}, {"from": "gpt", "value": ""}]},
        {"id": "1234567", "image": "textvqa/train_images/0054c91397f2fe05.jpg", "conversations": [
            {"from": "human", "value": "<image>\nwhat is the brand?"}, {"from": "gpt", "value": "nikon"}]},
    ]
    return dump(root / "llava_v1_5_mix665k.json", rows)


def sharegpt4v_pt(root: Path) -> Path:
    """ShareGPT4V's own layout: the JSON in `data/sharegpt4v/`, the image folders beside that folder."""
    png(root / "sam/images/sa_545504.jpg", fmt="JPEG")
    png(root / "llava/llava_pretrain/images/00013/000138295.jpg", fmt="JPEG")
    png(root / "coco/train2017/000000000009.jpg", fmt="JPEG")
    rows = [
        {"id": "sa_545504", "image": "sam/images/sa_545504.jpg", "conversations": [
            {"from": "human", "value": "What do you see happening in this image?\n<image>"},
            {"from": "gpt", "value": "The image captures a bustling street market with stalls of fruit."}]},
        {"id": "000138295", "image": "llava/llava_pretrain/images/00013/000138295.jpg", "conversations": [
            {"from": "human", "value": "<image>\nAnalyze the image in a comprehensive and detailed manner."},
            {"from": "gpt", "value": "A red kite flies over a green hill under a clear sky."}]},
        {"id": "000000000009", "image": "coco/train2017/000000000009.jpg", "conversations": [
            {"from": "human", "value": "<image>\nWhat is this photo about?"},
            {"from": "gpt", "value": "A lunch box with bread, broccoli and a bowl of fruit."}]},
    ]
    return dump(root / "sharegpt4v/share-captioner_coco_lcs_sam_1246k_1107.json", rows)


def chartqa(root: Path) -> Path:
    """`ChartQA Dataset/{train,val}/` with `*_human.json`, `*_augmented.json` and one `png/` (rows from
    vis-nlp/ChartQA; labels are strings, numbers included)."""
    base = root / "ChartQA Dataset"
    png(base / "train/png/10095.png")
    png(base / "train/png/two_col_103562.png")
    dump(base / "train/train_human.json", [
        {"imgname": "10095.png", "query": "Is the value of Favorable 38 in 2015?", "label": "Yes"},
        {"imgname": "10095.png", "query": "How many values are below 40 in Unfavorable graph?", "label": "6"},
        {"imgname": "10149.png", "query": "In which year the value was 51?", "label": "2014"},  # chart missing
    ])
    dump(base / "train/train_augmented.json", [
        {"imgname": "two_col_103562.png", "query": "As of 2021, how many championship titles had Ferrari won?",
         "label": "16"},
        {"imgname": "two_col_103562.png", "query": "What is the average of the two largest values?",
         "label": "36.15"},
    ])
    png(base / "val/png/multi_col_20784.png")
    dump(base / "val/val_human.json", [
        {"imgname": "multi_col_20784.png", "query": "What was Spain's kidney transplant rate in 2018?", "label": "71.4"}])
    return base


def docvqa(root: Path) -> Path:
    """The current downloads: `spdocvqa_qas/{train,val}_v1.0_withQT.json`, `test_v1.0.json` (no answers)
    + flat `spdocvqa_images/`, while `image` still says `documents/...`."""
    png(root / "spdocvqa_images/xnbl0037_1.png")
    png(root / "spdocvqa_images/pybv0228_81.png")
    data = {"dataset_name": "docvqa", "dataset_split": "train", "dataset_version": "1.0", "data": [
        {"questionId": 337, "question": "what is the date mentioned in this letter?",
         "question_types": ["handwritten", "form"], "image": "documents/xnbl0037_1.png", "docId": 279,
         "ucsf_document_id": "xnbl0037", "ucsf_document_page_no": "1", "answers": ["1/8/93"], "data_split": "train"},
        {"questionId": 338, "question": "what is the contact person name mentioned in letter?",
         "question_types": ["handwritten", "form"], "image": "documents/xnbl0037_1.png", "docId": 279,
         "ucsf_document_id": "xnbl0037", "ucsf_document_page_no": "1", "answers": ["P. Carter", "p. carter"],
         "data_split": "train"},
        {"questionId": 51, "question": "What is the total cost of the program in $?",
         "question_types": ["table/list"], "image": "documents/pybv0228_81.png", "docId": 14465,
         "ucsf_document_id": "pybv0228", "ucsf_document_page_no": "81", "answers": ["$5,000"], "data_split": "train"},
        {"questionId": 52, "question": "What is written at the top?", "question_types": ["layout"],
         "image": "documents/zzzz0000_1.png", "docId": 1, "ucsf_document_id": "zzzz0000",
         "ucsf_document_page_no": "1", "answers": ["memo"], "data_split": "train"},
    ]}
    dump(root / "spdocvqa_qas/test_v1.0.json", {"dataset_name": "docvqa", "dataset_split": "test",
                                                 "dataset_version": "1.0", "data": [
        {"questionId": 57344, "question": "What is the dividend payout in 2012?", "image": "documents/xnbl0037_1.png",
         "docId": 279, "ucsf_document_id": "xnbl0037", "ucsf_document_page_no": "1", "data_split": "test"}]})
    return dump(root / "spdocvqa_qas/train_v1.0_withQT.json", data)


def docvqa_first_release(root: Path) -> Path:
    """The first tarball: `train/train_v1.0.json` beside `train/documents/`."""
    png(root / "train/documents/xnbl0037_1.png")
    return dump(root / "train/train_v1.0.json", {"dataset_name": "docvqa", "dataset_split": "train",
                                                  "dataset_version": "1.0", "data": [
        {"questionId": 337, "question": "what is the date mentioned in this letter?",
         "image": "documents/xnbl0037_1.png", "docId": 279, "ucsf_document_id": "xnbl0037",
         "ucsf_document_page_no": "1", "answers": ["1/8/93"], "data_split": "train"}]})


def dvqa(root: Path) -> Path:
    """`qa/{train,val_easy}_qa.json` + every chart in one `images/` (`bar_<split>_<8 digits>.png`);
    `question_id` an int, `answer_bbox` [x, y, w, h] floats or [] when the answer is not chart text."""
    png(root / "images/bar_train_00200000.png")
    png(root / "images/bar_train_00200001.png")
    png(root / "images/bar_val_easy_00000000.png")
    dump(root / "qa/train_qa.json", [
        {"question": "Does the chart contain any negative values?", "question_id": 120000000,
         "template_id": "structure", "answer": "no", "image": "bar_train_00200000.png", "answer_bbox": []},
        {"question": "What is the label of the second bar from the bottom in each group?", "question_id": 120000013,
         "template_id": "data", "answer": "bond", "image": "bar_train_00200000.png",
         "answer_bbox": [295.4375, 379.8534658136745, 54.5, 35.0]},
        {"question": "What is the value of the largest individual bar in the whole chart?", "question_id": 120000021,
         "template_id": "reasoning", "answer": "8", "image": "bar_train_00200001.png", "answer_bbox": []},
    ])
    dump(root / "qa/val_easy_qa.json", [
        {"question": "How many bars are there?", "question_id": 0, "template_id": "structure", "answer": "three",
         "image": "bar_val_easy_00000000.png", "answer_bbox": []}])
    return root


def ai2d(root: Path) -> Path:
    """`ai2d/` from ai2d-all.zip (`images/`, `abc_images/`, `questions/<n>.png.json`, `categories.json`)
    with `ai2d_test_ids.csv` beside it; 0.png's abcLabel questions as the release has them."""
    base = root / "ai2d"
    for name in ("0.png", "1.png"):
        png(base / "images" / name)
        png(base / "abc_images" / name, colour=(10, 10, 200))
    dump(base / "questions/0.png.json", {"imageName": "0.png", "questions": {
        "What is A in the diagram?": {"abcLabel": True, "answerTexts": ["ears", "nose", "mouth", "face"],
                                      "correctAnswer": 3, "questionId": "0.png-0"},
        "Which part of the face is used to smell?": {"abcLabel": False,
                                                     "answerTexts": ["ears", "nose", "mouth", "eyes"],
                                                     "correctAnswer": 1, "questionId": "0.png-1"},
        "What is B in the diagram?": {"abcLabel": True, "answerTexts": ["face", "mouth", "nose", "ears"],
                                      "correctAnswer": 3, "questionId": "0.png-2"},
    }})
    dump(base / "questions/1.png.json", {"imageName": "1.png", "questions": {
        "Which layer is the crust?": {"abcLabel": False, "answerTexts": ["outer", "inner", "middle", "core"],
                                      "correctAnswer": 0, "questionId": "1.png-0"}}})
    dump(base / "categories.json", {"0.png": "partsOfA", "1.png": "earthParts"})
    (root / "ai2d_test_ids.csv").write_text("1\n")
    return base


def geoqa(root: Path) -> Path:
    """The unpacked `data.zip`: `GeoQA3/json/<n>.json` + `GeoQA3/image/<n>.png` (keys as released)."""
    base = root / "GeoQA3"
    png(base / "image/1.png")
    png(base / "image/2.png")
    dump(base / "json/1.json", {
        "id": 1, "subject": "如图,AB∥CD,直线EF交AB于点E,交CD于点F,EG平分∠BEF,交CD于点G,∠EFG=50°,则∠EGF等于()",
        "choices": ["50°", "60°", "65°", "70°"], "label": 2,
        "comment": "∵AB∥CD,∴∠BEF=180°-∠EFG=130°,∵EG平分∠BEF,∴∠BEG=65°,∴∠EGF=∠BEG=65°.",
        "formal_point": ["平行线", "角平分线"]})
    dump(base / "json/2.json", {
        "id": 2, "subject": "如图,在⊙O中,AB是直径,∠BAC=30°,则∠ABC的度数为()",
        "choices": ["30°", "45°", "60°", "90°"], "label": 2,
        "comment": "∵AB是直径,∴∠ACB=90°,∴∠ABC=90°-30°=60°.", "formal_point": ["圆周角"]})
    return base


def _shard(path: Path, images: list, texts: list) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    image_t = pa.list_(pa.struct([("bytes", pa.binary()), ("path", pa.string())]))
    text_t = pa.list_(pa.struct([("user", pa.string()), ("assistant", pa.string()), ("source", pa.string())]))
    path.parent.mkdir(parents=True, exist_ok=True)
    schema = pa.schema([("images", image_t), ("texts", text_t)])
    pq.write_table(pa.table({"images": images, "texts": texts}, schema=schema), path)


def cauldron(root: Path) -> Path:
    """`the_cauldron/<subset>/train-0000k-of-0000n-<hash>.parquet`, texts as the Cauldron wrote them."""
    base = root / "the_cauldron"
    one = [{"bytes": png_bytes(), "path": None}]
    _shard(base / "ai2d/train-00000-of-00001-2ce340398c113b79.parquet", [one], [[
        {"user": "Question: Which part of the face is used to smell?\nChoices:\nA. ears\nB. nose\nC. mouth\nD. eyes\n"
                 "Answer with the letter.", "assistant": "Answer: B", "source": "AI2D"},
        {"user": "Question: Which part of the face is used to hear?\nChoices:\nA. ears\nB. nose\nC. mouth\nD. eyes\n"
                 "Answer with the letter.", "assistant": "Answer: A", "source": "AI2D"}]])
    _shard(base / "chartqa/train-00000-of-00002-7733d4ca73ccd12e.parquet", [one, one], [
        [{"user": "Is the value of Favorable 38 in 2015?\nQuick response, please.", "assistant": "Yes.",
          "source": "ChartQA"}],
        [{"user": "How many values are below 40 in Unfavorable graph?\nAnswer briefly.", "assistant": "6.",
          "source": "ChartQA"}]])
    _shard(base / "geomverse/train-00000-of-00001-2c8a4ff8ee1d2a4b.parquet", [one], [[
        {"user": "If the ABCD shape is a square and the length of the AB side is 9, compute the area of the ABCD "
                 "shape.", "assistant": "The length of the AB side of the ABCD square is 9, so its area is "
                                        "$9 * 9 = 81$. Thus the answer is 81.", "source": "GeomVerse"}]])
    two = [{"bytes": png_bytes(), "path": None}, {"bytes": png_bytes((1, 2, 3)), "path": None}]
    _shard(base / "nlvr2/train-00000-of-00001-a7c8a6b9b2a1e5f4.parquet", [two], [[
        {"user": "The first image is the image on the left, the second image is the image on the right. "
                 "For the images shown, is this caption \"There are two dogs.\" true? Answer yes or no.",
         "assistant": "Yes.", "source": "NLVR2"}]])
    return base
