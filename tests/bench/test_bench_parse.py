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
