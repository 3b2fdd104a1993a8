"""Parsing realistic replies in all ten languages: yes/no (MME, POPE rules) and option letters."""

from __future__ import annotations

import pytest

from lrm_llava.bench.parse import is_unparsed, parse_option, parse_pope, parse_yes_no
from lrm_llava.languages import ALL_CODES

YES_NO = [
    ("en", "Yes", "yes"), ("en", "No, there is no dog.", "no"), ("en", "yes.", "yes"), ("en", "nope", "no"),
    ("zh", "是的", "yes"), ("zh", "不是", "no"), ("zh", "没有。", "no"), ("zh", "有", "yes"), ("zh", "否", "no"),
    ("it", "Sì.", "yes"), ("it", "Si", "yes"), ("it", "No, non c'è.", "no"),
    ("fr", "Oui.", "yes"), ("fr", "Non, il n'y a pas de chien.", "no"),
    ("de", "Ja.", "yes"), ("de", "Nein, es gibt keinen Hund.", "no"),
    ("es", "Sí, hay un perro.", "yes"), ("es", "No.", "no"),
    ("ru", "Да.", "yes"), ("ru", "Нет, на изображении нет собаки.", "no"),
    ("ro", "Da.", "yes"), ("ro", "Nu.", "no"),
    ("cs", "Ano.", "yes"), ("cs", "Ne, na obrázku není pes.", "no"),
    ("hr", "Da.", "yes"), ("hr", "Ne.", "no"),
    # English fallback in a non-English reply
    ("cs", "Yes, there is.", "yes"), ("de", "No", "no"), ("zh", "Yes", "yes"),
    # unparseable: counted wrong
    ("en", "There is a dog.", None), ("de", "Vielleicht.", None), ("zh", "图中有一只狗", None), ("ru", "", None),
]


@pytest.mark.parametrize(("lang", "reply", "expected"), YES_NO)
def test_mme_yes_no(lang, reply, expected):
    assert parse_yes_no(reply, lang) == expected


def test_every_language_has_a_yes_and_a_no_case():
    covered = {(lang, exp) for lang, _, exp in YES_NO}
    assert all((c, "yes") in covered and (c, "no") in covered for c in ALL_CODES)


POPE = [
    # English: the official rule verbatim (case-sensitive No/not/no, first sentence only)
    ("en", "No, there is not.", "no"), ("en", "Yes, there is a dog.", "yes"), ("en", "There is not a dog", "no"),
    ("en", "NO", "yes"), ("en", "Yes. There is no cat.", "yes"),
    ("fr", "Non, il n'y a pas de chien.", "no"), ("fr", "Il n’y a aucun chien", "no"), ("fr", "Oui, il y a un chien.", "yes"),
    ("de", "Nein, ...", "no"), ("de", "Es gibt keinen Hund.", "no"), ("de", "Ja.", "yes"),
    ("zh", "没有。", "no"), ("zh", "是的，有一只狗。", "yes"), ("zh", "图中没有狗", "no"), ("zh", "No", "no"),
    ("ru", "Нет, ...", "no"), ("ru", "Да, есть.", "yes"),
    ("cs", "Ne, není.", "no"), ("cs", "Ano.", "yes"), ("cs", "No, there isn't.", "no"),
    ("es", "¡No!", "no"), ("es", "Sí.", "yes"), ("it", "Non c'è.", "no"), ("it", "Sì.", "yes"),
    ("ro", "Nu există.", "no"), ("ro", "Da.", "yes"), ("hr", "Nema psa.", "no"), ("hr", "Da.", "yes"),
]


@pytest.mark.parametrize(("lang", "reply", "expected"), POPE)
def test_pope_negation_rule(lang, reply, expected):
    assert parse_pope(reply, lang) == expected


def test_pope_default_yes_is_counted_as_unparsed():
    assert parse_pope("Ein Hund.", "de") == "yes"
    assert is_unparsed("pope", "Ein Hund.", "de") is True
    assert is_unparsed("pope", "Ja.", "de") is False
    assert is_unparsed("pope", "Nein.", "de") is False


