"""What a recipe run logs at each logged step: a readable line, a CSV row, TensorBoard scalars.

One row per logged step of fine-tuning (every ``finetune.log_every`` steps and the last) and of codebook
tuning (the same period, and its last step), with the columns of :data:`LOG_FIELDS`: the stage, the
step, the task loss E, the cost (eq. 5: E plus the regularizer terms), R_SD and R_WD, the thresholds
θ_SD and θ_WD, the coefficients ζ_SD and ζ_WD, the sparsity targets in force at that step (the ramp of
``finetune.ramp_steps``) and the wall seconds since the run started (a resumed run goes on from the last
logged row). A field a stage does not have is empty (codebook tuning has no cost column, no R_SD).

:func:`compress.pipeline.runner.run_recipe` writes the rows live to ``log.csv`` in the checkpoint
directory (``OUT.dsz.ckpt/log.csv``: follow it with ``tail -f``) and, when the file is written, the
whole log next to it as ``OUT.dsz.log.csv`` (:func:`default_log_path`). No torch here.

Example:
    >>> row = log_row("finetune", {"step": 50, "loss": 0.25, "zeta_sd": 5.0}, (0.85, 0.8), 1.5)
    >>> describe(row)
    'loss 0.2500 | ζ_SD 5.000 | target s_SD 85.0 % s_WD 80.0 %'
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from compress.errors import RecipeError

__all__ = ["LOG_FIELDS", "CsvLog", "TensorBoardLog", "default_log_path", "describe", "log_row", "read_log"]

LOG_FIELDS = ("stage", "step", "loss", "cost", "r_sd", "r_wd", "theta_sd", "theta_wd", "zeta_sd", "zeta_wd",
              "s_sd", "s_wd", "wall_s")
STAGE_ORDER = ("finetune", "codebook")
_VALUES = LOG_FIELDS[2:]


def default_log_path(output: Path) -> Path:
    """``OUT.dsz`` -> ``OUT.dsz.log.csv`` next to it (as the checkpoint directory ``OUT.dsz.ckpt``).

    Example:
        >>> default_log_path(Path("out/model.dsz")).as_posix()
        'out/model.dsz.log.csv'
    """
    return output.with_name(output.name + ".log.csv")


def log_row(stage: str, record: Any, targets: tuple[float | None, float | None], wall_s: float) -> dict[str, Any]:
    """One log row from a step record (a :class:`~compress.pipeline.finetune.StepRecord`, a
    :class:`~compress.pipeline.codebook.CodebookStep` or a mapping with some of their fields).

    Args:
        stage: ``"finetune"`` or ``"codebook"``.
        record: the logged step; fields it lacks are None.
        targets: ``(s_SD, s_WD)`` in force at that step (None for a domain not regularized).
        wall_s: seconds since the run started.

    Example:
        >>> log_row("codebook", {"step": 3, "loss": 1.0}, (None, 0.8), 2.0)["cost"] is None
        True
    """
    get = record.get if isinstance(record, Mapping) else lambda name: getattr(record, name, None)
    row: dict[str, Any] = {"stage": stage, "step": int(get("step"))}
    for name in ("loss", "cost", "r_sd", "r_wd", "theta_sd", "theta_wd", "zeta_sd", "zeta_wd"):
        value = get(name)
        row[name] = None if value is None else float(value)
    row["s_sd"], row["s_wd"] = targets
    row["wall_s"] = round(float(wall_s), 3)
    return row


def describe(row: Mapping[str, Any]) -> str:
    """The readable part of a progress line: loss, ζ, θ and the sparsity targets in force.

    Example:
        >>> describe({"loss": 0.5, "zeta_sd": 1.0, "zeta_wd": 2.0, "theta_wd": 0.01, "s_sd": 0.5, "s_wd": 0.4})
        'loss 0.5000 | ζ_SD 1.000 ζ_WD 2.000 | θ_WD 0.01 | target s_SD 50.0 % s_WD 40.0 %'
    """
    parts = [f"loss {row['loss']:.4f}"] if row.get("loss") is not None else []
    zeta = [f"ζ_{d.upper()} {row[f'zeta_{d}']:.3f}" for d in ("sd", "wd") if row.get(f"zeta_{d}") is not None]
    theta = [f"θ_{d.upper()} {row[f'theta_{d}']:.3g}" for d in ("sd", "wd") if row.get(f"theta_{d}") is not None]
    target = [f"s_{d.upper()} {100 * row[f's_{d}']:.1f} %" for d in ("sd", "wd") if row.get(f"s_{d}") is not None]
    parts += [" ".join(zeta)] if zeta else []
    parts += [" ".join(theta)] if theta else []
    parts += ["target " + " ".join(target)] if target else []
    return " | ".join(parts)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else str(value)
    return str(value)


def read_log(path: Path) -> list[dict[str, Any]]:
    """The rows of a run log (numbers as floats, ``step`` as int, empty cells as None).

    Example:
        >>> import tempfile
        >>> path = Path(tempfile.mkdtemp()) / "log.csv"
        >>> log = CsvLog(path); log.write(log_row("finetune", {"step": 1, "loss": 2.0}, (0.5, None), 0.1))
        >>> read_log(path)[0]["loss"], read_log(path)[0]["s_wd"]
        (2.0, None)
    """
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if tuple(reader.fieldnames or ()) != LOG_FIELDS:
            raise RecipeError(f"{path} is not a run log of this build (columns {reader.fieldnames})")
        rows = []
        for raw in reader:
            row: dict[str, Any] = {"stage": raw["stage"], "step": int(raw["step"])}
            row.update({k: float(raw[k]) if raw[k] else None for k in _VALUES})
            rows.append(row)
    return rows


class CsvLog:
    """A CSV run log written as it goes (a header, then one flushed row per :meth:`write`).

    Args:
        path: the file; created with its header, or continued when it exists (a resumed run).

    Example:
        >>> import tempfile
        >>> log = CsvLog(Path(tempfile.mkdtemp()) / "log.csv")
        >>> log.write(log_row("finetune", {"step": 1, "loss": 2.0}, (0.5, 0.5), 0.1))
        >>> log.path.read_text().splitlines()[1]
        'finetune,1,2.0,,,,,,,,0.5,0.5,0.1'
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.write_text(",".join(LOG_FIELDS) + "\n", encoding="utf-8")

    def write(self, row: Mapping[str, Any]) -> None:
        """Append one row (keys of :data:`LOG_FIELDS`; missing ones are empty)."""
        with open(self.path, "a", newline="", encoding="utf-8") as handle:
            handle.write(",".join(_cell(row.get(name)) for name in LOG_FIELDS) + "\n")

    def keep(self, wanted: Callable[[dict[str, Any]], bool]) -> float:
        """Drop the rows ``wanted`` rejects (steps a resumed run does again); returns the last kept wall_s."""
        rows = [row for row in read_log(self.path) if wanted(row)]
        buffer = io.StringIO()
        buffer.write(",".join(LOG_FIELDS) + "\n")
        for row in rows:
            buffer.write(",".join(_cell(row.get(name)) for name in LOG_FIELDS) + "\n")
        self.path.write_text(buffer.getvalue(), encoding="utf-8")
        return max((row["wall_s"] or 0.0 for row in rows), default=0.0)

    def truncate(self, stage: str, after_step: int) -> float:
        """Keep the rows of the stages before ``stage`` and its rows up to ``after_step``; returns the last wall_s.

        Example:
            >>> import tempfile
            >>> log = CsvLog(Path(tempfile.mkdtemp()) / "log.csv")
            >>> for s in (1, 2, 3): log.write(log_row("finetune", {"step": s, "loss": 1.0}, (0.5, 0.5), s))
            >>> log.truncate("finetune", 2), [r["step"] for r in read_log(log.path)]
            (2.0, [1, 2])
        """
        rank = STAGE_ORDER.index(stage)

        def wanted(row: dict[str, Any]) -> bool:
            order = STAGE_ORDER.index(row["stage"]) if row["stage"] in STAGE_ORDER else len(STAGE_ORDER)
            return order < rank or (order == rank and row["step"] <= after_step)

        return self.keep(wanted)


class TensorBoardLog:
    """The rows as TensorBoard scalars (``stage/field`` tags, the step as global step) in ``directory``.

    Needs ``torch.utils.tensorboard``, which needs the ``tensorboard`` package (not a dependency of
    dualsparse): without it the constructor raises :class:`~compress.errors.RecipeError` saying so.

    Example:
        >>> TensorBoardLog("/tmp/tb")  # doctest: +SKIP
    """

    def __init__(self, directory: str | Path) -> None:
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            raise RecipeError("TensorBoard logging needs the tensorboard package: pip install tensorboard") from None
        self.writer = SummaryWriter(log_dir=str(directory))

    def write(self, row: Mapping[str, Any]) -> None:
        """Add the row's numeric fields as scalars."""
        for name in _VALUES:
            if name != "wall_s" and row.get(name) is not None:
                self.writer.add_scalar(f"{row['stage']}/{name}", row[name], global_step=int(row["step"]))
        self.writer.flush()

    def close(self) -> None:
        """Flush and close the event file."""
        self.writer.close()
