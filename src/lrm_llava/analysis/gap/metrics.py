"""The gap metrics: pure functions of two feature arrays (rows = samples, columns = dimensions).

numpy and scikit-learn only, no model: golden values are hand-computable (see the tests).

- `centroid_distance`: ||mu_v - mu_t|| / sqrt((tr Cov_v + tr Cov_t) / 2);
- `probe_accuracy`: cross-validated accuracy of a logistic-regression probe (0.5 = chance);
- `mmd2_unbiased`: unbiased RBF-kernel MMD^2, bandwidth by the median heuristic (`median_bandwidth`);
- `gap_metrics`: all three for one (model, language) cell, keyed as in `METRICS`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

METRICS = ("centroid_distance", "probe_accuracy", "mmd2")
"""The gap metrics, in the order tables list them."""


def _as_2d(x: Any, name: str) -> np.ndarray:
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[0] == 0:
        raise ValueError(f"{name} must be a non-empty 2-D array (samples x dims), got shape {arr.shape}")
    return arr


def check_pair(visual: Any, text: Any) -> tuple[np.ndarray, np.ndarray]:
    """Both feature arrays as float64 2-D arrays of the same width (ValueError otherwise)."""
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
    v, t = check_pair(visual, text)
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

    v, t = check_pair(visual, text)
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
    v, t = check_pair(visual, text)
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
    v, t = check_pair(visual, text)
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
