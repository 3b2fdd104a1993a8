"""The exported world: formats parse, the build is reproducible, the table covers every string."""

from __future__ import annotations

import base64
import csv
import io
import json
from collections import Counter, defaultdict
from pathlib import Path

import pytest
from PIL import Image

from lrm_llava import languages
from lrm_llava.world.export import (
    MMBENCH_COLUMNS,
    ROTATION_STRIDE,
    SEED_QUESTION_TYPES,
    WorldConfig,
    build_world,
)
from lrm_llava.world.scene import COLORS, KINDS

EN = languages.get("en")
SMALL = {"n_train_scenes": 40, "n_bench_scenes": 16}


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("world")
    build_world(out, quick=True, seed=3, **SMALL)
    return out


def _table(world: Path) -> dict[str, dict[str, str]]:
    table: dict[str, dict[str, str]] = defaultdict(dict)
    for line in (world / "translations.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        assert set(row) == {"src", "tgt", "text", "translation"} and row["src"] == "en"
        assert row["text"] not in table[row["tgt"]], "one entry per (tgt, text)"
        table[row["tgt"]][row["text"]] = row["translation"]
    return table


def _split_mc(value: str) -> tuple[list[str], str, list[str]]:
    """(hint lines, core question, option texts) of a multiple-choice user text."""
    lines = value.split("\n")
    assert lines[-1] == EN.option_suffix
    opts = [ln for ln in lines if len(ln) > 3 and ln[0] in "ABCD" and ln[1:3] == ". "]
    head = lines[: len(lines) - 1 - len(opts)]
    return head[:-1], head[-1], [o[3:] for o in opts]


def test_world_json_records_config_and_counts(world):
    meta = json.loads((world / "world.json").read_text())
    assert meta["config"]["n_train_scenes"] == 40 and meta["config"]["seed"] == 3
    assert meta["counts"]["captions"] == 40
    assert meta["counts"]["vqa_conversations"] == 40 * meta["config"]["vqa_per_scene"]
    assert meta["counts"]["translation_conflicts"] == {}
    assert meta["counts"]["bench"]["mme"] == {"existence": 8, "count": 8, "position": 8, "color": 8}


def test_llava_json_structure(world):
    for name in ("captions_en.json", "vqa_en.json"):
        data = json.loads((world / name).read_text())
        assert isinstance(data, list) and data
        for s in data:
            assert set(s) == {"id", "image", "conversations"}
            assert (world / s["image"]).is_file()
            conv = s["conversations"]
            assert [t["from"] for t in conv] == ["human", "gpt"] * (len(conv) // 2)
            assert conv[0]["value"].startswith("<image>\n")
            assert sum(t["value"].count("<image>") for t in conv) == 1
    caps = json.loads((world / "captions_en.json").read_text())
    assert caps[0]["conversations"][0]["value"] == "<image>\nDescribe the image briefly."
    assert caps[0]["conversations"][1]["value"].startswith("There ")
    assert Image.open(world / caps[0]["image"]).size == (96, 96)


def test_vqa_answer_styles(world):
    vqa = json.loads((world / "vqa_en.json").read_text())
    turns = [(c[i]["value"].replace("<image>\n", ""), c[i + 1]["value"])
             for s in vqa for c in [s["conversations"]] for i in range(0, len(c), 2)]
    assert any(len(s["conversations"]) >= 4 for s in vqa), "multi-turn conversations exist"
    forms = Counter()
    for q, a in turns:
        if q.endswith(EN.option_suffix):
            forms["mc"] += 1
            _, _, opts = _split_mc(q)
            assert 2 <= len(opts) <= 4 and a in "ABCD"[: len(opts)] and len(a) == 1
        elif q.endswith(EN.yes_no_suffix):
            forms["yesno"] += 1
            assert a in ("Yes.", "No.")
        elif q.endswith("\n" + EN.short_answer_suffix):
            forms["short"] += 1
            assert a.endswith(".") and a[0].isupper() and len(a.split()) <= 3
        else:
            forms["plain"] += 1
    assert all(forms[k] > 0 for k in ("mc", "yesno", "short", "plain")), forms
    answers = Counter(a for _, a in turns)
    assert answers["Yes."] > 0 and answers["No."] > 0


def test_reproducible_and_seed_dependent(tmp_path):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    build_world(a, seed=1, quick=True, **SMALL)
    build_world(b, seed=1, quick=True, **SMALL)
    build_world(c, seed=2, quick=True, **SMALL)
    for rel in ("vqa_en.json", "captions_en.json", "translations.jsonl", "images/sw_train_000007.png",
                "bench/mmbench/en/mmbench_dev.tsv", "bench/pope/en/coco_pope_adversarial.json",
                "bench/seed/en/SEED-Bench.json"):
        assert (a / rel).read_bytes() == (b / rel).read_bytes(), rel
    assert (a / "vqa_en.json").read_bytes() != (c / "vqa_en.json").read_bytes()
    # An unchanged config is not rebuilt; a changed one is.
    stamp = (a / "vqa_en.json").stat().st_mtime_ns
    build_world(a, seed=1, quick=True, **SMALL)
    assert (a / "vqa_en.json").stat().st_mtime_ns == stamp


def test_mme_pairs(world):
    root = world / "bench" / "mme" / "en"
    layouts = set()
    for subtask in ("existence", "count", "position", "color"):
        txts = sorted((root / subtask).rglob("*.txt"))
        assert len(txts) == 4
        for txt in txts:
            lines = txt.read_text(encoding="utf-8").splitlines()
            assert len(lines) == 2
            qs, answers = zip(*(ln.split("\t") for ln in lines))
            assert sorted(answers) == ["No", "Yes"]
            assert all(q.endswith("? " + EN.yes_no_suffix) for q in qs) and qs[0] != qs[1]
            if txt.parent.name == "questions_answers_YN":
                layouts.add("A")
                assert (txt.parent.parent / "images" / f"{txt.stem}.png").is_file()
            else:
                layouts.add("B")
                assert (txt.parent / f"{txt.stem}.png").is_file()
    assert layouts == {"A", "B"}


def test_pope_splits(world):
    root = world / "bench" / "pope" / "en"
    questions = {}
    for split in ("random", "popular", "adversarial"):
        rows = [json.loads(ln) for ln in (root / f"coco_pope_{split}.json").read_text().splitlines()]
        assert rows and all(set(r) == {"question_id", "image", "text", "label"} for r in rows)
        assert [r["question_id"] for r in rows] == list(range(1, len(rows) + 1))
        per_image = defaultdict(Counter)
        for r in rows:
            assert r["text"].startswith("Is there a") and r["text"].endswith(" in the image?")
            # objects are categories (the shape kinds), as COCO classes are in POPE: no colour words
            assert r["text"].split()[3] in KINDS and not set(r["text"].split()) & set(COLORS)
            assert (root / "images" / r["image"]).is_file()
            per_image[r["image"]][r["label"]] += 1
        assert all(c["yes"] == c["no"] and 1 <= c["yes"] <= 3 for c in per_image.values())
        questions[split] = [r["text"] for r in rows if r["label"] == "no"]
    assert questions["random"] != questions["adversarial"]


def test_mmbench_tsv(world):
    path = world / "bench" / "mmbench" / "en" / "mmbench_dev.tsv"
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh, delimiter="\t")
        assert tuple(reader.fieldnames) == MMBENCH_COLUMNS
        rows = list(reader)
    by_base = defaultdict(list)
    for r in rows:
        by_base[int(r["index"]) % ROTATION_STRIDE].append(r)
    assert len(by_base) == 8 and {r["category"] for r in rows} == {
        "attribute_recognition", "object_localization", "counting"}
    for base, group in by_base.items():
        opts = [[r[x] for x in "ABCD" if r[x]] for r in group]
        n = len(opts[0])
        assert 2 <= n <= 4 and len(group) == n
        assert sorted(int(r["index"]) for r in group) == [base + k * ROTATION_STRIDE for k in range(n)]
        rights = {r[r["answer"]] for r in group}
        assert len(rights) == 1, "every rotation keeps the same right option text"
        assert all(sorted(o) == sorted(opts[0]) for o in opts)
    png = base64.b64decode(rows[0]["image"])
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert Image.open(io.BytesIO(png)).size == (96, 96)


def test_seed_json(world):
    root = world / "bench" / "seed" / "en"
    data = json.loads((root / "SEED-Bench.json").read_text())
    assert data["question_type"] == SEED_QUESTION_TYPES
    qs = data["questions"]
    assert len(qs) == 8 and {q["question_type_id"] for q in qs} == {1, 2, 3, 4, 5}
    for q in qs:
        assert set(q) == {"answer", "choice_a", "choice_b", "choice_c", "choice_d", "data_id", "data_type",
                          "question", "question_id", "question_type_id"}
        assert q["answer"] in "ABCD" and q["data_type"] == "image"
        assert (root / "images" / q["data_id"]).is_file()
        assert len({q[f"choice_{x}"] for x in "abcd"}) == 4


def _strings_needing_translation(world: Path) -> set[str]:
    out: set[str] = set()
    suffixes = (EN.yes_no_suffix, EN.short_answer_suffix)
    for name in ("captions_en.json", "vqa_en.json"):
        for s in json.loads((world / name).read_text()):
            for t in s["conversations"]:
                value = t["value"].replace("<image>\n", "")
                out.add(value)
                if value.endswith(EN.option_suffix):
                    hint, core, opts = _split_mc(value)
                    out.update(hint + [core] + opts)
                for suf in suffixes:
                    if value.endswith(suf):
                        out.add(value[: -len(suf)].rstrip())
    bench = world / "bench"
    for txt in (bench / "mme").rglob("*.txt"):
        for ln in txt.read_text(encoding="utf-8").splitlines():
            q = ln.split("\t")[0]
            out.update({q, q[: -len(EN.yes_no_suffix)].rstrip()})
    for p in (bench / "pope" / "en").glob("*.json"):
        out.update(json.loads(ln)["text"] for ln in p.read_text().splitlines())
    with (bench / "mmbench" / "en" / "mmbench_dev.tsv").open(encoding="utf-8", newline="") as fh:
        for r in csv.DictReader(fh, delimiter="\t"):
            out.update(v for v in (r["question"], r["hint"], r["A"], r["B"], r["C"], r["D"]) if v)
    for q in json.loads((bench / "seed" / "en" / "SEED-Bench.json").read_text())["questions"]:
        out.update([q["question"]] + [q[f"choice_{x}"] for x in "abcd"])
    return out


def test_translation_table_covers_every_english_string(world):
    table = _table(world)
    needed = _strings_needing_translation(world)
    assert len(needed) > 100
    for code in languages.NON_ENGLISH:
        missing = sorted(needed - set(table[code]))
        assert not missing, f"{code}: {missing[:5]}"
    # Whole turns are realized with the target language's own registry suffixes.
    de = table["de"]
    yn = [t for t in de if t.endswith(EN.yes_no_suffix) and t != EN.yes_no_suffix]
    assert yn and de[yn[0]].endswith(" " + languages.get("de").yes_no_suffix)
    assert de["Yes."] == "Ja." and table["zh"]["No."] == "否。" and table["hr"]["B"] == "B"
    assert table["ru"][EN.option_suffix] == languages.get("ru").option_suffix
    assert table["fr"]["Describe the image briefly."] == languages.get("fr").describe_prompts[0]


def test_cli_build(tmp_path, capsys):
    import argparse

    from lrm_llava.world.cli import register

    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    args = parser.parse_args(["world", "build", "--out", str(tmp_path / "w"), "--quick", "--seed", "5",
                              "--train-scenes", "12", "--bench-scenes", "8"])
    assert args.func(args) == 0
    assert "12 training scenes" in capsys.readouterr().out
    meta = json.loads((tmp_path / "w" / "world.json").read_text())
    assert meta["config"]["seed"] == 5 and meta["config"]["quick"] is True


def test_quick_defaults_are_small():
    cfg = WorldConfig(n_bench_scenes=32)
    assert cfg.sizes() == {"mme": 8, "pope": 8, "mmbench": 16, "seed": 16}
