"""Pretrained zoo models on real data, spatial and with every eligible conv swapped for WinogradConv2d.

References: LeNet 99.03 % on the 10,000 MNIST test images; akamaster ResNets on the first 1017
CIFAR-10 test images 91.64 / 92.82 / 93.41 / 92.72 % (PROVENANCE of cifar10-partial). Tolerance:
±0.1 point for LeNet (full test set), ±1 point for the ResNets (as the brief asks).
"""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader

from compress.data import cifar10_dataset, mnist_dataset
from compress.metrics import evaluate
from compress.winograd import WinogradConv2d, swap_to_winograd, winograd_incompatibility
from compress.zoo.pretrained import load_pretrained

REFERENCE = {"lenet5": 99.03, "resnet20": 91.64, "resnet32": 92.82, "resnet44": 93.41, "resnet56": 92.72}
SLOW = pytest.mark.slow
CASES = [
    ("lenet5", False),
    pytest.param("lenet5", True, marks=SLOW),
    ("resnet20", False),
    ("resnet20", True),
    *(pytest.param(name, swap, marks=SLOW) for name in ("resnet32", "resnet44", "resnet56") for swap in (False, True)),
]


@pytest.fixture(scope="module")
def datasets(shared_data):
    return {"mnist": mnist_dataset(shared_data / "mnist"), "cifar": cifar10_dataset(shared_data / "cifar10-partial")}


@pytest.mark.data
@pytest.mark.parametrize(("name", "winograd"), CASES)
def test_pretrained_accuracy(shared_data, datasets, name, winograd):
    model = load_pretrained(name, shared_data)
    if winograd:
        model = swap_to_winograd(copy.deepcopy(model))
        swapped = [m for m in model.modules() if isinstance(m, WinogradConv2d)]
        left = [m for m in model.modules() if isinstance(m, nn.Conv2d) and winograd_incompatibility(m) is None]
        assert len(swapped) == (2 if name == "lenet5" else int(name[6:]) - 3) and not left
    data = datasets["mnist" if name == "lenet5" else "cifar"]
    with torch.inference_mode():
        accuracy = 100 * evaluate(model, DataLoader(data, batch_size=500))
    tolerance = 0.1 if name == "lenet5" else 1.0
    assert abs(accuracy - REFERENCE[name]) <= tolerance, f"{name} winograd={winograd}: {accuracy:.2f} %"
