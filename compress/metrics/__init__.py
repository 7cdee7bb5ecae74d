"""Metrics: accuracy and multiply-accumulate counts (spatial and Winograd, dense and sparse)."""

from compress.metrics.accuracy import evaluate
from compress.metrics.macs import LayerMacs, MacReport, count_macs

__all__ = ["LayerMacs", "MacReport", "count_macs", "evaluate"]
