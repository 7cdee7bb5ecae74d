"""The user's code behind post-training commands: an architecture and an evaluation, named on the command line.

* An architecture is a zoo name (``resnet20``) or a ``package.module:function`` entry point called with
  no arguments that returns an :class:`torch.nn.Module` (a class with a no-argument constructor works).
* An evaluation is a built-in task (``lenet5-mnist``, ``resnet20-cifar10`` ... ``resnet56-cifar10``,
  ``digits-demo``: top-1 accuracy on the task's test images, found under ``data_root``) or a
  ``package.module:function`` entry point called with the model (the candidate weights loaded, eval
  mode) that returns one number, higher is better (e.g. accuracy as a fraction; return ``-loss`` for a
  loss).

Both import and run the named code: give only names you trust, as with a recipe's task.

Example:
    >>> type(build_architecture("lenet5")).__name__
    'LeNet5'
"""

from __future__ import annotations

import importlib
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from compress.errors import RecipeError

__all__ = ["Evaluation", "build_architecture", "is_entry_point", "load_entry_point", "load_weights",
           "is_builtin_task", "resolve_calibration_inputs", "resolve_evaluation", "task_model"]

_ENTRY_POINT = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")

_EVAL_TASKS = {"lenet5-mnist": "lenet5", "digits-demo": "digits-demo",
               **{f"resnet{d}-cifar10": f"resnet{d}" for d in (20, 32, 44, 56)}}
"""Built-in evaluation tasks -> the architecture they score."""


def is_entry_point(text: str) -> bool:
    """Whether ``text`` has the ``package.module:function`` form.

    Example:
        >>> is_entry_point("mynets:build"), is_entry_point("resnet20")
        (True, False)
    """
    return bool(_ENTRY_POINT.match(text))


