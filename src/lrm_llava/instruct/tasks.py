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

LLaVA's answer-format sentences ("Answer the question using a single word or phrase.", "Answer
with the option's letter from the given choices directly.", "Please answer yes or no.") can be
taken from the registry instead of being machine-translated (`split_answer_format` /
`with_answer_format`, the build's `registry_prompts`): the question in `la` then ends with the
sentence the benchmarks of `la` use, and EP-VQA's English question leaves the sentence out.
"""

from __future__ import annotations

import random

from lrm_llava import languages

Turns = list[tuple[str, str]]
"""English turns as (role, text) with role "human" or "gpt" and `<image>` removed."""

TASKS = ("mvqa", "epvqa", "bvqa")


ANSWER_FORMATS = ("short_answer_suffix", "option_suffix", "yes_no_suffix")
"""Registry attributes of LLaVA's answer-format sentences, the ones the benchmarks' prompts use."""


def split_answer_format(text: str) -> tuple[str, str | None, str]:
    """(question, registry attribute, separator) for a question that ends with one of LLaVA's
    answer-format sentences in the English registry wording; (text, None, "") otherwise.

    >>> split_answer_format("Is it red?\\nAnswer the question using a single word or phrase.")
    ('Is it red?', 'short_answer_suffix', '\\n')
    """
    en = languages.get(languages.ENGLISH)
    for attr in ANSWER_FORMATS:
        sentence = getattr(en, attr)
        if text.endswith(sentence):
            head = text[: -len(sentence)]
            core = head.rstrip()
            if core:
                return core, attr, head[len(core):]
    return text, None, ""


def with_answer_format(question_la: str, attr: str, separator: str, la: str) -> str:
    """The question in `la` followed by the registry's sentence `attr` of `la`."""
    return f"{question_la}{separator}{getattr(languages.get(la), attr)}"


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


def epvqa(turns: Turns, la: str, tr: dict[str, str], has_image: bool, registry_prompts: bool = False) -> list[dict]:
    """Question in `la` + the pivot instruction -> English question, then the answer in `la`.
    `registry_prompts`: the English question of the target leaves LLaVA's answer-format sentence out."""
    lang = languages.get(la)
    out, question = [], ""
    for role, text in turns:
        if role == "human":
            question = split_answer_format(text)[0] if registry_prompts else text
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
    task: str, turns: Turns, la: str, tr: dict[str, str], has_image: bool, variant: str, rng: random.Random,
    registry_prompts: bool = False,
) -> list[dict]:
    """Dispatch to the builder of `task` ("mvqa", "mvqa_caption", "epvqa", "bvqa")."""
    if task == "mvqa":
        return mvqa(turns, la, tr, has_image)
    if task == "mvqa_caption":
        return mvqa_caption(turns, la, tr, has_image, rng)
    if task == "epvqa":
        return epvqa(turns, la, tr, has_image, registry_prompts)
    if task == "bvqa":
        return bvqa(turns, la, tr, has_image, variant)
    raise ValueError(f"unknown task {task!r}")
