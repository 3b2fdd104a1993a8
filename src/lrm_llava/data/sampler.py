"""Token-length grouped sampling (LLaVA's `group_by_modality_length`, fixed).

Batches hold samples of one modality (image or text-only) and similar *token* length, so little
compute goes to padding. Per epoch, each modality is shuffled (seeded by `seed + epoch`), cut
into mega-batches of `mega_batch_mult` global batches, each mega-batch sorted by length and cut
into global batches (`batch_size × world_size` samples: one micro-step on every device); the
global batches are shuffled, the one holding the longest sample goes first (an out-of-memory
error shows at step 1, not hours in), and the incomplete leftovers go last. Differences from
LLaVA's sampler that users complained about: token counts instead of word counts, mega-batches of
many global batches instead of one, and data with a single modality works.

The order is a pure function of (lengths, modalities, batch sizes, seed, epoch): resumed runs and
every DDP rank see the same order. Under the HF Trainer/accelerate the sampler yields the global
order and accelerate hands batch k to rank k mod world_size; without accelerate pass `rank` and the
sampler yields only that rank's batches.

    sampler = LengthGroupedSampler(ds.lengths, batch_size=4, has_image=ds.has_image, seed=0)
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import torch
from torch.utils.data import Sampler


def _chunks(items: list[int], size: int) -> list[list[int]]:
    return [items[i:i + size] for i in range(0, len(items), size)]


def grouped_order(
    lengths: Sequence[int],
    batch_size: int,
    *,
    has_image: Sequence[bool] | None = None,
    world_size: int = 1,
    mega_batch_mult: int | None = None,
    seed: int = 0,
    epoch: int = 0,
) -> list[int]:
    """The index order of one epoch (all ranks), as described in the module docstring."""
    if batch_size < 1 or world_size < 1:
        raise ValueError("batch_size and world_size must be >= 1")
    n = len(lengths)
    group = batch_size * world_size
    modalities = list(has_image) if has_image is not None else [True] * n
    if len(modalities) != n:
        raise ValueError("lengths and has_image differ in length")
    generator = torch.Generator().manual_seed(int(seed) + int(epoch))
    full: list[list[int]] = []
    leftovers: list[int] = []
    for modality in (True, False):
        idx = [i for i in range(n) if bool(modalities[i]) is modality]
        if not idx:  # single-modality data: nothing to do for the other one
            continue
        perm = [idx[j] for j in torch.randperm(len(idx), generator=generator).tolist()]
        mult = mega_batch_mult or max(1, min(50, len(idx) // (group * 4)))
        for mega in _chunks(perm, group * mult):
            mega.sort(key=lambda i: (-lengths[i], i))
            for g in _chunks(mega, group):
                if len(g) == group:
                    full.append(g)
                else:
                    leftovers.extend(g)
    order = [full[j] for j in torch.randperm(len(full), generator=generator).tolist()]
    if order:
        longest = max(range(len(order)), key=lambda j: max(lengths[i] for i in order[j]))
        order.insert(0, order.pop(longest))
    leftovers.sort(key=lambda i: (-lengths[i], i))
    order.extend(_chunks(leftovers, group))
    return [i for g in order for i in g]


class LengthGroupedSampler(Sampler[int]):
    """Sampler over `grouped_order`; call `set_epoch` each epoch (accelerate does)."""

    def __init__(
        self,
        lengths: Sequence[int],
        batch_size: int,
        *,
        has_image: Sequence[bool] | None = None,
        world_size: int = 1,
        rank: int | None = None,
        mega_batch_mult: int | None = None,
        seed: int = 0,
    ) -> None:
        self.lengths = list(lengths)
        self.has_image = list(has_image) if has_image is not None else None
        self.batch_size = batch_size
        self.world_size = world_size
        self.rank = rank
        self.mega_batch_mult = mega_batch_mult
        self.seed = seed
        self.epoch = 0
        if rank is not None and not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} outside world_size {world_size}")

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def _global_order(self) -> list[int]:
        return grouped_order(self.lengths, self.batch_size, has_image=self.has_image, world_size=self.world_size,
                             mega_batch_mult=self.mega_batch_mult, seed=self.seed, epoch=self.epoch)

    def _padded_size(self) -> int:
        group = self.batch_size * self.world_size
        return -(-len(self.lengths) // group) * group

    def __iter__(self) -> Iterator[int]:
        order = self._global_order()
        if self.rank is None:
            return iter(order)
        # Pad by wrapping around (like DistributedSampler) so every rank gets the same number of batches.
        size = self._padded_size()
        order = (order * (size // max(1, len(order)) + 1))[:size]
        mine: list[int] = []
        for start in range(self.rank * self.batch_size, size, self.batch_size * self.world_size):
            mine.extend(order[start:start + self.batch_size])
        return iter(mine)

    def __len__(self) -> int:
        if self.rank is None:
            return len(self.lengths)
        return self._padded_size() // self.world_size
