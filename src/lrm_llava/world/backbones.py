"""Tiny ShapeWorld backbones, trained here and saved as ordinary Hugging Face folders.

    lrm-llava world backbones --world runs/demo/world --out runs/demo/backbones [--quick]

- `<out>/vision/`: a `CLIPModel` (96 px images, patch 32 = one patch per cell, a few layers) trained with the CLIP
  contrastive loss on the English captions, with its `CLIPImageProcessor` and a word-level tokenizer
  for the text side. Held-out image -> caption retrieval (top-1 / top-5 against chance) is printed
  and saved.
- `<out>/llm/`: a `LlamaForCausalLM` with its own byte-level BPE tokenizer, trained on ShapeWorld
  text in all ten languages with English dominant (captions and USER/ASSISTANT dialogs, like an
  English-centric chat LM). Held-out perplexity per language is printed and saved.
- `<out>/metrics.json`: both sets of numbers.

Both folders load offline by path with `CLIPModel` / `CLIPImageProcessor` / `AutoModelForCausalLM`
/ `AutoTokenizer.from_pretrained`, exactly like real checkpoints. A stage whose folder is complete
is skipped, so an interrupted run resumes.
"""

from __future__ import annotations

import json
import math
import os
import random
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from lrm_llava import languages
from lrm_llava.errors import UserError, describe_changes
from lrm_llava.jsonio import iter_jsonl, read_json, write_json, write_text
from lrm_llava.world import frames as F
from lrm_llava.world.realize import realize
from lrm_llava.world.scene import render, sample_scene

VICUNA_SYSTEM = ("A chat between a curious user and an artificial intelligence assistant. "
                 "The assistant gives helpful, detailed, and polite answers to the user's questions.")
"""LLaVA-1.5's vicuna_v1 system prompt; part of the LM's training dialogs so it is a "chat" LM."""


@dataclass
class BackboneConfig:
    """Sizes and budgets of the two tiny backbones."""

    vision_hidden: int = 96
    """Hidden size of the ViT."""
    vision_layers: int = 3
    """Transformer layers of the ViT (LLaVA reads layer -2)."""
    text_hidden: int = 64
    """Hidden size of CLIP's text tower (only used for contrastive training)."""
    text_layers: int = 2
    """Layers of CLIP's text tower."""
    projection_dim: int = 64
    """CLIP joint embedding size."""
    clip_steps: int = 400
    """Contrastive training steps."""
    clip_batch: int = 96
    """Image-caption pairs per step (the in-batch negatives)."""
    clip_lr: float = 1e-3
    """Peak learning rate of the CLIP run."""
    clip_heldout: int = 200
    """Held-out scenes for retrieval accuracy."""
    llm_hidden: int = 128
    """Hidden size of the LLaMA LM."""
    llm_layers: int = 3
    """Decoder layers of the LM."""
    llm_heads: int = 4
    """Attention heads of the LM."""
    llm_vocab: int = 2000
    """Byte-level BPE vocabulary size."""
    llm_steps: int = 450
    """LM training steps."""
    llm_batch: int = 16
    """Sequences per LM step."""
    llm_block: int = 128
    """Tokens per training sequence (documents are packed, separated by </s>)."""
    llm_lr: float = 2e-3
    """Peak learning rate of the LM run."""
    llm_init_range: float = 0.05
    """Std of the LM's initial weights. HF's default 0.02 is tuned for wide models; at hidden 128 it
    leaves the attention logits so flat that the LM later cannot learn to look up the image tokens
    within the demo's budget (measured in docs/results.md)."""
    english_share: float = 0.75
    """Share of English documents in the LM's training text; the rest is spread over the nine
    other languages equally (an English-centric LM that knows the others somewhat)."""
    heldout_fraction: float = 0.1
    """Share of training scenes whose text is held out for perplexity."""
    seed: int = 0
    """Seed of data order and initialisation."""
    threads: int = 1
    """torch threads while training. One is the robust choice on a small shared machine: with two
    threads on two busy cores, these tiny matrices spend more time waiting than computing."""


QUICK = {"clip_steps": 120, "clip_batch": 64, "clip_heldout": 64, "llm_steps": 80, "llm_vocab": 600,
         "llm_layers": 2, "llm_hidden": 96, "vision_layers": 2, "llm_batch": 8}
"""Overrides for `--quick` (a few seconds each)."""


# ------------------------------------------------------------------------------------------- util
def _read_world(world_dir: Path) -> dict:
    meta = world_dir / "world.json"
    if not meta.exists():
        raise UserError(f"{meta} not found: build the world first with `lrm-llava world build --out {world_dir}`")
    return read_json(meta, "world description")


