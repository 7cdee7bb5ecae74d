"""Crop-flip and CutMix augmentation, drawn from (seed, step, example index) only."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.utils.data import TensorDataset

from compress.errors import RecipeError
from compress.pipeline.augment import CutMixPlan, augment_batch, cutmix_plan, paste_boxes
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


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**64 - 1), step=st.integers(0, 10**6), size=st.integers(1, 50))
def test_cutmix_boxes_lie_in_the_image_and_cover_at_most_half(seed: int, step: int, size: int) -> None:
    plan = cutmix_plan(torch.arange(16), seed=seed, step=step, dataset_size=size, height=8, width=6)
    assert plan.partners.min() >= 0 and plan.partners.max() < size
    assert (plan.rows >= 0).all() and (plan.rows <= 8).all() and (plan.rows[:, 0] <= plan.rows[:, 1]).all()
    assert (plan.cols >= 0).all() and (plan.cols <= 6).all() and (plan.cols[:, 0] <= plan.cols[:, 1]).all()
    area = (plan.rows[:, 1] - plan.rows[:, 0]) * (plan.cols[:, 1] - plan.cols[:, 0])
    assert (area <= round(0.5**0.5 * 6) ** 2).all()


def test_cutmix_pastes_into_about_half_of_the_examples() -> None:
    plan = cutmix_plan(torch.arange(4000), seed=3, step=11, dataset_size=4000, height=32, width=32)
    assert 1800 < int(plan.apply.sum()) < 2200
    area = ((plan.rows[:, 1] - plan.rows[:, 0]) * (plan.cols[:, 1] - plan.cols[:, 0])).double() / 1024
    assert 0.15 < float(area.mean()) < 0.3


def test_cutmix_draws_depend_on_the_example_not_its_place_in_the_batch() -> None:
    whole = cutmix_plan(torch.tensor([7, 3, 9]), seed=1, step=4, dataset_size=20, height=8, width=8)
    part = cutmix_plan(torch.tensor([9, 7]), seed=1, step=4, dataset_size=20, height=8, width=8)
    for field in ("apply", "partners", "rows", "cols"):
        assert torch.equal(getattr(part, field), getattr(whole, field)[[2, 0]])


def test_paste_boxes_copies_exactly_the_planned_box_of_the_partner() -> None:
    base, other = torch.zeros(2, 3, 6, 6), torch.ones(2, 3, 6, 6)
    plan = CutMixPlan(apply=torch.tensor([True, False]), partners=torch.tensor([1, 0]),
                      rows=torch.tensor([[1, 4], [0, 6]]), cols=torch.tensor([[2, 5], [0, 6]]))
    out = paste_boxes(base, other, plan)
    assert torch.equal(out[0, :, 1:4, 2:5], torch.ones(3, 3, 3)) and float(out[0].sum()) == 27
    assert torch.equal(out[1], base[1])


def test_a_cutmix_schedule_pastes_partner_pixels_and_keeps_the_labels() -> None:
    data = TensorDataset(torch.arange(40.0).repeat_interleave(36).reshape(40, 1, 6, 6) + 1, torch.arange(40))
    crop = BatchSchedule(data, 8, seed=2, augment="crop-flip")
    mixed = BatchSchedule(data, 8, seed=2, augment="crop-flip-cutmix")
    pasted = 0
    for step in range(5):
        (xc, yc), (xm, ym) = crop.batch(step), mixed.batch(step)
        assert torch.equal(yc, ym)
        for i in range(len(ym)):
            foreign = xm[i] != xc[i]
            pasted += int(foreign.any())
            # every changed pixel is the constant value of another image or its zero padding
            assert set(xm[i][foreign].tolist()) <= set(range(0, 41))
    assert pasted > 0
    assert torch.equal(mixed.batch(4)[0], BatchSchedule(data, 8, seed=2, augment="crop-flip-cutmix").batch(4)[0])


def test_a_sharded_cutmix_schedule_gives_each_rank_its_part_of_the_one_process_batch() -> None:
    data = TensorDataset(torch.randn(24, 1, 6, 6), torch.arange(24))
    whole = BatchSchedule(data, 8, seed=5, augment="crop-flip-cutmix").batch(2)[0]
    parts = [BatchSchedule(data, 8, seed=5, rank=r, world_size=2, augment="crop-flip-cutmix").batch(2)[0]
             for r in range(2)]
    assert torch.equal(torch.cat(parts), whole)
