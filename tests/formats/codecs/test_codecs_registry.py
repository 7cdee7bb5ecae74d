"""Codec names and the "auto" choice."""

from __future__ import annotations

import numpy as np
import pytest

from formats.codecs import (
    CODECS,
    CTX_AUTO_MIN,
    LZW_AUTO_LIMIT,
    codec_id_from_name,
    default_candidates,
    encode_auto,
    encode_best,
    get_codec,
)
from formats.errors import UnknownIdError
from formats.ids import CodecId


@pytest.mark.parametrize(
    "name,codec_id",
    [("raw", 0), ("zstd", 1), ("brotli", 2), ("bzip2", 3), ("lzma", 4), ("lzw", 5), ("rans", 6), ("RANS", 6)]
    + [("rans-zs", 7), ("rans-ctx", 8), ("RANS-CTX", 8)],
)
def test_names(name: str, codec_id: int) -> None:
    assert codec_id_from_name(name) == codec_id


def test_unknown_name_lists_known_ones() -> None:
    with pytest.raises(UnknownIdError, match="raw, zstd, brotli, bzip2, lzma, lzw, rans, rans-zs, rans-ctx"):
        codec_id_from_name("gzip")


def test_unknown_id() -> None:
    with pytest.raises(UnknownIdError, match="unknown codec id 9"):
        get_codec(9)


def test_encode_best_picks_smallest_and_decodes() -> None:
    sym = np.where(np.random.default_rng(0).random(50_000) < 0.8, 0, 3).astype(np.uint8).tobytes()
    codec_id, payload = encode_best(sym, 1)
    sizes = {c: len(get_codec(c).encode(sym, 1)) for c in CODECS}
    assert len(payload) == min(sizes.values())
    assert codec_id == min(c for c, s in sizes.items() if s == len(payload))
    assert get_codec(codec_id).decode(payload, len(sym), 1) == sym


def test_encode_best_ties_go_to_lowest_id() -> None:
    # raw and rANS both encode the empty input as 0 bytes; the order of the candidates must not matter
    codec_id, payload = encode_best(b"", 1, candidates=[CodecId.RANS, CodecId.RAW])
    assert (codec_id, payload) == (CodecId.RAW, b"")


def test_encode_best_candidates_and_lzw_rule() -> None:
    assert encode_best(b"abc" * 100, 1, candidates=[CodecId.ZSTD])[0] == CodecId.ZSTD
    assert CodecId.LZW in default_candidates(LZW_AUTO_LIMIT)
    assert CodecId.LZW not in default_candidates(LZW_AUTO_LIMIT + 1)
    assert CodecId.RANS_CTX not in default_candidates(CTX_AUTO_MIN - 1)
    assert CodecId.RANS_CTX in default_candidates(CTX_AUTO_MIN)
    with pytest.raises(UnknownIdError):
        encode_best(b"abc", 1, candidates=[99])


def test_auto_in_the_container_tries_the_default_candidates_only() -> None:
    import formats

    small = (np.arange(600) % 5).astype(np.uint8)  # under CTX_AUTO_MIN bytes
    with formats.open_dsz(formats.dumps({"s": small})) as reader:
        assert int(reader.record("s").codec) in default_candidates(small.nbytes)
    big = np.random.default_rng(0).integers(0, 3, 5000).astype(np.uint8) * (np.arange(5000) % 4 == 0)
    with formats.open_dsz(formats.dumps({"b": big.astype(np.uint8)})) as reader:
        assert int(reader.record("b").codec) == encode_auto(big.tobytes(), 1)[0]
