"""`data build` at LLaVA-665k's size: wall time and memory of the whole build, and the peak memory
of writing the dataset one row at a time against one JSON string.

A synthetic source of the shape of `llava_v1_5_mix665k.json` (665,298 samples by default; 55 %
short-answer VQA with 1-8 rounds, 39 % long answers, 6 % text-only, indented like the release) is
built with the `pseudo` backend (translation costs nothing, so what is timed is the engine around
it): a dry run, then the full build. Then the built rows are written both ways under `tracemalloc`
in this process: `write_json(rows, indent=None)` (one string, what the build did before) and
`write_json_list(rows)` (what it does now); the files are checked to be identical. Peak RSS is the
process's, after all steps.

    python benchmarks/data_scale.py                          # ~12 min and ~9.5 GB of RAM on 2 cores
    python benchmarks/data_scale.py --samples 60000          # ~1 min

The last output line is one JSON object:
`{"metric": "dataset_write_peak_mib", "baseline", "ours", "ratio", ...}`.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import tempfile
import time
import tracemalloc
from pathlib import Path

OBJECTS = ["dog", "cat", "car", "tree", "house", "bird", "boat", "chair", "lamp", "cup", "bus", "man", "woman",
           "table", "sign"]
SHORT = "\nAnswer the question using a single word or phrase."


def synthetic_llava(n: int, seed: int = 0) -> list[dict]:
    """`n` samples shaped like LLaVA-665k's rows (words from a 20,000-word synthetic vocabulary)."""
    rng = random.Random(seed)
    words = [f"w{i}" for i in range(20_000)]
    rows = []
    for i in range(n):
        kind = rng.random()
        turns = []
        if kind < 0.55:
            for r in range(rng.randint(1, 8)):
                obj, word = rng.choice(OBJECTS), rng.choice(words)
                q = f"What is the {obj} near the {rng.choice(OBJECTS)} {word}?" + (SHORT if r == 0 or rng.random() < 0.5 else "")
                turns += [("<image>\n" if r == 0 else "") + q, rng.choice(["Yes", "No", "2", obj, word])]
        else:
            for r in range(rng.randint(1, 4)):
                q = f"Describe the {rng.choice(OBJECTS)} and the {rng.choice(words)} in detail."
                a = " ".join(f"The {rng.choice(OBJECTS)} is {rng.choice(words)} next to the {rng.choice(words)}."
                             for _ in range(rng.randint(1, 8)))
                turns += [("<image>\n" if r == 0 else "") + q, a]
        row = {"id": str(i), "conversations": [{"from": "human" if k % 2 == 0 else "gpt", "value": t}
                                               for k, t in enumerate(turns)]}
        if kind < 0.94:
            row["image"] = f"coco/train2017/{i:012d}.jpg"
        else:
            row["conversations"][0]["value"] = row["conversations"][0]["value"].replace("<image>\n", "")
        rows.append(row)
    return rows


def peak_mib(write) -> tuple[float, float]:
    """(peak traced MiB, seconds) of `write()`."""
    tracemalloc.start()
    start = time.perf_counter()
    write()
    seconds = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20, seconds


def main(argv: list[str] | None = None) -> dict:
    from lrm_llava.instruct import BuildConfig, build_dataset
    from lrm_llava.jsonio import write_json, write_json_list

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=665_298)
    parser.add_argument("--workdir", type=Path, help="default: a temporary folder")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        work = args.workdir or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        source = work / "llava_synthetic.json"
        source.write_text(json.dumps(synthetic_llava(args.samples), indent=2), encoding="utf-8")
        print(f"source: {args.samples:,} samples, {source.stat().st_size / 2**20:,.0f} MiB")

        cfg = dict(sources=[str(source)], out=str(work / "multi.json"), stage="finetune", backend="pseudo",
                   progress=False, seed=0)
        start = time.perf_counter()
        dry = build_dataset(BuildConfig(**cfg, dry_run=True, rate=11.3))
        dry_s = time.perf_counter() - start
        print(f"dry run: {dry_s:.1f} s, {dry.wall_time['segments']:,} segments to translate")
        start = time.perf_counter()
        stats = build_dataset(BuildConfig(**cfg))
        build_s = time.perf_counter() - start
        print(f"build: {build_s:.1f} s, {stats.total:,} samples, {Path(cfg['out']).stat().st_size / 2**20:,.0f} MiB")

        rows = json.loads(Path(cfg["out"]).read_text(encoding="utf-8"))
        for row in rows[: len(rows) // 2]:  # real translations: CJK text takes 2 bytes a character in a str
            row["conversations"] = [{**t, "value": t["value"].replace("[zh]", "图中")} for t in row["conversations"]]
        one, one_s = peak_mib(lambda: write_json(work / "one.json", rows, indent=None))
        streamed, streamed_s = peak_mib(lambda: write_json_list(work / "streamed.json", rows))
        same = (work / "one.json").read_bytes() == (work / "streamed.json").read_bytes()
        assert same, "the streamed file differs from the one-shot file"
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(f"write: one string {one:,.0f} MiB peak ({one_s:.1f} s), row by row {streamed:,.3f} MiB ({streamed_s:.1f} s); "
          f"identical files; process peak RSS {rss:.2f} GiB")
    result = {"metric": "dataset_write_peak_mib", "unit": "MiB", "baseline": round(one), "ours": round(streamed, 3),
              "ratio": round(one / max(streamed, 1e-3)), "samples": args.samples, "built": stats.total,
              "dry_run_s": round(dry_s, 1), "build_s": round(build_s, 1), "write_s": [round(one_s, 1), round(streamed_s, 1)],
              "segments": dry.wall_time["segments"], "peak_rss_gib": round(rss, 2)}
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
