"""Hostile input to every command, through the real entry point.

Each case builds one hostile input (a broken file, a bad flag value, an output path that cannot or
must not be written, a damaged model folder) next to the small valid inputs of `conftest.world`,
runs the command line and checks what a user would see:

- the exit status is not 0;
- nothing escaped as a traceback (in-process: no exception left `main()`; subprocess: no
  "Traceback" on stderr);
- the message names what is wrong: the file (its name) or the flag;
- every input file and folder is byte for byte as it was (hashed before and after).

Most cases run `lrm_llava.cli.main([...])` in this process (fast); `test_real_entry_point` runs a
few through `python -m lrm_llava.cli` in subprocesses, side by side, for the honest "no traceback".
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from hostile_support import (
    World,
    chmod_stops_writes,
    digest,
    llava_samples,
    prediction_row,
    run_cli,
    spawn_cli,
)

# ---------------------------------------------------------------------------------- hostile bytes
FILE_KINDS: dict[str, bytes] = {
    "latin1": '[{"id": "caf\u00e9"}]'.encode("latin-1"),
    "utf16": '[{"id": "a"}]'.encode("utf-16"),
    "brackets": b"[" * 200_000,
    "empty": b"",
}
"""Whole-file kinds that no reader may take (each command adds its "wrong top level" kind)."""


def _conv(*turns: tuple[str, object]) -> list[dict]:
    return [{"from": who, "value": value} for who, value in turns]


_Q, _A = ("human", "<image>\nWhat colour is it?"), ("gpt", "Red.")
SAMPLE_KINDS: dict[str, list] = {
    "nul_in_image": [{"id": "a", "image": "0.png\x00../../etc/passwd", "conversations": _conv(_Q, _A)}],
    "id_null": [{"id": None, "image": "0.png", "conversations": _conv(_Q, _A)}],
    "duplicate_ids": [{"id": "a", "image": "0.png", "conversations": _conv(_Q, _A)},
                      {"id": "a", "image": "1.png", "conversations": _conv(_Q, _A)}],
    "human_human_gpt": [{"id": "a", "image": "0.png", "conversations": _conv(_Q, ("human", "And?"), _A)}],
    "unanswered": [{"id": "a", "image": "0.png", "conversations": _conv(_Q, _A, ("human", "And?"))}],
    # wrong types, one field at a time
    "id_list": [{"id": ["a"], "image": "0.png", "conversations": _conv(_Q, _A)}],
    "id_object": [{"id": {"a": 1}, "image": "0.png", "conversations": _conv(_Q, _A)}],
    "id_bool": [{"id": True, "image": "0.png", "conversations": _conv(_Q, _A)}],
    "image_int": [{"id": "a", "image": 5, "conversations": _conv(_Q, _A)}],
    "image_list": [{"id": "a", "image": ["0.png"], "conversations": _conv(_Q, _A)}],
    "conversations_text": [{"id": "a", "image": "0.png", "conversations": "What colour is it? Red."}],
    "conversations_object": [{"id": "a", "image": "0.png", "conversations": {"from": "human", "value": "x"}}],
    "turn_text": [{"id": "a", "image": "0.png", "conversations": ["<image>\nWhat colour?", "Red."]}],
    "from_int": [{"id": "a", "image": "0.png", "conversations": [{"from": 0, "value": "<image>\nHi"},
                                                                 {"from": 1, "value": "Red."}]}],
    "value_int": [{"id": "a", "image": "0.png", "conversations": _conv(_Q, ("gpt", 7))}],
    "value_null": [{"id": "a", "image": "0.png", "conversations": _conv(_Q, ("gpt", None))}],
    "sample_text": ["just a string"],
    "sample_null": [None],
}
"""Sample-level kinds of LLaVA data (a valid sample follows each, so a reader must look at all)."""


# ------------------------------------------------------------------ known failures (fixes belong elsewhere)
XFAIL: dict[str, str] = {}
"""Case id -> why it fails today and which file the fix belongs to (strict xfail: flips when fixed)."""


# ------------------------------------------------------------------------------------------- cases
@dataclass
class Case:
    argv: list[str]
    inputs: list[Path]
    names: list[str]
    """Every one of these must appear in the error message (a file's name, a flag)."""
    skip: str = ""


@dataclass
class Spec:
    id: str
    make: Callable[[World, Path], Case]
    xfail: str = ""
    """Reason, with the file the fix belongs to, when the case fails because of code elsewhere."""


SPECS: list[Spec] = []


def spec(id: str, xfail: str = ""):
    def register(make):
        SPECS.append(Spec(id, make, xfail or XFAIL.get(id, "")))
        return make
    return register


def _build_argv(w: World, source: Path, out: Path, *extra: str) -> list[str]:
    return ["data", "build", "--source", str(source), "--stage", "finetune", "--languages", "de",
            "--backend", "pseudo", "--out", str(out), "--image-root", str(w.images), "--no-progress", *extra]


def _train_argv(w: World, data: Path, out: Path, *extra: str) -> list[str]:
    return ["train", "--recipe", "tiny", "--stage", "pretrain", "--data", str(data), "--image-root", str(w.images),
            "--output-dir", str(out), "--set", "max_steps=1", *extra]


def _eval_argv(w: World, out: Path, *extra: str, model: Path | None = None, bench: Path | None = None,
               benchmarks: str = "pope") -> list[str]:
    return ["eval", "--model", str(model or w.model), "--bench-root", str(bench or w.bench), "--benchmarks",
            benchmarks, "--languages", "en", "--out", str(out), "--limit", "1", "--no-fidelity", "--no-progress",
            "--device", "cpu", *extra]


def _chat_argv(w: World, *extra: str, model: Path | None = None, image: str | None = None) -> list[str]:
    return ["chat", "--model", str(model or w.model), "--image", image or str(w.images / "0.png"),
            "--device", "cpu", "--max-new-tokens", "2", *extra, "What colour is it?"]


def _translate_argv(w: World, src: Path, out: Path, *extra: str, benchmark: str = "pope") -> list[str]:
    return ["bench", "translate", "--benchmark", benchmark, "--src", str(src), "--out", str(out), "--languages", "de",
            "--backend", "pseudo", "--no-progress", *extra]


def _rescore_argv(out: Path, *files: Path) -> list[str]:
    return ["eval", "--predictions", *map(str, files), "--out", str(out), "--no-fidelity", "--no-progress"]


def _write(path: Path, data: bytes | str | list) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, list):
        data = json.dumps(data + llava_samples(2, prefix="ok"))
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def _broken_model(w: World, tmp: Path, how: str) -> Path:
    folder = tmp / f"model_{how}"
    shutil.copytree(w.model, folder)
    if how == "config":
        (folder / "config.json").write_text('{"model_type": "llava", "text_config": {', encoding="utf-8")
    else:
        weights = folder / "model.safetensors"
        weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 3])
    return folder


