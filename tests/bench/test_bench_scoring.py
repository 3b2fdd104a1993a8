"""Hand-computed prediction sets scored exactly by the official rules."""

from __future__ import annotations

import pytest

from lrm_llava.bench.scoring import headline, score_predictions


def _row(bench, qid, output, answer, lang="en", **kw):
    return {"model": "m", "benchmark": bench, "question_id": qid, "language": lang, "output": output,
            "answer": answer, "split": kw.get("split"), "category": kw.get("category"), "group": kw.get("group"),
            "options": kw.get("options"), "prompt": "", "parsed": None}


def _metrics(results, bench, lang="en"):
    return {(r["split"], r["metric"]): r["value"] for r in results if r["benchmark"] == bench and r["language"] == lang}


def test_mme_acc_acc_plus_and_sums():
    rows = [
        # existence: image e1 both right, image e2 one right -> acc 3/4, acc+ 1/2 -> 75 + 50
        _row("mme", "existence/e1/0", "Yes", "yes", category="existence", group="existence/e1"),
        _row("mme", "existence/e1/1", "No.", "no", category="existence", group="existence/e1"),
        _row("mme", "existence/e2/0", "Yes", "yes", category="existence", group="existence/e2"),
        _row("mme", "existence/e2/1", "Yes", "no", category="existence", group="existence/e2"),
        # artwork: one right, one unparseable (wrong) -> 50 + 0
        _row("mme", "artwork/a1/0", "yes", "yes", category="artwork", group="artwork/a1"),
        _row("mme", "artwork/a1/1", "It is purple.", "no", category="artwork", group="artwork/a1"),
        # code_reasoning (cognition): both right -> 100 + 100
        _row("mme", "code_reasoning/c1/0", "Yes", "yes", category="code_reasoning", group="code_reasoning/c1"),
        _row("mme", "code_reasoning/c1/1", "No", "no", category="code_reasoning", group="code_reasoning/c1"),
    ]
    m = _metrics(score_predictions(rows, with_fidelity=False), "mme")
    assert m[(None, "acc[existence]")] == 75.0
    assert m[(None, "acc_plus[existence]")] == 50.0
    assert m[(None, "score[existence]")] == 125.0
    assert m[(None, "score[artwork]")] == 50.0
    assert m[(None, "perception")] == 175.0
    assert m[(None, "cognition")] == 200.0
    assert m[(None, "total")] == 375.0
    assert m[(None, "unparsed")] == 1.0 and m[(None, "n")] == 8.0


def test_mme_in_czech_with_english_fallback():
    rows = [_row("mme", "existence/e/0", "Ano.", "yes", "cs", category="existence", group="existence/e"),
            _row("mme", "existence/e/1", "No.", "no", "cs", category="existence", group="existence/e")]
    m = _metrics(score_predictions(rows, with_fidelity=False), "mme", "cs")
    assert m[(None, "score[existence]")] == 200.0


def test_pope_metrics_per_split_and_mean():
    labels_preds = {
        # TP=2 FN=1 TN=1 FP=1: acc 3/5, precision 2/3, recall 2/3, F1 2/3, yes-ratio 3/5
        "random": [("yes", "Yes"), ("yes", "No, there is not."), ("no", "No"), ("no", "Yes, there is."), ("yes", "Yes")],
        # TP=0 FN=1 TN=1 FP=0: precision/recall/F1 0 (no positive predictions), yes-ratio 0
        "adversarial": [("yes", "No"), ("no", "No")],
    }
    rows = [_row("pope", str(i), out, lab, split=split)
            for split, pairs in labels_preds.items() for i, (lab, out) in enumerate(pairs)]
    m = _metrics(score_predictions(rows, with_fidelity=False), "pope")
    assert m[("random", "accuracy")] == pytest.approx(60.0)
    assert m[("random", "precision")] == pytest.approx(200 / 3)
    assert m[("random", "recall")] == pytest.approx(200 / 3)
    assert m[("random", "f1")] == pytest.approx(200 / 3)
    assert m[("random", "yes_ratio")] == pytest.approx(60.0)
    assert m[("adversarial", "accuracy")] == 50.0
    assert m[("adversarial", "f1")] == 0.0 and m[("adversarial", "yes_ratio")] == 0.0
    assert m[(None, "accuracy")] == pytest.approx(55.0)
    assert m[(None, "f1")] == pytest.approx(100 / 3)


