"""Image reliance: does a model's answer depend on the image at all? (a "blind test")

A benchmark score near chance cannot tell a model that looks and errs from one that never looks:
a text-only prior (answering "yes" to the frequent kinds) scores the same. This analysis asks the
model each sample's first question twice, with the sample's own image and with another sample's
image, and counts how often the answer changes. A model that ignores its image changes nothing
(0 %); a model that reads it changes many answers and loses accuracy when the image is wrong.

    lrm-llava analyze reliance --model runs/demo/models/english-only/finetune \\
        --model runs/demo/models/lrm-llava/finetune --name english-only --name lrm-llava \\
        --data runs/demo/data/lrm-llava/finetune.json --image-root runs/demo/world --n 300 \\
        --out runs/demo/reliance

Rows (per model and language, plus "all"): `changed` (share of answers that differ between the
two images), `accuracy_own` and `accuracy_swapped` (normalised exact match with the data's first
answer) and `n`. Outputs in `--out`: `reliance.json` / `reliance.csv` (tidy rows) and
`reliance.md`. The swap is a seeded derangement over samples with a different image, so reruns
give the same pairs.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from lrm_llava.analysis.gap import seeded_subsample, text_without_image
from lrm_llava.errors import DataError, UserError
from lrm_llava.languages import ALL_CODES, parse_languages
from lrm_llava.options import DTYPE_NAMES

METRICS = ("changed", "accuracy_own", "accuracy_swapped")
"""The reliance metrics, in the order tables list them."""


@dataclass(frozen=True)
class ReliancePrompt:
    """One sample's first question and the data's answer to it."""

    id: str
    image: str
    lang: str
    question: str
    answer: str


def to_prompt(item: dict, where: str) -> ReliancePrompt | None:
    """The first human/gpt turn pair of an image sample; None for a text-only sample."""
    if not item.get("image"):
        return None
    where = f"{where} (id {item.get('id')})"
    turns = item.get("conversations") or []
    if len(turns) < 2 or not all(isinstance(t, dict) and isinstance(t.get("value"), str) for t in turns[:2]):
        raise DataError(f"{where}: 'conversations' needs a human turn followed by a gpt turn")
    if turns[0].get("from") != "human" or turns[1].get("from") != "gpt":
        raise DataError(f"{where}: the first two turns must be from 'human' then 'gpt'")
    lang = item.get("lang") or "en"
    try:
        code = parse_languages([str(lang)])[0]
    except UserError as err:
        raise DataError(f"{where}: {err}") from None
    question = text_without_image(turns[0]["value"])
    if not question:
        raise DataError(f"{where}: the first human turn holds only <image>; there is no question to ask")
    return ReliancePrompt(str(item.get("id")), str(item["image"]), code, question, turns[1]["value"].strip())


def select_prompts(items: Sequence[dict], languages: Sequence[str] | None, n: int | None, seed: int) -> list[ReliancePrompt]:
    """Image samples in the requested languages; a seeded subsample of `n` (all if None or larger)."""
    wanted = set(languages) if languages else None
    where = getattr(items, "where", lambda i: f"sample #{i}")
    prompts = [p for i, item in enumerate(items) if (p := to_prompt(item, where(i))) is not None
               and (wanted is None or p.lang in wanted)]
    return seeded_subsample(prompts, n, seed)


def swapped_images(images: Sequence[str], seed: int = 0) -> list[str]:
    """For each position, another position's image that differs from its own (a seeded derangement).

    Visits the positions in a seeded random cycle and gives each the image of the next position
    in the cycle whose image differs. Raises when all images are the same (nothing to swap in).
    """
    if len(set(images)) < 2:
        raise UserError("the image-reliance analysis needs samples with at least two different images")
    order = list(range(len(images)))
    random.Random(seed).shuffle(order)
    out = [""] * len(images)
    for k, i in enumerate(order):
        step = 1
        while images[order[(k + step) % len(order)]] == images[i]:
            step += 1
        out[i] = images[order[(k + step) % len(order)]]
    return out


def normalise(text: str) -> str:
    """Lower case, outer punctuation and spaces removed: "Yes." == "yes"."""
    return re.sub(r"^[\W_]+|[\W_]+$", "", text.strip().lower())


def reliance_rows(model: str, prompts: Sequence[ReliancePrompt], own: Sequence[str], swapped: Sequence[str]) -> list[dict]:
    """Tidy rows {model, language, metric, value, n} per language and for "all" (percentages)."""
    if not (len(prompts) == len(own) == len(swapped)):
        raise ValueError("prompts, own and swapped answers must have the same length")
    groups: dict[str, list[int]] = {"all": list(range(len(prompts)))}
    for code in ALL_CODES:  # registry order, so tables read the same for every data file
        groups[code] = [i for i, p in enumerate(prompts) if p.lang == code]
    rows = []
    for lang, idx in groups.items():
        if not idx:
            continue
        ref = [normalise(prompts[i].answer) for i in idx]
        values = {
            "changed": sum(normalise(own[i]) != normalise(swapped[i]) for i in idx),
            "accuracy_own": sum(normalise(own[i]) == r for i, r in zip(idx, ref)),
            "accuracy_swapped": sum(normalise(swapped[i]) == r for i, r in zip(idx, ref)),
        }
        rows += [{"model": model, "language": lang, "metric": m, "value": round(100.0 * values[m] / len(idx), 2),
                  "n": len(idx)} for m in METRICS]
    return rows


def format_table(rows: Sequence[dict]) -> str:
    """Markdown: one line per model and language, the three metrics as columns."""
    table: dict[tuple[str, str], dict] = {}
    for r in rows:
        table.setdefault((r["model"], r["language"]), {"n": r["n"]})[r["metric"]] = r["value"]
    lines = ["| model | language | n | answers changed by a swapped image (%) | accuracy, own image (%) | accuracy, swapped image (%) |",
             "|---|---|---:|---:|---:|---:|"]
    for (model, lang), v in table.items():
        lines.append(f"| {model} | {lang} | {v['n']} | {v['changed']:.1f} | {v['accuracy_own']:.1f} | {v['accuracy_swapped']:.1f} |")
    return "\n".join(lines) + "\n"


@dataclass
class RelianceConfig:
    """What `lrm-llava analyze reliance` runs."""

    models: list[str]
    """Llava model folders."""
    data: str
    """LLaVA JSON/JSONL whose first question/answer of each image sample is asked."""
    image_root: str
    """Folder the samples' image paths are relative to (paths may not leave it)."""
    out: str
    """Output folder."""
    names: list[str] = field(default_factory=list)
    """Display names, one per model (default: the last two parts of each folder's path)."""
    languages: list[str] | None = None
    """Languages to keep (registry codes); None: all."""
    n: int | None = 300
    """Samples to ask (seeded subsample); None: all."""
    seed: int = 0
    """Seed of the subsample and of the image swap."""
    template: str | None = None
    """Conversation template of the models; None: each model's own (its recipe.yaml), else vicuna_v1."""
    batch_size: int = 16
    """Prompts per generation batch."""
    max_new_tokens: int = 16
    """Longest answer generated."""
    device: str | None = None
    """"cpu", "cuda", ...; None: a GPU when there is one."""
    dtype: str | None = None
    """"float32", "bfloat16" or "float16"; None or "auto": bfloat16 on a GPU that supports it, else float32."""


