"""CIFAR-10 ResNets of He et al. (2016, sec. 4.2) with the parameter-free "option A" shortcut.

Layer names follow github.com/akamaster/pytorch_resnet_cifar10 so its pretrained checkpoints load
after the ``module.`` prefix is stripped: ``conv1``, ``bn1``, ``layer{1,2,3}.{i}.conv{1,2}``,
``layer{1,2,3}.{i}.bn{1,2}``, ``linear``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from compress.errors import CompressError

__all__ = ["CifarResNet", "OptionAShortcut", "cifar_resnet"]


class OptionAShortcut(nn.Module):
    """Shortcut that keeps every second pixel and zero-pads the channels (half before, half after).

    Example:
        >>> OptionAShortcut(8)(torch.ones(1, 16, 8, 8)).shape
        torch.Size([1, 32, 4, 4])
    """

    def __init__(self, pad_channels: int) -> None:
        super().__init__()
        self.pad_channels = pad_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        p = self.pad_channels
        return F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, p, p))


class _BasicBlock(nn.Module):
    def __init__(self, in_planes: int, planes: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        needs_projection = stride != 1 or in_planes != planes
        self.shortcut: nn.Module = OptionAShortcut(planes // 4) if needs_projection else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class CifarResNet(nn.Module):
    """ResNet-(6n+2) for 32x32 inputs: 3x3 stem (16), three stages of ``n`` basic blocks (16, 32, 64).

    Input ``(N, 3, 32, 32)`` normalised with :func:`compress.data.normalize_imagenet` (the akamaster
    models were trained with ImageNet mean/std).

    Example:
        >>> CifarResNet(3)(torch.zeros(1, 3, 32, 32)).shape
        torch.Size([1, 10])
    """

    def __init__(self, blocks_per_stage: int, num_classes: int = 10) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        in_planes = 16
        stages = []
        for planes, stride in ((16, 1), (32, 2), (64, 2)):
            blocks = []
            for i in range(blocks_per_stage):
                blocks.append(_BasicBlock(in_planes, planes, stride if i == 0 else 1))
                in_planes = planes
            stages.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3 = stages
        self.linear = nn.Linear(64, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.layer3(self.layer2(self.layer1(out)))
        out = F.adaptive_avg_pool2d(out, 1).flatten(1)
        return self.linear(out)


def cifar_resnet(depth: int, num_classes: int = 10) -> CifarResNet:
    """ResNet-``depth`` for CIFAR (depth = 6n + 2: 20, 32, 44, 56, 110, ...).

    Args:
        depth: total number of weighted layers.
        num_classes: output classes.

    Returns:
        The model, randomly initialised.

    Example:
        >>> sum(p.numel() for p in cifar_resnet(20).parameters())
        269722
    """
    if depth < 8 or (depth - 2) % 6:
        raise CompressError(f"CIFAR ResNet depth must be 6n + 2, n >= 1 (20, 32, 44, 56, ...), got {depth}")
    return CifarResNet((depth - 2) // 6, num_classes)
