"""One call from a ``.dsz`` file to a ready ``nn.Module``, in the spatial or the Winograd domain.

:func:`deploy` builds on the loader (:func:`formats.load`) and the deployment helpers of
:mod:`compress.pipeline.deploy_eval`:

* the architecture is the model the caller passes (an instance of their own class, or a zoo name), or,
  with none, the zoo model the file names: ``metadata["model"]`` (``dualsparse compress --model``) or
  the built-in task of a recipe-made file (``metadata["task"]``: ``lenet5-mnist`` -> ``lenet5``,
  ``resnet20-cifar10`` -> ``resnet20``, ``digits-demo`` -> the demo's ``DigitsNet``). A file made from
  a ``module:function`` task names code, which is never imported: pass an instance of the class;
* spatial domain: every tensor of the file loaded into a copy of it;
* Winograd domain: each conv whose weight the file marks (``attrs["winograd"] = {"m", "r"}``) becomes a
  :class:`~compress.winograd.conv.WinogradConv2d` holding the file's Winograd-domain filters, with the
  file's F(m, r) and pruned to the trained Winograd sparsity the file stores
  (:func:`formats.stored_winograd_sparsity`) unless ``sparsity`` says otherwise.

This module imports torch only when :func:`deploy` runs (the CLI imports it for its error message).
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING

import formats
from compress.errors import CompressError
from formats.container.limits import DEFAULT_LIMITS, Limits

if TYPE_CHECKING:
    from torch import nn

__all__ = ["DOMAINS", "DeployError", "deploy", "no_winograd_marks"]

log = logging.getLogger(__name__)

DOMAINS = ("spatial", "winograd")

_TASK_MODELS = {"lenet5-mnist": "lenet5", **{f"resnet{d}-cifar10": f"resnet{d}" for d in (20, 32, 44, 56)}}
"""Built-in recipe tasks -> the zoo model they compress (``digits-demo`` is handled apart)."""


class DeployError(CompressError):
    """A file cannot be deployed as asked (no architecture, tensors that do not fit it, nothing marked)."""


def no_winograd_marks(path: object) -> str:
    """The one-line message for a file without Winograd-marked tensors asked for the Winograd domain.

    Example:
        >>> no_winograd_marks("m.dsz").startswith("m.dsz has no tensor marked for Winograd deployment")
        True
    """
    return (f"{path} has no tensor marked for Winograd deployment, so there is nothing to run in the Winograd "
            "domain; compress it with --model NAME|module:function or --winograd R=M (post-training) or a recipe, "
            "or write it with attrs=compress.deploy_attrs.winograd_attrs(model)")


def deploy(
    path: str | os.PathLike[str] | bytes,
    model: nn.Module | str | None = None,
    *,
    domain: str = "spatial",
    sparsity: float | None = None,
    sparse: bool = False,
    limits: Limits = DEFAULT_LIMITS,
) -> nn.Module:
    """Load a ``.dsz`` file into a ready model (eval mode) in the spatial or the Winograd domain.

    Args:
        path: the file (or its bytes).
        model: an instance of the file's architecture (copied, never modified; its weights are
            replaced by the file's), a zoo name (:func:`compress.zoo.model_names`) or a built-in task
            name, or None for the architecture the file names (see the module docstring).
        domain: ``"spatial"`` or ``"winograd"``.
        sparsity: Winograd domain only: fraction of the Winograd-domain filters to prune with one global
            magnitude threshold; None (the default) uses the trained sparsity the file stores, if any,
            and ``0.0`` keeps every coefficient.
        sparse: Winograd domain only: each Winograd layer multiplies with one sparse CSR matrix.
        limits: reader caps.

    Returns:
        A copy of the architecture holding the file's weights; in the Winograd domain its marked convs are
        :class:`~compress.winograd.conv.WinogradConv2d` layers.

    Raises:
        DeployError: no architecture given or named by the file, tensors that do not fit the model, or the
            Winograd domain asked of a file with no marked tensor.
        ValueError: a bad ``domain`` or ``sparsity`` (a :class:`~compress.errors.CompressError` or the
            loader's).
        FormatError: any defect of the file.

    Example:
        >>> import tempfile, os, torch
        >>> from compress.deploy_attrs import winograd_attrs
        >>> net = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3, padding=1), torch.nn.ReLU())
        >>> path = os.path.join(tempfile.mkdtemp(), "net.dsz")
        >>> formats.save(path, {k: v.numpy() for k, v in net.state_dict().items()}, attrs=winograd_attrs(net))
        >>> type(deploy(path, net, domain="winograd")[0]).__name__
        'WinogradConv2d'
    """
    if domain not in DOMAINS:
        raise DeployError(f"domain must be one of {', '.join(DOMAINS)}, got {domain!r}")
    if domain == "spatial" and (sparsity is not None or sparse):
        raise DeployError("sparsity and sparse apply to the winograd domain only; spatial weights keep the sparsity "
                          "of quantization")
    with formats.open_dsz(path, limits=limits) as reader:
        metadata, shapes = reader.metadata, {r.name: tuple(r.shape) for r in reader.records}
        tiles = formats.winograd_tiles(reader) if domain == "winograd" else {}
        if domain == "winograd" and sparsity is None:
            sparsity = formats.stored_winograd_sparsity(reader)
    where = os.fspath(path) if isinstance(path, str | os.PathLike) else "the file"
    if domain == "winograd" and not tiles:
        raise DeployError(no_winograd_marks(where))
    architecture = _architecture(model, metadata, where)
    _check_fit(architecture, shapes, where)
    weights = formats.load(path, domain=domain, sparsity=sparsity or (0.0 if domain == "winograd" else None),
                           limits=limits)
    from compress.pipeline.deploy_eval import load_decoded, winograd_deployed

    if domain == "spatial":
        return load_decoded(architecture, weights)
    log.info("deploying %s in the Winograd domain: %d layers, %s pruned", where, len(tiles),
             f"{sparsity:.1%}" if sparsity else "nothing")
    return winograd_deployed(architecture, weights, tiles=tiles, sparse=sparse)


def _architecture(model: nn.Module | str | None, metadata: dict[str, str], where: str) -> nn.Module:
    from torch import nn

    if isinstance(model, nn.Module):
        return model
    if model is not None and not isinstance(model, str):
        raise DeployError(f"model must be an nn.Module, a zoo name or None, got {type(model).__name__}")
    name = model
    if name is None:
        name = metadata.get("model") or metadata.get("task")
        if not name:
            raise DeployError(f"{where} names no model: pass model=an instance of its architecture (or a zoo name)")
        if ":" in name:
            raise DeployError(f"{where} was made from task {name!r}, your own code, which deploy never imports: pass "
                              "model=an instance of that model's class")
    if name == "digits-demo":
        from compress.demo.model import DigitsNet

        return DigitsNet()
    from compress.zoo import get_model

    return get_model(_TASK_MODELS.get(name, name))


def _check_fit(model: nn.Module, shapes: dict[str, tuple[int, ...]], where: str) -> None:
    """Every tensor of the file has a place of its shape in ``model``, and every one of the model's a value."""
    state = model.state_dict()
    unknown = [n for n in shapes if n not in state]
    missing = [n for n in state if n not in shapes and not n.endswith("num_batches_tracked")]
    if unknown or missing:
        raise DeployError(f"{where} does not fit {type(model).__name__}: tensors the model lacks "
                          f"{', '.join(unknown[:3]) or 'none'}; model tensors the file lacks "
                          f"{', '.join(missing[:3]) or 'none'}")
    for name, shape in shapes.items():
        if tuple(state[name].shape) != shape:
            raise DeployError(f"{where} does not fit {type(model).__name__}: {name} is {shape} in the file, "
                              f"{tuple(state[name].shape)} in the model")
