"""Build the ShapeWorld testbed on disk: images, English LLaVA sources, the reference translation
table and the four benchmarks in their native formats.

    lrm-llava world build --out runs/demo/world [--quick] [--seed 0]

or from Python `build_world("runs/demo/world", quick=True)`. Output (see docs/shapeworld.md):

    images/<scene_id>.png            training scenes
    captions_en.json                 LLaVA JSON pretraining source ("Describe the image briefly." -> caption)
    vqa_en.json                      LLaVA JSON finetuning source (short-answer VQA, yes/no, multiple choice,
                                     multi-turn)
    translations.jsonl               {"src","tgt","text","translation"} for every English string sent to MT
    bench/mme/en/<subtask>/          existence, count (layout B), position, color (layout A/B mixed)
    bench/pope/en/coco_pope_{random,popular,adversarial}.json + images/
    bench/mmbench/en/mmbench_dev.tsv  base64 PNGs, 2-4 options, circular rotations at index + k*1,000,000
    bench/seed/en/SEED-Bench.json + images/
    world.json                       the config and counts

Everything is a pure function of the config (seed included): the same config gives the same bytes.
Rebuilding with an unchanged config is a no-op (world.json is written last and compared).
"""

from __future__ import annotations

import base64
import csv
import io
import json
import random
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

from tqdm import tqdm

from lrm_llava import languages
from lrm_llava.errors import DataError
from lrm_llava.jsonio import atomic_open, read_json, write_json, write_text
from lrm_llava.world import frames as F
from lrm_llava.world.realize import realize
from lrm_llava.world.scene import COLORS, KINDS, POSITIONS, Scene, render, sample_scene

LETTERS = "ABCD"
MME_SUBTASKS = ("existence", "count", "position", "color")
# MME ships both layouts; alternate them so both loaders are exercised.
MME_LAYOUT = {"existence": "A", "count": "B", "position": "A", "color": "B"}
POPE_SPLITS = ("random", "popular", "adversarial")
SEED_QUESTION_TYPES = {
    "Scene Understanding": 1, "Instance Identity": 2, "Instance Attributes": 3, "Instance Location": 4,
    "Instances Counting": 5, "Spatial Relation": 6, "Instance Interaction": 7, "Visual Reasoning": 8,
    "Text Understanding": 9,
}
"""SEED-Bench's image dimensions and ids (ShapeWorld fills types 1-5)."""
MMBENCH_COLUMNS = ("index", "question", "hint", "A", "B", "C", "D", "answer", "category", "image", "source",
                   "l2-category", "comment", "split")
ROTATION_STRIDE = 1_000_000


