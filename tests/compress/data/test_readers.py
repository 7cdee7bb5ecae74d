"""Dataset readers: IDX parsing, cut gzip streams, CIFAR batch prefixes without unpickling, normalisation."""

from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest
import torch

from compress.data import (
    DatasetError,
    cifar10_dataset,
    load_cifar10,
    load_mnist,
    mnist_dataset,
    normalize,
    normalize_imagenet,
    normalize_mnist,
    parse_idx,
    read_batch_prefix,
    read_gzip_prefix,
)


def _idx(array: np.ndarray) -> bytes:
    return bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes()


def test_parse_idx_round_trip_and_truncation():
    images = np.arange(5 * 3 * 2, dtype=np.uint8).reshape(5, 3, 2)
    np.testing.assert_array_equal(parse_idx(_idx(images)), images)
    cut = _idx(images)[:-4]  # last image incomplete
    with pytest.raises(DatasetError, match="4 of the 5"):
        parse_idx(cut)
    np.testing.assert_array_equal(parse_idx(cut, allow_truncated=True), images[:4])
    with pytest.raises(DatasetError, match="not an IDX"):
        parse_idx(b"\x00\x01\x08\x01")


def test_cut_gzip_stream_keeps_complete_items(tmp_path):
    images = np.random.default_rng(0).integers(0, 256, (50, 28, 28), dtype=np.uint8)
    labels = np.arange(50, dtype=np.uint8) % 10
    full = gzip.compress(_idx(images), mtime=0)
    (tmp_path / "train-images-idx3-ubyte.gz.prefix").write_bytes(full[: len(full) * 2 // 3])
    (tmp_path / "train-labels-idx1-ubyte.gz").write_bytes(gzip.compress(_idx(labels), mtime=0))
    data, complete = read_gzip_prefix(tmp_path / "train-images-idx3-ubyte.gz.prefix")
    assert not complete and 0 < len(data) < len(_idx(images))
    got_images, got_labels = load_mnist(tmp_path, "train")
    k = len(got_images)
    assert 0 < k < 50 and len(got_labels) == k
    np.testing.assert_array_equal(got_images, images[:k])
    np.testing.assert_array_equal(got_labels, labels[:k])


def test_missing_mnist_files_and_bad_split(tmp_path):
    with pytest.raises(DatasetError, match="not found"):
        load_mnist(tmp_path, "test")
    with pytest.raises(DatasetError, match="split"):
        load_mnist(tmp_path, "valid")


def _fake_batch(labels: list[int], pixels: bytes) -> bytes:
    # The opcodes a Python 2 protocol-2 pickle of a CIFAR batch uses, without the numpy call machinery.
    rows = len(labels)
    out = b"\x80\x02}q\x01(U\x0bbatch_labelq\x02U\x04testq\x03U\x06labelsq\x04]q\x05("
    out += b"".join(b"K" + bytes([v]) for v in labels) + b"e"
    out += b"U\x04dataq\x06" + b"M" + struct.pack("<H", rows) + b"M" + struct.pack("<H", 3072)
    return out + b"T" + struct.pack("<I", rows * 3072) + pixels


def test_batch_prefix_parser_on_a_synthetic_stream():
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 10, 6).tolist()
    pixels = rng.integers(0, 256, 6 * 3072, dtype=np.uint8).tobytes()
    images, got = read_batch_prefix(_fake_batch(labels, pixels[: 4 * 3072 + 100]))
    assert got.tolist() == labels and images.shape == (4, 3, 32, 32)
    np.testing.assert_array_equal(images.reshape(4, -1), np.frombuffer(pixels, np.uint8)[: 4 * 3072].reshape(4, -1))
    with pytest.raises(DatasetError, match="not a CIFAR-10"):
        read_batch_prefix(b"\x80\x02}q\x01.")


def test_normalisations():
    zeros = np.zeros((2, 28, 28), np.uint8)
    assert normalize_mnist(zeros).shape == (2, 1, 28, 28)
    torch.testing.assert_close(normalize_mnist(zeros)[0, 0, 0, 0], torch.tensor(-0.1307 / 0.3081))
    white = np.full((1, 3, 2, 2), 255, np.uint8)
    expected = torch.tensor([(1 - 0.485) / 0.229, (1 - 0.456) / 0.224, (1 - 0.406) / 0.225])
    torch.testing.assert_close(normalize_imagenet(white)[0, :, 1, 1], expected)
    assert normalize(white, "none").max() == 1.0
    with pytest.raises(DatasetError, match="uint8"):
        normalize_mnist(zeros.astype(np.float32))
    with pytest.raises(DatasetError, match="unknown normalisation"):
        normalize(white, "cifar")


@pytest.mark.data
def test_real_mnist(shared_data):
    images, labels = load_mnist(shared_data / "mnist", "test")
    assert images.shape == (10000, 28, 28) and images.dtype == np.uint8
    assert np.bincount(labels).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    train_images, train_labels = load_mnist(shared_data / "mnist", "train")
    assert train_images.shape == (17435, 28, 28) and len(train_labels) == 17435
    ds = mnist_dataset(shared_data / "mnist")
    assert ds.tensors[0].shape == (10000, 1, 28, 28) and ds.tensors[1].dtype == torch.int64


@pytest.mark.data
@pytest.mark.parametrize(("split", "count"), [("test", 1017), ("train", 5085)])
def test_real_cifar_npz_equals_parsed_batches(shared_data, split, count):
    root = shared_data / "cifar10-partial"
    images, labels = load_cifar10(root, split, "npz")
    parsed_images, parsed_labels = load_cifar10(root, split, "batches")
    assert images.shape == (count, 3, 32, 32)
    np.testing.assert_array_equal(images, parsed_images)
    np.testing.assert_array_equal(labels, parsed_labels)


@pytest.mark.data
def test_real_cifar_test_batch_labels(shared_data):
    root = shared_data / "cifar10-partial"
    images, labels = read_batch_prefix((root / "test_batch.prefix").read_bytes())
    assert images.shape == (1017, 3, 32, 32) and labels.shape == (10000,)
    assert labels[:10].tolist() == [3, 8, 8, 0, 6, 6, 1, 6, 3, 1]
    assert np.bincount(labels).tolist() == [1000] * 10
    with np.load(root / "cifar10_test_first1017.npz") as npz:
        np.testing.assert_array_equal(labels, npz["labels_all10000"])
    assert len(cifar10_dataset(root)) == 1017
