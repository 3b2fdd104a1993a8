"""The `ct2` backend: a tiny random Marian model converted with CTranslate2 must translate exactly
like the same model through the `transformers` backend (greedy, same length limit)."""

from __future__ import annotations

import pytest
import torch

from lrm_llava.translate import make_translator, translate_texts

ctranslate2 = pytest.importorskip("ctranslate2")

TEXTS = ["the red circle is left", "a blue star", "the red circle is left", "two green hearts are on top"]


def _tiny_marian(folder):
    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from transformers import MarianConfig, MarianMTModel, PreTrainedTokenizerFast

    pre = pre_tokenizers.Whitespace()
    vocab = {"<unk>": 0, "</s>": 1}
    for text in TEXTS:
        for word, _ in pre.pre_tokenize_str(text):
            vocab.setdefault(word, len(vocab))
    vocab["<pad>"] = len(vocab)  # last, as in OPUS-MT (the converter expects it there)
    core = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    core.pre_tokenizer = pre
    core.post_processor = processors.TemplateProcessing(single="$A </s>", special_tokens=[("</s>", 1)])
    tok = PreTrainedTokenizerFast(tokenizer_object=core, unk_token="<unk>", eos_token="</s>", pad_token="<pad>")
    config = MarianConfig(vocab_size=len(vocab), d_model=16, encoder_layers=1, decoder_layers=1,
                          encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=32,
                          decoder_ffn_dim=32, max_position_embeddings=64, pad_token_id=tok.pad_token_id,
                          eos_token_id=tok.eos_token_id, decoder_start_token_id=tok.pad_token_id,
                          forced_eos_token_id=None)
    torch.manual_seed(0)
    model = MarianMTModel(config).eval()
    with torch.no_grad():  # a random model may stop at once; forbid specials so outputs are words
        for token_id in (0, 1, vocab["<pad>"]):
            model.final_logits_bias[0, token_id] = -1e4
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


def test_ct2_matches_transformers_and_goes_through_the_pipeline(tmp_path):
    from ctranslate2.converters import TransformersConverter

    hf_dir = _tiny_marian(tmp_path / "marian")
    ct2_dir = tmp_path / "marian-ct2"
    TransformersConverter(str(hf_dir)).convert(str(ct2_dir))
    hf = make_translator("marian", path=hf_dir, max_new_tokens=5, ratio_bounds=None)
    ct = make_translator("ct2", path=ct2_dir, tokenizer=hf_dir, family="marian", max_new_tokens=5, threads=1,
                         ratio_bounds=None)
    assert ct.name == "ct2" and not ct.exact
    expected = hf.translate(TEXTS, "en", "de")
    assert ct.translate(TEXTS, "en", "de") == expected
    assert all(1 <= len(out.split()) <= 5 for out in expected)  # the length limit holds

    # through translate_texts: de-duplicated (3 unique strings, one call), order kept
    calls = []
    inner = ct.translate
    ct.translate = lambda texts, src, tgt: calls.append(list(texts)) or inner(texts, src, tgt)
    out = translate_texts(TEXTS, src="en", tgt="de", translator=ct)
    assert list(out) == expected and len(calls) == 1 and len(calls[0]) == 3


def test_ct2_compute_type_is_an_option_and_a_wrong_one_is_a_clear_error(tmp_path):
    """`--option compute_type=int8` reaches CTranslate2 (a quantized model is what makes a CPU
    worth using, docs/performance.md); an unknown type is a UserError that names the choices."""
    from ctranslate2.converters import TransformersConverter

    from lrm_llava.errors import UserError

    hf_dir = _tiny_marian(tmp_path / "marian")
    ct2_dir = tmp_path / "marian-ct2"
    TransformersConverter(str(hf_dir)).convert(str(ct2_dir))
    options = dict(path=ct2_dir, tokenizer=hf_dir, family="marian", max_new_tokens=5, threads=1, ratio_bounds=None)
    quantized = make_translator("ct2", compute_type="int8", **options)
    assert quantized.compute_type == "int8" and quantized.engine.compute_type.startswith("int8")
    assert make_translator("ct2", **options).engine.compute_type == "float32"  # as converted
    assert len(quantized.translate(TEXTS, "en", "de")) == len(TEXTS)
    with pytest.raises(UserError, match=r"compute_type=int4.*this machine supports: .*int8"):
        make_translator("ct2", compute_type="int4", **options)
