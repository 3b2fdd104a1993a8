"""What the exported lmms-eval tasks call (their generated utils.py forwards here): localized prompts,
per-language parsing and official scoring, the same as `lrm-llava eval`.

A doc is a row of the exported dataset (`bench export --format hf`, the lmms-lab columns). Prompts
equal `bench.prompts.build_prompt` for the same question when the YAML's post_prompt is left as
written (a newline and the registry's suffix in the task's language).
"""

from __future__ import annotations

import math

from lrm_llava.bench.common import is_missing
from lrm_llava.bench.parse import parse_output
from lrm_llava.languages import get


def post_prompt(bench: str, lang: str) -> str:
    """The answer-format suffix of the task's prompts (LLaVA-1.5's, in the task's language)."""
    language = get(lang)
    return language.short_answer_suffix if bench in ("mme", "pope") else language.option_suffix


def doc_to_visual(bench: str, doc: dict) -> list:
    """The doc's image(s) as RGB PIL images (SEED's `image` column is a list)."""
    images = doc["image"] if bench == "seed" else [doc["image"]]
    return [img.convert("RGB") for img in images]


def options(bench: str, doc: dict) -> dict[str, str]:
    """Option letter -> text of an MMBench or SEED doc (missing options left out)."""
    if bench == "mmbench":
        return {k: str(doc[k]).strip() for k in "ABCD" if k in doc and not is_missing(doc[k])}
    if bench == "seed":
        return {k.upper(): str(doc[f"choice_{k}"]).strip() for k in "abcd"
                if f"choice_{k}" in doc and not is_missing(doc[f"choice_{k}"])}
    return {}


def question(bench: str, lang: str, doc: dict) -> str:
    """The question without an answer-format suffix."""
    if bench == "mme":
        from lrm_llava.bench.mme import core_question

        return core_question(str(doc["question"]), lang)
    if bench == "pope":
        from lrm_llava.bench.pope import core_question

        return core_question(str(doc["question"]), lang)
    return str(doc["question"]).strip()


def doc_to_text(bench: str, lang: str, doc: dict, kwargs: dict | None = None) -> str:
    """`{pre_prompt}{prompt lines}{post_prompt}`; MMBench adds the hint line and, as SEED, the
    options present."""
    kwargs = kwargs or {}
    pre = kwargs.get("pre_prompt", "") or ""
    post = kwargs.get("post_prompt")
    if post is None:
        post = "\n" + post_prompt(bench, lang)
    lines = []
    if bench == "mmbench" and not is_missing(doc.get("hint")):
        lines.append(str(doc["hint"]).strip())
    lines.append(question(bench, lang, doc))
    lines += [f"{k}. {v}" for k, v in options(bench, doc).items()]
    return f"{pre}{chr(10).join(lines)}{post}"


def _dimension(doc: dict) -> str:
    from lrm_llava.bench.seed import DIMENSIONS

    if doc.get("question_type"):
        return str(doc["question_type"])
    names = {str(v): k for k, v in DIMENSIONS.items()}
    return names.get(str(doc.get("question_type_id")), str(doc.get("question_type_id")))


def row(bench: str, lang: str, doc: dict, output: str) -> dict:
    """The prediction row `lrm-llava eval` would write for this doc and reply (scoring fields)."""
    opts = options(bench, doc)
    out = {"benchmark": bench, "language": lang, "output": output, "options": opts or None, "split": None,
           "category": None, "group": None,
           "parsed": parse_output(bench, output, lang, opts)}
    if bench == "mme":
        image = str(doc["question_id"]).rsplit(".", 1)[0]
        out.update(question_id=str(doc["question_id"]), answer=str(doc["answer"]).strip().lower(),
                   category=str(doc["category"]), group=image)
    elif bench == "pope":
        out.update(question_id=str(doc["question_id"]), answer=str(doc["answer"]).strip().lower(),
                   split=str(doc["category"]))
    elif bench == "mmbench":
        index = int(doc["index"])
        out.update(question_id=str(index), answer=str(doc["answer"]).strip(), category=doc.get("category"),
                   group=str(index % 1_000_000))
    else:
        out.update(question_id=str(doc["question_id"]), answer=str(doc["answer"]).strip(),
                   category=_dimension(doc))
    return out


def process_results(bench: str, lang: str, doc: dict, results: list[str]) -> dict[str, dict]:
    """One prediction row per metric of the task (lmms-eval hands each list to its aggregation)."""
    from lrm_llava.bench.export import METRICS

    r = row(bench, lang, doc, str(results[0]) if results else "")
    return {metric: r for metric in METRICS[bench]}


def aggregate(bench: str, metric: str, results: list[dict]) -> float:
    """The official score `metric` of the rows (as `lrm-llava eval` reports it); NaN when the rows
    do not define it (MME cognition without cognition subtasks)."""
    from lrm_llava.bench.formats import MODULES

    for split, name, value in MODULES[bench].score(list(results)):
        if split is None and name == metric:
            return value
    return math.nan
