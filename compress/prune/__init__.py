"""Pruning toolkit: criteria, scopes, granularities, schedules, one-shot pruning and a training sparsifier.

Example:
    >>> import torch
    >>> from compress.prune import PruneConfig, Scope, prune_state_dict
    >>> sd, report = prune_state_dict({"w": torch.randn(8, 8)}, PruneConfig(0.75, scope=Scope.LOCAL))
    >>> report.achieved
    0.75
"""

from compress.prune.config import PruneConfig, from_recipe, to_recipe
from compress.prune.criteria import L1, L2, Criterion
from compress.prune.granularity import (
    NM,
    Blocks,
    Columns,
    Granularity,
    Kernels,
    Rows,
    SharedPattern,
    Unstructured,
    parse_granularity,
)
from compress.prune.masks import compute_masks, prune_count
from compress.prune.oneshot import plan, prune_, prune_state_dict, structured_scope_warnings
from compress.prune.report import LayerReport, PruneReport
from compress.prune.schedules import AGP, Iterative, OneCycle, OneShot, Schedule
from compress.prune.scope import Scope, SelectOptions, select
from compress.prune.sparsifier import Sparsifier

__all__ = [
    "AGP", "L1", "L2", "NM", "Blocks", "Columns", "Criterion", "Granularity", "Iterative", "Kernels",
    "LayerReport", "OneCycle", "OneShot", "PruneConfig", "PruneReport", "Rows", "Schedule", "Scope",
    "SelectOptions", "SharedPattern", "Sparsifier", "Unstructured", "compute_masks", "from_recipe",
    "parse_granularity", "plan", "prune_", "prune_count", "prune_state_dict", "select", "structured_scope_warnings",
    "to_recipe",
]
