"""MME: load, translate, write and score the native folder format.

Layout of `mme/<language>/` (one folder per subtask, both official layouts accepted):

    <subtask>/images/<name>.png + <subtask>/questions_answers_YN/<name>.txt     (layout A)
    <subtask>/<name>.png        + <subtask>/<name>.txt                          (layout B)

Each txt holds two lines `question<TAB>Yes|No`, one "yes" and one "no" question about the image;
questions end with the answer-format suffix ("Please answer yes or no." in English, the registry's
`yes_no_suffix` in other languages). Scoring (the official `eval_tool/calculation.py`): per subtask,
accuracy over questions plus accuracy+ (share of images whose two questions are both right), each
×100 and summed; the perception score sums the ten perception subtasks present, the cognition
score the four cognition subtasks present.
"""

from __future__ import annotations

import base64
from collections import Counter, defaultdict
from dataclasses import dataclass, replace
from pathlib import Path

from lrm_llava.bench.common import Item, find_image_stem, join_suffix, strip_suffix
from lrm_llava.errors import DataError
from lrm_llava.jsonio import iter_tsv, write_text
from lrm_llava.languages import ENGLISH, get

PERCEPTION: tuple[str, ...] = (
    "existence", "count", "position", "color", "posters", "celebrity", "scene", "landmark", "artwork", "OCR",
)
"""The ten perception subtasks (official folder names)."""
COGNITION: tuple[str, ...] = (
    "commonsense_reasoning", "numerical_calculation", "text_translation", "code_reasoning",
)
"""The four cognition subtasks (official folder names)."""
SUBTASKS: tuple[str, ...] = PERCEPTION + COGNITION
_CANONICAL = {name.lower(): name for name in SUBTASKS}
QA_DIR = "questions_answers_YN"
IMAGES_DIR = "images"


@dataclass
class MMEFile:
    """One question file: the two questions about one image."""

    subtask: str
    """Official subtask name ("existence", "OCR", ...)."""
    folder: str
    """The subtask folder's name on disk (case may differ from `subtask`)."""
    layout: str
    """"A" (images/ + questions_answers_YN/) or "B" (image and txt side by side)."""
    name: str
    """File stem shared by the txt and its image."""
    lines: list[tuple[str, str]]
    """(question, answer) pairs as written in the file; answers are "Yes"/"No"."""
    path: str
    """The txt file it was read from (for error messages)."""
    image: Path | bytes | None = None
    """The image when it is not found by name beside the questions: its bytes (parquet / TSV
    imports) or its file (an MME `Your_Results` import). None: looked up by `name` (native)."""
    image_ext: str = ".png"
    """Extension to give `image` bytes when they are written out as a file."""


