"""Zoo registry and architectures: names, parameter counts, output shapes, checkpoint names."""

from __future__ import annotations

import pytest
import torch

from compress.errors import CompressError
from compress.zoo import ModelSpec, get_model, model_names, model_spec, register_model
from compress.zoo.resnet_cifar import cifar_resnet

# Published parameter counts (LeNet 20-50-500, akamaster README, torchvision, Caffe BVLC AlexNet).
PARAMS = {
    "lenet5": 431_080,
    "resnet20": 269_722,
    "resnet32": 464_154,
    "resnet44": 658_586,
    "resnet56": 853_018,
    "resnet18": 11_689_512,
    "resnet18-winograd": 11_689_512,
    "alexnet": 60_965_224,
}


@pytest.mark.parametrize("name", sorted(PARAMS))
def test_parameter_counts(name):
    assert sum(p.numel() for p in get_model(name).parameters()) == PARAMS[name]


@pytest.mark.parametrize("name", ["lenet5", "resnet20", "resnet18-winograd"])
def test_forward_shape(name):
    spec = model_spec(name)
    out = get_model(name).eval()(torch.zeros(2, *spec.input_shape))
    assert out.shape == (2, 10 if name != "resnet18-winograd" else 1000)


def test_state_dict_names_match_checkpoints():
    lenet = set(get_model("lenet5").state_dict())
    assert lenet == {f"{layer}.{p}" for layer in ("conv1", "conv2", "fc1", "fc2") for p in ("weight", "bias")}
    resnet = get_model("resnet20").state_dict()
    assert "layer3.2.conv2.weight" in resnet and "linear.bias" in resnet and "bn1.running_var" in resnet
    assert not any("shortcut" in k for k in resnet)  # option A has no parameters
    r18 = get_model("resnet18").state_dict()
    assert "layer2.0.downsample.0.weight" in r18 and "fc.weight" in r18
    assert set(r18) == set(get_model("resnet18-winograd").state_dict())


def test_resnet18_variant_moves_stride_into_pooling():
    plain, variant = get_model("resnet18"), get_model("resnet18-winograd")
    assert plain.layer2[0].conv1.stride == (2, 2) and variant.layer2[0].conv1.stride == (1, 1)
    assert isinstance(variant.layer2[0].pool, torch.nn.MaxPool2d)
    assert variant.layer2[0].downsample[0].stride == (2, 2)


def test_alexnet_groups():
    net = get_model("alexnet")
    assert [net.conv2.groups, net.conv3.groups, net.conv4.groups, net.conv5.groups] == [2, 1, 2, 2]


def test_unknown_names_and_bad_depths_raise():
    with pytest.raises(CompressError, match="known models: .*resnet20"):
        get_model("vgg16")
    with pytest.raises(CompressError, match="6n \\+ 2"):
        cifar_resnet(21)
    with pytest.raises(CompressError, match="already registered"):
        register_model("lenet5", ModelSpec(get_model, (1,), "none"))
    assert "alexnet" in model_names()