def test_pope_unbalanced_precision_recall():
    # labels yes,yes,yes,no ; preds yes,yes,no,yes -> TP 2 FP 1 FN 1 TN 0
    pairs = [("yes", "Yes"), ("yes", "Yes"), ("yes", "No"), ("no", "Yes")]
    rows = [_row("pope", str(i), o, lab, "de", split="popular") for i, (lab, o) in enumerate(pairs)]
    m = _metrics(score_predictions(rows, with_fidelity=False), "pope", "de")
    assert m[("popular", "precision")] == pytest.approx(200 / 3)
    assert m[("popular", "recall")] == pytest.approx(200 / 3)
    assert m[("popular", "accuracy")] == 50.0
    assert m[("popular", "yes_ratio")] == 75.0


def _mmb(qid, out, answer, group, cat, n=4):
    opts = dict(zip("ABCD"[:n], ["red", "blue", "green", "yellow"][:n]))
    return _row("mmbench", qid, out, answer, category=cat, group=group, options=opts)


def test_mmbench_circular_eval_one_wrong_rotation():
    rows = [
        # question 0 (4 rotations): rotation 2 wrong -> the question is wrong
        _mmb("0", "A", "A", "0", "attr"), _mmb("1000000", "D", "D", "0", "attr"),
        _mmb("2000000", "B", "C", "0", "attr"), _mmb("3000000", "B", "B", "0", "attr"),
        # question 1 (2 options, 2 rotations): both right
        _mmb("1", "B", "B", "1", "scene", n=2), _mmb("1000001", "A.", "A", "1", "scene", n=2),
        # question 2 (3 options): all right, one by option text
        _mmb("2", "C", "C", "2", "attr", n=3), _mmb("1000002", "It is blue.", "B", "2", "attr", n=3),
        _mmb("2000002", "(A)", "A", "2", "attr", n=3),
    ]
    results = score_predictions(rows, with_fidelity=False)
    m = _metrics(results, "mmbench")
    assert m[(None, "overall")] == pytest.approx(200 / 3)
    assert m[(None, "accuracy[attr]")] == 50.0
    assert m[(None, "accuracy[scene]")] == 100.0
    assert m[(None, "vanilla")] == 100.0  # every base row was right
    assert headline(results, "m", "mmbench", "en") == pytest.approx(200 / 3)


def test_seed_pooled_overall_not_mean_of_dimensions():
    opts = {"A": "red", "B": "blue", "C": "green", "D": "white"}
    rows = [_row("seed", "1", "A", "A", category="Scene", options=opts),
            _row("seed", "2", "B", "B", category="Scene", options=opts),
            _row("seed", "3", "C", "D", category="Scene", options=opts),
            _row("seed", "4", "?", "A", category="Count", options=opts)]
    m = _metrics(score_predictions(rows, with_fidelity=False), "seed")
    assert m[(None, "overall")] == 50.0  # 2 of 4, not (66.7 + 0) / 2
    assert m[(None, "accuracy[Scene]")] == pytest.approx(200 / 3)
    assert m[(None, "accuracy[Count]")] == 0.0
    assert m[(None, "unparsed")] == 1.0


def test_rescoring_parses_output_afresh():
    row = _row("seed", "1", "答案是B", "B", "zh", category="Scene", options={"A": "红", "B": "蓝"})
    row["parsed"] = "A"  # stale value from an older parser: ignored
    # the multilingual reply "答案是B" ("the answer is B") counts in the lenient mode; the official
    # SEED rule (LLaVA's converter: the reply must be the letter) leaves it wrong
    m = _metrics(score_predictions([row], with_fidelity=False, parse_mode="lenient"), "seed", "zh")
    assert m[(None, "overall")] == 100.0
    m = _metrics(score_predictions([row], with_fidelity=False, parse_mode="official"), "seed", "zh")
    assert m[(None, "overall")] == 0.0


