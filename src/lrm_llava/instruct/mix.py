"""Language and task mixing: which English sample becomes which (language, task) sample.

Given `n_english` English samples, `round(ratio * n_english)` non-English samples are made and
split evenly over the languages (the first `total % L` languages get one more). Each language draws
its source samples from the translatable pool with its own seeded generator (without replacement
while the pool lasts, then another shuffled pass), so adding a language does not change the others.
Task counts per language follow the weights by largest remainder (exact, not sampled); BVQA slots
alternate between its two directions.

    >>> plan = plan_mix(4, pool=[0, 1, 2, 3], langs=["de", "zh"], ratio=1.0,
    ...                 weights={"mvqa": 1.0}, seed=0)
    >>> [(a.lang, a.task) for a in plan]
    [('de', 'mvqa'), ('de', 'mvqa'), ('zh', 'mvqa'), ('zh', 'mvqa')]
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Assignment:
    """One planned non-English sample."""

    index: int
    """Index of the English source sample."""
    lang: str
    """The non-English language of the sample."""
    task: str
    """"mvqa", "mvqa_caption", "epvqa" or "bvqa"."""
    variant: str = ""
    """BVQA direction: "to_la" (English question) or "to_en" (English answer); "" otherwise."""
    copy: int = 0
    """How many times this source was drawn before for the same language (0 = first)."""


def split_evenly(total: int, parts: int) -> list[int]:
    """`total` split into `parts` counts differing by at most one, larger ones first."""
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


def apportion(total: int, weights: dict[str, float]) -> dict[str, int]:
    """Integer counts proportional to `weights` summing to `total` (largest remainder, ties by order)."""
    positive = {k: w for k, w in weights.items() if w > 0}
    if not positive or total <= 0:
        return {k: 0 for k in weights}
    norm = sum(positive.values())
    exact = {k: total * w / norm for k, w in positive.items()}
    counts = {k: int(v) for k, v in exact.items()}
    order = sorted(positive, key=lambda k: (-(exact[k] - counts[k]), list(positive).index(k)))
    for k in order[: total - sum(counts.values())]:
        counts[k] += 1
    return {k: counts.get(k, 0) for k in weights}


def draw(pool: list[int], n: int, rng: random.Random) -> list[tuple[int, int]]:
    """`n` (index, copy) pairs from `pool`: shuffled passes over the pool, copy = pass number."""
    out: list[tuple[int, int]] = []
    passes = 0
    while len(out) < n and pool:
        order = list(pool)
        rng.shuffle(order)
        out.extend((i, passes) for i in order[: n - len(out)])
        passes += 1
    return out


def plan_mix(
    n_english: int,
    pool: list[int],
    langs: list[str],
    ratio: float,
    weights: dict[str, float],
    seed: int,
) -> list[Assignment]:
    """The non-English samples to build, grouped by language in `langs` order."""
    if not langs or ratio <= 0:
        return []
    total = round(ratio * n_english)
    plan: list[Assignment] = []
    for lang, n in zip(langs, split_evenly(total, len(langs))):
        rng = random.Random(f"{seed}:{lang}")
        picks = draw(sorted(pool), n, rng)
        tasks: list[str] = []
        for task, count in apportion(len(picks), weights).items():
            tasks.extend([task] * count)
        rng.shuffle(tasks)
        bvqa_seen = 0
        for (index, copy), task in zip(picks, tasks):
            variant = ""
            if task == "bvqa":
                variant = "to_la" if bvqa_seen % 2 == 0 else "to_en"
                bvqa_seen += 1
            plan.append(Assignment(index=index, lang=lang, task=task, variant=variant, copy=copy))
    return plan
