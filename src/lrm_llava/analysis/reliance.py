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
import io
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from lrm_llava.analysis.gap.samples import first_exchange, sample_language, seeded_subsample, where_of
from lrm_llava.errors import UserError
from lrm_llava.languages import ALL_CODES, parse_languages
from lrm_llava.options import add_field, add_model_flags, field_default

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
    """The first question/answer of an image sample (`first_exchange`); None for a text-only sample.

    A sample without `lang` is taken as English."""
    if not item.get("image"):
        return None
    question, answer = first_exchange(item, where)
    code = sample_language(item, where, default="en")
    return ReliancePrompt(str(item.get("id")), str(item["image"]), code, question, answer.strip())


def select_prompts(items: Sequence[dict], languages: Sequence[str] | None, n: int | None, seed: int) -> list[ReliancePrompt]:
    """Image samples in the requested languages; a seeded subsample of `n` (all if None or larger)."""
    wanted = set(languages) if languages else None
    where = where_of(items)
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
    """Languages to keep (registry codes; comma-separated on the command line); None: all."""
    n: int | None = 300
    """Samples to ask (seeded subsample); None (0 on the command line): all."""
    seed: int = 0
    """Seed of the subsample and of the image swap."""
    template: str | None = None
    """Conversation template of the models; None: each model's own (its recipe.yaml), else vicuna_v1."""
    batch_size: int = 16
    """Prompts per generation batch."""
    max_new_tokens: int = 16
    """Longest answer generated."""
    device: str | None = None
    """"cpu", "cuda", ...; None or "auto": a GPU when there is one."""
    dtype: str | None = None
    """"float32", "bfloat16" or "float16"; None or "auto": bfloat16 on a GPU that supports it, else float32."""


def run_reliance(cfg: RelianceConfig) -> list[dict]:
    """Ask every model each prompt with its own and a swapped image; write and return the rows."""
    from lrm_llava.data import read_samples
    from lrm_llava.infer import (
        check_generation,
        check_model_folder,
        generate_batch,
        load_model,
        resolve_device,
        trained_template,
    )
    from lrm_llava.paths import confined

    if cfg.names and len(cfg.names) != len(cfg.models):
        raise UserError(f"{len(cfg.names)} --name for {len(cfg.models)} --model; give one name per model or none")
    # Settings and model folders first: a typo fails in a second, not after the first model's answers.
    check_generation(max_new_tokens=cfg.max_new_tokens, batch_size=cfg.batch_size)
    resolve_device(cfg.device)
    for path in cfg.models:
        check_model_folder(path)
    templates = [trained_template(path, cfg.template) for path in cfg.models]
    # "lrm-llava/finetune" says more than "finetune" (training folders end in the stage's name)
    names = cfg.names or ["/".join(Path(m).parts[-2:]) for m in cfg.models]
    prompts = select_prompts(read_samples(cfg.data), cfg.languages, cfg.n, cfg.seed)
    if not prompts:
        raise UserError(f"{cfg.data}: no image samples{' in ' + ', '.join(cfg.languages) if cfg.languages else ''}")
    own_images = [str(confined(cfg.image_root, p.image, where=f"{cfg.data} (id {p.id!r})", what="image"))
                  for p in prompts]
    other_images = swapped_images(own_images, cfg.seed)
    questions = [p.question for p in prompts]
    rows: list[dict] = []
    for path, name, template in zip(cfg.models, names, templates):
        model, processor = load_model(path, device=cfg.device, dtype=cfg.dtype)
        kw = {"template": template, "batch_size": cfg.batch_size, "max_new_tokens": cfg.max_new_tokens,
              "progress": True}
        own = generate_batch(model, processor, own_images, questions, **kw)
        swapped = generate_batch(model, processor, other_images, questions, **kw)
        rows += reliance_rows(name, prompts, own, swapped)
    write_tables(rows, cfg.out)
    return rows


def write_tables(rows: Sequence[dict], out: str | Path) -> list[Path]:
    """reliance.json, reliance.csv and reliance.md in `out`, each written atomically."""
    from lrm_llava.jsonio import atomic_open, write_json, write_text

    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / "reliance.json", folder / "reliance.csv", folder / "reliance.md"]
    write_json(paths[0], list(rows), indent=1)
    buffer = io.StringIO(newline="")
    writer = csv.DictWriter(buffer, fieldnames=["model", "language", "metric", "value", "n"])
    writer.writeheader()
    writer.writerows(rows)
    with atomic_open(paths[1], "wb") as fh:  # bytes: the csv module's \r\n line ends kept as they are
        fh.write(buffer.getvalue().encode("utf-8"))
    write_text(paths[2], "# Image reliance\n\n" + format_table(rows))
    return paths


def _cli(args: argparse.Namespace) -> int:
    cfg = RelianceConfig(models=args.models, data=args.data, image_root=args.image_root, out=args.out,
                         names=args.names or [],
                         languages=parse_languages(args.languages.split(",")) if args.languages else None,
                         n=None if args.n == 0 else args.n, seed=args.seed, template=args.template,
                         batch_size=args.batch_size, max_new_tokens=args.max_new_tokens, device=args.device,
                         dtype=args.dtype)
    rows = run_reliance(cfg)
    print(format_table([r for r in rows if r["language"] == "all"]), end="")
    print(f"wrote {Path(cfg.out) / 'reliance.md'}")
    return 0


def add_reliance_parser(analyze_subparsers) -> argparse.ArgumentParser:
    """The `analyze reliance` subcommand (defaults and help from `RelianceConfig`)."""
    p = analyze_subparsers.add_parser(
        "reliance", help="blind test: how often answers change when the image is swapped",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_field(p, RelianceConfig, "models", "--model", action="append", required=True, metavar="DIR",
              help="Repeat for several.")
    add_field(p, RelianceConfig, "names", "--name", action="append", metavar="NAME", help="In --model order.")
    add_field(p, RelianceConfig, "data", required=True, metavar="FILE")
    add_field(p, RelianceConfig, "image_root", required=True, metavar="DIR")
    add_field(p, RelianceConfig, "out", required=True, metavar="DIR")
    add_field(p, RelianceConfig, "languages", metavar="CODES")
    add_field(p, RelianceConfig, "n", type=int)
    add_field(p, RelianceConfig, "seed", type=int)
    add_model_flags(p, batch_size=field_default(RelianceConfig, "batch_size"),
                    max_new_tokens=field_default(RelianceConfig, "max_new_tokens"))
    p.set_defaults(func=_cli)
    return p