def run_reliance(cfg: RelianceConfig) -> list[dict]:
    """Ask every model each prompt with its own and a swapped image; write and return the rows."""
    from lrm_llava.data.images import resolve_image_path
    from lrm_llava.data.reader import read_samples
    from lrm_llava.infer.generate import generate_batch, load_model, trained_template

    if cfg.names and len(cfg.names) != len(cfg.models):
        raise UserError(f"{len(cfg.names)} --name for {len(cfg.models)} --model; give one name per model or none")
    # "lrm-llava/finetune" says more than "finetune" (training folders end in the stage's name)
    names = cfg.names or ["/".join(Path(m).parts[-2:]) for m in cfg.models]
    prompts = select_prompts(read_samples(cfg.data), cfg.languages, cfg.n, cfg.seed)
    if not prompts:
        raise UserError(f"{cfg.data}: no image samples{' in ' + ', '.join(cfg.languages) if cfg.languages else ''}")
    own_images = [str(resolve_image_path(cfg.image_root, p.image, where=f"{cfg.data} (id {p.id})")) for p in prompts]
    other_images = swapped_images(own_images, cfg.seed)
    questions = [p.question for p in prompts]
    rows: list[dict] = []
    for path, name in zip(cfg.models, names):
        model, processor = load_model(path, device=cfg.device, dtype=cfg.dtype)
        kw = {"template": cfg.template or trained_template(path), "batch_size": cfg.batch_size, "max_new_tokens": cfg.max_new_tokens,
              "progress": True}
        own = generate_batch(model, processor, own_images, questions, **kw)
        swapped = generate_batch(model, processor, other_images, questions, **kw)
        rows += reliance_rows(name, prompts, own, swapped)
    write_tables(rows, cfg.out)
    return rows


