"""Paths of the spec's vectors and a loader for its scripts (spec/ is not a package)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

SPEC = Path(__file__).resolve().parents[2] / "spec"
VECTORS = SPEC / "vectors"
GOLDEN = sorted(p.stem for p in (VECTORS / "golden").glob("*.dsz"))
NEGATIVE = json.loads((VECTORS / "negative" / "expected.json").read_text())["vectors"]


def load_spec_module(name: str) -> ModuleType:
    """Import spec/NAME.py once, under the module name ``spec_NAME``."""
    key = f"spec_{name}"
    if key not in sys.modules:
        spec = importlib.util.spec_from_file_location(key, SPEC / f"{name}.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[key] = module
        spec.loader.exec_module(module)
    return sys.modules[key]
