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
