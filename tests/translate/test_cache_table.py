"""SQLite cache (dedupe, resume after a kill) and the table backend."""

from __future__ import annotations

import json

import pytest

from lrm_llava.errors import DataError, TranslationError, UserError
from lrm_llava.translate import TranslationCache, make_translator, plan_translation, translate_texts


class Counting:
    """Pseudo translation that counts what it is asked, and can die after `die_after` calls."""

    name, model, exact, max_batch = "count", "m1", False, 2

    def __init__(self, die_after: int | None = None):
        self.calls = 0
        self.texts: list[str] = []
        self.die_after = die_after

    def translate(self, texts, src, tgt):
        if self.die_after is not None and self.calls >= self.die_after:
            raise KeyboardInterrupt  # a kill in the middle of the job
        self.calls += 1
        self.texts.extend(texts)
        return [f"<{tgt}>{t}" for t in texts]


def test_dedupe_within_batch_and_against_cache(tmp_path):
    cache = TranslationCache(tmp_path / "c.sqlite")
    tr = Counting()
    out = translate_texts(["Hi.", "Bye.", "Hi."], "en", "de", tr, cache)
    assert out == ["<de>Hi.", "<de>Bye.", "<de>Hi."]
    assert sorted(tr.texts) == ["Bye.", "Hi."]
    out2 = translate_texts(["Bye.", "Yo."], "en", "de", tr, cache)
    assert out2 == ["<de>Bye.", "<de>Yo."]
    assert tr.texts[-1:] == ["Yo."] and out2.stats.hits == 1 and out2.stats.misses == 1
    assert cache.stats.hits == 1 and cache.stats.misses == 3 and cache.stats.calls == 2
    # Another target or model is another key.
    assert plan_translation(["Bye."], "en", "fr", tr, cache) == (1, 4)
    assert plan_translation(["Bye.", "Hi."], "en", "de", tr, cache) == (0, 0)


def test_kill_mid_job_then_resume_makes_no_call_for_finished_batches(tmp_path):
    texts = [f"Sentence number {w}." for w in ("one", "two", "three", "four", "five", "six")]
    path = tmp_path / "c.sqlite"
    first = Counting(die_after=2)
    with pytest.raises(KeyboardInterrupt), TranslationCache(path) as cache:
        translate_texts(texts, "en", "it", first, cache)
    assert first.calls == 2
    with TranslationCache(path) as cache:
        assert len(cache) == 4  # two finished batches of two
        second = Counting()
        out = translate_texts(texts, "en", "it", second, cache)
    assert second.calls == 1 and len(second.texts) == 2
    assert set(second.texts).isdisjoint(first.texts)
    assert out == [f"<it>{t}" for t in texts]
    with TranslationCache(path) as cache:
        third = Counting()
        assert translate_texts(texts, "en", "it", third, cache) == out
        assert third.calls == 0


def test_failed_batch_is_not_cached_and_finished_ones_are(tmp_path):
    class FailsSecond(Counting):
        def translate(self, texts, src, tgt):
            if self.calls == 1:
                self.calls += 1
                raise TranslationError("boom")
            return super().translate(texts, src, tgt)

    with TranslationCache(tmp_path / "c.sqlite") as cache:
        with pytest.raises(TranslationError, match="boom"):
            translate_texts(["A one.", "A two.", "A three.", "A four."], "en", "de", FailsSecond(), cache)
        assert len(cache) == 2


def _write_table(path, rows):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def test_table_backend_jsonl_and_tsv(tmp_path):
    jsonl = tmp_path / "t.jsonl"
    _write_table(jsonl, [
        {"src": "en", "tgt": "de", "text": "<image>\nWhat is 2 shapes?", "translation": "<image>\nWas sind 2 Formen?"},
        {"src": "en", "tgt": "de", "text": "Two.", "translation": "Zwei."},
    ])
    tr = make_translator("table", path=jsonl)
    assert tr.exact and tr.name == "table"
    out = translate_texts(["<image>\nWhat is 2 shapes?", "Two.", "3", "B"], "en", "de", tr, TranslationCache(":memory:"))
    assert out == ["<image>\nWas sind 2 Formen?", "Zwei.", "3", "B"]
    tsv = tmp_path / "t.tsv"
    tsv.write_text("src\ttgt\ttext\ttranslation\nen\tzh\tRed.\t红色。\n", encoding="utf-8")
    assert translate_texts(["Red."], "en", "zh", make_translator("table", path=tsv)) == ["红色。"]


def test_table_missing_entries_lists_some_and_counts(tmp_path):
    jsonl = tmp_path / "t.jsonl"
    _write_table(jsonl, [{"src": "en", "tgt": "de", "text": "Two.", "translation": "Zwei."}])
    texts = ["Two."] + [f"Missing {w}." for w in ("a", "b", "c", "d", "e", "f", "g")]
    with pytest.raises(TranslationError) as err:
        translate_texts(texts, "en", "de", make_translator("table", path=jsonl))
    msg = str(err.value)
    assert "lacks 7 en->de entries" in msg and "'Missing a.'" in msg and "'Missing f.'" not in msg


def test_table_bad_files(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"src": "en", "tgt": "de", "text": "a", "translation": "b"}\n{"src": "en",\n')
    with pytest.raises(DataError, match=r"bad.jsonl:2: malformed JSON"):
        make_translator("table", path=bad)
    unknown = tmp_path / "u.jsonl"
    _write_table(unknown, [{"src": "en", "tgt": "xx", "text": "a", "translation": "b"}])
    with pytest.raises(UserError, match="unknown language code 'xx'"):
        make_translator("table", path=unknown)
    with pytest.raises(UserError, match="does not exist"):
        make_translator("table", path=tmp_path / "nope.jsonl")
    with pytest.raises(UserError, match="unknown translation backend"):
        make_translator("babelfish")
