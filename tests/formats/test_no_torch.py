"""formats/ must import, write and decode on a machine without torch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]

BLOCK_TORCH = textwrap.dedent(
    """
    import sys

    class _NoTorch:
        def find_spec(self, name, path=None, target=None):
            if name == "torch" or name.startswith("torch."):
                raise ImportError(f"torch is blocked in this test ({name})")
            return None

    sys.meta_path.insert(0, _NoTorch())
    """
)

SCRIPT = textwrap.dedent(
    """
    import sys, tempfile, os
    import numpy as np
    try:
        import torch  # noqa: F401
    except ImportError:
        pass
    else:
        raise SystemExit("torch was importable: the blocker does not work")

    import formats
    import formats.codecs, formats.container, formats.dither, formats.loader, formats.quantize, formats.winograd

    w = np.random.default_rng(0).normal(0, 0.1, (8, 4, 3, 3))
    q = formats.quantize_dithered(w, formats.step_for_bits(w, 4), seed=5, name="conv.weight")
    path = os.path.join(tempfile.mkdtemp(), "m.dsz")
    formats.save(path, {"conv.weight": q, "bias": np.zeros(8, np.float32)},
                 attrs={"conv.weight": {"winograd": {"m": 2, "r": 3}}})
    with formats.open_dsz(path) as reader:
        reader.verify()
        spatial = reader.read("conv.weight")
    assert spatial.tobytes() == formats.dequantize(q).tobytes()
    wino = formats.load(path, domain="winograd", sparsity=0.5)
    assert wino["conv.weight"].shape == (8, 4, 4, 4)
    leaked = sorted(m for m in sys.modules if m == "torch" or m.startswith("torch."))
    assert not leaked, leaked
    print("ok")
    """
)


def test_formats_work_without_torch(tmp_path: Path) -> None:
    (tmp_path / "sitecustomize.py").write_text(BLOCK_TORCH)
    env = {"PYTHONPATH": f"{tmp_path}{os.pathsep}{REPO_ROOT}", "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "ok"


def test_no_module_under_formats_mentions_torch_imports() -> None:
    offenders = [
        str(path.relative_to(REPO_ROOT))
        for path in (REPO_ROOT / "formats").rglob("*.py")
        if any(line.lstrip().startswith(("import torch", "from torch")) for line in path.read_text().splitlines())
    ]
    assert offenders == []


GOLDEN_SCRIPT = textwrap.dedent(
    """
    import hashlib, json, sys
    from pathlib import Path
    import numpy as np
    import formats
    import importlib.util

    golden = Path(sys.argv[1])
    spec = importlib.util.spec_from_file_location("reference_decoder", golden.parents[1] / "reference_decoder.py")
    reference = sys.modules["reference_decoder"] = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(reference)
    count = 0
    for path in sorted(golden.glob("*.dsz")):
        expected = json.loads(path.with_suffix(".json").read_text())
        ours = reference.decode_file(path)
        with formats.open_dsz(path) as reader:
            for row in expected["tensors"]:
                array = reader.read(row["name"])
                assert hashlib.sha256(array.tobytes()).hexdigest() == row["sha256"], (path.name, row["name"])
                assert ours[row["name"]].tobytes() == array.tobytes(), (path.name, row["name"])
                count += 1
        formats.load(path, domain="winograd")
    leaked = sorted(m for m in sys.modules if m == "torch" or m.startswith("torch."))
    assert not leaked, leaked
    print(f"ok {count}")
    """
)


def test_every_golden_vector_decodes_without_torch(tmp_path: Path) -> None:
    (tmp_path / "sitecustomize.py").write_text(BLOCK_TORCH)
    golden = REPO_ROOT / "spec" / "vectors" / "golden"
    expected = sum(len(json.loads(p.read_text())["tensors"]) for p in golden.glob("*.json"))
    env = {"PYTHONPATH": f"{tmp_path}{os.pathsep}{REPO_ROOT}", "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-c", GOLDEN_SCRIPT, str(golden)], cwd=tmp_path, env=env, capture_output=True, text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == f"ok {expected}" and expected > 50
