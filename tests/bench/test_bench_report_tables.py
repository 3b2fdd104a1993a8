"""report.md: the breakdown under each headline table, captions that state what is summed over what
was evaluated, and no "mean of the 0 non-English languages" for an English-only run."""

from __future__ import annotations

from lrm_llava.bench import write_report
from lrm_llava.bench.prompts import build_prompt
from lrm_llava.bench.run import load_items, prediction_row
from lrm_llava.bench.scoring import score_predictions


def _results(root, langs, model="m", wrong_every=3):
    rows = []
    for bench in ("mme", "pope", "mmbench", "seed"):
        for lang in langs:
            for n, item in enumerate(load_items(root, bench, lang)):
                right = item.answer.capitalize() if bench in ("mme", "pope") else item.answer
                wrong = {"yes": "No", "no": "Yes"}.get(item.answer) or next(k for k in item.options if k != item.answer)
                output = wrong if n % wrong_every == 0 else right
                rows.append(prediction_row(item, model, build_prompt(item), output))
    return score_predictions(rows, with_fidelity=False)


def _section(report: str, title: str) -> str:
    start = report.index(f"## {title}")
    end = report.find("\n## ", start + 3)
    return report[start:end]


def test_breakdown_tables_and_captions(translated_root, tmp_path):
    results = _results(translated_root, ("en", "de")) + _results(translated_root, ("en", "de"), "n", wrong_every=2)
    report = write_report(results, tmp_path, charts=False).read_text(encoding="utf-8")
    mme = _section(report, "Multilingual MME")
    # three perception-or-cognition subtasks in the toy MME: two perception ones, so max 400 here, not 2000
    assert ("MME perception score: the sum of the 2 perception subtask scores evaluated here (existence, artwork; "
            "acc + acc+, max 200 each, so max 400 here; the full benchmark's ten give max 2000).") in mme
    assert "| Subtask | Model | En | De | Avg |" in mme
    assert "| existence | m |" in mme and "| existence | n |" in mme
    assert "| code_reasoning *cog.* | m |" in mme
    pope = _section(report, "Multilingual POPE")
    assert "POPE F1 (%), mean of the 2 split(s) evaluated (random, adversarial)." in pope
    assert "| Split | Model | En | De | Avg |" in pope and "| random F1 | m |" in pope
    assert "| adversarial accuracy | n |" in pope
    mmb = _section(report, "Multilingual MMBench")
    assert "| Category | Model |" in mmb and "| attribute_recognition | m |" in mmb and "| image_scene | n |" in mmb
    seed = _section(report, "Multilingual SEED-Bench (Image)")
    assert "| Dimension | Model |" in seed
    assert seed.index("| Scene Understanding |") < seed.index("| Instances Counting |")  # SEED's order
    # the breakdown's numbers are the results' numbers
    value = next(r["value"] for r in results if r["model"] == "m" and r["benchmark"] == "mme" and r["language"] == "de"
                 and r["metric"] == "score[existence]")
    assert "| existence | m | " in mme and f"{value:.1f}" in mme.split("| existence | m | ")[1].split("\n")[0]


def test_english_only_report_has_no_empty_average(translated_root, tmp_path):
    results = _results(translated_root, ("en",))
    report = write_report(results, tmp_path, charts=False).read_text(encoding="utf-8")
    assert "0 non-English" not in report and "(none)" not in report
    assert "Only English was evaluated here, so there is no Avg column" in report
    assert "| Model | En |\n" in report and "| Avg |" not in report
    assert "| *chance* | " in report


def test_full_ten_language_caption(translated_root):
    from lrm_llava.bench.report import avg_sentence, caption

    rows = [{"model": "m", "benchmark": "mme", "split": None, "language": "en", "metric": f"score[{s}]", "value": 1.0}
            for s in ("existence", "count", "position", "color", "posters", "celebrity", "scene", "landmark",
                      "artwork", "OCR")]
    assert caption(rows, "mme").endswith("(acc + acc+, max 200 each; max 2000)")
    assert avg_sentence(["en", "zh", "it", "fr", "de", "es", "ru", "ro", "cs", "hr"]) == (
        "Avg = mean of the 9 non-English languages.")
