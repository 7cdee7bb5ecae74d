"""--max-drop on the pretrained LeNet-5 and ResNet-20: the smallest post-training file within one accuracy point."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

import formats
from compress.entry_points import resolve_evaluation

pytestmark = [pytest.mark.slow, pytest.mark.data]

CASES = [
    pytest.param("mnist-lenet-dhl0917/LeNet_MNIST_params.pkl", "lenet5", "lenet5-mnist", id="lenet5"),
    pytest.param("cifar10-resnet-akamaster/resnet20-12fca82f.th", "resnet20", "resnet20-cifar10", id="resnet20"),
]
LINE = re.compile(r"^  bits=(\d+): ([\d,]+) bytes, [\d.]+x, accuracy ([\d.]+), drop ([+-][\d.]+) "
                  r"\((within|over) budget\)$")


@pytest.mark.parametrize(("relative", "model", "task"), CASES)
def test_max_drop_finds_the_coarsest_bits_within_one_point(run_cli: Callable[..., Result], shared_data: Path,
                                                           tmp_path: Path, relative: str, model: str,
                                                           task: str) -> None:
    out = tmp_path / f"{model}.dsz"
    result = run_cli("compress", shared_data / relative, "-o", out, "--model", model, "--eval", task,
                     "--data-root", shared_data, "--max-drop", "0.01", "--threads", "1")
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    curve = [LINE.match(line) for line in lines[1:-1]]
    assert all(curve) and len(curve) == 4  # bisection over 16..2
    tried = {int(m[1]): (int(m[2].replace(",", "")), float(m[3]), m[5] == "within") for m in curve if m}
    chosen = int(re.match(r"chose bits=(\d+):", lines[-1])[1])
    assert tried[chosen][2] and not tried[chosen - 1][2]
    assert tried[chosen][0] == min(size for size, _, ok in tried.values() if ok)
    with formats.open_dsz(out) as reader:
        assert json.loads(reader.metadata["search"])["chosen"] == f"bits={chosen}"
        assert formats.winograd_tiles(reader)
    evaluation = resolve_evaluation(task, data_root=shared_data)
    assert evaluation.score(formats.load(out)) == pytest.approx(tried[chosen][1], abs=5e-5)  # printed to 4 places
