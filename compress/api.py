"""The library API: compress your own model inside your own training loop, one verb per stage.

Each verb works on a live ``nn.Module`` with a frozen, versioned config
(:class:`~compress.pipeline.config.FinetuneConfig`, :class:`~compress.pipeline.config.CodebookConfig`);
recipes and the ``dualsparse compress --recipe`` command run the same verbs::

    reg = JointSparsity(model, finetune)                 # stage 1-3: add reg(step) to your loss,
    opt = torch.optim.Adam([*model.parameters(), *reg.parameters()])   # ζ to your optimizer,
    ...                                                  # and call reg.after_step() after opt.step()
    quantized = quantize(model, codebook, calibration=images, example_input=x)  # prune, fold BN, eq. 6
    quantized = tune_codebooks(model, quantized, batches, codebook, loss_fn=criterion)
    report = save("model.dsz", model, quantized, original=dense, example_input=x, evaluate=accuracy,
                  finetune=finetune, codebook=codebook)
    net = compress.deploy("model.dsz", MyNet(), domain="winograd")    # the stored F(m, r) and sparsity

:func:`compress_model` runs them all for a model, a train iterable and an evaluation function.
"""

from __future__ import annotations

import copy
import logging
import os
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import torch
from torch import nn

import formats
from compress.atomic import atomic_output
from compress.errors import RecipeError
from compress.pipeline.artifact import artifact_tensors, pipeline_recipe, round_codebook
from compress.pipeline.batches import cycle_batches
from compress.pipeline.batchnorm import RECALIBRATION_BATCHES, fold_batchnorm, recalibrate_batchnorm
from compress.pipeline.codebook import tune_codebooks as _tune_codebooks
from compress.pipeline.config import CodebookConfig, FinetuneConfig
from compress.pipeline.finetune import FinetuneEngine
from compress.pipeline.joint_sparsity import JointSparsity
from compress.pipeline.own_size import encode_stating_own_size
from compress.pipeline.quantization import prune_smallest, quantize_weights
from compress.pipeline.report import build_report, size_report
from compress.pipeline.targets import collect_targets
from formats.tensors import QuantizedTensor

__all__ = ["JointSparsity", "compress_model", "quantize", "save", "tune_codebooks"]

log = logging.getLogger(__name__)

Batches = Iterable[tuple[torch.Tensor, torch.Tensor]]
LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def quantize(
    model: nn.Module,
    config: CodebookConfig,
    *,
    names: Iterable[str] | None = None,
    calibration: Iterable[torch.Tensor] | None = None,
    example_input: torch.Tensor | None = None,
) -> dict[str, QuantizedTensor]:
    """Stage 4 on ``model`` in place: prune ``config.prune``, fold BatchNorm if asked, quantize with dither.

    Args:
        model: the fine-tuned network (modified: pruned weights set to zero, BatchNorm folded).
        config: step or bits, ``prune``, ``batchnorm`` (``"fold"`` folds every conv-BatchNorm pair).
        names: the weights to quantize (default every conv/linear weight).
        calibration: with ``batchnorm = "fold"``: input batches on which the BatchNorm statistics are
            re-estimated after pruning, before folding (augmented as in training: the network learnt its
            affine terms under those statistics); None folds the statistics as they are.
        example_input: one input batch, needed to find the conv-BatchNorm pairs for folding.

    Returns:
        name -> quantized weight, in ``names`` order.

    Example:
        >>> q = quantize(nn.Sequential(nn.Linear(4, 3)), CodebookConfig(bits=4, prune=0.5))
        >>> list(q), q["0.weight"].shape
        (['0.weight'], (3, 4))
    """
    selected = list(collect_targets(model).spatial if names is None else names)
    if not selected:
        raise RecipeError("the model has no conv or linear weight to quantize")
    if config.prune > 0:
        threshold = prune_smallest(model, selected, config.prune)
        log.info("pruned the %.0f%% smallest weights (|w| <= %.3g)", 100 * config.prune, threshold)
    if config.batchnorm == "fold":
        if example_input is None:
            raise RecipeError("batchnorm = 'fold' needs example_input (one input batch) to find the conv-BatchNorm "
                              "pairs")
        if calibration is not None:
            recalibrate_batchnorm(model, calibration)
        pairs = fold_batchnorm(model, example_input)
        log.info("folded %d BatchNorm layers into their convolutions", len(pairs))
    return quantize_weights(model, selected, config)


