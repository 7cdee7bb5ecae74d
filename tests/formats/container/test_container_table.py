"""The version 2.0 tensor table (spec 4.8): front coding, byte planes, checks, and files read in both versions."""

from __future__ import annotations

import hashlib
import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import formats
from formats.container.table import from_planes, front_code, front_decode, has_crc, to_planes, to_table
from formats.errors import ChecksumError, FormatError, HeaderError, LayoutError

NAMES = st.lists(st.text(min_size=1, max_size=12), max_size=12, unique=True)


@given(NAMES)
def test_front_coding_round_trips_and_uses_the_longest_prefix(names: list[str]) -> None:
    prefixes, suffixes = front_code(names)
    assert front_decode(prefixes, suffixes) == names
    for j in range(1, len(names)):
        previous, name = names[j - 1].encode(), names[j].encode()
        longer = prefixes[j] + 1
        grows = longer <= min(len(previous), len(name)) and previous[:longer] == name[:longer]
        assert not grows or (longer < len(previous) and 0x80 <= previous[longer] <= 0xBF)


@given(st.lists(st.integers(0, 2**64 - 1), max_size=20))
def test_byte_planes_round_trip(values: list[int]) -> None:
    planes = to_planes(values, 8)
    assert len(planes) == 8 * len(values)
    assert list(struct.unpack(f"<{len(values)}Q", from_planes(planes, 8))) == values


def test_front_coding_backs_off_from_a_split_character() -> None:
    assert front_code(["\u00e9", "\u00ea"]) == ([0, 0], ["\u00e9", "\u00ea"])  # C3 A9, C3 AA share one byte


@pytest.mark.parametrize(("prefixes", "suffixes", "match"), [
    ([1], ["a"], "name_prefix\\[0\\] must be 0"),
    ([0, 3], ["ab", "c"], "longer than the previous name"),
    ([0, 1], ["\u00e9", "x"], "splits a UTF-8 character"),
    ([0, True], ["ab", "c"], "must be an integer"),
    ([0], [b"ab"], "must be a string"),
])
def test_bad_front_coding_is_a_header_error(prefixes: list, suffixes: list, match: str) -> None:
    with pytest.raises(HeaderError, match=match):
        front_decode(prefixes, suffixes)


def test_only_raw_raw_records_go_without_a_crc() -> None:
    assert [has_crc(c, k) for c, k in [(0, 0), (1, 0), (0, 1), (0, 2), (8, 1)]] == [False, True, True, True, True]


def _tensors() -> dict[str, object]:
    rng = np.random.default_rng(3)
    w = rng.normal(0, 0.1, (4, 3, 3, 3))
    return {
        "layer1.conv.weight": formats.quantize_dithered(w, 0.02, seed=1, name="layer1.conv.weight"),
        "layer1.bn.weight": rng.normal(size=4).astype(np.float32),
        "layer1.bn.running_var": np.abs(rng.normal(size=64)).astype(np.float32),
        "layer1.mask": formats.SparseTensor(np.array([0, 2, 0, 0, 5], np.int8)),
        "\u00e9": np.array(1.5),
    }


CODECS = {"layer1.bn.running_var": "zstd"}


def test_both_versions_decode_to_the_same_tensors_and_2_0_is_smaller() -> None:
    v1 = formats.dumps(_tensors(), codec="raw", codecs=CODECS, format_major=1)
    v2 = formats.dumps(_tensors(), codec="raw", codecs=CODECS)
    assert v2[8:10] == b"\x02\x00" and v1[8:10] == b"\x01\x00"
    assert len(v2) < len(v1)
    one, two = formats.loads(v1), formats.loads(v2)
    assert list(one) == list(two)
    for name in one:
        assert np.array_equal(one[name], two[name]), name
    with formats.open_dsz(v1) as r1, formats.open_dsz(v2) as r2:
        for a, b in zip(r1.records, r2.records, strict=True):
            assert (a.name, a.shape, a.length, a.offset, a.sha256_64) == (
                b.name, b.shape, b.length, b.offset, b.sha256_64)
            assert b.crc32 == (a.crc32 if has_crc(a.codec, a.kind) else None)


def test_the_writer_is_deterministic() -> None:
    assert formats.dumps(_tensors(), codecs=CODECS) == formats.dumps(_tensors(), codecs=CODECS)


def test_a_table_round_trips_through_the_1_0_record_maps() -> None:
    with formats.open_dsz(formats.dumps(_tensors(), codecs=CODECS, format_major=1)) as reader:
        records = [r.to_wire() for r in reader.records]
    table, checks = to_table(records)
    assert len(checks) == 8 * len(records) + 4 * sum(has_crc(r["codec"], r["kind"]) for r in records)
    from formats.container.table import from_table

    back = from_table(table, checks, lenient=False)
    for old, new in zip(records, back, strict=True):
        expected = {k: v for k, v in old.items() if k != "crc32" or has_crc(old["codec"], old["kind"])}
        if old["codec"] == 0:
            expected["length"] = 0  # not stored: the parsed record sets it to S
        assert new == expected