def _bench_copy(w: World, tmp: Path) -> Path:
    root = tmp / "bench"
    shutil.copytree(w.bench, root)
    return root


def _read_only(tmp: Path) -> tuple[Path, str]:
    folder = tmp / "ro"
    folder.mkdir()
    skip = "" if chmod_stops_writes(tmp) else ("running as root: chmod 0o500 does not stop root from writing, so a "
                                               "read-only output folder cannot be made here")
    folder.chmod(0o500)
    return folder, skip


# --- data build --------------------------------------------------------------------------------------
for _kind, _data in {**FILE_KINDS, "object_not_list": b'{"id": "a", "conversations": []}'}.items():
    @spec(f"build-source-{_kind}")
    def _(w, tmp, _data=_data):
        src = _write(tmp / "en.json", _data)
        return Case(_build_argv(w, src, tmp / "out.json"), [src, w.images], ["en.json"])

for _kind, _data in SAMPLE_KINDS.items():
    @spec(f"build-sample-{_kind}")
    def _(w, tmp, _data=_data):
        src = _write(tmp / "en.json", _data)
        return Case(_build_argv(w, src, tmp / "out.json"), [src, w.images], ["en.json"])

for _value in ("nan", "inf", "1e7", "-1"):
    @spec(f"build-mix-{_value}")
    def _(w, tmp, _value=_value):
        return Case(_build_argv(w, w.source, tmp / "out.json", "--mix", _value), [w.source, w.images], ["--mix"])


