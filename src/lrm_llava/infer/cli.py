"""The `chat` subcommand: answer one question (about one image) with a saved model.

    lrm-llava chat --model runs/shapeworld/finetune --image scene.png "Welche Farbe hat der Kreis?"
    lrm-llava chat --model runs/shapeworld/finetune "Text-only question"
"""

from __future__ import annotations

import argparse

from lrm_llava.chat.templates import TEMPLATES


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "chat",
        help="answer one question about one image",
        description="Answer one question (in any language) about one image with a saved model folder.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("question", help="the question, in any language (without <image>)")
    parser.add_argument("--model", required=True, help="model folder (Hugging Face Llava format)")
    parser.add_argument("--image", default=None, help="image file; omit for a text-only question")
    parser.add_argument("--max-new-tokens", type=int, default=128, help="most tokens to generate")
    parser.add_argument("--template", default=None, choices=sorted(TEMPLATES),
                        help="prompt template (default: the one the model was trained with, from its "
                        "recipe.yaml; else vicuna_v1)")
    parser.add_argument("--device", default=None, help="cpu, cuda, cuda:1 ... (default: cuda if available)")
    parser.set_defaults(func=run_chat)


def run_chat(args: argparse.Namespace) -> int:
    """Load the model, answer, print the answer."""
    from lrm_llava.infer.generate import answer, load_model, trained_template

    model, processor = load_model(args.model, device=args.device)
    print(
        answer(
            model,
            processor,
            args.image,
            args.question,
            template=args.template or trained_template(args.model),
            max_new_tokens=args.max_new_tokens,
        )
    )
    return 0
