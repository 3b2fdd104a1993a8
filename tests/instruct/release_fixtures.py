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
    png(root / "sam/images/sa_545504.jpg", fmt="JPEG")
    png(root / "llava/llava_pretrain/images/00013/000138295.jpg", fmt="JPEG")
    rows = [
        {"id": "sa_545504", "image": "sam/images/sa_545504.jpg", "conversations": [
            {"from": "human", "value": "What do you see happening in this image?\n<image>"},
            {"from": "gpt", "value": "The image captures a bustling street market with stalls of fruit."}]},
        {"id": "000138295", "image": "llava/llava_pretrain/images/00013/000138295.jpg", "conversations": [
            {"from": "human", "value": "<image>\nAnalyze the image in a comprehensive and detailed manner."},
            {"from": "gpt", "value": "A red kite flies over a green hill under a clear sky."}]},
    ]
    return dump(root / "share-captioner_coco_lcs_sam_1246k_1107.json", rows)


def chartqa(root: Path) -> Path:
    """`ChartQA Dataset/{train,val}/` with `*_human.json`, `*_augmented.json` and one `png/`."""
    base = root / "ChartQA Dataset"
    png(base / "train/png/41699051005347.png")
    png(base / "train/png/two_col_1.png")
    dump(base / "train/train_human.json", [
        {"imgname": "41699051005347.png", "query": "What's the value of the lowest bar?", "label": "23"},
        {"imgname": "41699051005347.png", "query": "Is the sum of the two smallest bars greater than the largest?",
         "label": "No"},
        {"imgname": "missing_chart.png", "query": "What is the highest value?", "label": "12"},
    ])
    dump(base / "train/train_augmented.json", [
        {"imgname": "two_col_1.png", "query": "What was the revenue of Nike in 2019?", "label": "37.4"},
        {"imgname": "two_col_1.png", "query": "What is the average of 2018 and 2019?", "label": "36.15"},
    ])
    png(base / "val/png/val_1.png")
    dump(base / "val/val_human.json", [{"imgname": "val_1.png", "query": "What is the value of Italy?", "label": "5.6"}])
    return base


def docvqa(root: Path) -> Path:
    """The current downloads: `spdocvqa_qas/train_v1.0_withQT.json` + flat `spdocvqa_images/`."""
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
    png(root / "images/bar_train_00000000.png")
    png(root / "images/bar_train_00000001.png")
    dump(root / "qa/train_qa.json", [
        {"image": "bar_train_00000000.png", "question": "Does the chart contain any negative values?",
         "answer": "no", "question_id": 0, "template_id": "structure", "answer_bbox": []},
        {"image": "bar_train_00000000.png", "question": "What is the label of the first bar from the left?",
         "answer": "kid", "question_id": 1, "template_id": "structure", "answer_bbox": [53.0, 404.0, 21.0, 12.0]},
        {"image": "bar_train_00000001.png", "question": "What is the value of the largest bar?",
         "answer": "8", "question_id": 2, "template_id": "data", "answer_bbox": []},
    ])
    return root


def ai2d(root: Path) -> Path:
    base = root / "ai2d"
    png(base / "images/0.png")
    png(base / "images/1.png")
    dump(base / "questions/0.png.json", {"imageName": "0.png", "questions": {
        "Which of these is a producer?": {"abcLabel": False, "answerTexts": ["frog", "grass", "snake", "hawk"],
                                          "correctAnswer": 1, "questionId": "0.png-0"},
        "Which label refers to the sun?": {"abcLabel": True, "answerTexts": ["A", "B", "C", "D"],
                                           "correctAnswer": 2, "questionId": "0.png-1"},
        "What would happen to the snakes if the frogs died out?": {
            "abcLabel": False, "answerTexts": ["increase", "decrease", "stay the same", "can't tell"],
            "correctAnswer": 0 + 1, "questionId": "0.png-2"},
    }})
    dump(base / "questions/1.png.json", {"imageName": "1.png", "questions": {
        "Which layer is the crust?": {"abcLabel": False, "answerTexts": ["outer", "inner", "middle", "core"],
                                      "correctAnswer": 0, "questionId": "1.png-0"}}})
    (base / "categories.json").write_text(json.dumps({"0.png": "foodChainsWebs", "1.png": "earthParts"}))
    (root / "ai2d_test_ids.csv").write_text("1\n")
    return base


def geoqa(root: Path) -> Path:
    base = root / "GeoQA3"
    png(base / "image/0.png")
    png(base / "image/1.png")
    dump(base / "json/0.json", {"id": 0, "subject": "如图,AB∥CD,∠ABC=50°,则∠BCD等于()",
                                "choices": ["40°", "50°", "60°", "130°"], "label": 1,
                                "formal_point": ["平行线的性质"], "manual_program": ["g_equal", "N0"],
                                "numbers": [50.0]})
    dump(base / "json/1.json", {"id": 1, "subject": "如图,在⊙O中,AB是直径,∠BAC=30°,则∠ABC的度数为()",
                                "choices": ["30°", "45°", "60°", "90°"], "label": 2,
                                "formal_point": ["圆周角"], "manual_program": [], "numbers": [30.0]})
    return base


def cauldron(root: Path) -> Path:
    """`the_cauldron/<subset>/train-00000-of-00001-<hash>.parquet` with the Cauldron's features."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    image_t = pa.list_(pa.struct([("bytes", pa.binary()), ("path", pa.string())]))
    text_t = pa.list_(pa.struct([("user", pa.string()), ("assistant", pa.string()), ("source", pa.string())]))
    rows = {
        "images": [
            [{"bytes": png_bytes(), "path": None}],
            [{"bytes": png_bytes(), "path": None}, {"bytes": png_bytes((1, 2, 3)), "path": None}],
            [],
        ],
        "texts": [
            [{"user": "Question: Which of these is a producer?\nChoices:\nA. frog\nB. grass\nAnswer with the letter.",
              "assistant": "Answer: B", "source": "AI2D"},
             {"user": "Question: Which eats frogs?\nChoices:\nA. snake\nB. grass\nAnswer with the letter.",
              "assistant": "Answer: A", "source": "AI2D"}],
            [{"user": "Is the statement true for the left and right images?\nAnswer yes or no.", "assistant": "Yes.",
              "source": "NLVR2"}],
            [{"user": "What is 3 plus 4?\nGive a very brief answer.", "assistant": "7.", "source": "AI2D"}],
        ],
    }
    path = root / "the_cauldron/ai2d/train-00000-of-00001-2ce340398c113b79.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table(rows, schema=pa.schema([("images", image_t), ("texts", text_t)])), path)
    return root / "the_cauldron"
