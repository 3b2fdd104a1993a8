"""BLEU / chrF agreement of two translations of the same benchmarks (the paper's Table 2)."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import pytest
from sacrebleu.metrics import BLEU, CHRF

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from benchdata import POPE_ROWS, make_bench_root  # noqa: E402

from lrm_llava.analysis import BleuConfig, bleu_agreement  # noqa: E402
from lrm_llava.analysis import cli as analysis_cli  # noqa: E402
from lrm_llava.bench.translation import TranslateConfig, translate_benchmark  # noqa: E402

ZH = {
    "Is there a dog in the image?": "图片中有狗吗？",
    "Is there a cat in the image?": "图片中有猫吗？",
    "Is there a red car in the image?": "图片中有红色的汽车吗？",
    "Is there a bird in the image?": "图片里有鸟吗？",
    "Is there a horse in the image?": "图片中有马吗？",
}
ZH_B = {**ZH, "Is there a red car in the image?": "图像里有一辆红车吗？", "Is there a bird in the image?": "图中有鸟吗？"}


class Fixed:
    """A backend answering from a dict (German: a marker; Chinese: real sentences)."""

    model, exact, max_batch = "", True, 100

    def __init__(self, name, zh, changed=()):
        self.name, self.zh, self.changed = name, zh, set(changed)

    def translate(self, texts, src, tgt):
        if tgt == "zh":
            return [self.zh[t] for t in texts]
        return [f"Frage: {t.replace('the', 'das')}" if t not in self.changed else f"Frage {t} anders" for t in texts]


@pytest.fixture(scope="module")
def roots(tmp_path_factory):
    base = tmp_path_factory.mktemp("bleu")
    en = make_bench_root(base / "en")
    a, b = base / "a", base / "b"
    for root, tr in ((a, Fixed("a", ZH)), (b, Fixed("b", ZH_B, changed={"Is there a cat in the image?"}))):
        shutil.copytree(en, root)
        translate_benchmark(TranslateConfig(benchmark="pope", src=root, out=root, languages="de,zh", progress=False,
                                            cache=root / "cache.sqlite"), translator=tr)
        translate_benchmark(TranslateConfig(benchmark="mmbench", src=root, out=root, languages="de", progress=False,
                                            cache=root / "cache.sqlite"), translator=Fixed(tr.name, {}))
    return a, b


def _value(rows, bench, lang, metric):
    return next(r["value"] for r in rows if (r["benchmark"], r["language"], r["metric"]) == (bench, lang, metric))


def test_identical_translations_agree_fully(roots):
    a, _ = roots
    rows = bleu_agreement(BleuConfig(a=a, b=a))
    assert _value(rows, "pope", "de", "bleu") == pytest.approx(100.0)
    assert _value(rows, "pope", "zh", "chrf") == pytest.approx(100.0)
    assert _value(rows, "mmbench", "de", "segments") == 9.0  # base questions only: 6 + 3 texts
    assert _value(rows, "all", "avg", "bleu") == pytest.approx(100.0)


def test_scores_equal_sacrebleu_on_aligned_texts(roots):
    a, b = roots
    rows = bleu_agreement(BleuConfig(a=a, b=b, benchmarks="pope"))
    order = [t for split in ("random", "adversarial") for _, _, t, _ in POPE_ROWS[split]]
    ref_de = [f"Frage: {t.replace('the', 'das')}" for t in order]
    hyp_de = [f"Frage {t} anders" if t == "Is there a cat in the image?" else f"Frage: {t.replace('the', 'das')}"
              for t in order]
    assert _value(rows, "pope", "de", "bleu") == pytest.approx(BLEU().corpus_score(hyp_de, [ref_de]).score)
    assert _value(rows, "pope", "de", "chrf") == pytest.approx(CHRF().corpus_score(hyp_de, [ref_de]).score)
    ref_zh, hyp_zh = [ZH[t] for t in order], [ZH_B[t] for t in order]
    zh = _value(rows, "pope", "zh", "bleu")
    assert zh == pytest.approx(BLEU(tokenize="zh").corpus_score(hyp_zh, [ref_zh]).score)
    assert zh != pytest.approx(BLEU(tokenize="13a").corpus_score(hyp_zh, [ref_zh]).score)
    assert 0 < zh < 100
    assert _value(rows, "pope", "avg", "bleu") == pytest.approx((zh + _value(rows, "pope", "de", "bleu")) / 2)


def test_cli_writes_table_files(roots, tmp_path, capsys):
    a, b = roots
    parser = argparse.ArgumentParser()
    analysis_cli.register(parser.add_subparsers())
    args = parser.parse_args(["analyze", "bleu", "--a", str(a), "--b", str(b), "--benchmarks", "pope,mmbench",
                              "--out", str(tmp_path / "bleu")])
    assert args.func(args) == 0
    printed = capsys.readouterr().out
    assert printed.splitlines()[0] == "| Language | pope BLEU | pope chrF | mmbench BLEU | mmbench chrF |"
    assert printed.splitlines()[-1].startswith("| Avg | ")
    saved = json.loads((tmp_path / "bleu" / "bleu.json").read_text())
    assert {"benchmark", "language", "metric", "value"} == set(saved[0])
    assert "Avg = mean over the non-English languages" in (tmp_path / "bleu" / "bleu.md").read_text()
