"""Exact structure of MVQA / EP-VQA / BVQA samples, and the mixing arithmetic."""

from __future__ import annotations

import random

from lrm_llava.instruct import (
    answer_in_request,
    apportion,
    bvqa,
    epvqa,
    mvqa,
    mvqa_caption,
    plan_mix,
    split_evenly,
)

TURNS = [("human", "How many cats?"), ("gpt", "Two."), ("human", "What colour?"), ("gpt", "Red.")]
TR = {
    "de": {"How many cats?": "Wie viele Katzen?", "Two.": "Zwei.", "What colour?": "Welche Farbe?", "Red.": "Rot."},
    "zh": {"How many cats?": "有几只猫？", "Two.": "两只。", "What colour?": "什么颜色？", "Red.": "红色。"},
    "hr": {"How many cats?": "Koliko mačaka?", "Two.": "Dvije.", "What colour?": "Koje boje?", "Red.": "Crvene."},
}


def test_mvqa():
    assert mvqa(TURNS, "zh", TR["zh"], True) == [
        {"from": "human", "value": "<image>\n有几只猫？"},
        {"from": "gpt", "value": "两只。"},
        {"from": "human", "value": "什么颜色？"},
        {"from": "gpt", "value": "红色。"},
    ]
    assert mvqa(TURNS[:2], "de", TR["de"], False)[0] == {"from": "human", "value": "Wie viele Katzen?"}


def test_mvqa_caption_uses_registry_prompts():
    conv = mvqa_caption([("human", "Describe."), ("gpt", "Two cats.")], "de", {"Two cats.": "Zwei Katzen."},
                        True, random.Random(0))
    assert conv[0]["value"] in {f"<image>\n{p}" for p in (
        "Beschreiben Sie das Bild kurz.", "Was ist auf dem Bild zu sehen?", "Beschreiben Sie den Inhalt dieses Bildes.")}
    assert conv[1] == {"from": "gpt", "value": "Zwei Katzen."}


def test_epvqa_every_turn():
    assert epvqa(TURNS, "de", TR["de"], True) == [
        {"from": "human", "value": "<image>\nWie viele Katzen?\nÜbersetzen Sie die Frage zuerst ins Englische "
                                   "und antworten Sie dann auf Deutsch."},
        {"from": "gpt", "value": "Frage auf Englisch: How many cats?\nAntwort: Zwei."},
        {"from": "human", "value": "Welche Farbe?\nÜbersetzen Sie die Frage zuerst ins Englische "
                                   "und antworten Sie dann auf Deutsch."},
        {"from": "gpt", "value": "Frage auf Englisch: What colour?\nAntwort: Rot."},
    ]
    zh = epvqa(TURNS[:2], "zh", TR["zh"], True)
    assert zh[0]["value"] == "<image>\n有几只猫？\n请先将问题翻译成英文，然后用中文回答。"
    assert zh[1]["value"] == "英文问题: How many cats?\n回答: 两只。"


def test_bvqa_both_directions_one_answer_language():
    assert answer_in_request("hr") == "Please answer in Croatian."
    assert bvqa(TURNS, "hr", TR["hr"], True, "to_la") == [
        {"from": "human", "value": "<image>\nHow many cats?\nPlease answer in Croatian."},
        {"from": "gpt", "value": "Dvije."},
        {"from": "human", "value": "What colour?"},
        {"from": "gpt", "value": "Crvene."},
    ]
    assert bvqa(TURNS, "zh", TR["zh"], False, "to_en") == [
        {"from": "human", "value": "有几只猫？\n请用英语回答。"},
        {"from": "gpt", "value": "Two."},
        {"from": "human", "value": "什么颜色？"},
        {"from": "gpt", "value": "Red."},
    ]


def test_split_and_apportion():
    assert split_evenly(10, 3) == [4, 3, 3]
    assert apportion(7, {"mvqa": 1, "epvqa": 1, "bvqa": 1}) == {"mvqa": 3, "epvqa": 2, "bvqa": 2}
    assert apportion(10, {"mvqa": 2, "epvqa": 1, "bvqa": 0}) == {"mvqa": 7, "epvqa": 3, "bvqa": 0}


def test_plan_mix_is_seeded_and_per_language_independent():
    weights = {"mvqa": 1.0, "epvqa": 1.0, "bvqa": 1.0}
    a = plan_mix(10, list(range(10)), ["de", "zh"], 1.5, weights, seed=3)
    assert a == plan_mix(10, list(range(10)), ["de", "zh"], 1.5, weights, seed=3)
    assert len(a) == 15 and sum(x.lang == "de" for x in a) == 8
    b = plan_mix(10, list(range(10)), ["de", "zh", "it"], 1.5, weights, seed=3)
    assert [x.index for x in a if x.lang == "de"][:5] == [x.index for x in b if x.lang == "de"]
    de = [x for x in a if x.lang == "de"]
    assert sorted(x.index for x in de) == sorted(set(x.index for x in de))  # no repeats while the pool lasts
    bv = [x.variant for x in de if x.task == "bvqa"]
    assert sorted(bv) == sorted(["to_la", "to_en", "to_la"][: len(bv)])
