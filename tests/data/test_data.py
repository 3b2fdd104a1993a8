"""Reader validation, image safety, dataset counts, collator and the token-length grouped sampler."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch
from PIL import Image

from lrm_llava.data import (
    LengthGroupedSampler,
    LlavaCollator,
    LlavaDataset,
    grouped_order,
    read_samples,
    write_samples,
)
from lrm_llava.errors import DataError


def _img_sample(i, image="a.png", q="<image>\nWhat colour is it?", a="Red."):
    return {"id": f"s{i}", "image": image, "conversations": [{"from": "human", "value": q}, {"from": "gpt", "value": a}]}


def _txt_sample(i, q="Say hello.", a="Hello!"):
    return {"id": f"t{i}", "conversations": [{"from": "human", "value": q}, {"from": "gpt", "value": a}]}


@pytest.fixture(scope="module")
def processor():
    from lrm_llava.model import build_tiny_model

    return build_tiny_model(seed=0)[1]


@pytest.fixture
def root(tmp_path) -> Path:
    r = tmp_path / "images"
    r.mkdir()
    Image.new("RGB", (40, 20), (255, 0, 0)).save(r / "a.png")
    return r


def _write(tmp_path, samples, name="d.jsonl"):
    return write_samples(tmp_path / name, samples)


# -- reader ---------------------------------------------------------------------------------------
def test_jsonl_and_json_read_lazily_and_pass_extra_fields(tmp_path):
    s = _txt_sample(0) | {"lang": "de", "answer_lang": "en", "task": "bvqa", "source_id": "x"}
    a = _write(tmp_path, [s, _txt_sample(1)], "a.jsonl")
    b = _write(tmp_path, [_txt_sample(2)], "b.json")
    samples = read_samples([a, b])
    assert len(samples) == 3
    assert samples[0]["task"] == "bvqa" and samples[0]["source_id"] == "x"
    assert [x["id"] for x in samples] == ["t0", "t1", "t2"]
    assert samples.where(1) == f"{a}: line 2" and samples.where(2) == f"{b}: index 0"


@pytest.mark.parametrize(
    "sample, message",
    [
        ({"id": "x", "conversations": [{"from": "gpt", "value": "a"}, {"from": "human", "value": "b"}]},
         "turn 0 is from 'gpt', expected 'human'"),
        ({"id": "x", "conversations": [{"from": "human", "value": "q"}, {"from": "human", "value": "b"}]},
         "turn 1 is from 'human', expected 'gpt'"),
        ({"id": "x", "conversations": [{"from": "human", "value": "q"}, {"from": "gpt", "value": "  "}]},
         "turn 1 (gpt) is empty"),
        ({"id": "x", "image": "a.png", "conversations": [{"from": "human", "value": "no image tag"}, {"from": "gpt", "value": "a"}]},
         "found 0 there and 0 in all"),
        ({"id": "x", "image": "a.png", "conversations": [{"from": "human", "value": "<image><image>"}, {"from": "gpt", "value": "a"}]},
         "found 2 there and 2 in all"),
        ({"id": "x", "conversations": [{"from": "human", "value": "<image>\nq"}, {"from": "gpt", "value": "a"}]},
         "text-only sample (no \"image\") contains 1 <image>"),
        ({"conversations": [{"from": "human", "value": "q"}, {"from": "gpt", "value": "a"}]}, "no id"),
        ({"id": "x"}, "\"conversations\" is missing"),
    ],
)
def test_bad_samples_name_file_line_and_id(tmp_path, sample, message):
    path = _write(tmp_path, [_txt_sample(0), sample])
    samples = read_samples(path)
    with pytest.raises(DataError) as err:
        samples[1]
    text = str(err.value)
    assert message in text and f"{path}: line 2" in text and "Fix:" in text
    if "id" in sample:
        assert "(id 'x')" in text


def test_malformed_json_names_line_and_column(tmp_path):
    jl = tmp_path / "bad.jsonl"
    jl.write_text(json.dumps(_txt_sample(0)) + "\n\n" + '{"id": "t1", "conversations": [}\n', encoding="utf-8")
    samples = read_samples(jl)
    assert samples[0]["id"] == "t0"
    with pytest.raises(DataError, match=r"bad.jsonl:3: malformed JSON line \(.* at column 32\)"):
        samples[1]
    js = tmp_path / "bad.json"
    js.write_text('[\n  {"id": "a",\n   "conversations": [1,]\n}]', encoding="utf-8")
    with pytest.raises(DataError, match=r"bad.json:3:24: malformed JSON"):
        read_samples(js)


# -- images ---------------------------------------------------------------------------------------
def test_paths_escaping_the_root_are_refused_even_in_skip_mode(tmp_path, root, processor):
    outside = tmp_path / "secret.png"
    Image.new("RGB", (8, 8)).save(outside)
    (root / "link.png").symlink_to(outside)
    for rel, why in [("../secret.png", "leads outside"), (str(outside), "is absolute"), ("link.png", "leads outside")]:
        path = _write(tmp_path, [_img_sample(0, image=rel)])
        with pytest.raises(DataError, match=why):
            LlavaDataset(read_samples(path), processor, image_root=root, on_bad_image="skip", show_progress=False)


def test_missing_image_errors_or_is_skipped_and_counted(tmp_path, root, processor):
    path = _write(tmp_path, [_img_sample(0), _img_sample(1, image="gone.png"), _txt_sample(2)])
    with pytest.raises(DataError, match=r"d.jsonl: line 2 \(id 's1'\): image .*gone.png not found"):
        LlavaDataset(read_samples(path), processor, image_root=root, show_progress=False)
    ds = LlavaDataset(read_samples(path), processor, image_root=root, on_bad_image="skip", show_progress=False)
    assert (ds.stats.total, ds.stats.kept, ds.stats.skipped_bad_image) == (3, 2, 1)
    assert ds.has_image == [True, False]


def test_corrupt_image_and_decompression_bomb(tmp_path, root, processor):
    (root / "broken.png").write_bytes(b"not a png at all")
    Image.new("RGB", (200, 100)).save(root / "big.png")
    path = _write(tmp_path, [_img_sample(0, image="broken.png")])
    with pytest.raises(DataError, match="cannot be read"):
        LlavaDataset(read_samples(path), processor, image_root=root, show_progress=False)
    path = _write(tmp_path, [_img_sample(0, image="big.png")])
    with pytest.raises(DataError, match=r"200x100 = 20000 pixels, over the limit of 10000 \(decompression bomb"):
        LlavaDataset(read_samples(path), processor, image_root=root, max_image_pixels=10_000, show_progress=False)


# -- dataset + collator ---------------------------------------------------------------------------
def test_over_long_samples_are_dropped_and_counted(tmp_path, root, processor):
    long_answer = " ".join(["word"] * 300)
    path = _write(tmp_path, [_img_sample(0), _txt_sample(1, a=long_answer), _img_sample(2, a=long_answer)])
    ds = LlavaDataset(read_samples(path), processor, image_root=root, model_max_length=128, show_progress=False)
    assert (ds.stats.kept, ds.stats.dropped_too_long) == (1, 2)
    assert ds.stats.max_length == ds.lengths[0] <= 128
    item = ds[0]
    assert int((item["input_ids"] == processor.image_token_id).sum()) == ds.num_image_tokens == 16


def test_mixed_batch_feeds_the_model(tmp_path, root, processor):
    from lrm_llava.model import build_tiny_model

    model = build_tiny_model(seed=0)[0]
    path = _write(tmp_path, [_txt_sample(0), _img_sample(1)])
    ds = LlavaDataset(read_samples(path), processor, image_root=root, show_progress=False)
    items = [ds[0], ds[1]]
    batch = LlavaCollator(pad_token_id=7)(items)
    n0, n1 = len(items[0]["input_ids"]), len(items[1]["input_ids"])
    assert n0 < n1 and batch["input_ids"].shape == (2, n1)
    assert batch["pixel_values"].shape == (1, 3, 32, 32)  # only the image sample's picture
    assert batch["attention_mask"][0].tolist() == [1] * n0 + [0] * (n1 - n0)
    assert batch["input_ids"][0, n0:].tolist() == [7] * (n1 - n0)
    assert batch["labels"][0, n0:].tolist() == [-100] * (n1 - n0)
    assert torch.equal(batch["labels"][1], items[1]["labels"])
    assert torch.isfinite(model(**batch).loss)
    text_only = LlavaCollator(pad_token_id=0)([ds[0]])
    assert "pixel_values" not in text_only


def test_memory_cache_serves_identical_items_within_its_budget(tmp_path, root, processor):
    Image.new("RGB", (24, 24), (0, 0, 255)).save(root / "b.png")
    samples = [_img_sample(0), _txt_sample(1), _img_sample(2, image="b.png", a="Blue."), _img_sample(3)]
    path = _write(tmp_path, samples)
    plain = LlavaDataset(read_samples(path), processor, image_root=root, show_progress=False)
    cached = LlavaDataset(read_samples(path), processor, image_root=root, show_progress=False, memory_mb=64)
    for _ in range(2):  # the second pass is served from memory
        for i in range(len(plain)):
            a, b = plain[i], cached[i]
            assert a.keys() == b.keys()
            assert all(torch.equal(a[k], b[k]) and a[k].dtype == b[k].dtype for k in a)
    assert len(cached._tokens) == 4 and len(cached._pixels) == 2  # two distinct images, stored once
    cached[0]["pixel_values"].zero_()  # a caller's in-place change must not reach the cache
    assert torch.equal(cached[0]["pixel_values"], plain[0]["pixel_values"])
    expected = plain[0]["pixel_values"]
    (root / "a.png").unlink()  # served from memory: the file is not read again
    assert torch.equal(cached[3]["pixel_values"], expected)


def test_memory_cache_stops_at_its_budget(tmp_path, root, processor):
    path = _write(tmp_path, [_img_sample(i) for i in range(3)])
    one_image = 3 * 32 * 32 * 4  # float32 pixels of the tiny processor
    ds = LlavaDataset(read_samples(path), processor, image_root=root, show_progress=False,
                      memory_mb=(one_image - 1) / 2**20)
    assert ds._tokens  # token ids are small and fit
    ds[0]
    assert not ds._pixels and ds._memory_left >= 0  # the image does not fit: read from disk each time
    assert torch.equal(ds[1]["pixel_values"], LlavaDataset(read_samples(path), processor, image_root=root,
                                                           show_progress=False)[1]["pixel_values"])


def test_pad_mode_uses_the_mean_colour(tmp_path, root, processor):
    path = _write(tmp_path, [_img_sample(0)])
    pad = LlavaDataset(read_samples(path), processor, image_root=root, show_progress=False)[0]["pixel_values"]
    # 40x20 red image padded to 40x40: rows at the top are the mean colour, which normalises to ~0.
    assert pad.shape == (3, 32, 32)
    assert pad[:, 0, :].abs().max() < 0.02 and pad[0, 16, 16] > 1.0


# -- sampler --------------------------------------------------------------------------------------
def test_sampler_groups_by_token_length_exactly():
    lengths = [5, 12, 1, 9, 14, 3, 0, 7, 11, 2, 15, 6, 10, 4, 13, 8]
    order = grouped_order(lengths, 4, mega_batch_mult=4, seed=3)
    batches = [sorted(lengths[i] for i in order[k:k + 4]) for k in range(0, 16, 4)]
    assert sorted(map(tuple, batches)) == [(0, 1, 2, 3), (4, 5, 6, 7), (8, 9, 10, 11), (12, 13, 14, 15)]
    assert batches[0] == [12, 13, 14, 15]  # the longest batch comes first
    assert sorted(order) == list(range(16))


def test_sampler_deterministic_modality_pure_and_single_modality_ok():
    g = torch.Generator().manual_seed(0)
    lengths = torch.randint(1, 500, (103,), generator=g).tolist()
    has_image = [i % 3 != 0 for i in range(103)]
    a = list(LengthGroupedSampler(lengths, 4, has_image=has_image, world_size=2, seed=7))
    assert a == list(LengthGroupedSampler(lengths, 4, has_image=has_image, world_size=2, seed=7))
    assert a != list(LengthGroupedSampler(lengths, 4, has_image=has_image, world_size=2, seed=8))
    assert sorted(a) == list(range(103))
    full = [a[k:k + 8] for k in range(0, 96, 8)]
    mixed = [b for b in full if len({has_image[i] for i in b}) > 1]
    assert len(mixed) <= 1  # only the leftovers at the end may mix
    # Padding cost: far below a random order's.
    def pad_cost(order):
        return sum(max(lengths[i] for i in order[k:k + 4]) * 4 - sum(lengths[i] for i in order[k:k + 4])
                   for k in range(0, 100, 4))
    assert pad_cost(a) * 2 < pad_cost(list(range(103)))
    only_text = list(LengthGroupedSampler(lengths, 4, has_image=[False] * 103, seed=1))
    assert sorted(only_text) == list(range(103))


def test_sampler_rank_shards_cover_the_data_once():
    lengths = list(range(20))
    s0 = LengthGroupedSampler(lengths, 3, world_size=2, rank=0, seed=1)
    s1 = LengthGroupedSampler(lengths, 3, world_size=2, rank=1, seed=1)
    r0, r1 = list(s0), list(s1)
    assert len(r0) == len(r1) == len(s0) == 12  # 20 padded to 24, 12 per rank
    assert set(r0) | set(r1) == set(range(20))
    full = list(LengthGroupedSampler(lengths, 3, world_size=2, seed=1))
    assert r0[:3] == full[0:3] and r1[:3] == full[3:6]


@pytest.mark.skipif(os.name == "nt", reason="symlinks")
def test_write_samples_roundtrip(tmp_path):
    samples = [_txt_sample(0), _txt_sample(1)]
    for name in ("x.json", "x.jsonl"):
        assert list(read_samples(write_samples(tmp_path / name, samples))) == samples
