"""The `analyze gap` job: `GapConfig` says what to run, `run_gap` runs it.

Per model: features (`features.extract_features`, cached in `<out>/features/<name>.npz`), then the
metrics per language (`gap_rows`), the tables (`write_tables`) and the figures (`plots`).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from lrm_llava.analysis.gap.features import TEXT_LAYERS, extract_features
from lrm_llava.analysis.gap.metrics import gap_metrics
from lrm_llava.analysis.gap.plots import plot_gap, tsne_2d
from lrm_llava.analysis.gap.samples import GapSample, select_samples
from lrm_llava.errors import UserError
from lrm_llava.languages import parse_languages
from lrm_llava.options import DTYPE_NAMES

MIN_SAMPLES = 10
"""Fewest samples a language needs before its metrics are reported (the probe needs folds)."""

GAP_DTYPES = ("saved", "auto", *DTYPE_NAMES)
"""`--dtype` names of the gap analysis ("saved": as stored in the model folder)."""


@dataclass
class GapConfig:
    """Settings of one `analyze gap` run."""

    models: list[str]
    """Hugging Face Llava folders (AutoModelForImageTextToText + AutoProcessor), one per model."""
    data: str
    """Multilingual LLaVA JSON/JSONL file (samples need `image`, `conversations` and `lang`)."""
    image_root: str
    """Folder the samples' image paths are relative to; paths may not leave it."""
    out: str = "runs/gap"
    """Output folder for gap.json, gap.csv, gap.md, the PNGs and the feature cache."""
    names: list[str] = field(default_factory=list)
    """Display names, one per model (default: each folder's name)."""
    n: int | None = 5000
    """Samples drawn (seeded, without replacement) from the filtered data; None (0 on the command line) = all (paper: 5,000)."""
    languages: str = "all"
    """Languages kept: "all", "non-english" or a comma list of registry codes."""
    per_language: bool = False
    """Also draw one t-SNE/KDE figure per language (metrics are always reported per language)."""
    text_layer: str = "last"
    """Text representation: "last" (LM last hidden state, default) or "embed" (input embeddings)."""
    batch_size: int = 16
    """Images or texts per forward pass."""
    device: str | None = None
    """Torch device: None or "auto" = a GPU when there is one, else the CPU; or cpu, cuda, cuda:N."""
    dtype: str = "saved"
    """Weights' dtype: "saved" (as stored in the model folder), "auto" (bfloat16 on a GPU that supports it, else float32), float32, bfloat16 or float16."""
    seed: int = 0
    """Seed of the subsample, the probe folds, the bandwidth subsample and t-SNE."""
    plot: bool = True
    """Draw the t-SNE/KDE figures (the slowest part on large runs); --no-plot turns them off."""


def _display_names(models: Sequence[str], names: Sequence[str]) -> list[str]:
    if names and len(names) != len(models):
        raise UserError(f"got {len(names)} --name for {len(models)} --model; give one name per model or none")
    out = list(names) if names else [Path(m).resolve().name or "model" for m in models]
    if len(set(out)) != len(out):
        raise UserError(f"model names must be unique, got {out}; set them with --name")
    for name in out:
        if not re.fullmatch(r"[\w.+-]+", name):
            raise UserError(f"model name {name!r} may only hold letters, digits, '.', '_', '+', '-'")
    return out


def _signature(cfg: GapConfig, model_path: str, samples: Sequence[GapSample]) -> str:
    h = hashlib.sha256()
    model_dir = Path(model_path).resolve()
    stamps = sorted(
        (p.name, p.stat().st_size, int(p.stat().st_mtime)) for p in model_dir.iterdir() if p.is_file()
    )
    key: list = [str(model_dir), stamps, cfg.text_layer, str(Path(cfg.image_root).resolve())]
    if cfg.dtype != "saved":
        key.append(cfg.dtype)  # only then, so that caches of the default stay valid
    h.update(json.dumps(key).encode())
    for s in samples:
        h.update(json.dumps(asdict(s), ensure_ascii=False).encode())
    return h.hexdigest()


def model_features(cfg: GapConfig, model_path: str, name: str, samples: Sequence[GapSample]) -> tuple[np.ndarray, np.ndarray]:
    """(visual, text) features, one row per sample; cached in out/features/<name>.npz for reruns."""
    cache = Path(cfg.out) / "features" / f"{name}.npz"
    sig = _signature(cfg, model_path, samples)
    if cache.is_file():
        with np.load(cache, allow_pickle=False) as z:
            if str(z["signature"]) == sig:
                print(f"[gap] {name}: reusing features from {cache}")
                return z["visual"], z["text"]
    visual, text = extract_features(
        model_path, samples, cfg.image_root, text_layer=cfg.text_layer, batch_size=cfg.batch_size,
        device=cfg.device, dtype=cfg.dtype, name=name,
    )
    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_name(cache.stem + ".tmp.npz")
    np.savez(tmp, visual=visual, text=text, signature=np.array(sig), ids=np.array([s.id for s in samples]))
    tmp.replace(cache)
    return visual, text


def _language_groups(samples: Sequence[GapSample]) -> list[tuple[str, np.ndarray]]:
    langs = list(dict.fromkeys(s.lang for s in samples))
    order = [c for c in parse_languages("all") if c in langs]
    cells = [("all", np.arange(len(samples)))]
    if len(order) > 1:
        cells += [(c, np.array([i for i, s in enumerate(samples) if s.lang == c])) for c in order]
    return cells


