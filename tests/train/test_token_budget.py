"""Token-budget batching (`data.sampler.TokenBudgetBatchSampler`, `max_tokens_per_batch`): every
sample exactly once per epoch, within the budget, deterministic with a seed, the same number of
micro-batches in every epoch (the HF Trainer sizes epochs from the first), and through
`run_training`."""

from __future__ import annotations

import json
import random

import pytest

from lrm_llava.data.sampler import TokenBudgetBatchSampler, batch_cost, token_budget_batches


def _lengths(n=500, seed=0):
    rng = random.Random(seed)
    lengths = [int(min(900, max(8, rng.lognormvariate(4.5, 0.8)))) for _ in range(n)]
    has_image = [rng.random() > 0.1 for _ in range(n)]
    return lengths, has_image


@pytest.mark.parametrize("packed", [False, True])
def test_every_sample_once_within_budget(packed):
    lengths, has_image = _lengths()
    budget = 2048
    for epoch in range(3):
        batches = token_budget_batches(lengths, budget, has_image=has_image, packed=packed, seed=5, epoch=epoch)
        flat = [i for b in batches for i in b]
        assert sorted(flat) == list(range(len(lengths)))  # every sample exactly once
        for b in batches:
            assert batch_cost(lengths, b, packed=packed) <= budget
            assert len({has_image[i] for i in b}) == 1  # one modality per micro-batch
        # the most expensive micro-batch comes first (an out-of-memory error shows at step 1)
        costs = [batch_cost(lengths, b, packed=packed) for b in batches]
        assert costs[0] == max(costs)
    # far fewer micro-batches than samples: the budget fills them
    assert len(batches) < len(lengths) / 5


def test_deterministic_with_a_seed_and_shuffled_between_seeds_and_epochs():
    lengths, has_image = _lengths()
    run = lambda seed, epoch: token_budget_batches(lengths, 3000, has_image=has_image, seed=seed, epoch=epoch)  # noqa: E731
    assert run(1, 0) == run(1, 0)
    assert run(1, 0) != run(2, 0)
    assert run(1, 0) != run(1, 1)


def test_over_budget_sample_travels_alone_and_costs():
    assert batch_cost([5, 3, 4], [0, 1, 2], packed=False) == 15
    assert batch_cost([5, 3, 4], [0, 1, 2], packed=True) == 12
    batches = token_budget_batches([50, 10, 10, 10], 30, seed=0)
    assert sorted(map(sorted, batches)) == [[0], [1, 2, 3]]
    with pytest.raises(ValueError):
        token_budget_batches([1, 2], 0)


def test_sampler_length_is_the_same_every_epoch():
    lengths, has_image = _lengths(n=400, seed=3)
    sampler = TokenBudgetBatchSampler(lengths, 1500, has_image=has_image, seed=0, epochs=4)
    for epoch in range(7):  # past `epochs` too
        sampler.set_epoch(epoch)
        batches = list(sampler)
        assert len(batches) == len(sampler)
        assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
        assert all(batch_cost(lengths, b, packed=False) <= 1500 for b in batches)
    sampler.set_epoch(1)
    assert list(sampler) == sampler.batches(1)


def test_run_training_with_a_token_budget(tmp_path):
    from PIL import Image

    from lrm_llava.train import load_recipe, run_training

    root = tmp_path / "images"
    root.mkdir()
    samples = []
    for i in range(10):
        Image.new("RGB", (20 + 2 * i, 16), (20 * i, 90, 200)).save(root / f"{i}.png")
        samples.append({"id": f"s{i}", "image": f"{i}.png", "conversations": [
            {"from": "human", "value": "<image>\nWhat is it? " + "Tell me. " * (i % 4)},
            {"from": "gpt", "value": "A colour. " * (1 + i % 3)}]})
    (tmp_path / "train.json").write_text(json.dumps(samples), encoding="utf-8")
    cfg = load_recipe("tiny", "finetune", {"data": [str(tmp_path / "train.json")], "image_root": str(root),
                                           "output_dir": str(tmp_path / "out"), "max_steps": -1,
                                           "num_train_epochs": 2, "max_tokens_per_batch": 300, "packing": True,
                                           "save_steps": 100, "use_cpu": True})
    folder = run_training(cfg)
    stats = json.loads((folder / "data_stats.json").read_text())
    sampler = TokenBudgetBatchSampler(_dataset_lengths(cfg), 300, has_image=[True] * 10, packed=True,
                                      seed=cfg.data_order_seed, epochs=2)
    assert stats["global_steps"] == 2 * len(sampler)  # two full epochs of budget micro-batches
    records = [json.loads(line) for line in (folder / "train_log.jsonl").read_text().splitlines()]
    assert len(records) == stats["global_steps"] and all("mfu" in r for r in records)
    assert "max_tokens_per_batch: 300" in (folder / "recipe.yaml").read_text()


def _dataset_lengths(cfg):
    from lrm_llava.train.trainer import build_model_and_processor, build_train_dataset

    _, processor = build_model_and_processor(cfg)
    return build_train_dataset(cfg, processor, show_progress=False).lengths
