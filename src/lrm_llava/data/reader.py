"""Read and validate LLaVA conversation data (a JSON list or JSONL, one object per line).

A JSONL file is indexed once by byte offsets and each line is parsed only when asked for, so a
large file costs one scan and a list of offsets; a JSON list is loaded once. Every sample is
checked by `validate_sample` when it is read, and every problem raises `DataError` naming the file,
the line (JSONL) or index (JSON), the sample id and the fix. Unknown fields (`lang`, `answer_lang`,
`task`, `source_id`, ...) pass through untouched.

    from lrm_llava.data import read_samples
    samples = read_samples(["train.jsonl", "extra.json"])
    len(samples), samples[0]["conversations"], samples.where(0)
"""

from __future__ import annotations

import json
from array import array
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from lrm_llava.chat.templates import IMAGE_TOKEN
from lrm_llava.errors import DataError
from lrm_llava.jsonio import atomic_open, read_json, refuse_utf16
from lrm_llava.paths import check_relative

ROLES = ("human", "gpt")
"""The canonical speaker of even and odd turns."""

ROLE_ALIASES = {"human": "human", "user": "human", "gpt": "gpt", "assistant": "gpt"}
"""Speaker names accepted on input (ShareGPT's and OpenAI's), mapped to the canonical LLaVA ones."""


def _format(path: Path) -> str:
    """"jsonl" or "json": by extension, else by the first non-blank character of the file."""
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        return "jsonl"
    if suffix == ".json":
        # A .json file may still hold JSON lines (POPE-style); a list starts with "[".
        with path.open("rb") as fh:
            while chunk := fh.read(4096):
                stripped = chunk.lstrip()
                if stripped:
                    return "json" if stripped[:1] == b"[" else "jsonl"
        return "json"
    raise DataError(f"{path}: unknown data format {suffix!r}. Fix: give a .json (list) or .jsonl file.")


