"""Post-training compress and prune of a model that is not in the zoo: Winograd marks from its traced
architecture (or from shapes alone), deployment in the Winograd domain, and the --max-drop search."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
import torch
from click.testing import Result

import compress
import formats
from compress.winograd.conv import WinogradConv2d

pytestmark = pytest.mark.usefixtures("one_torch_thread")


# BatchNorm, a stride-2 stem, two 3x3 stride-1 convs and a 5x5 one; the eval function scores agreement with
# the original model's predictions, so the uncompressed checkpoint scores 1.0.
USER_MODULE = '''
import torch
from torch import nn


class UserNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(1, 6, 3, stride=2, padding=1)
        self.bn = nn.BatchNorm2d(6)
        self.conv1 = nn.Conv2d(6, 8, 3, padding=1)
        self.conv2 = nn.Conv2d(8, 8, 3, padding=1, bias=False)
        self.conv3 = nn.Conv2d(8, 8, 5, padding=2)
        self.fc = nn.Linear(8, 4)

    def forward(self, x):
        x = torch.relu(self.bn(self.stem(x)))
        x = torch.relu(self.conv3(torch.relu(self.conv2(torch.relu(self.conv1(x))))))
        return self.fc(x.mean(dim=(2, 3)))


def build():
    torch.manual_seed(3)
    net = UserNet()
    net.bn.running_mean.uniform_(-0.1, 0.1)
    return net.eval()


X = torch.randn(256, 1, 12, 12, generator=torch.Generator().manual_seed(4))
with torch.no_grad():
    LABELS = build()(X).argmax(1)


def agreement(model):
    with torch.no_grad():
        return float((model(X).argmax(1) == LABELS).float().mean())


def calibration():
    return torch.randn(64, 1, 12, 12, generator=torch.Generator().manual_seed(6))


def exact(model):
    original = build().state_dict()
    return float(all(torch.equal(v, original[k]) for k, v in model.state_dict().items()))
'''




@pytest.fixture(scope="module")
def user(import_source: Callable[[str, str], AbstractContextManager[ModuleType]]) -> Iterator[ModuleType]:
    with import_source("user_models", USER_MODULE) as module:
        yield module


@pytest.fixture()
def checkpoint(user: object, tmp_path: Path) -> Path:
    path = tmp_path / "user.pt"
    torch.save(user.build().state_dict(), path)
    return path


def _x() -> torch.Tensor:
    return torch.randn(3, 1, 12, 12, generator=torch.Generator().manual_seed(5))


def _ok(result: Result) -> Result:
    assert result.exit_code == 0, result.output + result.stderr
    return result


def _error(result: Result, match: str) -> str:
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert match in lines[0], lines[0]
    return lines[0]


@torch.no_grad()
def test_a_traced_user_model_deploys_in_the_winograd_domain(run_cli: Callable[..., Result], user: object,
                                                             checkpoint: Path, tmp_path: Path) -> None:
    out = tmp_path / "user.dsz"
    result = _ok(run_cli("compress", checkpoint, "-o", out, "--model", f"{user.__name__}:build",
                         "--input-shape", "1,1,12,12", "--winograd", "3=2,5=4", "--bits", "8", "--codec", "zstd"))
    assert "3 convs marked for Winograd" in result.output
    assert formats.winograd_tiles(out) == {"conv1.weight": (2, 3), "conv2.weight": (2, 3), "conv3.weight": (4, 5)}
    winograd = compress.deploy(out, user.UserNet(), domain="winograd")
    assert {n for n, m in winograd.named_modules() if isinstance(m, WinogradConv2d)} == {"conv1", "conv2", "conv3"}
    assert (winograd.conv1.m, winograd.conv3.m) == (2, 4)
    spatial = compress.deploy(out, user.UserNet())
    torch.testing.assert_close(winograd(_x()), spatial(_x()), atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(spatial(_x()), user.build()(_x()), atol=0.05, rtol=0.05)  # 8 bits: close

    decoded = tmp_path / "wd.npz"
    result = _ok(run_cli("decompress", out, "-o", decoded, "--domain", "winograd"))
    assert "winograd domain" in result.output
    with np.load(decoded) as tensors:
        assert tensors["conv1.weight"].shape == (8, 6, 4, 4) and tensors["conv3.weight"].shape == (8, 8, 8, 8)
        assert tensors["stem.weight"].shape == (6, 1, 3, 3)  # stride 2: spatial


def test_without_an_input_shape_the_modules_attributes_decide(run_cli, user, checkpoint: Path, tmp_path: Path) -> None:
    out = tmp_path / "static.dsz"
    _ok(run_cli("compress", checkpoint, "-o", out, "--model", f"{user.__name__}:build", "--codec", "raw"))
    assert formats.winograd_tiles(out) == {"conv1.weight": (4, 3), "conv2.weight": (4, 3), "conv3.weight": (4, 5)}
    with formats.open_dsz(out) as reader:
        assert reader.metadata["model"] == f"{user.__name__}:build"


@torch.no_grad()
def test_without_an_architecture_shapes_mark_what_the_user_vouches_for(run_cli, user, checkpoint: Path,
                                                                        tmp_path: Path) -> None:
    out = tmp_path / "shapes.dsz"
    _ok(run_cli("compress", checkpoint, "-o", out, "--winograd", "3=2", "--winograd-exclude", "stem.*",
                "--codec", "raw"))
    assert formats.winograd_tiles(out) == {"conv1.weight": (2, 3), "conv2.weight": (2, 3)}
    winograd = compress.deploy(out, user.UserNet(), domain="winograd")
    torch.testing.assert_close(winograd(_x()), compress.deploy(out, user.UserNet())(_x()), atol=1e-4, rtol=1e-4)
    # the stem left in: the file says it is Winograd-ready, but deploying finds the stride-2 conv
    bad = tmp_path / "stem.dsz"
    _ok(run_cli("compress", checkpoint, "-o", bad, "--winograd", "3=2", "--codec", "raw"))
    assert "stem.weight" in formats.winograd_tiles(bad)
    with pytest.raises(compress.errors.CompressError, match="stride"):
        compress.deploy(bad, user.UserNet(), domain="winograd")


def test_help_says_what_shapes_alone_cannot_know(run_cli) -> None:
    text = " ".join(_ok(run_cli("compress", "--help")).output.split())
    assert "--winograd R=M[,R=M...]" in text and "cannot be seen, so you vouch" in text
    assert "--max-drop FRACTION" in text and "--eval TASK|module:function" in text and "--input-shape" in text


def test_max_drop_prints_the_curve_and_writes_the_smallest_file_within_budget(run_cli, user, checkpoint: Path,
                                                                               tmp_path: Path) -> None:
    out = tmp_path / "searched.dsz"
    result = _ok(run_cli("compress", checkpoint, "-o", out, "--model", f"{user.__name__}:build",
                         "--eval", f"{user.__name__}:agreement", "--max-drop", "0.03", "--codec", "raw"))
    lines = result.output.strip().splitlines()
    assert lines[0].startswith("searching the bit budget") and "metric 1.0000" in lines[0]
    curve = [line.strip() for line in lines[1:-1]]
    assert 2 <= len(curve) <= 4 and all(line.startswith("bits=") and " bytes, " in line for line in curve)
    assert lines[-1].startswith("chose bits=")
    with formats.open_dsz(out) as reader:
        stored = json.loads(reader.metadata["search"])
        bits = reader.recipe["_data"]["bits"]
    assert stored["chosen"] == f"bits={bits}" and lines[-1].startswith(f"chose bits={bits}:")
    within = [line for line in curve if "(within budget)" in line]
    assert any(line.startswith(f"bits={bits}:") for line in within)
    drop = float(lines[-1].rsplit("drop ", 1)[1].rstrip(")"))
    assert drop <= 0.03
    assert formats.winograd_tiles(out)  # --model marks too
    assert user.agreement(compress.deploy(out, user.UserNet())) == pytest.approx(1 - drop, abs=1e-6)
    # an existing file is not replaced without --force, and no curve is walked
    _error(run_cli("compress", checkpoint, "-o", out, "--model", f"{user.__name__}:build",
                   "--eval", f"{user.__name__}:agreement", "--max-drop", "0.03"), "exists; pass --force")


def test_an_impossible_budget_fails_in_one_line_and_writes_nothing(run_cli, user, checkpoint: Path,
                                                                    tmp_path: Path) -> None:
    out = tmp_path / "never.dsz"
    _error(run_cli("compress", checkpoint, "-o", out, "--model", f"{user.__name__}:build", "--eval",
                   "tests_never_module_xyz:f", "--max-drop", "0.01"), "cannot import tests_never_module_xyz")
    # only the original weights score 1: even 16 bits drops 1.0
    result = run_cli("compress", checkpoint, "-o", out, "--model", f"{user.__name__}:build", "--eval",
                     f"{user.__name__}:exact", "--max-drop", "0.5", "--codec", "raw")
    line = _error(result, "no setting keeps the metric within --max-drop 0.5")
    assert "even the safest setting tried, bits=16, drops 1.0000; nothing written" in line
    assert len(result.stdout.strip().splitlines()) == 1 + 4  # the header and the curve walked down to 16 bits
    assert not out.exists() and [p.name for p in tmp_path.iterdir()] == ["user.pt"]


def test_eval_alone_reports_the_drop(run_cli, user, checkpoint: Path, tmp_path: Path) -> None:
    out = tmp_path / "scored.dsz"
    result = _ok(run_cli("compress", checkpoint, "-o", out, "--model", f"{user.__name__}:build", "--eval",
                         f"{user.__name__}:agreement", "--bits", "3", "--codec", "raw"))
    assert "1.0000 uncompressed" in result.output and "from the file (drop" in result.output


@pytest.mark.parametrize(("args", "match"), [
    (["--max-drop", "0.01"], "--max-drop needs --eval"),
    (["--eval", "lenet5-mnist", "--max-drop", "0.01", "--bits", "4"], "leave out --bits and --step"),
    (["--search", "step"], "--search needs --max-drop"),
    (["--input-shape", "1,1,12,12"], "--input-shape needs an architecture"),
    (["--input-shape", "1,x"], "is not a shape"),
    (["--winograd", "3=9"], "winograd map '3=9'"),
    (["--winograd-exclude", "stem.*"], "--winograd-exclude needs --winograd or --model"),
    (["--data-root", "."], "--data-root needs --recipe or --eval"),
    (["--model", "no_such_zoo_model"], "neither a zoo model"),
    (["--model", "resnet20"], "does not fit CifarResNet"),
    (["--max-drop", "-1"], "-1"),
])
def test_bad_options_fail_in_one_line(run_cli, checkpoint: Path, tmp_path: Path, args: list[str], match: str) -> None:
    _error(run_cli("compress", checkpoint, "-o", tmp_path / "o.dsz", *args), match)
    assert not (tmp_path / "o.dsz").exists()


def test_post_training_options_are_refused_with_a_recipe(run_cli, checkpoint: Path, tmp_path: Path) -> None:
    _error(run_cli("compress", "--recipe", "lenet5-mnist", "-o", tmp_path / "o.dsz", "--winograd", "3=2",
                   "--max-drop", "0.01"), "--winograd, --max-drop belong to post-training compression")


def test_a_traced_forward_pass_that_fails_is_one_line(run_cli, user, checkpoint: Path, tmp_path: Path) -> None:
    _error(run_cli("compress", checkpoint, "-o", tmp_path / "o.dsz", "--model", f"{user.__name__}:build",
                   "--input-shape", "1,3,12,12"), "the model's forward pass failed")


def test_prune_searches_the_sparsity_and_warns_about_structured_ends(run_cli, user, checkpoint: Path,
                                                                     tmp_path: Path) -> None:
    out = tmp_path / "pruned.dsz"
    result = _ok(run_cli("prune", checkpoint, "-o", out, "--model", f"{user.__name__}:build", "--eval",
                         f"{user.__name__}:agreement", "--max-drop", "0.05", "--sparsity", "0.9"))
    lines = result.output.strip().splitlines()
    assert lines[0].startswith("searching the sparsity") and lines[-1].startswith("chose sparsity=")
    assert all(line.strip().startswith("sparsity=") for line in lines[1:-1]) and len(lines) - 2 <= 8
    with formats.open_dsz(out) as reader:
        assert json.loads(reader.metadata["search"])["chosen"] == lines[-1].split(":")[0].removeprefix("chose ")
    assert "warning" not in result.stderr  # unstructured
    result = run_cli("prune", checkpoint, "--sparsity", "0.5", "--granularity", "rows", "--dry-run")
    assert "stem.weight is the first layer" in result.stderr and "fc.weight is the last layer" in result.stderr


@pytest.mark.parametrize(("args", "match"), [
    (["--max-drop", "0.01"], "--max-drop needs --eval"),
    ([], "give --sparsity"),
    (["--model", "lenet5", "--sparsity", "0.5"], "--model needs --eval"),
    (["--eval", "lenet5-mnist", "--max-drop", "0.01", "--dry-run"], "leave out --dry-run"),
])
def test_prune_bad_options(run_cli, checkpoint: Path, tmp_path: Path, args: list[str], match: str) -> None:
    _error(run_cli("prune", checkpoint, "-o", tmp_path / "p.dsz", *args), match)


def test_calibrate_corrects_the_batchnorm_statistics_and_says_so(run_cli, user, checkpoint: Path,
                                                                  tmp_path: Path) -> None:
    plain, calibrated = tmp_path / "plain.dsz", tmp_path / "calibrated.dsz"
    common = ("--model", f"{user.__name__}:build", "--step", "0.2")
    _ok(run_cli("compress", checkpoint, "-o", plain, *common))
    _ok(run_cli("compress", checkpoint, "-o", calibrated, *common, "--calibrate", f"{user.__name__}:calibration",
                "--calibration-images", "32"))
    before, after = formats.load(plain), formats.load(calibrated)
    changed = sorted(k for k in before if not np.array_equal(before[k], after[k]))
    assert changed == ["bn.running_mean", "bn.running_var", "conv1.bias", "conv3.bias", "fc.bias", "stem.bias"]
    with formats.open_dsz(calibrated) as reader:
        assert "on 32 inputs" in reader.metadata["calibration"]
    # the same inputs give the same file
    again = tmp_path / "again.dsz"
    _ok(run_cli("compress", checkpoint, "-o", again, *common, "--calibrate", f"{user.__name__}:calibration",
                "--calibration-images", "32"))
    assert again.read_bytes() == calibrated.read_bytes()


def test_calibrate_needs_an_architecture_and_inputs(run_cli, user, checkpoint: Path, tmp_path: Path) -> None:
    _error(run_cli("compress", checkpoint, "-o", tmp_path / "a.dsz", "--calibrate", f"{user.__name__}:calibration"),
           "needs the architecture")
    _error(run_cli("compress", checkpoint, "-o", tmp_path / "b.dsz", "--model", f"{user.__name__}:build",
                   "--calibrate", f"{user.__name__}:agreement"), "missing 1 required positional argument")
    assert not list(tmp_path.glob("*.dsz"))
