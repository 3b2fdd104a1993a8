"""Byte-level BPE tokenizers trained in-process, for tests, tiny models and the ShapeWorld LM.

A byte-level BPE never meets an unknown character, so Chinese, Cyrillic and Latin diacritics all
round-trip exactly. The tokenizer is wrapped as a `PreTrainedTokenizerFast` with `<unk>`, `<s>`,
`</s>` and `<pad>` as unk/bos/eos/pad, prepends `<s>` like LLaMA tokenizers, and reports character
offsets (needed by `lrm_llava.chat` to compute label masks from token spans):

    >>> from lrm_llava.model import train_bpe_tokenizer
    >>> tok = train_bpe_tokenizer(["Hello world", "Привет мир", "你好世界"], vocab_size=300)
    >>> tok.decode(tok("Привет").input_ids, skip_special_tokens=True)
    'Привет'
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from functools import lru_cache

from transformers import PreTrainedTokenizerFast

from lrm_llava.errors import UserError

SPECIAL_TOKENS = ("<unk>", "<s>", "</s>", "<pad>")
"""Special tokens, in id order 0..3: unk, bos, eos, pad."""


def train_bpe_tokenizer(
    texts: Iterable[str], vocab_size: int = 2000, *, model_max_length: int = 2048
) -> PreTrainedTokenizerFast:
    """Train a byte-level BPE tokenizer on `texts` and wrap it for `transformers`.

    The result prepends `<s>` (as LLaMA does) and keeps untrimmed character offsets, so
    `return_offsets_mapping=True` works. Training is deterministic for a given input.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

    texts = [t for t in texts if t]
    if not texts:
        raise UserError("train_bpe_tokenizer: no training text given; pass at least one non-empty string")
    if vocab_size < 256 + len(SPECIAL_TOKENS):
        raise UserError(f"train_bpe_tokenizer: vocab_size={vocab_size} is below the 256 byte symbols + 4 specials")
    tokenizer = Tokenizer(models.BPE(unk_token=None))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(texts, trainer)
    bos_id = tokenizer.token_to_id("<s>")
    # TemplateProcessing alone (no ByteLevel offset trimming): offsets then cover a token's own
    # characters including a leading space, and `lrm_llava.chat` trims whitespace itself, the same
    # way for every tokenizer family.
    tokenizer.post_processor = processors.TemplateProcessing(
        single="<s> $A", pair="<s> $A <s> $B", special_tokens=[("<s>", bos_id)]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        unk_token="<unk>",
        bos_token="<s>",
        eos_token="</s>",
        pad_token="<pad>",
        model_max_length=model_max_length,
        padding_side="right",
    )


def default_corpus() -> list[str]:
    """A short built-in multilingual corpus: every phrase of the language registry (all ten
    languages), the chat-template words, and a few English sentences about images."""
    from dataclasses import fields

    from lrm_llava.chat.templates import VICUNA_SYSTEM
    from lrm_llava.languages import LANGUAGES

    texts: list[str] = [
        VICUNA_SYSTEM,
        "USER: ASSISTANT:",
        "A red circle is to the left of a blue square.",
        "There are two green triangles and one yellow star in the image.",
        "What colour is the large shape? Red. How many shapes are there? Three.",
        "0 1 2 3 4 5 6 7 8 9 A B C D yes no",
    ]
    for lang in LANGUAGES.values():
        for f in fields(lang):
            value = getattr(lang, f.name)
            if isinstance(value, str):
                texts.append(value)
            elif isinstance(value, tuple):
                texts.extend(v for v in value if isinstance(v, str))
    return texts


@lru_cache(maxsize=4)
def _default_tokenizer(vocab_size: int) -> PreTrainedTokenizerFast:
    return train_bpe_tokenizer(default_corpus(), vocab_size=vocab_size)


def default_tokenizer(vocab_size: int = 1000) -> PreTrainedTokenizerFast:
    """A fresh copy of the small BPE tokenizer trained on `default_corpus()` (cached: training
    once per process keeps the test suite fast; the copy keeps callers from sharing state)."""
    return copy.deepcopy(_default_tokenizer(vocab_size))
