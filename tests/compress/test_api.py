"""The library API in a caller's own training loop: a user model (BatchNorm, stride-2 stem, 3x3 convs) through
JointSparsity, quantize, tune_codebooks and save, deployed in one call in each domain with the report's accuracy."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import compress
import formats
from compress.api import JointSparsity, compress_model, quantize, save, tune_codebooks
from compress.demo.digits import load_digits
from compress.errors import OutputError
from compress.pipeline.config import CodebookConfig, FinetuneConfig

pytestmark = pytest.mark.usefixtures("one_torch_thread")


class UserNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(1, 8, 3, stride=2, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.conv1 = nn.Conv2d(8, 16, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(16)
        self.conv2 = nn.Conv2d(16, 16, 3, padding=1)
        self.fc = nn.Linear(16, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.bn(self.stem(x)))
        x = torch.relu(self.bn1(self.conv1(x)))
        return self.fc(torch.relu(self.conv2(x)).mean(dim=(2, 3)))


FINETUNE = FinetuneConfig(recipe="wd+sd", s_sd=0.5, s_wd=0.4, steps=80, lr=1e-3, zeta_init=2.0, zeta_max=6.0,
                          alpha=10.0, ramp_steps=40, decoupled_lr=0.002, m_for_r=((3, 2),), batchnorm="fold")
CODEBOOK = CodebookConfig(bits=5, prune=0.5, steps=20, lr=1e-4, s_wd=0.4, batchnorm="fold")




@pytest.fixture(scope="module")
def digits() -> tuple[TensorDataset, TensorDataset]:
    return load_digits("train"), load_digits("test")


@pytest.fixture(scope="module")
def trained(digits: tuple[TensorDataset, TensorDataset]) -> UserNet:
    torch.manual_seed(0)
    net = UserNet()
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-2)
    loader = DataLoader(digits[0], batch_size=64, shuffle=True, generator=torch.Generator().manual_seed(0))
    for _ in range(4):
        for x, y in loader:
            optimizer.zero_grad()
            nn.functional.cross_entropy(net(x), y).backward()
            optimizer.step()
    return net.eval()


def _accuracy(data: TensorDataset):  # noqa: ANN202 - a closure factory
    @torch.no_grad()
    def score(model: nn.Module) -> float:
        model.eval()
        x, y = data.tensors
        return float((model(x).argmax(1) == y).float().mean())

    return score


def test_an_own_loop_compresses_a_user_model_that_deploys_in_one_call_with_the_reported_accuracy(
        trained: UserNet, digits: tuple[TensorDataset, TensorDataset], tmp_path: Path) -> None:
    train, test = digits
    evaluate = _accuracy(test)
    original = copy.deepcopy(trained)
    model = copy.deepcopy(trained)
    reg = JointSparsity(model, FINETUNE)
    optimizer = torch.optim.Adam([{"params": model.parameters(), "lr": FINETUNE.lr},
                                  {"params": reg.parameters(), "lr": FINETUNE.zeta_lr}])
    loader = DataLoader(train, batch_size=64, shuffle=True, generator=torch.Generator().manual_seed(1))
    batches = iter(())
    for step in range(1, FINETUNE.steps + 1):  # the user's own loop
        x, y = next(batches, None) or next(batches := iter(loader))
        model.train()
        cost = nn.functional.cross_entropy(model(x), y) + reg(step)
        optimizer.zero_grad()
        cost.backward()
        optimizer.step()
        reg.after_step()
    model.eval()

    example = train.tensors[0][:2]
    quantized = quantize(model, CODEBOOK, calibration=(x for x, _ in loader), example_input=example)
    assert all(torch.equal(bn.running_var, torch.ones(bn.num_features)) for bn in (model.bn, model.bn1))  # folded
    quantized = tune_codebooks(model, quantized, loader, CODEBOOK, loss_fn=nn.functional.cross_entropy,
                               m_for_r=dict(FINETUNE.m_for_r), zeta_init=reg.zeta()["wd"])
    path = tmp_path / "user.dsz"
    report = save(path, model, quantized, original=original, example_input=example, evaluate=evaluate,
                  finetune=FINETUNE, codebook=CODEBOOK, codec="raw")
    assert report["sizes"]["coded"] == path.stat().st_size
    assert report["quality"]["dense"] == evaluate(original) > 0.9
    assert report["sparsity"]["spatial"] >= CODEBOOK.prune - 0.01

    spatial = compress.deploy(path, UserNet())
    winograd = compress.deploy(path, UserNet(), domain="winograd")
    assert evaluate(spatial) == report["quality"]["pruned_spatial"] > 0.75
    assert evaluate(winograd) == report["quality"]["pruned_winograd"] > 0.75
    marked = formats.winograd_tiles(path)
    assert set(marked) == {"conv1.weight", "conv2.weight"} and set(marked.values()) == {(2, 3)}

    with pytest.raises(OutputError):  # an existing file is not replaced without replace=True
        save(path, model, quantized, original=original, example_input=example, evaluate=evaluate, finetune=FINETUNE)


@pytest.mark.parametrize("own_loss", [False, True])
def test_compress_model_runs_every_stage_in_one_call(trained: UserNet, digits: tuple[TensorDataset, TensorDataset],
                                                     tmp_path: Path, own_loss: bool) -> None:
    train, test = digits
    loader = DataLoader(train, batch_size=64, shuffle=True, generator=torch.Generator().manual_seed(1))
    model = copy.deepcopy(trained)
    report = compress_model(model, loader, _accuracy(test), FINETUNE, CODEBOOK, output=tmp_path / "all.dsz",
                            example_input=train.tensors[0][:2], codec="raw",
                            loss_fn=nn.functional.cross_entropy if own_loss else None)
    deployed = compress.deploy(tmp_path / "all.dsz", UserNet(), domain="winograd")
    assert _accuracy(test)(deployed) == report["quality"]["pruned_winograd"] > 0.75
    assert formats.stored_winograd_sparsity(tmp_path / "all.dsz") == FINETUNE.s_wd


def test_quantize_asks_for_an_example_input_to_fold() -> None:
    with pytest.raises(compress.errors.RecipeError, match="example_input"):
        quantize(UserNet(), CodebookConfig(bits=4, batchnorm="fold"))
