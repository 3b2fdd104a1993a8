"""Conversation templates and label masks: `tokenize_conversation`, `build_generation_prompt`.

See `lrm_llava.chat.templates` for the templates (vicuna_v1, vicuna_v1_nosystem, lrm_pretrain, plain, tokenizer) and
how labels are computed from token character spans.
"""

from lrm_llava.chat.templates import (
    IGNORE_INDEX,
    IMAGE_TOKEN,
    STAGE_NAMES,
    TEMPLATES,
    VICUNA_SYSTEM,
    TokenizedConversation,
    build_generation_prompt,
    check_template,
    normalize_conversation,
    render_conversation,
    template_adds_special_tokens,
    tokenize_conversation,
)

__all__ = [
    "IGNORE_INDEX",
    "IMAGE_TOKEN",
    "STAGE_NAMES",
    "TEMPLATES",
    "VICUNA_SYSTEM",
    "TokenizedConversation",
    "build_generation_prompt",
    "check_template",
    "normalize_conversation",
    "render_conversation",
    "template_adds_special_tokens",
    "tokenize_conversation",
]
