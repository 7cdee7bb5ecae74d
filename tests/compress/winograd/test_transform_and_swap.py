"""Torch filter transform versus the numpy reference, and model surgery with swap_to_winograd."""

from __future__ import annotations

import copy

import numpy as np
import torch
from torch import nn

from compress.winograd import (
    WinogradConv2d,
    swap_to_winograd,
    winograd_filter_transform,
    winograd_input_transform,
    winograd_output_transform,
    winograd_tensors,
)
from formats.winograd import transform_filters, winograd_matrices


def test_filter_transform_matches_formats_reference():
    w = torch.randn(6, 5, 3, 3)
    for m in (2, 4, 6):
        np.testing.assert_allclose(
            winograd_filter_transform(w, m).numpy(), transform_filters(w.numpy(), m), rtol=0, atol=1e-6
        )


def test_filter_transform_is_differentiable():
    w = torch.randn(2, 3, 5, 5, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: winograd_filter_transform(t, 4), (w,))


def test_tile_transforms_equal_matrix_products():
    at, _, bt = (torch.from_numpy(np.array(a)) for a in winograd_matrices(4, 3))
    x = torch.randn(7, 6, 6, dtype=torch.float64)
    torch.testing.assert_close(
        winograd_input_transform(x.reshape(7, 36), 4, 3), (bt @ x @ bt.T).reshape(7, 36)
    )
    torch.testing.assert_close(
        winograd_output_transform(x.reshape(7, 36), 4, 3), (at @ x @ at.T).reshape(7, 16)
    )


def test_winograd_tensors_are_fresh_copies():
    at, g, bt = winograd_tensors(2, 3, dtype=torch.float64)
    g.zero_()
    assert winograd_tensors(2, 3, dtype=torch.float64)[1].abs().sum() > 0


class _Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.down = nn.Conv2d(8, 8, 3, stride=2, padding=1)
        self.body = nn.Sequential(nn.Conv2d(8, 8, 5, padding=2), nn.ReLU(), nn.Conv2d(8, 8, 1))
        self.wide = nn.Conv2d(8, 4, 7, padding=3)

    def forward(self, x):
        return self.wide(self.body(self.down(torch.relu(self.stem(x)))))


def test_swap_replaces_only_eligible_convs_and_keeps_the_function():
    torch.manual_seed(0)
    net = _Net().double()
    x = torch.randn(2, 3, 16, 16, dtype=torch.float64)
    ref = net(x)
    swapped = swap_to_winograd(copy.deepcopy(net))
    assert isinstance(swapped.stem, WinogradConv2d) and swapped.stem.m == 4 and swapped.stem.r == 3
    assert isinstance(swapped.body[0], WinogradConv2d) and swapped.body[0].n == 8
    assert (
        type(swapped.down) is nn.Conv2d
        and type(swapped.body[2]) is nn.Conv2d
        and type(swapped.wide) is nn.Conv2d
    )
    torch.testing.assert_close(swapped(x), ref)
    only3 = swap_to_winograd(copy.deepcopy(net), {3: 2})
    assert only3.stem.m == 2 and type(only3.body[0]) is nn.Conv2d


def test_swap_shares_parameters():
    net = _Net()
    stem_weight = net.stem.weight
    swap_to_winograd(net)
    assert net.stem.weight is stem_weight
    assert {id(p) for p in net.parameters()} >= {id(stem_weight)}