def _load_json(path: Path) -> list:
    if not path.is_file():
        raise UserError(f"{path} not found: rebuild the world with `lrm-llava world build`")
    return read_json(path)


def _complete(folder: Path) -> bool:
    return (folder / "config.json").exists() and (folder / "model.safetensors").exists() and (
        folder / "tokenizer.json").exists()


def _cosine_lr(step: int, total: int, peak: float) -> float:
    warm = max(1, total // 20)
    if step < warm:
        return peak * (step + 1) / warm
    return peak * 0.5 * (1 + math.cos(math.pi * (step - warm) / max(1, total - warm)))


# ----------------------------------------------------------------------------------------- vision
def _word_tokenizer(texts: list[str]):
    """A word-level tokenizer for CLIP's text side (the English captions use ~40 words).

    Special ids: <pad>=0, <unk>=1, <s>=2, </s>=3. The eos id is deliberately not 2: CLIP's text
    pooling treats eos_token_id == 2 as a legacy config and pools at the largest token id instead.
    """
    from tokenizers import Tokenizer, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.WordLevel(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.train_from_iterator(texts, trainers.WordLevelTrainer(special_tokens=["<pad>", "<unk>", "<s>", "</s>"]))
    tok.post_processor = processors.TemplateProcessing(single="<s> $A </s>", special_tokens=[("<s>", 2), ("</s>", 3)])
    return PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>", bos_token="<s>", eos_token="</s>",
                                   pad_token="<pad>", model_max_length=64)


def cell_patch_size(image_size: int) -> int:
    """Patch side that gives one patch per cell of the scene's 3 x 3 layout.

    Each shape then lands in exactly one patch, so each visual token describes exactly one shape
    (or an empty cell). With patches that straddle cells (e.g. 64 px / 16) every shape is cut over
    two to four tokens and the LM must assemble it; the tiny LM does not learn that within budget.
    """
    if image_size % 3:
        raise UserError(f"ShapeWorld image_size {image_size} must be a multiple of 3 (one patch per cell of the "
                        "3 x 3 layout); rebuild the world with the default WorldConfig.image_size (96)")
    return image_size // 3


def _pixels(processor, images) -> torch.Tensor:
    return processor(images=images, return_tensors="pt")["pixel_values"]


def train_vision(world_dir: Path, out: Path, cfg: BackboneConfig, world: dict) -> dict:
    """Train and save the CLIP vision tower; returns its retrieval metrics."""
    from PIL import Image
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel

    size = world["config"]["image_size"]
    patch = cell_patch_size(size)
    captions = _load_json(world_dir / "captions_en.json")
    texts = [c["conversations"][1]["value"] for c in captions]
    tok = _word_tokenizer(texts)
    processor = CLIPImageProcessor(size={"shortest_edge": size}, crop_size={"height": size, "width": size},
                                   do_resize=True, do_center_crop=True)
    images = [Image.open(world_dir / c["image"]).convert("RGB") for c in captions]
    pixels = _pixels(processor, images)
    enc = tok(texts, padding="longest", return_tensors="pt")
    max_len = enc["input_ids"].shape[1]

    config = CLIPConfig(
        text_config={"vocab_size": len(tok), "hidden_size": cfg.text_hidden, "intermediate_size": 2 * cfg.text_hidden,
                     "num_hidden_layers": cfg.text_layers, "num_attention_heads": 2,
                     "max_position_embeddings": max(64, max_len), "bos_token_id": 2, "eos_token_id": 3,
                     "pad_token_id": 0},
        vision_config={"image_size": size, "patch_size": patch, "hidden_size": cfg.vision_hidden,
                       "intermediate_size": 2 * cfg.vision_hidden, "num_hidden_layers": cfg.vision_layers,
                       "num_attention_heads": 4},
        projection_dim=cfg.projection_dim,
    )
    torch.manual_seed(cfg.seed)
    model = CLIPModel(config)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.clip_lr, weight_decay=0.05)
    gen = torch.Generator().manual_seed(cfg.seed)
    n = len(texts)
    model.train()
    bar = tqdm(range(cfg.clip_steps), desc="backbones: CLIP", unit="step")
    for step in bar:
        for g in opt.param_groups:
            g["lr"] = _cosine_lr(step, cfg.clip_steps, cfg.clip_lr)
        idx = torch.randperm(n, generator=gen)[: cfg.clip_batch]
        out_ = model(input_ids=enc["input_ids"][idx], attention_mask=enc["attention_mask"][idx],
                     pixel_values=pixels[idx], return_loss=True)
        opt.zero_grad()
        out_.loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if step % 20 == 0:
            bar.set_postfix(loss=f"{out_.loss.item():.3f}")
    model.eval()

    # Held-out scenes: a stream no export uses, so these pictures were never seen in training.
    rng = random.Random(f"shapeworld-{world['config']['seed']}-clip-heldout")
    held = [sample_scene(rng, f"h{i}", max_objects=world["config"]["max_objects"]) for i in range(cfg.clip_heldout)]
    h_pix = _pixels(processor, [render(s, size) for s in held])
    h_enc = tok([realize(F.Caption(s.objects), "en") for s in held], padding="longest", return_tensors="pt")
    with torch.no_grad():
        img = torch.nn.functional.normalize(model.get_image_features(pixel_values=h_pix).pooler_output, dim=-1)
        txt = torch.nn.functional.normalize(model.get_text_features(**h_enc).pooler_output, dim=-1)
    ranks = (img @ txt.T).argsort(dim=1, descending=True)
    truth = torch.arange(len(held)).unsqueeze(1)
    m = len(held)
    metrics = {
        "heldout_scenes": m,
        "retrieval_top1": float((ranks[:, :1] == truth).any(dim=1).float().mean()),
        "retrieval_top5": float((ranks[:, :5] == truth).any(dim=1).float().mean()),
        "chance_top1": 1 / m, "chance_top5": min(1.0, 5 / m),
        "final_loss": float(out_.loss.item()), "steps": cfg.clip_steps,
    }
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    processor.save_pretrained(out)
    tok.save_pretrained(out)
    write_text(out / "metrics.json", json.dumps(metrics, indent=1) + "\n")
    return metrics


