"""Dithered quantization, codebook fine-tuning (average gradient, zeros stay zero), artifact and deployment."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset

import formats
from compress.pipeline.artifact import pipeline_recipe, write_artifact
from compress.pipeline.codebook import TorchQuantized, tune_codebooks
from compress.pipeline.config import CodebookConfig
from compress.pipeline.deploy_eval import load_decoded, sparsity_by_tensor, winograd_deployed
from compress.pipeline.errors import PipelineInvariantError
from compress.pipeline.finetune import seeded_loader
from compress.pipeline.quantization import quantize_weights
from compress.pipeline.targets import collect_targets
from formats.quantize import dequantize


def _net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 3))


def _loader() -> torch.utils.data.DataLoader:
    g = torch.Generator().manual_seed(1)
    data = TensorDataset(torch.randn(32, 1, 6, 6, generator=g), torch.randint(0, 3, (32,), generator=g))
    return seeded_loader(data, 8, 0)


def _quantized(net: nn.Module, **kwargs: object) -> dict:
    return quantize_weights(net, collect_targets(net).spatial, CodebookConfig(**{"step": 0.05, **kwargs}))


def test_one_step_for_all_layers_or_per_layer() -> None:
    net = _net()
    shared = quantize_weights(net, ["0.weight", "3.weight"], CodebookConfig(bits=4, per_layer=False))
    assert shared["0.weight"].step == shared["3.weight"].step
    per_layer = quantize_weights(net, ["0.weight", "3.weight"], CodebookConfig(bits=4))  # bits: per tensor
    assert per_layer["0.weight"].step != per_layer["3.weight"].step
    assert CodebookConfig(bits=4).per_layer


def test_torch_decoding_is_bit_exact_with_formats() -> None:
    q = _quantized(_net())["3.weight"]
    np.testing.assert_array_equal(TorchQuantized(q).decoded().detach().numpy(), dequantize(q))


def test_codebook_gradient_is_the_average_of_its_weights() -> None:
    q = _quantized(_net())["3.weight"]
    tq = TorchQuantized(q)
    probe = torch.randn(q.shape, generator=torch.Generator().manual_seed(2))
    (tq.decoded() * probe).sum().backward()
    tq.average_gradient_()
    symbols = np.asarray(q.symbols)
    for k in range(q.codebook.size):
        chosen = probe.numpy()[symbols == k]
        expected = 0.0 if k == q.zero_symbol or chosen.size == 0 else chosen.mean()
        assert float(tq.codebook.grad[k]) == pytest.approx(expected, rel=1e-5, abs=1e-7)


def test_tuning_keeps_pruned_set_and_zero_value() -> None:
    net = _net()
    quantized = _quantized(net)
    config = CodebookConfig(step=0.05, steps=15, lr=1e-2, s_wd=0.6)
    result = tune_codebooks(net, quantized, _loader(), config, targets=collect_targets(net), log_every=5)
    assert [r.step for r in result.history] == [5, 10, 15]
    assert result.zeta_wd is not None and result.zeta_wd > 0
    changed = False
    for name, before in quantized.items():
        after = result.tensors[name]
        assert after.codebook.dtype == np.float32 and after.codebook[after.zero_symbol] == 0.0
        np.testing.assert_array_equal(after.symbols, before.symbols)
        pruned = np.asarray(before.symbols) == before.zero_symbol
        assert (dequantize(after)[pruned] == 0).all()
        changed |= not np.array_equal(after.codebook, before.codebook)
    assert changed


def test_invariant_violation_is_caught() -> None:
    tq = TorchQuantized(_quantized(_net())["3.weight"])
    tq.symbols[int(torch.nonzero(tq.keep)[0])] = tq.zero_symbol  # a weight silently pruned
    with pytest.raises(PipelineInvariantError, match="pruned"):
        tq.check_invariants()


def test_artifact_decodes_to_tuned_weights_in_both_domains(tmp_path) -> None:
    net = _net()
    quantized = _quantized(net)
    result = tune_codebooks(net, quantized, _loader(), CodebookConfig(step=0.05, steps=3), targets=collect_targets(net))
    path = tmp_path / "tiny.dsz"
    write_artifact(path, net, result.tensors, recipe=pipeline_recipe(CodebookConfig(step=0.05, steps=3)))
    spatial = formats.load(path)
    for name, q in result.tensors.items():
        np.testing.assert_array_equal(spatial[name], dequantize(q))
    x = torch.randn(5, 1, 6, 6)
    reference = load_decoded(net, spatial)(x)
    winograd = formats.load(path, domain="winograd", sparsity=0.0)  # the default prunes to the stored s_wd
    assert winograd["0.weight"].shape == (4, 1, 6, 6)
    torch.testing.assert_close(winograd_deployed(net, winograd)(x), reference, atol=1e-4, rtol=1e-4)
    pruned = formats.load(path, domain="winograd", sparsity=0.5)
    assert sparsity_by_tensor(pruned, ["0.weight"])["0.weight"] >= 0.5
    assert formats.stored_winograd_sparsity(path) == 0.8  # CodebookConfig's s_wd, trained with R_WD
    stored, explicit = formats.load(path, domain="winograd"), formats.load(path, domain="winograd", sparsity=0.8)
    assert all(np.array_equal(stored[name], explicit[name]) for name in explicit)
