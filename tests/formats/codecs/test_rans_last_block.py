"""Codec 6: a lane renormalises after every block, its last one included (spec/CODECS.md 4.4).

The batched decoder once retired a lane with an odd symbol count before the renormalisation that
follows its last (one-symbol) block, so such a lane could never read a word there, while the spec's
loop (and spec/reference_decoder.py) reads it. The reference writer never puts a word there (its
first-coded block starts at x = 1), so only crafted payloads differ; but formats and the spec
must agree on every payload. Here: P 1, f(a) = f(b) = 1; lane state 1 decodes 'b' (slot 1) to
x = 1 * 0 + 1 - 1 = 0; with one word 0x00000001 left, x < L and r > 0, so x = 0 * 2^32 + 1 = 1: valid.
"""

from __future__ import annotations

from formats.codecs.rans import decode_many, rans_decode

# P 1, K 1, table a b, exponents 0 0, cmin 1, cbits 0, emin 0, ebits 0 (x_0 = 1), one word 1
PAYLOAD = bytes.fromhex("01 01 01 61 01 00 01 00 00 00 01 00 00 00")


def test_even_lane_reads_after_its_last_block() -> None:
    assert rans_decode(PAYLOAD, 2, 1) == b"ba"  # block ('b', 'a'): x = 0, 0; then the word: x = 1


def test_odd_lane_reads_after_its_last_block() -> None:
    assert rans_decode(PAYLOAD, 1, 1) == b"b"  # block ('b'): x = 0; then the word: x = 1
    assert decode_many([PAYLOAD, PAYLOAD], [1, 2], [1, 1]) == [b"b", b"ba"]
