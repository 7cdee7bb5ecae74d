"""Reader.read_many: the batched path gives the arrays and the errors of per-tensor read()."""

from __future__ import annotations

import numpy as np
import pytest

import formats
from formats.container import reader as reader_module
from formats.container.payload import crc32
from formats.errors import ChecksumError, CodecError, TensorNotFoundError


def _tensors() -> dict[str, object]:
    rng = np.random.default_rng(3)
    sparse = np.zeros((4, 6), np.float32)
    sparse[1, 2] = 2.5
    return {
        "conv": formats.quantize_dithered(rng.normal(0, 0.1, (8, 4, 3, 3)), 0.05, seed=5, name="conv"),
        "fc": formats.quantize_dithered(rng.normal(0, 0.05, (64, 300)), 0.04, seed=6, name="fc"),
        "tiny": formats.quantize_dithered(rng.normal(0, 0.1, (5,)), 0.1, seed=7, name="tiny"),
        "bias": rng.normal(size=8).astype(np.float32),
        "steps": np.arange(-3, 400, dtype=np.int16),
        "mask": formats.SparseTensor(sparse),
    }


@pytest.mark.parametrize("codec", ["rans-zs", "rans", "rans-ctx", "auto", "zstd"])
def test_read_many_equals_read(codec: str) -> None:
    blob = formats.dumps(_tensors(), codec=codec, format_major=1)
    with formats.open_dsz(blob) as reader:
        one = {name: reader.read(name, widen_bfloat16=True) for name in reader.names}
        many = reader.read_many(widen_bfloat16=True)
        assert list(many) == list(reader.names)
        for name in reader.names:
            assert many[name].dtype == one[name].dtype and many[name].tobytes() == one[name].tobytes()
        part = reader.read_many(["fc", "bias", "fc"])
        assert list(part) == ["fc", "bias"] and part["fc"].tobytes() == one["fc"].tobytes()
        with pytest.raises(TensorNotFoundError):
            reader.read_many(["fc", "nope"])
    loaded = formats.load(blob)
    assert all(loaded[n].tobytes() == one[n].tobytes() for n in one)


def _corrupt(dsz, blob: bytes, name: str, fix_crc: bool) -> bytes:
    """Flip a bit near the end of one tensor's payload; with ``fix_crc`` the header CRC follows it."""
    header, payloads = dsz.split(blob)
    start = 0
    for rec in header["tensors"]:
        if rec["name"] == name:
            body = bytearray(payloads[start : start + rec["length"]])
            body[-2] ^= 0x10
            payloads = payloads[:start] + bytes(body) + payloads[start + rec["length"] :]
            if fix_crc:
                rec["crc32"] = crc32(bytes(body))
            break
        start += rec["length"]
    return dsz.build(header, payloads)


@pytest.mark.parametrize("fix_crc", [False, True])
def test_errors_match_per_tensor_read(dsz, fix_crc: bool) -> None:
    blob = _corrupt(dsz, formats.dumps(_tensors(), codec="rans-zs", format_major=1), "fc", fix_crc)
    with formats.open_dsz(blob) as reader:
        with pytest.raises((ChecksumError, CodecError)) as single:
            reader.read("fc")
        with pytest.raises(type(single.value)) as batched:
            reader.read_many()
        assert str(batched.value) == str(single.value)
        assert reader.read_many(["conv", "bias"])["bias"].size == 8  # other tensors stay readable
        with pytest.raises(type(single.value)):
            reader.verify()


def test_verify_decodes_in_bounded_batches_in_file_order(monkeypatch: pytest.MonkeyPatch) -> None:
    from formats.container.reader import Reader

    blob = formats.dumps(_tensors(), codec="auto", format_major=1)
    calls: list[list[str]] = []
    original = Reader.read_many

    def recording(self, names=None, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(list(names))
        return original(self, names, **kwargs)

    monkeypatch.setattr(Reader, "read_many", recording)
    with formats.open_dsz(blob) as reader:
        sizes = {r.name: r.decoded_size for r in reader.records}
        reader.verify(batch_bytes=2000)
        assert [name for batch in calls for name in batch] == list(reader.names)
        assert len(calls) > 1
        assert all(len(batch) == 1 or sum(sizes[n] for n in batch) <= 2000 for batch in calls)


def test_read_many_decodes_in_bounded_groups_in_file_order(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(3)
    tensors = {f"t{i}": (rng.integers(0, 5, size=size) * (rng.random(size) < 0.3)).astype(np.uint8)
               for i, size in enumerate([300, 700, 200, 900, 100, 50])}
    blob = formats.dumps(tensors, codec="rans-ctx", format_major=1)
    seen: list[int] = []
    real = reader_module.decode_batch

    def recording(requests, labels=None):  # noqa: ANN001, ANN202 - a spy
        seen.append(sum(r[2] for r in requests))
        return real(requests, labels)

    monkeypatch.setattr(reader_module, "READ_BATCH_BYTES", 1000)
    monkeypatch.setattr(reader_module, "decode_batch", recording)
    with formats.open_dsz(blob) as r:
        got = r.read_many()
        one_by_one = {name: r.read(name) for name in tensors}
    assert seen == [1000, 200, 1000, 50]  # 300 + 700 | 200 (+ 900 would pass 1000) | 900 + 100 | 50
    assert all(np.array_equal(got[n], one_by_one[n]) and np.array_equal(got[n], tensors[n]) for n in tensors)
