"""Data-parallel fine-tuning under ``torchrun``: process group set-up and the DDP wrapper.

``torchrun --nproc_per_node N dualsparse compress --recipe ...`` starts N processes with ``RANK``,
``WORLD_SIZE``, ``MASTER_ADDR`` and ``MASTER_PORT`` set. :func:`distributed_context` reads them and
joins the process group (gloo: the pipeline keeps its tensors on the CPU). Every rank builds the
same model from the same seed, trains on its shard of every global batch
(:class:`~compress.pipeline.batches.BatchSchedule`) through DDP, whose gradient all-reduce averages the
shards' gradients: the update is the one-process update up to float rounding. The regularizers and ζ
see identical weights on every rank, so they stay in step without extra communication. Rank 0 alone
writes checkpoints and runs the later stages; the other ranks stop after fine-tuning.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch.distributed as dist
from torch import nn

__all__ = ["DistributedContext", "distributed_context"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DistributedContext:
    """Where this process stands in the run.

    Attributes:
        rank: this process's rank (0 when not distributed).
        world_size: number of processes (1 when not distributed).
    """

    rank: int = 0
    world_size: int = 1

    @property
    def enabled(self) -> bool:
        """True under ``torchrun`` with more than one process."""
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """True on the rank that writes files."""
        return self.rank == 0

    def wrap(self, model: nn.Module) -> nn.Module:
        """``model`` wrapped in DDP when distributed, else ``model`` itself.

        Example:
            >>> DistributedContext().wrap(nn.Linear(1, 1)).__class__.__name__
            'Linear'
        """
        if not self.enabled:
            return model
        from torch.nn.parallel import DistributedDataParallel

        return DistributedDataParallel(model)

    def barrier(self) -> None:
        """Wait for every rank (no-op when not distributed)."""
        if self.enabled:
            dist.barrier()


@contextmanager
def distributed_context() -> Iterator[DistributedContext]:
    """Join the process group described by torchrun's environment, if any; leave it on exit.

    Example:
        >>> with distributed_context() as ctx:
        ...     ctx.world_size
        1
    """
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        yield DistributedContext()
        return
    rank = int(os.environ.get("RANK", "0"))
    created = not dist.is_initialized()
    if created:
        backend = "gloo"  # the pipeline trains on CPU tensors
        dist.init_process_group(backend=backend)
        log.info("joined process group: rank %d of %d (%s)", rank, world_size, backend)
    try:
        yield DistributedContext(rank, world_size)
    finally:
        if created:
            dist.destroy_process_group()
