"""AlexNet as in Caffe's ``bvlc_alexnet`` (227x227 input, grouped conv2/4/5, local response normalisation)."""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["AlexNet"]


class AlexNet(nn.Module):
    """Caffe BVLC AlexNet: 60,965,224 parameters, 724.4 M multiply-accumulates per 227x227 image.

    conv1 96 11x11/4, ReLU, LRN(5, 1e-4, 0.75), max-pool 3/2; conv2 256 5x5 pad 2 groups 2, ReLU,
    LRN, max-pool; conv3 384 3x3 pad 1; conv4 384 3x3 pad 1 groups 2; conv5 256 3x3 pad 1 groups 2,
    max-pool; fc6 4096, fc7 4096 (ReLU + dropout 0.5 each), fc8. Caffe pools round up (ceil mode).

    Example:
        >>> AlexNet()(torch.zeros(1, 3, 227, 227)).shape
        torch.Size([1, 1000])
    """

    def __init__(self, num_classes: int = 1000, dropout: float = 0.5) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 96, 11, stride=4)
        self.conv2 = nn.Conv2d(96, 256, 5, padding=2, groups=2)
        self.conv3 = nn.Conv2d(256, 384, 3, padding=1)
        self.conv4 = nn.Conv2d(384, 384, 3, padding=1, groups=2)
        self.conv5 = nn.Conv2d(384, 256, 3, padding=1, groups=2)
        self.fc6 = nn.Linear(256 * 6 * 6, 4096)
        self.fc7 = nn.Linear(4096, 4096)
        self.fc8 = nn.Linear(4096, num_classes)
        self.relu = nn.ReLU()
        self.norm = nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=1.0)
        self.pool = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool(self.norm(self.relu(self.conv1(x))))
        x = self.pool(self.norm(self.relu(self.conv2(x))))
        x = self.relu(self.conv3(x))
        x = self.relu(self.conv4(x))
        x = self.pool(self.relu(self.conv5(x))).flatten(1)
        x = self.dropout(self.relu(self.fc6(x)))
        x = self.dropout(self.relu(self.fc7(x)))
        return self.fc8(x)
