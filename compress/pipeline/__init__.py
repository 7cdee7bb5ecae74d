"""Joint spatial/Winograd sparse compression pipeline (the paper's stages 1-4).

Library stages: partial L2 regularizers in both domains with learnable coefficients
(:mod:`~compress.pipeline.regularizers`, :mod:`~compress.pipeline.coefficients`,
:mod:`~compress.pipeline.thresholds`, :mod:`~compress.pipeline.targets`), regularized fine-tuning
(:func:`~compress.pipeline.finetune.finetune`, the steppable
:class:`~compress.pipeline.finetune.FinetuneEngine`), dithered quantization
(:func:`~compress.pipeline.quantization.quantize_weights`), codebook fine-tuning
(:func:`~compress.pipeline.codebook.tune_codebooks`), the artifact
(:func:`~compress.pipeline.artifact.write_artifact`) and deployment checks in either domain
(:mod:`~compress.pipeline.deploy_eval`).

Running a whole recipe: :func:`~compress.pipeline.recipe_file.load_recipe` (versioned TOML),
:func:`~compress.pipeline.tasks.build_task` (built-in tasks and ``module:function`` plug-ins),
:func:`~compress.pipeline.runner.run_recipe` (stages, checkpoints, exact resume;
:mod:`~compress.pipeline.checkpointing`, :mod:`~compress.pipeline.batches`,
:mod:`~compress.pipeline.loader_order`; key schema in :mod:`~compress.pipeline.recipe_schema`), DDP under torchrun
(:mod:`~compress.pipeline.distributed`) and the stage report (:mod:`~compress.pipeline.report`).
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "FinetuneConfig": "compress.pipeline.config",
    "CodebookConfig": "compress.pipeline.config",
    "JointSparsity": "compress.pipeline.joint_sparsity",
    "FinetuneEngine": "compress.pipeline.finetune",
    "quantize_weights": "compress.pipeline.quantization",
    "tune_codebooks": "compress.pipeline.codebook",
    "write_artifact": "compress.pipeline.artifact",
    "load_recipe": "compress.pipeline.recipe_file",
    "run_recipe": "compress.pipeline.runner",
    "RunOptions": "compress.pipeline.runner",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    """The names the README lists, imported on first use (``import compress.pipeline`` stays light).

    Example:
        >>> import compress.pipeline
        >>> compress.pipeline.run_recipe.__name__
        'run_recipe'
    """
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'compress.pipeline' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
