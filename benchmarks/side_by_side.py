"""Two small trainings side by side (one process and one thread each) vs one after the other on all
threads: the choice `lrm-llava demo --jobs 2` makes for its two models and its two backbones.

Workload: the demo's real stage 2 (`run_training` with the `shapeworld` recipe: trainer, data
loader, vision-feature cache, chunked loss) on the quick ShapeWorld world and backbones, built
first in a temporary folder (about 30 s, not timed), for `--steps` steps of batch 32. Two
trainings with different seeds.

Baseline: training A, then training B, in this process with torch's threads = the CPU count.
Ours: `lrm_llava.parallel.run_jobs` with both at once, one thread each (process start included).

    python benchmarks/side_by_side.py              # 2-core CPU, about 3 minutes
    python benchmarks/side_by_side.py --demo runs/demo --steps 200   # the full demo's sizes (after `make demo`)

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


def prepare(root: Path) -> tuple[Path, Path]:
    """Quick world, backbones and lrm-llava data under `root`; (world, finetune.json)."""
    from lrm_llava.pipeline.demo import DemoConfig, demo_variants
    from lrm_llava.pipeline.steps import step_backbones, step_data, step_world

    cfg = DemoConfig(out=str(root), quick=True)
    world = step_world(cfg, root)
    step_backbones(cfg, root, world)
    variant = [v for v in demo_variants(cfg) if v.name == "lrm-llava"][0]
    return world, step_data(cfg, root, world, variant)["finetune"]


def train(root: Path, world: Path, data: Path, seed: int, steps: int) -> float:
    """`steps` steps of the demo's stage 2; returns the seconds the training took."""
    from lrm_llava.train import load_recipe, run_training

    cfg = load_recipe("shapeworld", "finetune", {
        "output_dir": str(root / f"train-{seed}-{torch.get_num_threads()}"), "data": [str(data)],
        "image_root": str(world), "vision_path": str(root / "backbones" / "vision"),
        "llm_path": str(root / "backbones" / "llm"), "max_steps": steps, "seed": seed,
        "save_strategy": "no", "disable_tqdm": True,
    })
    start = time.perf_counter()
    run_training(cfg)
    return time.perf_counter() - start


def main() -> None:
    from lrm_llava.parallel import Job, run_jobs

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=150, help="training steps per run")
    parser.add_argument("--demo", type=Path, default=None,
                        help="a finished demo folder: train on its world, backbones and lrm-llava data "
                        "(default: build the quick ones)")
    args = parser.parse_args()
    cpus = os.cpu_count() or 1
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        if args.demo is not None:
            (root / "backbones").symlink_to((args.demo / "backbones").resolve())
            world, data = args.demo / "world", args.demo / "data" / "lrm-llava" / "finetune.json"
        else:
            world, data = prepare(root)
        torch.set_num_threads(cpus)
        start = time.perf_counter()
        sequential = [train(root, world, data, seed, args.steps) for seed in (1, 2)]
        baseline = time.perf_counter() - start

        jobs = [Job(f"seed{seed}", train, (root, world, data, seed, args.steps), root / f"seed{seed}.log")
                for seed in (1, 2)]
        start = time.perf_counter()
        side = run_jobs(jobs, workers=2, threads=1)
        ours = time.perf_counter() - start

    print(f"one after the other ({cpus} threads): {baseline:.1f} s (trainings {sequential[0]:.1f} + "
          f"{sequential[1]:.1f} s); side by side (1 thread each): {ours:.1f} s (trainings {side[0]:.1f}, "
          f"{side[1]:.1f} s; process start included in the wall time)")
    print(json.dumps({"metric": "two_trainings_wall_s", "unit": "s", "baseline": round(baseline, 2),
                      "ours": round(ours, 2), "ratio": round(baseline / ours, 2), "cpus": cpus,
                      "steps": args.steps}))


if __name__ == "__main__":
    main()
