"""Every negative vector is rejected with its documented class, by formats and by the reference decoder."""

from __future__ import annotations

import pytest
from spec_vectors import NEGATIVE, VECTORS

import formats
import formats.errors

CLASSES = {name: getattr(formats.errors, name) for name in (
    "BadMagicError", "TruncatedError", "UnsupportedVersionError", "HeaderError", "ChecksumError", "UnknownIdError",
    "LayoutError", "LimitError", "CodecError")}


def test_every_negative_file_is_documented() -> None:
    files = {p.stem for p in (VECTORS / "negative").glob("*.dsz")}
    assert files == set(NEGATIVE)
    assert {entry["error"] for entry in NEGATIVE.values()} == set(CLASSES)


@pytest.mark.parametrize("name", sorted(NEGATIVE))
def test_formats_rejects_with_the_documented_class(name: str) -> None:
    entry = NEGATIVE[name]
    blob = (VECTORS / "negative" / f"{name}.dsz").read_bytes()
    error = CLASSES[entry["error"]]
    if entry["stage"] == "open":
        with pytest.raises(error) as caught:
            formats.open_dsz(blob)
    else:
        bad = entry["stage"].removeprefix("read:")
        with formats.open_dsz(blob) as reader:
            for other in reader.names:  # the damage is confined to one tensor
                if other != bad:
                    reader.read(other)
            with pytest.raises(error) as caught:
                reader.read(bad)
    assert type(caught.value) is error  # the class itself, not a sibling that happens to derive from it
    assert isinstance(caught.value, ValueError) and str(caught.value)


@pytest.mark.parametrize("name", sorted(NEGATIVE))
def test_reference_decoder_rejects_with_the_documented_class(name: str, reference) -> None:
    blob = (VECTORS / "negative" / f"{name}.dsz").read_bytes()
    with pytest.raises(reference.DszReject) as caught:
        reference.decode_bytes(blob)
    assert caught.value.error == NEGATIVE[name]["error"], str(caught.value)
    if NEGATIVE[name]["stage"] != "open":
        reference.parse_container(blob)  # opening succeeds: the defect is in one tensor's payload
