"""The batch order of :func:`compress.pipeline.finetune.seeded_loader`, addressable by step number.

:func:`compress.pipeline.runner.run_recipe` trains on these batches, so a recipe and a script that
hands ``seeded_loader`` to the stage functions (``examples/``) see the same data in the same order,
while a resumed or data-parallel run still finds batch ``k`` from ``(seed, k)`` alone.
"""

from __future__ import annotations

import torch
from torch.utils.data import Dataset

from compress.errors import RecipeError
from compress.pipeline.batches import BatchSchedule

__all__ = ["LoaderOrder"]


class LoaderOrder(BatchSchedule):
    """Batch ``k`` of ``seeded_loader(dataset, batch_size, seed)`` iterated epoch after epoch.

    Such a loader draws from one generator, seeded once, the iterator's base seed, the epoch's
    permutation, and at the epoch's end a second permutation it slices to nothing (torch's
    ``RandomSampler``); this class replays those draws, so batch ``k`` needs no loader state (resume)
    and ranks agree on every global batch. A test checks the order against the real loader.

    Under data parallelism each rank takes its contiguous ``tensor_split`` share. When an epoch's last
    batch does not divide by ``world_size`` the shares differ by one example, so the averaged gradient
    weights the examples of the smaller shares slightly more than one process would; a last batch
    smaller than ``world_size`` (an empty share) is refused.

    Args:
        dataset: a map-style dataset of ``(input, target)`` pairs.
        batch_size: the loader's batch size (divisible by ``world_size``).
        seed: the loader's generator seed.
        rank: this process's rank.
        world_size: number of processes sharing each global batch.
        augment: as in :class:`~compress.pipeline.batches.BatchSchedule`.

    Example:
        >>> from torch.utils.data import TensorDataset
        >>> from compress.pipeline.finetune import seeded_loader
        >>> data = TensorDataset(torch.arange(10.0), torch.arange(10))
        >>> order, loader = LoaderOrder(data, 4, seed=3), list(seeded_loader(data, 4, 3))
        >>> order.batches_per_epoch, torch.equal(order.batch(2)[1], loader[2][1])
        (3, True)
    """

    def __init__(self, dataset: Dataset, batch_size: int, seed: int, *, rank: int = 0, world_size: int = 1,
                 augment: str = "none") -> None:
        super().__init__(dataset, batch_size, seed, rank=rank, world_size=world_size, augment=augment)
        self.batches_per_epoch = -(-self._size // batch_size)
        last = self._size % batch_size
        if 0 < last < world_size:
            raise RecipeError(f"the last batch of each epoch holds {last} of the {self._size} examples, fewer than "
                              f"the {world_size} processes; pick a batch size that leaves 0 or >= {world_size}")
        self._generator = torch.Generator()

    def indices(self, step: int) -> torch.Tensor:
        """Dataset indices of this rank's share of global batch ``step`` (0-based)."""
        epoch, position = divmod(step, self.batches_per_epoch)
        if epoch < self._epoch or self._epoch < 0:
            self._generator.manual_seed(self.seed)
            self._epoch = -1
        while self._epoch < epoch:
            torch.empty((), dtype=torch.int64).random_(generator=self._generator)  # the iterator's base seed
            self._order = torch.randperm(self._size, generator=self._generator)
            torch.randperm(self._size, generator=self._generator)  # RandomSampler's empty tail permutation
            self._epoch += 1
        batch = self._order[position * self.batch_size : (position + 1) * self.batch_size]
        return torch.tensor_split(batch, self.world_size)[self.rank]
