"""Training: the loop learns, a stopped run resumes to the same weights, checkpoints refuse other runs."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from compress.errors import CheckpointError, CompressError
from compress.mann import CHECKPOINT_NAME, TrainConfig, TrainingData, fraction_rows, load_checkpoint, load_model
from compress.mann import train_mann as train
from compress.mocap import fit_normalization

TINY = dict(hidden=12, gating_hidden=4, experts=3, lr=3e-3, batch_size=8)


def make_data(rows: int = 96, seed: int = 0) -> TrainingData:
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(rows, 10, generator=generator)
    y = torch.tanh(x[:, :4] * 2) + 0.1 * x[:, 4:8]
    norm = fit_normalization(x.numpy(), y.numpy())
    return TrainingData(x[:80], y[:80], x[80:], y[80:], norm, (0, 1, 2))


def test_training_lowers_the_loss():
    result = train(make_data(), TrainConfig(epochs=4, **TINY))
    history = result.history
    assert [r.epoch for r in history] == [1, 2, 3, 4]
    assert history[-1].train_mse < history[0].train_mse
    assert result.steps_per_epoch == 10
    assert history[0].lr == pytest.approx(3e-3 * 0.5 * (1 + torch.cos(torch.tensor(0.0999 * torch.pi)).item()),
                                          rel=1e-2)


def test_denormals_are_flushed_only_while_training():
    train(make_data(), TrainConfig(epochs=1, **TINY))
    tiny = torch.tensor([1e-40], dtype=torch.float32)
    assert float(tiny * 1.0) != 0.0  # the process-wide flag is cleared again (other code needs subnormals)


@pytest.mark.parametrize("sparsity", [0.0, 0.7])
def test_resume_gives_the_uninterrupted_weights(tmp_path, sparsity):
    data = make_data()
    config = TrainConfig(epochs=3, sparsity=sparsity, **TINY)
    straight = train(data, config, tmp_path / "straight")
    stopped = TrainConfig(epochs=1, sparsity=sparsity, **TINY)
    if sparsity:  # a pruned run may not change its budget: stop it by hand instead
        with pytest.raises(CheckpointError, match="epochs 3 -> 1"):
            train(data, stopped, tmp_path / "straight")
        interrupted = _interrupt_after_first_epoch(data, config, tmp_path / "resumed")
    else:
        interrupted = train(data, stopped, tmp_path / "resumed")
    assert len(interrupted.history) == 1
    resumed = train(data, config, tmp_path / "resumed")
    assert resumed.resumed_from == 1
    for (name, a), b in zip(straight.model.state_dict().items(), resumed.model.state_dict().values(), strict=True):
        assert torch.equal(a, b), name
    assert [r.train_mse for r in resumed.history] == [r.train_mse for r in straight.history]
    assert resumed.final_sparsity.exact
    again = train(data, config, tmp_path / "resumed")
    assert again.resumed_from == 3
    assert load_model(tmp_path / "resumed" / CHECKPOINT_NAME).config.hidden == 12


def _interrupt_after_first_epoch(data, config, folder):
    class Stop(Exception):
        pass

    def stop(record):
        raise Stop

    with pytest.raises(Stop):
        train(data, config, folder, on_epoch=stop)
    return SimpleNamespace(history=load_checkpoint(folder / CHECKPOINT_NAME)["history"])


def test_checkpoint_of_another_run_is_refused(tmp_path):
    data = make_data()
    train(data, TrainConfig(epochs=1, **TINY), tmp_path)
    with pytest.raises(CheckpointError, match="seed 0 -> 1"):
        train(data, TrainConfig(epochs=1, seed=1, **TINY), tmp_path)


def test_bad_configs_and_data():
    with pytest.raises(CompressError):
        TrainConfig(epochs=0)
    with pytest.raises(CompressError):
        TrainConfig(sparsity=1.0)
    with pytest.raises(CompressError):
        TrainConfig(scope="gating")
    with pytest.raises(CompressError, match="no batch"):
        train(make_data(), TrainConfig(epochs=1, **{**TINY, "batch_size": 100}))
    with pytest.raises(CompressError):
        fraction_rows(10, 0.0, 0)


def test_fraction_rows_is_seeded_and_sized():
    assert fraction_rows(1000, 0.02, 3).tolist() == fraction_rows(1000, 0.02, 3).tolist()
    assert len(fraction_rows(1000, 0.02, 3)) == 20
    assert len(fraction_rows(5, 0.01, 0)) == 1
    assert fraction_rows(4, 1.0, 9).tolist() == [0, 1, 2, 3]
