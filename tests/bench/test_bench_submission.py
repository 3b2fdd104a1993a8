"""MMBench test splits (no answers) run but are not scored; `bench submit` writes the files the
benchmarks' own scorers read (MME Your_Results, MMBench .xlsx, SEED JSONL) and they read back."""

from __future__ import annotations

import json
import zlib

import pytest
from benchdata import MMB_HEADER, make_bench_root, mmbench_rows, write_tsv

from lrm_llava.bench import EvalConfig, read_predictions, run_eval
from lrm_llava.bench.run import NO_ANSWERS_NOTE
from lrm_llava.bench.scoring import reparse, score_predictions
from lrm_llava.bench.submission import SubmitConfig, write_submission
from lrm_llava.cli import main

REPLIES = ["Yes", "No", "yes, there is one", "No.", "Ja", "Nein", "是", "不是", "maybe", "A", "B", "C",
           "The answer is B", "D.", "I don't know", "no"]


class FakeAdapter:
    """Canned replies chosen by the prompt (deterministic), so every parse path shows up."""

    name = "fake"

    def generate(self, requests):
        return [REPLIES[zlib.crc32(r.prompt.encode()) % len(REPLIES)] for r in requests]

    def describe(self):
        return {"adapter": "fake", "model_id": "fake", "generation": {"max_new_tokens": 4}}


def _eval(root, out, **kw):
    return run_eval(EvalConfig(bench_root=root, out=out, model_name="fake", progress=False, fidelity=False,
                               batch_size=4, **kw), adapter=FakeAdapter())


def _test_split(folder):
    """The toy MMBench as a test split: the TSV has no answer column (as MMBench_TEST_EN.tsv)."""
    header = [c for c in MMB_HEADER if c != "answer"]
    rows = [{**r, "split": "test"} for r in mmbench_rows()]
    write_tsv(folder / "MMBench_TEST_toy.tsv", [{k: v for k, v in r.items() if k != "answer"} for r in rows],
              header=header)


@pytest.fixture(scope="module")
def run(translated_root, tmp_path_factory):
    out = tmp_path_factory.mktemp("submit") / "eval"
    results = _eval(translated_root, out, languages="en,de,zh", benchmarks="mme,mmbench,seed")
    rows = read_predictions(sorted((out / "predictions").glob("*.jsonl")))
    return out, results, rows


# ------------------------------------------------------------------------------- test split
def test_mmbench_test_split_is_run_not_scored(tmp_path):
    root = make_bench_root(tmp_path / "bench")
    _test_split(root / "mmbench" / "fr")
    out = tmp_path / "eval"
    results = _eval(root, out, languages="all", benchmarks="mme,mmbench")
    rows = read_predictions(sorted((out / "predictions").glob("*.jsonl")))
    test = [r for r in rows if r["benchmark"] == "mmbench" and r["language"] == "fr"]
    assert len(test) == 6 and all(r["answer"] == "" for r in test)
    assert any(r["parsed"] in ("A", "B", "C", "D") for r in test)  # parsed letters recorded
    saved = json.loads((out / "results.json").read_text())
    assert saved == results
    assert not [r for r in saved if r["benchmark"] == "mmbench" and r["language"] == "fr"]
    assert any(r["benchmark"] == "mmbench" and r["language"] == "en" and r["metric"] == "overall" for r in saved)
    report = (out / "report.md").read_text()
    assert NO_ANSWERS_NOTE in report and "mmbench · fr: 6 question(s)" in report
    # rescoring the files says the same, and a run of the test split alone does not crash
    rescored = run_eval(EvalConfig(predictions=sorted((out / "predictions").glob("*.jsonl")), out=tmp_path / "re",
                                   fidelity=False))
    assert rescored == results and NO_ANSWERS_NOTE in (tmp_path / "re" / "report.md").read_text()
    only = _eval(root, tmp_path / "only", languages="fr", benchmarks="mmbench")
    assert only == [] and NO_ANSWERS_NOTE in (tmp_path / "only" / "report.md").read_text()


