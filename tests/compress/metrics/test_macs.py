"""MAC counter: the paper's AlexNet figures, hand counts on LeNet, sparsity in both domains."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from compress.metrics import count_macs, evaluate
from compress.winograd import WinogradConv2d, winograd_filter_transform
from compress.zoo import get_model


@pytest.fixture(scope="module")
def alexnet_report():
    with torch.device("meta"):  # shapes only: no weights initialised, nothing computed
        model, image = get_model("alexnet"), torch.zeros(1, 3, 227, 227)
    return count_macs(model, image, m_for_r={3: 4, 5: 4})


def test_alexnet_reproduces_paper_totals(alexnet_report):
    # Paper, Table 2: 724.4 M spatial, 330.0 M Winograd (conv2 F(4,5), 3x3 layers F(4,3), conv1 stride 4 spatial).
    assert alexnet_report.spatial_dense == 724_406_816
    assert alexnet_report.winograd_dense == 329_974_304
    assert alexnet_report.winograd_sparse == alexnet_report.winograd_dense  # meta weights count as dense
    assert f"{alexnet_report.spatial_dense / 1e6:.1f}" == "724.4"
    assert f"{alexnet_report.winograd_dense / 1e6:.1f}" == "330.0"


def test_alexnet_per_layer(alexnet_report):
    layers = {layer.name: layer for layer in alexnet_report.layers}
    assert layers["conv1"].kind == "conv" and layers["conv1"].winograd_dense == 105_415_200
    assert layers["conv2"].tile == (4, 5) and layers["conv2"].winograd_dense == 49 * 64 * 256 * 48
    assert layers["conv4"].tile == (4, 3) and layers["conv4"].winograd_dense == 16 * 36 * 384 * 192
    assert layers["fc6"].spatial_dense == layers["fc6"].winograd_dense == 9216 * 4096
    assert [layer.name for layer in alexnet_report.layers][-3:] == ["fc6", "fc7", "fc8"]


def test_lenet_hand_count_and_sparsity():
    net = get_model("lenet5")
    with torch.no_grad():
        net.conv2.weight[:, :10] = 0  # half the input channels of conv2 pruned
        net.fc1.weight[:100] = 0
    report = count_macs(net, torch.zeros(3, 1, 28, 28))
    layers = {layer.name: layer for layer in report.layers}
    assert report.spatial_dense == 288_000 + 1_600_000 + 400_000 + 5_000
    assert layers["conv2"].spatial_sparse == 800_000 and layers["fc1"].spatial_sparse == 320_000
    assert layers["conv1"].winograd_dense == 36 * 64 * 20 and layers["conv2"].winograd_dense == 4 * 64 * 50 * 20
    assert layers["conv2"].winograd_sparse == 4 * 64 * 50 * 10  # zero filters stay zero after G w Gᵀ
    assert layers["conv1"].input_transform == 36 * 1 * 2 * 8**3
    assert layers["conv1"].output_transform == 36 * 20 * (4 * 64 + 16 * 8)


def test_winograd_layers_and_overrides_drive_the_sparse_count():
    conv = nn.Conv2d(8, 8, 3, padding=1, bias=False)
    wd = winograd_filter_transform(conv.weight.detach(), 2)
    wd[wd.abs() < wd.abs().median()] = 0
    layer = WinogradConv2d.from_winograd_weights(wd, m=2, r=3, padding=1)
    x = torch.zeros(1, 8, 10, 10)
    report = count_macs(nn.Sequential(layer), x, m_for_r={})
    (row,) = report.layers
    assert row.kind == "winograd" and row.winograd_dense == 25 * 16 * 64
    assert row.winograd_sparse == 25 * int((wd != 0).sum())
    assert row.spatial_sparse == row.spatial_dense  # no spatial weights known
    overridden = count_macs(nn.Sequential(conv), x, m_for_r={3: 2}, winograd_weights={"0": wd})
    assert overridden.winograd_sparse == row.winograd_sparse
    assert count_macs(nn.Sequential(conv), x, m_for_r={}).winograd_dense == 100 * 64 * 9


def test_resnet18_variant_counts():
    with torch.device("meta"):
        plain_model, variant_model = get_model("resnet18"), get_model("resnet18-winograd")
        image = torch.zeros(1, 3, 224, 224)
    plain = count_macs(plain_model, image, m_for_r={3: 2})
    variant = count_macs(variant_model, image, m_for_r={3: 2})
    assert plain.spatial_dense == 1_814_073_344
    assert (variant.spatial_dense, variant.winograd_dense) == (2_334_298_112, 1_161_203_712)
    strided = [layer for layer in plain.layers if layer.kind == "conv" and "layer" in layer.name]
    assert len(strided) == 6  # three stride-2 3x3 convs and three 1x1 projections stay spatial


def test_repeated_calls_and_mode_restored():
    lin = nn.Linear(4, 4)
    net = nn.Sequential(lin, nn.ReLU(), lin).train()
    report = count_macs(net, torch.zeros(2, 5, 4))
    assert [layer.name for layer in report.layers] == ["0", "0#1"]  # one module, called twice
    assert report.spatial_dense == 2 * 5 * 16 and net.training
    assert "total" in report.table()


def test_evaluate_restores_mode_and_rejects_empty():
    net = nn.Linear(3, 3).train()
    data = [(torch.eye(3), torch.tensor([0, 1, 2]))]
    with torch.no_grad():
        net.weight.copy_(torch.eye(3))
        net.bias.zero_()
    assert evaluate(net, data) == 1.0 and net.training
    with pytest.raises(ValueError, match="empty"):
        evaluate(net, [])