def load(folder: Path) -> list[MMEFile]:
    """Read every subtask folder under `folder` (an `mme/<language>/` directory).

    Other layouts of the same questions are read too (`bench.importers`): lmms-lab/MME parquet
    files, the MME eval tool's `Your_Results/<subtask>.txt` with the images in subtask folders, and
    VLMEvalKit's `MME*.tsv`."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"{folder}: MME folder not found; expected mme/<language>/<subtask>/ folders")
    files: list[MMEFile] = []
    for sub in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
        subtask = _CANONICAL.get(sub.name.lower())
        if subtask is None:
            raise DataError(
                f"{sub}: unknown MME subtask folder {sub.name!r}; expected one of {', '.join(SUBTASKS)} "
                "(rename or move the folder)"
            )
        layout = "A" if (sub / QA_DIR).is_dir() else "B"
        qa_dir = sub / QA_DIR if layout == "A" else sub
        for txt in sorted(qa_dir.glob("*.txt")):
            files.append(MMEFile(subtask, sub.name, layout, txt.stem, _read_pairs(txt), str(txt)))
    if not files:
        raise DataError(f"{folder}: no MME question files found (expected <subtask>/*.txt or "
                        f"<subtask>/{QA_DIR}/*.txt)")
    return files


def _read_pairs(txt: Path) -> list[tuple[str, str]]:
    lines: list[tuple[str, str]] = []
    for lineno, parts in iter_tsv(txt, "MME question file"):
        if len(parts) != 2:
            raise DataError(f"{txt}:{lineno}: expected 'question<TAB>Yes|No', found {len(parts) - 1} tabs")
        question, answer = parts[0].strip(), parts[1].strip()
        if answer.lower() not in ("yes", "no"):
            raise DataError(f"{txt}:{lineno}: answer must be Yes or No, found {answer!r}")
        if not question:
            raise DataError(f"{txt}:{lineno}: empty question")
        lines.append((question, answer))
    if len(lines) != 2:
        raise DataError(f"{txt}: an MME file holds exactly two questions about its image, found {len(lines)}")
    return lines


def _suffixes(language: str) -> list[str]:
    return list(dict.fromkeys([get(language).yes_no_suffix, get(ENGLISH).yes_no_suffix]))


def _core(question: str, language: str) -> tuple[str, bool]:
    core, found = strip_suffix(question, _suffixes(language))
    return core, found is not None


def items(doc: list[MMEFile], language: str, lang_dir: Path, en_dir: Path | None) -> list[Item]:
    """One Item per question; images resolved under `lang_dir`, else under `en_dir` (shared)."""
    out: list[Item] = []
    for f in doc:
        image = find_image(f, lang_dir, en_dir)
        b64 = base64.b64encode(image).decode("ascii") if isinstance(image, bytes) else None
        for i, (question, answer) in enumerate(f.lines):
            core, _ = _core(question, language)
            out.append(Item(
                benchmark="mme", language=language, question_id=f"{f.subtask}/{f.name}/{i}",
                question=core, answer=answer.lower(), category=f.subtask, group=f"{f.subtask}/{f.name}",
                image_path=None if b64 is not None else str(image), image_b64=b64,
            ))
    return out


def find_image(f: MMEFile, lang_dir: Path, en_dir: Path | None) -> Path | bytes:
    """The image of one question file: its bytes or file (imports), else `<name>.*` in the file's
    layout under `lang_dir`, else under `en_dir` (in either layout: shared images)."""
    if f.image is not None:
        return f.image
    rel = Path(f.folder) / IMAGES_DIR if f.layout == "A" else Path(f.folder)
    image = find_image_stem(Path(lang_dir) / rel, f.name)
    if image is None and en_dir is not None:
        # A text-only translated folder shares the English images; that folder may use the other layout.
        image = find_image_stem(Path(en_dir) / rel, f.name) or find_image_stem(
            Path(en_dir) / f.folder / (IMAGES_DIR if f.layout == "B" else ""), f.name
        )
    if image is None:
        raise DataError(f"{f.path}: no image named {f.name}.* in {Path(lang_dir) / rel}"
                        + (f" or {Path(en_dir) / rel}" if en_dir is not None else "")
                        + "; add the image (or the English folder that holds it)")
    return image


def image_files(doc: list[MMEFile], lang_dir: Path, en_dir: Path | None) -> dict[str, Path | bytes]:
    """The images a self-contained copy of this folder needs: relative path in the files' layout
    (`<subtask>/images/<name>.<ext>` for layout A, `<subtask>/<name>.<ext>` for B) -> source file
    or bytes. Where LLaVA's MME converter and `load` look for them."""
    out: dict[str, Path | bytes] = {}
    for f in doc:
        image = find_image(f, lang_dir, en_dir)
        ext = f.image_ext if isinstance(image, bytes) else Path(image).suffix
        sub = f"{f.folder}/{IMAGES_DIR}" if f.layout == "A" else f.folder
        out[f"{sub}/{f.name}{ext}"] = image
    return out


def core_question(question: str, language: str) -> str:
    """A question line without its answer-format suffix (the language's or the English one)."""
    return _core(question, language)[0]


def source_texts(doc: list[MMEFile], language: str) -> list[str]:
    """The question texts to translate, answer-format suffix removed."""
    return [_core(q, language)[0] for f in doc for q, _ in f.lines]


QUOTED_SUBTASKS: tuple[str, ...] = ("OCR", "text_translation", "code_reasoning")
"""Subtasks whose quoted strings and code are kept verbatim by translation: the yes/no label
depends on them ("Is the word in the logo \"angie's\"?", "Does the code print 'Hello'?")."""


