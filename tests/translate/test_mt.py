"""NLLB / M2M100 / Marian plumbing with tiny randomly initialised models and tokenizers built here."""

from __future__ import annotations

import pytest
import torch
from mt_models import tiny_nllb as _tiny_nllb

from lrm_llava.errors import TranslationError
from lrm_llava.translate import make_translator, translate_texts
from lrm_llava.translate.mt import lang_token_id, length_sorted_batches

transformers = pytest.importorskip("transformers")

def test_length_sorted_batches():
    assert length_sorted_batches([3, 9, 1, 7, 5], 2) == [[1, 3], [4, 0], [2]]


def test_nllb_codes_forced_bos_and_order(tmp_path):
    tok = _tiny_nllb(tmp_path)
    tr = make_translator("nllb", path=tmp_path, batch_size=2, max_new_tokens=4, ratio_bounds=None)
    de = tok.convert_tokens_to_ids("deu_Latn")
    zh = tok.convert_tokens_to_ids("zho_Hans")
    assert lang_token_id(tr.tokenizer, "nllb", "zh") == zh != tok.convert_tokens_to_ids("zho_Hant")
    texts = ["hello world.", "the cat is red. the cat is red.", "cat"]
    ids = tr.generate_ids(texts, "en", "de")
    assert [row[:2] for row in ids] == [[2, de]] * 3  # decoder start, then the forced language token
    assert tr.generate_ids(texts, "en", "zh")[0][1] == zh
    # Length-sorted batching must not change which output belongs to which input.
    assert tr.translate(texts, "en", "de") == list(reversed(tr.translate(list(reversed(texts)), "en", "de")))
    # The source language token is prefixed by the tokenizer.
    assert tr.tokenizer("hello")["input_ids"][0] == tok.convert_tokens_to_ids("eng_Latn")


def test_nllb_sentence_splitting_through_translate_texts(tmp_path):
    _tiny_nllb(tmp_path)
    tr = make_translator("nllb", path=tmp_path, max_new_tokens=3, ratio_bounds=None)
    seen: list[str] = []
    inner = tr.translate
    tr.translate = lambda texts, src, tgt: seen.extend(texts) or inner(texts, src, tgt)
    long = "the cat is red. " * 6 + "hello world 7."
    out = translate_texts([long.strip()], "en", "de", tr, max_chars=40)
    # Sentences grouped up to 40 characters, each distinct group sent once; the random model's
    # output loses the sentinel / comes back empty, so each is retried once and the text stays English.
    assert seen == ["hello world [0].", "the cat is red. the cat is red."] * 2
    assert out == [long.strip()] and out.kept_english == [0]
    assert all(len(s) <= 40 for s in seen)


def test_m2m100_and_marian_plumbing(tmp_path):
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import (
        M2M100Config,
        M2M100ForConditionalGeneration,
        MarianConfig,
        MarianMTModel,
        PreTrainedTokenizerFast,
    )

    specials = ["<s>", "<pad>", "</s>", "<unk>", "__en__", "__de__", "__zh__", ">>de<<", ">>it<<"]
    vocab = {w: i for i, w in enumerate(specials + ["hello", "world", "cat", "red", "."])}
    core = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.Whitespace()
    tok = PreTrainedTokenizerFast(tokenizer_object=core, bos_token="<s>", eos_token="</s>", pad_token="<pad>",
                                  unk_token="<unk>", additional_special_tokens=specials[4:])
    small = dict(d_model=16, encoder_layers=1, decoder_layers=1, encoder_attention_heads=2,
                 decoder_attention_heads=2, encoder_ffn_dim=32, decoder_ffn_dim=32,
                 max_position_embeddings=64, pad_token_id=1, eos_token_id=2, decoder_start_token_id=2)
    torch.manual_seed(0)
    m2m = tmp_path / "m2m"
    M2M100ForConditionalGeneration(M2M100Config(vocab_size=len(vocab), **small)).save_pretrained(m2m)
    tok.save_pretrained(m2m)
    tr = make_translator("m2m100", path=m2m, max_new_tokens=3, ratio_bounds=None)
    assert [row[1] for row in tr.generate_ids(["hello world", "cat"], "en", "de")] == [vocab["__de__"]] * 2
    with pytest.raises(TranslationError, match="no language token '__it__'"):
        tr.generate_ids(["cat"], "en", "it")

    marian = tmp_path / "marian"
    MarianMTModel(MarianConfig(vocab_size=len(vocab), **small)).save_pretrained(marian)
    tok.save_pretrained(marian)
    tr = make_translator("marian", path=marian, max_new_tokens=3, ratio_bounds=None)
    seen = []
    inner = tr.generate_ids
    tr.generate_ids = lambda texts, src, tgt: seen.extend(texts) or inner(texts, src, tgt)
    assert len(tr.translate(["hello world"], "en", "de")) == 1
    assert seen == [">>de<< hello world"]  # multi-target vocabulary: the target prefix is added
    with pytest.raises(TranslationError, match="no marian model covers Croatian"):
        tr.translate(["cat"], "en", "hr")
