"""LeNet-5 in the Caffe 20-50-500 layout (the "LeNet-5" of Deep Compression), 431,080 parameters."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["LeNet5"]


class LeNet5(nn.Module):
    """conv 1→20 5x5, ReLU, max-pool 2; conv 20→50 5x5, ReLU, max-pool 2; fc 800→500, ReLU; fc 500→classes.

    Parameter names (``conv1``, ``conv2``, ``fc1``, ``fc2``) match the pretrained state_dict in
    ``../shared/data/mnist-lenet-dhl0917``. Input: ``(N, 1, 28, 28)`` normalised with
    :func:`compress.data.normalize_mnist`. Returns logits (the original's log-softmax does not change
    the argmax).

    Example:
        >>> LeNet5()(torch.zeros(2, 1, 28, 28)).shape
        torch.Size([2, 10])
    """

    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 20, 5)
        self.conv2 = nn.Conv2d(20, 50, 5)
        self.fc1 = nn.Linear(800, 500)
        self.fc2 = nn.Linear(500, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = F.relu(self.fc1(x.flatten(1)))
        return self.fc2(x)
