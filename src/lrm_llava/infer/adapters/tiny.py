"""Tiny random checkpoints of six vision-language families, built offline from configs, for the
tests and benchmarks of the `hf` adapter.

    >>> from lrm_llava.infer.adapters.tiny import TINY_FAMILIES, build_tiny_family
    >>> build_tiny_family("gemma3", "runs/tiny-gemma3")      # a folder AutoProcessor + AutoModel load

Each folder holds a random model (hidden size 32, two layers, 32 px images) and a processor whose
tokenizer is trained here (byte-level BPE, a few hundred tokens) with the family's special tokens
and, where the family has one, a chat template of the family's structure, all written with
`save_pretrained`. Only the Pillow image processors are used: no torchvision needed. The answers
are noise; what they test is that each family is prompted, batched and decoded the way it should be.

| family | classes | prompt |
|---|---|---|
| `llava` | `LlavaForConditionalGeneration` + `LlavaProcessor` | llava-hf's "USER: <image>\\n... ASSISTANT:" template |
| `llava_next` | `LlavaNextForConditionalGeneration` + `LlavaNextProcessor` (anyres tiles) | Mistral's "[INST] <image>\\n... [/INST]" |
| `instructblip` | `InstructBlipForConditionalGeneration` + `InstructBlipProcessor` (Q-Former tokenizer) | none: the question |
| `paligemma` | `PaliGemmaForConditionalGeneration` + `PaliGemmaProcessor` | none: "answer {lang} ..." prefix |
| `gemma3` | `Gemma3ForConditionalGeneration` + `Gemma3Processor` | Gemma's turns, starting with `<bos>` |
| `idefics3` | `Idefics3ForConditionalGeneration` + `Idefics3Processor` | "User:<image>...<end_of_utterance>\\nAssistant:", starting with BOS |
"""

from __future__ import annotations

from pathlib import Path

_CORPUS = (
    "Is there a red square in this image? Please answer yes or no. Yes No yes no",
    "Answer with the option's letter from the given choices directly. A. B. C. D.",
    "Answer the question using a single word or phrase. What color is the square?",
    "Gibt es ein rotes Quadrat? Ja Nein. Beantworten Sie die Frage mit einem einzigen Wort.",
    "图片里有红色的方块吗？是 不是 请用一个单词或短语回答问题。",
    "USER: ASSISTANT: User: Assistant: user model [INST] [/INST] answer en de zh",
)

LLAVA_TEMPLATE = (
    "{% for message in messages %}{% if message['role'] != 'system' %}{{ message['role'].upper() + ': ' }}{% endif %}"
    "{% for content in message['content'] | selectattr('type', 'equalto', 'image') %}{{ '<image>\n' }}{% endfor %}"
    "{% for content in message['content'] | selectattr('type', 'equalto', 'text') %}{{ content['text'] + ' ' }}"
    "{% endfor %}{% endfor %}{% if add_generation_prompt %}{{ 'ASSISTANT:' }}{% endif %}"
)
"""llava-hf/llava-1.5's chat template (USER/ASSISTANT, images first)."""

MISTRAL_TEMPLATE = (
    "{% for message in messages %}{% if message['role'] == 'user' %}{{ '[INST] ' }}"
    "{% for c in message['content'] %}{% if c['type'] == 'image' %}{{ '<image>\n' }}{% endif %}{% endfor %}"
    "{% for c in message['content'] %}{% if c['type'] == 'text' %}{{ c['text'] }}{% endif %}{% endfor %}"
    "{{ ' [/INST]' }}{% else %}{% for c in message['content'] %}{{ ' ' + c['text'] + eos_token }}{% endfor %}"
    "{% endif %}{% endfor %}"
)
"""llava-hf/llava-v1.6-mistral's structure."""

GEMMA3_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}<start_of_turn>"
    "{{ 'model' if message['role'] == 'assistant' else message['role'] }}\n"
    "{% for c in message['content'] %}{% if c['type'] == 'image' %}{{ '<start_of_image>' }}"
    "{% elif c['type'] == 'text' %}{{ c['text'] | trim }}{% endif %}{% endfor %}<end_of_turn>\n{% endfor %}"
    "{% if add_generation_prompt %}{{ '<start_of_turn>model\n' }}{% endif %}"
)
"""Gemma 3's structure: the template writes `<bos>` itself."""

IDEFICS3_TEMPLATE = (
    "<|begin_of_text|>{% for message in messages %}{{ message['role'] | capitalize }}"
    "{% if message['content'][0]['type'] == 'image' %}{{ ':' }}{% else %}{{ ': ' }}{% endif %}"
    "{% for line in message['content'] %}{% if line['type'] == 'text' %}{{ line['text'] }}"
    "{% elif line['type'] == 'image' %}{{ '<image>' }}{% endif %}{% endfor %}<end_of_utterance>\n{% endfor %}"
    "{% if add_generation_prompt %}{{ 'Assistant:' }}{% endif %}"
)
"""Idefics3-8B-Llama3's structure: the template writes the BOS `<|begin_of_text|>` itself."""