def test_rows_without_answers_leave_scores_unchanged(run):
    _, results, rows = run
    blank = [{**r, "answer": "", "language": "cs"} for r in rows if r["benchmark"] == "mmbench"]
    assert score_predictions(rows + blank, with_fidelity=False) == score_predictions(rows, with_fidelity=False)


def test_mmbench_answer_not_an_option_still_refused(tmp_path):
    from lrm_llava.errors import DataError

    root = make_bench_root(tmp_path / "bench")
    rows = mmbench_rows()
    rows[0]["answer"] = "Z"
    write_tsv(root / "mmbench" / "en" / "MMBench_DEV_toy.tsv", rows)
    with pytest.raises(DataError, match="not one of its options"):
        _eval(root, tmp_path / "eval", languages="en", benchmarks="mmbench")


# ------------------------------------------------------------------------------------- MME
def official_mme(results_dir) -> dict[str, tuple[float, float]]:
    """The MME eval tool's calculation.py rule: lines read in pairs (one image), the prediction
    lower-cased, "yes"/"no" exactly or within its first 4 characters, else "other"; per subtask
    (acc x 100, acc+ x 100)."""
    scores = {}
    for txt in sorted(results_dir.glob("*.txt")):
        lines = open(txt, encoding="utf-8").readlines()
        chunks = [lines[i:i + 2] for i in range(0, len(lines), 2)]
        gts, preds, plus = [], [], 0
        for chunk in chunks:
            assert len(chunk) == 2
            right = 0
            for line in chunk:
                _image, _question, gt, pred = line.split("\t")
                gt, pred = gt.lower(), pred.lower()
                assert gt in ("yes", "no")
                if pred not in ("yes", "no"):
                    pred = "yes" if "yes" in pred[:4] else "no" if "no" in pred[:4] else "other"
                gts.append(gt)
                preds.append(pred)
                right += gt == pred
            plus += right == 2
        acc = sum(g == p for g, p in zip(gts, preds)) / len(gts)
        scores[txt.stem] = (acc * 100, plus / len(chunks) * 100)
    return scores


def test_mme_your_results_score_as_eval(run, translated_root, tmp_path):
    out, _, rows = run
    written = write_submission(SubmitConfig(predictions=[out / "predictions" / "mme.jsonl"], out=tmp_path / "sub",
                                            bench_root=translated_root))
    assert set(written) == {"mme/en", "mme/de", "mme/zh"}
    for lang in ("en", "de", "zh"):
        folder = tmp_path / "sub" / "mme" / lang / "Your_Results"
        assert folder == written[f"mme/{lang}"]
        official = official_mme(folder)
        ours = {r["metric"]: r["value"] for r in score_predictions(
            [r for r in rows if r["language"] == lang], with_fidelity=False) if r["benchmark"] == "mme"}
        assert set(official) == {"existence", "code_reasoning", "artwork"}
        for subtask, (acc, acc_plus) in official.items():
            assert acc == pytest.approx(ours[f"acc[{subtask}]"]) and acc_plus == pytest.approx(ours[f"acc_plus[{subtask}]"])
        assert sum(a + p for s, (a, p) in official.items() if s != "code_reasoning") == pytest.approx(ours["perception"])
        # lines: image file name, the question as in the benchmark's file, its answer, the reply's label
        lines = (folder / "existence.txt").read_text(encoding="utf-8").splitlines()
        assert [line.split("\t")[0] for line in lines] == ["e1.png", "e1.png", "e2.png", "e2.png"]
        pred = {r["question_id"]: r for r in reparse(rows) if r["benchmark"] == "mme" and r["language"] == lang}
        for i, line in enumerate(lines):
            _, question, gt, label = line.split("\t")
            row = pred[f"existence/e{i // 2 + 1}/{i % 2}"]
            assert gt.lower() == row["answer"] and label == {"yes": "Yes", "no": "No"}.get(row["parsed"], "other")
            assert question.endswith("Please answer yes or no.") or lang != "en"
        assert 0 < sum(a for a, _ in official.values()) < 300  # some replies right, some wrong or "other"