def _file_with(change) -> bytes:
    """A 2.0 file whose header map went through ``change`` (sizes and CRC made consistent)."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "spec"))
    import negative_vectors as nv

    header, payloads, _ = nv.split(formats.dumps(_tensors(), codecs=CODECS))
    change(header)
    return nv.assemble(nv.pack(header), payloads, major=2)


@pytest.mark.parametrize(("change", "error"), [
    (lambda h: h["tensors"]["kind"].pop(), HeaderError),
    (lambda h: h["tensors"].update(codebook=[]), HeaderError),
    (lambda h: h["tensors"].update(step=h["tensors"]["step"][:-1]), HeaderError),
    (lambda h: h["tensors"].update(length=b""), HeaderError),
    (lambda h: h.update(checks=h["checks"] + b"\0"), HeaderError),
    (lambda h: h.update(tensors={**h["tensors"], "hint": 1}), HeaderError),
    (lambda h: h["tensors"]["name_suffix"].__setitem__(1, 7), HeaderError),
    (lambda h: (h["tensors"]["name_prefix"].__setitem__(2, 16), h["tensors"]["name_suffix"].__setitem__(2, "")),
     LayoutError),  # the name of record 1 again
    (lambda h: h.update(tensors=[]), HeaderError),
])
def test_table_defects_are_one_line_format_errors(change, error: type[FormatError]) -> None:
    with pytest.raises(error) as caught:
        formats.open_dsz(_file_with(change))
    assert "\n" not in str(caught.value)


def _payload_at(blob: bytes, name: str) -> int:
    with formats.open_dsz(blob) as reader:
        return len(blob) - sum(r.length for r in reader.records) + reader.record(name).offset


def test_raw_raw_records_store_sha256_64_of_their_payload_and_no_crc() -> None:
    blob = formats.dumps(_tensors(), codec="raw", codecs=CODECS)
    with formats.open_dsz(blob) as reader:
        record = reader.record("layer1.bn.weight")
        payload = reader.read_payload("layer1.bn.weight")
    assert record.crc32 is None
    assert record.sha256_64 == hashlib.sha256(payload).digest()[:8]
    assert record.sha256_64 == hashlib.sha256(_tensors()["layer1.bn.weight"].tobytes()).digest()[:8]


def test_raw_raw_damage_is_caught_by_its_sha256_64_on_every_read_path() -> None:
    blob = formats.dumps(_tensors(), codec="raw", codecs=CODECS)
    at = _payload_at(blob, "layer1.bn.weight")
    damaged = blob[:at] + bytes([blob[at] ^ 1]) + blob[at + 1:]
    with formats.open_dsz(damaged) as reader:
        assert reader.read("layer1.mask").tolist() == [0, 2, 0, 0, 5]  # other tensors stay readable
        for read in (lambda: reader.read("layer1.bn.weight"), lambda: reader.read_many(["layer1.bn.weight"]),
                     reader.verify):
            with pytest.raises(ChecksumError, match="SHA-256"):
                read()


def test_raw_raw_damage_is_a_checksum_error_before_the_value_checks() -> None:
    """A BOOL byte damaged to 3 would be a CodecError if the values were checked first (spec 9)."""
    blob = formats.dumps({"flags": np.array([True, False, True])}, codec="raw")
    at = _payload_at(blob, "flags")
    damaged = blob[:at] + b"\x03" + blob[at + 1:]
    with formats.open_dsz(damaged) as reader, pytest.raises(ChecksumError):
        reader.read("flags")
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "spec"))
    import reference_decoder as reference

    with pytest.raises(reference.DszReject, match="ChecksumError"):
        reference.decode_bytes(damaged)


def test_a_2_0_raw_raw_record_cannot_be_written_as_1_0_without_its_crc() -> None:
    from formats.container.header import Header
    from formats.container.limits import DEFAULT_LIMITS

    with formats.open_dsz(formats.dumps({"x": np.arange(3, dtype=np.int8)}, codec="raw")) as reader:
        header = Header(reader.producer, {}, None, tuple(reader.records))
    with pytest.raises(ValueError, match="no crc32"):
        header.to_bytes(DEFAULT_LIMITS, 1)


def test_rewriting_a_1_0_file_gives_a_2_0_file_with_the_same_tensors() -> None:
    from formats.container.rewrite import with_header

    v1 = formats.dumps(_tensors(), codecs=CODECS, format_major=1, metadata={"a": "b"})
    v2 = with_header(v1, metadata=None)
    assert v2[8:10] == b"\x02\x00"
    one, two = formats.loads(v1), formats.loads(v2)
    assert all(np.array_equal(one[k], two[k]) for k in one)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.sampled_from(["raw", "zstd", "brotli"]), min_size=1, max_size=6),
       st.lists(st.sampled_from(["f4", "i2", "u1"]), min_size=6, max_size=6))
def test_random_raw_files_read_the_same_in_both_versions(codecs: list[str], dtypes: list[str]) -> None:
    tensors = {f"t.{i}": np.arange(i * 3, dtype=dtypes[i]) for i in range(len(codecs))}
    chosen = {f"t.{i}": c for i, c in enumerate(codecs)}
    v1, v2 = (formats.dumps(tensors, codecs=chosen, format_major=m) for m in (1, 2))
    one, two = formats.loads(v1), formats.loads(v2)
    assert all(np.array_equal(one[k], two[k]) and one[k].dtype == two[k].dtype for k in tensors)


def test_a_newer_minor_2_x_file_may_hold_unknown_table_and_root_keys() -> None:
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "spec"))
    import negative_vectors as nv
    import reference_decoder as reference

    header, payloads, _ = nv.split(formats.dumps(_tensors(), codecs=CODECS))
    header["tensors"]["hint"] = [1]
    header["future"] = {"x": 1}
    blob = nv.assemble(nv.pack(header), payloads, major=2, minor=1)
    ours, theirs = formats.loads(blob), reference.decode_bytes(blob)
    assert all(np.array_equal(ours[k], theirs[k]) for k in ours)
    with pytest.raises(HeaderError):
        formats.open_dsz(nv.assemble(nv.pack(header), payloads, major=2, minor=0))