def protected_texts(doc: list[MMEFile], language: str) -> set[str]:
    """The `source_texts` whose quoted strings and code must not be translated (`QUOTED_SUBTASKS`)."""
    return {_core(q, language)[0] for f in doc if f.subtask in QUOTED_SUBTASKS for q, _ in f.lines}


def translate_doc(doc: list[MMEFile], table: dict[str, str], src: str, tgt: str) -> list[MMEFile]:
    """Replace each question by its translation; the target language's suffix is appended where the
    source had one. Answers stay "Yes"/"No" (they are labels, not text)."""
    suffix = get(tgt).yes_no_suffix
    out = []
    for f in doc:
        lines = []
        for question, answer in f.lines:
            core, had = _core(question, src)
            text = _one_line(table[core])
            lines.append((join_suffix(text, suffix, tgt) if had else text, answer))
        out.append(replace(f, lines=lines))
    return out


def _one_line(text: str) -> str:
    # A tab or newline inside a translated question would break the two-column format.
    return " ".join(text.replace("\t", " ").split())


def write(doc: list[MMEFile], folder: Path) -> None:
    """Write the question files in their original layout (text only: `image_files` lists the images)."""
    folder = Path(folder)
    for f in doc:
        qa_dir = folder / f.folder / QA_DIR if f.layout == "A" else folder / f.folder
        write_text(qa_dir / f"{f.name}.txt", "".join(f"{q}\t{a}\n" for q, a in f.lines))


def segments(doc: list[MMEFile], language: str) -> dict[tuple, str]:
    """Aligned question texts (suffix removed) keyed by (subtask, image, line) for BLEU."""
    return {(f.subtask, f.name, i): _core(q, language)[0] for f in doc for i, (q, _) in enumerate(f.lines)}


def score(rows: list[dict]) -> list[tuple[str | None, str, float]]:
    """Official MME scores from prediction rows of one model × language.

    Returns (split, metric, value) triples: per subtask `acc[<subtask>]`, `acc_plus[<subtask>]`,
    `score[<subtask>]` (all ×100), and `perception`, `cognition`, `total` sums over the subtasks
    present. An unparseable reply (`parsed` None) is wrong.
    """
    by_task: dict[str, dict[str, list[bool]]] = defaultdict(lambda: defaultdict(list))
    for r in rows:
        by_task[r["category"]][r["group"]].append(r["parsed"] == r["answer"])
    out: list[tuple[str | None, str, float]] = []
    sums = {"perception": 0.0, "cognition": 0.0}
    present = {"perception": False, "cognition": False}
    for subtask in sorted(by_task, key=lambda s: SUBTASKS.index(s) if s in SUBTASKS else len(SUBTASKS)):
        groups = by_task[subtask]
        answers = [ok for g in groups.values() for ok in g]
        acc = 100.0 * sum(answers) / len(answers)
        acc_plus = 100.0 * sum(all(g) for g in groups.values()) / len(groups)
        out += [(None, f"acc[{subtask}]", acc), (None, f"acc_plus[{subtask}]", acc_plus),
                (None, f"score[{subtask}]", acc + acc_plus)]
        kind = "cognition" if subtask in COGNITION else "perception"
        sums[kind] += acc + acc_plus
        present[kind] = True
    for kind in ("perception", "cognition"):
        if present[kind]:
            out.append((None, kind, sums[kind]))
    out.append((None, "total", sums["perception"] + sums["cognition"]))
    return out


def chance(rows: list[dict]) -> dict[str, float]:
    """Expected `perception` score of a guesser that says "yes" half the time: per subtask
    acc 50 plus acc+ 100 x mean over images of 0.5^(questions of the image) (25 for MME's pairs)."""
    by_task: dict[str, Counter] = defaultdict(Counter)
    for r in rows:
        by_task[r["category"]][r["group"]] += 1
    perception = [50.0 + 100.0 * sum(0.5 ** n for n in groups.values()) / len(groups)
                  for subtask, groups in by_task.items() if subtask not in COGNITION]
    return {"perception": sum(perception)} if perception else {}