@spec("build-option-timeout-abc")
def _(w, tmp):
    argv = _build_argv(w, w.source, tmp / "out.json", "--option", "timeout=abc", "--base-url", "http://127.0.0.1:9")
    argv[argv.index("pseudo")] = "google"
    return Case(argv, [w.source, w.images], ["timeout", "abc"])


@spec("build-out-is-a-folder")
def _(w, tmp):
    (tmp / "out.json").mkdir()
    return Case(_build_argv(w, w.source, tmp / "out.json"), [w.source, w.images], ["out.json"])


@spec("build-out-under-a-file")
def _(w, tmp):
    blocker = _write(tmp / "afile", "x")
    return Case(_build_argv(w, w.source, blocker / "out.json"), [w.source, w.images, blocker], ["afile"])


@spec("build-out-read-only")
def _(w, tmp):
    folder, skip = _read_only(tmp)
    return Case(_build_argv(w, w.source, folder / "out.json"), [w.source, w.images], ["ro"], skip)


@spec("build-out-is-the-source")
def _(w, tmp):
    src = shutil.copy(w.source, tmp / "en.json")
    return Case(_build_argv(w, Path(src), Path(src)), [Path(src), w.images], ["--out", "en.json"])


@spec("build-out-in-the-image-root")
def _(w, tmp):
    images = tmp / "img"
    shutil.copytree(w.images, images)
    argv = _build_argv(w, w.source, images, "--image-root", str(images))
    return Case(argv, [w.source, images], ["img"])


@spec("build-cache-is-a-folder")
def _(w, tmp):
    (tmp / "cache").mkdir()
    argv = _build_argv(w, w.source, tmp / "out.json", "--cache", str(tmp / "cache"))
    return Case(argv, [w.source, w.images, tmp / "cache"], ["cache", "folder"])


@spec("build-cache-damaged")
def _(w, tmp):
    cache = _write(tmp / "c.sqlite", b"SQLite format 3\x00" + b"\x07" * 3000)
    argv = _build_argv(w, w.source, tmp / "out.json", "--cache", str(cache))
    return Case(argv, [w.source, w.images, cache], ["c.sqlite", "damaged"])


@spec("build-cache-under-a-file")
def _(w, tmp):
    blocker = _write(tmp / "afile", "x")
    argv = _build_argv(w, w.source, tmp / "out.json", "--cache", str(blocker / "c.sqlite"))
    return Case(argv, [w.source, w.images, blocker], ["afile"])


# --- bench translate ----------------------------------------------------------------------------------
_BENCH_FILES = {"pope": "pope/en/coco_pope_random.json", "seed": "seed/en/SEED-Bench.json",
                "mme": "mme/en/existence/e1.txt", "mmbench": "mmbench/en/MMBench_DEV_toy.tsv"}
for _bench, _rel in _BENCH_FILES.items():
    _kinds = {**FILE_KINDS, "wrong_top_level": b'[1, 2]' if _bench == "seed" else b'{"a": 1}',
              "nul_in_image": None}
    for _kind, _data in _kinds.items():
        if _bench in ("mme", "mmbench") and _kind in ("brackets", "wrong_top_level"):
            continue
        if _kind == "nul_in_image" and _bench not in ("pope", "seed"):
            continue

        @spec(f"translate-{_bench}-{_kind}")
        def _(w, tmp, _bench=_bench, _rel=_rel, _data=_data):
            src = _bench_copy(w, tmp)
            if _data is None:  # an image path with a NUL byte in an otherwise valid file
                _data = _nul_image_file(_bench, src / _rel)
            _write(src / _rel, _data)
            return Case(_translate_argv(w, src, tmp / "out", benchmark=_bench), [src], [Path(_rel).name])


def _nul_image_file(bench: str, path: Path) -> bytes:
    if bench == "pope":
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        rows[1]["image"] = "p1.png\x00.txt"
        return "".join(json.dumps(r) + "\n" for r in rows).encode()
    doc = json.loads(path.read_text(encoding="utf-8"))
    doc["questions"][1]["data_id"] = "s2.png\x00.txt"
    return json.dumps(doc).encode()


