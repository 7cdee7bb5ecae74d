"""Winograd convolution on the training side: differentiable transforms, the layer, model surgery."""

from compress.winograd.conv import WinogradConv2d, winograd_incompatibility
from compress.winograd.swap import DEFAULT_M_FOR_R, swap_to_winograd
from compress.winograd.transform import (
    winograd_filter_transform,
    winograd_input_transform,
    winograd_output_transform,
    winograd_tensors,
)

__all__ = [
    "DEFAULT_M_FOR_R",
    "WinogradConv2d",
    "swap_to_winograd",
    "winograd_filter_transform",
    "winograd_incompatibility",
    "winograd_input_transform",
    "winograd_output_transform",
    "winograd_tensors",
]
