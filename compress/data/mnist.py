"""MNIST from IDX files, gzip-compressed, including a gzip stream cut short (``*.gz.prefix``).

A cut stream is decompressed as far as it goes with ``zlib.decompressobj``; only the complete
leading items are kept (the header still declares the full count), and labels are cut to match.
"""

from __future__ import annotations

import logging
import struct
import zlib
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import TensorDataset

from compress.data.errors import DatasetError
from compress.data.normalization import normalize_mnist

__all__ = ["MNIST_FILES", "load_mnist", "mnist_dataset", "parse_idx", "read_gzip_prefix"]

log = logging.getLogger(__name__)

MNIST_FILES = {
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
}

_IDX_DTYPES = {
    0x08: np.uint8,
    0x09: np.int8,
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_MAX_OUTPUT = 1 << 31


def read_gzip_prefix(path: str | Path, max_output: int = _MAX_OUTPUT) -> tuple[bytes, bool]:
    """Decompress a gzip file that may be cut short.

    Args:
        path: the ``.gz`` file (complete or a prefix).
        max_output: refuse to produce more than this many bytes.

    Returns:
        ``(data, complete)``: everything the stream yields, and whether it reached its end.

    Example:
        >>> data, complete = read_gzip_prefix("t10k-labels-idx1-ubyte.gz")  # doctest: +SKIP
    """
    raw = Path(path).read_bytes()
    decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        data = decoder.decompress(raw, max_output)
    except zlib.error as exc:
        raise DatasetError(f"{path} is not a gzip stream ({exc})") from None
    if decoder.unconsumed_tail:
        raise DatasetError(f"{path} decompresses to more than {max_output} bytes; refusing")
    return data, decoder.eof


def parse_idx(data: bytes, *, allow_truncated: bool = False) -> np.ndarray:
    """Parse an IDX array (big-endian header: 0, 0, dtype code, ndim, then one uint32 per dimension).

    Args:
        data: the decompressed bytes.
        allow_truncated: keep the complete leading items when the payload is shorter than declared.

    Returns:
        The array (native byte order) with shape ``dims`` (first axis cut when truncated).

    Example:
        >>> parse_idx(bytes([0, 0, 8, 1, 0, 0, 0, 2, 7, 9])).tolist()
        [7, 9]
    """
    if len(data) < 4 or data[0] or data[1] or data[2] not in _IDX_DTYPES:
        raise DatasetError(f"not an IDX file: header bytes {data[:4].hex()}")
    dtype = np.dtype(_IDX_DTYPES[data[2]])
    ndim = data[3]
    header = 4 + 4 * ndim
    if ndim == 0 or len(data) < header:
        raise DatasetError(f"IDX header declares {ndim} dimensions but the data is {len(data)} bytes")
    dims = struct.unpack(f">{ndim}I", data[4:header])
    item = int(np.prod(dims[1:], dtype=np.int64)) * dtype.itemsize
    available = (len(data) - header) // item if item else dims[0]
    count = min(dims[0], available)
    if count < dims[0] and not allow_truncated:
        raise DatasetError(f"IDX data holds {count} of the {dims[0]} items its header declares")
    body = np.frombuffer(data, dtype=dtype, count=count * item // dtype.itemsize, offset=header)
    return body.reshape((count, *dims[1:])).astype(dtype.newbyteorder("="))


def load_mnist(root: str | Path, split: str = "test") -> tuple[np.ndarray, np.ndarray]:
    """MNIST images ``(N, 28, 28)`` uint8 and labels ``(N,)`` uint8 from a folder of IDX gzip files.

    A missing images file is looked up as ``<name>.prefix`` (a cut copy); then only its complete
    images are returned, with the matching leading labels.

    Args:
        root: folder holding the files of :data:`MNIST_FILES`.
        split: "test" or "train".

    Returns:
        ``(images, labels)``.

    Example:
        >>> images, labels = load_mnist("../shared/data/mnist")  # doctest: +SKIP
        >>> images.shape  # doctest: +SKIP
        (10000, 28, 28)
    """
    if split not in MNIST_FILES:
        raise DatasetError(f"unknown MNIST split {split!r}; use 'test' or 'train'")
    root = Path(root)
    image_name, label_name = MNIST_FILES[split]
    image_path = root / image_name
    if not image_path.is_file() and (root / (image_name + ".prefix")).is_file():
        image_path = root / (image_name + ".prefix")
    for path in (image_path, root / label_name):
        if not path.is_file():
            raise DatasetError(f"MNIST file {path} not found")
    image_bytes, complete = read_gzip_prefix(image_path)
    images = parse_idx(image_bytes, allow_truncated=not complete)
    labels_bytes, labels_complete = read_gzip_prefix(root / label_name)
    labels = parse_idx(labels_bytes, allow_truncated=not labels_complete)
    if images.ndim != 3 or labels.ndim != 1:
        raise DatasetError(f"unexpected MNIST shapes: images {images.shape}, labels {labels.shape}")
    count = min(len(images), len(labels))
    if count < max(len(images), len(labels)):
        log.info("MNIST %s: keeping the %d complete images of %s", split, count, image_path.name)
    return images[:count], labels[:count]


def mnist_dataset(root: str | Path, split: str = "test", *, normalise: bool = True) -> TensorDataset:
    """MNIST as a :class:`~torch.utils.data.TensorDataset` of ``(x, label)``.

    Args:
        root: the MNIST folder.
        split: "test" or "train".
        normalise: apply the LeNet normalisation (else ``x`` stays uint8 ``(N, 1, 28, 28)``).

    Returns:
        Dataset with ``x`` float32 ``(N, 1, 28, 28)`` and labels int64 ``(N,)``.

    Example:
        >>> len(mnist_dataset("../shared/data/mnist"))  # doctest: +SKIP
        10000
    """
    images, labels = load_mnist(root, split)
    x = normalize_mnist(images) if normalise else torch.from_numpy(images.copy()).unsqueeze(1)
    return TensorDataset(x, torch.from_numpy(labels.astype(np.int64)))
