"""The `data build` job end to end on a small LLaVA file (multi-turn, text-only, MC, math samples)."""

from __future__ import annotations

import argparse
import json

import pytest

from lrm_llava.errors import DataError, TranslationError, UserError
from lrm_llava.instruct import BuildConfig, build_dataset
from lrm_llava.instruct import cli as data_cli
from lrm_llava.translate import TranslationCache


def _samples(n: int = 24) -> list[dict]:
    out = []
    for i in range(n):
        kind = i % 4
        if kind == 0:  # multi-turn, <image> at the end as some LLaVA files have it
            conv = [{"from": "human", "value": f"What animal is shown, item {i}?\n<image>"},
                    {"from": "gpt", "value": f"A cat number {i}. It sleeps."},
                    {"from": "human", "value": "Is it awake?"}, {"from": "gpt", "value": "No."}]
        elif kind == 1:  # multiple choice
            conv = [{"from": "human", "value": f"<image>\nWhich colour is box {i}?\nA. red\nB. blue\n"
                     "Answer with the option's letter from the given choices directly."},
                    {"from": "gpt", "value": "B"}]
        elif kind == 2:  # text-only
            out.append({"id": f"s{i}", "conversations": [
                {"from": "human", "value": f"Tell me story {i}."}, {"from": "gpt", "value": "Once upon a time."}]})
            continue
        else:  # math: stays English
            conv = [{"from": "human", "value": f"<image>\nIf x + {i} = 50, what is x?"},
                    {"from": "gpt", "value": str(50 - i)}]
        out.append({"id": f"s{i}", "image": f"img/{i}.png", "conversations": conv})
    return out


class Counting:
    name, model, exact, max_batch = "counting", "", False, 4

    def __init__(self, die_after=None):
        self.calls, self.die_after, self.seen = 0, die_after, set()

    def translate(self, texts, src, tgt):
        if self.die_after is not None and self.calls >= self.die_after:
            raise TranslationError("simulated kill")
        self.calls += 1
        self.seen.update((tgt, t) for t in texts)
        return [f"<{tgt}> {t}" for t in texts]


@pytest.fixture()
def src(tmp_path):
    path = tmp_path / "en.json"
    path.write_text(json.dumps(_samples()), encoding="utf-8")
    return path


def _check_images(samples):
    for s in samples:
        human = [t for t in s["conversations"] if t["from"] == "human"]
        text = "".join(t["value"] for t in s["conversations"])
        if "image" in s:
            assert human[0]["value"].startswith("<image>\n") and text.count("<image>") == 1, s
        else:
            assert "<image>" not in text, s


def test_finetune_build_proportions_structure_and_stats(tmp_path, src):
    cfg = BuildConfig(sources=[str(src)], out=str(tmp_path / "multi.json"), languages="zh,de,hr",
                      backend="pseudo", ratio=1.0, progress=False, seed=1)
    stats = build_dataset(cfg)
    samples = json.loads((tmp_path / "multi.json").read_text(encoding="utf-8"))
    assert isinstance(samples, list) and len(samples) == stats.total == 48
    # 24 English; 24 non-English split 8/8/8 over the languages, tasks 3/3/2 (largest remainder).
    assert stats.counts == {"en": {"mvqa": 24}, "zh": {"mvqa": 3, "epvqa": 3, "bvqa": 2},
                            "de": {"mvqa": 3, "epvqa": 3, "bvqa": 2}, "hr": {"mvqa": 3, "epvqa": 3, "bvqa": 2}}
    assert stats.kept_english == {"equation": 6}
    _check_images(samples)
    for s in samples:
        assert set(s) >= {"id", "conversations", "lang", "answer_lang", "task", "source_id"}
        if s["task"] != "mvqa" or s["lang"] != "en":
            assert int(s["source_id"][1:]) % 4 != 3  # math samples are never translated
        if s["task"] == "bvqa":
            assert "en" in (s["lang"], s["answer_lang"]) and s["lang"] != s["answer_lang"]
        if s["task"] == "mvqa" and s["lang"] == "en":
            assert s["id"] == s["source_id"]
    mc = [s for s in samples if s["lang"] == "de" and s["task"] == "mvqa" and int(s["source_id"][1:]) % 4 == 1]
    assert mc
    for s in mc:  # option letters and answer letters survive
        assert s["conversations"][1]["value"] == "B"
        assert "\n[de] A. red\n[de] B. blue\n" in s["conversations"][0]["value"]
    reader = pytest.importorskip("lrm_llava.data.reader")  # the foundation's LLaVA reader
    assert len(reader.read_samples(tmp_path / "multi.json")) == 48
    stats_file = json.loads((tmp_path / "multi.stats.json").read_text())
    assert stats_file["counts"] == stats.counts and stats_file["translation"]["misses"] > 0


