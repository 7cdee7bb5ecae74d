"""A (pruned) MANN shipped as one ``.dsz``: weights, normalisation, feature layout and skeleton in one file.

:func:`export_mann` writes the model's state dict through :func:`compress.prune.export.export_dsz`: the
expert weight stacks, pruned, become SPARSE records (non-zero bitmap plus the non-zero float32 values
split into byte planes, then entropy coded), everything else is stored as it is; both are lossless, so
every weight comes back bit for bit. Beside the weights the file holds what a rollout needs:

* tensors ``normalization.input_mean`` / ``input_std`` / ``output_mean`` / ``output_std`` (float32) and,
  optionally, ``start`` (a raw input row to start rollouts from);
* the string metadata ``dualsparse.kind = "mann"`` and ``mann``, a JSON text with the format version,
  the :class:`~compress.zoo.mann.MANNConfig`, the feature layout (point names, styles, sample offsets),
  the paw names, the skeleton's parent table (optional) and the normalisation's floor and row count.

:func:`load_mann` reads it back (a one-line :class:`~compress.errors.CompressError` for a missing file,
a file that is not a ``.dsz``, or a ``.dsz`` that is not a MANN), and :meth:`ShippedMann.runtime` packs
the reloaded model into the sparse runtime :class:`compress.sparse.SparseMANN`. :func:`check_export`
compares outputs.

Example:
    >>> import os, tempfile
    >>> from compress.zoo.mann import MANN, MANNConfig
    >>> from compress.mocap import FeatureLayout, fit_normalization
    >>> layout = FeatureLayout(tuple(f"p{i}" for i in range(27)))
    >>> model = MANN(MANNConfig(hidden=16, gating_indices=layout.gating_indices(("p1", "p2", "p3", "p4"))))
    >>> norm = fit_normalization(np.zeros((2, 480)), np.zeros((2, 363)))
    >>> path = os.path.join(tempfile.mkdtemp(), "mann.dsz")
    >>> _ = export_mann(path, model, norm, layout, paws=("p1", "p2", "p3", "p4"))
    >>> load_mann(path).model.config.hidden
    16
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

import formats
from compress.errors import CompressError
from compress.mann.checkpoint import load_model, model_config_from_dict, model_config_to_dict
from compress.mocap import STYLES, FeatureLayout, MannDataset, MocapError, Normalization, Rig, read_bvh
from compress.prune.export import export_dsz
from compress.sparse import SparseMANN
from compress.zoo.mann import MANN

__all__ = ["MANN_DSZ_VERSION", "ExportCheck", "MannExport", "ShippedMann", "check_export", "export_mann",
           "from_checkpoint", "load_mann", "start_row"]

#: Version of the ``mann`` metadata written by :func:`export_mann`.
MANN_DSZ_VERSION = 1
_NORM = ("input_mean", "input_std", "output_mean", "output_std")


@dataclass(frozen=True, eq=False)
class ShippedMann:
    """A MANN with everything a rollout needs.

    Attributes:
        model: the dense torch model (eval mode) holding the stored weights.
        normalization: the statistics it was trained with.
        layout: the feature layout (point names, styles, sample offsets).
        paws: the four paw-tip names.
        parents: each point's parent index (-1: none), or None when unknown.
        start: a raw input row to start rollouts from, or None.
    """

    model: MANN
    normalization: Normalization
    layout: FeatureLayout
    paws: tuple[str, ...]
    parents: tuple[int, ...] | None = None
    start: np.ndarray | None = None

    def runtime(self) -> SparseMANN:
        """The model packed into the sparse runtime (:class:`compress.sparse.SparseMANN`)."""
        return SparseMANN.from_model(self.model)


@dataclass(frozen=True)
class MannExport:
    """What :func:`export_mann` wrote.

    Attributes:
        path: the file.
        bytes: its size.
        float32_bytes: the model's parameters at 32 bits (the dense reference).
        sparse: state-dict names stored as SPARSE records.
        expert_density: stored fraction of the expert weights (non-zeros / all).
    """

    path: str
    bytes: int
    float32_bytes: int
    sparse: tuple[str, ...]
    expert_density: float

    @property
    def ratio(self) -> float:
        """``float32_bytes / bytes``: how many times smaller than the dense float32 parameters."""
        return self.float32_bytes / self.bytes


@dataclass(frozen=True)
class ExportCheck:
    """Outputs of the original and the reloaded model on the same inputs (see :func:`check_export`).

    Attributes:
        weights_identical: every reloaded parameter equals the original bit for bit.
        runtime_identical: the sparse runtime built from the reloaded model gives bit-identical outputs to
            the sparse runtime built from the original.
        max_abs_vs_dense: largest |difference| between the reloaded sparse runtime and the original dense model.
        max_abs_output: largest |output| of the original dense model (the scale of that difference).
        rows: inputs compared.
    """

    weights_identical: bool
    runtime_identical: bool
    max_abs_vs_dense: float
    max_abs_output: float
    rows: int


def export_mann(path: str | os.PathLike[str], model: MANN, normalization: Normalization, layout: FeatureLayout, *,
                paws: Sequence[str] = Rig().paws, parents: Sequence[int] | None = None,
                start: np.ndarray | None = None, codec: str | int = "auto",
                metadata: Mapping[str, str] | None = None, replace: bool = True) -> MannExport:
    """Write ``model`` with its normalisation, layout and skeleton to a ``.dsz`` (weights lossless).

    Args:
        path: the ``.dsz`` to write (atomically).
        model: the MANN (pruned or dense).
        normalization: its training statistics (sizes must match the model's input and output).
        layout: its feature layout.
        paws: the paw-tip names (for the foot-skating metric and the pictures).
        parents: each point's parent index for drawing bones (see :func:`compress.mann.render.skeleton_parents`).
        start: a raw input row rollouts may start from.
        codec: container codec (``"auto"`` keeps the smallest per tensor).
        metadata: more free string metadata.
        replace: False: never replace an existing file.

    Returns:
        A :class:`MannExport` (size, ratio to float32).

    Example:
        >>> export_mann("model.dsz", pruned, norm, layout).ratio  # doctest: +SKIP
        9.3
    """
    config = model.config
    if layout.input_dim != config.input_dim or layout.output_dim != config.output_dim:
        raise CompressError(f"layout ({layout.input_dim} in, {layout.output_dim} out) does not fit the model "
                            f"({config.input_dim} in, {config.output_dim} out)")
    if normalization.input_mean.shape != (config.input_dim,) or normalization.output_mean.shape != (config.output_dim,):
        raise CompressError("normalisation statistics do not fit the model's input and output sizes")
    if parents is not None and len(parents) != len(layout.points):
        raise CompressError(f"{len(parents)} parents for {len(layout.points)} points")
    if start is not None and np.shape(start) != (config.input_dim,):
        raise CompressError(f"start row must have {config.input_dim} values, got shape {np.shape(start)}")
    missing = [p for p in paws if p not in layout.points]
    if missing:
        raise CompressError(f"paws {', '.join(missing)} are not among the layout's points")
    state = {f"model.{k}": v.detach().cpu() for k, v in model.state_dict().items()}
    state.update({f"normalization.{k}": getattr(normalization, k).astype(np.float32) for k in _NORM})
    if start is not None:
        state["start"] = np.asarray(start, dtype=np.float32)
    info = {"version": MANN_DSZ_VERSION, "model_config": model_config_to_dict(config),
            "points": list(layout.points), "styles": list(layout.styles), "offsets": list(layout.offsets),
            "paws": list(paws), "parents": None if parents is None else [int(p) for p in parents],
            "normalization": {"floor": normalization.floor, "rows": normalization.rows}}
    meta = {**(metadata or {}), "dualsparse.kind": "mann", "mann": json.dumps(info, sort_keys=True)}
    summary = export_dsz(path, state, codec=codec, metadata=meta, replace=replace)
    params = sum(p.numel() for p in model.parameters())
    experts = [layer.weight for layer in model.layers]
    density = sum(int((w != 0).sum()) for w in experts) / sum(w.numel() for w in experts)
    return MannExport(summary.path, summary.bytes, 4 * params,
                      tuple(n.removeprefix("model.") for n in summary.sparse), density)


def load_mann(path: str | os.PathLike[str]) -> ShippedMann:
    """Read a ``.dsz`` written by :func:`export_mann`; every defect is one :class:`CompressError` naming the file.

    Example:
        >>> load_mann("/nonexistent.dsz")
        Traceback (most recent call last):
        ...
        compress.errors.CompressError: /nonexistent.dsz does not exist
    """
    if not Path(path).is_file():
        raise CompressError(f"{path} does not exist")
    try:
        with formats.open_dsz(path) as reader:
            meta = dict(reader.metadata)
            if meta.get("dualsparse.kind") != "mann" or "mann" not in meta:
                raise CompressError(f"{path}: a .dsz but not a MANN (no 'mann' metadata; write it with export_mann)")
            arrays = reader.read_many()
    except formats.FormatError as exc:
        raise CompressError(f"{path}: not a readable .dsz ({exc})") from None
    try:
        info = json.loads(meta["mann"])
        if info.get("version") != MANN_DSZ_VERSION:
            raise CompressError(f"{path}: MANN metadata version {info.get('version')} is not {MANN_DSZ_VERSION}")
        layout = FeatureLayout(tuple(info["points"]), tuple(info["styles"]), tuple(info["offsets"]))
        norm = Normalization(*(arrays[f"normalization.{k}"].astype(np.float32) for k in _NORM),
                             float(info["normalization"]["floor"]), int(info["normalization"]["rows"]))
        model = MANN(model_config_from_dict(info["model_config"]))
        state = {k.removeprefix("model."): torch.from_numpy(np.array(v)) for k, v in arrays.items()
                 if k.startswith("model.")}
        model.load_state_dict(state)
        parents = None if info.get("parents") is None else tuple(int(p) for p in info["parents"])
        start = arrays.get("start")
        return ShippedMann(model.eval(), norm, layout, tuple(info["paws"]), parents,
                           None if start is None else np.asarray(start, np.float32))
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        if isinstance(exc, CompressError):
            raise
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise CompressError(f"{path}: malformed MANN contents ({message})") from None


def check_export(original: MANN, shipped: ShippedMann, inputs: torch.Tensor) -> ExportCheck:
    """Compare the reloaded model with ``original`` on normalised ``inputs`` ``(rows, input_dim)``, one frame each.

    The sparse runtime is run one frame at a time (its deployment path), from the original and from the
    reloaded weights; the dense reference is the original model in eval mode.

    Example:
        >>> c = check_export(pruned, load_mann("model.dsz"), x)  # doctest: +SKIP
        >>> c.weights_identical, c.runtime_identical  # doctest: +SKIP
        (True, True)
    """
    original = original.eval()
    reloaded = shipped.model.state_dict()
    weights = all(torch.equal(v, reloaded[k]) for k, v in original.state_dict().items()) and \
        set(reloaded) == set(original.state_dict())
    before, after = SparseMANN.from_model(original), shipped.runtime()
    with torch.no_grad():
        dense = original(inputs)
        a = torch.stack([before(row) for row in inputs])
        b = torch.stack([after(row) for row in inputs])
    return ExportCheck(weights, bool(torch.equal(a, b)), float((b - dense).abs().max()),
                       float(dense.abs().max()), len(inputs))


def start_row(dataset: MannDataset, clips: Sequence[str]) -> np.ndarray:
    """The rollout start of the study: the first unmirrored idle row of ``clips`` (else their first row).

    Example:
        >>> start_row(dataset, split["validation"]).shape  # doctest: +SKIP
        (480,)
    """
    rows = dataset.rows_of(clips)
    if not rows.any():
        raise CompressError("no dataset rows in the given clips")
    idle = rows & ~dataset.mirrored & (dataset.labels == STYLES.index("idle"))
    return np.asarray(dataset.inputs[np.flatnonzero(idle if idle.any() else rows)[0]], np.float32)


def from_checkpoint(checkpoint: str | os.PathLike[str], data: str | os.PathLike[str],
                    skeleton: str | os.PathLike[str] | None = None, rig: Rig | None = None) -> ShippedMann:
    """A training checkpoint with what it needs beside it: ``data`` (the folder of ``examples/mann_data.py``).

    Args:
        checkpoint: a ``checkpoint.pt`` of :func:`compress.mann.train_mann`.
        data: folder with ``normalization.npz`` (the statistics), ``dataset.npz`` (the layout and the start
            row) and ``split.json`` (the held-out clips the start row comes from).
        skeleton: a ``.bvh`` clip of the capture (its hierarchy gives the bones), or None for no bones.
        rig: the paw names (the dog's by default).

    Example:
        >>> from_checkpoint("models/h512-s90-seed0/checkpoint.pt", "/tmp/dualsparse-mann-data")  # doctest: +SKIP
    """
    from compress.mann.render import skeleton_parents

    rig = rig or Rig()
    folder = Path(data)
    for name in ("normalization.npz", "dataset.npz", "split.json"):
        if not (folder / name).is_file():
            raise CompressError(f"{folder / name} not found; a checkpoint needs the data folder of mann_data.py")
    model = load_model(checkpoint)
    try:
        norm = Normalization.load(folder / "normalization.npz")
        dataset = MannDataset.load(folder / "dataset.npz")
        split: Any = json.loads((folder / "split.json").read_text())
        points = tuple(n.split(".")[0] for n in dataset.input_names if n.endswith(".pos_x") and not
                       n.startswith("traj"))
        layout = FeatureLayout(points)
        start = start_row(dataset, split["validation"])
        parents = None
        if skeleton is not None:
            bvh = read_bvh(skeleton)
            parents = skeleton_parents(layout.points, bvh.skeleton.names, bvh.skeleton.parents)
    except (MocapError, KeyError, ValueError) as exc:
        raise CompressError(f"{folder}: {str(exc).splitlines()[0]}") from None
    if layout.input_dim != model.config.input_dim:
        raise CompressError(f"{checkpoint}: model input {model.config.input_dim} does not fit the data's "
                            f"{layout.input_dim}")
    return ShippedMann(model, norm, layout, tuple(rig.paws), parents, start)
