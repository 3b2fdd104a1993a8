"""Placeholder protection, sentence splitting and the retry/keep-English path of translate_texts."""

from __future__ import annotations

from lrm_llava.translate import TranslationCache, translate_texts
from lrm_llava.translate.protect import assemble, plan_pieces, protect, restore, split_sentences


def test_protect_masks_every_kind_of_span_and_restore_inverts_it():
    text = (
        "<image>\nSee https://example.org/a?b=1. Is 3.5 > 2?\nA. yes\n(B) no\n"
        "Use `x` or $x^2$ or \\frac{1}{2}.\n```\nprint(1)\n```"
    )
    masked, spans = protect(text)
    assert spans == ["<image>", "https://example.org/a?b=1", "3.5", "2", "A.", "(B)", "`x`", "$x^2$",
                     "\\frac{1}{2}", "```\nprint(1)\n```"]
    assert masked == "[0]\nSee [1]. Is [2] > [3]?\n[4] yes\n[5] no\nUse [6] or [7] or [8].\n[9]"
    assert restore(masked, spans) == text


def test_restore_tolerates_fullwidth_brackets_and_spaces():
    assert restore("【0】 und [ 1 ]", ["<image>", "42"]) == "<image> und 42"


def test_split_sentences_rejoins_exactly():
    line = "First one. Second?  Third! Tail"
    parts = split_sentences(line)
    assert parts == ["First one. ", "Second?  ", "Third! ", "Tail"]
    assert "".join(parts) == line


def test_plan_pieces_renumbers_sentinels_per_segment_and_splits_long_lines():
    pieces = plan_pieces("I have 3 cats. They eat 12 fish.", max_chars=20)
    segments = [p for p in pieces if not isinstance(p, str)]
    assert [s.text for s in segments] == ["I have [0] cats.", "They eat [0] fish."]
    assert [s.spans for s in segments] == [("3",), ("12",)]
    out = assemble(pieces, {"I have [0] cats.": "Ich habe [0] Katzen.", "They eat [0] fish.": "Sie essen [0] Fische."})
    assert out == "Ich habe 3 Katzen. Sie essen 12 Fische."


def test_bare_option_letter_and_numbers_are_not_sent():
    assert plan_pieces("B") == ["B"]
    assert plan_pieces("  42 ") == ["  42 "]


class Reorder:
    """Moves sentinels around and upper-cases words: sentinels must still come back."""

    name, model, exact, max_batch = "reorder", "", False, 8

    def __init__(self):
        self.calls = 0

    def translate(self, texts, src, tgt):
        self.calls += 1
        out = []
        for t in texts:
            words = t.split(" ")
            out.append(" ".join(reversed(words)).upper().replace("[", "【").replace("]", "】"))
        return out


def test_placeholders_survive_translation():
    tr = Reorder()
    text = "<image>\nHow many apples for 3 people at https://x.org? A. 2"
    out = translate_texts([text], "en", "de", tr)
    assert out[0].startswith("<image>\n")
    for span in ("<image>", "3", "https://x.org", "A.", "2"):
        assert out[0].count(span) == 1
    assert out.kept_english == []


class DropsSentinels:
    """Loses the sentinel of every segment that has one."""

    name, model, exact, max_batch = "drop", "", False, 8

    def __init__(self):
        self.seen: list[list[str]] = []

    def translate(self, texts, src, tgt):
        self.seen.append(list(texts))
        return [t.replace("[0]", "").upper() for t in texts]


def test_lost_sentinel_is_retried_once_then_kept_english_and_not_cached():
    tr = DropsSentinels()
    cache = TranslationCache(":memory:")
    texts = ["I see 3 dogs.", "Hello there.", "I see 3 dogs."]
    out = translate_texts(texts, "en", "de", tr, cache)
    assert out == ["I see 3 dogs.", "HELLO THERE.", "I see 3 dogs."]
    assert out.kept_english == [0, 2]
    assert tr.seen == [["Hello there.", "I see [0] dogs."], ["I see [0] dogs."]]
    assert out.stats.retries == 1 and out.stats.kept_english == 1 and out.stats.calls == 2
    assert cache.get_many("drop", "", "en", "de", ["I see [0] dogs.", "Hello there."]) == {
        "Hello there.": "HELLO THERE."
    }