def test_pretrain_uses_captions_and_only_mvqa(tmp_path, src):
    stats = build_dataset(BuildConfig(sources=[str(src)], out=str(tmp_path / "pt.json"), stage="pretrain",
                                      languages="it,ro", backend="pseudo", ratio=0.5, progress=False))
    samples = json.loads((tmp_path / "pt.json").read_text(encoding="utf-8"))
    assert stats.counts == {"en": {"mvqa": 24}, "it": {"mvqa": 6}, "ro": {"mvqa": 6}}
    assert stats.kept_english == {"equation": 6, "text-only (pretrain)": 6}
    from lrm_llava.languages import get

    for s in samples:
        if s["lang"] == "it":
            question = s["conversations"][0]["value"].removeprefix("<image>\n")
            assert question in get("it").describe_prompts and len(s["conversations"]) == 2
            caption = s["conversations"][1]["value"]
            assert caption == "B" or caption.startswith("[it] ")  # a bare option letter is never sent
    _check_images(samples)
    with pytest.raises(UserError, match="not used in stage 'pretrain'"):
        build_dataset(BuildConfig(sources=[str(src)], out=str(tmp_path / "x.json"), stage="pretrain",
                                  tasks=["epvqa"]))


def test_kill_mid_build_then_resume_is_identical_and_calls_nothing_finished(tmp_path, src, monkeypatch):
    import lrm_llava.instruct.build as build_mod

    out, cache = tmp_path / "m.json", tmp_path / "c.sqlite"
    cfg = BuildConfig(sources=[str(src)], out=str(out), languages="zh,de", backend="pseudo", cache=str(cache),
                      progress=False, task_weights={"mvqa": 1, "epvqa": 1, "bvqa": 1})
    dying = Counting(die_after=3)
    monkeypatch.setattr(build_mod, "make_translator", lambda name, **kw: dying)
    with pytest.raises(TranslationError, match="simulated kill"):
        build_dataset(cfg)
    assert not out.exists()
    with TranslationCache(cache) as c:
        assert len(c) == len(dying.seen) > 0  # every finished batch is in the cache
    second = Counting()
    monkeypatch.setattr(build_mod, "make_translator", lambda name, **kw: second)
    build_dataset(cfg)
    first_bytes = out.read_bytes()
    third = Counting()
    monkeypatch.setattr(build_mod, "make_translator", lambda name, **kw: third)
    stats = build_dataset(cfg)
    assert third.calls == 0 and stats.translation["hits"] > 0 and stats.translation["misses"] == 0
    assert out.read_bytes() == first_bytes
    # The resumed run asked only for what the killed one had not finished.
    assert second.seen and second.seen.isdisjoint(dying.seen)
    assert stats.translation["hits"] == len(dying.seen) + len(second.seen)


def test_dry_run_counts_and_costs(tmp_path, src):
    cfg = BuildConfig(sources=[str(src)], out=str(tmp_path / "d.json"), languages="de", backend="pseudo",
                      dry_run=True, progress=False, prices={"google": 20.0, "deepl": 25.0, "openai": 10.0})
    stats = build_dataset(cfg)
    assert not (tmp_path / "d.json").exists()
    row = stats.dry_run["de"]
    assert row["strings"] > 0 and row["chars"] > 0
    assert stats.cost_usd["google"] == round(row["chars"] * 20 / 1e6, 2)
    assert stats.wall_time == {}  # no rate given
    timed = build_dataset(BuildConfig(**{**cfg.__dict__, "rate": 0.5, "languages": "de,fr", "engine": "ray",
                                         "engine_options": {"workers": 4}}))
    segments = timed.dry_run["de"]["strings"] + timed.dry_run["fr"]["strings"]
    assert timed.wall_time == {"segments": segments, "rate": 0.5, "workers": 4,
                               "hours": round(segments / (0.5 * 4) / 3600, 3)}
    build_dataset(BuildConfig(**{**cfg.__dict__, "dry_run": False}))
    assert build_dataset(cfg).dry_run["de"] == {"strings": 0, "chars": 0}  # everything cached now


