"""Training, one-cycle pruning, rollout and foot skating of the MANN quadruped model (issue 14).

Modules, one concept each:

* :mod:`compress.mann.fast`: the forward pass that blends expert outputs (cheap training steps);
* :mod:`compress.mann.schedule`: AdamW warm-restart multiplier and normalised weight decay;
* :mod:`compress.mann.data`: normalised tensors, split by clip, with a seeded data fraction;
* :mod:`compress.mann.pruning`: pruning scopes, the one-cycle sparsifier, the exact-count check;
* :mod:`compress.mann.checkpoint`: per-epoch checkpoints read with ``weights_only=True``;
* :mod:`compress.mann.train`: the resumable training loop;
* :mod:`compress.mann.controller`: scripted scenarios and the autoregressive rollout;
* :mod:`compress.mann.skating`: the foot-skating metric, on rollouts and on the capture.

Example:
    >>> from compress.mann import WarmRestarts, prune_config
    >>> WarmRestarts().multiplier(0.0), prune_config("experts", 0.9).sparsity
    (1.0, 0.9)
"""

from compress.mann.checkpoint import load_checkpoint, load_model, save_checkpoint
from compress.mann.controller import SCENARIOS, Command, ControllerConfig, Rollout, Scenario, Segment, rollout
from compress.mann.data import TrainingData, fraction_rows
from compress.mann.fast import blend_outputs, blended_forward
from compress.mann.pruning import (
    PRUNE_SCOPES,
    MannSparsifier,
    ScopeSparsity,
    check_sparsity,
    global_magnitude_masks,
    make_sparsifier,
    prune_config,
    scope_parameters,
)
from compress.mann.schedule import WarmRestarts
from compress.mann.skating import CONTACT_HEIGHT, Skating, capture_skating, foot_skating, skating_values
from compress.mann.train import CHECKPOINT_NAME, EpochRecord, TrainConfig, TrainResult, evaluate_mse, train_mann

__all__ = [
    "CHECKPOINT_NAME", "CONTACT_HEIGHT", "PRUNE_SCOPES", "SCENARIOS", "Command", "ControllerConfig", "EpochRecord",
    "MannSparsifier", "Rollout", "Scenario", "ScopeSparsity", "Segment", "Skating", "TrainConfig", "TrainResult",
    "TrainingData", "WarmRestarts", "blend_outputs", "blended_forward", "capture_skating", "check_sparsity",
    "evaluate_mse", "foot_skating", "fraction_rows", "global_magnitude_masks", "load_checkpoint", "load_model",
    "make_sparsifier", "prune_config", "rollout", "save_checkpoint", "scope_parameters", "skating_values",
    "train_mann",
]
