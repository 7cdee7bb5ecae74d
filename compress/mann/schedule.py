"""The learning-rate and weight-decay multiplier of AdamW with warm restarts (Loshchilov & Hutter), per step.

Training time is counted in epochs (a float: ``step / steps_per_epoch``). Cycle ``c`` lasts
``period · mult^c`` epochs (10, 20, 40, ... for the MANN setup). Within a cycle, at fraction ``p`` of it
done, the multiplier is the cosine ``η = ½ (1 + cos(π · min(p, hold)))``: from 1 down towards 0,
held from ``hold`` of the cycle on (0.9 as in the MANN training code, so the rate never drops below
about 2.4 % of its base), then back to 1 at the restart.

Both the learning rate and the decoupled weight decay follow ``η``. The decay per step is normalised
as in the AdamW paper: ``λ_norm = λ / sqrt(steps_per_epoch · period)``, so the total decay over a cycle
does not depend on the batch count; each step multiplies every weight by ``1 - η · λ_norm``.

Example:
    >>> s = WarmRestarts(period=10, mult=2)
    >>> [round(s.multiplier(e), 3) for e in (0, 5, 10, 20, 30)]
    [1.0, 0.5, 1.0, 0.5, 1.0]
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from compress.errors import CompressError

__all__ = ["WarmRestarts"]


@dataclass(frozen=True)
class WarmRestarts:
    """Cosine annealing with warm restarts, cycle lengths ``period · mult^c`` epochs.

    Attributes:
        period: length of the first cycle in epochs (10).
        mult: factor between consecutive cycle lengths (2).
        hold: fraction of a cycle after which the cosine stays where it is (0.9; 1.0 for the plain cosine).
    """

    period: float = 10.0
    mult: float = 2.0
    hold: float = 0.9

    def __post_init__(self) -> None:
        if not self.period > 0 or not self.mult >= 1 or not 0 < self.hold <= 1:
            raise CompressError(f"warm restarts need period > 0, mult >= 1 and hold in (0, 1], got {self}")

    def cycle(self, epoch: float) -> tuple[int, float]:
        """``(cycle index, fraction of that cycle done)`` at ``epoch`` (a float, >= 0).

        Example:
            >>> WarmRestarts(10, 2).cycle(25.0)
            (1, 0.75)
        """
        if epoch < 0:
            raise CompressError(f"epoch must be >= 0, got {epoch}")
        start, length, index = 0.0, float(self.period), 0
        while epoch >= start + length:
            start += length
            length *= self.mult
            index += 1
        return index, (epoch - start) / length

    def multiplier(self, epoch: float) -> float:
        """The factor ``η`` applied to the base learning rate and weight decay at ``epoch``.

        Example:
            >>> round(WarmRestarts(10, 2).multiplier(9.99), 4)
            0.0245
        """
        _, fraction = self.cycle(epoch)
        return 0.5 * (1.0 + math.cos(math.pi * min(fraction, self.hold)))

    def decay_per_step(self, weight_decay: float, steps_per_epoch: int) -> float:
        """The normalised decay ``λ / sqrt(steps_per_epoch · period)`` at ``η = 1``.

        Example:
            >>> round(WarmRestarts(10, 2).decay_per_step(2.5e-3, 1000), 8)
            2.5e-05
        """
        if steps_per_epoch < 1:
            raise CompressError(f"steps_per_epoch must be >= 1, got {steps_per_epoch}")
        return weight_decay / math.sqrt(steps_per_epoch * self.period)
