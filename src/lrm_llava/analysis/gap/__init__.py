"""Modality gap: how far the projected visual features sit from the multilingual text features.

The paper's Figure 5 mean-pools the projector's output for each image and the language model's
representation of each sample's (multilingual) text, maps both to 2-D with t-SNE and draws their
kernel density contours (visual red, text blue). A picture proves little, so this package also
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

One module per job:

- `metrics`: the three numbers, pure functions of two feature arrays (numpy / scikit-learn);
- `samples`: which samples, and their first question, language and seeded subsample (shared with
  `analysis.reliance`);
- `features`: runs a model (loaded by `lrm_llava.infer.load_model`) for the pooled features;
- `plots`: joint t-SNE and the KDE figure;
- `job`: `GapConfig`, `run_gap` (feature cache, rows per language, tables);
- `cli`: `add_gap_parser`, the `analyze gap` subcommand.

Heavy libraries (torch, transformers, scikit-learn, matplotlib) are imported inside the functions
that use them, so that building the CLI parser stays fast.
"""

from lrm_llava.analysis.gap.cli import add_gap_parser
from lrm_llava.analysis.gap.features import TEXT_LAYERS, extract_features, text_features, visual_features
from lrm_llava.analysis.gap.job import (
    GAP_DTYPES,
    MIN_SAMPLES,
    GapConfig,
    check_config,
    gap_rows,
    model_features,
    run_gap,
    write_tables,
)
from lrm_llava.analysis.gap.metrics import (
    METRICS,
    centroid_distance,
    gap_metrics,
    median_bandwidth,
    mmd2_unbiased,
    probe_accuracy,
)
from lrm_llava.analysis.gap.plots import plot_gap, tsne_2d
from lrm_llava.analysis.gap.samples import (
    GapSample,
    first_exchange,
    sample_language,
    seeded_subsample,
    select_samples,
    text_without_image,
    to_gap_sample,
)

__all__ = [
    "GAP_DTYPES",
    "METRICS",
    "MIN_SAMPLES",
    "TEXT_LAYERS",
    "GapConfig",
    "GapSample",
    "add_gap_parser",
    "centroid_distance",
    "check_config",
    "extract_features",
    "first_exchange",
    "gap_metrics",
    "gap_rows",
    "median_bandwidth",
    "mmd2_unbiased",
    "model_features",
    "plot_gap",
    "probe_accuracy",
    "run_gap",
    "sample_language",
    "seeded_subsample",
    "select_samples",
    "text_features",
    "text_without_image",
    "to_gap_sample",
    "tsne_2d",
    "visual_features",
    "write_tables",
]