@spec("translate-option-timeout-abc")
def _(w, tmp):
    argv = _translate_argv(w, w.bench, tmp / "out", "--option", "timeout=abc", "--base-url", "http://127.0.0.1:9")
    argv[argv.index("pseudo")] = "google"
    return Case(argv, [w.bench], ["timeout", "abc"])


@spec("translate-out-under-a-file")
def _(w, tmp):
    blocker = _write(tmp / "afile", "x")
    return Case(_translate_argv(w, w.bench, blocker / "out"), [w.bench, blocker], ["afile"])


@spec("translate-out-read-only")
def _(w, tmp):
    folder, skip = _read_only(tmp)
    return Case(_translate_argv(w, w.bench, folder / "out"), [w.bench], ["ro"], skip)


@spec("translate-out-is-a-source-file")
def _(w, tmp):
    src = _bench_copy(w, tmp)
    target = src / "pope" / "en" / "coco_pope_random.json"
    return Case(_translate_argv(w, src, target), [src], ["coco_pope_random.json"])


@spec("translate-into-the-source-language")
def _(w, tmp):
    src = _bench_copy(w, tmp)
    argv = _translate_argv(w, src, src)
    argv[argv.index("--languages") + 1] = "en"
    return Case(argv, [src], ["source", "en"])


# --- train ----------------------------------------------------------------------------------------------
for _kind, _data in {**FILE_KINDS, "object_not_list": b'{"id": "a", "conversations": []}'}.items():
    @spec(f"train-data-{_kind}")
    def _(w, tmp, _data=_data):
        data = _write(tmp / "train.json", _data)
        return Case(_train_argv(w, data, tmp / "out"), [data, w.images], ["train.json"])

for _kind, _data in SAMPLE_KINDS.items():
    @spec(f"train-sample-{_kind}")
    def _(w, tmp, _data=_data):
        data = _write(tmp / "train.json", _data)
        return Case(_train_argv(w, data, tmp / "out"), [data, w.images], ["train.json"])


@spec("train-set-max-steps-abc")
def _(w, tmp):
    return Case(_train_argv(w, w.source, tmp / "out", "--set", "max_steps=abc"), [w.source, w.images], ["max_steps"])


@spec("train-output-dir-is-a-file")
def _(w, tmp):
    blocker = _write(tmp / "afile", "x")
    return Case(_train_argv(w, w.source, blocker), [w.source, w.images, blocker], ["afile"])


@spec("train-output-dir-under-a-file")
def _(w, tmp):
    blocker = _write(tmp / "afile", "x")
    return Case(_train_argv(w, w.source, blocker / "out"), [w.source, w.images, blocker], ["afile"])


@spec("train-output-dir-read-only")
def _(w, tmp):
    folder, skip = _read_only(tmp)
    return Case(_train_argv(w, w.source, folder / "out"), [w.source, w.images], ["ro"], skip)


@spec("train-output-dir-is-the-image-root")
def _(w, tmp):
    images = tmp / "img"
    shutil.copytree(w.images, images)
    argv = _train_argv(w, w.source, images, "--image-root", str(images))
    return Case(argv, [w.source, images], ["img"])


for _how in ("config", "safetensors"):
    @spec(f"train-init-from-broken-{_how}")
    def _(w, tmp, _how=_how):
        model = _broken_model(w, tmp, _how)
        name = "config.json" if _how == "config" else "model.safetensors"
        argv = _train_argv(w, w.source, tmp / "out", "--init-from", str(model), "--set", "tiny=false")
        return Case(argv, [w.source, w.images, model], [model.name, name])


@spec("train-output-dir-is-the-init-from-folder")
def _(w, tmp):
    model = tmp / "model"
    shutil.copytree(w.model, model)
    argv = _train_argv(w, w.source, model, "--init-from", str(model), "--set", "tiny=false")
    return Case(argv, [w.source, w.images, model], ["model"])


@spec("train-init-from-ignored-by-a-tiny-recipe")
def _(w, tmp):
    model = _broken_model(w, tmp, "config")
    return Case(_train_argv(w, w.source, tmp / "out", "--init-from", str(model)), [w.source, w.images, model],
                ["init_from", "tiny"])


