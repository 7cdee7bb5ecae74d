"""ImageNet ResNet-18 (torchvision layer names) and the Winograd-friendly variant of the paper.

The variant (Choi et al., sec. 5, after Liu et al. 2018) replaces each stride-2 3x3 conv by a
stride-1 conv followed by a 2x2 max-pool (conv, then pool), so that every 3x3 conv can run
with Winograd. The 7x7 stem and the 1x1 stride-2 projection shortcuts are unchanged. Parameter
names are the same as torchvision's, so its state_dicts load into both.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["ResNet18", "resnet18"]


class _BasicBlock(nn.Module):
    def __init__(self, in_planes: int, planes: int, stride: int, pool_after_conv: bool) -> None:
        super().__init__()
        pooled = pool_after_conv and stride != 1
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride=1 if pooled else stride, padding=1, bias=False)
        self.pool: nn.Module = nn.MaxPool2d(stride) if pooled else nn.Identity()
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample: nn.Module | None = None
        if stride != 1 or in_planes != planes:
            self.downsample = nn.Sequential(
                nn.Conv2d(in_planes, planes, 1, stride=stride, bias=False), nn.BatchNorm2d(planes)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.pool(self.conv1(x))))
        out = self.bn2(self.conv2(out))
        identity = x if self.downsample is None else self.downsample(x)
        return F.relu(out + identity)


class ResNet18(nn.Module):
    """ResNet-18 for 224x224 ImageNet inputs.

    Args:
        num_classes: output classes.
        winograd_variant: use stride-1 conv + 2x2 max-pool in place of stride-2 3x3 convs.

    Example:
        >>> ResNet18(winograd_variant=True)(torch.zeros(1, 3, 64, 64)).shape
        torch.Size([1, 1000])
    """

    def __init__(self, num_classes: int = 1000, *, winograd_variant: bool = False) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        in_planes = 64
        stages = []
        for planes, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
            stages.append(
                nn.Sequential(
                    _BasicBlock(in_planes, planes, stride, winograd_variant),
                    _BasicBlock(planes, planes, 1, winograd_variant),
                )
            )
            in_planes = planes
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.fc = nn.Linear(512, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(F.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(F.adaptive_avg_pool2d(x, 1).flatten(1))


def resnet18(num_classes: int = 1000, *, winograd_variant: bool = False) -> ResNet18:
    """ResNet-18, optionally the paper's Winograd variant (see the module docstring).

    Example:
        >>> sum(p.numel() for p in resnet18().parameters())
        11689512
    """
    return ResNet18(num_classes, winograd_variant=winograd_variant)
