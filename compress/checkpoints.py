"""Read model weights from user checkpoints without unpickling arbitrary objects.

Accepted inputs:

* ``.safetensors`` files;
* PyTorch checkpoints (``.pt``, ``.pth``, ``.th``, ``.pkl``, ``.bin``, ...), loaded with
  ``torch.load(..., weights_only=True)``: a plain state_dict, or a dict that wraps it under
  ``state_dict`` / ``model_state_dict`` / ``model`` / ``net`` / ``weights``, with or without
  the ``module.`` prefix that ``DataParallel`` / ``DistributedDataParallel`` adds.
"""

from __future__ import annotations

import logging
import pickle
from collections.abc import Mapping
from pathlib import Path

import torch

from compress.errors import CheckpointError

log = logging.getLogger(__name__)

WRAPPER_KEYS = ("state_dict", "model_state_dict", "model", "net", "weights")
PREFIXES = ("module.", "_orig_mod.")


def load_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """Load the tensors of a checkpoint as an ordered ``name -> tensor`` dict.

    Args:
        path: a ``.safetensors`` file or a PyTorch checkpoint.

    Returns:
        The state_dict, wrapper keys unwrapped and ``module.`` prefixes stripped,
        in the file's order. Non-tensor entries (epoch counters, best accuracy) are dropped.

    Raises:
        CheckpointError: the file is missing, unreadable, needs unsafe unpickling, has no tensors, or holds a
            tensor dualsparse cannot compress (sparse or quantized layout, complex dtype, NaN or infinity).

    Example:
        >>> sd = load_state_dict("resnet20.th")  # doctest: +SKIP
        >>> next(iter(sd))  # doctest: +SKIP
        'conv1.weight'
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist or is not a file")
    if path.suffix == ".safetensors":
        raw: object = _load_safetensors(path)
    else:
        raw = _load_torch(path)
    state = _strip_prefixes(_unwrap(raw, path))
    for name, tensor in state.items():
        _check_tensor(name, tensor, path)
    return state


def _check_tensor(name: str, tensor: torch.Tensor, path: Path) -> None:
    """Refuse what no stage can store or quantize faithfully, naming the tensor and the way out."""
    if tensor.layout != torch.strided:
        raise CheckpointError(f"{path}: tensor {name!r} is a torch sparse tensor ({tensor.layout}); save it dense "
                              "(tensor.to_dense()) first")
    if tensor.is_quantized:
        raise CheckpointError(f"{path}: tensor {name!r} is a torch quantized tensor ({tensor.dtype}); save the float "
                              "model (tensor.dequantize()) first")
    if tensor.is_complex():
        raise CheckpointError(f"{path}: tensor {name!r} is complex ({tensor.dtype}); dualsparse stores real tensors "
                              "only")
    if tensor.is_floating_point():
        bad = int((~torch.isfinite(tensor.detach())).sum())
        if bad:
            raise CheckpointError(f"{path}: tensor {name!r} holds {bad} NaN or infinite value{'s' if bad > 1 else ''}; "
                                  "fix or retrain the model before compressing it")


def _load_safetensors(path: Path) -> dict[str, torch.Tensor]:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise CheckpointError(f"cannot read {path} as safetensors: {exc}") from None


def _load_torch(path: Path) -> object:
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else "unpickling failed"
        raise CheckpointError(
            f"{path} is not a weights-only checkpoint ({first_line}); re-save it with "
            "torch.save(model.state_dict(), path) or convert it to .safetensors"
        ) from None
    except Exception as exc:  # noqa: BLE001 - torch's unpickler raises arbitrary types on garbage input
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(f"cannot read {path} as a PyTorch checkpoint ({detail})") from None


def _unwrap(raw: object, path: Path) -> dict[str, torch.Tensor]:
    if isinstance(raw, torch.nn.Module):  # pragma: no cover - weights_only never yields modules
        raw = raw.state_dict()
    if not isinstance(raw, Mapping):
        raise CheckpointError(f"{path} holds a {type(raw).__name__}, not a dict of tensors (a state_dict)")
    for key in WRAPPER_KEYS:
        inner = raw.get(key)
        if isinstance(inner, Mapping) and any(isinstance(v, torch.Tensor) for v in inner.values()):
            log.debug("unwrapping checkpoint key %r", key)
            raw = inner
            break
    tensors = {str(k): v for k, v in raw.items() if isinstance(v, torch.Tensor)}
    if not tensors:
        raise CheckpointError(f"{path} contains no tensors; expected a state_dict")
    dropped = [str(k) for k, v in raw.items() if not isinstance(v, torch.Tensor)]
    if dropped:
        log.info("ignoring non-tensor entries: %s", ", ".join(dropped))
    return tensors


def _strip_prefixes(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    for prefix in PREFIXES:
        if all(k.startswith(prefix) for k in state):
            state = {k[len(prefix) :]: v for k, v in state.items()}
    return state
