"""Mutation fuzzing: a damaged file either reads correctly or raises a FormatError, nothing else.

The default run checks a bounded set of mutants; ``pytest -m slow`` (or the env var
``DUALSPARSE_FUZZ_ITERS=N``) runs a long campaign.
"""

from __future__ import annotations

import os
import random
from typing import Any

import pytest

import formats
from formats.errors import FormatError

DEFAULT_ITERS = 300
LONG_ITERS = int(os.environ.get("DUALSPARSE_FUZZ_ITERS", "20000"))
INTERESTING_INTS = [0, 1, 2, 7, 255, 256, 2**16, 2**31, 2**32, 2**63, 2**64 - 1, -1, -(2**63)]


def _byte_mutant(rng: random.Random, blob: bytes) -> bytes:
    data = bytearray(blob)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(5)
        pos = rng.randrange(len(data) + 1)
        if op == 0 and data:
            data[pos % len(data)] ^= 1 << rng.randrange(8)
        elif op == 1 and data:
            data[pos % len(data)] = rng.randrange(256)
        elif op == 2:
            data[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
        elif op == 3:
            del data[pos : pos + rng.randint(1, 16)]
        else:
            data = data[:pos]
    return bytes(data)


def _random_value(rng: random.Random) -> Any:
    return rng.choice(
        [rng.choice(INTERESTING_INTS), rng.random() * 10 - 5, "", "x" * rng.randint(1, 50), b"\0" * rng.randint(0, 40),
         None, True, [], {}, [rng.choice(INTERESTING_INTS)] * rng.randint(1, 20), {"k": [1]}]
    )


def _mutate_value(rng: random.Random, value: Any) -> Any:
    """Replace one leaf (or container) somewhere inside ``value``."""
    if isinstance(value, dict) and value and rng.random() < 0.8:
        key = rng.choice(sorted(value))
        if rng.random() < 0.1:
            value.pop(key)
        else:
            value[key] = _mutate_value(rng, value[key])
        return value
    if isinstance(value, list) and value and rng.random() < 0.8:
        i = rng.randrange(len(value))
        value[i] = _mutate_value(rng, value[i])
        return value
    return _random_value(rng)


def _header_mutant(rng: random.Random, dsz: Any) -> bytes:
    import msgpack

    header = msgpack.unpackb(msgpack.packb(dsz.header, use_bin_type=True), raw=False)
    for _ in range(rng.randint(1, 3)):
        header = _mutate_value(rng, header)
    try:
        return dsz.build(header, dsz.payloads)
    except (ValueError, TypeError):  # e.g. the mutant is not a msgpack-able value
        return dsz.blob


def _check(blob: bytes) -> None:
    try:
        with formats.open_dsz(blob) as reader:
            reader.verify()
            for name in reader.names:
                if reader.record(name).kind == formats.TensorKind.QUANTIZED:
                    reader.read_quantized(name)
    except FormatError:
        pass


def _campaign(dsz: Any, iters: int, seed: int) -> None:
    rng = random.Random(seed)
    blobs = [dsz.blob, dsz.sample_blob("auto")]
    for i in range(iters):
        mutant = _header_mutant(rng, dsz) if i % 2 else _byte_mutant(rng, rng.choice(blobs))
        try:
            _check(mutant)
        except Exception as exc:  # report which mutant broke the reader
            raise AssertionError(f"mutant {i} (seed {seed}) raised {type(exc).__name__}: {exc}") from exc


def test_bounded_mutation_fuzz(dsz: Any) -> None:
    _campaign(dsz, DEFAULT_ITERS, seed=1234)


@pytest.mark.slow
def test_long_mutation_fuzz_campaign(dsz: Any) -> None:
    _campaign(dsz, LONG_ITERS, seed=int(os.environ.get("DUALSPARSE_FUZZ_SEED", "99")))


@pytest.mark.skipif("DUALSPARSE_FUZZ_ITERS" not in os.environ, reason="set DUALSPARSE_FUZZ_ITERS to run")
def test_fuzz_campaign_from_env(dsz: Any) -> None:
    _campaign(dsz, LONG_ITERS, seed=int(os.environ.get("DUALSPARSE_FUZZ_SEED", "7")))
