"""`lrm-llava train`: run stage "pretrain" or "finetune" from a recipe.

    lrm-llava train --recipe tiny --stage pretrain --data a.json --image-root img --output-dir runs/s1
    lrm-llava train --recipe tiny --stage finetune --data b.json --image-root img \\
        --projector runs/s1 --output-dir runs/s2 --set max_steps=10 --set learning_rate=1e-4
    lrm-llava train --recipe tiny --stage pretrain ... --resume         # continue from the last checkpoint
    lrm-llava train --list-recipes
    lrm-llava train --list-keys                                        # every key --set / a recipe takes
    lrm-llava train --recipe paper-vicuna13b --stage pretrain --print-config

Flags override recipe keys; `--set key=value` sets any TrainConfig / TrainingArguments key
(`--list-keys` prints them all with type, default and help).
Multi-GPU: `accelerate launch --config_file <config> -m lrm_llava.cli train ...` or
`torchrun --nproc_per_node 8 -m lrm_llava.cli train ...` (docs/training.md).
"""

from __future__ import annotations

import argparse

import yaml

from lrm_llava.chat.templates import STAGE_NAMES


def register(subparsers) -> None:
    p = subparsers.add_parser("train", help="train a stage (pretrain / finetune) from a recipe",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--recipe", default="tiny", help="recipe name (shipped) or YAML path (default: tiny)")
    p.add_argument("--stage", choices=STAGE_NAMES, help="training stage")
    p.add_argument("--data", nargs="+", metavar="FILE", help="LLaVA JSON/JSONL files")
    p.add_argument("--image-root", help="folder the image paths are relative to")
    p.add_argument("--output-dir", help="where checkpoints and the final model folder go")
    p.add_argument("--projector", help="stage-1 output folder (or projector.safetensors) for stage 2")
    p.add_argument("--vision-path", help="local CLIP/SigLIP folder")
    p.add_argument("--llm-path", help="local causal-LM folder")
    p.add_argument("--init-from", help="start from a complete Llava folder")
    p.add_argument("--template", help="chat template (vicuna_v1, vicuna_v1_nosystem, lrm_pretrain, plain, tokenizer)")
    p.add_argument("--set", dest="sets", action="append", metavar="KEY=VALUE", default=[],
                   help="set any config key (repeatable), e.g. --set max_steps=10; --list-keys lists them")
    p.add_argument("--resume", action="store_true", help="resume from the latest checkpoint in --output-dir")
    p.add_argument("--print-config", action="store_true", help="print the resolved config and exit")
    p.add_argument("--list-recipes", action="store_true", help="list the shipped recipes and exit")
    p.add_argument("--list-keys", action="store_true",
                   help="list every key a recipe or --set takes (type, default, help) and exit")
    p.set_defaults(func=_main)


def _overrides(args) -> dict:
    from lrm_llava.options import parse_set

    values = parse_set(args.sets)
    named = {"data": args.data, "image_root": args.image_root, "output_dir": args.output_dir,
             "projector": args.projector, "vision_path": args.vision_path, "llm_path": args.llm_path,
             "init_from": args.init_from, "template": args.template}
    values.update({k: v for k, v in named.items() if v is not None})
    if args.resume:
        values["resume"] = True
    return values


def _main(args) -> int:
    from lrm_llava.errors import UserError
    from lrm_llava.train.recipes import list_recipes, load_recipe, read_recipe, resolve_recipe

    if args.list_recipes:
        for name in list_recipes():
            print(f"{name:20s} {read_recipe(name).get('description', '')}")
        return 0
    if args.list_keys:
        from lrm_llava.train.config import format_key_table

        print(format_key_table(), end="")
        return 0
    if not args.stage:
        raise UserError("pass --stage pretrain or --stage finetune")
    if args.print_config:
        print(yaml.safe_dump(resolve_recipe(args.recipe, args.stage, _overrides(args)), sort_keys=True))
        return 0
    from lrm_llava.train.trainer import run_training

    folder = run_training(load_recipe(args.recipe, args.stage, _overrides(args)))
    print(f"model folder: {folder}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """`python -m lrm_llava.train.cli ...`: the `train` subcommand on its own (same flags)."""
    import sys

    from lrm_llava.errors import UserError

    parser = argparse.ArgumentParser(prog="lrm-llava")
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["train", *(sys.argv[1:] if argv is None else argv)])
    try:
        return int(args.func(args) or 0)
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
