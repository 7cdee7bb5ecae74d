"""Input normalisation of each zoo model, from uint8 pixels to float32 network inputs.

* ``"mnist"`` (LeNet-5): ``x / 255``, then ``(x - 0.1307) / 0.3081``; shape ``(N, 1, 28, 28)``.
* ``"imagenet"`` (akamaster CIFAR ResNets, ResNet-18, AlexNet): ``x / 255``, then per channel
  ``(x - mean) / std`` with ImageNet mean (0.485, 0.456, 0.406) and std (0.229, 0.224, 0.225).
* ``"none"``: ``x / 255`` only.
"""

from __future__ import annotations

import numpy as np
import torch

from compress.data.errors import DatasetError

__all__ = [
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "MNIST_MEAN",
    "MNIST_STD",
    "normalize",
    "normalize_imagenet",
    "normalize_mnist",
]

MNIST_MEAN, MNIST_STD = 0.1307, 0.3081
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def normalize_mnist(images: np.ndarray | torch.Tensor) -> torch.Tensor:
    """MNIST pixels ``(N, 28, 28)`` or ``(N, 1, 28, 28)`` uint8 to normalised float32 ``(N, 1, 28, 28)``.

    Example:
        >>> normalize_mnist(np.zeros((2, 28, 28), np.uint8))[0, 0, 0, 0].item()  # doctest: +ELLIPSIS
        -0.4242...
    """
    x = _to_unit_float(images)
    if x.dim() == 3:
        x = x.unsqueeze(1)
    if x.dim() != 4 or x.shape[1] != 1:
        raise DatasetError(f"MNIST images must be (N, 28, 28) or (N, 1, 28, 28), got {tuple(x.shape)}")
    return (x - MNIST_MEAN) / MNIST_STD


def normalize_imagenet(images: np.ndarray | torch.Tensor) -> torch.Tensor:
    """RGB pixels ``(N, 3, H, W)`` uint8 to float32 normalised with ImageNet mean and std.

    Example:
        >>> normalize_imagenet(np.full((1, 3, 2, 2), 255, np.uint8))[0, :, 0, 0]
        tensor([2.2489, 2.4286, 2.6400])
    """
    x = _to_unit_float(images)
    if x.dim() != 4 or x.shape[1] != 3:
        raise DatasetError(f"RGB images must be (N, 3, H, W), got {tuple(x.shape)}")
    mean = torch.tensor(IMAGENET_MEAN, dtype=torch.float32).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD, dtype=torch.float32).view(1, 3, 1, 1)
    return (x - mean) / std


def normalize(images: np.ndarray | torch.Tensor, name: str) -> torch.Tensor:
    """Apply the normalisation called ``name`` ("mnist", "imagenet" or "none").

    Example:
        >>> normalize(np.zeros((1, 3, 4, 4), np.uint8), "none").dtype
        torch.float32
    """
    if name == "mnist":
        return normalize_mnist(images)
    if name == "imagenet":
        return normalize_imagenet(images)
    if name == "none":
        return _to_unit_float(images)
    raise DatasetError(f"unknown normalisation {name!r}; use 'mnist', 'imagenet' or 'none'")


def _to_unit_float(images: np.ndarray | torch.Tensor) -> torch.Tensor:
    x = torch.as_tensor(np.asarray(images) if not isinstance(images, torch.Tensor) else images)
    if x.dtype != torch.uint8:
        raise DatasetError(f"expected uint8 pixels, got {x.dtype}; pass the raw images")
    return x.to(torch.float32) / 255.0
