"""The keep-English rule set and per-source overrides."""

from __future__ import annotations

import pytest

from lrm_llava.errors import UserError
from lrm_llava.translate import KeepEnglishRules, keep_english_reason


@pytest.mark.parametrize(
    ("texts", "reason"),
    [
        (["<image>\nWhat is 12 + 30?", "42"], "equation"),
        (["If x = 4, find y.", "y is 2"], "equation"),
        (["Compute $a^2$.", "4"], "latex"),
        (["Simplify \\frac{1}{2} + 1", "1.5"], "latex"),
        (["What does this print?\n```py\nprint(1)\n```", "1"], "code"),
        (["Fix:\nimport os\nreturn x;", "ok"], "code"),
        (["In the figure, ∠ABC is what?", "30"], "math"),
        (["Values: (12)(34)[56]{78}|90|11%", "fine answer"], "symbols"),
        (["<image>\nWhat colour is the car?", "Red."], None),
        (["<image>\nWhich one?\nA. 2020-2021 season\nB. the 1990s", "A"], None),
        (["Read https://example.org/?page=2 please", "Done."], None),
    ],
)
def test_rules(texts, reason):
    assert keep_english_reason(texts) == reason


def test_rules_can_be_switched_off_and_sources_overridden():
    assert keep_english_reason(["What is 2 + 2?"], KeepEnglishRules(enabled=False)) is None
    rules = KeepEnglishRules(source_modes={"geoqa": "english", "captions.json": "translate"})
    assert rules.mode_for("data/geoqa.json") == "english"
    assert rules.mode_for("data/captions.json") == "translate"
    assert rules.mode_for("data/other.json") == "auto"
    with pytest.raises(UserError, match="use english, translate or auto"):
        KeepEnglishRules(source_modes={"x": "maybe"}).mode_for("x.json")


# Real examples of each source the paper imports (DocVQA, ChartQA, DVQA, AI2D, GeoQA, LLaVA-665k):
# everyday numbers are translated, math and geometry are not.
@pytest.mark.parametrize(
    ("texts", "reason"),
    [
        # DocVQA: money, dates, phone numbers, ranges are document text, not math
        (["What is the total cost of the program in $?", "$5,000"], None),
        (["Is the fee between $5 and $10?", "yes"], None),
        (["what is the date mentioned in this letter?", "12/05/2019"], None),
        (["what is the date mentioned in this letter?", "1/8/93"], None),
        (["When was the report issued?", "2019-05-12"], None),
        (["What is the budget for 1980/81?", "$1.2 million"], None),
        # ChartQA: temperatures, percentages, age groups, seasons, units
        (["What was the average temperature in July?\nAnswer the question using a single word or phrase.", "25°C"], None),
        (["What is the share of people aged 65+ in 2019?", "18.5%"], None),
        (["How many respondents were 18 - 24 years old?", "12"], None),
        (["What was the revenue in the 2019/20 season?", "37.4"], None),
        (["What is the top speed in km/h?", "120"], None),
        (["Which line represents the UK?", "blue"], None),
        # DVQA, AI2D: charts and diagrams
        (["What is the value of the smallest bar?", "-3"], None),
        (["Which of these is a producer?\nA. frog\nB. grass\nC. snake\nD. hawk", "B"], None),
        (["Which is the largest?\nA. circle\nB. square", "A"], None),
        # still math
        (["What is 12 + 30?", "42"], "equation"),
        (["What is 12 / 4?", "3"], "equation"),
        (["Find x if 2x + 3 = 11.", "4"], "equation"),
        (["Compute $x^2$ for x = 3.", "9"], "latex"),
        (["Rotate the shape by 90°.", "done"], "math"),
        # GeoQA-style geometry, with and without symbols
        (["如图,AB∥CD,∠ABC=50°,则∠BCD等于()", "B"], "equation"),
        (["In the figure, AB is the diameter of circle O and angle BAC is 30 degrees. "
          "What is the measure of angle ABC?", "60 degrees"], "geometry"),
        (["In triangle ABC, side AB is 6 and side BC is 8. How long is the hypotenuse?", "10"], "geometry"),
    ],
)
def test_rules_on_real_examples(texts, reason):
    assert keep_english_reason(texts) == reason


def test_source_defaults_keep_geoqa_untranslated():
    rules = KeepEnglishRules()
    assert rules.mode_for("data/import.json", "geoqa") == "english"
    assert rules.mode_for("data/geoqa.json") == "english"  # a file named after the source too
    assert rules.mode_for("data/chartqa.json", "chartqa-human") == "auto"
    assert KeepEnglishRules(source_modes={"geoqa": "translate"}).mode_for("x.json", "geoqa") == "translate"
    assert KeepEnglishRules(source_defaults=False).mode_for("x.json", "geoqa") == "auto"