# -------------------------------------------------------------------------------------------- LLM
def _table(world_dir: Path) -> dict[str, dict[str, str]]:
    table: dict[str, dict[str, str]] = {c: {} for c in languages.NON_ENGLISH}
    for _, row in iter_jsonl(world_dir / "translations.jsonl", what="translation table"):
        table.setdefault(row["tgt"], {}).setdefault(row["text"], row["translation"])
    return table


def _dialog(turns: list[tuple[str, str]], rng: random.Random) -> str:
    body = "".join(f"USER: {q} ASSISTANT: {a}</s>" for q, a in turns)
    return f"{VICUNA_SYSTEM} {body}" if rng.random() < 0.5 else body


def lm_documents(world_dir: Path, cfg: BackboneConfig) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """(train, held-out) documents per language: captions as plain text and as dialogs, and the VQA
    conversations as USER/ASSISTANT dialogs, each realized in the language via the reference table.
    Held-out documents come from scenes whose text the LM never sees."""
    table = _table(world_dir)
    captions = _load_json(world_dir / "captions_en.json")
    vqa = _load_json(world_dir / "vqa_en.json")
    scene_ids = sorted({c["id"] for c in captions})
    n_held = max(1, int(len(scene_ids) * cfg.heldout_fraction))
    held_ids = set(scene_ids[-n_held:])

    def tr(text: str, lang: str) -> str:
        return text if lang == "en" else table[lang][text]

    rng = random.Random(f"lm-docs-{cfg.seed}")
    by_scene: dict[str, list[tuple[str, list[tuple[str, str]] | str]]] = {}
    for c in captions:
        cap = c["conversations"][1]["value"]
        by_scene.setdefault(c["id"], []).append(("caption", cap))
    for s in vqa:
        conv = s["conversations"]
        pairs = [(conv[i]["value"].replace("<image>\n", ""), conv[i + 1]["value"]) for i in range(0, len(conv) - 1, 2)]
        by_scene.setdefault(s["image"].rsplit("/", 1)[-1][:-4], []).append(("dialog", pairs))

    def realize_doc(item, lang: str) -> str:
        kind, content = item
        if kind == "caption":
            if rng.random() < 0.5:
                return tr(content, lang)
            prompt = rng.choice(languages.get(lang).describe_prompts)
            return _dialog([(prompt, tr(content, lang))], rng)
        return _dialog([(tr(q, lang), tr(a, lang)) for q, a in content], rng)

    train: dict[str, list[str]] = {c: [] for c in languages.ALL_CODES}
    held: dict[str, list[str]] = {c: [] for c in languages.ALL_CODES}
    en_items = [(sid, item) for sid in scene_ids for item in by_scene.get(sid, [])]
    n_en = sum(1 for sid, _ in en_items if sid not in held_ids)
    # Documents per other language so that English makes up `english_share` of the whole.
    n_other = int(n_en * (1 - cfg.english_share) / cfg.english_share / len(languages.NON_ENGLISH))
    train_items = [it for sid, it in en_items if sid not in held_ids]
    held_items = [it for sid, it in en_items if sid in held_ids]
    for lang in languages.ALL_CODES:
        if lang == "en":
            chosen = train_items
        else:
            chosen = random.Random(f"lm-{cfg.seed}-{lang}").sample(train_items, min(n_other, len(train_items)))
        train[lang] = [realize_doc(it, lang) for it in chosen]
        held[lang] = [realize_doc(it, lang) for it in held_items[:60]]
    return train, held


