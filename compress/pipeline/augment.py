"""Data augmentation of training batches, drawn from ``(seed, step, example index)`` alone.

Fine-tuning on a few thousand images overfits; with distillation the teacher labels every augmented
image, so augmentation adds information instead of label noise. ``"crop-flip"`` is the CIFAR
standard: pad each image by 4 pixels with zeros (the dataset's mean colour, since inputs are
normalised), crop back to the original size at a random offset, and flip it horizontally with
probability 1/2. Each example's offset and flip come from one SplitMix64 word of stream ``step`` at
counter ``index`` (:func:`formats.dither.splitmix64_words`), so a resumed or data-parallel run
augments every example of every batch exactly as an uninterrupted one-process run does.

``"crop-flip-cutmix"`` adds CutMix for distillation: after crop-flip, half of the examples (drawn per
example) get a square box pasted from another training image (itself crop-flipped), covering up to half
of the image. The partner's dataset index and the box come from one word of a second stream of the same
step, so the partner is the same under any sharding. The example keeps its own label: the pasted area is
at most half, and with distillation the teacher labels the mixed image, which is the signal that
matters (the task term weighs ``1 - distill``).

Example:
    >>> images = torch.arange(2 * 1 * 4 * 4, dtype=torch.float32).reshape(2, 1, 4, 4)
    >>> out = augment_batch("crop-flip", images, torch.tensor([0, 1]), seed=0, step=0, padding=1)
    >>> out.shape == images.shape and torch.equal(out, augment_batch("crop-flip", images, torch.tensor([0, 1]),
    ...                                                              seed=0, step=0, padding=1))
    True
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from compress.errors import RecipeError, check_choice
from formats.dither import splitmix64_words

__all__ = ["AUGMENTATIONS", "CutMixPlan", "augment_batch", "check_augmentation", "cutmix_plan", "paste_boxes"]

AUGMENTATIONS = ("none", "crop-flip", "crop-flip-cutmix")
"""Augmentations a recipe may name (``finetune.augment``)."""


def check_augmentation(name: str) -> str:
    """``name`` if it is one of :data:`AUGMENTATIONS`, else a :class:`RecipeError`.

    Example:
        >>> check_augmentation("none")
        'none'
    """
    return check_choice("augment", name, AUGMENTATIONS)


def augment_batch(
    name: str, inputs: torch.Tensor, indices: torch.Tensor, *, seed: int, step: int, padding: int = 4
) -> torch.Tensor:
    """Augment one batch of images ``(B, C, H, W)`` whose dataset indices are ``indices``.

    Args:
        name: one of :data:`AUGMENTATIONS` (``"none"`` returns ``inputs`` unchanged).
        inputs: the batch.
        indices: each example's index in the dataset (``B`` non-negative integers).
        seed: the run's seed.
        step: the batch's step number.
        padding: crop padding in pixels.

    Returns:
        A new tensor of the same shape and dtype.

    The CutMix half of ``"crop-flip-cutmix"`` needs other dataset images; it is applied by
    :class:`compress.pipeline.batches.BatchSchedule` with :func:`cutmix_plan` and :func:`paste_boxes`,
    so this function applies the crop-flip part of either name.

    Raises:
        RecipeError: an image augmentation on inputs that are not a batch of images.
    """
    check_augmentation(name)
    if name == "none":
        return inputs
    if inputs.dim() != 4:
        raise RecipeError(f"augment = {name!r} needs image batches (B, C, H, W), got shape {tuple(inputs.shape)}")
    batch, channels, height, width = inputs.shape
    idx = indices.to(torch.int64).cpu().numpy()
    words = splitmix64_words(seed % 2**64, step % 2**64, int(idx.max(initial=0)) + 1)[idx]
    span = np.uint64(2 * padding + 1)
    dx = torch.from_numpy((words % span).astype(np.int64))
    dy = torch.from_numpy(((words >> np.uint64(16)) % span).astype(np.int64))
    flip = torch.from_numpy(((words >> np.uint64(63)) & np.uint64(1)).astype(bool))
    padded = F.pad(inputs, (padding, padding, padding, padding))
    cols = torch.arange(width)
    cols = torch.where(flip[:, None], width - 1 - cols, cols) + dx[:, None]
    rows = torch.arange(height) + dy[:, None]
    b = torch.arange(batch)[:, None, None, None]
    c = torch.arange(channels)[None, :, None, None]
    return padded[b, c, rows[:, None, :, None], cols[:, None, None, :]]


_CUTMIX_STREAM = 1 << 63
"""Offset of the CutMix word stream from the crop-flip stream of the same step."""

_MAX_AREA = 0.5
"""Largest fraction of an image a pasted box covers (before clipping at the border)."""


@dataclass(frozen=True)
class CutMixPlan:
    """Per example of a batch: whether a box is pasted, the partner's dataset index, the box rows/columns.

    ``rows`` and ``cols`` are ``(B, 2)`` half-open ranges; examples with ``apply`` false are untouched.
    """

    apply: torch.Tensor
    partners: torch.Tensor
    rows: torch.Tensor
    cols: torch.Tensor


def cutmix_plan(indices: torch.Tensor, *, seed: int, step: int, dataset_size: int, height: int,
                width: int) -> CutMixPlan:
    """The CutMix draw of one batch, from ``(seed, step, example index)`` alone.

    Each example's word (stream ``step + 2**63``) gives: bit 63, paste or not (probability 1/2); bits
    0-31, the partner index modulo ``dataset_size``; bits 32-47, the box area as a fraction
    ``u · 0.5`` of the image (a square of side ``round(sqrt(area) · min(H, W))``); bits 48-55 and
    56-62, the box centre, clipped at the border.

    Example:
        >>> plan = cutmix_plan(torch.tensor([0, 1, 2, 3]), seed=0, step=0, dataset_size=10, height=8, width=8)
        >>> plan.partners.shape, bool((plan.rows[:, 0] <= plan.rows[:, 1]).all())
        (torch.Size([4]), True)
    """
    if dataset_size < 1 or height < 1 or width < 1:
        raise ValueError(f"cutmix needs a non-empty dataset and image, got {dataset_size} x {height} x {width}")
    idx = indices.to(torch.int64).cpu().numpy()
    words = splitmix64_words(seed % 2**64, (step + _CUTMIX_STREAM) % 2**64, int(idx.max(initial=0)) + 1)[idx]
    apply = (words >> np.uint64(63)).astype(bool)
    partners = (words & np.uint64(0xFFFFFFFF)) % np.uint64(dataset_size)
    area = ((words >> np.uint64(32)) & np.uint64(0xFFFF)).astype(np.float64) / 65536.0 * _MAX_AREA
    side = np.rint(np.sqrt(area) * min(height, width)).astype(np.int64)
    cy = (((words >> np.uint64(48)) & np.uint64(0xFF)) % np.uint64(height)).astype(np.int64)
    cx = (((words >> np.uint64(56)) & np.uint64(0x7F)) % np.uint64(width)).astype(np.int64)
    y0 = np.clip(cy - side // 2, 0, height)
    x0 = np.clip(cx - side // 2, 0, width)
    y1 = np.clip(cy - side // 2 + side, 0, height)
    x1 = np.clip(cx - side // 2 + side, 0, width)
    return CutMixPlan(apply=torch.from_numpy(apply), partners=torch.from_numpy(partners.astype(np.int64)),
                      rows=torch.from_numpy(np.stack([y0, y1], axis=1)),
                      cols=torch.from_numpy(np.stack([x0, x1], axis=1)))


def paste_boxes(inputs: torch.Tensor, partners: torch.Tensor, plan: CutMixPlan) -> torch.Tensor:
    """``inputs`` with each planned box replaced by the same box of the matching ``partners`` image.

    Example:
        >>> base, other = torch.zeros(1, 1, 4, 4), torch.ones(1, 1, 4, 4)
        >>> plan = CutMixPlan(torch.tensor([True]), torch.tensor([0]), torch.tensor([[0, 2]]), torch.tensor([[1, 3]]))
        >>> int(paste_boxes(base, other, plan).sum())
        4
    """
    if inputs.shape != partners.shape or inputs.dim() != 4:
        raise ValueError(f"paste_boxes needs two image batches of one shape, got {tuple(inputs.shape)} and "
                         f"{tuple(partners.shape)}")
    height, width = inputs.shape[-2:]
    r = torch.arange(height)
    c = torch.arange(width)
    in_rows = (r[None, :] >= plan.rows[:, :1]) & (r[None, :] < plan.rows[:, 1:])
    in_cols = (c[None, :] >= plan.cols[:, :1]) & (c[None, :] < plan.cols[:, 1:])
    mask = in_rows[:, :, None] & in_cols[:, None, :] & plan.apply[:, None, None]
    return torch.where(mask[:, None], partners, inputs)
