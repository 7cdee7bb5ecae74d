"""Shared fixtures: where the real data lives, and whether its absence fails or skips."""

from __future__ import annotations

import os
import sys
import textwrap
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from types import ModuleType

import pytest
import torch

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


@pytest.fixture()
def one_torch_thread() -> Iterator[None]:
    """One torch thread for the test (what the figures and byte counts assume), restored afterwards.

    A module opts in with ``pytestmark = pytest.mark.usefixtures("one_torch_thread")``.
    """
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def import_source(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str, str], AbstractContextManager[ModuleType]]:
    """``import_source(prefix, source)``: a context in which ``source`` is an importable module (a user's
    ``module:function`` code), removed from ``sys.path`` and ``sys.modules`` afterwards; its name is unique."""

    @contextmanager
    def imported(prefix: str, source: str) -> Iterator[ModuleType]:
        folder = tmp_path_factory.mktemp(prefix)
        name = f"{prefix}_{abs(hash(folder)) % 10**8}"
        (folder / f"{name}.py").write_text(textwrap.dedent(source))
        with pytest.MonkeyPatch.context() as patch:
            patch.syspath_prepend(str(folder))
            try:
                yield __import__(name)
            finally:
                sys.modules.pop(name, None)

    return imported


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Path to ``../shared/data``; skips when absent, fails when DUALSPARSE_REQUIRE_DATA=1 (CI)."""
    if not SHARED_DATA.is_dir():
        message = f"real data not found at {SHARED_DATA}"
        if os.environ.get("DUALSPARSE_REQUIRE_DATA") == "1":
            pytest.fail(message + " and DUALSPARSE_REQUIRE_DATA=1")
        pytest.skip(message)
    return SHARED_DATA


def build_bomb(count: int = 400, size: int = 1 << 24) -> bytes:
    """A valid ``.dsz`` file of ``count`` all-zero uint8 tensors of ``size`` bytes sharing one tiny rANS payload.

    Every record obeys the per-payload expansion rule (spec 10.2); only their sum is absurd: the
    default 400 x 16 MiB declare 6.7 GB in about 4.9 KB (issue 12's "many-tensor bomb").
    """
    import struct
    import zlib

    import msgpack
    import numpy as np

    import formats
    from formats.container.preamble import MAGIC, PREAMBLE_SIZE, header_crc32
    from formats.container.wire import canonical, pack

    blob = formats.dumps({"z": np.zeros(size, np.uint8)}, codec="rans", format_major=1)
    stored_length = struct.unpack_from("<Q", blob, 16)[0]
    header = msgpack.unpackb(zlib.decompress(blob[PREAMBLE_SIZE : PREAMBLE_SIZE + stored_length]), raw=False)
    payload = blob[PREAMBLE_SIZE + stored_length :]
    (record,) = header["tensors"]
    header["tensors"] = [{**record, "name": f"z{i:03d}"} for i in range(count)]
    raw = pack(canonical(header))
    stored = zlib.compress(raw, 9)
    fields = struct.pack("<HHIQQI", 1, 0, 0, len(stored), count * len(payload), len(raw))
    return MAGIC + fields + struct.pack("<I", header_crc32(fields, stored)) + stored + payload * count


@pytest.fixture(scope="session")
def bomb_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """:func:`build_bomb` written to a file."""
    path = tmp_path_factory.mktemp("bomb") / "bomb.dsz"
    path.write_bytes(build_bomb())
    return path


@pytest.fixture(scope="session")
def small_bomb_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """:func:`build_bomb` with 20 tensors: 320 MiB declared, just above the default 256 MiB floor."""
    path = tmp_path_factory.mktemp("bomb") / "small_bomb.dsz"
    path.write_bytes(build_bomb(count=20))
    return path
