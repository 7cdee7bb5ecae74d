"""Replace the eligible convolutions of a model with :class:`WinogradConv2d` layers."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from torch import nn

from compress.winograd.conv import WinogradConv2d, winograd_incompatibility

__all__ = ["DEFAULT_M_FOR_R", "swap_to_winograd"]

log = logging.getLogger(__name__)

DEFAULT_M_FOR_R: Mapping[int, int] = {3: 4, 5: 4}
"""Output tile per filter size: F(4, 3) (n = 6) for 3x3 and F(4, 5) (n = 8) for 5x5."""


def swap_to_winograd(model: nn.Module, m_for_r: Mapping[int, int] | None = None) -> nn.Module:
    """Replace, in place, every stride-1, dilation-1, zero-padded ``r x r`` conv with ``r`` in ``m_for_r``.

    The new layers share the original weight and bias parameters (see
    :meth:`WinogradConv2d.from_conv`), so an optimizer built before the swap keeps working.

    Args:
        model: the model to modify.
        m_for_r: output tile size ``m`` per filter size ``r``; default :data:`DEFAULT_M_FOR_R`.

    Returns:
        ``model`` itself (modified).

    Example:
        >>> net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.Conv2d(8, 8, 3, stride=2))
        >>> type(swap_to_winograd(net)[0]).__name__, type(net[1]).__name__
        ('WinogradConv2d', 'Conv2d')
    """
    table = dict(DEFAULT_M_FOR_R if m_for_r is None else m_for_r)
    for parent_name, parent in list(model.named_modules()):
        for child_name, child in list(parent.named_children()):
            if not isinstance(child, nn.Conv2d) or winograd_incompatibility(child):
                continue
            m = table.get(child.kernel_size[0])
            if m is None:
                continue
            setattr(parent, child_name, WinogradConv2d.from_conv(child, m))
            log.debug("swapped %s.%s to F(%d, %d)", parent_name, child_name, m, child.kernel_size[0])
    return model
