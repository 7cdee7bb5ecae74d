"""Every example in the docstrings of :mod:`compress.mocap` runs and gives the output it shows."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import compress.mocap

MODULES = ["compress.mocap"] + [f"compress.mocap.{m.name}" for m in pkgutil.iter_modules(compress.mocap.__path__)]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0, f"{result.failed} failing example(s) in {name}"


def test_no_torch_needed():
    import subprocess
    import sys

    code = ("import sys; sys.modules['torch'] = None\n"
            "import compress.mocap\n"
            f"for name in {MODULES!r}: __import__(name)\n")
    subprocess.run([sys.executable, "-c", code], check=True)