def test_fidelity_rows():
    rows = [_row("pope", "1", "Ano.", "yes", "cs", split="random"),
            _row("pope", "2", "Yes", "yes", "cs", split="random"),
            _row("pope", "3", "Ne, není tam žádný pes.", "no", "cs", split="random")]
    results = score_predictions(rows)
    m = _metrics(results, "pope", "cs")
    assert m[(None, "fidelity")] == pytest.approx(200 / 3) and m[(None, "fidelity_n")] == 3.0
    pooled = [r for r in results if r["benchmark"] == "all" and r["metric"] == "fidelity"]
    assert [(r["model"], r["language"]) for r in pooled] == [("m", "cs")]


def _chance_rows():
    opts2, opts4 = {"A": "a", "B": "b"}, {"A": "a", "B": "b", "C": "c", "D": "d"}
    return [
        # MME: existence, two images of 2 questions (50 + 25); color, one image of 3 (50 + 12.5);
        # code_reasoning is cognition and left out of perception -> 137.5
        *[_row("mme", f"existence/e{i}/{j}", "", "yes" if j == 0 else "no", category="existence",
               group=f"existence/e{i}") for i in range(2) for j in range(2)],
        *[_row("mme", f"color/c1/{j}", "", "yes", category="color", group="color/c1") for j in range(3)],
        *[_row("mme", f"code_reasoning/r1/{j}", "", "no", category="code_reasoning", group="code_reasoning/r1")
          for j in range(2)],
        # POPE: random 3 yes / 1 no -> F1 of the expected counts 60; popular balanced -> 50; mean 55
        *[_row("pope", f"r{i}", "", a, split="random") for i, a in enumerate(["yes", "yes", "yes", "no"])],
        *[_row("pope", f"p{i}", "", a, split="popular") for i, a in enumerate(["yes", "no"])],
        # MMBench: a 2-option question in 2 passes (1/4) and a 4-option one in 4 passes (1/256)
        *[_row("mmbench", f"q1/{k}", "", "A", group="q1", options=opts2) for k in range(2)],
        *[_row("mmbench", f"q2/{k}", "", "B", group="q2", options=opts4) for k in range(4)],
        # SEED: 4, 4 and 2 options -> (1/4 + 1/4 + 1/2) / 3
        *[_row("seed", f"s{i}", "", "A", options=o) for i, o in enumerate([opts4, opts4, opts2])],
    ]


def test_chance_levels_are_exact_on_hand_computed_questions():
    results = score_predictions(_chance_rows(), with_fidelity=False)
    assert headline(results, "m", "mme", "en", "chance[perception]") == 137.5
    assert headline(results, "m", "pope", "en", "chance[f1]") == pytest.approx(55.0)
    assert headline(results, "m", "pope", "en", "chance[accuracy]") == 50.0
    assert headline(results, "m", "mmbench", "en", "chance[overall]") == pytest.approx(100 * (1 / 4 + 1 / 256) / 2)
    assert headline(results, "m", "seed", "en", "chance[overall]") == pytest.approx(100 / 3)


def test_chance_levels_match_random_guessers_under_the_official_rules():
    # Monte Carlo: many uniform guessers scored by the real scorers average to the chance rows.
    import random

    rng = random.Random(0)
    rows = _chance_rows()
    exact = score_predictions(rows, with_fidelity=False)
    draws = 4000
    values: dict[tuple[str, str], list[float]] = {}
    for _ in range(draws):
        guessed = [{**r, "output": rng.choice(sorted(r["options"]) if r["options"] else ["Yes", "No"])} for r in rows]
        for r in score_predictions(guessed, with_fidelity=False):
            if r["split"] is None and r["metric"] in ("perception", "accuracy", "overall"):
                values.setdefault((r["benchmark"], r["metric"]), []).append(r["value"])
    assert len(values) == 4
    for (bench, metric), vals in values.items():
        mean = sum(vals) / draws
        stderr = (sum((v - mean) ** 2 for v in vals) / (draws - 1) / draws) ** 0.5
        assert abs(mean - headline(exact, "m", bench, "en", f"chance[{metric}]")) < 4 * stderr, bench
