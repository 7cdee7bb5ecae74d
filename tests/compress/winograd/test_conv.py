"""WinogradConv2d against F.conv2d on the layer shapes of LeNet, CIFAR ResNets and AlexNet."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from compress.errors import CompressError
from compress.winograd import WinogradConv2d, winograd_filter_transform

# (in, out, r, padding, groups, H, W): LeNet conv2, ResNet-20 stages, AlexNet conv2/conv4 (channels cut down).
LAYERS = [
    (1, 20, 5, 0, 1, 28, 28),
    (20, 50, 5, 0, 1, 12, 12),
    (3, 16, 3, 1, 1, 32, 32),
    (16, 16, 3, 1, 1, 32, 32),
    (32, 32, 3, 1, 1, 16, 16),
    (64, 64, 3, 1, 1, 8, 8),
    (16, 32, 5, 2, 2, 27, 27),
    (24, 24, 3, 1, 2, 13, 13),
]
TILES = {3: [2, 4, 6], 5: [2, 4]}


def _case_ids(case):
    return "in{}-out{}-r{}-p{}-g{}-{}x{}".format(*case)


@pytest.mark.parametrize("case", LAYERS, ids=_case_ids)
def test_matches_conv2d_float64(case):
    cin, cout, r, pad, groups, h, w = case
    torch.manual_seed(0)
    conv = nn.Conv2d(cin, cout, r, padding=pad, groups=groups).double()
    x = torch.randn(2, cin, h, w, dtype=torch.float64)
    ref = conv(x)
    for m in TILES[r]:
        out = WinogradConv2d.from_conv(conv, m)(x)
        assert out.shape == ref.shape
        torch.testing.assert_close(out, ref, rtol=0, atol=1e-11)


@pytest.mark.parametrize(
    ("m", "r", "atol"), [(2, 3, 2e-5), (4, 3, 5e-5), (6, 3, 5e-4), (2, 5, 5e-5), (4, 5, 5e-4)]
)
def test_matches_conv2d_float32(m, r, atol):
    torch.manual_seed(1)
    conv = nn.Conv2d(32, 32, r, padding=r // 2)
    x = torch.randn(2, 32, 16, 16)
    torch.testing.assert_close(WinogradConv2d.from_conv(conv, m)(x), conv(x), rtol=0, atol=atol)


@pytest.mark.parametrize("sparse", [False, True])
def test_from_winograd_weights_dense_and_sparse(sparse):
    torch.manual_seed(2)
    conv = nn.Conv2d(16, 32, 3, padding=1, groups=2).double()
    wd = winograd_filter_transform(conv.weight.detach(), 4)
    wd = torch.where(wd.abs() < wd.abs().quantile(0.7), torch.zeros_like(wd), wd)  # prune 70 % there
    layer = WinogradConv2d.from_winograd_weights(
        wd, m=4, r=3, padding=1, groups=2, bias=conv.bias, sparse=sparse
    )
    x = torch.randn(3, 16, 11, 9, dtype=torch.float64)
    reference = WinogradConv2d.from_winograd_weights(wd, m=4, r=3, padding=1, groups=2, bias=conv.bias)
    torch.testing.assert_close(layer(x), reference(x), rtol=0, atol=1e-12)
    unpruned = WinogradConv2d.from_conv(conv, 4)(x)
    assert (layer(x) - unpruned).abs().max() > 1e-3  # pruning really changed the weights used


def test_sparse_cache_follows_weight_updates():
    wd = torch.randn(4, 4, 4, 4, dtype=torch.float64)
    layer = WinogradConv2d.from_winograd_weights(wd, m=2, r=3, sparse=True)
    x = torch.randn(1, 4, 6, 6, dtype=torch.float64)
    before = layer(x)
    with torch.no_grad():
        layer.winograd_weight.mul_(2)
    torch.testing.assert_close(layer(x), 2 * before)


def test_gradients_flow_to_spatial_weights():
    torch.manual_seed(3)
    conv = nn.Conv2d(2, 3, 3, padding=1).double()
    x = torch.randn(1, 2, 6, 5, dtype=torch.float64, requires_grad=True)
    layer = WinogradConv2d.from_conv(conv, 4)
    assert layer.weight is conv.weight
    assert torch.autograd.gradcheck(lambda inp, w: layer.forward(inp) + 0 * w.sum(), (x, conv.weight))
    layer(x).square().sum().backward()
    g_wino = conv.weight.grad.clone()
    conv.weight.grad = None
    F.conv2d(x, conv.weight, conv.bias, padding=1).square().sum().backward()
    torch.testing.assert_close(g_wino, conv.weight.grad)


def test_padding_variants_match_conv2d():
    torch.manual_seed(4)
    x = torch.randn(1, 3, 9, 10, dtype=torch.float64)
    for padding in ["same", "valid", (2, 0), 3]:
        conv = nn.Conv2d(3, 5, 3, padding=padding, bias=False).double()
        torch.testing.assert_close(WinogradConv2d.from_conv(conv, 4)(x), conv(x))


@pytest.mark.parametrize(
    ("conv", "match"),
    [
        (nn.Conv2d(3, 3, 3, stride=2), "stride"),
        (nn.Conv2d(3, 3, 3, dilation=2), "dilation"),
        (nn.Conv2d(3, 3, (3, 5)), "square"),
        (nn.Conv2d(3, 3, 3, padding=1, padding_mode="reflect"), "padding_mode"),
    ],
)
def test_incompatible_convs_are_refused(conv, match):
    with pytest.raises(CompressError, match=match):
        WinogradConv2d.from_conv(conv, 2)


def test_bad_arguments_name_the_problem():
    with pytest.raises(CompressError, match="groups"):
        WinogradConv2d(3, 4, 3, 2, groups=2)
    with pytest.raises(CompressError, match="expected"):
        WinogradConv2d.from_winograd_weights(torch.zeros(2, 2, 5, 5), m=2, r=3)
    with pytest.raises(CompressError, match="expected input"):
        WinogradConv2d(3, 4, 3, 2)(torch.zeros(1, 2, 8, 8))
    with pytest.raises(CompressError, match="smaller"):
        WinogradConv2d(3, 4, 5, 2)(torch.zeros(1, 3, 3, 3))