def _pack(tok, docs: list[str], block: int) -> torch.Tensor:
    ids: list[int] = []
    for d in docs:
        doc = tok(d, add_special_tokens=True)["input_ids"]
        ids += doc if doc[-1] == tok.eos_token_id else doc + [tok.eos_token_id]
    n = max(1, len(ids) // block)
    ids = (ids + [tok.pad_token_id] * block)[: n * block]
    return torch.tensor(ids, dtype=torch.long).view(n, block)


def _perplexity(model, tok, docs: list[str], block: int) -> float:
    total, count = 0.0, 0
    with torch.no_grad():
        for d in docs:
            ids = torch.tensor([tok(d)["input_ids"][:block]])
            if ids.shape[1] < 2:
                continue
            loss = model(input_ids=ids, labels=ids).loss
            total += loss.item() * (ids.shape[1] - 1)
            count += ids.shape[1] - 1
    return math.exp(total / max(1, count))


def train_llm(world_dir: Path, out: Path, cfg: BackboneConfig) -> dict:
    """Train and save the English-centric chat LM; returns held-out perplexity per language."""
    from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM

    from lrm_llava.model import train_bpe_tokenizer

    train_docs, held_docs = lm_documents(world_dir, cfg)
    order = [d for lang in languages.ALL_CODES for d in train_docs[lang]]
    random.Random(f"lm-order-{cfg.seed}").shuffle(order)
    tok = train_bpe_tokenizer(order, vocab_size=cfg.llm_vocab, model_max_length=2048)
    data = _pack(tok, order, cfg.llm_block)

    config = LlamaConfig(
        vocab_size=len(tok), hidden_size=cfg.llm_hidden, intermediate_size=int(cfg.llm_hidden * 8 / 3) // 8 * 8,
        num_hidden_layers=cfg.llm_layers, num_attention_heads=cfg.llm_heads, num_key_value_heads=cfg.llm_heads,
        max_position_embeddings=2048, rms_norm_eps=1e-5, tie_word_embeddings=True,
        initializer_range=cfg.llm_init_range,
        bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id,
    )
    torch.manual_seed(cfg.seed)
    model = LlamaForCausalLM(config)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.llm_lr, weight_decay=0.01, betas=(0.9, 0.95))
    gen = torch.Generator().manual_seed(cfg.seed)
    model.train()
    bar = tqdm(range(cfg.llm_steps), desc="backbones: LM", unit="step")
    loss = torch.tensor(0.0)
    for step in bar:
        for g in opt.param_groups:
            g["lr"] = _cosine_lr(step, cfg.llm_steps, cfg.llm_lr)
        idx = torch.randint(0, data.shape[0], (cfg.llm_batch,), generator=gen)
        batch = data[idx]
        labels = batch.masked_fill(batch == tok.pad_token_id, -100)
        loss = model(input_ids=batch, labels=labels).loss
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if step % 20 == 0:
            bar.set_postfix(loss=f"{loss.item():.3f}")
    model.eval()
    ppl = {lang: round(_perplexity(model, tok, held_docs[lang], cfg.llm_block), 3) for lang in languages.ALL_CODES}
    n_tokens = {lang: sum(len(tok(d)["input_ids"]) for d in train_docs[lang]) for lang in languages.ALL_CODES}
    total = sum(n_tokens.values())
    metrics = {
        "heldout_perplexity": ppl,
        "train_documents": {lang: len(v) for lang, v in train_docs.items()},
        "train_token_share": {lang: round(v / total, 4) for lang, v in n_tokens.items()},
        "final_loss": float(loss.item()), "steps": cfg.llm_steps,
        "parameters": sum(p.numel() for p in model.parameters()),
    }
    out.mkdir(parents=True, exist_ok=True)
    model.generation_config = GenerationConfig(bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                                               pad_token_id=tok.pad_token_id)
    model.save_pretrained(out)
    tok.save_pretrained(out)
    write_json(out / "metrics.json", metrics)
    return metrics


