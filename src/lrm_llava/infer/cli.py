"""The `chat` subcommand: answer one question (about one image) with a saved model.

    lrm-llava chat --model runs/shapeworld/finetune --image scene.png "Welche Farbe hat der Kreis?"
    lrm-llava chat --model runs/shapeworld/finetune "Text-only question"
"""

from __future__ import annotations

import argparse

from lrm_llava.options import add_model_flags

CHAT_MAX_NEW_TOKENS = 128
"""Longest answer `chat` generates unless --max-new-tokens says otherwise."""


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "chat",
        help="answer one question about one image",
        description="Answer one question (in any language) about one image with a saved model folder.",
    )
    parser.add_argument("question", help="the question, in any language (without <image>)")
    parser.add_argument("--model", required=True, help="model folder (Hugging Face Llava format)")
    parser.add_argument("--image", default=None, help="image file; omit for a text-only question")
    add_model_flags(parser, batch_size=None, max_new_tokens=CHAT_MAX_NEW_TOKENS)
    parser.set_defaults(func=run_chat)


def run_chat(args: argparse.Namespace) -> int:
    """Load the model, answer, print the answer."""
    from lrm_llava.infer.generate import answer, check_generation, load_model, trained_template

    check_generation(max_new_tokens=args.max_new_tokens)
    template = trained_template(args.model, args.template)
    model, processor = load_model(args.model, device=args.device, dtype=args.dtype)
    print(answer(model, processor, args.image, args.question, template=template, max_new_tokens=args.max_new_tokens))
    return 0
