"""Import NNCodec on a machine without its dataset-helper dependencies (torchvision, OpenCV, ...).

``nncodec.nnc`` imports torchvision, OpenCV, h5py, scikit-learn, pandas and others at import time for its
dataset and model-zoo helpers; its coder (``nnc.compress`` / ``nnc.decompress`` on a dict of numpy arrays)
uses none of them. ``pip install nncodec`` pins a torchvision that pulls a CUDA torch of several GB, and a
torchvision built for another torch fails to load its operators. :func:`import_nncodec_coder` therefore
imports NNCodec as it is and, only if one of those packages is missing, retries with empty stand-in modules
for the missing ones (any attribute of a stand-in is a do-nothing class), so the coder runs unchanged. This
lives with the benchmark, not in the library.

Example:
    >>> sorted(DATASET_HELPERS)[:2]
    ['cv2', 'h5py']
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import sys
import types
from collections.abc import Callable
from typing import Any

DATASET_HELPERS = ("torchvision", "cv2", "h5py", "sklearn", "ptflops", "torchmetrics", "pandas", "tqdm")
"""Packages NNCodec imports for its dataset and model-zoo helpers only."""


class _StandInMeta(type):
    def __getattr__(cls, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return _StandInMeta(name, (_StandIn,), {})


class _StandIn(metaclass=_StandInMeta):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def __call__(self, *args: Any, **kwargs: Any) -> _StandIn:
        return _StandIn()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return _StandInMeta(name, (_StandIn,), {})


def _module_getattr(name: str) -> Any:
    if name.startswith("__"):
        raise AttributeError(name)
    return _StandInMeta(name, (_StandIn,), {})


class _StandInFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def __init__(self, packages: tuple[str, ...]) -> None:
        self.packages = packages

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        if fullname.split(".")[0] in self.packages:
            return importlib.machinery.ModuleSpec(fullname, self, is_package=True)
        return None

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        module = types.ModuleType(spec.name)
        module.__path__ = []  # type: ignore[attr-defined]
        module.__getattr__ = _module_getattr  # type: ignore[method-assign]
        return module

    def exec_module(self, module: types.ModuleType) -> None:
        pass


def import_nncodec_coder() -> tuple[Callable[..., object], Callable[..., object], tuple[str, ...]]:
    """``(compress, decompress, stand-ins used)`` of ``nncodec.nnc``; raises what the import raises otherwise."""
    try:
        from nncodec.nnc import compress, decompress

        return compress, decompress, ()
    except ModuleNotFoundError as exc:
        if (exc.name or "").split(".")[0] not in DATASET_HELPERS:
            raise
    for name in [m for m in sys.modules if m.startswith("nncodec")]:
        del sys.modules[name]  # the failed import left partial modules behind
    missing = tuple(p for p in DATASET_HELPERS if importlib.util.find_spec(p) is None)
    sys.meta_path.insert(0, _StandInFinder(missing))
    from nncodec.nnc import compress, decompress

    return compress, decompress, missing