def test_mme_needs_whole_pairs_and_bench_root(run, translated_root, tmp_path):
    from lrm_llava.errors import DataError, UserError

    out, _, rows = run
    path = tmp_path / "half.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows
                            if r["benchmark"] == "mme" and r["question_id"] != "existence/e1/1"))
    with pytest.raises(DataError, match="question pairs"):
        write_submission(SubmitConfig(predictions=[path], out=tmp_path / "s", bench_root=translated_root))
    with pytest.raises(UserError, match="--bench-root"):
        write_submission(SubmitConfig(predictions=[out / "predictions" / "mme.jsonl"], out=tmp_path / "s"))


# --------------------------------------------------------------------------------- MMBench
def test_mmbench_xlsx_dev_and_test(tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    root = make_bench_root(tmp_path / "bench")
    _test_split(root / "mmbench" / "fr")
    out = tmp_path / "eval"
    _eval(root, out, languages="en,fr", benchmarks="mmbench")
    rows = read_predictions([out / "predictions" / "mmbench.jsonl"])
    code = main(["bench", "submit", "--predictions", str(out / "predictions" / "mmbench.jsonl"),
                 "--bench-root", str(root), "--out", str(tmp_path / "sub")])
    assert code == 0
    for lang, name, header in (
        ("en", "MMBench_DEV_toy", ["index", "question", "A", "B", "C", "D", "prediction", "answer", "split"]),
        ("fr", "MMBench_TEST_toy", ["index", "question", "A", "B", "C", "D", "prediction", "split"]),
    ):
        sheet = openpyxl.load_workbook(tmp_path / "sub" / "mmbench" / lang / f"{name}.xlsx").active
        table = list(sheet.iter_rows(values_only=True))
        assert list(table[0]) == header
        got = {r[0]: dict(zip(header, r)) for r in table[1:]}
        want = {int(r["question_id"]): r for r in reparse(rows) if r["language"] == lang}
        assert set(got) == set(want) and len(got) == 6
        for index, cells in got.items():
            assert cells["prediction"] == want[index]["parsed"]
            assert cells["A"] == want[index]["options"]["A"]
            assert cells.get("answer") == (want[index]["answer"] or None if lang == "en" else None)
            assert cells["split"] == ("dev" if lang == "en" else "test")
        assert {c["C"] for c in got.values()} >= {None}  # the 2-option question's empty cells stay empty


# ------------------------------------------------------------------------------------ SEED
def test_seed_jsonl(run, tmp_path):
    out, _, rows = run
    written = write_submission(SubmitConfig(predictions=sorted((out / "predictions").glob("*.jsonl")),
                                            out=tmp_path / "sub", benchmarks="seed", languages="de,zh"))
    assert set(written) == {"seed/de", "seed/zh"}
    for lang in ("de", "zh"):
        lines = [json.loads(x) for x in written[f"seed/{lang}"].read_text(encoding="utf-8").splitlines()]
        want = [r for r in reparse(rows) if r["benchmark"] == "seed" and r["language"] == lang]
        assert [set(x) for x in lines] == [{"question_id", "prediction"}] * 3
        assert {x["question_id"]: x["prediction"] for x in lines} == {
            r["question_id"]: r["parsed"] or r["output"].strip().rstrip(".").upper() for r in want}
    assert not (tmp_path / "sub" / "mme").exists()


def test_submit_refuses_several_models(run, tmp_path):
    from lrm_llava.errors import UserError

    out, _, rows = run
    path = tmp_path / "two.jsonl"
    seed = [r for r in rows if r["benchmark"] == "seed"]
    path.write_text("".join(json.dumps(r) + "\n" for r in seed + [{**r, "model": "other"} for r in seed]))
    with pytest.raises(UserError, match="--model-name"):
        write_submission(SubmitConfig(predictions=[path], out=tmp_path / "s"))
    written = write_submission(SubmitConfig(predictions=[path], out=tmp_path / "s", model_name="other"))
    assert "seed/en" in written
