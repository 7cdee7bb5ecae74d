"""CIFAR-10 from the ``.npz`` convenience files or from exact byte prefixes of the python batches.

The python batches are protocol-2 pickles of ``{"batch_label", "labels", "data", "filenames"}``.
They are never unpickled here: :func:`read_batch_prefix` walks the opcodes with
:func:`pickletools.genops` (which decodes opcodes and arguments without building objects),
collects the integers of the ``labels`` list, and locates the raw pixel string (opcode ``T``,
4-byte little-endian length ``rows * 3072``) that follows the ``data`` key. Complete images
after that offset are returned; a trailing partial image is dropped.
"""

from __future__ import annotations

import io
import pickletools
import struct
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import TensorDataset

from compress.data.errors import DatasetError
from compress.data.normalization import normalize_imagenet

__all__ = ["CIFAR10_CLASSES", "cifar10_dataset", "load_cifar10", "load_cifar10_npz", "read_batch_prefix"]

CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
IMAGE_BYTES = 3 * 32 * 32
_NPZ = {"test": "cifar10_test_first1017.npz", "train": "cifar10_train_prefix5085.npz"}
_BATCHES = {"test": ("test_batch",), "train": tuple(f"data_batch_{i}" for i in range(1, 6))}
_INT_OPS = {"BININT", "BININT1", "BININT2", "LONG1"}
_STRING_OPS = {"SHORT_BINSTRING", "BINSTRING", "SHORT_BINUNICODE", "BINUNICODE", "UNICODE", "STRING"}


def read_batch_prefix(data: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Images and labels of a CIFAR-10 python batch, complete or cut short, without unpickling.

    Args:
        data: the bytes of ``test_batch`` / ``data_batch_N`` or an exact prefix of them.

    Returns:
        ``(images, labels)``: uint8 ``(K, 3, 32, 32)`` for the K complete images present, and
        all labels uint8 ``(rows,)`` (the label list precedes the pixels in the file).

    Example:
        >>> images, labels = read_batch_prefix(open("test_batch.prefix", "rb").read())  # doctest: +SKIP
        >>> images.shape, labels.shape  # doctest: +SKIP
        ((1017, 3, 32, 32), (10000,))
    """
    labels: list[int] = []
    key: object = None
    data_key_pos: int | None = None
    shape: list[int] = []
    try:
        for op, arg, pos in pickletools.genops(io.BytesIO(data)):
            if op.name in _STRING_OPS and isinstance(arg, str | bytes) and len(arg) < 32:
                key = arg.decode("latin-1") if isinstance(arg, bytes) else arg
                if key == "data":
                    data_key_pos = pos
                if data_key_pos is not None and key not in ("data", "b", "u1"):
                    break
            elif op.name in _INT_OPS and data_key_pos is not None:
                shape.append(int(arg))  # array reconstruction arguments, among them (rows, 3072)
            elif op.name in _INT_OPS and key == "labels":
                labels.append(int(arg))
    except ValueError:
        pass  # genops reached the cut: the pixel string's length exceeds what is left
    if data_key_pos is None or not labels:
        raise DatasetError("no 'labels' list followed by a 'data' array found; not a CIFAR-10 python batch")
    rows = len(labels)
    if IMAGE_BYTES not in shape or rows not in shape:
        raise DatasetError(f"pixel array arguments {shape} do not match {rows} labels x {IMAGE_BYTES} bytes")
    marker = b"T" + struct.pack("<I", rows * IMAGE_BYTES)
    start = data.find(marker, data_key_pos)
    if start < 0:
        raise DatasetError("raw pixel string (opcode T) after the 'data' key not found")
    offset = start + len(marker)
    complete = min(rows, (len(data) - offset) // IMAGE_BYTES)
    pixels = np.frombuffer(data, np.uint8, count=complete * IMAGE_BYTES, offset=offset)
    label_array = np.asarray(labels, dtype=np.int64)
    if label_array.min() < 0 or label_array.max() > 9:
        raise DatasetError(f"labels outside 0..9 found ({label_array.min()}..{label_array.max()})")
    return pixels.reshape(complete, 3, 32, 32).copy(), label_array.astype(np.uint8)


def load_cifar10_npz(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Images uint8 ``(N, 3, 32, 32)`` and labels uint8 ``(N,)`` from a convenience ``.npz`` (no pickle).

    Example:
        >>> images, labels = load_cifar10_npz("cifar10_test_first1017.npz")  # doctest: +SKIP
    """
    try:
        with np.load(path, allow_pickle=False) as npz:
            images, labels = npz["images"], npz["labels"]
    except (OSError, KeyError, ValueError) as exc:
        raise DatasetError(f"cannot read CIFAR-10 arrays 'images' and 'labels' from {path}: {exc}") from None
    if images.dtype != np.uint8 or images.shape[1:] != (3, 32, 32) or labels.shape != images.shape[:1]:
        raise DatasetError(f"{path}: unexpected shapes images {images.shape}, labels {labels.shape}")
    return images, labels.astype(np.uint8)


def load_cifar10(root: str | Path, split: str = "test", source: str = "npz") -> tuple[np.ndarray, np.ndarray]:
    """CIFAR-10 images and labels from the ``cifar10-partial`` folder.

    Args:
        root: folder with the ``.npz`` files and/or the ``<batch>`` or ``<batch>.prefix`` files.
        split: "test" or "train" (train concatenates batches 1..5 in order).
        source: "npz" (convenience copies) or "batches" (the python batch files, parsed).

    Returns:
        ``(images, labels)`` uint8 arrays, images ``(N, 3, 32, 32)`` RGB.

    Example:
        >>> images, labels = load_cifar10("../shared/data/cifar10-partial")  # doctest: +SKIP
        >>> images.shape  # doctest: +SKIP
        (1017, 3, 32, 32)
    """
    if split not in _NPZ:
        raise DatasetError(f"unknown CIFAR-10 split {split!r}; use 'test' or 'train'")
    root = Path(root)
    if source == "npz":
        return load_cifar10_npz(root / _NPZ[split])
    if source != "batches":
        raise DatasetError(f"unknown source {source!r}; use 'npz' or 'batches'")
    images, labels = [], []
    for name in _BATCHES[split]:
        path = root / name if (root / name).is_file() else root / (name + ".prefix")
        if not path.is_file():
            raise DatasetError(f"CIFAR-10 batch {name} (or {name}.prefix) not found in {root}")
        batch_images, batch_labels = read_batch_prefix(path.read_bytes())
        images.append(batch_images)
        labels.append(batch_labels[: len(batch_images)])
    return np.concatenate(images), np.concatenate(labels)


def cifar10_dataset(
    root: str | Path, split: str = "test", *, source: str = "npz", normalise: bool = True
) -> TensorDataset:
    """CIFAR-10 as a :class:`~torch.utils.data.TensorDataset` of ``(x, label)``.

    Args:
        root: the ``cifar10-partial`` folder.
        split: "test" or "train".
        source: "npz" or "batches" (see :func:`load_cifar10`).
        normalise: apply the ImageNet mean/std normalisation the akamaster ResNets expect
            (else ``x`` stays uint8).

    Returns:
        Dataset with ``x`` ``(N, 3, 32, 32)`` and labels int64 ``(N,)``.

    Example:
        >>> len(cifar10_dataset("../shared/data/cifar10-partial"))  # doctest: +SKIP
        1017
    """
    images, labels = load_cifar10(root, split, source)
    x = normalize_imagenet(images) if normalise else torch.from_numpy(images.copy())
    return TensorDataset(x, torch.from_numpy(labels.astype(np.int64)))
