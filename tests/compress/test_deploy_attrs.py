"""Winograd marks for any model: traced from one forward pass, from the modules, or from tensor shapes alone."""

from __future__ import annotations

import doctest

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import compress.deploy_attrs
from compress.deploy_attrs import parse_m_for_r, shape_winograd_attrs, traced_winograd_attrs, winograd_attrs
from compress.errors import RecipeError

pytestmark = pytest.mark.usefixtures("one_torch_thread")




class Tricky(nn.Module):
    """Module attributes that do not tell the whole story."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(1, 4, 3, stride=2, padding=1)  # stride 2: never marked
        self.body = nn.Conv2d(4, 4, 3, padding=1)            # stride 1 through the module: marked
        self.reused = nn.Conv2d(4, 4, 3, padding=1)          # also run functionally with stride 2: not marked
        self.unused = nn.Conv2d(4, 4, 3, padding=1)          # never called: not marked when traced
        self.wide = nn.Conv2d(4, 4, 5, padding=2)            # 5x5: marked when the table has 5
        self.fc = nn.Linear(4, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.wide(self.body(torch.relu(self.stem(x))))
        x = self.reused(x) + F.interpolate(F.conv2d(x, self.reused.weight, stride=2, padding=1), scale_factor=2)
        return self.fc(x.mean(dim=(2, 3)))


def test_tracing_marks_only_the_stride_1_convs_the_pass_runs() -> None:
    net = Tricky()
    traced = traced_winograd_attrs(net, torch.zeros(1, 1, 8, 8), {3: 2, 5: 4})
    assert traced == {"body.weight": {"winograd": {"m": 2, "r": 3}}, "wide.weight": {"winograd": {"m": 4, "r": 5}}}
    static = winograd_attrs(net, {3: 2, 5: 4})
    assert set(static) == {"body.weight", "reused.weight", "unused.weight", "wide.weight"}  # what tracing adds


def test_tracing_restores_the_mode_and_removes_its_hooks() -> None:
    net = Tricky().train()
    traced_winograd_attrs(net, torch.zeros(2, 1, 8, 8))
    assert net.training
    assert all(not m._forward_hooks for m in net.modules())


def test_tracing_follows_the_table() -> None:
    assert set(traced_winograd_attrs(Tricky(), torch.zeros(1, 1, 8, 8), {5: 2})) == {"wide.weight"}
    assert traced_winograd_attrs(Tricky(), torch.zeros(1, 1, 8, 8), {}) == {}


def test_shapes_alone_mark_every_square_kernel_in_the_table_but_the_excluded() -> None:
    state = Tricky().state_dict()
    marks = shape_winograd_attrs(state, {3: 2}, exclude=["stem.*"])
    assert set(marks) == {"body.weight", "reused.weight", "unused.weight"}
    assert all(m == {"winograd": {"m": 2, "r": 3}} for m in marks.values())
    ints = {"q": torch.zeros(2, 2, 3, 3, dtype=torch.int8), "rect": torch.zeros(2, 2, 3, 5)}
    assert shape_winograd_attrs(ints, {3: 2, 5: 2}) == {}


@pytest.mark.parametrize(("text", "table"), [("3=2", {3: 2}), (" 3 = 4 , 5=4", {3: 4, 5: 4}), ("7=8", {7: 8})])
def test_parse_m_for_r(text: str, table: dict[int, int]) -> None:
    assert parse_m_for_r(text) == table


@pytest.mark.parametrize("text", ["", "3", "3=0", "3=9", "1=2", "x=2", "3=2,3=4", "3:2", "3=2;5=4"])
def test_parse_m_for_r_rejects(text: str) -> None:
    with pytest.raises(RecipeError, match="winograd map"):
        parse_m_for_r(text)


def test_docstring_examples() -> None:
    assert doctest.testmod(compress.deploy_attrs).failed == 0
