"""Network loss E of the cost: the task loss, optionally mixed with distillation from a teacher."""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["network_loss"]


def network_loss(
    outputs: torch.Tensor,
    targets: torch.Tensor,
    *,
    loss: str,
    teacher_outputs: torch.Tensor | None = None,
    distill_weight: float = 0.0,
    temperature: float = 2.0,
) -> torch.Tensor:
    """E = (1 - w)·task + w·distillation (w = ``distill_weight`` when a teacher output is given, else 0).

    Args:
        outputs: student logits ``(N, classes)`` or regression outputs.
        targets: labels (``cross_entropy``) or regression targets (``mse``).
        loss: ``"cross_entropy"`` or ``"mse"``.
        teacher_outputs: the teacher's outputs on the same batch, or None.
        distill_weight: mixing weight in ``[0, 1]``.
        temperature: T of the KL distillation (scaled by T² to keep gradient magnitudes).

    Returns:
        Scalar loss.

    Example:
        >>> float(network_loss(torch.zeros(2, 2), torch.tensor([0, 1]), loss="cross_entropy"))  # ln 2
        0.6931471824645996
    """
    task = F.cross_entropy(outputs, targets) if loss == "cross_entropy" else F.mse_loss(outputs, targets)
    if teacher_outputs is None or distill_weight == 0.0:
        return task
    teacher_outputs = teacher_outputs.detach()
    if loss == "cross_entropy":
        t = temperature
        distill = F.kl_div(
            F.log_softmax(outputs / t, dim=1), F.log_softmax(teacher_outputs / t, dim=1), reduction="batchmean",
            log_target=True,
        ) * (t * t)
    else:
        distill = F.mse_loss(outputs, teacher_outputs)
    return (1.0 - distill_weight) * task + distill_weight * distill
