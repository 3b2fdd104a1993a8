"""Two small trainings side by side (one process and one thread each) vs one after the other on all
threads: the choice `lrm-llava demo` makes for its two models and its two backbones.

Workload: forward + backward + AdamW of the demo's LM shape (LLaMA, 128 wide, 3 layers, vocabulary
2,000) on batches of 32 x 112 tokens, the size of a ShapeWorld stage-2 batch. Both jobs are
seeded, so each computes the same thing in both arms.

Baseline: job A, then job B, in this process with torch's threads = the CPU count.
Ours: `lrm_llava.parallel.run_jobs` with both jobs at once, one thread each.

    python benchmarks/side_by_side.py              # 2-core CPU, about a minute
    python benchmarks/side_by_side.py --steps 100

The last output line is one JSON object:
`{"metric": "two_trainings_wall_s", "unit": "s", "baseline", "ours", "ratio", ...}`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))


def train_lm(seed: int, steps: int) -> float:
    """`steps` optimizer steps of the demo-shaped LM; returns the seconds they took."""
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    config = LlamaConfig(vocab_size=2000, hidden_size=128, intermediate_size=336, num_hidden_layers=3,
                         num_attention_heads=4, num_key_value_heads=4, tie_word_embeddings=True)
    model = LlamaForCausalLM(config)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    batch = torch.randint(4, 2000, (32, 112), generator=torch.Generator().manual_seed(seed))
    start = time.perf_counter()
    for _ in range(steps):
        loss = model(input_ids=batch, labels=batch).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    return time.perf_counter() - start


def main() -> None:
    from lrm_llava.parallel import Job, run_jobs

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=60, help="optimizer steps per training")
    args = parser.parse_args()
    cpus = os.cpu_count() or 1
    train_lm(0, 2)  # warm-up: imports and kernels

    torch.set_num_threads(cpus)
    start = time.perf_counter()
    sequential = [train_lm(seed, args.steps) for seed in (1, 2)]
    baseline = time.perf_counter() - start

    with tempfile.TemporaryDirectory() as logs:
        jobs = [Job(f"lm{seed}", train_lm, (seed, args.steps), Path(logs) / f"lm{seed}.log") for seed in (1, 2)]
        start = time.perf_counter()
        side = run_jobs(jobs, workers=2, threads=1)
        ours = time.perf_counter() - start

    print(f"one after the other ({cpus} threads): {baseline:.1f} s (trainings {sequential[0]:.1f} + "
          f"{sequential[1]:.1f} s); side by side (1 thread each): {ours:.1f} s (trainings {side[0]:.1f}, "
          f"{side[1]:.1f} s, process start included in the wall time)")
    print(json.dumps({"metric": "two_trainings_wall_s", "unit": "s", "baseline": round(baseline, 2),
                      "ours": round(ours, 2), "ratio": round(baseline / ours, 2), "cpus": cpus,
                      "steps": args.steps}))


if __name__ == "__main__":
    main()