# --- eval -----------------------------------------------------------------------------------------------
for _flag, _value in (("--max-new-tokens", "0"), ("--limit", "0"), ("--limit", "-1"), ("--batch-size", "0"),
                      ("--device", "tpu9"), ("--max-new-tokens", "abc")):
    @spec(f"eval-{_flag.strip('-')}-{_value}")
    def _(w, tmp, _flag=_flag, _value=_value):
        argv = _eval_argv(w, tmp / "out")
        if _flag in argv:
            argv[argv.index(_flag) + 1] = _value
        else:
            argv += [_flag, _value]
        return Case(argv, [w.model, w.bench], [_flag if _flag != "--device" else "tpu9"])

for _how in ("config", "safetensors"):
    @spec(f"eval-model-broken-{_how}")
    def _(w, tmp, _how=_how):
        model = _broken_model(w, tmp, _how)
        name = "config.json" if _how == "config" else "model.safetensors"
        return Case(_eval_argv(w, tmp / "out", model=model), [model, w.bench], [model.name, name])

for _bench, _rel in _BENCH_FILES.items():
    for _kind in ("latin1", "utf16", "empty"):
        @spec(f"eval-{_bench}-{_kind}")
        def _(w, tmp, _bench=_bench, _rel=_rel, _kind=_kind):
            src = _bench_copy(w, tmp)
            _write(src / _rel, FILE_KINDS[_kind])
            return Case(_eval_argv(w, tmp / "out", bench=src, benchmarks=_bench), [w.model, src], [Path(_rel).name])


@spec("eval-out-is-a-file")
def _(w, tmp):
    blocker = _write(tmp / "afile", "x")
    return Case(_eval_argv(w, blocker), [w.model, w.bench, blocker], ["afile"])


@spec("eval-out-under-a-file")
def _(w, tmp):
    blocker = _write(tmp / "afile", "x")
    return Case(_eval_argv(w, blocker / "out"), [w.model, w.bench, blocker], ["afile"])


@spec("eval-out-read-only")
def _(w, tmp):
    folder, skip = _read_only(tmp)
    return Case(_eval_argv(w, folder / "out"), [w.model, w.bench], ["ro"], skip)


@spec("eval-out-is-the-bench-root")
def _(w, tmp):
    src = _bench_copy(w, tmp)
    return Case(_eval_argv(w, src, bench=src), [w.model, src], ["--out"])


@spec("eval-out-is-the-model-folder")
def _(w, tmp):
    model = tmp / "model"
    shutil.copytree(w.model, model)
    return Case(_eval_argv(w, model, model=model), [model, w.bench], ["--out"])


# --- eval --predictions -----------------------------------------------------------------------------------
_ROWS = {"five": "5", "null": "null", "text": '"text"', "int_output": json.dumps(prediction_row("9", output=7)),
         "null_id": json.dumps(prediction_row(None)), "brackets": "[" * 200_000, "list_id": json.dumps(prediction_row([1])),
         "bool_id": json.dumps(prediction_row(True)), "answer_int": json.dumps(prediction_row("9", answer=1))}
for _kind, _line in _ROWS.items():
    @spec(f"rescore-row-{_kind}")
    def _(w, tmp, _line=_line):
        path = _write(tmp / "preds.jsonl", json.dumps(prediction_row("0")) + "\n" + _line + "\n" +
                      json.dumps(prediction_row("1")) + "\n")
        return Case(_rescore_argv(tmp / "out", path), [path], ["preds.jsonl"])

for _kind in ("latin1", "utf16", "empty"):
    @spec(f"rescore-file-{_kind}")
    def _(w, tmp, _kind=_kind):
        path = _write(tmp / "preds.jsonl", FILE_KINDS[_kind])
        return Case(_rescore_argv(tmp / "out", path), [path], ["preds.jsonl"])


@spec("rescore-same-file-twice")
def _(w, tmp):
    return Case(_rescore_argv(tmp / "out", w.predictions, w.predictions), [w.predictions], ["pope.jsonl", "twice"])


@spec("rescore-out-is-a-predictions-file")
def _(w, tmp):
    path = Path(shutil.copy(w.predictions, tmp / "pope.jsonl"))
    return Case(_rescore_argv(path, path), [path], ["pope.jsonl"])