def tiny_tokenizer(specials: list[str], bos: str, eos: str, pad: str, *, vocab_size: int = 320, **named):
    """A byte-level BPE trained on a short multilingual corpus, with `specials` first (ids 0...),
    adding `bos` before every text; `named` are model-specific special tokens (image_token=...)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=list(specials), show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(list(_CORPUS), trainer)
    tok.post_processor = processors.TemplateProcessing(single=f"{bos} $A", pair=f"{bos} $A {bos} $B",
                                                       special_tokens=[(bos, tok.token_to_id(bos))])
    return PreTrainedTokenizerFast(tokenizer_object=tok, bos_token=bos, eos_token=eos, pad_token=pad,
                                   padding_side="right", **named)


def _ids(tok) -> dict:
    return {"pad_token_id": tok.pad_token_id, "bos_token_id": tok.bos_token_id, "eos_token_id": tok.eos_token_id}


def _llama(tok, **kw):
    from transformers import LlamaConfig

    return LlamaConfig(vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                       num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512,
                       tie_word_embeddings=False, **_ids(tok), **kw)


def _clip_vision():
    from transformers import CLIPVisionConfig

    return CLIPVisionConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
                            image_size=32, patch_size=8, projection_dim=32)


def _siglip_vision():
    from transformers import SiglipVisionConfig

    return SiglipVisionConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
                              image_size=32, patch_size=8)


def _llava():
    from transformers import CLIPImageProcessorPil, LlavaConfig, LlavaForConditionalGeneration, LlavaProcessor

    tok = tiny_tokenizer(["<unk>", "<s>", "</s>", "<pad>", "<image>"], "<s>", "</s>", "<pad>", unk_token="<unk>")
    images = CLIPImageProcessorPil(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    processor = LlavaProcessor(image_processor=images, tokenizer=tok, patch_size=8, num_additional_image_tokens=1,
                               vision_feature_select_strategy="default", chat_template=LLAVA_TEMPLATE)
    config = LlavaConfig(vision_config=_clip_vision(), text_config=_llama(tok), vision_feature_layer=-2,
                         image_token_index=tok.convert_tokens_to_ids("<image>"),
                         vision_feature_select_strategy="default")
    return LlavaForConditionalGeneration, config, processor


def _llava_next():
    from transformers import (
        LlavaNextConfig,
        LlavaNextForConditionalGeneration,
        LlavaNextImageProcessorPil,
        LlavaNextProcessor,
    )

    tok = tiny_tokenizer(["<unk>", "<s>", "</s>", "<pad>", "<image>"], "<s>", "</s>", "<pad>", unk_token="<unk>")
    pinpoints = [[32, 32], [32, 64], [64, 32]]
    images = LlavaNextImageProcessorPil(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32},
                                        image_grid_pinpoints=pinpoints)
    processor = LlavaNextProcessor(image_processor=images, tokenizer=tok, patch_size=8, num_additional_image_tokens=1,
                                   vision_feature_select_strategy="default", chat_template=MISTRAL_TEMPLATE)
    config = LlavaNextConfig(vision_config=_clip_vision(), text_config=_llama(tok), image_grid_pinpoints=pinpoints,
                             image_token_index=tok.convert_tokens_to_ids("<image>"), vision_feature_layer=-2,
                             vision_feature_select_strategy="default")
    return LlavaNextForConditionalGeneration, config, processor


def _instructblip():
    from transformers import (
        BlipImageProcessorPil,
        InstructBlipConfig,
        InstructBlipForConditionalGeneration,
        InstructBlipProcessor,
        InstructBlipQFormerConfig,
        InstructBlipVisionConfig,
    )

    tok = tiny_tokenizer(["<unk>", "<s>", "</s>", "<pad>", "<image>"], "<s>", "</s>", "<pad>", unk_token="<unk>")
    qformer_tok = tiny_tokenizer(["[PAD]", "[UNK]", "[CLS]", "[SEP]"], "[CLS]", "[SEP]", "[PAD]", vocab_size=300)
    processor = InstructBlipProcessor(image_processor=BlipImageProcessorPil(size={"height": 32, "width": 32}),
                                      tokenizer=tok, qformer_tokenizer=qformer_tok, num_query_tokens=4)
    config = InstructBlipConfig(
        vision_config=InstructBlipVisionConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                               num_attention_heads=4, image_size=32, patch_size=8),
        qformer_config=InstructBlipQFormerConfig(vocab_size=len(qformer_tok), hidden_size=32, num_hidden_layers=2,
                                                 num_attention_heads=4, intermediate_size=64,
                                                 pad_token_id=qformer_tok.pad_token_id),
        text_config=_llama(tok).to_dict(), num_query_tokens=4, image_token_index=tok.convert_tokens_to_ids("<image>"))
    return InstructBlipForConditionalGeneration, config, processor


def _paligemma():
    from transformers import (
        GemmaConfig,
        PaliGemmaConfig,
        PaliGemmaForConditionalGeneration,
        PaliGemmaProcessor,
        SiglipImageProcessorPil,
    )

    tok = tiny_tokenizer(["<pad>", "<eos>", "<bos>", "<unk>", "<image>"], "<bos>", "<eos>", "<pad>",
                         unk_token="<unk>", image_token="<image>")
    images = SiglipImageProcessorPil(size={"height": 32, "width": 32})
    images.image_seq_length = 16  # (32 / 8) ** 2 patches
    processor = PaliGemmaProcessor(image_processor=images, tokenizer=tok)  # adds the <loc>/<seg> tokens
    text = GemmaConfig(vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                       num_attention_heads=4, num_key_value_heads=1, head_dim=8, tie_word_embeddings=False, **_ids(tok))
    vision = _siglip_vision()
    vision.projection_dim = 32
    config = PaliGemmaConfig(vision_config=vision, text_config=text, projection_dim=32, hidden_size=32,
                             image_token_index=tok.convert_tokens_to_ids("<image>"), tie_word_embeddings=False)
    return PaliGemmaForConditionalGeneration, config, processor


def _gemma3():
    from transformers import (
        Gemma3Config,
        Gemma3ForConditionalGeneration,
        Gemma3ImageProcessorPil,
        Gemma3Processor,
        Gemma3TextConfig,
    )

    specials = ["<pad>", "<eos>", "<bos>", "<unk>", "<start_of_turn>", "<end_of_turn>", "<start_of_image>",
                "<end_of_image>", "<image_soft_token>"]
    tok = tiny_tokenizer(specials, "<bos>", "<eos>", "<pad>", unk_token="<unk>", image_token="<image_soft_token>",
                         boi_token="<start_of_image>", eoi_token="<end_of_image>")
    processor = Gemma3Processor(image_processor=Gemma3ImageProcessorPil(size={"height": 32, "width": 32}),
                                tokenizer=tok, chat_template=GEMMA3_TEMPLATE, image_seq_length=4)
    text = Gemma3TextConfig(vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                            num_attention_heads=4, num_key_value_heads=1, head_dim=8, sliding_window=16,
                            max_position_embeddings=512, tie_word_embeddings=False, **_ids(tok))
    config = Gemma3Config(text_config=text, vision_config=_siglip_vision(), mm_tokens_per_image=4,
                          boi_token_index=tok.convert_tokens_to_ids("<start_of_image>"),
                          eoi_token_index=tok.convert_tokens_to_ids("<end_of_image>"),
                          image_token_index=tok.convert_tokens_to_ids("<image_soft_token>"), tie_word_embeddings=False)
    return Gemma3ForConditionalGeneration, config, processor


def _idefics3():
    from transformers import (
        Idefics3Config,
        Idefics3ForConditionalGeneration,
        Idefics3ImageProcessorPil,
        Idefics3Processor,
        Idefics3VisionConfig,
    )

    specials = ["<unk>", "<|begin_of_text|>", "<end_of_utterance>", "<pad>", "<fake_token_around_image>",
                "<image>", "<global-img>"] + [f"<row_{i}_col_{j}>" for i in range(1, 7) for j in range(1, 7)]
    tok = tiny_tokenizer(specials, "<|begin_of_text|>", "<end_of_utterance>", "<pad>", vocab_size=400,
                         unk_token="<unk>")
    images = Idefics3ImageProcessorPil(do_image_splitting=False, size={"longest_edge": 32},
                                       max_image_size={"longest_edge": 32})
    processor = Idefics3Processor(image_processor=images, tokenizer=tok, image_seq_len=4,
                                  chat_template=IDEFICS3_TEMPLATE)
    config = Idefics3Config(
        vision_config=Idefics3VisionConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                           num_attention_heads=4, image_size=32, patch_size=8),
        text_config=_llama(tok), scale_factor=2, image_token_id=tok.convert_tokens_to_ids("<image>"),
        pad_token_id=tok.pad_token_id, tie_word_embeddings=False)
    return Idefics3ForConditionalGeneration, config, processor


_FAMILIES = {"llava": _llava, "llava_next": _llava_next, "instructblip": _instructblip, "paligemma": _paligemma,
             "gemma3": _gemma3, "idefics3": _idefics3}

TINY_FAMILIES = tuple(_FAMILIES)
"""Families `build_tiny_family` builds (each a `model_type` of transformers)."""


def build_tiny_family(family: str, folder: str | Path, *, seed: int = 0) -> Path:
    """Write a tiny random `family` checkpoint (model + processor) to `folder`; returns the folder."""
    import torch

    if family not in _FAMILIES:
        raise ValueError(f"unknown family {family!r}; choose from {', '.join(TINY_FAMILIES)}")
    cls, config, processor = _FAMILIES[family]()
    torch.manual_seed(seed)
    model = cls(config).eval()
    folder = Path(folder)
    model.save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder
