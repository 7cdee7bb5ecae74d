"""Run a recipe end to end: task → fine-tune → quantize → codebook-tune → write, resumable.

One verb, :func:`run_recipe`. Each stage ends with a checkpoint (:mod:`compress.pipeline.checkpointing`)
and fine-tuning also writes one every ``checkpoint_every`` steps; ``resume=True`` skips the finished
stages and continues fine-tuning from its last checkpoint with the saved model, Adam moments, ζ, RNG
states and data position, so the ``.dsz`` file is byte-identical to an uninterrupted run's (same
machine, same thread count). Codebook tuning restarts from its stage start when interrupted (it is
short; its loop lives in :mod:`compress.pipeline.codebook`). Every stage seeds torch's RNG at its start
from the recipe seed, so no stage depends on RNG draws of an earlier one.

Training batches come in the order of :func:`compress.pipeline.finetune.seeded_loader` cycled over
epochs (seed ``seed`` for fine-tuning, ``seed + 1`` for codebook tuning; the last, smaller batch of an
epoch is kept), the order the stage functions get in ``examples/``, so a recipe with an example's
settings reproduces its figures. Batch ``k`` is found by replaying that loader's generator
(:class:`~compress.pipeline.loader_order.LoaderOrder`), which keeps resumed runs exact.

Under ``torchrun`` fine-tuning is data-parallel (:mod:`compress.pipeline.distributed`); rank 0 writes
the checkpoints and runs the later stages. Each rank takes its contiguous share of every global batch
(see :class:`~compress.pipeline.loader_order.LoaderOrder` for an epoch's last, smaller batch).
"""

from __future__ import annotations

import copy
import dataclasses
import fnmatch
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from compress.api import save
from compress.atomic import atomic_output
from compress.errors import OutputError, RecipeError
from compress.pipeline.batchnorm import RECALIBRATION_BATCHES, fold_batchnorm, recalibrate_batchnorm
from compress.pipeline.checkpointing import MID_FINETUNE, CheckpointStore, restore_rng, stage_fingerprints
from compress.pipeline.codebook import CodebookStep, tune_codebooks
from compress.pipeline.distributed import DistributedContext, distributed_context
from compress.pipeline.errors import RunStopped
from compress.pipeline.finetune import FinetuneEngine, FinetuneResult, StepRecord, fastest_layout
from compress.pipeline.loader_order import LoaderOrder
from compress.pipeline.progress import Progress
from compress.pipeline.quantization import prune_smallest, quantize_weights
from compress.pipeline.recipe_file import Recipe
from compress.pipeline.report import evaluate_metric
from compress.pipeline.run_log import CsvLog, TensorBoardLog, default_log_path, log_row
from compress.pipeline.targets import collect_targets
from compress.pipeline.tasks import Task, build_task
from formats.ids import PrngId
from formats.tensors import Dither, QuantizedTensor

__all__ = ["Progress", "RunOptions", "RunResult", "default_checkpoint_dir", "run_recipe"]

log = logging.getLogger(__name__)

@dataclass(frozen=True)
class RunOptions:
    """How to run (none of these change the output file).

    Attributes:
        checkpoint_dir: where checkpoints go (default: :func:`default_checkpoint_dir`).
        resume: continue the run whose checkpoints are in ``checkpoint_dir``.
        restart: discard existing checkpoints of an earlier run first.
        checkpoint_every: fine-tuning checkpoint period in steps.
        keep_checkpoints: keep the checkpoint directory after the file is written.
        replace_output: False: never replace an existing output file, even one that appears while the
            run goes on (:class:`~compress.errors.OutputError` at the end; the checkpoints are kept).
        stop_after_step: save a checkpoint and raise :class:`RunStopped` after this fine-tuning step.
        data_root: overrides ``task.data_root``.
        write_log: write the run's CSV log (:mod:`compress.pipeline.run_log`): live as ``log.csv`` in the
            checkpoint directory, then as ``log_path`` when the file is written.
        log_path: where the finished log goes (default: :func:`~compress.pipeline.run_log.default_log_path`,
            ``OUT.dsz.log.csv``); replaced only with ``replace_output``.
        tensorboard_dir: also log the rows as TensorBoard scalars there (needs the ``tensorboard`` package).
    """

    checkpoint_dir: Path | None = None
    resume: bool = False
    restart: bool = False
    checkpoint_every: int = 100
    keep_checkpoints: bool = False
    replace_output: bool = True
    stop_after_step: int | None = None
    data_root: str | Path | None = None
    write_log: bool = True
    log_path: Path | None = None
    tensorboard_dir: Path | None = None


@dataclass
class RunResult:
    """What :func:`run_recipe` produced (``output`` is None on ranks other than 0)."""

    output: Path | None
    report: dict[str, Any]
    resumed: list[str]


def default_checkpoint_dir(output: Path) -> Path:
    """``OUT.dsz`` -> ``OUT.dsz.ckpt`` next to it.

    Example:
        >>> default_checkpoint_dir(Path("out/model.dsz")).as_posix()
        'out/model.dsz.ckpt'
    """
    return output.with_name(output.name + ".ckpt")


def run_recipe(
    recipe: Recipe,
    output: str | Path,
    *,
    weights: str | Path | None = None,
    options: RunOptions | None = None,
    progress: Progress | None = None,
) -> RunResult:
    """Compress the recipe's task into ``output`` (a ``.dsz`` file, written atomically at the end).

    Args:
        recipe: from :func:`compress.pipeline.recipe_file.load_recipe`.
        output: the ``.dsz`` path.
        weights: a checkpoint (state_dict file) to start from instead of the task's own weights.
        options: checkpointing and resume options.
        progress: receives stage messages and step counts.

    Returns:
        A :class:`RunResult` with the stage report (also stored in the file's recipe under ``report``).

    Raises:
        RecipeError: an invalid combination (e.g. a task that needs distillation without it).
        RunStopped: ``options.stop_after_step`` was reached (resume with ``resume=True``).
        CheckpointMismatchError: ``resume`` with checkpoints of another recipe or input.

    Example:
        >>> from compress.pipeline.recipe_file import load_recipe
        >>> run_recipe(load_recipe("digits-demo"), "/tmp/digits.dsz").report["quality"]  # doctest: +SKIP
    """
    output = Path(output)
    options = options or RunOptions()
    weights_path = None if weights is None else Path(weights)
    input_bytes = None if weights_path is None else weights_path.read_bytes()
    store = CheckpointStore(options.checkpoint_dir or default_checkpoint_dir(output),
                            stage_fingerprints(recipe.to_map(), input_bytes))
    if options.checkpoint_every < 1:
        raise RecipeError(f"checkpoint_every must be >= 1, got {options.checkpoint_every}")
    with distributed_context() as ctx:
        if options.restart and ctx.is_main:
            _live_log(store).unlink(missing_ok=True)
            store.clear()
        elif store.any() and not options.resume and not options.restart:
            raise RecipeError(f"{store.directory} holds checkpoints of an earlier run; pass --resume to continue "
                              "it or --force to start over")
        ctx.barrier()
        return _Run(recipe, store, ctx, options, progress or Progress()).execute(output, weights_path)


class _Run:
    def __init__(self, recipe: Recipe, store: CheckpointStore, ctx: DistributedContext, options: RunOptions,
                 progress: Progress) -> None:
        self.recipe = recipe
        self.store = store
        self.ctx = ctx
        self.options = options
        self.progress = progress
        self.resumed: list[str] = []
        self.csv: CsvLog | None = None
        self.tensorboard: TensorBoardLog | None = None
        self._clock = time.monotonic()
        self._wall_offset: float | None = None  # set by the first stage that logs

    def _open_logs(self, output: Path) -> None:
        """The run's CSV log (live in the checkpoint directory) and TensorBoard writer, on rank 0."""
        if not self.ctx.is_main:
            return
        if self.options.write_log:
            final = self.options.log_path or default_log_path(output)
            if final.exists() and not self.options.replace_output:
                raise OutputError(f"log {final} exists; pass --force to replace it")
            if not self.options.resume:
                _live_log(self.store).unlink(missing_ok=True)
            self.csv = CsvLog(_live_log(self.store))
        if self.options.tensorboard_dir is not None:
            self.tensorboard = TensorBoardLog(self.options.tensorboard_dir)

    def _log_from(self, stage: str, step: int) -> None:
        """A stage starts (or resumes) after ``step``: drop the rows a resumed run does again."""
        if self.csv is None:
            return
        last = self.csv.truncate(stage, step)
        if self._wall_offset is None:
            self._wall_offset = last if self.options.resume else 0.0
            if self.options.resume:
                self._clock = time.monotonic()

    def _log(self, stage: str, record: object, targets: tuple[float | None, float | None]) -> None:
        wall = (self._wall_offset or 0.0) + time.monotonic() - self._clock
        row = log_row(stage, record, targets, wall)
        if self.csv is not None:
            self.csv.write(row)
        if self.tensorboard is not None:
            self.tensorboard.write(row)
        self.progress.record("fine-tune" if stage == "finetune" else stage, row)

    def _publish_log(self, output: Path) -> None:
        if self.csv is None:
            return
        final = self.options.log_path or default_log_path(output)
        with atomic_output(final, replace=self.options.replace_output) as partial:
            partial.write_bytes(self.csv.path.read_bytes())
        self.csv.path.unlink(missing_ok=True)
        self.progress.note(f"log: {final}")

    def _finished(self, stage: str) -> dict[str, Any] | None:
        """The stage's checkpoint of an earlier run; None to run it (no checkpoint, or a stale one)."""
        if not self.options.resume or not self.store.exists(stage):
            return None
        # the task stage must match (another model, input or seed is another run); a later stage whose
        # recipe section changed since is run again, and so are the stages after it
        saved = self.store.load(stage) if stage == "task" else self.store.load_current(stage)
        if saved is None:
            self.progress.note(f"{stage}: the recipe changed since the earlier run; running this stage again")
            return None
        self.resumed.append(stage)
        self.progress.note(f"{stage}: done in an earlier run ({self.store.path(stage)})")
        return saved

    def execute(self, output: Path, weights_path: Path | None) -> RunResult:
        self._open_logs(output)
        try:
            return self._execute(output, weights_path)
        finally:
            if self.tensorboard is not None:
                self.tensorboard.close()

    def _execute(self, output: Path, weights_path: Path | None) -> RunResult:
        task = self._task(weights_path)
        original = copy.deepcopy(task.model).eval()
        ft = self.recipe.finetune
        if task.needs_distillation and ft.distill_weight == 0:
            raise RecipeError(f"task {task.name} fine-tunes on few images: set finetune.distill > 0 (e.g. 0.9) to "
                              "distil from the original model")
        teacher = original if ft.distill_weight > 0 else None
        result = self._finetune(task, teacher)
        self.ctx.barrier()
        if not self.ctx.is_main:
            return RunResult(None, {}, self.resumed)
        finetuned = evaluate_metric(task.model, task.eval_data, task.loss)  # before codebook tuning touches BN
        quantized = self._quantize(task, list(result.targets.spatial))
        tuned, zeta_wd = self._codebook(task, teacher, quantized, result)
        report = self._write(output, task, original, tuned, result, zeta_wd, finetuned)
        self._publish_log(output)
        if not self.options.keep_checkpoints:
            self.store.clear()
        return RunResult(output, report, self.resumed)

    def _task(self, weights_path: Path | None) -> Task:
        spec = self.recipe.section("task")
        root = self.options.data_root or spec["data_root"]
        saved = self._finished("task")
        if saved is not None:
            return build_task(spec["name"], data_root=root, options=spec["options"], seed=self.recipe.seed,
                              weights=saved["model"])
        from compress.checkpoints import load_state_dict

        weights = None if weights_path is None else load_state_dict(weights_path)
        self.progress.note(f"task {spec['name']}: building the model and data")
        task = build_task(spec["name"], data_root=root, options=spec["options"], seed=self.recipe.seed,
                          weights=weights)
        if self.ctx.is_main:
            self.store.save("task", {"model": _clone_state(task.model)})
        return task

    def _finetune(self, task: Task, teacher: nn.Module | None) -> FinetuneResult:
        config = self.recipe.finetune
        saved = self._finished("finetune")
        if saved is not None:
            task.model.load_state_dict(saved["model"])
            task.model.eval()
            history = [StepRecord(*row) for row in saved["history"]]
            return FinetuneResult(config, collect_targets(task.model, dict(config.m_for_r)), history, saved["zeta"])
        task.model.to(memory_format=fastest_layout(task.model))  # before DDP wraps it
        engine = FinetuneEngine(task.model, config, teacher=teacher, forward=self.ctx.wrap(task.model))
        state = self.store.load_current(MID_FINETUNE) if (
            self.options.resume and self.store.exists(MID_FINETUNE)) else None
        if state is not None:
            engine.load_state_dict(state["engine"])
            restore_rng(state["rng"])
            self.resumed.append(f"finetune step {engine.step}")
            self.progress.note(f"fine-tune: resuming after step {engine.step}")
        batch = int(self.recipe.section("finetune")["batch"])
        schedule = LoaderOrder(task.train_data, batch, self.recipe.seed, rank=self.ctx.rank,
                               world_size=self.ctx.world_size, augment=config.augment)
        self._log_from("finetune", engine.step)
        self.progress.stage("fine-tune", config.steps)
        self.progress.advance(engine.step)
        while engine.step < config.steps:
            record = engine.train_step(*schedule.batch(engine.step))
            if record is not None:
                self._log("finetune", record, _targets(config, engine.step))
            self.progress.advance(engine.step)
            stop = engine.step == self.options.stop_after_step
            if self.ctx.is_main and engine.step < config.steps and (
                    stop or engine.step % self.options.checkpoint_every == 0):
                self.store.save(MID_FINETUNE, {"engine": engine.state_dict(), "data_position": engine.step})
            if stop:
                self.progress.done()
                raise RunStopped(f"stopped after fine-tuning step {engine.step} as asked; checkpoint in "
                                 f"{self.store.directory}; rerun with --resume to continue")
        self.progress.done()
        result = engine.finish()
        if self.ctx.is_main:
            self.store.save("finetune", {"model": _clone_state(task.model), "zeta": result.zeta,
                                         "history": [dataclasses.astuple(r) for r in result.history]})
            self.store.path(MID_FINETUNE).unlink(missing_ok=True)
        return result

    def _quantize(self, task: Task, names: list[str]) -> dict[str, QuantizedTensor]:
        model = task.model
        saved = self._finished("quantize")
        if saved is not None:
            if "model" in saved:
                model.load_state_dict(saved["model"])
            return {name: _quantized_from(entry) for name, entry in saved["tensors"].items()}
        overrides = self.recipe.layer_overrides
        unknown = sorted(set(overrides) - set(names))
        if unknown:
            raise RecipeError(f"quantize.layers.{unknown[0]}: not a conv/linear weight of the model; weights are "
                              f"{', '.join(names[:6])}{', ...' if len(names) > 6 else ''}")
        for pattern, _ in self.recipe.codebook.tensor_bits:
            if not any(fnmatch.fnmatchcase(n, pattern) for n in names):
                raise RecipeError(f"quantize.tensor_bits.{pattern!r} matches no conv/linear weight; weights are "
                                  f"{', '.join(names[:6])}{', ...' if len(names) > 6 else ''}")
        if self.recipe.codebook.prune > 0:
            theta = prune_smallest(model, names, self.recipe.codebook.prune)
            self.progress.note(f"quantize: pruned the {self.recipe.codebook.prune:.0%} smallest weights (|w| <= "
                               f"{theta:.3g}) before quantizing")
        if self.recipe.finetune.batchnorm == "fold":
            batch = int(self.recipe.section("codebook")["batch"])
            # the fine-tuning's augmentation: the network learnt its BatchNorm affine terms under the statistics
            # of augmented batches, and statistics of plain images cost ResNet-32 1.2 points (study log, session 5)
            schedule = LoaderOrder(task.train_data, batch, (self.recipe.seed + 2) % 2**63,
                                   augment=self.recipe.finetune.augment)
            count = recalibrate_batchnorm(model, (schedule.batch(k)[0] for k in range(RECALIBRATION_BATCHES)))
            pairs = fold_batchnorm(model, task.example_input())
            self.progress.note(f"quantize: statistics of {count} BatchNorm layers re-estimated on "
                               f"{RECALIBRATION_BATCHES} batches, {len(pairs)} folded into their convolutions")
        shared = [n for n in names if n not in overrides]
        quantized = quantize_weights(model, shared, self.recipe.codebook) if shared else {}
        for name, config in overrides.items():
            quantized.update(quantize_weights(model, [name], config))
        quantized = {n: quantized[n] for n in names}
        self.progress.note(f"quantize: {len(quantized)} weight tensors, Δ = "
                           f"{', '.join(sorted({f'{q.step:.4g}' for q in quantized.values()}))}")
        self.store.save("quantize", {"tensors": {n: _quantized_state(q) for n, q in quantized.items()},
                                     "model": _clone_state(model)})
        return quantized

    def _codebook(self, task: Task, teacher: nn.Module | None, quantized: dict[str, QuantizedTensor],
                  result: FinetuneResult) -> tuple[dict[str, QuantizedTensor], float | None]:
        saved = self._finished("codebook")
        if saved is not None:
            task.model.load_state_dict({**task.model.state_dict(), **saved.get("buffers", {})})
            return {n: _quantized_from(e) for n, e in saved["tensors"].items()}, saved["zeta_wd"]
        config = self.recipe.codebook
        if config.steps == 0:
            self.store.save("codebook", {"tensors": {n: _quantized_state(q) for n, q in quantized.items()},
                                         "zeta_wd": None})
            return quantized, None
        torch.manual_seed(self.recipe.seed)
        ft = self.recipe.finetune
        schedule = LoaderOrder(task.train_data, int(self.recipe.section("codebook")["batch"]),
                               (self.recipe.seed + 1) % 2**63, augment=ft.augment)
        self._log_from("codebook", 0)
        self.progress.stage("codebook", config.steps)

        def step_done(record: CodebookStep) -> None:
            if record.step % ft.log_every == 0 or record.step == config.steps:
                self._log("codebook", record, (None, None if record.zeta_wd is None else config.s_wd))
            self.progress.advance(record.step)

        tuned = tune_codebooks(
            task.model, quantized, _Endless(schedule), config, targets=result.targets, loss=task.loss,
            teacher=teacher, distill_weight=ft.distill_weight, temperature=ft.temperature,
            zeta_init=_codebook_zeta_start(result.zeta.get("wd", ft.zeta_init), config.zeta_max), log_every=1,
            progress=step_done,
        )
        self.progress.done()
        self.store.save("codebook", {"tensors": {n: _quantized_state(q) for n, q in tuned.tensors.items()},
                                     "zeta_wd": tuned.zeta_wd, "buffers": _buffers(task.model)})
        return tuned.tensors, tuned.zeta_wd

    def _write(self, output: Path, task: Task, original: nn.Module, tuned: dict[str, QuantizedTensor],
               result: FinetuneResult, zeta_wd: float | None, finetuned: float) -> dict[str, Any]:
        output_section = self.recipe.section("output")
        recipe_map: dict[str, Any] = {
            "_type": "DualsparseRecipe", "_version": 1, "_data": self.recipe.to_map(),
            "stages": [self.recipe.finetune.to_recipe(), self.recipe.codebook.to_recipe()],
        }
        self.progress.note("write: entropy coding and measuring the decoded file")
        return save(
            output, task.model, tuned, original=original, example_input=task.example_input(),
            eval_data=task.eval_data, loss=task.loss, finetune=self.recipe.finetune, recipe=recipe_map,
            metadata={"task": task.name, "producer_stage": "dualsparse compress --recipe"},
            codec=str(output_section["codec"]), raw_float=str(output_section["raw_float"]),
            codebook_mantissa_bits=int(output_section["codebook_mantissa_bits"]),
            zeta={"finetune_sd": result.zeta.get("sd"), "finetune_wd": result.zeta.get("wd"), "codebook_wd": zeta_wd},
            finetuned=finetuned, replace=self.options.replace_output,
        )


class _Endless:
    """A re-iterable view of a :class:`LoaderOrder` from step 0 (what ``tune_codebooks`` cycles)."""

    def __init__(self, schedule: LoaderOrder) -> None:
        self.schedule = schedule

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        return self.schedule.iterate(0)


def _live_log(store: CheckpointStore) -> Path:
    """The log a run writes as it goes (moved next to the output at the end)."""
    return store.directory / "log.csv"


def _targets(config: Any, step: int) -> tuple[float | None, float | None]:
    """``(s_SD, s_WD)`` in force at ``step``, None for a domain fine-tuning does not regularize."""
    s_sd, s_wd = config.sparsity_at(step)
    return (s_sd if "sd" in config.domains else None, s_wd if "wd" in config.domains else None)


def _codebook_zeta_start(final_zeta_wd: float, zeta_max: float | None) -> float:
    return final_zeta_wd if zeta_max is None else min(final_zeta_wd, zeta_max)


def _buffers(model: nn.Module) -> dict[str, torch.Tensor]:
    """The model's buffers (BatchNorm statistics): codebook tuning in ``batchnorm = "train"`` changes them."""
    buffers = {name for name, _ in model.named_buffers()}
    return {k: v.detach().clone() for k, v in model.state_dict().items() if k in buffers}


def _clone_state(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _quantized_state(q: QuantizedTensor) -> dict[str, Any]:
    return {
        "symbols": torch.from_numpy(np.asarray(q.symbols).astype(np.int32)),
        "symbol_dtype": str(np.asarray(q.symbols).dtype),
        "codebook": torch.from_numpy(np.asarray(q.codebook, dtype=np.float32).copy()),
        "zero_symbol": int(q.zero_symbol),
        "step": float(q.step),
        "dither": [int(q.dither.prng), str(q.dither.seed), str(q.dither.stream)],
    }


def _quantized_from(entry: dict[str, Any]) -> QuantizedTensor:
    prng, seed, stream = entry["dither"]
    return QuantizedTensor(
        symbols=entry["symbols"].numpy().astype(np.dtype(entry["symbol_dtype"])),
        codebook=entry["codebook"].numpy().astype(np.float32),
        zero_symbol=int(entry["zero_symbol"]),
        step=float(entry["step"]),
        dither=Dither(PrngId(prng), int(seed), int(stream)),
    )
