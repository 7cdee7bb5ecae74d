"""Model zoo (no torchvision): the networks of the paper and of the real-data checks.

``get_model(name)`` builds a randomly initialised model; ``model_spec(name)`` tells its example
input shape and which input normalisation it expects; :mod:`compress.zoo.pretrained` loads the
pretrained weights found under ``../shared/data``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from torch import nn

from compress.errors import CompressError
from compress.zoo.alexnet import AlexNet
from compress.zoo.lenet import LeNet5
from compress.zoo.mann import MANN, MANNConfig
from compress.zoo.resnet18 import ResNet18, resnet18
from compress.zoo.resnet_cifar import CifarResNet, cifar_resnet

__all__ = [
    "AlexNet",
    "CifarResNet",
    "LeNet5",
    "MANN",
    "ModelSpec",
    "ResNet18",
    "get_model",
    "model_names",
    "model_spec",
    "register_model",
]


@dataclass(frozen=True)
class ModelSpec:
    """How to build a zoo model and what it eats.

    Attributes:
        factory: callable returning the model; keyword arguments of :func:`get_model` go to it.
        input_shape: shape of one example input (without the batch axis).
        normalisation: name of the input normalisation in :mod:`compress.data.normalization`.
    """

    factory: Callable[..., nn.Module]
    input_shape: tuple[int, ...]
    normalisation: str


_REGISTRY: dict[str, ModelSpec] = {
    "lenet5": ModelSpec(LeNet5, (1, 28, 28), "mnist"),
    **{f"resnet{d}": ModelSpec(partial(cifar_resnet, d), (3, 32, 32), "imagenet") for d in (20, 32, 44, 56, 110)},
    "resnet18": ModelSpec(resnet18, (3, 224, 224), "imagenet"),
    "resnet18-winograd": ModelSpec(partial(resnet18, winograd_variant=True), (3, 224, 224), "imagenet"),
    "alexnet": ModelSpec(AlexNet, (3, 227, 227), "imagenet"),
    "mann": ModelSpec(lambda **kw: MANN(MANNConfig(**kw)), (MANNConfig().input_dim,), "none"),
}


def register_model(name: str, spec: ModelSpec) -> None:
    """Add a model to the registry (e.g. from another module of the zoo).

    Args:
        name: registry key, lower case.
        spec: how to build it.

    Example:
        >>> register_model("tiny", ModelSpec(lambda: nn.Linear(2, 2), (2,), "none"))  # doctest: +SKIP
        >>> get_model("tiny").out_features  # doctest: +SKIP
        2
    """
    if name in _REGISTRY:
        raise CompressError(f"model name {name!r} is already registered; pick another name")
    _REGISTRY[name] = spec


def model_names() -> list[str]:
    """Names accepted by :func:`get_model`, sorted.

    Example:
        >>> "resnet20" in model_names()
        True
    """
    return sorted(_REGISTRY)


def model_spec(name: str) -> ModelSpec:
    """The :class:`ModelSpec` registered under ``name``.

    Example:
        >>> model_spec("alexnet").input_shape
        (3, 227, 227)
    """
    try:
        return _REGISTRY[name.lower()]
    except KeyError:
        raise CompressError(f"unknown model {name!r}; known models: {', '.join(model_names())}") from None


def get_model(name: str, **kwargs: object) -> nn.Module:
    """Build a randomly initialised zoo model.

    Args:
        name: one of :func:`model_names` ("lenet5", "resnet20" ... "resnet110", "resnet18",
            "resnet18-winograd", "alexnet", "mann").
        **kwargs: passed to the model's constructor (e.g. ``num_classes``).

    Returns:
        The model in training mode.

    Example:
        >>> type(get_model("resnet20")).__name__
        'CifarResNet'
    """
    return model_spec(name).factory(**kwargs)