def tune_codebooks(
    model: nn.Module,
    quantized: Mapping[str, QuantizedTensor],
    batches: Batches,
    config: CodebookConfig,
    *,
    loss_fn: LossFn,
    m_for_r: Mapping[int, int] | None = None,
    zeta_init: float = 0.0,
) -> dict[str, QuantizedTensor]:
    """Stage 5: fine-tune each quantized weight's shared values under ``loss_fn`` (everything else frozen).

    Args:
        model: the network the tensors belong to (not modified, except BatchNorm statistics under
            ``config.batchnorm = "train"``).
        quantized: from :func:`quantize`.
        batches: re-iterable ``(inputs, labels)`` batches, cycled for ``config.steps`` steps.
        config: steps, learning rates, and ``s_wd`` / ``wd_regularizer`` for the Winograd regularizer.
        loss_fn: ``(outputs, labels) -> scalar`` (a closure may distil from a teacher).
        m_for_r: Winograd tiles of the regularizer (default F(4, 3), F(4, 5)).
        zeta_init: starting ζ_WD (e.g. the value fine-tuning ended with).

    Returns:
        name -> quantized weight with the tuned codebook.

    Example:
        >>> net = nn.Linear(2, 2)
        >>> cfg = CodebookConfig(bits=4, steps=2, wd_regularizer=False)
        >>> q = quantize(net, cfg)
        >>> data = [(torch.randn(4, 2), torch.tensor([0, 1, 0, 1]))]
        >>> sorted(tune_codebooks(net, q, data, cfg, loss_fn=nn.functional.cross_entropy))
        ['weight']
    """
    targets = collect_targets(model, m_for_r)
    return _tune_codebooks(model, quantized, batches, config, targets=targets, zeta_init=zeta_init,
                           loss_fn=loss_fn).tensors


def save(
    path: str | os.PathLike[str],
    model: nn.Module,
    quantized: Mapping[str, QuantizedTensor],
    *,
    original: nn.Module,
    example_input: torch.Tensor,
    evaluate: Callable[[nn.Module], float] | None = None,
    eval_data: torch.utils.data.Dataset | None = None,
    loss: str = "cross_entropy",
    metric: str = "accuracy",
    finetune: FinetuneConfig | None = None,
    codebook: CodebookConfig | None = None,
    recipe: Mapping[str, Any] | None = None,
    metadata: Mapping[str, str] | None = None,
    codec: str = "auto",
    raw_float: str = "float32",
    codebook_mantissa_bits: int = 23,
    zeta: Mapping[str, float | None] | None = None,
    finetuned: float | None = None,
    replace: bool = False,
) -> dict[str, Any]:
    """Stage 6: write the ``.dsz`` file with its stage report (measured on the file's own bytes) stored in it.

    The report (:mod:`compress.pipeline.report`) scores the original model, the model as it is, and the
    file deployed in the spatial domain and in the Winograd domain at the trained sparsity (``finetune.s_wd``,
    else ``codebook.s_wd``), with ``evaluate`` (or ``eval_data`` and ``loss``); it states the file's own
    size. :func:`compress.deploy` reads the stored F(m, r) and that sparsity back.

    Args:
        path: the output file (written atomically).
        model: the network after :func:`quantize` (its tensors that are not quantized are stored as they are).
        quantized: name -> quantized weight (from :func:`quantize` or :func:`tune_codebooks`).
        original: the model before compression (the report's ``dense`` figure and dense MACs).
        example_input: one input batch (MAC counts).
        evaluate: ``model -> number`` (e.g. accuracy on held-out data); or give ``eval_data`` and ``loss``.
        eval_data: evaluation dataset for the built-in metric (``loss`` ``"cross_entropy"``: top-1 accuracy,
            ``"mse"``: mean squared error).
        loss: see ``eval_data``.
        metric: the name of ``evaluate``'s number in the report.
        finetune: the fine-tuning config (stored; its ``m_for_r`` marks the Winograd convs).
        codebook: the quantization config (stored).
        recipe: the recipe map to store instead of one made from the configs.
        metadata: free string metadata.
        codec: codec name or ``"auto"``.
        raw_float: ``"float32"`` or ``"float16"`` for the tensors that are not quantized.
        codebook_mantissa_bits: round the tuned codebooks to this many float32 mantissa bits (23 keeps them).
        zeta: final ζ values to record.
        finetuned: the fine-tuned float model's figure, when measured earlier (default: score ``model``).
        replace: replace an existing ``path`` (otherwise that is an :class:`~compress.errors.OutputError`).

    Returns:
        The report stored in the file.
    """
    m_for_r = dict(finetune.m_for_r) if finetune is not None else None
    s_wd = finetune.s_wd if finetune is not None else codebook.s_wd if codebook is not None else 0.0
    stored = {name: round_codebook(q, codebook_mantissa_bits) for name, q in quantized.items()}
    tensors, attrs = artifact_tensors(model, stored, m_for_r, raw_float)
    recipe_map = dict(recipe) if recipe is not None else pipeline_recipe(
        *[c for c in (finetune, codebook) if c is not None])
    meta = dict(metadata or {})
    blob = formats.dumps(tensors, metadata=meta, recipe=recipe_map, codec=codec, attrs=attrs)
    with formats.open_dsz(blob) as reader:  # the size rounds below re-encode with the codecs chosen here
        chosen = {record.name: int(record.codec) for record in reader.records}
    report = build_report(
        model=model, original=original, eval_data=eval_data, loss=loss, blob=blob, quantized=stored, s_wd=s_wd,
        m_for_r=m_for_r or {}, example_input=example_input, zeta=dict(zeta or {}), finetuned=finetuned,
        score=evaluate, metric=metric if evaluate is not None else None,
    )
    state = model.state_dict()
    final, report = encode_stating_own_size(
        report, lambda coded: size_report(state, stored, coded),
        lambda stated: formats.dumps(tensors, metadata=meta, recipe={**recipe_map, "report": stated}, codecs=chosen,
                                     attrs=attrs))
    with atomic_output(path, replace=replace) as temporary:
        temporary.write_bytes(final)
    log.info("wrote %s (%d bytes)", path, len(final))
    return report


