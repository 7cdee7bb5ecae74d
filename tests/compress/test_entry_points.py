"""Calibration inputs of --calibrate (compress.entry_points.resolve_calibration_inputs)."""

from __future__ import annotations

import pytest
import torch

from compress.demo.digits import load_digits
from compress.entry_points import is_builtin_task, resolve_calibration_inputs, task_model
from compress.errors import RecipeError


def test_a_builtin_task_gives_a_seeded_draw_of_its_training_images() -> None:
    first = resolve_calibration_inputs("digits-demo", 40, seed=3)
    again = resolve_calibration_inputs("digits-demo", 40, seed=3)
    other = resolve_calibration_inputs("digits-demo", 40, seed=4)
    assert first.shape == (40, 1, 8, 8) and first.dtype == torch.float32
    assert torch.equal(first, again) and not torch.equal(first, other)
    train = torch.stack([x for x, _ in load_digits("train")])
    test = torch.stack([x for x, _ in load_digits("test")])
    as_rows = {tuple(row.flatten().tolist()) for row in train}
    assert all(tuple(row.flatten().tolist()) in as_rows for row in first)  # training images only
    assert len(resolve_calibration_inputs("digits-demo", 10**6)) == len(train) != len(test)


def test_an_entry_point_may_return_a_tensor_or_a_dataset(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "calib_inputs.py").write_text(
        "import torch\n"
        "from torch.utils.data import TensorDataset\n"
        "def tensor():\n    return torch.arange(12.0).reshape(6, 2)\n"
        "def dataset():\n    return TensorDataset(torch.ones(9, 3), torch.zeros(9))\n"
        "def number():\n    return 3\n"
        "def broken():\n    raise ValueError('no data here')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    inputs = resolve_calibration_inputs("calib_inputs:tensor", 4)
    assert inputs.shape == (4, 2) and set(inputs[:, 0].tolist()) <= set(range(0, 12, 2))
    assert resolve_calibration_inputs("calib_inputs:dataset", 20).shape == (9, 3)
    with pytest.raises(RecipeError, match="returned int"):
        resolve_calibration_inputs("calib_inputs:number", 2)
    with pytest.raises(RecipeError, match="raised ValueError: no data here"):
        resolve_calibration_inputs("calib_inputs:broken", 2)


@pytest.mark.parametrize(("spec", "count", "message"), [
    ("mnist", 4, "built-in task"),
    ("digits-demo", 0, "at least 1"),
    ("math:no_such_function", 4, "has no function"),
])
def test_bad_calibration_specs_are_one_line_errors(spec: str, count: int, message: str) -> None:
    with pytest.raises(RecipeError, match=message):
        resolve_calibration_inputs(spec, count)


def test_task_names_and_models() -> None:
    assert is_builtin_task("resnet32-cifar10") and not is_builtin_task("resnet32")
    assert sum(p.numel() for p in task_model("resnet20-cifar10").parameters()) == 269_722
