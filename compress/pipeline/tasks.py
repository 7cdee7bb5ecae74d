"""Tasks of a recipe: the model to compress, its training and evaluation data, and its loss.

Built-in tasks (``task.name``):

* ``lenet5-mnist``: the pretrained LeNet-5 of ``<data_root>/mnist-lenet-dhl0917``, trained on the
  MNIST training images on hand (``<data_root>/mnist``, a prefix of the training set), evaluated on
  the 10,000 test images.
* ``resnet20-cifar10`` ... ``resnet56-cifar10``: the pretrained akamaster ResNets, trained on the
  5,085 CIFAR-10 training images of ``<data_root>/cifar10-partial``, evaluated on its 1,017 test
  images. With so few images the recipe must distil from the original model (``finetune.distill > 0``).
* ``digits-demo``: a :class:`~compress.demo.model.DigitsNet` trained here on the embedded optdigits
  data (``task.options.epochs``, default 30), evaluated on its fixed test split.

Your own model, data and loss: set ``task.name = "package.module:function"``. The function is
imported and called with the keyword arguments of ``[task.options]`` and returns a 4-tuple
``(model, train_data, eval_data, loss)``: an :class:`torch.nn.Module` (with its trained weights),
two map-style datasets of ``(input, target)`` pairs (e.g. :class:`~torch.utils.data.TensorDataset`),
and the loss name, ``"cross_entropy"`` (classification, reported as top-1 accuracy) or ``"mse"``
(regression, reported as mean squared error). Example module ``mytask.py`` on ``PYTHONPATH``::

    def build(hidden=16):
        model = MyNet(hidden); model.load_state_dict(torch.load("mynet.pt", weights_only=True))
        return model, TensorDataset(x_train, y_train), TensorDataset(x_test, y_test), "cross_entropy"

and in the recipe ``[task] name = "mytask:build"`` with ``[task.options] hidden = 16``. The function
must build the same model and data every time it is called (a resumed run calls it again).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import Dataset

from compress.entry_points import is_entry_point, load_entry_point
from compress.errors import RecipeError

__all__ = ["BUILTIN_TASKS", "Task", "build_task"]

BUILTIN_TASKS = ("digits-demo", "lenet5-mnist", "resnet20-cifar10", "resnet32-cifar10", "resnet44-cifar10",
                 "resnet56-cifar10")
LOSSES = ("cross_entropy", "mse")


@dataclass
class Task:
    """What a recipe compresses and how it is trained and scored.

    Attributes:
        name: ``task.name``.
        model: the network (the original weights; fine-tuned in place by the run).
        train_data: ``(input, target)`` training examples.
        eval_data: ``(input, target)`` evaluation examples.
        loss: ``"cross_entropy"`` or ``"mse"``.
        needs_distillation: the task's data is too small to fine-tune without a teacher.
    """

    name: str
    model: nn.Module
    train_data: Dataset
    eval_data: Dataset
    loss: str
    needs_distillation: bool = False

    def example_input(self) -> torch.Tensor:
        """One evaluation input with a batch axis (for MAC counting)."""
        first = self.eval_data[0]
        return torch.as_tensor(first[0]).unsqueeze(0)


def build_task(
    name: str,
    *,
    data_root: str | Path,
    options: Mapping[str, Any] | None = None,
    seed: int = 0,
    weights: Mapping[str, torch.Tensor] | None = None,
) -> Task:
    """Build the task ``name``; ``weights`` (a state_dict) replace the model's own when given.

    Args:
        name: a built-in task or ``"package.module:function"``.
        data_root: the shared data folder of the built-in real-data tasks.
        options: ``[task.options]`` (keyword arguments of an entry point; ``epochs`` for digits-demo).
        seed: the recipe seed (digits-demo trains its model with it).
        weights: a state_dict loaded strictly into the model (an input checkpoint, or a resumed run's
            saved original); digits-demo then skips its training.

    Returns:
        The :class:`Task`.

    Raises:
        RecipeError: unknown task, bad options, a function that does not return the 4-tuple, or
            weights that do not fit the model.

    Example:
        >>> task = build_task("digits-demo", data_root=".", options={"epochs": 1})  # doctest: +SKIP
        >>> task.loss  # doctest: +SKIP
        'cross_entropy'
    """
    options = dict(options or {})
    if name == "digits-demo":
        task = _digits(options, seed, train=weights is None)
    elif name in BUILTIN_TASKS:
        if options:
            raise RecipeError(f"task {name} takes no [task.options]; got {', '.join(sorted(options))}")
        task = _lenet(Path(data_root)) if name == "lenet5-mnist" else _resnet(name, Path(data_root))
    elif is_entry_point(name):
        task = _entry_point(name, options)
    else:
        raise RecipeError(f"unknown task {name!r}; built-in tasks: {', '.join(BUILTIN_TASKS)}, or give "
                          "'package.module:function'")
    if weights is not None:
        _load_weights(task.model, weights, name)
    return task


def _digits(options: dict[str, Any], seed: int, *, train: bool) -> Task:
    from compress.demo.digits import load_digits
    from compress.demo.model import DigitsNet, train_digits_net

    unknown = sorted(set(options) - {"epochs"})
    epochs = options.get("epochs", 30)
    if unknown or isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise RecipeError(f"task digits-demo takes task.options.epochs (a positive integer) only; got {options}")
    train_data, eval_data = load_digits("train"), load_digits("test")
    model = train_digits_net(train_data, epochs=epochs, seed=seed) if train else DigitsNet()
    return Task("digits-demo", model, train_data, eval_data, "cross_entropy")


def _lenet(root: Path) -> Task:
    from compress.data.mnist import mnist_dataset
    from compress.zoo.pretrained import load_pretrained

    model = load_pretrained("lenet5", root)
    return Task("lenet5-mnist", model, mnist_dataset(root / "mnist", "train"), mnist_dataset(root / "mnist", "test"),
                "cross_entropy")


def _resnet(name: str, root: Path) -> Task:
    from compress.data.cifar10 import cifar10_dataset
    from compress.zoo.pretrained import load_pretrained

    model = load_pretrained(name.split("-")[0], root)
    folder = root / "cifar10-partial"
    return Task(name, model, cifar10_dataset(folder, "train"), cifar10_dataset(folder, "test"), "cross_entropy",
                needs_distillation=True)


def _entry_point(name: str, options: dict[str, Any]) -> Task:
    function = load_entry_point(name, "task")
    try:
        result = function(**options)
    except TypeError as exc:
        raise RecipeError(f"task {name}: calling it with [task.options] {sorted(options)} failed: {exc}") from None
    if not isinstance(result, tuple) or len(result) != 4:
        raise RecipeError(f"task {name} must return (model, train_data, eval_data, loss), got {type(result).__name__}")
    model, train_data, eval_data, loss = result
    if not isinstance(model, nn.Module):
        raise RecipeError(f"task {name}: the first value must be a torch.nn.Module, got {type(model).__name__}")
    for what, data in (("train_data", train_data), ("eval_data", eval_data)):
        if not hasattr(data, "__getitem__") or not hasattr(data, "__len__") or len(data) == 0:
            raise RecipeError(f"task {name}: {what} must be a non-empty map-style dataset of (input, target)")
    if loss not in LOSSES:
        raise RecipeError(f"task {name}: loss must be one of {', '.join(LOSSES)}, got {loss!r}")
    return Task(name, model, train_data, eval_data, loss)


def _load_weights(model: nn.Module, weights: Mapping[str, torch.Tensor], name: str) -> None:
    expected = model.state_dict()
    missing = sorted(k for k in expected if k not in weights and not k.endswith("num_batches_tracked"))
    unexpected = sorted(k for k in weights if k not in expected)
    wrong = sorted(k for k in expected if k in weights and tuple(weights[k].shape) != tuple(expected[k].shape))
    if missing or unexpected or wrong:
        raise RecipeError(
            f"the weights do not fit the model of task {name}: missing {', '.join(missing[:3]) or 'none'}; "
            f"unexpected {', '.join(unexpected[:3]) or 'none'}; wrong shape {', '.join(wrong[:3]) or 'none'}"
        )
    model.load_state_dict({**expected, **weights})
    model.eval()
