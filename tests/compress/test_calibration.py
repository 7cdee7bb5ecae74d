"""BatchNorm statistics and biases corrected for quantization error (compress.calibration)."""

from __future__ import annotations

import copy

import torch
from torch import nn

from compress.calibration import correct_for_quantization


def _net() -> nn.Module:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.ReLU(), nn.Conv2d(8, 8, 3), nn.BatchNorm2d(8),
                        nn.ReLU(), nn.Flatten(), nn.Linear(8 * 4 * 4, 4))
    inputs = torch.randn(256, 3, 8, 8)
    net.train()
    with torch.no_grad():  # realistic running statistics: a few training-mode passes
        for _ in range(20):
            net(inputs)
    return net.eval()


def _coarse(state: dict[str, torch.Tensor], step: float) -> dict[str, torch.Tensor]:
    return {k: (torch.round(v / step) * step if k.endswith("weight") and v.dim() >= 2 else v) for k, v in state.items()}


def _normalised_outputs(net: nn.Module, inputs: torch.Tensor) -> dict[int, tuple[torch.Tensor, torch.Tensor]]:
    out: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}
    hooks = [m.register_forward_hook(lambda mod, a, y, i=i: out.__setitem__(i, (y.mean((0, 2, 3)), y.std((0, 2, 3)))))
             for i, m in enumerate(net) if isinstance(m, nn.BatchNorm2d)]
    with torch.no_grad():
        net(inputs)
    for hook in hooks:
        hook.remove()
    return out


def test_the_quantized_network_normalises_as_the_float_one_does() -> None:
    net = _net()
    state = {k: v.clone() for k, v in net.state_dict().items()}
    quantized = _coarse(state, 0.15)
    inputs = torch.randn(512, 3, 8, 8, generator=torch.Generator().manual_seed(1))
    fixed = correct_for_quantization(net, state, quantized, inputs)
    assert sorted(fixed) == ["0.bias", "1.running_mean", "1.running_var", "3.bias", "4.running_mean",
                             "4.running_var", "7.bias"]

    reference = _normalised_outputs(net, inputs)
    plain_net = _net()
    plain_net.load_state_dict(quantized)
    corrected_net = _net()
    corrected_net.load_state_dict({**quantized, **fixed})
    plain, corrected = _normalised_outputs(plain_net, inputs), _normalised_outputs(corrected_net, inputs)
    for i, (mean, std) in reference.items():
        error_before = (plain[i][0] - mean).abs().max() + (plain[i][1] - std).abs().max()
        error_after = (corrected[i][0] - mean).abs().max() + (corrected[i][1] - std).abs().max()
        assert error_after < 1e-3 < error_before, (i, float(error_before), float(error_after))


def test_unquantized_weights_leave_the_statistics_as_they_were() -> None:
    net = _net()
    state = {k: v.clone() for k, v in net.state_dict().items()}
    fixed = correct_for_quantization(net, state, state, torch.randn(64, 3, 8, 8))
    for name, value in fixed.items():
        torch.testing.assert_close(value, state[name], rtol=1e-5, atol=1e-6)
    assert all(torch.equal(v, net.state_dict()[k]) for k, v in state.items())  # the model is not modified


def test_a_network_without_batchnorm_or_biases_has_nothing_to_correct() -> None:
    net = nn.Sequential(nn.Linear(4, 4, bias=False), nn.ReLU())
    assert correct_for_quantization(net, net.state_dict(), net.state_dict(), torch.randn(8, 4)) == {}


def test_biases_lose_the_mean_shift_of_their_outputs() -> None:
    torch.manual_seed(2)
    net = nn.Sequential(nn.Conv1d(3, 5, 3), nn.ReLU(), nn.Flatten(), nn.Linear(5 * 6, 4)).eval()
    state = {k: v.clone() for k, v in net.state_dict().items()}
    quantized = _coarse(state, 0.2)
    inputs = torch.randn(300, 3, 8)
    fixed = correct_for_quantization(net, state, quantized, inputs)
    assert sorted(fixed) == ["0.bias", "3.bias"]
    corrected = copy.deepcopy(net)
    corrected.load_state_dict({**quantized, **fixed})
    plain = copy.deepcopy(net)
    plain.load_state_dict(quantized)
    with torch.no_grad():
        reference, before, after = net(inputs).mean(0), plain(inputs).mean(0), corrected(inputs).mean(0)
        first = (corrected[0](inputs).mean((0, 2)) - net[0](inputs).mean((0, 2))).abs().max()
    assert first < 1e-5  # the first layer's output mean per channel is the float one's
    assert (after - reference).abs().max() < 1e-5 < (before - reference).abs().max()
