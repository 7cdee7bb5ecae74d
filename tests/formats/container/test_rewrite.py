"""with_header / strip: a new header over the same payloads; decoded tensors and deployment unchanged."""

from __future__ import annotations

import numpy as np
import pytest

import formats
from formats.errors import FormatError


def _file() -> bytes:
    rng = np.random.default_rng(0)
    tensors = {
        "conv.weight": formats.quantize_dithered(rng.normal(0, 0.1, (8, 4, 3, 3)), 0.05, seed=2, name="conv.weight"),
        "conv.bias": rng.normal(size=8).astype(np.float16),
        "fc.weight": rng.normal(size=(3, 8)).astype(np.float32),
    }
    report = {"quality": {"dense": 0.9, "pruned_winograd": 0.88}, "sparsity": {"s_wd_deployed": 0.6},
              "notes": "x" * 400}
    return formats.dumps(tensors, metadata={"task": "demo"}, recipe={"stages": [1, 2, 3], "report": report},
                         attrs={"conv.weight": {"winograd": {"m": 2, "r": 3}}})


def test_strip_keeps_every_tensor_and_the_trained_sparsity_and_drops_the_rest() -> None:
    blob = _file()
    stripped = formats.strip(blob)
    assert len(stripped) < len(blob) - 50  # the repeated notes deflate to a few bytes
    with formats.open_dsz(blob) as before, formats.open_dsz(stripped) as after:
        after.verify()
        assert [r.to_wire() for r in after.records] == [r.to_wire() for r in before.records]
        assert after.metadata == {}
        assert after.recipe == {"report": {"sparsity": {"s_wd_deployed": 0.6}}}
        assert after.producer == before.producer
        for name in before.names:
            assert before.read_payload(name) == after.read_payload(name)
    for domain in ("spatial", "winograd"):
        a, b = formats.load(blob, domain=domain), formats.load(stripped, domain=domain)
        assert all(np.array_equal(a[n], b[n]) for n in a)
    assert formats.stored_winograd_sparsity(stripped) == 0.6


def test_strip_of_a_file_without_a_stored_sparsity_drops_the_recipe() -> None:
    blob = formats.dumps({"w": np.ones(3, np.float32)}, recipe={"a": 1}, codec="raw")
    with formats.open_dsz(formats.strip(blob)) as reader:
        assert reader.recipe is None


def test_with_header_replaces_what_it_is_given_and_keeps_the_rest() -> None:
    blob = _file()
    new = formats.with_header(blob, metadata={"k": "v"})
    with formats.open_dsz(new) as reader, formats.open_dsz(blob) as old:
        assert reader.metadata == {"k": "v"} and reader.recipe == old.recipe
    assert formats.with_header(blob) == blob  # nothing replaced: the same bytes


def test_a_damaged_file_is_refused() -> None:
    blob = bytearray(_file())
    blob[-5] ^= 0xFF
    with pytest.raises(FormatError):
        formats.strip(bytes(blob))