def compress_model(
    model: nn.Module,
    train: Batches,
    evaluate: Callable[[nn.Module], float],
    finetune: FinetuneConfig,
    codebook: CodebookConfig,
    *,
    output: str | os.PathLike[str],
    example_input: torch.Tensor,
    loss_fn: LossFn | None = None,
    teacher: nn.Module | None = None,
    replace: bool = False,
    **save_options: Any,
) -> dict[str, Any]:
    """Every stage in one call: regularized fine-tuning, quantization, codebook tuning, the file and its report.

    ``model`` is compressed in place (a copy of it as it was is the report's original). The fine-tuning
    loop is the pipeline's own (:class:`~compress.pipeline.finetune.FinetuneEngine`: Adam, the config's
    learning-rate schedule, ramp and distillation from ``teacher``) unless ``loss_fn`` is given, in which case
    it is a plain Adam loop on ``loss_fn(model(x), y) + reg(step)``, as in the module example.

    Args:
        model: the trained network.
        train: re-iterable ``(inputs, labels)`` batches (cycled; augment them yourself).
        evaluate: ``model -> number`` for the report.
        finetune: stage 1-3 settings.
        codebook: stage 4-5 settings.
        output: the ``.dsz`` path.
        example_input: one input batch (BatchNorm folding, MAC counts).
        loss_fn: your own network loss; default: the config's ``loss`` (with distillation from ``teacher``).
        teacher: the model to distil from (default: a frozen copy of ``model`` when ``finetune.distill_weight``
            is above 0).
        replace: replace an existing ``output``.
        save_options: further keywords of :func:`save` (``codec``, ``raw_float``, ``metadata``, ...).

    Returns:
        The report stored in the file.
    """
    original = copy.deepcopy(model).eval()
    if teacher is None and finetune.distill_weight > 0:
        teacher = original
    batches = cycle_batches(train)
    if loss_fn is None:
        engine = FinetuneEngine(model, finetune, teacher=teacher)
        while engine.step < finetune.steps:
            engine.train_step(*next(batches))
        zeta = engine.finish().zeta
    else:
        reg = JointSparsity(model, finetune)
        optimizer = torch.optim.Adam([{"params": model.parameters(), "lr": finetune.lr},
                                      {"params": reg.parameters(), "lr": finetune.zeta_lr}])
        for step in range(1, finetune.steps + 1):
            model.train()
            inputs, labels = next(batches)
            optimizer.param_groups[0]["lr"] = finetune.lr_at(step)
            cost = loss_fn(model(inputs), labels) + reg(step)
            optimizer.zero_grad(set_to_none=True)
            cost.backward()
            optimizer.step()
            reg.after_step()
        model.eval()
        zeta = reg.zeta()
    finetuned = evaluate(model)
    calibration = (next(batches)[0] for _ in range(RECALIBRATION_BATCHES)) if codebook.batchnorm == "fold" else None
    quantized = quantize(model, codebook, calibration=calibration, example_input=example_input)
    if codebook.steps > 0:
        zeta_start = zeta.get("wd", finetune.zeta_init)
        if loss_fn is not None:
            quantized = tune_codebooks(model, quantized, train, codebook, loss_fn=loss_fn,
                                       m_for_r=dict(finetune.m_for_r), zeta_init=zeta_start)
        else:
            quantized = _tune_codebooks(
                model, quantized, train, codebook, targets=collect_targets(model, dict(finetune.m_for_r)),
                loss=finetune.loss, teacher=teacher, distill_weight=finetune.distill_weight,
                temperature=finetune.temperature, zeta_init=zeta_start).tensors
    return save(output, model, quantized, original=original, example_input=example_input, evaluate=evaluate,
                finetune=finetune, codebook=codebook, zeta={f"finetune_{d}": z for d, z in zeta.items()},
                finetuned=finetuned, replace=replace, **save_options)

