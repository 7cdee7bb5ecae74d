"""dualsparse's training-time side (torch): pipeline, pruning, Winograd layers, zoo, CLI.

``compress.deploy`` (:func:`compress.deployment.deploy`) turns a ``.dsz`` file into a ready model in one
call. It is imported on first use, so ``import compress`` (and the CLI's start-up) does not import torch.

Example:
    >>> import compress
    >>> compress.deploy.__name__
    'deploy'
"""

from __future__ import annotations

from typing import Any

__all__ = ["deploy"]


def __getattr__(name: str) -> Any:
    if name == "deploy":
        from compress.deployment import deploy

        return deploy
    raise AttributeError(f"module 'compress' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
