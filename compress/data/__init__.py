"""Real-data readers (MNIST IDX, CIFAR-10 npz and python-batch prefixes) and input normalisation."""

from compress.data.cifar10 import (
    CIFAR10_CLASSES,
    cifar10_dataset,
    load_cifar10,
    load_cifar10_npz,
    read_batch_prefix,
)
from compress.data.errors import DatasetError
from compress.data.mnist import load_mnist, mnist_dataset, parse_idx, read_gzip_prefix
from compress.data.normalization import normalize, normalize_imagenet, normalize_mnist

__all__ = [
    "CIFAR10_CLASSES",
    "DatasetError",
    "cifar10_dataset",
    "load_cifar10",
    "load_cifar10_npz",
    "load_mnist",
    "mnist_dataset",
    "normalize",
    "normalize_imagenet",
    "normalize_mnist",
    "parse_idx",
    "read_batch_prefix",
    "read_gzip_prefix",
]