def write_tables(rows: Sequence[dict], out: str | Path) -> list[Path]:
    """reliance.json, reliance.csv and reliance.md in `out`."""
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / "reliance.json", folder / "reliance.csv", folder / "reliance.md"]
    paths[0].write_text(json.dumps(list(rows), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    with paths[1].open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=["model", "language", "metric", "value", "n"])
        writer.writeheader()
        writer.writerows(rows)
    paths[2].write_text("# Image reliance\n\n" + format_table(rows), encoding="utf-8")
    return paths


def _cli(args: argparse.Namespace) -> int:
    cfg = RelianceConfig(models=args.model, data=args.data, image_root=args.image_root, out=args.out,
                         names=args.name or [], languages=parse_languages(args.languages.split(",")) if args.languages else None,
                         n=None if args.n == 0 else args.n, seed=args.seed, template=args.template,
                         batch_size=args.batch_size, max_new_tokens=args.max_new_tokens, device=args.device,
                         dtype=args.dtype)
    rows = run_reliance(cfg)
    print(format_table([r for r in rows if r["language"] == "all"]), end="")
    print(f"wrote {Path(cfg.out) / 'reliance.md'}")
    return 0


def add_reliance_parser(analyze_subparsers) -> argparse.ArgumentParser:
    """The `analyze reliance` subcommand."""
    p = analyze_subparsers.add_parser(
        "reliance", help="blind test: how often answers change when the image is swapped",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", action="append", required=True, help="Llava model folder (repeat for several)")
    p.add_argument("--name", action="append", help="display name per --model")
    p.add_argument("--data", required=True, help="LLaVA JSON/JSONL; the first question/answer of each image sample is asked")
    p.add_argument("--image-root", required=True, help="folder the image paths are relative to")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--languages", help="comma-separated language codes to keep (default: all)")
    p.add_argument("--n", type=int, default=300, help="samples to ask, seeded subsample (0 = all; default 300)")
    p.add_argument("--seed", type=int, default=0, help="seed of the subsample and the swap")
    p.add_argument("--template", default=None,
                   help="conversation template (default: each model's own, from its recipe.yaml; else vicuna_v1)")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--max-new-tokens", type=int, default=16)
    p.add_argument("--device", help="cpu, cuda, ... (default: a GPU when there is one)")
    p.add_argument("--dtype", choices=["auto", *DTYPE_NAMES], default="auto",
                   help="weights' dtype (auto: bfloat16 on a GPU that supports it, else float32)")
    p.set_defaults(func=_cli)
    return p
