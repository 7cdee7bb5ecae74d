"""Train/validation split by clip: held-out clips are never seen in training, deterministic from a seed.

The clip names are sorted and shuffled with ``numpy.random.default_rng(seed)``; then either the first
``round(validation_fraction * clips)`` are held out, or, when the clips' frame counts are given, the
first clips whose frames together come closest to ``validation_fraction`` of all frames. At least 1 clip is held
out and at least 1 is kept. The split depends only on the names (and frames), the fraction and the seed.

Example:
    >>> split = split_clips([f"clip{i}" for i in range(10)], validation_fraction=0.2, seed=0)
    >>> len(split.train), len(split.validation), set(split.train) & set(split.validation)
    (8, 2, set())
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from compress.mocap.errors import MocapError

__all__ = ["ClipSplit", "split_clips"]


@dataclass(frozen=True)
class ClipSplit:
    """Which clips train and which validate.

    Attributes:
        train: training clip names, sorted.
        validation: held-out clip names, sorted.
        validation_fraction: the requested held-out fraction of clips.
        seed: the shuffling seed.
    """

    train: tuple[str, ...]
    validation: tuple[str, ...]
    validation_fraction: float
    seed: int

    def is_validation(self, name: str) -> bool:
        """Whether clip ``name`` is held out (:class:`MocapError` for a clip in neither part)."""
        if name in self.validation:
            return True
        if name in self.train:
            return False
        raise MocapError(f"clip {name!r} is in neither the training nor the validation split")


def split_clips(names: Iterable[str], validation_fraction: float = 0.1, seed: int = 0,
                frames: Mapping[str, int] | None = None) -> ClipSplit:
    """Split clip names into training and validation parts.

    Args:
        names: distinct clip names (at least 2).
        validation_fraction: fraction held out, in (0, 1): of the clips, or of the frames when ``frames``
            is given.
        seed: seed of the shuffle.
        frames: frame count of every clip; then the shortest run of shuffled clips whose frames come
            closest to the fraction of all frames is held out.

    Returns:
        The :class:`ClipSplit`.

    Example:
        >>> split_clips(["a", "b", "c"], 0.3, seed=1) == split_clips(["c", "b", "a"], 0.3, seed=1)
        True
        >>> frames = {f"c{i}": 100 * (i + 1) for i in range(10)}
        >>> held = split_clips(frames, 0.25, seed=0, frames=frames).validation
        >>> held, sum(frames[n] for n in held) / sum(frames.values())
        (('c2', 'c4', 'c6'), 0.2727272727272727)
    """
    ordered = sorted(names)
    if len(set(ordered)) != len(ordered):
        duplicates = sorted({n for n in ordered if ordered.count(n) > 1})
        raise MocapError(f"clip names must be distinct, repeated: {', '.join(duplicates)}")
    if len(ordered) < 2:
        raise MocapError(f"a split needs at least 2 clips, got {len(ordered)}")
    if not 0.0 < validation_fraction < 1.0:
        raise MocapError(f"validation fraction must be in (0, 1), got {validation_fraction}")
    order = np.random.default_rng(seed).permutation(len(ordered))
    if frames is None:
        held = round(validation_fraction * len(ordered))
    else:
        missing = [name for name in ordered if name not in frames]
        if missing:
            raise MocapError(f"no frame count for clips {', '.join(missing)}")
        counts = np.array([frames[ordered[i]] for i in order], dtype=np.float64)
        if (counts < 0).any() or counts.sum() <= 0:
            raise MocapError("frame counts must be non-negative with a positive total")
        held = int(np.argmin(np.abs(np.cumsum(counts) - validation_fraction * counts.sum())) + 1)
    held = min(max(held, 1), len(ordered) - 1)
    validation = sorted(ordered[i] for i in order[:held])
    train = sorted(ordered[i] for i in order[held:])
    return ClipSplit(tuple(train), tuple(validation), float(validation_fraction), int(seed))
