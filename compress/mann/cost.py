"""Model size and floating-point operations per frame of a (pruned) MANN: the counter behind Table 1.

The pruning paper's Table 1 lists, for 0-90 % of the parameters pruned, the model size in megabits at
32 bits per parameter and MFLOPs per frame. The convention that reproduces it:

* **size**: every parameter that is left (expert weights and biases, the gating network; sparsity is a
  fraction of *all* parameters, the paper's "percent of the total amount of parameters"), times 32 bits,
  in Mb of 10^6 bits;
* **FLOPs per frame** = blending + one pass:
  - blending ``W = Σ_i ω_i W_i`` of the motion network's weight matrices costs 8 multiplications and
    7 additions per blended weight, i.e. 15 operations per weight of one expert, and a pruned expert
    weight saves its share: ``15 · (1 - s) · W``, ``W`` = one expert's weights (480·512 + 512·512 +
    512·363 = 693,760 in the dog setup);
  - the pass itself counts one operation per multiply–accumulate of the blended motion network and
    per bias, and the gating network's parameters (``W + biases + gating``), not reduced by pruning.

The paper's rows are then reproduced to the digits it prints, sizes truncated to whole Mb (one decimal
below 20 Mb): dense 178 Mb / 11.10 MFLOPs, 90 % 17.8 Mb / 1.74 MFLOPs, except its 50 % row (88 Mb /
5.89 MFLOPs), where the linear rule gives 89 / 5.90, as the paper's own neighbouring rows do (its 50 %
model was evidently a little sparser than 50 %).

Example:
    >>> row = table1_row(0.9)
    >>> row.size_text, f"{row.mflops:.2f}"
    ('17.8', '1.74')
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from compress.errors import CompressError
from compress.zoo.mann import MANNConfig

__all__ = ["CostRow", "expert_weights", "gating_parameters", "table1", "table1_row", "total_parameters"]

#: Operations per blended weight per expert in the blending (8 multiplications + 7 additions over 8 experts).
_BLEND_OPS = 15


def expert_weights(config: MANNConfig) -> int:
    """Weights of one expert of the motion network (no biases): 693,760 for the dog setup.

    Example:
        >>> expert_weights(MANNConfig())
        693760
    """
    c = config
    return c.input_dim * c.hidden + c.hidden * c.hidden + c.hidden * c.output_dim


def gating_parameters(config: MANNConfig) -> int:
    """Weights and biases of the gating network: 1,960 for the dog setup.

    Example:
        >>> gating_parameters(MANNConfig())
        1960
    """
    c = config
    g, e = c.gating_hidden, c.experts
    return c.gating_input_dim * g + g + g * g + g + g * e + e


def total_parameters(config: MANNConfig) -> int:
    """Every parameter of the model (5,563,136 for the dog setup).

    Example:
        >>> total_parameters(MANNConfig())
        5563136
    """
    c = config
    biases = 2 * c.hidden + c.output_dim
    return c.experts * (expert_weights(c) + biases) + gating_parameters(c)


@dataclass(frozen=True)
class CostRow:
    """One row of Table 1.

    Attributes:
        sparsity: pruned fraction of all parameters.
        nonzero: parameters left (``total - round(sparsity · total)``).
        megabits: ``32 · nonzero / 10^6``.
        mflops: operations per frame / 10^6 (the module's convention).
    """

    sparsity: float
    nonzero: int
    megabits: float
    mflops: float

    @property
    def size_text(self) -> str:
        """The size as the paper prints it: truncated to whole Mb, to one decimal below 20 Mb."""
        if self.megabits < 20:
            return f"{math.floor(self.megabits * 10) / 10:.1f}"
        return str(math.floor(self.megabits))


def table1_row(sparsity: float, config: MANNConfig | None = None) -> CostRow:
    """Size and MFLOPs per frame of ``config`` (default: the dog setup) with ``sparsity`` of all parameters pruned.

    Example:
        >>> row = table1_row(0.0)
        >>> row.size_text, f"{row.mflops:.2f}", row.nonzero
        ('178', '11.10', 5563136)
    """
    if not 0.0 <= sparsity < 1.0:
        raise CompressError(f"sparsity must be a fraction in [0, 1), got {sparsity}")
    c = config or MANNConfig()
    total = total_parameters(c)
    nonzero = total - round(sparsity * total)
    weights = expert_weights(c)
    biases = 2 * c.hidden + c.output_dim
    flops = _BLEND_OPS * (1.0 - sparsity) * weights + weights + biases + gating_parameters(c)
    return CostRow(sparsity, nonzero, 32 * nonzero / 1e6, flops / 1e6)


def table1(sparsities: tuple[float, ...] = tuple(i / 10 for i in range(10)),
           config: MANNConfig | None = None) -> list[CostRow]:
    """Table 1's rows (default 0, 10, ..., 90 %).

    Example:
        >>> [r.size_text for r in table1()][:3]
        ['178', '160', '142']
    """
    return [table1_row(s, config) for s in sparsities]