@dataclass
class WorldConfig:
    """What `build_world` makes; every field is recorded in world.json."""

    n_train_scenes: int = 2000
    """Training scenes (one caption each, `vqa_per_scene` VQA conversations each)."""
    n_bench_scenes: int = 240
    """Held-out scenes shared out among the benchmarks (never used for training)."""
    seed: int = 0
    """Seed of every random choice; the same seed gives the same files."""
    image_size: int = 96
    """Side of the square images in pixels; a multiple of 3, so that the backbones' ViT has one patch per
    cell of the 3 x 3 layout (96 px: patch 32, 9 image tokens)."""
    vqa_per_scene: int = 4
    """VQA conversations per training scene."""
    max_turns: int = 3
    """Most question/answer rounds in one VQA conversation."""
    min_objects: int = 1
    """Fewest shapes per scene."""
    max_objects: int = 4
    """Most shapes per scene (at most 5: one per cell)."""
    mme_images: int = 0
    """Images per MME subtask (two questions each); 0 means n_bench_scenes // 4."""
    pope_images: int = 0
    """Images in POPE (shared by the three splits, up to 6 questions each); 0 means n_bench_scenes // 4."""
    mmbench_questions: int = 0
    """MMBench questions before rotations; 0 means n_bench_scenes // 2."""
    seed_questions: int = 0
    """SEED-Bench questions; 0 means n_bench_scenes // 2."""
    quick: bool = False
    """Recorded for information; `build_world(quick=True)` shrinks the sizes."""
    generator: int = 2
    """Version of the generator, bumped whenever the same config would give different files (2: one
    ViT patch per cell and existence-dominated VQA); a world of another version is not reused."""

    def sizes(self) -> dict[str, int]:
        b = self.n_bench_scenes
        return {
            "mme": self.mme_images or max(1, b // 4),
            "pope": self.pope_images or max(1, b // 4),
            "mmbench": self.mmbench_questions or max(1, b // 2),
            "seed": self.seed_questions or max(1, b // 2),
        }


QUICK = {"n_train_scenes": 160, "n_bench_scenes": 32, "vqa_per_scene": 2}
"""Sizes `--quick` uses (seconds to build, enough to train and evaluate a smoke test)."""


# ----------------------------------------------------------------------------------------- turns
@dataclass(frozen=True)
class Turn:
    """One question/answer round, language-independent: the frames and the prompt format."""

    question: F.Frame
    """The core question."""
    answer: F.Frame | None
    """The answer frame; None for multiple choice (the answer is the option letter)."""
    form: str
    """"plain" (question only), "short" (+ short-answer suffix), "yesno" (+ " Please answer yes or
    no."), "mc" (options block + option suffix)."""
    options: tuple[F.Frame, ...] = ()
    """Option frames for "mc"."""
    correct: int = -1
    """Index of the right option for "mc"."""
    hint: bool = False
    """Whether an "mc" question starts with the hint line."""


def question_text(turn: Turn, lang: str) -> str:
    """The user text of a turn in `lang`, suffixes from the language registry."""
    reg = languages.get(lang)
    core = realize(turn.question, lang)
    if turn.form == "short":
        return f"{core}\n{reg.short_answer_suffix}"
    if turn.form == "yesno":
        return f"{core} {reg.yes_no_suffix}"
    if turn.form == "mc":
        lines = [realize(F.Hint(), lang)] if turn.hint else []
        lines.append(core)
        lines += [f"{LETTERS[i]}. {realize(o, lang)}" for i, o in enumerate(turn.options)]
        lines.append(reg.option_suffix)
        return "\n".join(lines)
    return core


def answer_text(turn: Turn, lang: str) -> str:
    """The assistant text of a turn in `lang` ("B" for multiple choice)."""
    return LETTERS[turn.correct] if turn.answer is None else realize(turn.answer, lang)


def _options(rng: random.Random, right: F.Frame, pool: list[F.Frame], n: int) -> tuple[tuple[F.Frame, ...], int]:
    others = rng.sample([p for p in pool if p != right], n - 1)
    opts = others + [right]
    rng.shuffle(opts)
    return tuple(opts), opts.index(right)


def _absent_pairs(scene: Scene) -> list[tuple[str, str]]:
    return [(c, k) for k in KINDS for c in COLORS if not scene.has(k, c)]


def _yes_no_form(rng: random.Random) -> str:
    return rng.choice(("short", "yesno", "plain"))


def sample_turn(rng: random.Random, scene: Scene) -> Turn:
    """One training round about `scene`; tasks are mixed so every benchmark format is seen."""
    task = rng.choices(
        ("exist", "count", "count_check", "color", "color_check", "kind", "where", "where_check",
         "mc_color", "mc_kind", "mc_where", "mc_count", "mc_which"),
        weights=(12, 2, 2, 2, 2, 2, 2, 2, 1, 1, 1, 1, 1),
    )[0]
    # Existence questions, most about the kind alone, dominate on purpose: "is there a star?" needs
    # one look-up in the image tokens, and it is what teaches a tiny LM to attend to them at all;
    # the harder questions only start to learn once that circuit exists (docs/results.md).
    obj = rng.choice(scene.objects)
    open_form = rng.choice(("short", "short", "plain"))
    if task == "exist":
        yes = rng.random() < 0.5
        with_color = rng.random() < 0.25
        if yes:
            q = F.Exist(obj.kind, obj.color if with_color else None)
        else:
            absent_kinds = [k for k in KINDS if not scene.has(k)]
            if with_color or not absent_kinds:
                c, k = rng.choice(_absent_pairs(scene))
                q = F.Exist(k, c)
            else:
                q = F.Exist(rng.choice(absent_kinds))
        return Turn(q, F.YesNo(yes), _yes_no_form(rng))
    if task == "count":
        kind = obj.kind if rng.random() < 0.75 else None
        return Turn(F.CountQ(kind), F.CountA(scene.count(kind), kind), open_form)
    if task == "count_check":
        n = scene.count(obj.kind)
        yes = rng.random() < 0.5
        asked = n if yes else rng.choice([m for m in range(1, 5) if m != n])
        return Turn(F.CountCheck(asked, obj.kind), F.YesNo(yes), _yes_no_form(rng))
    if task == "color":
        return Turn(F.ColorQ(obj.pos), F.ColorA(obj.color), open_form)
    if task == "color_check":
        yes = rng.random() < 0.5
        color = obj.color if yes else rng.choice([c for c in COLORS if c != obj.color])
        return Turn(F.ColorCheck(obj.kind, obj.pos, color), F.YesNo(yes), _yes_no_form(rng))
    if task == "kind":
        return Turn(F.KindQ(obj.pos), F.KindA(obj.kind), open_form)
    if task == "where":
        return Turn(F.WhereQ(obj.kind, obj.color), F.WhereA(obj.pos), open_form)
    if task == "where_check":
        yes = rng.random() < 0.5
        pos = obj.pos if yes else rng.choice([p for p in POSITIONS if p != obj.pos])
        return Turn(F.WhereCheck(obj.kind, obj.color, pos), F.YesNo(yes), _yes_no_form(rng))
    q, opts, correct = mc_question(rng, scene, task[3:], n_options=rng.randint(2, 4))
    return Turn(q, None, "mc", opts, correct, hint=rng.random() < 0.3)


def mc_question(rng: random.Random, scene: Scene, kind_of_q: str, n_options: int
                ) -> tuple[F.Frame, tuple[F.Frame, ...], int]:
    """A multiple-choice question of type color / kind / where / count / which about `scene`."""
    obj = rng.choice(scene.objects)
    if kind_of_q == "color":
        opts, i = _options(rng, F.ColorOpt(obj.color), [F.ColorOpt(c) for c in COLORS], n_options)
        return F.ColorQ(obj.pos), opts, i
    if kind_of_q == "kind":
        opts, i = _options(rng, F.KindOpt(obj.kind), [F.KindOpt(k) for k in KINDS], n_options)
        return F.KindQ(obj.pos), opts, i
    if kind_of_q == "where":
        opts, i = _options(rng, F.PosOpt(obj.pos), [F.PosOpt(p) for p in POSITIONS], n_options)
        return F.WhereQ(obj.kind, obj.color), opts, i
    if kind_of_q == "count":
        opts, i = _options(rng, F.CountOpt(scene.count(obj.kind)), [F.CountOpt(n) for n in range(1, 6)],
                           n_options)
        return F.CountQ(obj.kind), opts, i
    if kind_of_q == "which":
        absent = [F.ThingOpt(k, c) for c, k in _absent_pairs(scene)]
        right = F.ThingOpt(obj.kind, obj.color)
        opts, i = _options(rng, right, absent + [right], n_options)
        return F.WhichPresentQ(), opts, i
    raise ValueError(kind_of_q)


# ------------------------------------------------------------------------------ translation table
class _Table:
    """Collects {en text -> translation} per target language; the first translation of a text wins
    (insertion order is deterministic), and disagreeing later ones are counted as conflicts."""

    def __init__(self) -> None:
        self.rows: dict[str, dict[str, str]] = {c: {} for c in languages.NON_ENGLISH}
        self.conflicts: Counter[str] = Counter()

    def add(self, en: str, by_lang: dict[str, str]) -> None:
        for code in languages.NON_ENGLISH:
            known = self.rows[code].get(en)
            if known is None:
                self.rows[code][en] = by_lang[code]
            elif known != by_lang[code]:
                self.conflicts[code] += 1

    def frame(self, frame: F.Frame) -> None:
        self.add(realize(frame, "en"), {c: realize(frame, c) for c in languages.NON_ENGLISH})

    def turn(self, turn: Turn) -> None:
        """The whole question, its pieces (core, options, hint) and the answer."""
        self.add(question_text(turn, "en"), {c: question_text(turn, c) for c in languages.NON_ENGLISH})
        self.frame(turn.question)
        for o in turn.options:
            self.frame(o)
        if turn.hint:
            self.frame(F.Hint())
        self.add(answer_text(turn, "en"), {c: answer_text(turn, c) for c in languages.NON_ENGLISH})

    def registry_strings(self) -> None:
        """Suffixes and the describe prompt, so a translator that sends them finds them."""
        en = languages.get("en")
        for attr in ("yes_no_suffix", "short_answer_suffix", "option_suffix"):
            self.add(getattr(en, attr), {c: getattr(languages.get(c), attr) for c in languages.NON_ENGLISH})
        self.frame(F.Describe())
        self.frame(F.Hint())

    def write(self, path: Path) -> int:
        n = 0
        with atomic_open(path) as fh:
            for code, rows in self.rows.items():
                for en, tr in rows.items():
                    fh.write(json.dumps({"src": "en", "tgt": code, "text": en, "translation": tr},
                                        ensure_ascii=False) + "\n")
                    n += 1
        return n


# ---------------------------------------------------------------------------------------- helpers
def _scenes(seed: int, stream: str, n: int, cfg: WorldConfig, prefix: str) -> list[Scene]:
    # A separate, string-seeded stream per use keeps train and benchmark scenes independent of
    # each other's sizes (string seeds are hashed deterministically by `random`).
    rng = random.Random(f"shapeworld-{seed}-{stream}")
    return [sample_scene(rng, f"{prefix}_{i:06d}", min_objects=cfg.min_objects, max_objects=cfg.max_objects)
            for i in range(n)]


def _save_png(scene: Scene, path: Path, size: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    render(scene, size).save(path, format="PNG")


def _png_b64(scene: Scene, size: int) -> str:
    buf = io.BytesIO()
    render(scene, size).save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode("ascii")


# ------------------------------------------------------------------------------------ benchmarks
def _mme_pair(rng: random.Random, scene: Scene, subtask: str) -> tuple[F.Frame, F.Frame]:
    """(yes question, no question) for one image."""
    obj = rng.choice(scene.objects)
    if subtask == "existence":
        if rng.random() < 0.5:
            absent = [k for k in KINDS if not scene.has(k)]
            if absent:
                return F.Exist(obj.kind), F.Exist(rng.choice(absent))
        c, k = rng.choice(_absent_pairs(scene))
        return F.Exist(obj.kind, obj.color), F.Exist(k, c)
    if subtask == "count":
        n = scene.count(obj.kind)
        return F.CountCheck(n, obj.kind), F.CountCheck(rng.choice([m for m in range(1, 5) if m != n]), obj.kind)
    if subtask == "position":
        wrong = rng.choice([p for p in POSITIONS if p != obj.pos])
        return F.WhereCheck(obj.kind, obj.color, obj.pos), F.WhereCheck(obj.kind, obj.color, wrong)
    if subtask == "color":
        wrong = rng.choice([c for c in COLORS if c != obj.color])
        return F.ColorCheck(obj.kind, obj.pos, obj.color), F.ColorCheck(obj.kind, obj.pos, wrong)
    raise ValueError(subtask)


def _build_mme(root: Path, scenes: list[Scene], cfg: WorldConfig, table: _Table, rng: random.Random) -> dict:
    counts = {}
    suffix = languages.get("en").yes_no_suffix
    n = cfg.sizes()["mme"]
    for s_i, subtask in enumerate(MME_SUBTASKS):
        sub = root / "mme" / "en" / subtask
        chosen = scenes[s_i::len(MME_SUBTASKS)][:n]
        for scene in chosen:
            yes_q, no_q = _mme_pair(rng, scene, subtask)
            lines = [(yes_q, "Yes"), (no_q, "No")]
            if rng.random() < 0.5:
                lines.reverse()
            text = "".join(f"{realize(q, 'en')} {suffix}\t{a}\n" for q, a in lines)
            for q, _ in lines:
                table.frame(q)
                en = f"{realize(q, 'en')} {suffix}"
                table.add(en, {c: f"{realize(q, c)} {languages.get(c).yes_no_suffix}"
                               for c in languages.NON_ENGLISH})
            name = scene.scene_id
            if MME_LAYOUT[subtask] == "A":
                _save_png(scene, sub / "images" / f"{name}.png", cfg.image_size)
                txt = sub / "questions_answers_YN" / f"{name}.txt"
            else:
                _save_png(scene, sub / f"{name}.png", cfg.image_size)
                txt = sub / f"{name}.txt"
            txt.parent.mkdir(parents=True, exist_ok=True)
            txt.write_text(text, encoding="utf-8")
        counts[subtask] = 2 * len(chosen)
    return counts


def _pope_negatives(split: str, present: list[str], k: int, rng: random.Random, freq: Counter,
                    cooc: Counter) -> list[str]:
    """k object categories (kinds) absent from the image, chosen as POPE's three splits do."""
    absent = [kind for kind in KINDS if kind not in present]
    if split == "random":
        return rng.sample(absent, k)
    if split == "popular":
        # The most frequent objects of the benchmark that this image lacks (POPE "popular").
        return sorted(absent, key=lambda o: (-freq[o], absent.index(o)))[:k]
    # POPE "adversarial": the absent objects that co-occur most often with the present ones.
    return sorted(absent, key=lambda o: (-sum(cooc[frozenset((o, p))] for p in present), absent.index(o)))[:k]


def _build_pope(root: Path, scenes: list[Scene], cfg: WorldConfig, table: _Table, rng: random.Random) -> dict:
    """POPE asks "Is there a <object> in the image?" about object *categories* (COCO classes); in
    ShapeWorld the categories are the shape kinds, so questions name a kind, not a coloured shape."""
    chosen = scenes[: cfg.sizes()["pope"]]
    kinds_of = {s.scene_id: list(dict.fromkeys(o.kind for o in s.objects)) for s in chosen}
    freq: Counter = Counter(k for s in chosen for k in kinds_of[s.scene_id])
    cooc: Counter = Counter()
    for s in chosen:
        kinds = kinds_of[s.scene_id]
        for i, a in enumerate(kinds):
            for b in kinds[i + 1:]:
                cooc[frozenset((a, b))] += 1
    for scene in chosen:
        _save_png(scene, root / "pope" / "en" / "images" / f"{scene.scene_id}.png", cfg.image_size)
    counts = {}
    for split in POPE_SPLITS:
        split_rng = random.Random(f"shapeworld-{cfg.seed}-pope-{split}")
        lines, qid = [], 0
        for scene in chosen:
            present = kinds_of[scene.scene_id]
            # as many absent as present objects (POPE's 50/50 balance), at most 3 of each
            k = min(3, len(present), len(KINDS) - len(present))
            positives = split_rng.sample(present, k)
            negatives = _pope_negatives(split, present, k, split_rng, freq, cooc)
            for kind, label in [(p, "yes") for p in positives] + [(n, "no") for n in negatives]:
                qid += 1
                q = F.Exist(kind)
                table.frame(q)
                lines.append({"question_id": qid, "image": f"{scene.scene_id}.png", "text": realize(q, "en"),
                              "label": label})
        path = root / "pope" / "en" / f"coco_pope_{split}.json"
        write_text(path, "".join(json.dumps(x) + "\n" for x in lines))
        counts[split] = len(lines)
    return counts


_MMBENCH_CATEGORIES = (("attribute_recognition", "color"), ("object_localization", "where"),
                       ("counting", "count"))


def _build_mmbench(root: Path, scenes: list[Scene], cfg: WorldConfig, table: _Table, rng: random.Random) -> dict:
    rows = []
    n = cfg.sizes()["mmbench"]
    for i in range(n):
        scene = scenes[i % len(scenes)]
        category, qtype = _MMBENCH_CATEGORIES[i % len(_MMBENCH_CATEGORIES)]
        q, opts, correct = mc_question(rng, scene, qtype, n_options=rng.randint(2, 4))
        hint = realize(F.Hint(), "en") if rng.random() < 0.3 else ""
        table.frame(q)
        for o in opts:
            table.frame(o)
        if hint:
            table.frame(F.Hint())
        image = _png_b64(scene, cfg.image_size)
        texts = [realize(o, "en") for o in opts]
        for k in range(len(opts)):
            rot = texts[k:] + texts[:k]
            ans = (correct - k) % len(opts)
            row = {"index": i + 1 + k * ROTATION_STRIDE, "question": realize(q, "en"), "hint": hint,
                   "answer": LETTERS[ans], "category": category, "image": image, "source": "shapeworld",
                   "l2-category": "finegrained_perception (instance-level)", "comment": "", "split": "dev"}
            for j, letter in enumerate(LETTERS):
                row[letter] = rot[j] if j < len(rot) else ""
            rows.append(row)
    rows.sort(key=lambda r: r["index"])
    path = root / "mmbench" / "en" / "mmbench_dev.tsv"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=MMBENCH_COLUMNS, delimiter="\t", lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    return {"questions": n, "rows": len(rows)}


_SEED_TYPES = (("Scene Understanding", "which"), ("Instance Identity", "kind"), ("Instance Attributes", "color"),
               ("Instance Location", "where"), ("Instances Counting", "count"))


def _build_seed(root: Path, scenes: list[Scene], cfg: WorldConfig, table: _Table, rng: random.Random) -> dict:
    questions = []
    used: set[str] = set()
    for i in range(cfg.sizes()["seed"]):
        scene = scenes[i % len(scenes)]
        dim, qtype = _SEED_TYPES[i % len(_SEED_TYPES)]
        q, opts, correct = mc_question(rng, scene, qtype, n_options=4)
        table.frame(q)
        for o in opts:
            table.frame(o)
        questions.append({
            "answer": LETTERS[correct],
            **{f"choice_{LETTERS[j].lower()}": realize(o, "en") for j, o in enumerate(opts)},
            "data_id": f"{scene.scene_id}.png", "data_type": "image", "question": realize(q, "en"),
            "question_id": str(i + 1), "question_type_id": SEED_QUESTION_TYPES[dim],
        })
        if scene.scene_id not in used:
            used.add(scene.scene_id)
            _save_png(scene, root / "seed" / "en" / "images" / f"{scene.scene_id}.png", cfg.image_size)
    write_json(root / "seed" / "en" / "SEED-Bench.json",
                {"questions": questions, "question_type": SEED_QUESTION_TYPES})
    return {"questions": len(questions), "images": len(used)}


# ------------------------------------------------------------------------------------------ build
def build_world(out_dir: str | Path, *, n_train_scenes: int | None = None, n_bench_scenes: int | None = None,
                seed: int = 0, quick: bool = False, config: WorldConfig | None = None) -> dict:
    """Write the whole testbed under `out_dir` and return world.json's content.

    `config` overrides everything; otherwise the defaults of `WorldConfig` (or `QUICK` when
    `quick`) with the given scene counts and seed are used.
    """
    if config is None:
        config = WorldConfig(seed=seed, quick=quick, **(QUICK if quick else {}))
        if n_train_scenes is not None:
            config.n_train_scenes = n_train_scenes
        if n_bench_scenes is not None:
            config.n_bench_scenes = n_bench_scenes
    cfg = config
    out = Path(out_dir)
    meta_path = out / "world.json"
    if meta_path.exists():
        try:
            old = read_json(meta_path)
        except DataError:  # a damaged description is rebuilt
            old = {}
        if old.get("config") == asdict(cfg):
            return old
    out.mkdir(parents=True, exist_ok=True)
    table = _Table()
    table.registry_strings()

    train = _scenes(cfg.seed, "train", cfg.n_train_scenes, cfg, "sw_train")
    describe = realize(F.Describe(), "en")
    captions, vqa = [], []
    turn_rng = random.Random(f"shapeworld-{cfg.seed}-vqa")
    n_turns = Counter()
    for scene in tqdm(train, desc="world: train scenes", unit="scene"):
        _save_png(scene, out / "images" / f"{scene.scene_id}.png", cfg.image_size)
        cap = F.Caption(scene.objects)
        table.frame(cap)
        image = f"images/{scene.scene_id}.png"
        captions.append({"id": scene.scene_id, "image": image, "conversations": [
            {"from": "human", "value": f"<image>\n{describe}"}, {"from": "gpt", "value": realize(cap, "en")}]})
        for j in range(cfg.vqa_per_scene):
            k = turn_rng.choices(range(1, cfg.max_turns + 1), weights=[5, 3, 2][: cfg.max_turns])[0]
            turns: list[Turn] = []
            while len(turns) < k:
                t = sample_turn(turn_rng, scene)
                if all(t.question != u.question for u in turns):
                    turns.append(t)
            conv = []
            for t_i, t in enumerate(turns):
                table.turn(t)
                q = question_text(t, "en")
                conv.append({"from": "human", "value": f"<image>\n{q}" if t_i == 0 else q})
                conv.append({"from": "gpt", "value": answer_text(t, "en")})
            n_turns[len(turns)] += 1
            vqa.append({"id": f"{scene.scene_id}_vqa{j}", "image": image, "conversations": conv})
    write_json(out / "captions_en.json", captions)
    write_json(out / "vqa_en.json", vqa)

    bench_scenes = _scenes(cfg.seed, "bench", cfg.n_bench_scenes, cfg, "sw_bench")
    bench = out / "bench"
    bench_counts = {
        "mme": _build_mme(bench, bench_scenes, cfg, table, random.Random(f"shapeworld-{cfg.seed}-mme")),
        "pope": _build_pope(bench, bench_scenes, cfg, table, random.Random(f"shapeworld-{cfg.seed}-pope")),
        "mmbench": _build_mmbench(bench, bench_scenes, cfg, table,
                                  random.Random(f"shapeworld-{cfg.seed}-mmbench")),
        "seed": _build_seed(bench, bench_scenes, cfg, table, random.Random(f"shapeworld-{cfg.seed}-seed")),
    }
    n_table = table.write(out / "translations.jsonl")
    meta = {
        "config": asdict(cfg),
        "vocabulary": {"kinds": list(KINDS), "colors": list(COLORS), "positions": list(POSITIONS)},
        "counts": {
            "train_scenes": len(train), "captions": len(captions), "vqa_conversations": len(vqa),
            "vqa_turns": {str(k): v for k, v in sorted(n_turns.items())},
            "translation_entries": n_table, "translation_conflicts": dict(table.conflicts),
            "bench_scenes": len(bench_scenes), "bench": bench_counts,
        },
        "files": {"captions": "captions_en.json", "vqa": "vqa_en.json", "translations": "translations.jsonl",
                  "images": "images", "bench": "bench"},
    }
    write_json(meta_path, meta)
    return meta

