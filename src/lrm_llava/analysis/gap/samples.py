"""Which samples the analyses look at, and what they read from each: the one sample contract of
`analyze gap` and `analyze reliance`.

Samples come from `lrm_llava.data.read_samples` (validated by `data.reader.validate_sample`);
`first_exchange` takes their first question (without `<image>`) and answer, `sample_language` their
`lang`, and `seeded_subsample` draws the same subsample for the same seed on every run. Errors are
`DataError`s naming the file, the line or index and the sample id, as the reader's do.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from lrm_llava.chat.templates import IMAGE_TOKEN
from lrm_llava.errors import DataError, UserError
from lrm_llava.languages import parse_languages


def _where(where: str, sample: dict) -> str:
    return f"{where} (id {sample.get('id')!r})"


def text_without_image(value: str) -> str:
    """A human turn's text with `<image>` removed and the spaces around line breaks trimmed."""
    return re.sub(r"[ \t]*\n[ \t]*", "\n", value.replace(IMAGE_TOKEN, " ").strip()).strip()


def first_exchange(sample: dict, where: str) -> tuple[str, str]:
    """(question, answer) of a sample's first round: the first human turn without `<image>`
    (`text_without_image`) and the first gpt turn as written.

    The sample is checked with `validate_sample` first (a no-op cost for what `read_samples`
    returns, and the same rules for samples built in code); a question that is only `<image>`
    is refused, since there is nothing to ask or compare."""
    from lrm_llava.data.reader import validate_sample

    validate_sample(sample, where)
    turns = sample["conversations"]
    question = text_without_image(turns[0]["value"])
    if not question:
        raise DataError(f"{_where(where, sample)}: the first human turn holds only {IMAGE_TOKEN}; there is no "
                        "question to ask. Fix: add the question text to the first human turn, or drop the sample.")
    return question, turns[1]["value"]


def sample_language(sample: dict, where: str, default: str | None = None) -> str:
    """The registry code of the sample's `lang` (`default` when it has none; DataError if neither)."""
    lang = sample.get("lang") or default
    if not lang:
        raise DataError(f"{_where(where, sample)}: no 'lang' field; this analysis needs each sample's text "
                        "language. Fix: add \"lang\" (a registry code such as de or zh) to every sample.")
    try:
        return parse_languages([str(lang)])[0]
    except UserError as err:
        raise DataError(f"{_where(where, sample)}: {err}") from None


def where_of(items: Sequence[Any]):
    """`items.where` (file and line of sample i, as `read_samples` gives) or "sample #i"."""
    return getattr(items, "where", lambda i: f"sample #{i}")


def seeded_subsample(items: list, n: int | None, seed: int) -> list:
    """`n` of `items` drawn with `seed`, in their original order (all when n is None or larger)."""
    if n is None or len(items) <= n:
        return items
    return [items[i] for i in sorted(random.Random(seed).sample(range(len(items)), n))]


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

    `where` names the sample in errors (file, line or index); the sample needs a `lang`.
    """
    if not item.get("image"):
        return None
    code = sample_language(item, where)
    text, _ = first_exchange(item, where)
    return GapSample(id=str(item.get("id")), image=str(item["image"]), lang=code, text=text)


def select_samples(
    items: Sequence[dict], languages: Sequence[str] | None, n: int | None, seed: int
) -> list[GapSample]:
    """Image samples in the requested languages; a seeded subsample of `n` (all if n is None or larger).

    `items` is a sequence of LLaVA samples, e.g. `lrm_llava.data.read_samples(path)`, whose
    `where(i)` names sample i in error messages.
    """
    wanted = set(languages) if languages else None
    where = where_of(items)
    samples = []
    for i, item in enumerate(items):
        sample = to_gap_sample(item, where(i))
        if sample is not None and (wanted is None or sample.lang in wanted):
            samples.append(sample)
    return seeded_subsample(samples, n, seed)