def gap_rows(
    name: str, visual: np.ndarray, text: np.ndarray, samples: Sequence[GapSample], seed: int = 0
) -> list[dict]:
    """Tidy rows {model, language, metric, value}: pooled ("all") and, with several languages, each one."""
    rows = []
    for lang, idx in _language_groups(samples):
        if len(idx) < MIN_SAMPLES:
            print(f"[gap] {name}/{lang}: only {len(idx)} samples (< {MIN_SAMPLES}); no metrics reported")
            continue
        groups = [samples[i].image for i in idx]
        if len(set(groups)) < 2:
            groups = None  # a single image: fall back to plain stratified folds
        rows.append({"model": name, "language": lang, "metric": "n", "value": int(len(idx))})
        for metric, value in gap_metrics(visual[idx], text[idx], groups=groups, seed=seed).items():
            rows.append({"model": name, "language": lang, "metric": metric, "value": value})
    return rows


def write_tables(rows: Sequence[dict], out: str | Path, cfg: GapConfig | None = None) -> list[Path]:
    """gap.json (list of rows), gap.csv and gap.md (one line per model and language), atomically."""
    from lrm_llava.jsonio import atomic_open, write_json, write_text

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "gap.json", out / "gap.csv", out / "gap.md"]
    write_json(paths[0], list(rows), indent=1)
    buffer = io.StringIO(newline="")
    writer = csv.DictWriter(buffer, fieldnames=["model", "language", "metric", "value"])
    writer.writeheader()
    writer.writerows(rows)
    with atomic_open(paths[1], "wb") as fh:  # bytes: the csv module's \r\n line ends kept as they are
        fh.write(buffer.getvalue().encode("utf-8"))
    cells: dict[tuple[str, str], dict[str, float]] = {}
    for r in rows:
        cells.setdefault((r["model"], r["language"]), {})[r["metric"]] = r["value"]
    lines = ["# Modality gap", ""]
    if cfg is not None:
        lines += [
            f"Data `{Path(cfg.data).name}`, text layer `{cfg.text_layer}`, seed {cfg.seed}. "
            "centroid = centroid distance / spread (0 = same centre); probe = linear-probe accuracy "
            "(0.5 = indistinguishable); MMD² = unbiased RBF MMD² (0 = same distribution). "
            "Lower is a smaller gap for all three.",
            "",
        ]
    lines += ["| model | language | n | centroid | probe | MMD² |", "|---|---|---:|---:|---:|---:|"]
    for (model, lang), m in cells.items():
        lines.append(
            f"| {model} | {lang} | {int(m.get('n', 0))} | {m.get('centroid_distance', float('nan')):.3f} "
            f"| {m.get('probe_accuracy', float('nan')):.3f} | {m.get('mmd2', float('nan')):.4f} |"
        )
    write_text(paths[2], "\n".join(lines) + "\n")
    return paths


def check_config(cfg: GapConfig) -> list[str]:
    """Refuse a config that cannot run (`UserError` naming the option); the display names."""
    from lrm_llava.infer import resolve_device

    if not cfg.models:
        raise UserError("give at least one --model folder")
    if cfg.text_layer not in TEXT_LAYERS:
        raise UserError(f"unknown --text-layer {cfg.text_layer!r}; use one of {', '.join(TEXT_LAYERS)}")
    if cfg.n is not None and cfg.n < 2:
        raise UserError(f"--n must be at least 2, got {cfg.n}")
    if cfg.batch_size < 1:
        raise UserError(f"--batch-size {cfg.batch_size}: must be at least 1. Fix: pass --batch-size 1 or more.")
    if cfg.dtype not in GAP_DTYPES:
        raise UserError(f"unknown --dtype {cfg.dtype!r}; use one of {', '.join(GAP_DTYPES)}")
    resolve_device(cfg.device)
    names = _display_names(cfg.models, cfg.names)
    if not Path(cfg.image_root).is_dir():
        raise UserError(f"{cfg.image_root}: image root not found; pass the folder images are relative to")
    return names


def run_gap(cfg: GapConfig) -> list[dict]:
    """The `analyze gap` job: features per model, metrics per language, tables and figures in cfg.out."""
    from lrm_llava.data import read_samples

    names = check_config(cfg)
    samples = select_samples(read_samples(cfg.data), parse_languages(cfg.languages), cfg.n, cfg.seed)
    if len(samples) < 2:
        raise UserError(
            f"{cfg.data}: only {len(samples)} image samples in languages {cfg.languages!r}; "
            "the gap analysis needs image samples with a 'lang' field"
        )
    print(f"[gap] {len(samples)} samples, {len({s.image for s in samples})} images, "
          f"languages {sorted({s.lang for s in samples})}")
    rows: list[dict] = []
    features = {}
    for path, name in zip(cfg.models, names):
        visual, text = model_features(cfg, path, name, samples)
        features[name] = (visual, text)
        rows += gap_rows(name, visual, text, samples, seed=cfg.seed)
    out = Path(cfg.out)
    write_tables(rows, out, cfg)
    if cfg.plot:
        cells = _language_groups(samples) if cfg.per_language else _language_groups(samples)[:1]
        for lang, idx in cells:
            if len(idx) < MIN_SAMPLES:
                continue
            panels = [(name, *tsne_2d(v[idx], t[idx], seed=cfg.seed)) for name, (v, t) in features.items()]
            file = "gap.png" if lang == "all" else f"gap_{lang}.png"
            plot_gap(panels, out / file, title=f"modality gap ({lang}, n={len(idx)})")
    print(f"[gap] wrote {out / 'gap.json'}, {out / 'gap.csv'}, {out / 'gap.md'}" + (" and figures" if cfg.plot else ""))
    return rows
