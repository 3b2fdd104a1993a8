"""Templates and label masks: exact strings, exact labelled token ids in all ten languages, loud mismatches."""

from __future__ import annotations

import pytest

from lrm_llava.chat import (
    IGNORE_INDEX,
    VICUNA_SYSTEM,
    build_generation_prompt,
    render_conversation,
    tokenize_conversation,
)
from lrm_llava.errors import DataError, UserError
from lrm_llava.languages import LANGUAGES
from lrm_llava.model import train_bpe_tokenizer


def _conv(*turns: str) -> list[dict]:
    return [{"from": "human" if i % 2 == 0 else "gpt", "value": t} for i, t in enumerate(turns)]


def _samples() -> dict[str, list[dict]]:
    """A two-round conversation per registry language, from the registry's own phrases."""
    out = {}
    for code, lang in LANGUAGES.items():
        out[code] = _conv(
            "<image>\n" + lang.describe_prompts[0],
            lang.describe_prompts[1] + " " + lang.short_answer_suffix,
            lang.yes_no_suffix,
            lang.pivot_instruction,
        )
    return out


@pytest.fixture(scope="module")
def bpe():
    texts = [VICUNA_SYSTEM, "USER: ASSISTANT:"]
    for sample in _samples().values():
        texts += [t["value"] for t in sample]
    return train_bpe_tokenizer(texts, vocab_size=700)


def _runs(labels: list[int]) -> list[list[int]]:
    """Contiguous runs of labelled ids."""
    runs, cur = [], []
    for x in labels:
        if x == IGNORE_INDEX:
            if cur:
                runs.append(cur)
            cur = []
        else:
            cur.append(x)
    if cur:
        runs.append(cur)
    return runs


def test_vicuna_v1_renders_exactly_like_llava():
    text, spans = render_conversation(_conv("Q1 <image>", "A1", "Q2", "A2"), "vicuna_v1")
    assert text == (
        "A chat between a curious user and an artificial intelligence assistant. The assistant gives "
        "helpful, detailed, and polite answers to the user's questions. USER: <image>\nQ1 ASSISTANT: "
        "A1</s>USER: Q2 ASSISTANT: A2</s>"
    )
    assert [text[p:e] for p, _, _, e in spans] == [" A1</s>", " A2</s>"]
    assert [text[s:a] for _, s, a, _ in spans] == ["A1", "A2"]
    assert text[: spans[0][0]] == build_generation_prompt("Q1", "vicuna_v1")
    assert render_conversation(_conv("Q1 <image>", "A1", "Q2", "A2"), "lrm_pretrain")[0] == text


def test_generation_prompt_is_the_training_prefix():
    prompt = build_generation_prompt("Q1", "vicuna_v1")
    assert prompt == VICUNA_SYSTEM + " USER: <image>\nQ1 ASSISTANT:"
    text, _ = render_conversation(_conv("<image>\nQ1", "A1"), "vicuna_v1")
    assert text.startswith(prompt + " ")
    assert build_generation_prompt("Q1", has_image=False) == VICUNA_SYSTEM + " USER: Q1 ASSISTANT:"
    assert build_generation_prompt("Q1", "plain") == "<image>"
    with pytest.raises(UserError, match="unknown chat template"):
        build_generation_prompt("Q1", "llama_9")


def test_vicuna_v1_nosystem_is_vicuna_v1_without_the_system_prompt(bpe):
    conv = _conv("Q1 <image>", "A1", "Q2", "A2")
    text, spans = render_conversation(conv, "vicuna_v1_nosystem")
    assert text == "USER: <image>\nQ1 ASSISTANT: A1</s>USER: Q2 ASSISTANT: A2</s>"
    assert [text[p:e] for p, _, _, e in spans] == [" A1</s>", " A2</s>"]
    assert text[: spans[0][0]] == build_generation_prompt("Q1", "vicuna_v1_nosystem")
    assert build_generation_prompt("Q1", "vicuna_v1_nosystem", has_image=False) == "USER: Q1 ASSISTANT:"
    # the same answer tokens are trained, after fewer prompt tokens
    sample = _samples()["de"]
    full = tokenize_conversation(sample, bpe, "vicuna_v1", sample_id="de-1")
    short = tokenize_conversation(sample, bpe, "vicuna_v1_nosystem", sample_id="de-1")
    assert _runs(short.labels) == _runs(full.labels)
    assert short.input_ids[0] == bpe.bos_token_id
    def count(text: str) -> int:
        return len(bpe(text, add_special_tokens=False)["input_ids"])

    # byte-level BPE: " USER:" after the system prompt and "USER:" at the start differ by a token
    assert len(full.input_ids) - len(short.input_ids) == count(VICUNA_SYSTEM + " USER:") - count("USER:")


