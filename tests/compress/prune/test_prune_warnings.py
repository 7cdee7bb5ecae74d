"""prune warns when structured pruning reaches the first layer or the last (a classifier's output)."""

from __future__ import annotations

import pytest
import torch

from compress.prune import NM, Blocks, Columns, Kernels, PruneConfig, Rows, SelectOptions, Unstructured
from compress.prune import structured_scope_warnings as warnings

SD = {"conv.weight": torch.zeros(4, 4, 3, 3), "conv.bias": torch.zeros(4), "mid.weight": torch.zeros(8, 4),
      "fc.weight": torch.zeros(10, 8), "fc.bias": torch.zeros(10)}


@pytest.mark.parametrize("granularity", [Rows(), Columns(), Kernels(), Blocks(2, 2)])
def test_structured_granularities_warn_about_both_ends(granularity: object) -> None:
    found = warnings(SD, PruneConfig(0.5, granularity=granularity))
    assert [w.split(" ")[0] for w in found] == ["conv.weight", "fc.weight"]
    assert "--exclude-first" in found[0] and "--exclude-last" in found[1] and "whole classes" in found[1]


@pytest.mark.parametrize("granularity", [Unstructured(), NM(2, 4)])
def test_unstructured_and_nm_do_not_warn(granularity: object) -> None:
    assert warnings(SD, PruneConfig(0.5, granularity=granularity)) == []


def test_excluded_ends_do_not_warn() -> None:
    rows = Rows()
    assert [w.split(" ")[0] for w in warnings(SD, PruneConfig(0.5, granularity=rows,
                                                            select=SelectOptions(exclude_first=True)))] == ["fc.weight"]
    both = SelectOptions(exclude_first=True, exclude_last=True)
    assert warnings(SD, PruneConfig(0.5, granularity=rows, select=both)) == []
    assert warnings(SD, PruneConfig(0.5, granularity=rows, select=SelectOptions(exclude=("fc.*", "conv.*")))) == []
    assert len(warnings({"w": torch.zeros(3, 3)}, PruneConfig(0.5, granularity=rows))) == 1  # one tensor: once
