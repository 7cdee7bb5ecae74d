"""Reader of the embedded optdigits dataset (8x8 handwritten digits, CC BY 4.0; see data/ATTRIBUTION.md)."""

from __future__ import annotations

import gzip
import hashlib
from importlib.resources import files

import numpy as np
import torch
from torch.utils.data import TensorDataset

from compress.errors import CompressError

SHA256 = "09f66e6debdee2cd2b5ae59e0d6abbb73fc2b0e0185d2e1957e9ebb51e23aa22"
NUM_IMAGES = 1797
TEST_FRACTION = 0.2
PIXEL_MEAN = 4.884  # mean pixel count (0..16) over all 1797 images
PIXEL_STD = 6.017


def load_digits_arrays() -> tuple[np.ndarray, np.ndarray]:
    """All 1797 images as uint8 (N, 8, 8) counts 0..16 and their int64 labels, checksum-verified.

    Example:
        >>> images, labels = load_digits_arrays()
        >>> images.shape, int(labels[0])
        ((1797, 8, 8), 0)
    """
    blob = files("compress.demo").joinpath("data/optdigits.csv.gz").read_bytes()
    if hashlib.sha256(blob).hexdigest() != SHA256:
        raise CompressError("the embedded optdigits.csv.gz is damaged (SHA-256 mismatch); reinstall dualsparse")
    table = np.loadtxt(gzip.decompress(blob).decode("ascii").splitlines(), delimiter=",", dtype=np.int64)
    if table.shape != (NUM_IMAGES, 65):
        raise CompressError(f"optdigits table has shape {table.shape}, expected ({NUM_IMAGES}, 65)")
    return table[:, :64].reshape(-1, 8, 8).astype(np.uint8), table[:, 64]


def load_digits(split: str) -> TensorDataset:
    """The train or test split as normalised float tensors (N, 1, 8, 8) and labels.

    The split is fixed: a seeded permutation puts 20 % of the images (359) in "test".

    Args:
        split: "train" or "test".

    Example:
        >>> len(load_digits("train")), len(load_digits("test"))
        (1438, 359)
    """
    if split not in ("train", "test"):
        raise CompressError(f"split must be 'train' or 'test', got {split!r}")
    images, labels = load_digits_arrays()
    order = np.random.default_rng(20241123).permutation(NUM_IMAGES)
    n_test = int(NUM_IMAGES * TEST_FRACTION)
    chosen = order[:n_test] if split == "test" else order[n_test:]
    x = (images[chosen].astype(np.float32) - PIXEL_MEAN) / PIXEL_STD
    return TensorDataset(torch.from_numpy(x).unsqueeze(1), torch.from_numpy(labels[chosen]))
