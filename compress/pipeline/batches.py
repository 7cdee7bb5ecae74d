"""Deterministic, position-addressable training batches: batch ``k`` depends only on (seed, k).

A resumable run needs its data-loader position in the checkpoint; here the position IS the step
number: epoch ``e = k // batches_per_epoch`` shuffles the dataset with a generator seeded by
``(seed, e)`` and batch ``k`` takes the next ``batch_size`` indices (the incomplete last batch of an
epoch is dropped, so every batch has the same size). Under data parallelism every rank computes the
same global batch and keeps its own contiguous shard, so the all-reduced gradient is the gradient of
the one-process batch.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator

import torch
from torch.utils.data import Dataset, TensorDataset, default_collate

from compress.errors import RecipeError
from compress.pipeline.augment import augment_batch, check_augmentation, cutmix_plan, paste_boxes

__all__ = ["BatchSchedule"]

_EPOCH_STRIDE = 0x9E3779B97F4A7C15  # odd constant mixing the epoch into the seed (kept below 2**64)


class BatchSchedule:
    """Batches of ``dataset`` addressed by step number, optionally sharded over ranks.

    Args:
        dataset: a map-style dataset of ``(input, target)`` pairs (a :class:`TensorDataset` is sliced
            directly; others go through ``default_collate``).
        batch_size: global batch size (divisible by ``world_size``).
        seed: shuffling seed.
        rank: this process's rank.
        world_size: number of processes sharing each global batch.
        augment: a name of :data:`compress.pipeline.augment.AUGMENTATIONS`; each batch's inputs are
            augmented from ``(seed, step, example index)``.

    Example:
        >>> data = TensorDataset(torch.arange(10.0), torch.arange(10))
        >>> schedule = BatchSchedule(data, 4, seed=0)
        >>> schedule.batches_per_epoch, torch.equal(schedule.batch(3)[1], BatchSchedule(data, 4, 0).batch(3)[1])
        (2, True)
    """

    def __init__(self, dataset: Dataset, batch_size: int, seed: int, *, rank: int = 0, world_size: int = 1,
                 augment: str = "none") -> None:
        size = len(dataset)  # type: ignore[arg-type]
        if batch_size < 1 or batch_size % world_size:
            raise RecipeError(f"batch size {batch_size} must be a positive multiple of the {world_size} processes")
        if size < batch_size:
            raise RecipeError(f"the training set has {size} examples, fewer than one batch of {batch_size}")
        self.dataset = dataset
        self.batch_size = batch_size
        self.seed = seed
        self.rank = rank
        self.world_size = world_size
        self.augment = check_augmentation(augment)
        self.batches_per_epoch = size // batch_size
        self._size = size
        self._epoch = -1
        self._order = torch.empty(0, dtype=torch.int64)

    def indices(self, step: int) -> torch.Tensor:
        """Dataset indices of this rank's share of global batch ``step`` (0-based)."""
        epoch, position = divmod(step, self.batches_per_epoch)
        if epoch != self._epoch:
            seed = (self.seed * _EPOCH_STRIDE + epoch) % (2**63)
            self._order = torch.randperm(self._size, generator=torch.Generator().manual_seed(seed))
            self._epoch = epoch
        start = position * self.batch_size
        shard = self.batch_size // self.world_size
        start += self.rank * shard
        return self._order[start : start + shard]

    def batch(self, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        """``(inputs, targets)`` of this rank's share of global batch ``step``."""
        idx = self.indices(step)
        inputs, targets = self._gather(idx)
        if self.augment != "none":
            inputs = augment_batch(self.augment, inputs, idx, seed=self.seed, step=step)
        if self.augment == "crop-flip-cutmix":
            plan = cutmix_plan(idx, seed=self.seed, step=step, dataset_size=self._size,
                               height=inputs.shape[-2], width=inputs.shape[-1])
            partners = augment_batch("crop-flip", self._gather(plan.partners)[0], plan.partners,
                                     seed=self.seed, step=step)
            inputs = paste_boxes(inputs, partners, plan)
        return inputs, targets

    def _gather(self, idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if isinstance(self.dataset, TensorDataset):
            return self.dataset.tensors[0][idx], self.dataset.tensors[1][idx]
        inputs, targets = default_collate([self.dataset[int(i)] for i in idx])[:2]
        return inputs, targets

    def iterate(self, start: int = 0) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Batches ``start, start + 1, ...`` forever."""
        step = start
        while True:
            yield self.batch(step)
            step += 1


def cycle_batches(loader: Iterable[tuple[torch.Tensor, torch.Tensor]]) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Yield ``(inputs, targets)`` from ``loader`` epoch after epoch, forever.

    Raises:
        RecipeError: the loader yields no batch in an epoch (an empty dataset).

    Example:
        >>> batches = cycle_batches([(torch.zeros(1), torch.ones(1))])
        >>> [float(next(batches)[1]) for _ in range(3)]
        [1.0, 1.0, 1.0]
    """
    for epoch in itertools.count():
        empty = True
        for batch in loader:
            empty = False
            yield batch[0], batch[1]
        if empty:
            raise RecipeError(f"the training loader yielded no batch (epoch {epoch})")
