"""Imported releases feed `data build`: per-source defaults (GeoQA stays Chinese, never translated),
registry prompts (the benchmarks' wording instead of MT) and the quality signals."""

from __future__ import annotations

import json

import pytest
import release_fixtures as rf

from lrm_llava.instruct import BuildConfig, build_dataset
from lrm_llava.instruct.importers import ImportConfig, run_import
from lrm_llava.instruct.quality import flags
from lrm_llava.instruct.tasks import split_answer_format
from lrm_llava.languages import get


@pytest.fixture()
def imported(tmp_path):
    root = tmp_path / "data"
    files = []
    for fmt, make in (("chartqa", rf.chartqa), ("docvqa", rf.docvqa), ("dvqa", rf.dvqa), ("ai2d", rf.ai2d),
                      ("geoqa", rf.geoqa)):
        src = make(tmp_path / "releases" / fmt)
        out = root / f"{fmt}.json"
        run_import(ImportConfig(format=fmt, src=str(src if fmt != "docvqa" else src.parent.parent), out=str(out)))
        files.append(str(out))
    return root, files


def _build(root, files, **kw):
    cfg = dict(sources=files, out=str(root / "multi.json"), languages="de,zh", backend="pseudo",
               image_root=str(root), progress=False, seed=0)
    cfg.update(kw)
    stats = build_dataset(BuildConfig(**cfg))
    return stats, json.loads((root / "multi.json").read_text())


def test_imported_sources_build_and_geoqa_stays_chinese(imported):
    root, files = imported
    stats, samples = _build(root, files)
    geo = [s for s in samples if s["source"] == "geoqa"]
    assert len(geo) == 2 and all(s["lang"] == "zh" and s["answer_lang"] == "zh" and s["task"] == "mvqa" for s in geo)
    assert all("[" not in s["conversations"][0]["value"] for s in geo)  # never through the (pseudo) MT
    assert stats.counts["zh"]["mvqa"] >= 2
    assert stats.kept_english.get("not English (used as it is)") == 2
    # DocVQA/ChartQA money and dates are translated now: some non-English samples come from them
    translated_sources = {s["source"] for s in samples if "de" in (s["lang"], s["answer_lang"])}
    assert {"docvqa", "dvqa"} & translated_sources


def test_registry_prompts_replace_the_answer_format_sentence(imported):
    root, files = imported
    _, plain = _build(root, files, tasks=["mvqa", "epvqa"], registry_prompts=False)
    _, reg = _build(root, files, tasks=["mvqa", "epvqa"])  # the default for an MT backend
    _, explicit = _build(root, files, tasks=["mvqa", "epvqa"], registry_prompts=True)
    assert explicit == reg
    de = get("de")
    short = get("en").short_answer_suffix
    reg_de = [s for s in reg if s["lang"] == "de"]
    assert reg_de
    for s in reg_de:
        q = s["conversations"][0]["value"]
        assert short not in q and "[de] Answer" not in q
        if s["task"] == "mvqa" and s["source"] in ("chartqa-human", "chartqa-augmented", "docvqa", "dvqa"):
            assert q.endswith("\n" + de.short_answer_suffix)
        if s["task"] == "mvqa" and s["source"] == "ai2d":
            assert q.endswith("\n" + de.option_suffix)
        if s["task"] == "epvqa":
            target = s["conversations"][1]["value"]
            assert short not in target and get("en").option_suffix not in target  # English question without it
            assert q.endswith(de.pivot_instruction)
    # switched off, the sentence goes through MT with the rest
    assert any("[de] " in s["conversations"][0]["value"] and "single word" in s["conversations"][0]["value"]
               for s in plain if s["lang"] == "de")


def test_split_answer_format():
    assert split_answer_format("Is it red?\nAnswer the question using a single word or phrase.") == \
        ("Is it red?", "short_answer_suffix", "\n")
    assert split_answer_format("Which?\nA. x\nB. y\nAnswer with the option's letter from the given choices directly.")[1] \
        == "option_suffix"
    assert split_answer_format("What is shown?") == ("What is shown?", None, "")


def test_quality_signals_per_language_and_source(imported):
    pytest.importorskip("lingua")
    root, files = imported
    stats, samples = _build(root, files, quality=True)
    by = stats.quality["by_language"]
    assert set(by) == {"de", "zh"}
    row = next(iter(by["de"].values()))
    assert {"translations", "langid", "length_ratio", "any", "share"} <= set(row)
    on_disk = json.loads((root / "multi.stats.json").read_text())
    assert on_disk["quality"]["signals"] == ["langid", "length_ratio"]
    # "[de] English text" is English to a language identifier: pseudo translations are flagged
    assert any(r["langid"] for r in by["de"].values())
    dropped, kept = _build(root, files, quality=True, drop_flagged=True)
    assert dropped.dropped.get("flagged translation", 0) > 0
    assert len(kept) < len(samples)


def test_quality_flags_on_real_translations():
    pytest.importorskip("lingua")
    pairs = {
        "What is the value of the lowest bar in the chart?": "Was ist der Wert des niedrigsten Balkens im Diagramm?",
        "Which of these animals is a producer in the food web?": "Which of these animals is a producer in the food web?",
        "What is the date mentioned in this letter of 1993?": "Datum?",
    }
    found = flags(pairs, "de")
    assert found["What is the value of the lowest bar in the chart?"] == set()
    assert "langid" in found["Which of these animals is a producer in the food web?"]
    assert "length_ratio" in found["What is the date mentioned in this letter of 1993?"]
    back = {"What is the value of the lowest bar in the chart?": "What is the value of the lowest bar in the chart?",
            "What is the date mentioned in this letter of 1993?": "Date?"}
    with_back = flags(pairs, "de", back)
    assert "chrf" in with_back["What is the date mentioned in this letter of 1993?"]
    assert "chrf" not in with_back["What is the value of the lowest bar in the chart?"]


def test_plain_build_stats_have_no_new_keys(imported):
    root, files = imported
    _build(root, files)
    on_disk = json.loads((root / "multi.stats.json").read_text())
    assert "quality" not in on_disk and "engine" not in on_disk


def test_registry_prompts_with_an_exact_table(tmp_path):
    """A reference table gets whole strings (its entries hold their own wording); EP-VQA's English
    question still leaves the sentence out."""
    q = "Is there a cat?\nAnswer the question using a single word or phrase."
    src = tmp_path / "en.json"
    src.write_text(json.dumps([{"id": "a", "conversations": [{"from": "human", "value": q},
                                                              {"from": "gpt", "value": "Yes."}]}]))
    table = tmp_path / "t.jsonl"
    rows = [{"src": "en", "tgt": "de", "text": q, "translation": "Gibt es eine Katze?\n" + get("de").short_answer_suffix},
            {"src": "en", "tgt": "de", "text": "Yes.", "translation": "Ja."}]
    table.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows))
    build_dataset(BuildConfig(sources=[str(src)], out=str(tmp_path / "o.json"), languages="de", backend="table",
                              table=str(table), tasks=["epvqa"], registry_prompts=True, progress=False))
    ep = [s for s in json.loads((tmp_path / "o.json").read_text()) if s["task"] == "epvqa"][0]
    assert ep["conversations"][0]["value"].startswith("Gibt es eine Katze?\n" + get("de").short_answer_suffix)
    assert ep["conversations"][1]["value"] == f"{get('de').pivot_question_label}: Is there a cat?\n" \
                                              f"{get('de').answer_label}: Ja."
