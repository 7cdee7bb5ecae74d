"""Data augmentation of training batches, drawn from ``(seed, step, example index)`` alone.

Fine-tuning on a few thousand images overfits; with distillation the teacher labels every augmented
image, so augmentation adds information instead of label noise. ``"crop-flip"`` is the CIFAR
standard: pad each image by 4 pixels with zeros (the dataset's mean colour, since inputs are
normalised), crop back to the original size at a random offset, and flip it horizontally with
probability 1/2. Each example's offset and flip come from one SplitMix64 word of stream ``step`` at
counter ``index`` (:func:`formats.dither.splitmix64_words`), so a resumed or data-parallel run
augments every example of every batch exactly as an uninterrupted one-process run does.

Example:
    >>> images = torch.arange(2 * 1 * 4 * 4, dtype=torch.float32).reshape(2, 1, 4, 4)
    >>> out = augment_batch("crop-flip", images, torch.tensor([0, 1]), seed=0, step=0, padding=1)
    >>> out.shape == images.shape and torch.equal(out, augment_batch("crop-flip", images, torch.tensor([0, 1]),
    ...                                                              seed=0, step=0, padding=1))
    True
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from compress.errors import RecipeError, check_choice
from formats.dither import splitmix64_words

__all__ = ["AUGMENTATIONS", "augment_batch", "check_augmentation"]

AUGMENTATIONS = ("none", "crop-flip")
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

    Raises:
        RecipeError: ``crop-flip`` on inputs that are not a batch of images.
    """
    check_augmentation(name)
    if name == "none":
        return inputs
    if inputs.dim() != 4:
        raise RecipeError(f"augment = 'crop-flip' needs image batches (B, C, H, W), got shape {tuple(inputs.shape)}")
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