OPTS = {"A": "red", "B": "blue", "C": "green", "D": "yellow"}

LETTERS = [
    ("en", "B", OPTS, "B"), ("en", "B. A blue square", OPTS, "B"), ("en", "(C)", OPTS, "C"),
    ("en", "The answer is D.", OPTS, "D"), ("en", "A", OPTS, "A"),
    ("en", "A square that is green.", OPTS, "C"),  # "A" is the article here; the option text decides
    ("zh", "答案是B", OPTS, "B"), ("zh", "B。", OPTS, "B"), ("zh", "选A", OPTS, "A"),
    ("it", "C", OPTS, "C"), ("it", "A destra c'è un quadrato blu", {"A": "rosso", "B": "blu"}, "B"),
    ("fr", "C'est bleu.", {"A": "rouge", "B": "bleu"}, "B"), ("fr", "Réponse : D", OPTS, "D"),
    ("de", "Die Antwort ist C.", OPTS, "C"), ("de", "A ist richtig", OPTS, "A"),
    ("es", "A", OPTS, "A"), ("es", "A la izquierda hay un perro", {"A": "gato", "B": "perro"}, "B"),
    ("ru", "Ответ: C", OPTS, "C"), ("ru", "B", OPTS, "B"),
    ("ro", "Varianta B", OPTS, "B"),
    ("cs", "A. Kočka", {"A": "kočka", "B": "pes"}, "A"),
    ("cs", "A je na obrázku kočka", {"A": "pes", "B": "kočka"}, "B"),  # "A" = "and"
    ("hr", "B.", OPTS, "B"),
    # unparseable
    ("fr", "Je ne sais pas", OPTS, None), ("en", "B or C", OPTS, None), ("en", "", OPTS, None),
]


@pytest.mark.parametrize(("lang", "reply", "options", "expected"), LETTERS)
def test_option_letters(lang, reply, options, expected):
    assert parse_option(reply, options, lang) == expected


def test_two_option_question_ignores_other_letters():
    assert parse_option("C", {"A": "yes", "B": "no"}, "en") is None
    assert parse_option("no", {"A": "yes", "B": "no"}, "en") == "B"


# ------------------------------------------------------------------------------ official mode
# VLMEvalKit's can_infer (vlmeval/utils/matching_util.py), no judge model: "Each of .()[],:;!*#{}
# becomes a space; if exactly one option letter is among the words it is the answer; otherwise the
# option whose text is inside the reply, if exactly one is." SEED as LLaVA's
# scripts/convert_seed_for_submission.py: "if row['text'] == question_data['answer']" (the reply must
# be the letter). MME and POPE: the rules above in both modes.
from lrm_llava.bench.parse import PARSE_MODES, parse_option_official, parse_output, parse_seed_official  # noqa: E402

SQUARES = {"A": "A red circle", "B": "A blue square", "C": "A green star", "D": "A yellow heart"}
OFFICIAL_MMBENCH = [
    ("The answer is A.", OPTS, "A", None),  # one letter among the words (the article rule is verbose-only)
    ("B. A blue square", SQUARES, "B", "B"),  # two letters (B, A): the option text decides
    ("B. A blue square", OPTS, "B", "B"),  # ... "blue" is option B's text
    ("B. A purple square", SQUARES, None, "B"),  # two letters, no option text: unparsed officially
    ("(C) red", OPTS, "C", "C"),
    ("It is green.", OPTS, "C", "C"),  # the option text only
    ("a yellow heart", SQUARES, "D", "D"),  # the option text only, case-insensitive
    ("A A A A", OPTS, "A", None),  # one distinct letter (lenient: "A" in 4 words may be the article)
    ("Cannot determine the answer. A", OPTS, None, None),  # a refusal is VLMEvalKit's Z: wrong
    ("Z", OPTS, None, None),
    ("B or C", OPTS, None, None),
]


@pytest.mark.parametrize(("reply", "options", "official", "lenient"), OFFICIAL_MMBENCH)
def test_mmbench_official_is_vlmevalkit_can_infer(reply, options, official, lenient):
    assert parse_option_official(reply, options) == official
    assert parse_output("mmbench", reply, "en", options, "official") == official
    assert parse_output("mmbench", reply, "en", options, "lenient") == lenient


