"""Crop-flip augmentation: a crop of the zero-padded image, drawn from (seed, step, example index) only."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.utils.data import TensorDataset

from compress.errors import RecipeError
from compress.pipeline.augment import augment_batch
from compress.pipeline.batches import BatchSchedule


def _is_crop_of(out: torch.Tensor, image: torch.Tensor, padding: int) -> bool:
    padded = torch.nn.functional.pad(image, (padding,) * 4)
    height, width = image.shape[-2:]
    for dy in range(2 * padding + 1):
        for dx in range(2 * padding + 1):
            window = padded[:, dy : dy + height, dx : dx + width]
            if torch.equal(out, window) or torch.equal(out, window.flip(-1)):
                return True
    return False


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**64 - 1), step=st.integers(0, 10**6), padding=st.integers(0, 3))
def test_every_output_is_a_flipped_or_plain_crop_of_its_padded_image(seed: int, step: int, padding: int) -> None:
    images = torch.randn(3, 2, 5, 6)
    out = augment_batch("crop-flip", images, torch.tensor([4, 0, 9]), seed=seed, step=step, padding=padding)
    assert out.shape == images.shape and out.dtype == images.dtype
    assert all(_is_crop_of(out[i], images[i], padding) for i in range(3))


def test_an_example_is_augmented_the_same_wherever_it_sits_in_the_batch() -> None:
    images = torch.randn(4, 3, 8, 8)
    out = augment_batch("crop-flip", images, torch.tensor([10, 11, 12, 13]), seed=5, step=7)
    swapped = augment_batch("crop-flip", images[[2, 0]], torch.tensor([12, 10]), seed=5, step=7)
    assert torch.equal(swapped[0], out[2]) and torch.equal(swapped[1], out[0])


def test_other_steps_and_seeds_draw_other_crops() -> None:
    images = torch.randn(64, 1, 8, 8)
    index = torch.arange(64)
    base = augment_batch("crop-flip", images, index, seed=0, step=0)
    assert not torch.equal(base, augment_batch("crop-flip", images, index, seed=0, step=1))
    assert not torch.equal(base, augment_batch("crop-flip", images, index, seed=1, step=0))
    flipped = sum(torch.equal(base[i], images[i].flip(-1)) for i in range(64))
    assert not torch.equal(base, images) and flipped < 64


def test_none_is_the_identity_and_unknown_names_are_refused() -> None:
    images = torch.randn(2, 1, 4, 4)
    assert augment_batch("none", images, torch.tensor([0, 1]), seed=0, step=0) is images
    with pytest.raises(RecipeError, match="augment must be one of"):
        augment_batch("mixup", images, torch.tensor([0, 1]), seed=0, step=0)
    with pytest.raises(RecipeError, match="image batches"):
        augment_batch("crop-flip", torch.randn(2, 16), torch.tensor([0, 1]), seed=0, step=0)


def test_a_schedule_augments_its_batches_reproducibly() -> None:
    data = TensorDataset(torch.randn(20, 1, 6, 6), torch.arange(20))
    plain, augmented = BatchSchedule(data, 5, seed=2), BatchSchedule(data, 5, seed=2, augment="crop-flip")
    x, y = augmented.batch(3)
    assert torch.equal(y, plain.batch(3)[1]) and not torch.equal(x, plain.batch(3)[0])
    assert torch.equal(x, BatchSchedule(data, 5, seed=2, augment="crop-flip").batch(3)[0])