@pytest.mark.parametrize("code", list(LANGUAGES))
def test_vicuna_labels_are_exactly_the_answers(bpe, code):
    sample = _samples()[code]
    answers = [sample[1]["value"], sample[3]["value"]]
    tc = tokenize_conversation(sample, bpe, "vicuna_v1", sample_id=f"{code}-1")
    assert len(tc.input_ids) == len(tc.labels)
    assert tc.input_ids[0] == bpe.bos_token_id
    runs = _runs(tc.labels)
    assert len(runs) == 2
    for run, answer in zip(runs, answers):
        # GPT-2-style pre-tokenization splits at ":" so " answer" tokenizes the same in context.
        assert run == bpe(" " + answer, add_special_tokens=False)["input_ids"] + [bpe.eos_token_id]
        assert bpe.decode(run, skip_special_tokens=True).strip() == answer
    # every label equals its input id; nothing outside answers is labelled
    assert all(lab in (IGNORE_INDEX, tok) for lab, tok in zip(tc.labels, tc.input_ids))
    assert tc.num_trained_tokens == sum(len(r) for r in runs)


def test_image_token_is_expanded_and_unlabelled(bpe):
    tok = bpe
    sample = _conv("What is this?\n<image>", "Ein Kreis.")
    plain = tokenize_conversation(sample, tok, "vicuna_v1", sample_id="x")
    image_ids = tok("<image>", add_special_tokens=False)["input_ids"]
    tc = tokenize_conversation(sample, tok, "vicuna_v1", image_token_id=999, num_image_tokens=7, sample_id="x")
    assert "USER: <image>\nWhat is this? ASSISTANT:" in tc.text
    assert tc.input_ids.count(999) == 7
    assert len(tc.input_ids) == len(plain.input_ids) - len(image_ids) + 7
    start = tc.input_ids.index(999)
    assert tc.input_ids[start: start + 7] == [999] * 7
    assert tc.labels[start: start + 7] == [IGNORE_INDEX] * 7
    assert _runs(tc.labels) == _runs(plain.labels)


def test_image_with_added_special_token(bpe):
    import copy

    from transformers import AddedToken

    tok = copy.deepcopy(bpe)
    tok.add_tokens([AddedToken("<image>", special=True, normalized=False)], special_tokens=True)
    image_id = tok.convert_tokens_to_ids("<image>")
    tc = tokenize_conversation(_conv("<image>\nQ?", "Ja."), tok, image_token_id=image_id, num_image_tokens=3)
    assert tc.input_ids.count(image_id) == 3


def test_plain_template_trains_caption_and_newline(bpe):
    tc = tokenize_conversation(_conv("<image>\nDescribe.", "Ein roter Kreis."), bpe, "plain", sample_id="p1")
    assert tc.text == "<image>Ein roter Kreis.\n"
    (run,) = _runs(tc.labels)
    assert bpe.decode(run) == "Ein roter Kreis.\n"
    with pytest.raises(DataError, match="p2"):
        tokenize_conversation(_conv("<image>\nA", "b", "C", "d"), bpe, "plain", sample_id="p2")


def test_mismatch_raises_with_sample_id():
    # A tokenizer without pre-tokenization learns tokens that glue "ASSISTANT: " to the answer.
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    raw = Tokenizer(models.BPE())
    raw.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    raw.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400, special_tokens=["<unk>", "<s>", "</s>", "<pad>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False,
    )
    raw.train_from_iterator(["ASSISTANT: Ja"] * 50, trainer)
    tok = PreTrainedTokenizerFast(tokenizer_object=raw, eos_token="</s>", pad_token="<pad>", unk_token="<unk>")
    with pytest.raises(DataError, match=r"sample 'bad-7'.*tokenization mismatch"):
        tokenize_conversation(_conv("Frage?", "Ja"), tok, sample_id="bad-7")


def test_bad_conversations_raise_data_errors(bpe):
    with pytest.raises(DataError, match="s9.*empty"):
        tokenize_conversation(_conv("Q", "   "), bpe, sample_id="s9")
    with pytest.raises(DataError, match="alternate"):
        tokenize_conversation([{"from": "gpt", "value": "a"}, {"from": "human", "value": "q"}], bpe)
    with pytest.raises(DataError, match="2 '<image>'"):
        tokenize_conversation(_conv("<image> Q <image>", "A"), bpe)
    with pytest.raises(DataError, match="needs a 'gpt' answer"):
        tokenize_conversation(_conv("Q"), bpe)
    with pytest.raises(UserError, match="unknown chat template"):
        tokenize_conversation(_conv("Q", "A"), bpe, "vicuna_v9")


CHATML = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def test_tokenizer_template_labels_answer_and_end_of_turn(bpe):
    import copy

    tok = copy.deepcopy(bpe)
    tok.add_special_tokens({"additional_special_tokens": ["<|im_start|>", "<|im_end|>"]})
    with pytest.raises(UserError, match="has none"):
        tokenize_conversation(_conv("Q", "A"), tok, "tokenizer")
    tok.chat_template = CHATML
    tc = tokenize_conversation(_conv("<image>\nWie viele?", "Drei.", "Und?", "Nein."), tok, "tokenizer", sample_id="t")
    end_id = tok.convert_tokens_to_ids("<|im_end|>")
    runs = _runs(tc.labels)
    assert [tok.decode(r) for r in runs] == ["Drei.<|im_end|>", "Nein.<|im_end|>"]
    assert all(r[-1] == end_id for r in runs)
    assert tc.input_ids[0] != tok.bos_token_id  # chat templates write their own specials
    assert build_generation_prompt("Q", "tokenizer", tokenizer=tok) == (
        "<|im_start|>user\n<image>\nQ<|im_end|>\n<|im_start|>assistant\n"
    )