def test_bad_inputs(tmp_path, src):
    bad = tmp_path / "bad.json"
    bad.write_text('[\n {"id": "a", "conversations": []},\n {"id": "b" "conversations": []}\n]')
    with pytest.raises(DataError, match=r"bad.json:3:\d+: malformed JSON"):
        build_dataset(BuildConfig(sources=[str(bad)], out=str(tmp_path / "o.json")))
    bad.write_text(json.dumps([{"id": "q1", "conversations": [{"from": "gpt", "value": "hi"}]}]))
    with pytest.raises(DataError, match=r"id 'q1'.*start with a human turn"):
        build_dataset(BuildConfig(sources=[str(bad)], out=str(tmp_path / "o.json")))
    jsonl = tmp_path / "bad.jsonl"
    jsonl.write_text('{"id": "a", "conversations": [{"from": "human", "value": "x"}, {"from": "gpt", "value": "y"}]}\n{oops\n')
    with pytest.raises(DataError, match=r"bad.jsonl:2:"):
        build_dataset(BuildConfig(sources=[str(jsonl)], out=str(tmp_path / "o.json")))
    with pytest.raises(UserError, match="unknown language code 'xx'"):
        build_dataset(BuildConfig(sources=[str(src)], out=str(tmp_path / "o.json"), languages="de,xx"))
    table = tmp_path / "t.jsonl"
    table.write_text(json.dumps({"src": "en", "tgt": "de", "text": "No.", "translation": "Nein."}) + "\n")
    with pytest.raises(TranslationError, match=r"lacks \d+ en->de entries"):
        build_dataset(BuildConfig(sources=[str(src)], out=str(tmp_path / "o.json"), languages="de",
                                  backend="table", table=str(table), progress=False))


def test_cli_build_with_table_backend_and_missing_images(tmp_path, capsys):
    samples = [
        {"id": "a", "image": "a.png", "conversations": [{"from": "human", "value": "<image>\nWhat is it?"},
                                                        {"from": "gpt", "value": "A box."}]},
        {"id": "b", "image": "missing.png", "conversations": [{"from": "human", "value": "<image>\nAnd this?"},
                                                              {"from": "gpt", "value": "A ball."}]},
    ]
    src = tmp_path / "en.jsonl"
    src.write_text("".join(json.dumps(s) + "\n" for s in samples))
    (tmp_path / "img").mkdir()
    (tmp_path / "img" / "a.png").write_bytes(b"png")
    table = tmp_path / "t.jsonl"
    table.write_text("".join(json.dumps({"src": "en", "tgt": "cs", "text": t, "translation": tr}, ensure_ascii=False) + "\n"
                             for t, tr in [("What is it?", "Co to je?"), ("A box.", "Krabice.")]))
    parser = argparse.ArgumentParser()
    data_cli.register(parser.add_subparsers())
    args = parser.parse_args(["data", "build", "--source", str(src), "--languages", "cs", "--backend", "table",
                              "--table", str(table), "--tasks", "mvqa", "--out", str(tmp_path / "o.json"),
                              "--image-root", str(tmp_path / "img"), "--no-progress"])
    assert args.func(args) == 0
    out = json.loads((tmp_path / "o.json").read_text(encoding="utf-8"))
    cs = [s for s in out if s["lang"] == "cs"]
    assert cs == [{"id": "a-cs-mvqa", "image": "a.png",
                   "conversations": [{"from": "human", "value": "<image>\nCo to je?"},
                                     {"from": "gpt", "value": "Krabice."}],
                   "lang": "cs", "answer_lang": "cs", "task": "mvqa", "source_id": "a"}]
    assert json.loads((tmp_path / "o.stats.json").read_text())["dropped"] == {"missing image": 1}
    assert "wrote 2 samples" in capsys.readouterr().out
