"""From prediction rows to tidy result rows `{model, benchmark, split, language, metric, value}`.

Every reply is parsed afresh from its `output` (so an improved parser rescores old runs), then each
(model, benchmark, language) is scored by its benchmark's official rule (`mme.score`, ...). Added
to each: `n` (questions scored), `unparsed` (replies no answer could be read from; they count as
wrong), `chance[<metric>]` (what a uniform random guesser is expected to score on the same
questions, for the headline metric and POPE accuracy), and, when lingua is installed, `fidelity`
(% of replies in the language asked) with `fidelity_n` (replies that carried a language); fidelity
is also pooled over benchmarks under benchmark "all".

Replies are parsed in `parse_mode` (`bench.parse.PARSE_MODES`, default `DEFAULT_PARSE_MODE`). The
official mode also follows the official scripts on missing predictions: an MMBench CircularEval
group whose base row (index < 1,000,000) is missing while rotations of it are present is dropped,
as VLMEvalKit does (`drop_groups_without_base`); a SEED question without a prediction counts as
wrong (LLaVA's converter) when the caller adds it as a row without output (`eval --predictions
... --bench-root DIR` does).
"""

from __future__ import annotations

from collections import defaultdict

from lrm_llava.bench import fidelity as fid
from lrm_llava.bench import mmbench, mme, pope, seed
from lrm_llava.bench.parse import DEFAULT_PARSE_MODE, OFFICIAL, check_parse_mode, is_unparsed, parse_output
from lrm_llava.languages import ALL_CODES

SCORERS = {"mme": mme.score, "pope": pope.score, "mmbench": mmbench.score, "seed": seed.score}
CHANCE = {"mme": mme.chance, "pope": pope.chance, "mmbench": mmbench.chance, "seed": seed.chance}
"""Expected headline (and secondary) numbers of a uniform random guesser on the same questions."""

HEADLINE: dict[str, tuple[str, str]] = {
    "mme": ("perception", "MME perception score (sum of the perception subtasks present, max 2000)"),
    "pope": ("f1", "POPE F1 (%), mean of the splits present"),
    "mmbench": ("overall", "MMBench CircularEval accuracy (%)"),
    "seed": ("overall", "SEED-Bench image accuracy (%), pooled over questions"),
}
"""The number the paper's Table 1 shows per benchmark (metric with split None), and its caption."""

SECONDARY: dict[str, tuple[str, str]] = {
    "pope": ("accuracy", "POPE accuracy (%), mean of the splits present; unlike F1 it gives a model that "
             "answers \"yes\" to everything no credit (50)"),
}
"""Numbers shown beside the headline in experiment tables, where the headline alone misleads."""


def chance_metric(metric: str) -> str:
    """Name of the row holding a uniform guesser's expected `metric`: `chance[<metric>]`."""
    return f"chance[{metric}]"


def reparse(rows: list[dict], parse_mode: str = DEFAULT_PARSE_MODE) -> list[dict]:
    """Copies of the rows with `parsed` recomputed from `output` (in `parse_mode`)."""
    return [{**r, "parsed": parse_output(r["benchmark"], r.get("output") or "", r["language"], r.get("options"),
                                         parse_mode)}
            for r in rows]


def _is_rotation(question_id) -> bool:
    text = str(question_id)
    return text.isdigit() and int(text) >= 1_000_000


def drop_groups_without_base(rows: list[dict]) -> list[dict]:
    """MMBench rows without the CircularEval groups whose base row is missing (only rotations,
    index >= 1,000,000, present), as VLMEvalKit evaluates the groups of the base rows only."""
    with_base = {str(r.get("group")) for r in rows if str(r["question_id"]) == str(r.get("group"))}
    rotations_only = {str(r.get("group")) for r in rows if str(r.get("group")) not in with_base
                      and _is_rotation(r["question_id"])}
    return [r for r in rows if str(r.get("group")) not in rotations_only]


def has_answer(row: dict) -> bool:
    """Whether a prediction row carries a ground truth (a test split, such as MMBench's, has none)."""
    return not (row.get("answer") is None or str(row["answer"]).strip() == "")


def unanswered(rows: list[dict]) -> dict[tuple[str, str, str], int]:
    """(model, benchmark, language) -> how many of its rows have no ground truth (not scored)."""
    out: dict[tuple[str, str, str], int] = defaultdict(int)
    for r in rows:
        if not has_answer(r):
            out[(r.get("model") or "model", r["benchmark"], r["language"])] += 1
    return dict(out)


def score_predictions(rows: list[dict], with_fidelity: bool = True,
                      parse_mode: str = DEFAULT_PARSE_MODE) -> list[dict]:
    """Tidy result rows for every (model, benchmark, language) present in `rows`, replies parsed in
    `parse_mode` ("official" or "lenient"). Rows without a ground truth (`has_answer`: a test split)
    are not scored; `bench.submission` makes the files their benchmark's server scores."""
    check_parse_mode(parse_mode)
    groups: dict[tuple[str, str, str], list[dict]] = defaultdict(list)
    for r in reparse([r for r in rows if has_answer(r)], parse_mode):
        groups[(r.get("model") or "model", r["benchmark"], r["language"])].append(r)
    if parse_mode == OFFICIAL:
        for key in [k for k in groups if k[1] == "mmbench"]:
            groups[key] = drop_groups_without_base(groups[key])
            if not groups[key]:
                del groups[key]
    out: list[dict] = []
    pooled: dict[tuple[str, str], list[str]] = defaultdict(list)
    use_fid = with_fidelity and fid.available()
    for (model, bench, lang), sel in sorted(groups.items(), key=_order):
        def add(split, metric, value, bench=bench, lang=lang, model=model):
            out.append({"model": model, "benchmark": bench, "split": split, "language": lang,
                        "metric": metric, "value": float(value)})

        for split, metric, value in SCORERS[bench](sel):
            add(split, metric, value)
        for metric, value in CHANCE[bench](sel).items():
            add(None, chance_metric(metric), value)
        add(None, "n", len(sel))
        add(None, "unparsed", sum(is_unparsed(bench, r.get("output") or "", lang, r.get("options"), parse_mode)
                                  for r in sel))
        if use_fid:
            outputs = [r.get("output") or "" for r in sel]
            f = fid.fidelity(outputs, lang)
            if f["n"]:  # no reply carried a language (e.g. letters only): no share to report
                add(None, "fidelity", f["share"])
            add(None, "fidelity_n", f["n"])
            pooled[(model, lang)] += outputs
    for (model, lang), outputs in pooled.items():
        f = fid.fidelity(outputs, lang)
        if f["n"]:
            out.append({"model": model, "benchmark": "all", "split": None, "language": lang,
                        "metric": "fidelity", "value": f["share"]})
        out.append({"model": model, "benchmark": "all", "split": None, "language": lang,
                    "metric": "fidelity_n", "value": f["n"]})
    return out


def _order(entry):
    (model, bench, lang), _ = entry
    b = list(SCORERS).index(bench) if bench in SCORERS else 99
    la = ALL_CODES.index(lang) if lang in ALL_CODES else 99
    return (model, b, la, lang)


def headline(results: list[dict], model: str, benchmark: str, language: str, metric: str | None = None) -> float | None:
    """The Table 1 number for one cell (or the split-pooled `metric`), or None when not evaluated."""
    metric = metric or HEADLINE[benchmark][0]
    for r in results:
        if (r["model"], r["benchmark"], r["language"], r["split"], r["metric"]) == (
            model, benchmark, language, None, metric
        ):
            return r["value"]
    return None
