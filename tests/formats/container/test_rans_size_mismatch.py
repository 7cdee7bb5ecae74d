"""A rANS tensor whose record claims another element count than was coded: rejected by the container.

A codec-6/7 payload does not record its symbol count, and from state 1 the most frequent symbol decodes
for free (spec/CODECS.md), so a tensor ending in its most frequent symbol decodes to a longer or shorter
shape without a codec error. The record's ``sha256_64`` of the decoded tensor catches it: every read path
(``read``, ``read_many``, ``verify``, ``load``) raises a :class:`FormatError`, here ChecksumError when the
codec passes and CodecError when it does not.
"""

from __future__ import annotations

import copy
import os
from typing import Any

import numpy as np
import pytest

import formats
from formats.codecs import get_codec
from formats.errors import ChecksumError, CodecError, FormatError

CODECS = ("rans", "rans-zs")


def _tensors() -> dict[str, Any]:
    rng = np.random.default_rng(8)
    levels = np.where(rng.random(5000) < 0.8, 0, rng.integers(1, 9, 5000)).astype(np.uint8)
    levels[-600:] = 0  # ends in the most frequent symbol
    w = np.where(rng.random(4096) < 0.85, 0.0, rng.normal(0, 0.2, 4096))
    w[-500:] = 0.0
    return {
        "levels": levels,
        "q": formats.quantize_dithered(w, 0.05, seed=4, name="q"),
        "other": np.arange(6, dtype=np.float32),
    }


def _reshaped(dsz, codec: str, name: str, count: int) -> bytes:
    """The file with tensor ``name`` declared as ``count`` elements (1-d); payloads, CRCs, digests kept."""
    header, payloads = dsz.split(formats.dumps(_tensors(), codec=codec, format_major=1))
    header = copy.deepcopy(header)
    record = next(r for r in header["tensors"] if r["name"] == name)
    record["shape"] = [count]
    return dsz.build(header, payloads)


def _codec_passes(blob: bytes, name: str) -> bool:
    """Whether the codec alone accepts the payload at the declared size."""
    with formats.open_dsz(blob) as reader:
        record = reader.record(name)
        try:
            get_codec(record.codec).decode(reader.read_payload(name), record.stored_size, record.stored_itemsize)
        except CodecError:
            return False
    return True


@pytest.mark.parametrize("codec", CODECS)
@pytest.mark.parametrize("name,size", [("levels", 5000), ("q", 4096)])
@pytest.mark.parametrize("delta", [-4000, -2000, -200, -1, 1, 3, 64])
def test_a_size_the_codec_cannot_see_is_caught_by_the_digest(dsz, codec: str, name: str, size: int, delta: int,
                                                              tmp_path) -> None:
    blob = _reshaped(dsz, codec, name, size + delta)
    expected = ChecksumError if _codec_passes(blob, name) else CodecError
    with formats.open_dsz(blob) as reader:
        assert reader.read("other").tolist() == list(range(6))  # the other tensors still read
        with pytest.raises(expected) as caught:
            reader.read(name)
        if expected is ChecksumError:
            assert "SHA-256" in str(caught.value)
        with pytest.raises(expected):
            reader.verify()
        with pytest.raises(expected):
            reader.read_many()
        if name == "q":
            with pytest.raises(expected):
                reader.read_quantized(name)
    path = os.path.join(tmp_path, "m.dsz")
    with open(path, "wb") as f:
        f.write(blob)
    with pytest.raises(FormatError):
        formats.load(path)


def test_the_free_symbols_really_pass_the_codec(dsz) -> None:
    """The case above is not hypothetical: for each codec some wrong sizes decode without a codec error
    (and cutting into the symbols that cost bits does not)."""
    for codec in CODECS:
        for name, size in (("levels", 5000), ("q", 4096)):
            deltas = (-200, -1, 1, 3, 64)
            assert any(_codec_passes(_reshaped(dsz, codec, name, size + d), name) for d in deltas), (codec, name)
            assert not _codec_passes(_reshaped(dsz, codec, name, size - 2000), name)


@pytest.mark.parametrize("codec", CODECS)
def test_the_untouched_file_reads(dsz, codec: str) -> None:
    blob = formats.dumps(_tensors(), codec=codec, format_major=1)
    with formats.open_dsz(blob) as reader:
        reader.verify()
        assert reader.read("levels").tobytes() == _tensors()["levels"].tobytes()
