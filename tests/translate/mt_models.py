"""Tiny MT models built in the tests (random weights, tokenizers made here): no download."""

from __future__ import annotations

import torch

WORDS = ["▁hello", "▁world", "▁the", "▁cat", ".", "▁is", "▁red", "[", "]", "▁"] + list("abcdefghijklmnopqrstuvwxyz0123456789")


def tiny_nllb(folder):
    """Save a random NLLB-shaped model (M2M100, d_model 16) and its tokenizer under `folder`."""
    from transformers import M2M100Config, M2M100ForConditionalGeneration, NllbTokenizer

    vocab = {w: i for i, w in enumerate(["<s>", "<pad>", "</s>", "<unk>"] + WORDS)}
    tok = NllbTokenizer(vocab=vocab, merges=[], src_lang="eng_Latn")
    torch.manual_seed(0)
    cfg = M2M100Config(vocab_size=len(tok), d_model=16, encoder_layers=1, decoder_layers=1,
                       encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=32,
                       decoder_ffn_dim=32, max_position_embeddings=128, pad_token_id=1, bos_token_id=0,
                       eos_token_id=2, decoder_start_token_id=2)
    M2M100ForConditionalGeneration(cfg).save_pretrained(folder)
    tok.save_pretrained(folder)
    return tok
