"""The three task instructions (the paper's cross-modal regularizer) as pure functions.

Each builder takes English turns `[(role, text), ...]` (`<image>` already removed), a translation
map `tr` (English text -> text in `la`) and returns LLaVA conversations; `<image>` is put back,
once, at the front of the first human turn. Every non-English string comes from the registry
(`lrm_llava.languages`) or from `tr`. For German (`la="de"`), one turn "How many cats?" / "Two.":

| task | human | gpt |
|------|-------|-----|
| MVQA | `<image>\\nWie viele Katzen?` | `Zwei.` |
| MVQA (pretrain) | `<image>\\nBeschreiben Sie das Bild kurz.` (a registry `describe_prompts` entry) | the caption, translated |
| EP-VQA | `<image>\\nWie viele Katzen?\\n` + `pivot_instruction` | `Frage auf Englisch: How many cats?\\nAntwort: Zwei.` (`pivot_question_label`, `answer_label`) |
| BVQA to_la | `<image>\\nHow many cats?\\nPlease answer in German.` | `Zwei.` |
| BVQA to_en | `<image>\\nWie viele Katzen?\\n` + `answer_in_english` | `Two.` |

EP-VQA applies its format to every turn of a multi-turn conversation; BVQA puts its request in the
first human turn only and keeps one answer language for the whole conversation.
"""

from __future__ import annotations

import random

from lrm_llava import languages

Turns = list[tuple[str, str]]
"""English turns as (role, text) with role "human" or "gpt" and `<image>` removed."""

TASKS = ("mvqa", "epvqa", "bvqa")


def with_image(conversations: list[dict], has_image: bool) -> list[dict]:
    """Put `<image>` once at the front of the first human turn (when the sample has an image)."""
    if has_image:
        for turn in conversations:
            if turn["from"] == "human":
                turn["value"] = "<image>\n" + turn["value"]
                break
    return conversations


def answer_in_request(la: str) -> str:
    """The English request to answer in `la` ("Please answer in German."), from the registry."""
    en, target = languages.get(languages.ENGLISH), languages.get(la)
    template = en.extra.get("answer_in_template")
    if template:
        return template.format(name=target.english_name)
    # The English entry's "Please answer in English." with the language name swapped.
    return en.answer_in_english.replace(en.english_name, target.english_name)


def texts_needed(task: str, turns: Turns, variant: str = "") -> list[str]:
    """The English strings a sample of `task` needs translated."""
    if task == "mvqa_caption":
        return [next(text for role, text in turns if role == "gpt")]
    if task == "bvqa":
        keep = "gpt" if variant == "to_la" else "human"
        return [text for role, text in turns if role == keep]
    return [text for _, text in turns]


def mvqa(turns: Turns, la: str, tr: dict[str, str], has_image: bool) -> list[dict]:
    """Question and answer in `la`."""
    return with_image([{"from": role, "value": tr[text]} for role, text in turns], has_image)


def mvqa_caption(turns: Turns, la: str, tr: dict[str, str], has_image: bool, rng: random.Random) -> list[dict]:
    """Pretraining: a localized "describe the image" question -> the first gpt turn (the caption) in `la`."""
    caption = next(text for role, text in turns if role == "gpt")
    question = rng.choice(languages.get(la).describe_prompts)
    return with_image([{"from": "human", "value": question}, {"from": "gpt", "value": tr[caption]}], has_image)


def epvqa_target(la: str, question_en: str, answer_la: str) -> str:
    """The EP-VQA target: the question's English translation, then the answer in `la`."""
    lang = languages.get(la)
    return f"{lang.pivot_question_label}: {question_en}\n{lang.answer_label}: {answer_la}"


def epvqa(turns: Turns, la: str, tr: dict[str, str], has_image: bool) -> list[dict]:
    """Question in `la` + the pivot instruction -> English question, then the answer in `la`."""
    lang = languages.get(la)
    out, question = [], ""
    for role, text in turns:
        if role == "human":
            question = text
            out.append({"from": "human", "value": f"{tr[text]}\n{lang.pivot_instruction}"})
        else:
            out.append({"from": "gpt", "value": epvqa_target(la, question, tr[text])})
    return with_image(out, has_image)


def bvqa(turns: Turns, la: str, tr: dict[str, str], has_image: bool, variant: str) -> list[dict]:
    """Bilingual: "to_la" = English question -> answer in `la`; "to_en" = question in `la` -> English answer."""
    if variant not in ("to_la", "to_en"):
        raise ValueError(f"BVQA variant must be 'to_la' or 'to_en', not {variant!r}")
    request = answer_in_request(la) if variant == "to_la" else languages.get(la).answer_in_english
    out, first = [], True
    for role, text in turns:
        if role == "human":
            question = text if variant == "to_la" else tr[text]
            if first:
                question, first = f"{question}\n{request}", False
            out.append({"from": "human", "value": question})
        else:
            out.append({"from": "gpt", "value": tr[text] if variant == "to_la" else text})
    return with_image(out, has_image)


def languages_of(task: str, la: str, variant: str = "") -> tuple[str, str]:
    """(lang, answer_lang) of a sample: the question's language and the answer's."""
    if task == "bvqa":
        return (languages.ENGLISH, la) if variant == "to_la" else (la, languages.ENGLISH)
    return la, la


def build_conversations(
    task: str, turns: Turns, la: str, tr: dict[str, str], has_image: bool, variant: str, rng: random.Random
) -> list[dict]:
    """Dispatch to the builder of `task` ("mvqa", "mvqa_caption", "epvqa", "bvqa")."""
    if task == "mvqa":
        return mvqa(turns, la, tr, has_image)
    if task == "mvqa_caption":
        return mvqa_caption(turns, la, tr, has_image, rng)
    if task == "epvqa":
        return epvqa(turns, la, tr, has_image)
    if task == "bvqa":
        return bvqa(turns, la, tr, has_image, variant)
    raise ValueError(f"unknown task {task!r}")
