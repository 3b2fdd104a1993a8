"""Data loading throughput: the training dataset with and without its memory cache, same data.

ShapeWorld trains for several epochs on a few thousand images, each asked in ten languages.
Without the cache (`memory_mb=0`, what LLaVA's own dataset does) every read re-tokenizes the
conversation, re-confines the image path, decodes the PNG and preprocesses it; with it
(`data_memory_mb` in the recipe) the token ids kept from the build pass and each preprocessed
image after its first read are served from memory. Both read the same samples in the same order
through the same DataLoader + collator; the items are checked to be identical. The first epoch
fills the cache and is timed separately from the later ones.

    python benchmarks/data_throughput.py                 # ~30 s on a 2-core CPU
    python benchmarks/data_throughput.py --images 800 --langs 10 --epochs 3

The last output line is one JSON object:
`{"metric": "data_samples_per_s_after_epoch_1", "baseline", "ours", "ratio", ...}`.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from pathlib import Path

import torch
from PIL import Image, ImageDraw

QUESTIONS = ["Is there a {c} {s} in the image?", "What colour is the {s}?", "How many shapes are there?",
             "Where is the {c} {s}?\nA. on the left\nB. on the right\nC. at the top\nAnswer with the option's letter."]
COLOURS = {"red": (220, 30, 30), "green": (30, 180, 60), "blue": (40, 60, 220), "yellow": (230, 210, 40)}
SHAPES = ["circle", "square", "triangle"]


def make_data(folder: Path, n_images: int, langs: int, image_size: int, seed: int = 0) -> list[dict]:
    """PNG scenes of coloured shapes and `langs` conversations per image (as the translated data)."""
    rng = random.Random(seed)
    (folder / "images").mkdir(parents=True)
    samples = []
    for i in range(n_images):
        img = Image.new("RGB", (image_size, image_size), (255, 255, 255))
        draw = ImageDraw.Draw(img)
        for _ in range(rng.randint(1, 4)):
            x, y = rng.randrange(image_size - 20), rng.randrange(image_size - 20)
            draw.ellipse((x, y, x + 18, y + 18), fill=rng.choice(list(COLOURS.values())))
        img.save(folder / "images" / f"{i:05d}.png")
        for lang in range(langs):
            turns = []
            for _ in range(rng.randint(1, 3)):
                q = rng.choice(QUESTIONS).format(c=rng.choice(list(COLOURS)), s=rng.choice(SHAPES))
                turns += [{"from": "human", "value": q}, {"from": "gpt", "value": rng.choice(["Yes.", "No.", "Red.", "B"])}]
            turns[0]["value"] = "<image>\n" + turns[0]["value"]
            samples.append({"id": f"{i}-{lang}", "image": f"images/{i:05d}.png", "conversations": turns})
    return samples


def epoch_times(dataset, batch_size: int, epochs: int, seed: int = 0) -> tuple[list[float], list[dict]]:
    """Seconds per epoch of DataLoader + collator over `dataset`, and the first epoch's batches."""
    from torch.utils.data import DataLoader

    from lrm_llava.data import LlavaCollator

    times, first = [], []
    for epoch in range(epochs):
        loader = DataLoader(dataset, batch_size=batch_size, shuffle=True, collate_fn=LlavaCollator(pad_token_id=0),
                            generator=torch.Generator().manual_seed(seed + epoch))
        start = time.perf_counter()
        batches = list(loader)
        times.append(time.perf_counter() - start)
        if epoch == 0:
            first = batches
    return times, first


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=400)
    parser.add_argument("--langs", type=int, default=4, help="conversations per image (language variants)")
    parser.add_argument("--image-size", type=int, default=96)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--memory-mb", type=float, default=1024)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)

    from lrm_llava.data import LlavaDataset, read_samples, write_samples
    from lrm_llava.model import build_tiny_model

    processor = build_tiny_model(seed=0, image_size=args.image_size, patch_size=args.image_size // 3)[1]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        path = write_samples(root / "data.json", make_data(root, args.images, args.langs, args.image_size))
        results = {}
        for name, memory_mb in (("baseline", 0.0), ("ours", args.memory_mb)):
            start = time.perf_counter()
            ds = LlavaDataset(read_samples(path), processor, image_root=root, show_progress=False, memory_mb=memory_mb)
            build = time.perf_counter() - start
            times, batches = epoch_times(ds, args.batch_size, args.epochs)
            results[name] = {"build_s": build, "epoch_s": times, "batches": batches, "samples": len(ds)}
            print(f"{name:8s} build {build:6.2f} s | epochs " + " ".join(f"{t:6.2f}" for t in times) + " s", flush=True)
    same = all(a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
               for a, b in zip(results["baseline"]["batches"], results["ours"]["batches"]))
    n = results["ours"]["samples"]
    later = {k: n * (args.epochs - 1) / sum(v["epoch_s"][1:]) for k, v in results.items()}
    first = {k: n / v["epoch_s"][0] for k, v in results.items()}
    out = {"metric": "data_samples_per_s_after_epoch_1", "unit": "samples/s",
           "baseline": round(later["baseline"], 1), "ours": round(later["ours"], 1),
           "ratio": round(later["ours"] / later["baseline"], 2),
           "first_epoch": {k: round(v, 1) for k, v in first.items()},
           "identical_batches": same, "samples": n, "images": args.images, "epochs": args.epochs}
    print(json.dumps(out))
    return out


if __name__ == "__main__":
    main()