def load_entry_point(spec: str, what: str) -> Callable[..., Any]:
    """Import ``package.module:function`` and return the callable.

    Args:
        spec: the entry point.
        what: what it is for, in error messages (e.g. ``"--model"``).

    Raises:
        RecipeError: a malformed name, a module that does not import, or no such callable.

    Example:
        >>> load_entry_point("math:sqrt", "--eval")(4.0)
        2.0
    """
    if not is_entry_point(spec):
        raise RecipeError(f"{what} {spec!r}: give package.module:function")
    module_name, function_name = spec.split(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise RecipeError(f"{what} {spec}: cannot import {module_name} ({exc}); is it on PYTHONPATH?") from None
    function = getattr(module, function_name, None)
    if not callable(function):
        raise RecipeError(f"{what} {spec}: {module_name} has no function {function_name}")
    return function


def build_architecture(spec: str) -> nn.Module:
    """The model of a zoo name or of a ``module:function`` entry point (called with no arguments).

    Raises:
        RecipeError: an unknown zoo name, an entry point that fails or returns no ``nn.Module``.

    Example:
        >>> sum(p.numel() for p in build_architecture("torch.nn:Identity").parameters())
        0
    """
    if not is_entry_point(spec):
        from compress.zoo import get_model, model_names

        if spec not in model_names():
            raise RecipeError(f"--model {spec!r} is neither a zoo model ({', '.join(model_names())}) nor "
                              "package.module:function")
        return get_model(spec)
    function = load_entry_point(spec, "--model")
    try:
        model = function()
    except TypeError as exc:
        raise RecipeError(f"--model {spec}: calling it with no arguments failed: {exc}") from None
    if not isinstance(model, nn.Module):
        raise RecipeError(f"--model {spec} must return a torch.nn.Module, got {type(model).__name__}")
    return model


def load_weights(model: nn.Module, weights: Mapping[str, torch.Tensor | np.ndarray], what: str) -> nn.Module:
    """Load ``weights`` strictly into ``model`` (in place; eval mode), naming the misfits in one line.

    Raises:
        RecipeError: tensors the model lacks, model tensors without a value, or a wrong shape.

    Example:
        >>> load_weights(nn.Linear(2, 1), {"weight": torch.ones(1, 2), "bias": torch.zeros(1)}, "w").weight.sum()
        tensor(2., grad_fn=<SumBackward0>)
    """
    state = model.state_dict()
    missing = sorted(k for k in state if k not in weights and not k.endswith("num_batches_tracked"))
    unexpected = sorted(k for k in weights if k not in state)
    wrong = sorted(k for k in state if k in weights and tuple(weights[k].shape) != tuple(state[k].shape))
    if missing or unexpected or wrong:
        raise RecipeError(f"{what} does not fit {type(model).__name__}: missing {', '.join(missing[:3]) or 'none'}; "
                          f"unexpected {', '.join(unexpected[:3]) or 'none'}; wrong shape "
                          f"{', '.join(wrong[:3]) or 'none'}")
    loaded = {k: torch.from_numpy(np.array(v, copy=True)) if isinstance(v, np.ndarray) else v
              for k, v in weights.items()}
    model.load_state_dict({**state, **loaded})
    return model.eval()


@dataclass(frozen=True)
class Evaluation:
    """What scores a candidate: the architecture, the function, and which way is better.

    Attributes:
        name: the built-in task or entry point.
        model: the architecture (candidate weights are loaded into it).
        evaluate: ``model -> number``.
        metric: the number's name (``"accuracy"`` for built-in tasks, ``"metric"`` for entry points).
        higher_is_better: True for accuracy-like numbers.
    """

    name: str
    model: nn.Module
    evaluate: Callable[[nn.Module], float]
    metric: str = "metric"
    higher_is_better: bool = True

    def score(self, weights: Mapping[str, torch.Tensor | np.ndarray]) -> float:
        """Load ``weights`` into the model and evaluate it (eval mode, no gradients).

        Example:
            >>> ev = Evaluation("t", nn.Linear(1, 1), lambda m: float(m.weight))
            >>> ev.score({"weight": torch.ones(1, 1), "bias": torch.zeros(1)})
            1.0
        """
        model = load_weights(self.model, weights, "the candidate")
        with torch.no_grad():
            value = float(self.evaluate(model))
        if not math.isfinite(value):
            raise RecipeError(f"--eval {self.name} returned {value}; it must return a finite number")
        return value


def resolve_evaluation(spec: str, *, model: nn.Module | None = None, data_root: str | Path = "../shared/data"
                       ) -> Evaluation:
    """The :class:`Evaluation` of a built-in task name or a ``module:function`` entry point.

    Args:
        spec: ``lenet5-mnist``, ``resnet20-cifar10`` ... ``resnet56-cifar10``, ``digits-demo``, or
            ``package.module:function`` (called as ``function(model) -> number``, higher is better).
        model: the architecture (from ``--model``); a built-in task defaults to its own model, an entry
            point needs one.
        data_root: where built-in tasks find ``mnist/`` and ``cifar10-partial/``.

    Raises:
        RecipeError: an unknown task, or an entry point without a model.

    Example:
        >>> ev = resolve_evaluation("math:fsum", model=nn.Identity())
        >>> ev.metric, ev.higher_is_better
        ('metric', True)
    """
    if is_entry_point(spec):
        function = load_entry_point(spec, "--eval")
        if model is None:
            raise RecipeError(f"--eval {spec} needs the architecture to score: give --model NAME|module:function")
        return Evaluation(spec, model, function)
    if spec not in _EVAL_TASKS:
        raise RecipeError(f"--eval {spec!r}: give a built-in task ({', '.join(_EVAL_TASKS)}) or "
                          "package.module:function")
    from compress.pipeline.report import evaluate_metric

    data = _task_data(spec, Path(data_root), "test")
    if model is None:
        model = task_model(spec)
    return Evaluation(spec, model, lambda m: evaluate_metric(m, data, "cross_entropy"), "accuracy", True)


def resolve_calibration_inputs(spec: str, count: int, *, seed: int = 0, data_root: str | Path = "../shared/data"
                               ) -> torch.Tensor:
    """``count`` calibration inputs (one batch) from a built-in task's TRAINING images or an entry point.

    Args:
        spec: a built-in task (``lenet5-mnist``, ``resnet20-cifar10`` ... ``resnet56-cifar10``,
            ``digits-demo``: a seeded draw from its training images, never its test images), or
            ``package.module:function`` called with no arguments and returning a tensor of inputs
            (first axis: examples) or a dataset of ``(input, target)`` pairs.
        count: how many inputs (at most what there is).
        seed: the draw's seed.
        data_root: where built-in tasks find their data.

    Raises:
        RecipeError: an unknown task, count < 1, or an entry point that returns something else.

    Example:
        >>> resolve_calibration_inputs("digits-demo", 16).shape
        torch.Size([16, 1, 8, 8])
    """
    if count < 1:
        raise RecipeError(f"--calibration-images must be at least 1, got {count}")
    if is_entry_point(spec):
        function = load_entry_point(spec, "--calibrate")
        try:
            produced = function()
        except Exception as exc:  # the user's code: one line, not a traceback
            raise RecipeError(f"--calibrate {spec} raised {type(exc).__name__}: {exc}") from exc
        if isinstance(produced, torch.Tensor):
            data: torch.Tensor | torch.utils.data.Dataset = produced
        elif hasattr(produced, "__getitem__") and hasattr(produced, "__len__"):
            data = produced
        else:
            raise RecipeError(f"--calibrate {spec} returned {type(produced).__name__}; return a tensor of inputs "
                              "or a dataset of (input, target) pairs")
    elif spec in _EVAL_TASKS:
        data = _task_data(spec, Path(data_root), "train")
    else:
        raise RecipeError(f"--calibrate {spec!r}: give a built-in task ({', '.join(_EVAL_TASKS)}) or "
                          "package.module:function")
    total = len(data)
    if total == 0:
        raise RecipeError(f"--calibrate {spec} has no inputs")
    order = torch.randperm(total, generator=torch.Generator().manual_seed(seed))[:count]
    if isinstance(data, torch.Tensor):
        return data[order].float()
    items = [data[int(i)] for i in order]
    return torch.stack([torch.as_tensor(item[0] if isinstance(item, tuple | list) else item) for item in items]).float()


def _task_data(name: str, root: Path, split: str) -> torch.utils.data.Dataset:
    if name == "digits-demo":
        from compress.demo.digits import load_digits

        return load_digits(split)
    if name == "lenet5-mnist":
        from compress.data.mnist import mnist_dataset

        return mnist_dataset(root / "mnist", split)
    from compress.data.cifar10 import cifar10_dataset

    return cifar10_dataset(root / "cifar10-partial", split)


def task_model(name: str) -> nn.Module:
    """The architecture a built-in task scores (untrained weights), e.g. ``resnet20`` for ``resnet20-cifar10``.

    Example:
        >>> type(task_model("digits-demo")).__name__
        'DigitsNet'
    """
    if name == "digits-demo":
        from compress.demo.model import DigitsNet

        return DigitsNet()
    from compress.zoo import get_model

    return get_model(_EVAL_TASKS[name])


def is_builtin_task(name: str) -> bool:
    """True for the names ``--eval`` and ``--calibrate`` know as built-in tasks.

    Example:
        >>> is_builtin_task("resnet20-cifar10"), is_builtin_task("mymod:fn")
        (True, False)
    """
    return name in _EVAL_TASKS

