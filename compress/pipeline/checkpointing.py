"""Run checkpoints of the pipeline: atomic, weights-only files and the RNG state needed for exact resume.

A checkpoint directory holds one file per finished stage (``task.pt``, ``finetune.pt``,
``quantize.pt``, ``codebook.pt``) and ``finetune-step.pt``, the latest mid-stage state of fine-tuning
(rewritten every K steps). Every file is a ``torch.save`` of tensors and plain containers (dict, list,
tuple, str, int, float, bool, None) and is read with ``torch.load(..., weights_only=True)``: no object
is unpickled. Each carries its stage's fingerprint (SHA-256 of the canonical recipe keys that stage and
the stages before it read, and of the input weights, :func:`stage_fingerprints`): ``--resume`` refuses a
directory made for another model, input or seed, and after a change to a later section of the recipe
(``[quantize]``, ``[codebook]``, ``[output]``) it reuses the stages that change does not touch.

RNG state saved with each checkpoint: torch's CPU generator, Python's ``random`` and numpy's legacy
global generator (its MT19937 key as an int64 tensor).
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from compress.atomic import atomic_output
from compress.pipeline.errors import CheckpointMismatchError

__all__ = [
    "CHECKPOINT_VERSION",
    "STAGES",
    "CheckpointStore",
    "capture_rng",
    "fingerprint",
    "restore_rng",
    "stage_fingerprints",
]

CHECKPOINT_VERSION = 1
STAGES = ("task", "finetune", "quantize", "codebook")
"""Stage checkpoints in run order."""
MID_FINETUNE = "finetune-step"
_LATER_SECTIONS = {"finetune": ("finetune", "winograd"), "quantize": ("quantize",), "codebook": ("codebook",)}
"""Recipe sections first read by each stage after ``task`` (``output`` is read only when writing)."""


def fingerprint(recipe_map: Mapping[str, Any], input_bytes: bytes | None) -> str:
    """SHA-256 hex of the canonical JSON of ``recipe_map`` and of the input weights (if any).

    Example:
        >>> fingerprint({"a": 1}, None) == fingerprint({"a": 1}, None)
        True
    """
    digest = hashlib.sha256(json.dumps(recipe_map, sort_keys=True, separators=(",", ":")).encode())
    digest.update(b"\0" if input_bytes is None else hashlib.sha256(input_bytes).digest())
    return digest.hexdigest()


def stage_fingerprints(recipe_map: Mapping[str, Any], input_bytes: bytes | None) -> dict[str, str]:
    """Fingerprint of each stage (and of ``finetune-step``): the recipe keys it or an earlier stage reads.

    ``task`` reads every top-level key but the later sections and ``output``; quantization also reads
    ``codebook.batch`` (its BatchNorm re-estimation batches). A change to ``[codebook]`` leaves the
    fingerprints of ``task``, ``finetune`` and ``quantize`` as they were.

    Example:
        >>> before = stage_fingerprints({"seed": 0, "quantize": {"bits": 5}, "codebook": {"steps": 3}}, None)
        >>> after = stage_fingerprints({"seed": 0, "quantize": {"bits": 4}, "codebook": {"steps": 3}}, None)
        >>> [before[s] == after[s] for s in STAGES]
        [True, True, False, False]
    """
    later = {key for keys in _LATER_SECTIONS.values() for key in keys} | {"output"}
    inputs: dict[str, Any] = {key: value for key, value in recipe_map.items() if key not in later}
    result = {"task": fingerprint(inputs, input_bytes)}
    for stage, sections in _LATER_SECTIONS.items():
        inputs.update({key: recipe_map.get(key) for key in sections})
        if stage == "quantize":
            inputs["codebook.batch"] = (recipe_map.get("codebook") or {}).get("batch")
        result[stage] = fingerprint(inputs, input_bytes)
    result[MID_FINETUNE] = result["finetune"]
    return result


def capture_rng() -> dict[str, Any]:
    """torch, Python and numpy global RNG states as tensors and plain containers.

    Example:
        >>> state = capture_rng(); a = random.random(); restore_rng(state); a == random.random()
        True
    """
    np_state: dict[str, Any] = np.random.get_state(legacy=False)  # type: ignore[assignment]
    return {
        "torch": torch.get_rng_state(),
        "python": random.getstate(),
        "numpy": {
            "key": torch.from_numpy(np_state["state"]["key"].astype(np.int64)),
            "pos": int(np_state["state"]["pos"]),
            "has_gauss": int(np_state["has_gauss"]),
            "gauss": float(np_state["gauss"]),
        },
    }


def restore_rng(state: Mapping[str, Any]) -> None:
    """Restore what :func:`capture_rng` returned."""
    torch.set_rng_state(state["torch"])
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    numpy_state = state["numpy"]
    np.random.set_state(
        {
            "bit_generator": "MT19937",
            "state": {"key": numpy_state["key"].numpy().astype(np.uint32), "pos": numpy_state["pos"]},
            "has_gauss": numpy_state["has_gauss"],
            "gauss": numpy_state["gauss"],
        }
    )


class CheckpointStore:
    """The checkpoint directory of one run.

    Args:
        directory: where the files live (created on first save).
        fingerprints: from :func:`stage_fingerprints`; each file stores its own and is checked against it.

    Example:
        >>> store = CheckpointStore(Path("/tmp/run.ckpt"), stage_fingerprints({"seed": 0}, None))  # doctest: +SKIP
        >>> store.save("task", {"model": {}})  # doctest: +SKIP
    """

    def __init__(self, directory: Path, fingerprints: Mapping[str, str]) -> None:
        self.directory = Path(directory)
        self.fingerprints = fingerprints

    def fingerprint(self, name: str) -> str:
        """The fingerprint checkpoint ``name`` must carry."""
        return self.fingerprints[name]

    def path(self, name: str) -> Path:
        """File of checkpoint ``name`` (a stage name or ``"finetune-step"``)."""
        return self.directory / f"{name}.pt"

    def exists(self, name: str) -> bool:
        """Whether checkpoint ``name`` was written."""
        return self.path(name).is_file()

    def any(self) -> bool:
        """Whether the directory holds any checkpoint of this pipeline."""
        return any(self.exists(n) for n in (*STAGES, MID_FINETUNE))

    def save(self, name: str, payload: Mapping[str, Any]) -> Path:
        """Write ``payload`` plus fingerprint, version and RNG state atomically (temp file + rename)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        target = self.path(name)
        record = {
            "format": "dualsparse-run-checkpoint",
            "version": CHECKPOINT_VERSION,
            "fingerprint": self.fingerprint(name),
            "name": name,
            "rng": capture_rng(),
            **payload,
        }
        with atomic_output(target) as partial:
            torch.save(record, partial)
        return target

    def load(self, name: str) -> dict[str, Any]:
        """Read checkpoint ``name`` (weights-only) and check it belongs to this run."""
        record = self._read(name)
        if record.get("fingerprint") != self.fingerprint(name):
            raise CheckpointMismatchError(
                f"{self.path(name)} was made by a different recipe or input checkpoint; "
                f"delete {self.directory} or drop --resume"
            )
        return record

    def load_current(self, name: str) -> dict[str, Any] | None:
        """Checkpoint ``name`` when the recipe keys its stage reads are unchanged, else None (stale)."""
        record = self._read(name)
        return record if record.get("fingerprint") == self.fingerprint(name) else None

    def _read(self, name: str) -> dict[str, Any]:
        path = self.path(name)
        try:
            record = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # noqa: BLE001 - torch raises many types on damaged files
            raise CheckpointMismatchError(f"cannot read checkpoint {path} ({exc}); delete the directory") from None
        if not isinstance(record, dict) or record.get("format") != "dualsparse-run-checkpoint":
            raise CheckpointMismatchError(f"{path} is not a dualsparse run checkpoint")
        if record.get("version") != CHECKPOINT_VERSION:
            raise CheckpointMismatchError(
                f"{path} has checkpoint version {record.get('version')!r}; this build reads {CHECKPOINT_VERSION}"
            )
        return record

    def clear(self) -> None:
        """Remove this pipeline's checkpoint files (and the directory when it is left empty)."""
        for name in (*STAGES, MID_FINETUNE):
            self.path(name).unlink(missing_ok=True)
        if self.directory.is_dir() and not any(self.directory.iterdir()):
            self.directory.rmdir()