@spec("rescore-out-under-a-file")
def _(w, tmp):
    blocker = _write(tmp / "afile", "x")
    return Case(_rescore_argv(blocker / "out", w.predictions), [w.predictions, blocker], ["afile"])


# --- chat -----------------------------------------------------------------------------------------------------
for _flag, _value in (("--max-new-tokens", "0"), ("--device", "tpu9")):
    @spec(f"chat-{_flag.strip('-')}-{_value}")
    def _(w, tmp, _flag=_flag, _value=_value):
        argv = _chat_argv(w)
        argv[argv.index(_flag) + 1] = _value
        return Case(argv, [w.model, w.images], [_flag if _flag != "--device" else "tpu9"])

for _how in ("config", "safetensors"):
    @spec(f"chat-model-broken-{_how}")
    def _(w, tmp, _how=_how):
        model = _broken_model(w, tmp, _how)
        name = "config.json" if _how == "config" else "model.safetensors"
        return Case(_chat_argv(w, model=model), [model, w.images], [model.name, name])


@spec("chat-image-is-not-an-image")
def _(w, tmp):
    image = _write(tmp / "picture.png", b"\x89PNG\r\n\x1a\n not really")
    return Case(_chat_argv(w, image=str(image)), [w.model, image], ["picture.png"])


@spec("chat-image-missing")
def _(w, tmp):
    return Case(_chat_argv(w, image=str(tmp / "nowhere.png")), [w.model], ["nowhere.png"])


@spec("chat-image-nul-byte")
def _(w, tmp):
    return Case(_chat_argv(w, image=str(w.images / "0.png") + "\x00.txt"), [w.model, w.images], ["0.png"])


# ----------------------------------------------------------------------------------------------- the tests
def _check(case: Case, code: int, err: str, escaped: str, before: dict) -> None:
    assert not escaped, f"an exception escaped main() for {case.argv}:\n{escaped}"
    assert "Traceback" not in err, f"a traceback on stderr for {case.argv}:\n{err}"
    assert code != 0, f"exit status 0 for hostile input {case.argv}; stderr: {err!r}"
    missing = [n for n in case.names if n not in err]
    assert not missing, f"the message does not name {missing}: {err!r}"
    after = {str(p): digest(p) for p in case.inputs}
    assert after == before, f"an input changed: {[k for k in before if before[k] != after.get(k)]}"


def _params():
    out = []
    for s in SPECS:
        marks = [pytest.mark.xfail(strict=True, reason=s.xfail)] if s.xfail else []
        out.append(pytest.param(s, id=s.id, marks=marks))
    return out


@pytest.mark.parametrize("spec_", _params())
def test_hostile_case(spec_: Spec, world: World, tmp_path: Path):
    case = spec_.make(world, tmp_path)
    if case.skip:
        pytest.skip(case.skip)
    before = {str(p): digest(p) for p in case.inputs}
    result = run_cli(case.argv)
    _check(case, result.code, result.err, result.escaped, before)


# Through the real entry point in subprocesses (a few: each pays the ~5 s import of torch/transformers).
SUBPROCESS = ("build-source-utf16", "translate-pope-brackets", "train-set-max-steps-abc", "eval-model-broken-safetensors",
              "rescore-row-int_output")


def test_real_entry_point(world: World, tmp_path: Path):
    cases = []
    for s in SPECS:
        if s.id in SUBPROCESS:
            (tmp_path / s.id).mkdir()
            case = s.make(world, tmp_path / s.id)
            cases.append((s, case, {str(p): digest(p) for p in case.inputs}))
    assert len(cases) == len(SUBPROCESS) and not any(s.xfail for s, _, _ in cases)
    started = time.monotonic()
    procs = [spawn_cli(case.argv) for _, case, _ in cases]
    failures = []
    for (s, case, before), proc in zip(cases, procs):
        out, err = proc.communicate(timeout=120)
        try:
            _check(case, proc.returncode, err.decode("utf-8", "replace"), "", before)
        except AssertionError as exc:
            failures.append(f"{s.id}: {exc}")
    print(f"{len(cases)} subprocess cases in {time.monotonic() - started:.1f}s", file=sys.stderr)
    assert not failures, "\n".join(failures)