# -------------------------------------------------------------------------------------------- job
IGNORED_KEYS = ("threads",)
"""Config fields that do not change the trained weights' meaning (they are not compared on reuse)."""


def config_from_overrides(overrides: dict, *, quick: bool = False) -> BackboneConfig:
    """A `BackboneConfig` from `--set` overrides (on top of `QUICK` with quick); unknown keys are an error."""
    known = {f.name for f in fields(BackboneConfig)}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise UserError(f"unknown backbone setting(s) {', '.join(unknown)}; "
                        f"known: {', '.join(sorted(known))}")
    return BackboneConfig(**{**(QUICK if quick else {}), **overrides})


def _refuse_other_config(out: Path, wanted: dict) -> None:
    """Backbones already under `out` were trained with other settings: reusing them would be silent."""
    meta = out / "metrics.json"
    if not meta.exists():
        return
    built = read_json(meta).get("config", {})
    changed = describe_changes(built, wanted, ignore=IGNORED_KEYS)
    if changed:
        raise UserError(f"{out} holds backbones trained with other settings ({changed}); "
                        f"remove {out} or pass another --out")


BACKBONES = ("vision", "llm")
"""The two backbones, in training order: the folders under the backbones output."""


def train_backbones(world_dir: str | Path, out_dir: str | Path, *, quick: bool = False,
                    config: BackboneConfig | None = None, workers: int = 1) -> dict:
    """Train (or reuse, when complete) out_dir/vision and out_dir/llm; write and return metrics.

    With `workers` 2 the two are trained side by side, each in its own process (output in
    out_dir/logs/); they are independent and seeded apart, so the weights are the same either way.
    """
    world_path, out = Path(world_dir), Path(out_dir)
    _read_world(world_path)  # a clear error before any work
    cfg = config or config_from_overrides({}, quick=quick)
    _refuse_other_config(out, asdict(cfg))
    reused = {}
    for name in BACKBONES:
        if _complete(out / name) and (out / name / "metrics.json").exists():
            reused[name] = {**read_json(out / name / "metrics.json"), "reused": True}
    todo = [name for name in BACKBONES if name not in reused]
    if workers > 1 and len(todo) > 1:
        from lrm_llava.parallel import Job, format_progress, run_jobs

        jobs = [Job(name, train_one_backbone, (name, world_path, out, cfg), out / "logs" / f"{name}.log")
                for name in todo]
        trained = dict(zip(todo, run_jobs(jobs, min(workers, len(jobs)), cfg.threads, noun="backbones",
                                          on_progress=lambda lines: print(format_progress(lines), flush=True))))
    else:
        trained = {name: train_one_backbone(name, world_path, out, cfg) for name in todo}
    metrics = {"config": asdict(cfg), **{name: reused.get(name) or trained[name] for name in BACKBONES}}
    write_json(out / "metrics.json", metrics)
    return metrics


def train_one_backbone(name: str, world_path: Path, out: Path, cfg: BackboneConfig) -> dict:
    """Train out/<name> ("vision" or "llm") with `cfg.threads` torch threads; its metrics, timed."""
    prev_threads = torch.get_num_threads()
    torch.set_num_threads(max(1, min(cfg.threads, os.cpu_count() or 1)))
    np.random.seed(cfg.seed)
    start = time.time()
    try:
        if name == "vision":
            result = train_vision(world_path, out / "vision", cfg, _read_world(world_path))
        else:
            result = train_llm(world_path, out / "llm", cfg)
    finally:
        torch.set_num_threads(prev_threads)
    result["seconds"] = round(time.time() - start, 1)
    return result


def format_metrics(metrics: dict) -> str:
    """Human-readable summary for the terminal."""
    v, m = metrics["vision"], metrics["llm"]
    lines = [
        f"vision (CLIP): held-out image->caption retrieval over {v['heldout_scenes']} scenes: "
        f"top-1 {v['retrieval_top1']:.1%} (chance {v['chance_top1']:.1%}), "
        f"top-5 {v['retrieval_top5']:.1%} (chance {v['chance_top5']:.1%})",
        "llm (LLaMA): held-out perplexity per language: "
        + ", ".join(f"{k} {p:.2f}" for k, p in m["heldout_perplexity"].items()),
    ]
    return "\n".join(lines)
