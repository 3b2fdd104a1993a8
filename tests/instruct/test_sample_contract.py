"""One sample rule for `data build` and `train`: every sample that the training reader rejects,
`data build` rejects too, with a file:line (or index) and sample-id message, and nothing is written."""

from __future__ import annotations

import json
import math

import pytest
from PIL import Image

from lrm_llava.data import read_samples
from lrm_llava.errors import DataError, UserError
from lrm_llava.instruct import BuildConfig, build_dataset


def _turn(role: str, text: str) -> dict:
    return {"from": role, "value": text}


GOOD = {"id": "ok", "conversations": [_turn("human", "Hi?"), _turn("gpt", "Hello.")]}

REJECTED = {
    "human, human, gpt": {"id": "a", "conversations": [_turn("human", "a?"), _turn("human", "b?"), _turn("gpt", "c")]},
    "last question unanswered": {"id": "b", "conversations": [_turn("human", "a?"), _turn("gpt", "b"),
                                                             _turn("human", "c?")]},
    "empty answer": {"id": "c", "conversations": [_turn("human", "a?"), _turn("gpt", "  ")]},
    "null id": {"id": None, "conversations": [_turn("human", "a?"), _turn("gpt", "b")]},
    "starts with gpt": {"id": "d", "conversations": [_turn("gpt", "a"), _turn("human", "b?")]},
    "unknown speaker": {"id": "e", "conversations": [_turn("system", "a"), _turn("gpt", "b")]},
    "no conversations": {"id": "f", "conversations": []},
    "value not a string": {"id": "g", "conversations": [_turn("human", "a?"), {"from": "gpt", "value": 5}]},
    "image path absolute": {"id": "h", "image": "/etc/passwd", "conversations": [_turn("human", "<image>\na?"),
                                                                                _turn("gpt", "b")]},
    "image path climbs out": {"id": "i", "image": "../x.png", "conversations": [_turn("human", "<image>\na?"),
                                                                               _turn("gpt", "b")]},
    "NUL in image path": {"id": "j", "image": "a\x00.png", "conversations": [_turn("human", "<image>\na?"),
                                                                            _turn("gpt", "b")]},
    "not an object": ["human", "gpt"],
}


@pytest.mark.parametrize("case", sorted(REJECTED))
def test_data_build_rejects_what_train_rejects(tmp_path, case):
    src = tmp_path / "src.jsonl"
    src.write_text(json.dumps(GOOD) + "\n" + json.dumps(REJECTED[case]) + "\n", encoding="utf-8")
    before = src.read_bytes()
    with pytest.raises(DataError) as train_err:
        list(read_samples(src))
    with pytest.raises(DataError) as build_err:
        build_dataset(BuildConfig(sources=[str(src)], out=str(tmp_path / "out.json"), languages="de",
                                  backend="pseudo", progress=False))
    for err in (train_err, build_err):
        assert str(src) in str(err.value) and "2" in str(err.value)  # file and line
        assert "Fix:" in str(err.value)
    assert not (tmp_path / "out.json").exists()
    assert src.read_bytes() == before


def test_duplicate_ids_are_refused_in_both_also_as_int_and_text(tmp_path):
    src = tmp_path / "src.json"
    src.write_text(json.dumps([{**GOOD, "id": 1}, {**GOOD, "id": "1"}]), encoding="utf-8")
    with pytest.raises(DataError, match=r"index 1 \(id '1'\): the id is already used at .*index 0"):
        build_dataset(BuildConfig(sources=[str(src)], out=str(tmp_path / "o.json"), languages="de", progress=False))
    from lrm_llava.data.reader import UniqueIds

    ids = UniqueIds()
    with pytest.raises(DataError, match="already used"):
        for i, sample in enumerate(read_samples(src)):
            ids.add(sample["id"], f"index {i}")


def test_user_assistant_speakers_are_accepted_and_written_as_human_gpt(tmp_path):
    src = tmp_path / "src.json"
    src.write_text(json.dumps([{"id": "u", "conversations": [_turn("user", "Hi?"), _turn("assistant", "Yo.")]}]),
                   encoding="utf-8")
    before = src.read_bytes()
    assert [t["from"] for t in read_samples(src)[0]["conversations"]] == ["human", "gpt"]
    build_dataset(BuildConfig(sources=[str(src)], out=str(tmp_path / "o.json"), languages="de", progress=False))
    out = json.loads((tmp_path / "o.json").read_text(encoding="utf-8"))
    assert {t["from"] for s in out for t in s["conversations"]} == {"human", "gpt"}
    assert list(read_samples(tmp_path / "o.json"))  # what build writes, train reads
    assert src.read_bytes() == before


def test_symlinked_image_outside_the_root_is_refused(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    secret = tmp_path / "secret.png"
    Image.new("RGB", (4, 4)).save(secret)
    (root / "evil.png").symlink_to(secret)
    src = tmp_path / "src.json"
    src.write_text(json.dumps([{"id": "s", "image": "evil.png",
                                "conversations": [_turn("human", "<image>\nWhat?"), _turn("gpt", "A box.")]}]))
    with pytest.raises(DataError, match="leads outside the image root"):
        build_dataset(BuildConfig(sources=[str(src)], out=str(tmp_path / "o.json"), languages="de",
                                  image_root=str(root), progress=False))


def test_output_over_the_source_and_empty_sources_are_refused(tmp_path):
    src = tmp_path / "src.json"
    src.write_text(json.dumps([GOOD]), encoding="utf-8")
    before = src.read_bytes()
    with pytest.raises(UserError, match="would write over"):
        build_dataset(BuildConfig(sources=[str(src)], out=str(src), languages="de", progress=False))
    assert src.read_bytes() == before
    empty = tmp_path / "empty.json"
    empty.write_text("[]", encoding="utf-8")
    with pytest.raises(UserError, match="hold no sample"):
        build_dataset(BuildConfig(sources=[str(empty)], out=str(tmp_path / "o.json"), languages="de"))


@pytest.mark.parametrize("mix", [math.nan, math.inf, 1e7, -1.0])
def test_absurd_mix_ratios_are_refused_before_any_work(tmp_path, mix):
    src = tmp_path / "src.json"
    src.write_text(json.dumps([GOOD]), encoding="utf-8")
    with pytest.raises(UserError, match="--mix"):
        build_dataset(BuildConfig(sources=[str(src)], out=str(tmp_path / "o.json"), ratio=mix, progress=False))


def test_a_json_object_that_is_not_a_list_is_named_as_such(tmp_path):
    src = tmp_path / "src.json"
    src.write_text(json.dumps({"data": [GOOD]}, indent=2), encoding="utf-8")
    with pytest.raises(DataError, match="top level is a JSON dict, not a list"):
        build_dataset(BuildConfig(sources=[str(src)], out=str(tmp_path / "o.json"), languages="de"))


@pytest.mark.parametrize("content", [b"\xff\xfe[\x00]\x00", b'[{"id": "\xe9"}]', b"[" * 200_000])
def test_unreadable_files_are_clear_errors(tmp_path, content):
    src = tmp_path / "src.json"
    src.write_bytes(content)
    for read in (lambda: list(read_samples(src)),
                 lambda: build_dataset(BuildConfig(sources=[str(src)], out=str(tmp_path / "o.json")))):
        with pytest.raises(DataError, match=r"src.json"):
            read()
