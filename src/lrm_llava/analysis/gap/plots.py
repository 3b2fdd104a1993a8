"""The gap pictures: one joint t-SNE of both modalities, drawn as points plus KDE contours
(visual red, text blue), one panel per model. scikit-learn, scipy and matplotlib are imported
inside the functions."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from lrm_llava.analysis.gap.metrics import check_pair


def tsne_2d(visual: Any, text: Any, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Embed both modalities jointly in 2-D (one t-SNE fit, so the two clouds share coordinates).

    Features are first reduced to at most 50 dimensions with PCA, the usual t-SNE preprocessing
    that removes noise dimensions and makes the fit fast on wide (4096-d+) LLM features.
    """
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE

    v, t = check_pair(visual, text)
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