def test_lenient_mode_keeps_the_multilingual_rules():
    assert parse_output("mmbench", "答案是B", "zh", OPTS, "lenient") == "B"
    assert parse_output("mmbench", "答案是B", "zh", OPTS, "official") is None  # no word "B" without spaces
    assert parse_output("mmbench", "A A A A", "cs", OPTS, "lenient") is None  # Czech "a" = "and"
    assert parse_output("mmbench", "A A A A", "cs", OPTS, "official") == "A"


@pytest.mark.parametrize(("reply", "expected"), [
    ("B", "B"), (" B\n", "B"), ("B.", None), ("(C) red", None), ("b", None), ("blue", None),
    ("The answer is A.", None), ("B B", None), ("E", None),
])
def test_seed_official_is_llavas_exact_letter(reply, expected):
    assert parse_seed_official(reply, OPTS) == expected
    assert parse_output("seed", reply, "en", OPTS, "official") == expected


@pytest.mark.parametrize("mode", PARSE_MODES)
def test_mme_and_pope_read_the_same_in_both_modes(mode):
    assert parse_output("mme", "Yes, there is a dog.", "en", None, mode) == "yes"
    assert parse_output("pope", "Yes, there is a dog.", "en", None, mode) == "yes"
    assert parse_output("pope", "No, there is not.", "en", None, mode) == "no"
    assert parse_output("mme", "Nein.", "de", None, mode) == "no"


def test_unknown_parse_mode_is_refused():
    from lrm_llava.errors import UserError

    with pytest.raises(UserError, match="--parse-mode 'strict': unknown; choose official or lenient"):
        parse_output("seed", "A", "en", OPTS, "strict")


def _mmb(qid, out, answer, group, opts=OPTS):
    return {"model": "m", "benchmark": "mmbench", "question_id": qid, "language": "en", "output": out,
            "answer": answer, "split": None, "category": "attr", "group": group, "options": opts}


def test_official_scoring_drops_a_circular_group_without_its_base_row_and_counts_missing_seed_wrong(tmp_path):
    from benchdata import make_bench_root

    from lrm_llava.bench import EvalConfig, rescore
    from lrm_llava.bench.scoring import score_predictions

    rows = [_mmb("0", "A", "A", "0"), _mmb("1000000", "D", "D", "0"),
            _mmb("1000001", "B", "B", "1"), _mmb("2000001", "C", "C", "1")]  # group 1: base row missing
    official = {r["metric"]: r["value"] for r in score_predictions(rows, False, "official") if r["split"] is None}
    lenient = {r["metric"]: r["value"] for r in score_predictions(rows, False, "lenient") if r["split"] is None}
    assert official["overall"] == 100.0 and official["n"] == 2  # VLMEvalKit scores group 0 only
    assert lenient["overall"] == 100.0 and lenient["n"] == 4

    # SEED: a question without a prediction is wrong (LLaVA's converter), given the benchmark to know it
    root = make_bench_root(tmp_path / "bench")
    pred = tmp_path / "seed.jsonl"
    pred.write_text('{"model": "m", "question_id": "101", "benchmark": "seed", "language": "en", "output": "A", '
                    '"answer": "A", "category": "Scene Understanding", "options": {"A": "red", "B": "blue", '
                    '"C": "green", "D": "white"}}\n', encoding="utf-8")
    for mode, overall, n in (("official", 100 / 3, 3), ("lenient", 100.0, 1)):
        out = tmp_path / mode
        results = rescore(EvalConfig(predictions=[pred], bench_root=root, out=out, parse_mode=mode, fidelity=False))
        got = {r["metric"]: r["value"] for r in results if r["benchmark"] == "seed" and r["split"] is None}
        assert got["overall"] == pytest.approx(overall) and got["n"] == n
        assert f"parsed in **{mode}** mode" in (out / "report.md").read_text(encoding="utf-8")
        import json

        assert json.loads((out / "run.json").read_text())["parse_mode"] == mode
