"""The lane loops of codecs 6 and 8 give the same words as the straightforward step ``x' = (x // f << P) + x % f + c``
(the loops were rewritten for speed; payloads must not change)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from formats.codecs.rans import _encode_lanes, plan_stream
from formats.codecs.rans_ctx_lanes import PhaseTokens, encode_lanes, token_grid
from formats.codecs.rans_format import BLOCK, STATE_START, WORD_BITS
from formats.codecs.rans_table import slot_starts


def reference_ctx_lanes(phases: list[PhaseTokens], lanes: int) -> tuple[np.ndarray, np.ndarray, bytes]:
    """Codec 8's lane loop as it was written first (one renormalisation test and two plain steps per block)."""
    x = np.full(lanes, STATE_START, dtype=np.uint64)
    values: list[np.ndarray] = []
    emits: list[np.ndarray] = []
    wbits, wmask = np.uint64(WORD_BITS), np.uint64((1 << WORD_BITS) - 1)
    for phase in reversed(phases):
        f = token_grid(phase.freq.astype(np.uint64), lanes, 1)
        c = token_grid(phase.start.astype(np.uint64), lanes, 0)
        p = token_grid(phase.precision.astype(np.uint64), lanes, 0)
        for b in range(f.shape[0] // BLOCK - 1, -1, -1):
            r0, r1 = BLOCK * b, BLOCK * b + 1
            bits = p[r0] + p[r1]
            coded = bits > 0
            shift = np.where(coded, np.uint64(64) - bits, np.uint64(63))
            need = coded & ((x >> shift) >= f[r0] * f[r1])
            values.append(x & wmask)
            emits.append(need)
            x = np.where(need, x >> wbits, x)
            for row in (r1, r0):
                q = x // f[row]
                x = (q << p[row]) + (x - q * f[row]) + c[row]
    if not values:
        return x, np.zeros(lanes, dtype=np.int64), b""
    emitted = np.stack(emits[::-1]).T
    words = np.stack(values[::-1]).T[emitted]
    return x, emitted.sum(axis=1).astype(np.int64), words.astype("<u4").tobytes()


def reference_rans_lanes(sym: np.ndarray, table, alphabet: int, k: int) -> tuple[np.ndarray, np.ndarray, bytes]:  # noqa: ANN001
    """Codec 6's lane loop as it was written first."""
    n, p = sym.size, table.precision
    freq = np.zeros(alphabet, dtype=np.uint64)
    cum = np.zeros(alphabet, dtype=np.uint64)
    freq[table.symbols] = table.freqs
    cum[table.symbols] = slot_starts(table)
    rows = -(-n // k)
    rows += rows % BLOCK
    grid = np.zeros(rows * k, dtype=sym.dtype)
    grid[:n] = sym
    grid = grid.reshape(rows, k)
    lane_len = np.full(k, n // k, dtype=np.int64)
    lane_len[: n % k] += 1
    x = np.full(k, STATE_START, dtype=np.uint64)
    slots, zero, shift_p = np.uint64(1 << p), np.uint64(0), np.uint64(p)
    limit_two = np.uint64(64 - 2 * p)
    wbits, wmask = np.uint64(WORD_BITS), np.uint64((1 << WORD_BITS) - 1)
    emitted: list[np.ndarray] = []
    lanes_of: list[np.ndarray] = []
    full_rows = int(lane_len.min())
    for b in range(rows // BLOCK - 1, -1, -1):
        i0, i1 = BLOCK * b, BLOCK * b + 1
        f0, f1 = freq[grid[i0]], freq[grid[i1]]
        c0, c1 = cum[grid[i0]], cum[grid[i1]]
        if i1 >= full_rows:
            has0, has1 = i0 < lane_len, i1 < lane_len
            f0, c0 = np.where(has0, f0, slots), np.where(has0, c0, zero)
            f1, c1 = np.where(has1, f1, slots), np.where(has1, c1, zero)
        need = x >= (f0 * f1) << limit_two
        if i1 >= full_rows:
            need &= has0
        hit = np.flatnonzero(need)
        if hit.size:
            emitted.append(x[hit] & wmask)
            lanes_of.append(hit)
            x[hit] >>= wbits
        for f, c in ((f1, c1), (f0, c0)):
            q = x // f
            x = (q << shift_p) + (x - q * f) + c
    if not emitted:
        return x, np.zeros(k, dtype=np.int64), b""
    words = np.concatenate(emitted)[::-1]
    lanes = np.concatenate(lanes_of)[::-1]
    order = np.argsort(lanes, kind="stable")
    return x, np.bincount(lanes, minlength=k).astype(np.int64), words[order].astype("<u4").tobytes()


def _same(a: tuple[np.ndarray, np.ndarray, bytes], b: tuple[np.ndarray, np.ndarray, bytes]) -> bool:
    return a[0].tolist() == b[0].tolist() and a[1].tolist() == b[1].tolist() and a[2] == b[2]


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 3000), st.integers(1, 40), st.floats(0.0, 0.98))
def test_rans_lanes_match_reference(seed: int, n: int, k: int, zero_share: float) -> None:
    rng = np.random.default_rng(seed)
    sym = np.where(rng.random(n) < zero_share, 5, rng.geometric(0.3, n)).astype(np.uint8)
    plan = plan_stream(sym.tobytes(), 1)
    if plan.table is None or plan.table.symbols.size == 1:
        return
    k = min(k, n)
    assert _same(_encode_lanes(sym, plan.table, 256, k), reference_rans_lanes(sym, plan.table, 256, k))


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 2000), st.integers(1, 30))
def test_ctx_lanes_match_reference(seed: int, n: int, lanes: int) -> None:
    rng = np.random.default_rng(seed)
    phases = []
    for size in (n, 2 * n + 1):
        precision = rng.integers(0, 17, size).astype(np.uint64)  # 0: identity tokens (f = 1, c = 0)
        total = np.uint64(1) << precision
        freq = np.maximum(np.uint64(1), (rng.random(size) * total).astype(np.uint64))
        start = (rng.random(size) * (total - freq + np.uint64(1))).astype(np.uint64)
        phases.append(PhaseTokens(freq, np.minimum(start, total - freq), precision))
    assert _same(encode_lanes(phases, lanes), reference_ctx_lanes(phases, lanes))
