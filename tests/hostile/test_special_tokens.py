"""Special-token strings written in sample text are text, never the special ids (finding 7).

A "</s>" inside an answer used to be tokenized as the real EOS and trained as "stop here"; a "<s>"
inside a question as BOS. The template's own special tokens (the end token after each answer, a
chat template's markers, the BOS the tokenizer adds) must stay special, and data without such
strings must tokenize exactly as before, id for id.
"""

from __future__ import annotations

import pytest

from lrm_llava.chat import IGNORE_INDEX, tokenize_conversation
from lrm_llava.model import train_bpe_tokenizer


@pytest.fixture(scope="module")
def tok():
    """A tiny byte-level BPE trained here, with <unk> <s> </s> <pad> as special tokens."""
    corpus = ["What colour is the ball? It is red.", "The cup is blue and the lamp is green.",
              "A chat between a curious user and an artificial intelligence assistant.",
              "USER: ASSISTANT: Say the end. It ends with a slash and a tag."] * 5
    return train_bpe_tokenizer(corpus, vocab_size=300)


def _conv(question: str, answer: str) -> list[dict]:
    return [{"from": "human", "value": question}, {"from": "gpt", "value": answer}]


def _label_text(tok, tc) -> str:
    return tok.decode([i for i, lab in zip(tc.input_ids, tc.labels) if lab != IGNORE_INDEX])


@pytest.mark.parametrize("template", ["vicuna_v1", "vicuna_v1_nosystem", "lrm_pretrain"])
def test_eos_in_an_answer_is_text_not_the_eos_id(tok, template):
    tc = tokenize_conversation(_conv("Say <s> the end.", "It ends with </s> here."), tok, template)
    eos, bos = tok.eos_token_id, tok.bos_token_id
    assert tc.input_ids.count(eos) == 1 and tc.input_ids[-1] == eos  # only the template's end token
    assert tc.input_ids.count(bos) == 1 and tc.input_ids[0] == bos  # only the BOS the tokenizer adds
    trained = [i for i, lab in zip(tc.input_ids, tc.labels) if lab != IGNORE_INDEX]
    assert trained.count(eos) == 1 and trained[-1] == eos
    assert _label_text(tok, tc) == " It ends with </s> here.</s>"  # the data's "</s>" is trained as text
    assert "</s>" in tok.decode(tc.input_ids[:-1], skip_special_tokens=True)


def test_answer_that_is_only_an_end_token_string(tok):
    tc = tokenize_conversation(_conv("Say the end.", "</s>") + _conv("Again?", "<s></s><pad>"), tok, "vicuna_v1")
    assert tc.input_ids.count(tok.eos_token_id) == 2  # one per round: the template's
    assert tc.input_ids.count(tok.bos_token_id) == 1 and tok.pad_token_id not in tc.input_ids
    assert _label_text(tok, tc) == " </s></s> <s></s><pad></s>"


def test_tokenizer_template_keeps_its_own_markers_special(tok):
    tok = __import__("copy").deepcopy(tok)
    tok.chat_template = ("{% for m in messages %}<s>{{ m['role'] }}: {{ m['content'] }}</s>{% endfor %}"
                         "{% if add_generation_prompt %}<s>assistant:{% endif %}")
    tc = tokenize_conversation(_conv("Is <s> a tag?", "Yes, </s> too."), tok, "tokenizer")
    assert tc.text == "<s>user: Is <s> a tag?</s><s>assistant: Yes, </s> too.</s>"
    # the template's two <s> and two </s> stay special; the data's two strings do not
    assert tc.input_ids.count(tok.bos_token_id) == 2 and tc.input_ids.count(tok.eos_token_id) == 2
    assert _label_text(tok, tc) == " Yes, </s> too.</s>"


def test_image_placeholder_stays_one_special_token(tok):
    tok = __import__("copy").deepcopy(tok)
    tok.add_special_tokens({"additional_special_tokens": ["<image>"]})
    image_id = tok.convert_tokens_to_ids("<image>")
    tc = tokenize_conversation(_conv("<image>\nWhat is </s>?", "A tag."), tok, "vicuna_v1", image_token_id=image_id,
                               num_image_tokens=3)
    assert tc.input_ids.count(image_id) == 3 and tc.input_ids.count(tok.eos_token_id) == 1


@pytest.mark.parametrize("template", ["vicuna_v1", "vicuna_v1_nosystem", "plain"])
def test_data_without_special_strings_keeps_the_tokenizers_ids(tok, template):
    conv = _conv("<image>\nWhat colour is the ball?", "It is red.")
    tc = tokenize_conversation(conv, tok, template)
    assert tc.input_ids == tok(tc.text)["input_ids"]  # exactly one plain tokenizer call, as before
