"""Each training speed-up leaves the loss (and, for packing, the gradients) unchanged; the vision
cache is exact; batched generation keeps predictions (the infer tests cover that)."""

from __future__ import annotations

import pytest
import torch

from lrm_llava.train.loss import chunked_linear_cross_entropy, fast_forward_and_loss
from lrm_llava.train.packing import block_causal_mask, collate_packed, pack_rows, segment_ids
from lrm_llava.train.vision_cache import VisionFeatureCache, image_key


def _items(model, processor, lengths, with_image, seed=0):
    """Synthetic dataset items: random text tokens, an image-token block, trained answer spans."""
    gen = torch.Generator().manual_seed(seed)
    n_img = model.config.image_seq_length
    image_id = model.config.image_token_id
    size = model.config.vision_config.image_size
    items = []
    for n, img in zip(lengths, with_image):
        ids = torch.randint(10, 900, (n,), generator=gen)  # ordinary tokens (specials sit below 10)
        labels = torch.full((n,), -100)
        start = 4 + (n_img if img else 0)
        ids[0] = processor.tokenizer.bos_token_id
        if img:
            ids[2:2 + n_img] = image_id
        cut = start + (n - start) // 2
        labels[cut:] = ids[cut:]
        item = {"input_ids": ids, "labels": labels}
        if img:
            item["pixel_values"] = torch.randn(3, size, size, generator=gen)
        items.append(item)
    return items


@pytest.fixture
def train_model():
    from lrm_llava.model import apply_stage, build_tiny_model

    model, processor = build_tiny_model(seed=3)
    apply_stage(model, "finetune")
    model.train()
    return model, processor


def _plain_loss(model, batch, n_items):
    from lrm_llava.train.trainer import forward_and_loss

    return forward_and_loss(model, batch, n_items)[0]


def _grads(model):
    return {n: p.grad.detach().clone() for n, p in model.named_parameters() if p.grad is not None}


def test_chunked_ce_matches_full_logits():
    torch.manual_seed(0)
    hidden = torch.randn(2, 7, 16, requires_grad=True)
    weight = torch.randn(50, 16, requires_grad=True)
    labels = torch.randint(0, 50, (2, 7))
    labels[0, :3] = -100
    logits = hidden @ weight.T
    ref = torch.nn.functional.cross_entropy(logits[:, :-1].reshape(-1, 50), labels[:, 1:].reshape(-1), reduction="sum") / 5
    ref.backward()
    ref_grads = hidden.grad.clone(), weight.grad.clone()
    hidden.grad = weight.grad = None
    ours = chunked_linear_cross_entropy(hidden, weight, labels, num_items_in_batch=5, chunk_size=3, backend="torch")
    ours.backward()
    assert torch.allclose(ours, ref, atol=1e-5)
    assert torch.allclose(hidden.grad, ref_grads[0], atol=1e-5) and torch.allclose(weight.grad, ref_grads[1], atol=1e-5)
    # mean when no count is given: 10 trained shifted labels (row 0: labels 3..6 -> 4, row 1: 6)
    mean = chunked_linear_cross_entropy(hidden, weight, labels, backend="torch")
    assert torch.allclose(mean, ref * 5 / 10, atol=1e-5)
    nothing = chunked_linear_cross_entropy(hidden, weight, torch.full((2, 7), -100), backend="torch")
    assert nothing.item() == 0.0


def test_pack_rows_first_fit_decreasing():
    assert pack_rows([5, 3, 4, 2, 6], 8) == [[4, 3], [0, 1], [2]]
    assert pack_rows([10, 2], 8) == [[0], [1]]  # over-long sample: a row of its own
    pos = torch.tensor([[0, 1, 2, 0, 1, 0, 0]])
    assert segment_ids(pos).tolist() == [[1, 1, 1, 2, 2, 3, 4]]


def test_block_causal_mask_hand_case():
    pos = torch.tensor([[0, 1, 0, 1, 0]])
    real = torch.tensor([[1, 1, 1, 1, 0]])
    allowed = block_causal_mask(pos, real, torch.float32)[0, 0] == 0
    expected = torch.tensor([
        [1, 0, 0, 0, 0],
        [1, 1, 0, 0, 0],
        [0, 0, 1, 0, 0],
        [0, 0, 1, 1, 0],
        [0, 0, 0, 0, 1],  # padding sees itself only
    ], dtype=torch.bool)
    assert torch.equal(allowed, expected)


def test_collate_packed_layout():
    feats = [
        {"input_ids": [1, 2, 3], "labels": [-100, 2, 3]},
        {"input_ids": [4, 5], "labels": [4, 5], "pixel_values": torch.zeros(3, 2, 2)},
        {"input_ids": [6, 7, 8, 9], "labels": [6, 7, 8, 9], "pixel_values": torch.ones(3, 2, 2)},
    ]
    batch = collate_packed(feats, pad_token_id=0)
    # cap 4: rows [2] (4 tokens) and [0, 1] (5 > 4? no: 3 + 2 > 4) -> [2], [0], [1]
    assert batch["input_ids"].tolist() == [[6, 7, 8, 9], [1, 2, 3, 0], [4, 5, 0, 0]]
    assert batch["labels"].tolist() == [[-100, 7, 8, 9], [-100, 2, 3, -100], [-100, 5, -100, -100]]
    assert batch["position_ids"].tolist() == [[0, 1, 2, 3], [0, 1, 2, 0], [0, 1, 0, 1]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1, 1], [1, 1, 1, 0], [1, 1, 0, 0]]
    assert torch.equal(batch["pixel_values"][:, 0, 0, 0], torch.tensor([1.0, 0.0]))  # packed order
    wide = collate_packed(feats, pad_token_id=0, max_length=9)
    assert wide["input_ids"].tolist() == [[6, 7, 8, 9, 1, 2, 3, 4, 5]]
    assert wide["position_ids"].tolist() == [[0, 1, 2, 3, 0, 1, 2, 0, 1]]


