"""docs/data.md's walk-through runs as written: its command block, read from the document, on a
small copy of each release's layout (tests/instruct/release_fixtures.py) in the folders the
document names: every import and build exits 0 and the builds hold every source."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import release_fixtures as rf

from lrm_llava.cli import main

DOC = Path(__file__).resolve().parents[2] / "docs" / "data.md"
SECTION = "## From the public downloads to a multilingual dataset"


def walkthrough_commands() -> list[list[str]]:
    """The `lrm-llava` commands of the section's first bash block, continuation lines joined."""
    text = DOC.read_text(encoding="utf-8")
    section = text[text.index(SECTION):]
    block = section[section.index("```bash\n") + len("```bash\n"):]
    block = block[:block.index("```")]
    commands = []
    for line in block.replace("\\\n", " ").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            commands.append(shlex.split(line))
    return commands


def downloads(root: Path) -> None:
    """Each release unpacked where the walk-through expects it."""
    rf.llava_665k(root / "playground" / "data")
    rf.sharegpt4v_pt(root / "ShareGPT4V" / "data")
    rf.chartqa(root)
    rf.docvqa(root)
    rf.dvqa(root / "DVQA")
    rf.ai2d(root)
    rf.geoqa(root)
    rf.cauldron(root)


def test_the_walkthrough_runs_as_written(tmp_path, monkeypatch, capsys):
    downloads(tmp_path)
    monkeypatch.chdir(tmp_path)
    commands = walkthrough_commands()
    assert {c[2] for c in commands} == {"import", "build"} and len(commands) >= 10
    formats = {c[c.index("--format") + 1] for c in commands if "--format" in c}
    assert formats == {"llava", "sharegpt4v", "chartqa", "docvqa", "dvqa", "ai2d", "geoqa", "cauldron"}
    for argv in commands:
        assert argv[0] == "lrm-llava"
        assert main(argv[1:] + ["--no-progress"] * (argv[2] == "build")) == 0, " ".join(argv)
    out = capsys.readouterr().out
    assert "expected wall time" in out  # the sizing step printed its hours
    planned = json.loads(next(line for line in out.splitlines() if line.startswith("planned samples: "))
                         .removeprefix("planned samples: "))
    built = json.loads((tmp_path / "data" / "finetune_pseudo.stats.json").read_text(encoding="utf-8"))
    assert planned == built["counts"]  # the dry run predicts the build (GeoQA counted as Chinese in both)

    finetune = json.loads((tmp_path / "data" / "finetune_pseudo.json").read_text(encoding="utf-8"))
    imported = {name: json.loads((tmp_path / "data" / f"{name}.json").read_text(encoding="utf-8"))
                for name in ("llava665k", "chartqa", "docvqa", "dvqa", "ai2d", "geoqa")}
    built_ids = {s["source_id"] for s in finetune}
    for name, rows in imported.items():
        assert rows and built_ids & {r["id"] for r in rows}, f"no {name} sample in the build"
    for sample in finetune:  # images under the one root the imports wrote
        if "image" in sample:
            assert (tmp_path / "data" / sample["image"]).is_file(), sample["image"]
    geoqa_ids = {r["id"] for r in imported["geoqa"]}
    assert all(s["lang"] == "zh" and "[" not in s["conversations"][0]["value"]
               for s in finetune if s["source_id"] in geoqa_ids)  # never (pseudo-)translated
    pretrain = json.loads((tmp_path / "data" / "pretrain_pseudo.json").read_text(encoding="utf-8"))
    assert {s["task"] for s in pretrain} == {"mvqa"} and {s["lang"] for s in pretrain} > {"en"}
