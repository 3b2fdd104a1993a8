"""Modality gap: how far the projected visual features sit from the multilingual text features.

The paper's Figure 5 mean-pools the projector's output for each image and the language model's
representation of each sample's (multilingual) text, maps both to 2-D with t-SNE and draws their
kernel density contours (visual red, text blue). A picture proves little, so this module also
measures the gap with three numbers, per model and per language (see `docs/analysis.md`):

- `centroid_distance`: ||mu_v - mu_t|| / sqrt((tr Cov_v + tr Cov_t) / 2), the distance between the
  two modality centroids in units of the average within-modality spread (0 = same centre);
- `probe_accuracy`: cross-validated accuracy of a logistic-regression probe telling visual from text
  features (0.5 = the modalities cannot be told apart, 1.0 = linearly separable);
- `mmd2`: the unbiased estimate of the squared maximum mean discrepancy under an RBF kernel whose
  bandwidth is the median pairwise distance of the pooled features (0 = same distribution).

Run it on one or more Hugging Face Llava folders and a multilingual LLaVA JSON/JSONL file:

    lrm-llava analyze gap --model runs/en-only --model runs/full --name en-only --name full \\
        --data data/finetune.json --image-root data/images --n 5000 --out runs/gap

Outputs in `--out`: `gap.json` / `gap.csv` (tidy rows {model, language, metric, value}), `gap.md`
(a table), `gap.png` (one t-SNE/KDE panel per model), `gap_<lang>.png` with `--per-language`, and
`features/<model>.npz` (the pooled features, reused when the same run is repeated).

The metric functions are pure functions of feature arrays; `run_gap` is the job; `add_gap_parser`
adds the `gap` subcommand to the `analyze` command.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import math
import random
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lrm_llava.errors import DataError, UserError
from lrm_llava.languages import parse_languages

# The data/ and model/ helpers (and torch, scikit-learn, matplotlib) are imported inside the functions
# that use them, so that building the CLI parser stays fast.

IMAGE_TOKEN = "<image>"
METRICS = ("centroid_distance", "probe_accuracy", "mmd2")
"""The gap metrics, in the order tables list them."""
MIN_SAMPLES = 10
"""Fewest samples a language needs before its metrics are reported (the probe needs folds)."""
TEXT_LAYERS = ("last", "embed")


# --------------------------------------------------------------------------------------------------
# Metrics: pure functions of two feature arrays (rows = samples, columns = feature dimensions)
# --------------------------------------------------------------------------------------------------


def _as_2d(x: Any, name: str) -> np.ndarray:
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[0] == 0:
        raise ValueError(f"{name} must be a non-empty 2-D array (samples x dims), got shape {arr.shape}")
    return arr


def _check_pair(visual: Any, text: Any) -> tuple[np.ndarray, np.ndarray]:
    v, t = _as_2d(visual, "visual"), _as_2d(text, "text")
    if v.shape[1] != t.shape[1]:
        raise ValueError(f"visual and text features differ in width: {v.shape[1]} vs {t.shape[1]}")
    return v, t


def centroid_distance(visual: Any, text: Any) -> float:
    """||mu_v - mu_t|| / sqrt((tr Cov_v + tr Cov_t) / 2).

    tr Cov is the total variance (mean squared distance of a modality's points to its centroid,
    population form), so the value is the centroid gap in units of the typical within-modality
    spread and does not change when both modalities are scaled or shifted together. For two
    isotropic Gaussians of variance s^2 per dimension in d dimensions whose means differ by delta,
    it tends to delta / (s * sqrt(d)).
    """
    v, t = _check_pair(visual, text)
    gap = float(np.linalg.norm(v.mean(0) - t.mean(0)))
    spread = math.sqrt((v.var(0).sum() + t.var(0).sum()) / 2.0)
    if spread == 0.0:
        return 0.0 if gap == 0.0 else math.inf
    return gap / spread


def probe_accuracy(
    visual: Any, text: Any, groups: Sequence[Any] | None = None, folds: int = 5, seed: int = 0
) -> float:
    """Cross-validated accuracy of a logistic-regression probe that labels features visual or text.

    Features are standardised inside each fold (so no scale difference leaks from the test fold)
    and the classes are balanced by construction when both arrays have the same length, so 0.5 is
    chance: the modalities are indistinguishable to a linear probe. `groups` (one label per row
    pair, e.g. the image path) keeps the visual and text rows of the same group in the same fold,
    so a test image never has a duplicate in the training folds.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    v, t = _check_pair(visual, text)
    x = np.concatenate([v, t])
    y = np.concatenate([np.zeros(len(v), dtype=int), np.ones(len(t), dtype=int)])
    probe = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=2000))
    if groups is not None:
        if len(groups) != len(v) or len(v) != len(t):
            raise ValueError("groups needs one label per (visual, text) pair and equal-length arrays")
        codes = {g: i for i, g in enumerate(dict.fromkeys(groups))}
        group_ids = np.array([codes[g] for g in groups] * 2)
        k = min(folds, len(codes))
        if k < 2:
            raise ValueError("probe_accuracy needs at least two groups")
        splitter = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
        scores = cross_val_score(probe, x, y, groups=group_ids, cv=splitter)
    else:
        k = min(folds, len(v), len(t))
        if k < 2:
            raise ValueError("probe_accuracy needs at least two rows per modality")
        splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
        scores = cross_val_score(probe, x, y, cv=splitter)
    return float(np.mean(scores))