def test_fast_path_loss_equals_plain(train_model):
    from lrm_llava.data.collator import collate

    model, processor = train_model
    items = _items(model, processor, [40, 25, 33, 20], [True, False, True, True])
    batch = collate(items, processor.tokenizer.pad_token_id)
    n_items = int((batch["labels"][:, 1:] != -100).sum())
    plain = _plain_loss(model, batch, n_items)
    fast, _ = fast_forward_and_loss(model, batch, n_items, chunk_size=7, loss_backend="torch")
    full, _ = fast_forward_and_loss(model, batch, n_items, chunked_loss=False)
    assert torch.allclose(fast, plain, atol=1e-5, rtol=1e-5)
    assert torch.allclose(full, plain, atol=1e-5, rtol=1e-5)


def test_packing_keeps_loss_and_gradients(train_model):
    from lrm_llava.data.collator import collate

    model, processor = train_model
    items = _items(model, processor, [40, 25, 33, 20, 12], [True, False, True, True, False], seed=1)
    pad = processor.tokenizer.pad_token_id
    plain_batch = collate(items, pad)
    n_items = int((plain_batch["labels"][:, 1:] != -100).sum())
    model.zero_grad()
    plain = _plain_loss(model, plain_batch, n_items)
    plain.backward()
    ref = _grads(model)
    model.zero_grad()
    packed_batch = collate_packed(items, pad, max_length=80)
    assert packed_batch["input_ids"].shape[0] < len(items)  # really packed
    assert int((packed_batch["labels"] != -100).sum()) == n_items
    packed, _ = fast_forward_and_loss(model, packed_batch, n_items, loss_backend="torch")
    packed.backward()
    got = _grads(model)
    assert torch.allclose(packed, plain, atol=1e-5, rtol=1e-5)
    assert ref.keys() == got.keys() and ref
    for name in ref:
        assert torch.allclose(got[name], ref[name], atol=1e-5, rtol=1e-4), name


def test_vision_cache_exact_and_reused(train_model, tmp_path):
    from lrm_llava.model.forward import vision_features

    model, processor = train_model
    pixels = torch.randn(3, 3, 32, 32)
    pixels[2] = pixels[0]  # the same image twice (two language variants of one sample)
    direct = vision_features(model, pixels)
    cache = VisionFeatureCache(folder=tmp_path / "vc")
    first = cache.features(model, pixels)
    assert torch.equal(first, direct) and cache.misses == 3 and cache.hits == 0
    again = cache.features(model, pixels[[2, 1]])
    assert torch.equal(again, direct[[0, 1]]) and cache.hits == 2
    # a fresh cache on the same folder (the next stage / run) reads the files: no tower call
    later = VisionFeatureCache(folder=tmp_path / "vc")
    assert torch.equal(later.features(model, pixels), direct) and later.misses == 0 and later.hits == 3
    assert image_key(pixels[0]) == image_key(pixels[2].clone()) != image_key(pixels[1])

    from lrm_llava.data.collator import collate

    items = _items(model, processor, [40, 30], [True, True], seed=2)
    batch = collate(items, processor.tokenizer.pad_token_id)
    plain, _ = fast_forward_and_loss(model, batch, None, loss_backend="torch")
    cached, _ = fast_forward_and_loss(model, batch, None, vision_cache=VisionFeatureCache(), loss_backend="torch")
    assert torch.equal(plain, cached)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_fast_path_on_gpu(dtype):
    """On a GPU (Liger's fused loss when installed, else the chunked fallback; SDPA with the packed
    block mask) the fast path's loss matches the plain one: fp32 tightly, bf16 within bf16 noise."""
    from lrm_llava.data.collator import collate
    from lrm_llava.model import apply_stage, build_tiny_model

    model, processor = build_tiny_model(seed=3)
    apply_stage(model, "finetune")
    model.to("cuda", dtype=dtype).train()
    items = _items(model, processor, [40, 25, 33, 20], [True, False, True, True], seed=4)
    pad = processor.tokenizer.pad_token_id
    plain_batch = collate(items, pad)
    n_items = int((plain_batch["labels"][:, 1:] != -100).sum())

    def on_gpu(batch):
        batch = {k: v.to("cuda") for k, v in batch.items()}
        if "pixel_values" in batch:
            batch["pixel_values"] = batch["pixel_values"].to(dtype)
        return batch

    plain = _plain_loss(model, on_gpu(plain_batch), n_items).float()
    fast, _ = fast_forward_and_loss(model, on_gpu(collate_packed(items, pad, max_length=80)), n_items,
                                    vision_cache=VisionFeatureCache())
    tol = 1e-4 if dtype == torch.float32 else 3e-2
    assert torch.allclose(fast.float(), plain, atol=tol, rtol=tol), (fast.item(), plain.item())
