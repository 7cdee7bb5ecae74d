"""compress.deploy: a .dsz file to a ready model in one call, in each domain, with the file's F(m, r) and
trained Winograd sparsity; the same logits as the manual route; its errors."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from torch import nn

import compress
import formats
from compress.cli.main import cli
from compress.deploy_attrs import winograd_attrs
from compress.deployment import DeployError, deploy
from compress.pipeline.deploy_eval import load_decoded, winograd_deployed
from compress.pipeline.recipe_file import parse_recipe
from compress.pipeline.report import evaluate_metric
from compress.pipeline.runner import run_recipe
from compress.winograd.conv import WinogradConv2d

pytestmark = pytest.mark.usefixtures("one_torch_thread")


# A user's own model, not in the zoo: BatchNorm, a stride-2 stem, two 3x3 stride-1 convs.
TASK_MODULE = '''
import torch
from torch import nn
from torch.utils.data import TensorDataset


class TinyNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(1, 4, 3, stride=2, padding=1)
        self.bn = nn.BatchNorm2d(4)
        self.conv1 = nn.Conv2d(4, 8, 3, padding=1)
        self.conv2 = nn.Conv2d(8, 8, 3, padding=1, bias=False)
        self.fc = nn.Linear(8, 3)

    def forward(self, x):
        x = torch.relu(self.bn(self.stem(x)))
        x = torch.relu(self.conv2(torch.relu(self.conv1(x))))
        return self.fc(x.mean(dim=(2, 3)))


def data():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(96, 1, 8, 8, generator=g)
    y = (x.mean(dim=(1, 2, 3)) > 0).long() + (x[:, 0, 0, 0] > 1).long()
    return TensorDataset(x[:64], y[:64]), TensorDataset(x[64:], y[64:])


def build():
    torch.manual_seed(1)
    return (TinyNet(), *data(), "cross_entropy")
'''

S_WD = 0.6




@pytest.fixture(scope="module")
def user_task(import_source: Callable[[str, str], AbstractContextManager[ModuleType]]) -> Iterator[ModuleType]:
    """The user's module on sys.path (what a recipe's ``module:function`` task imports)."""
    with import_source("deploy_user_task", TASK_MODULE) as module:
        yield module


@pytest.fixture(scope="module")
def pipeline_file(user_task: object, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    """A file made by the full pipeline (a few steps; raw codec, so it writes in about a second)."""
    torch.set_num_threads(1)
    recipe = parse_recipe({
        "task": {"name": f"{user_task.__name__}:build"},
        "finetune": {"steps": 3, "batch": 16, "s_wd": S_WD},
        "quantize": {"bits": 5},
        "codebook": {"steps": 1, "batch": 16},
        "winograd": {"3": 2},
        "output": {"codec": "raw"},
    })
    path = tmp_path_factory.mktemp("deploy") / "tiny.dsz"
    return path, run_recipe(recipe, path).report


def _x() -> torch.Tensor:
    return torch.randn(5, 1, 8, 8, generator=torch.Generator().manual_seed(2))


def _winograd_zeros(model: nn.Module) -> tuple[int, int]:
    layers = [m for m in model.modules() if isinstance(m, WinogradConv2d)]
    return sum(int((m.winograd_weight == 0).sum()) for m in layers), sum(m.winograd_weight.numel() for m in layers)


@torch.no_grad()
def test_one_call_gives_the_manual_routes_logits_in_each_domain(user_task, pipeline_file) -> None:
    path, _ = pipeline_file
    x, architecture = _x(), user_task.TinyNet()
    spatial = deploy(path, architecture)
    assert torch.equal(spatial(x), load_decoded(architecture, formats.load(path))(x))
    manual = winograd_deployed(architecture, formats.load(path, domain="winograd", sparsity=S_WD), {3: 2})
    winograd = compress.deploy(path, architecture, domain="winograd")
    assert torch.equal(winograd(x), manual(x))
    assert [type(winograd.conv1), type(winograd.conv2), type(winograd.stem)] == [WinogradConv2d, WinogradConv2d,
                                                                                   nn.Conv2d]
    assert (winograd.conv1.m, winograd.conv1.r) == (2, 3)  # the file's F(2, 3), not the default F(4, 3)
    assert not winograd.training and not spatial.training
    assert all(type(m) is not WinogradConv2d for m in architecture.modules())  # the given instance is untouched


@torch.no_grad()
def test_deployed_models_score_what_the_stored_report_states(user_task, pipeline_file) -> None:
    path, report = pipeline_file
    _, test = user_task.data()
    quality = report["quality"]
    for domain, key in (("spatial", "pruned_spatial"), ("winograd", "pruned_winograd")):
        model = deploy(path, user_task.TinyNet(), domain=domain)
        assert evaluate_metric(model, test, "cross_entropy") == quality[key]


@torch.no_grad()
def test_the_stored_sparsity_is_the_default_and_can_be_overridden(user_task, pipeline_file) -> None:
    path, _ = pipeline_file
    assert formats.stored_winograd_sparsity(path) == S_WD
    zeros, total = _winograd_zeros(deploy(path, user_task.TinyNet(), domain="winograd"))
    assert zeros == math.floor(S_WD * total)
    zeros, total = _winograd_zeros(deploy(path, user_task.TinyNet(), domain="winograd", sparsity=0.9))
    assert zeros == math.floor(0.9 * total)
    kept = deploy(path, user_task.TinyNet(), domain="winograd", sparsity=0.0)
    manual = winograd_deployed(user_task.TinyNet(), formats.load(path, domain="winograd", sparsity=0.0))
    assert torch.equal(kept(_x()), manual(_x()))
    assert _winograd_zeros(kept)[0] < math.floor(S_WD * total)
    sparse = deploy(path, user_task.TinyNet(), domain="winograd", sparse=True)
    torch.testing.assert_close(sparse(_x()), deploy(path, user_task.TinyNet(), domain="winograd")(_x()))


def test_decompress_winograd_defaults_to_the_stored_sparsity(pipeline_file, tmp_path: Path) -> None:
    path, _ = pipeline_file
    out = tmp_path / "w.npz"
    result = CliRunner().invoke(cli, ["decompress", str(path), "-o", str(out), "--domain", "winograd"])
    assert result.exit_code == 0, result.output
    assert "60.0% pruned as the file stores" in result.output
    expected = formats.load(path, domain="winograd", sparsity=S_WD)
    with np.load(out) as written:
        assert all(np.array_equal(written[name], expected[name]) for name in expected)


@torch.no_grad()
def test_a_post_training_file_of_a_user_model_with_marks_deploys_in_the_winograd_domain(user_task, tmp_path) -> None:
    from compress.post_training import PostTrainingConfig, compress_state_dict

    net = user_task.TinyNet().eval()
    path = tmp_path / "post.dsz"
    compress_state_dict(net.state_dict(), path, PostTrainingConfig(bits=6, codec="raw"), attrs=winograd_attrs(net))
    assert formats.stored_winograd_sparsity(path) is None  # nothing trained: every coefficient kept
    winograd = deploy(path, user_task.TinyNet(), domain="winograd")
    assert (type(winograd.conv1), winograd.conv1.m) == (WinogradConv2d, 4)  # winograd_attrs' default F(4, 3)
    unpruned = formats.load(path, domain="winograd", sparsity=0.0)
    assert _winograd_zeros(winograd)[0] == sum(int((unpruned[n] == 0).sum()) for n in formats.winograd_tiles(path))
    torch.testing.assert_close(winograd(_x()), deploy(path, user_task.TinyNet())(_x()), atol=1e-5, rtol=1e-4)


def _zoo_file(tmp_path: Path, metadata: dict[str, str], marks: bool = True, recipe: dict | None = None,
              name: str = "zoo.dsz") -> Path:
    from compress.zoo import get_model

    torch.manual_seed(0)
    net = get_model("lenet5").eval()
    path = tmp_path / name
    formats.save(path, {k: v.numpy() for k, v in net.state_dict().items()}, metadata=metadata, recipe=recipe,
                 attrs=winograd_attrs(net) if marks else None, codec="raw")
    return path


@torch.no_grad()
def test_zoo_models_come_from_the_name_or_the_file(tmp_path: Path) -> None:
    from compress.zoo import get_model

    x = torch.randn(2, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    recipe = {"report": {"sparsity": {"s_wd_deployed": 0.5}}}
    path = _zoo_file(tmp_path, {"task": "lenet5-mnist"}, recipe=recipe)
    by_file = deploy(path, domain="winograd")
    by_name = deploy(path, "lenet5", domain="winograd")
    assert torch.equal(by_file(x), by_name(x))
    zeros, total = _winograd_zeros(by_file)
    assert zeros == math.floor(0.5 * total) and (by_file.conv1.m, by_file.conv1.r) == (4, 5)
    post_training = _zoo_file(tmp_path, {"model": "lenet5"}, name="post.dsz")  # what compress --model stores
    manual = load_decoded(get_model("lenet5"), formats.load(post_training))
    assert torch.equal(deploy(post_training)(x), manual(x))


@pytest.mark.parametrize(
    ("metadata", "model", "match"),
    [
        ({}, None, "names no model: pass model="),
        ({"task": "mytask:build"}, None, "your own code, which deploy never imports"),
        ({"model": "lenet5"}, nn.Linear(2, 2), "does not fit Linear: tensors the model lacks"),
        ({"model": "lenet5"}, "resnet20", "does not fit CifarResNet"),
        ({"model": "lenet5"}, 3, "model must be an nn.Module"),
    ],
)
def test_architecture_errors(tmp_path: Path, metadata: dict, model: object, match: str) -> None:
    with pytest.raises(DeployError, match=match):
        deploy(_zoo_file(tmp_path, metadata), model)  # type: ignore[arg-type]


def test_a_file_with_nothing_marked_asked_for_winograd_says_how_to_mark(tmp_path: Path) -> None:
    path = _zoo_file(tmp_path, {"model": "lenet5"}, marks=False)
    with pytest.raises(DeployError, match="no tensor marked for Winograd deployment") as caught:
        deploy(path, domain="winograd")
    assert "--model NAME" in str(caught.value) and "winograd_attrs(model)" in str(caught.value)
    assert "\n" not in str(caught.value)
    assert isinstance(deploy(path), nn.Module)  # the spatial domain needs no marks


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"domain": "fourier"}, DeployError, "domain must be one of"),
        ({"sparsity": 0.5}, DeployError, "winograd domain only"),
        ({"domain": "winograd", "sparsity": 1.5}, ValueError, r"\[0, 1\)"),
    ],
)
def test_bad_arguments(tmp_path: Path, kwargs: dict, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        deploy(_zoo_file(tmp_path, {"model": "lenet5"}), **kwargs)