def _sq_dists(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    d = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T
    return np.maximum(d, 0.0)


def median_bandwidth(visual: Any, text: Any, max_points: int = 1000, seed: int = 0) -> float:
    """Median heuristic: the median Euclidean distance between distinct points of the pooled sample.

    Computed on at most `max_points` pooled rows (a seeded subsample) to bound the cost; zero
    distances (duplicate rows) are ignored; falls back to 1.0 when every point is identical.
    """
    v, t = _check_pair(visual, text)
    pooled = np.concatenate([v, t])
    if len(pooled) > max_points:
        pooled = pooled[np.random.default_rng(seed).choice(len(pooled), max_points, replace=False)]
    d2 = _sq_dists(pooled, pooled)[np.triu_indices(len(pooled), k=1)]
    d2 = d2[d2 > 1e-12 * max(1.0, float(d2.max(initial=0.0)))]
    return float(np.sqrt(np.median(d2))) if d2.size else 1.0


def _kernel_sum(a: np.ndarray, b: np.ndarray, gamma: float, block: int = 1024) -> float:
    """Sum of exp(-gamma * ||a_i - b_j||^2) over all pairs, in blocks to bound memory."""
    total = 0.0
    for i in range(0, len(a), block):
        total += float(np.exp(-gamma * _sq_dists(a[i : i + block], b)).sum())
    return total


def mmd2_unbiased(visual: Any, text: Any, bandwidth: float | None = None, seed: int = 0) -> float:
    """Unbiased MMD^2 between the two samples under k(x, y) = exp(-||x - y||^2 / (2 * bandwidth^2)).

    MMD^2_u = sum_{i!=j} k(v_i, v_j) / (m(m-1)) + sum_{i!=j} k(t_i, t_j) / (n(n-1))
              - 2 * sum_{i,j} k(v_i, t_j) / (m n)
    (Gretton et al., 2012). Its expectation is 0 when both samples come from the same distribution,
    so small negative values happen and mean "no detectable difference"; it is at most 2.
    `bandwidth` defaults to `median_bandwidth` of the pooled sample.
    """
    v, t = _check_pair(visual, text)
    m, n = len(v), len(t)
    if m < 2 or n < 2:
        raise ValueError("mmd2_unbiased needs at least two rows per modality")
    sigma = median_bandwidth(v, t, seed=seed) if bandwidth is None else float(bandwidth)
    if sigma <= 0:
        raise ValueError(f"bandwidth must be positive, got {sigma}")
    gamma = 1.0 / (2.0 * sigma * sigma)
    # The diagonal of each within-sample kernel matrix is exactly 1 (k(x, x) = 1): subtract it.
    kvv = (_kernel_sum(v, v, gamma) - m) / (m * (m - 1))
    ktt = (_kernel_sum(t, t, gamma) - n) / (n * (n - 1))
    kvt = _kernel_sum(v, t, gamma) / (m * n)
    return float(kvv + ktt - 2.0 * kvt)


def gap_metrics(
    visual: Any, text: Any, groups: Sequence[Any] | None = None, seed: int = 0
) -> dict[str, float]:
    """All three gap numbers for one (model, language) cell, keyed as in `METRICS`."""
    return {
        "centroid_distance": centroid_distance(visual, text),
        "probe_accuracy": probe_accuracy(visual, text, groups=groups, seed=seed),
        "mmd2": mmd2_unbiased(visual, text, seed=seed),
    }


# --------------------------------------------------------------------------------------------------
# Pictures: joint t-SNE, KDE contours
# --------------------------------------------------------------------------------------------------


def tsne_2d(visual: Any, text: Any, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Embed both modalities jointly in 2-D (one t-SNE fit, so the two clouds share coordinates).

    Features are first reduced to at most 50 dimensions with PCA, the usual t-SNE preprocessing
    that removes noise dimensions and makes the fit fast on wide (4096-d+) LLM features.
    """
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE

    v, t = _check_pair(visual, text)
    x = np.concatenate([v, t])
    n_comp = min(50, x.shape[1], len(x))
    if x.shape[1] > n_comp:
        x = PCA(n_components=n_comp, random_state=seed).fit_transform(x)
    perplexity = float(max(1.0, min(30.0, (len(x) - 1) / 3.0)))
    y = TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed).fit_transform(x)
    return y[: len(v)], y[len(v) :]


def _kde_contours(ax: Any, points: np.ndarray, color: str, grid: tuple[np.ndarray, np.ndarray]) -> None:
    from scipy.stats import gaussian_kde

    xx, yy = grid
    try:
        density = gaussian_kde(points.T)(np.vstack([xx.ravel(), yy.ravel()])).reshape(xx.shape)
    except (np.linalg.LinAlgError, ValueError):
        return  # degenerate cloud (too few or collinear points): the scatter still shows it
    ax.contour(xx, yy, density, levels=6, colors=color, linewidths=1.0)


def plot_gap(
    panels: Sequence[tuple[str, np.ndarray, np.ndarray]], path: str | Path, title: str = ""
) -> Path:
    """One panel per (title, visual_2d, text_2d): faint points plus KDE contours, visual red, text blue."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 4.2), squeeze=False)
    for ax, (name, v2, t2) in zip(axes[0], panels):
        both = np.concatenate([v2, t2])
        lo, hi = both.min(0), both.max(0)
        pad = 0.1 * np.maximum(hi - lo, 1e-6)
        xx, yy = np.meshgrid(
            np.linspace(lo[0] - pad[0], hi[0] + pad[0], 100), np.linspace(lo[1] - pad[1], hi[1] + pad[1], 100)
        )
        alpha = 0.5 if len(both) < 1000 else 0.15  # faint on big clouds so the contours stay readable
        ax.scatter(v2[:, 0], v2[:, 1], s=3, c="red", alpha=alpha, linewidths=0)
        ax.scatter(t2[:, 0], t2[:, 1], s=3, c="blue", alpha=alpha, linewidths=0)
        _kde_contours(ax, v2, "red", (xx, yy))
        _kde_contours(ax, t2, "blue", (xx, yy))
        ax.set_title(name)
        ax.set_xticks([])
        ax.set_yticks([])
    axes[0][0].plot([], [], color="red", label="visual (projector)")
    axes[0][0].plot([], [], color="blue", label="text (multilingual)")
    axes[0][0].legend(loc="lower left", fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


# --------------------------------------------------------------------------------------------------
# Data: read samples, pick the subsample, load images the way training does
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GapSample:
    """One sample's inputs to the gap analysis."""

    id: str
    """The sample id from the data file."""
    image: str
    """The image path relative to the image root."""
    lang: str
    """Language of the text (the sample's `lang`, a registry code)."""
    text: str
    """The first human turn without `<image>`."""


def to_gap_sample(item: dict, where: str) -> GapSample | None:
    """The gap view of one LLaVA sample, or None for a text-only sample (nothing to compare).

    `where` names the sample in errors (file, line or index, id).
    """
    if not item.get("image"):
        return None
    where = f"{where} (id {item.get('id')})"
    lang = item.get("lang")
    if not lang:
        raise DataError(f"{where}: no 'lang' field; the gap analysis needs each sample's text language")
    try:
        code = parse_languages([str(lang)])[0]
    except UserError as err:
        raise DataError(f"{where}: {err}") from None
    turns = item.get("conversations") or []
    first = next((t for t in turns if isinstance(t, dict) and t.get("from") == "human"), None)
    if first is None or not isinstance(first.get("value"), str):
        raise DataError(f"{where}: no human turn in 'conversations'; add the question as the first turn")
    text = text_without_image(first["value"])
    if not text:
        raise DataError(f"{where}: the first human turn holds only <image>; there is no text to compare")
    return GapSample(id=str(item.get("id")), image=str(item["image"]), lang=code, text=text)


def select_samples(
    items: Sequence[dict], languages: Sequence[str] | None, n: int | None, seed: int
) -> list[GapSample]:
    """Image samples in the requested languages; a seeded subsample of `n` (all if n is None or larger).

    `items` is a sequence of LLaVA samples, e.g. `lrm_llava.data.reader.read_samples(path)`, whose
    `where(i)` names sample i in error messages.
    """
    wanted = set(languages) if languages else None
    where = getattr(items, "where", lambda i: f"sample #{i}")
    samples = []
    for i, item in enumerate(items):
        sample = to_gap_sample(item, where(i))
        if sample is not None and (wanted is None or sample.lang in wanted):
            samples.append(sample)
    return seeded_subsample(samples, n, seed)


def text_without_image(value: str) -> str:
    """A human turn's text with `<image>` removed and the spaces around line breaks trimmed."""
    return re.sub(r"[ \t]*\n[ \t]*", "\n", value.replace(IMAGE_TOKEN, " ").strip()).strip()


def seeded_subsample(items: list, n: int | None, seed: int) -> list:
    """`n` of `items` drawn with `seed`, in their original order (all when n is None or larger)."""
    if n is None or len(items) <= n:
        return items
    return [items[i] for i in sorted(random.Random(seed).sample(range(len(items)), n))]


# --------------------------------------------------------------------------------------------------
# Features
# --------------------------------------------------------------------------------------------------


def _batches(items: Sequence[Any], size: int) -> list[Sequence[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def visual_features(
    model: Any, processor: Any, images: Sequence[str], image_root: str | Path, batch_size: int = 16,
    desc: str = "visual",
) -> np.ndarray:
    """Projector output for each image, mean-pooled over its visual tokens: (len(images), text_hidden).

    Images are read root-confined and preprocessed exactly as in training (`image_aspect_ratio` of
    the model config, LLaVA's "pad" by default: squared with the processor's mean colour).
    """
    import torch
    from tqdm import tqdm

    from lrm_llava.data.images import load_image, resolve_image_path
    from lrm_llava.model.images import image_aspect_ratio, preprocess_images

    cfg = model.config
    aspect = image_aspect_ratio(cfg)  # "pad" (LLaVA-1.5) unless the model was trained otherwise
    device, dtype = next(model.parameters()).device, next(model.parameters()).dtype
    out = []
    with torch.no_grad():
        for batch in tqdm(_batches(images, batch_size), desc=desc, unit="batch"):
            pil = [load_image(resolve_image_path(image_root, p, where=f"image {p}"), where=f"image {p}") for p in batch]
            pixels = preprocess_images(processor, pil, aspect)
            feats = model.model.get_image_features(
                pixel_values=pixels.to(device=device, dtype=dtype),
                vision_feature_layer=cfg.vision_feature_layer,
                vision_feature_select_strategy=cfg.vision_feature_select_strategy,
            ).pooler_output
            out.append(torch.stack([f.float().mean(0) for f in feats]).cpu().numpy())
    return np.concatenate(out).astype(np.float32)


def text_features(
    model: Any, processor: Any, texts: Sequence[str], layer: str = "last", batch_size: int = 16,
    max_length: int = 512, desc: str = "text",
) -> np.ndarray:
    """The language model's representation of each text, mean-pooled over its tokens.

    `layer="last"`: the LM's last hidden state (after its final norm) on the text alone;
    `layer="embed"`: the input-embedding layer's output (the space the projector writes into).
    Special tokens (BOS/EOS) are fed to the LM, as in training, but left out of the mean: an LLM's
    BOS state is an attention sink with an outsized norm that would otherwise dominate every mean.
    """
    import torch
    from tqdm import tqdm

    if layer not in TEXT_LAYERS:
        raise UserError(f"unknown text layer {layer!r}; use one of {', '.join(TEXT_LAYERS)}")
    tok = processor.tokenizer
    tok.padding_side = "right"  # positions of real tokens then do not depend on the batch
    pad_id = tok.pad_token_id if tok.pad_token_id is not None else (tok.eos_token_id or 0)
    device = next(model.parameters()).device
    lm = model.model.language_model
    out = []
    with torch.no_grad():
        for batch in tqdm(_batches(texts, batch_size), desc=desc, unit="batch"):
            enc = [
                tok(t, truncation=True, max_length=max_length, return_special_tokens_mask=True) for t in batch
            ]
            width = max(len(e["input_ids"]) for e in enc)
            ids = torch.full((len(enc), width), pad_id, dtype=torch.long)
            attn = torch.zeros((len(enc), width), dtype=torch.long)
            pool = torch.zeros((len(enc), width), dtype=torch.float32)
            for i, e in enumerate(enc):
                k = len(e["input_ids"])
                ids[i, :k] = torch.tensor(e["input_ids"])
                attn[i, :k] = 1
                special = torch.tensor(e.get("special_tokens_mask") or [0] * k, dtype=torch.bool)
                keep = ~special if (~special).any() else torch.ones(k, dtype=torch.bool)
                pool[i, :k] = keep.float()
            ids, attn = ids.to(device), attn.to(device)
            if layer == "embed":
                hidden = model.get_input_embeddings()(ids)
            else:
                hidden = lm(input_ids=ids, attention_mask=attn).last_hidden_state
            w = pool.to(device)[..., None]
            out.append(((hidden.float() * w).sum(1) / w.sum(1)).cpu().numpy())
    return np.concatenate(out).astype(np.float32)


# --------------------------------------------------------------------------------------------------
# The job
# --------------------------------------------------------------------------------------------------


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
    """Samples drawn (seeded, without replacement) from the filtered data; None = all (paper: 5,000)."""
    languages: str = "all"
    """Languages kept: "all", "non-english" or a comma list of registry codes."""
    per_language: bool = False
    """Also draw one t-SNE/KDE figure per language (metrics are always reported per language)."""
    text_layer: str = "last"
    """Text representation: "last" (LM last hidden state, default) or "embed" (input embeddings)."""
    batch_size: int = 16
    """Images or texts per forward pass."""
    device: str = "auto"
    """Torch device ("auto" = cuda if available, else cpu)."""
    seed: int = 0
    """Seed of the subsample, the probe folds, the bandwidth subsample and t-SNE."""
    plot: bool = True
    """Draw the t-SNE/KDE figures (the slowest part on large runs)."""


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


def _pick_device(device: str) -> Any:
    import torch

    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except RuntimeError:
        raise UserError(f"unknown --device {device!r}; use auto, cpu, cuda or cuda:N") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise UserError("--device cuda asked for, but torch sees no CUDA device; use --device cpu")
    return dev


def load_llava(path: str | Path, device: Any) -> tuple[Any, Any]:
    """A Llava folder as (model in eval mode on `device`, processor); clear errors for bad folders."""
    from transformers import AutoModelForImageTextToText, AutoProcessor

    folder = Path(path)
    if not (folder / "config.json").is_file():
        raise UserError(f"{folder}: not a Hugging Face model folder (no config.json); pass a Llava checkpoint")
    try:
        processor = AutoProcessor.from_pretrained(folder)
        model = AutoModelForImageTextToText.from_pretrained(folder)
    except (OSError, ValueError) as err:
        raise UserError(f"{folder}: cannot load as a Llava model + processor ({err})") from None
    if not hasattr(model, "model") or not hasattr(model.model, "multi_modal_projector"):
        raise UserError(f"{folder}: {type(model).__name__} has no multi_modal_projector; expected a Llava model")
    if getattr(processor, "image_processor", None) is None or getattr(processor, "tokenizer", None) is None:
        raise UserError(f"{folder}: the processor lacks an image processor or tokenizer; save a LlavaProcessor")
    return model.to(device).eval(), processor


def _signature(cfg: GapConfig, model_path: str, samples: Sequence[GapSample]) -> str:
    h = hashlib.sha256()
    model_dir = Path(model_path).resolve()
    stamps = sorted(
        (p.name, p.stat().st_size, int(p.stat().st_mtime)) for p in model_dir.iterdir() if p.is_file()
    )
    h.update(json.dumps([str(model_dir), stamps, cfg.text_layer, str(Path(cfg.image_root).resolve())]).encode())
    for s in samples:
        h.update(json.dumps(asdict(s), ensure_ascii=False).encode())
    return h.hexdigest()


def model_features(cfg: GapConfig, model_path: str, name: str, samples: Sequence[GapSample]) -> tuple[np.ndarray, np.ndarray]:
    """(visual, text) features, one row per sample; cached in out/features/<name>.npz for reruns."""
    import torch

    cache = Path(cfg.out) / "features" / f"{name}.npz"
    sig = _signature(cfg, model_path, samples)
    if cache.is_file():
        with np.load(cache, allow_pickle=False) as z:
            if str(z["signature"]) == sig:
                print(f"[gap] {name}: reusing features from {cache}")
                return z["visual"], z["text"]
    device = _pick_device(cfg.device)
    model, processor = load_llava(model_path, device)
    # Each image is encoded once even when several languages share it.
    unique = list(dict.fromkeys(s.image for s in samples))
    vis = visual_features(model, processor, unique, cfg.image_root, cfg.batch_size, desc=f"{name} visual")
    row = {p: i for i, p in enumerate(unique)}
    visual = vis[[row[s.image] for s in samples]]
    text = text_features(
        model, processor, [s.text for s in samples], cfg.text_layer, cfg.batch_size, desc=f"{name} text"
    )
    del model
    if device.type == "cuda":
        torch.cuda.empty_cache()
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
    """gap.json (list of rows), gap.csv and gap.md (one line per model and language)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "gap.json", out / "gap.csv", out / "gap.md"]
    paths[0].write_text(json.dumps(list(rows), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    with paths[1].open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=["model", "language", "metric", "value"])
        writer.writeheader()
        writer.writerows(rows)
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
    paths[2].write_text("\n".join(lines) + "\n", encoding="utf-8")
    return paths


def run_gap(cfg: GapConfig) -> list[dict]:
    """The `analyze gap` job: features per model, metrics per language, tables and figures in cfg.out."""
    if not cfg.models:
        raise UserError("give at least one --model folder")
    if cfg.text_layer not in TEXT_LAYERS:
        raise UserError(f"unknown --text-layer {cfg.text_layer!r}; use one of {', '.join(TEXT_LAYERS)}")
    if cfg.n is not None and cfg.n < 2:
        raise UserError(f"--n must be at least 2, got {cfg.n}")
    names = _display_names(cfg.models, cfg.names)
    if not Path(cfg.image_root).is_dir():
        raise UserError(f"{cfg.image_root}: image root not found; pass the folder images are relative to")
    from lrm_llava.data.reader import read_samples

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


# --------------------------------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------------------------------


def _cli(args: argparse.Namespace) -> int:
    run_gap(
        GapConfig(
            models=args.model, names=args.name or [], data=args.data, image_root=args.image_root,
            out=args.out, n=None if args.n <= 0 else args.n, languages=args.languages,
            per_language=args.per_language, text_layer=args.text_layer, batch_size=args.batch_size,
            device=args.device, seed=args.seed, plot=not args.no_plot,
        )
    )
    return 0


def add_gap_parser(analyze_subparsers: Any) -> argparse.ArgumentParser:
    """Add `gap` to the `analyze` command's subparsers; the parser's `func` runs `run_gap`."""
    p = analyze_subparsers.add_parser(
        "gap",
        help="modality gap between projected visual and multilingual text features (t-SNE/KDE + numbers)",
        description="Mean-pooled projected visual features vs mean-pooled multilingual text features of "
        "the same samples: t-SNE/KDE figures (visual red, text blue) and three gap numbers "
        "(centroid distance / spread, linear-probe accuracy, RBF MMD^2) per model and language.",
    )
    p.add_argument("--model", action="append", required=True, metavar="DIR",
                   help="Llava model folder; repeat for several models (one panel each)")
    p.add_argument("--name", action="append", metavar="NAME", help="display name per --model, in order")
    p.add_argument("--data", required=True, metavar="FILE", help="multilingual LLaVA JSON/JSONL (with 'lang')")
    p.add_argument("--image-root", required=True, metavar="DIR", help="folder the image paths are relative to")
    p.add_argument("--n", type=int, default=5000, help="samples to draw, seeded (0 = all; default 5000)")
    p.add_argument("--languages", default="all", help="'all', 'non-english' or codes like zh,it,fr")
    p.add_argument("--out", default="runs/gap", metavar="DIR", help="output folder (default runs/gap)")
    p.add_argument("--per-language", action="store_true", help="also draw one figure per language")
    p.add_argument("--text-layer", choices=TEXT_LAYERS, default="last",
                   help="text features: LM last hidden state (default) or input embeddings")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--device", default="auto", help="torch device (default: cuda if available)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-plot", action="store_true", help="numbers only, skip t-SNE and figures")
    p.set_defaults(func=_cli)
    return p
