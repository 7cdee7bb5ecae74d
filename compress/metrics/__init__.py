"""Metrics: accuracy and multiply-accumulate counts (spatial and Winograd, dense and sparse)."""

from compress.metrics.accuracy import evaluate

__all__ = ["evaluate"]
