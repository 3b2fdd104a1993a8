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

Token-budget batching (`TokenBudgetBatchSampler`, `max_tokens_per_batch` in training): micro-batches
of a *token* budget instead of a sample count, so short samples travel in big micro-batches and
long ones in small, each as full as the budget allows; same modality and seeded-shuffle rules.
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


# -- token-budget batching --------------------------------------------------------------------------
def batch_cost(lengths: Sequence[int], batch: Sequence[int], *, packed: bool) -> int:
    """Token slots a micro-batch occupies: the sum of its lengths when packed, else
    samples × longest (pad to longest)."""
    if not batch:
        return 0
    if packed:
        return sum(int(lengths[i]) for i in batch)
    return len(batch) * max(int(lengths[i]) for i in batch)


def _budget_partition(lengths: Sequence[int], max_tokens: int, modalities: list[bool], *, packed: bool,
                      mega_batch_mult: int, seed: int, epoch: int) -> list[list[int]]:
    """One epoch's micro-batches (unordered): per modality, a seeded shuffle cut into mega-batches,
    each sorted longest first and filled greedily up to `max_tokens`."""
    generator = torch.Generator().manual_seed(int(seed) + int(epoch))
    batches: list[list[int]] = []
    for modality in (True, False):
        idx = [i for i in range(len(lengths)) if modalities[i] is modality]
        if not idx:
            continue
        perm = [idx[j] for j in torch.randperm(len(idx), generator=generator).tolist()]
        mean = max(1, sum(int(lengths[i]) for i in idx) // len(idx))
        per_batch = max(1, max_tokens // mean)  # rough samples per micro-batch
        for mega in _chunks(perm, per_batch * max(1, mega_batch_mult)):
            mega.sort(key=lambda i: (-lengths[i], i))
            current: list[int] = []
            for i in mega:
                if current and batch_cost(lengths, [*current, i], packed=packed) > max_tokens:
                    batches.append(current)
                    current = []
                current.append(i)
            if current:
                batches.append(current)
    return batches


def _split_to(batches: list[list[int]], count: int) -> list[list[int]]:
    """Split the batches holding the most samples in two until there are `count` (budgets still hold:
    a part never costs more than the whole)."""
    batches = [list(b) for b in batches]
    while len(batches) < count:
        j = max(range(len(batches)), key=lambda k: (len(batches[k]), -k))
        if len(batches[j]) < 2:
            break
        b = batches.pop(j)
        half = len(b) // 2
        batches[j:j] = [b[:half], b[half:]]
    return batches


def token_budget_batches(
    lengths: Sequence[int],
    max_tokens: int,
    *,
    has_image: Sequence[bool] | None = None,
    packed: bool = False,
    mega_batch_mult: int = 50,
    seed: int = 0,
    epoch: int = 0,
    num_batches: int | None = None,
) -> list[list[int]]:
    """Micro-batches of one epoch under a token budget instead of a sample count.

    Every sample appears exactly once. A micro-batch holds samples of one modality, costs at most
    `max_tokens` (`batch_cost`: summed lengths when `packed`, else samples × longest) and is as
    full as a greedy fill of a length-sorted mega-batch (`mega_batch_mult` micro-batches' worth of
    samples, shuffled per epoch with `seed + epoch`) allows; only a sample longer than the budget on
    its own gets a micro-batch alone (over budget). The most expensive micro-batch comes first
    (an out-of-memory error shows at step 1), the rest in a seeded random order. `num_batches`
    (at least this epoch's count) splits the fullest micro-batches until there are that many:
    the HF Trainer sizes every epoch from the first, so the count must not change between epochs.
    A pure function of its arguments.
    """
    if max_tokens < 1:
        raise ValueError(f"max_tokens must be >= 1, got {max_tokens}")
    modalities = [bool(m) for m in has_image] if has_image is not None else [True] * len(lengths)
    if len(modalities) != len(lengths):
        raise ValueError("lengths and has_image differ in length")
    batches = _budget_partition(lengths, max_tokens, modalities, packed=packed, mega_batch_mult=mega_batch_mult,
                                seed=seed, epoch=epoch)
    if num_batches is not None:
        if num_batches < len(batches):
            raise ValueError(f"num_batches {num_batches} is below this epoch's {len(batches)} micro-batches")
        batches = _split_to(batches, num_batches)
    generator = torch.Generator().manual_seed(int(seed) + int(epoch) + 7919)
    order = [batches[j] for j in torch.randperm(len(batches), generator=generator).tolist()]
    if order:
        first = max(range(len(order)), key=lambda j: (batch_cost(lengths, order[j], packed=packed), -j))
        order.insert(0, order.pop(first))
    return order


class TokenBudgetBatchSampler(Sampler[list[int]]):
    """Batch sampler over `token_budget_batches`: micro-batches of at most `max_tokens` tokens.

    Its length is the same in every epoch (the most micro-batches any of the first `epochs` epochs
    needs; epochs with fewer split their fullest micro-batches), as the HF Trainer expects. An
    epoch past `epochs` whose own partition would need more reuses the partition of the epoch
    that set the count, in its own order. Call `set_epoch` each epoch (the Trainer does).

        sampler = TokenBudgetBatchSampler(ds.lengths, max_tokens=16384, has_image=ds.has_image, seed=0)
        loader = DataLoader(ds, batch_sampler=sampler, collate_fn=collator)
    """

    def __init__(
        self,
        lengths: Sequence[int],
        max_tokens: int,
        *,
        has_image: Sequence[bool] | None = None,
        packed: bool = False,
        mega_batch_mult: int | None = None,
        seed: int = 0,
        epochs: int = 1,
    ) -> None:
        self.lengths = [int(n) for n in lengths]
        self.has_image = list(has_image) if has_image is not None else None
        self.max_tokens = int(max_tokens)
        self.packed = packed
        self.mega_batch_mult = mega_batch_mult or 50
        self.seed = seed
        self.epoch = 0
        counts = [len(self._partition(e)) for e in range(max(1, int(epochs)))]
        self.num_batches = max(counts)
        self._widest_epoch = counts.index(self.num_batches)

    def _partition(self, epoch: int, num_batches: int | None = None) -> list[list[int]]:
        return token_budget_batches(self.lengths, self.max_tokens, has_image=self.has_image, packed=self.packed,
                                    mega_batch_mult=self.mega_batch_mult, seed=self.seed, epoch=epoch,
                                    num_batches=num_batches)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def batches(self, epoch: int | None = None) -> list[list[int]]:
        """The micro-batches of `epoch` (default: the current one), in order."""
        epoch = self.epoch if epoch is None else epoch
        try:
            return self._partition(epoch, self.num_batches)
        except ValueError:  # this epoch's partition needs more micro-batches than the count
            batches = self._partition(self._widest_epoch, self.num_batches)
            generator = torch.Generator().manual_seed(int(self.seed) + int(epoch) + 7919)
            order = [batches[j] for j in torch.randperm(len(batches), generator=generator).tolist()]
            first = max(range(len(order)), key=lambda j: (batch_cost(self.lengths, order[j], packed=self.packed), -j))
            order.insert(0, order.pop(first))
            return order

    def __iter__(self) -> Iterator[list[int]]:
        return iter(self.batches())

    def __len__(self) -> int:
        return self.num_batches