class LlavaFile(Sequence):
    """One LLaVA data file, read lazily; `file[i]` is the i-th sample, validated."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise DataError(f"{self.path}: data file not found. Fix: check the path given as data.")
        self.format = _format(self.path)
        self._items: list[Any] | None = None
        self._offsets = array("q")
        self._lines = array("q")
        if self.format == "json":
            self._items = self._load_list()
        else:
            self._index_lines()

    def _load_list(self) -> list[Any]:
        data = read_json(self.path, "data file")
        if not isinstance(data, list):
            raise DataError(f"{self.path}: the top level is {type(data).__name__}, not a list. "
                            "Fix: write a JSON list of samples, or JSONL with one sample per line.")
        return data

    def _index_lines(self) -> None:
        refuse_utf16(self.path)
        offset = 0
        with self.path.open("rb") as fh:
            for lineno, raw in enumerate(fh, start=1):
                if raw.strip():
                    self._offsets.append(offset)
                    self._lines.append(lineno)
                offset += len(raw)

    def __len__(self) -> int:
        return len(self._items) if self._items is not None else len(self._offsets)

    def where(self, index: int) -> str:
        """Human-readable location of sample `index`: 'file: line N' or 'file: index N'."""
        if self._items is not None:
            return f"{self.path}: index {index}"
        return f"{self.path}: line {self._lines[index]}"

    def raw(self, index: int) -> Any:
        """The sample as stored (parsed, not validated)."""
        if self._items is not None:
            return self._items[index]
        with self.path.open("rb") as fh:
            fh.seek(self._offsets[index])
            raw = fh.readline()
        try:
            return json.loads(raw.decode("utf-8"))
        except UnicodeDecodeError:
            raise DataError(f"{self.path}:{self._lines[index]}: not UTF-8 text. "
                            "Fix: save the file as UTF-8.") from None
        except RecursionError:
            raise DataError(f"{self.path}:{self._lines[index]}: JSON nested too deeply to read. "
                            "Fix: repair or delete that line.") from None
        except json.JSONDecodeError as err:
            raise DataError(
                f"{self.path}:{self._lines[index]}: malformed JSON line ({err.msg} at column {err.colno}). "
                "Fix: repair or delete that line (one JSON object per line)."
            ) from None

    def __getitem__(self, index: int) -> dict[str, Any]:  # type: ignore[override]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        return normalise_sample(self.raw(index), self.where(index))


def _fail(where: str, sample_id: Any, problem: str, fix: str) -> DataError:
    return DataError(f"{where} (id {sample_id!r}): {problem}. Fix: {fix}.")


def validate_sample(sample: Any, where: str = "sample") -> None:
    """Raise `DataError` unless `sample` is a well-formed LLaVA sample.

    Rules: an `id` (not null, not blank); a non-empty `conversations` list of {"from", "value"}
    turns alternating human/gpt (or their aliases user/assistant), starting with human and ending
    with gpt, none empty; if `image` is set, a relative path that stays inside its root and exactly
    one `<image>`, in the first human turn,
    otherwise no `<image>` at all. This is the one definition of a valid sample: `train`, `data
    build` and the analyses all read through it.
    """
    if not isinstance(sample, dict):
        raise DataError(f"{where}: a sample must be a JSON object, got {type(sample).__name__}. "
                        "Fix: write each sample as {\"id\": ..., \"conversations\": [...]}.")
    sample_id = sample.get("id")
    if sample_id is None or (isinstance(sample_id, str) and not sample_id.strip()):
        raise _fail(where, sample_id, "the sample has no id", "give every sample a unique \"id\"")
    if isinstance(sample_id, bool) or not isinstance(sample_id, (str, int)):
        raise _fail(where, sample_id, f"the id is a {type(sample_id).__name__}, not a string or a number",
                    "give every sample a unique text or integer \"id\"")
    turns = sample.get("conversations")
    if not isinstance(turns, list) or not turns:
        raise _fail(where, sample_id, "\"conversations\" is missing or empty",
                    "add a list of {\"from\": \"human\"|\"gpt\", \"value\": ...} turns")
    for k, turn in enumerate(turns):
        if not isinstance(turn, dict) or "from" not in turn or "value" not in turn:
            raise _fail(where, sample_id, f"turn {k} is not a {{\"from\", \"value\"}} object",
                        "write each turn as {\"from\": \"human\"|\"gpt\", \"value\": \"...\"}")
        expected = ROLES[k % 2]
        if ROLE_ALIASES.get(str(turn["from"]).lower()) != expected:
            raise _fail(where, sample_id, f"turn {k} is from {turn['from']!r}, expected {expected!r} "
                        "(a conversation must start with a human turn and alternate human/gpt)",
                        "reorder or merge the turns so they alternate human, gpt, human, gpt")
        if not isinstance(turn["value"], str) or not turn["value"].strip():
            raise _fail(where, sample_id, f"turn {k} ({turn['from']}) is empty",
                        "remove the sample or fill in the turn")
    if len(turns) % 2:
        raise _fail(where, sample_id, "the conversation ends with a human turn that has no answer",
                    "add the gpt answer or drop the last human turn")
    counts = [turn["value"].count(IMAGE_TOKEN) for turn in turns]
    image = sample.get("image")
    if image is not None:
        if not isinstance(image, str) or not image.strip():
            raise _fail(where, sample_id, f"\"image\" must be one relative path, got {image!r}",
                        "give a single image path relative to the image root (or drop the field)")
        check_relative(image, where=f"{where} (id {sample_id!r})")
        if counts[0] != 1 or sum(counts) != 1:
            raise _fail(where, sample_id, f"a sample with an image needs exactly one {IMAGE_TOKEN} "
                        f"in the first human turn; found {counts[0]} there and {sum(counts)} in all",
                        f"put one {IMAGE_TOKEN} in the first human turn and none elsewhere")
    elif sum(counts):
        raise _fail(where, sample_id, f"a text-only sample (no \"image\") contains {sum(counts)} "
                    f"{IMAGE_TOKEN}", f"add the \"image\" field or remove {IMAGE_TOKEN}")


def normalise_sample(sample: Any, where: str = "sample") -> dict[str, Any]:
    """`sample` validated (`validate_sample`), with canonical speaker names: the sample itself when
    they already are, else a copy with user/assistant renamed (the input is never modified)."""
    validate_sample(sample, where)
    turns = sample["conversations"]
    if all(turn["from"] == ROLES[k % 2] for k, turn in enumerate(turns)):
        return sample
    return {**sample, "conversations": [{**turn, "from": ROLES[k % 2]} for k, turn in enumerate(turns)]}


class UniqueIds:
    """The ids seen so far while samples stream by; `add` raises `DataError` at the first repeat.
    Ids are compared as text, so 1 and "1" are the same sample."""

    def __init__(self) -> None:
        self._seen: dict[str, str] = {}

    def add(self, sample_id: Any, where: str) -> None:
        key = str(sample_id)
        if key in self._seen:
            raise DataError(f"{where} (id {sample_id!r}): the id is already used at {self._seen[key]}. "
                            "Fix: give every sample a unique id.")
        self._seen[key] = where


class LlavaSamples(Sequence):
    """Several LLaVA files read as one sequence of validated samples."""

    def __init__(self, files: Sequence[LlavaFile]) -> None:
        self.files = list(files)
        self._starts: list[int] = []
        total = 0
        for f in self.files:
            self._starts.append(total)
            total += len(f)
        self._len = total

    def _locate(self, index: int) -> tuple[LlavaFile, int]:
        if index < 0:
            index += self._len
        if not 0 <= index < self._len:
            raise IndexError(index)
        # Few files: a linear scan from the end is simpler than bisect and as fast.
        for f, start in zip(reversed(self.files), reversed(self._starts)):
            if index >= start:
                return f, index - start
        raise IndexError(index)

    def __len__(self) -> int:
        return self._len

    def __getitem__(self, index: int) -> dict[str, Any]:  # type: ignore[override]
        f, local = self._locate(index)
        return f[local]

    def where(self, index: int) -> str:
        f, local = self._locate(index)
        return f.where(local)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for f in self.files:
            yield from f


def read_samples(paths: str | Path | Iterable[str | Path]) -> LlavaSamples:
    """Open one or more LLaVA JSON/JSONL files as one lazy, validated sequence."""
    if isinstance(paths, (str, Path)):
        paths = [paths]
    files = [LlavaFile(p) for p in paths]
    if not files:
        raise DataError("no data files given. Fix: pass at least one LLaVA .json or .jsonl file.")
    return LlavaSamples(files)


def write_samples(path: str | Path, samples: Iterable[dict[str, Any]]) -> Path:
    """Write samples as JSONL (``.jsonl``) or a JSON list (anything else), UTF-8, atomically."""
    path = Path(path)
    with atomic_open(path) as fh:
        if path.suffix.lower() == ".jsonl":
            for s in samples:
                fh.write(json.dumps(s, ensure_ascii=False) + "\n")
        else:
            json.dump(list(samples), fh, ensure_ascii=False, indent=1)
    return path
