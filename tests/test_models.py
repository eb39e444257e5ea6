import pytest
import torch
from torch import nn

from imbsk.models import (
    MLP,
    MODULES,
    CifarResNet,
    NormedLinear,
    ResNet20,
    ResNet32,
    ResNet56,
    SimpleCNN,
    get_module_class,
    resnet20,
    resnet32,
    resnet56,
)


def n_params(module):
    return sum(p.numel() for p in module.parameters())


def resnet_param_count(depth, n_classes, in_channels=3):
    """Parameter count of an option-A CIFAR ResNet, derived layer by layer from He et al. (2016)."""
    n = (depth - 2) // 6

    def conv(c_in, c_out):
        return 9 * c_in * c_out

    def bn(c):
        return 2 * c

    total = conv(in_channels, 16) + bn(16)
    c_in = 16
    for c_out in (16, 32, 64):
        for _ in range(n):
            total += conv(c_in, c_out) + bn(c_out) + conv(c_out, c_out) + bn(c_out)
            c_in = c_out
    return total + 64 * n_classes + n_classes


def test_resnet32_parameter_count():
    net = resnet32(n_classes=10)
    assert n_params(net) == resnet_param_count(32, 10)
    # The count reported for He et al.'s CIFAR ResNet-32 (option A): 0.46M.
    assert n_params(net) == 464_154


@pytest.mark.parametrize("cls, depth", [(ResNet20, 20), (ResNet32, 32), (ResNet56, 56)])
def test_resnet_depths(cls, depth):
    net = cls(n_classes=7, in_channels=1)
    assert net.depth == depth
    assert n_params(net) == resnet_param_count(depth, 7, in_channels=1)
    n_blocks = sum(1 for m in net.modules() if type(m).__name__ == "_BasicBlock")
    assert n_blocks == 3 * (depth - 2) // 6


def test_lowercase_constructors_are_the_classes():
    assert (resnet20, resnet32, resnet56) == (ResNet20, ResNet32, ResNet56)


def test_option_b_shortcut_adds_projections():
    a, b = CifarResNet(20, shortcut="A"), CifarResNet(20, shortcut="B")
    # Two projections (16->32, 32->64): a 1x1 conv and a batch norm each.
    assert n_params(b) - n_params(a) == (16 * 32 + 2 * 32) + (32 * 64 + 2 * 64)


@pytest.mark.parametrize("size", [8, 16, 32])
@pytest.mark.parametrize("make", [lambda: SimpleCNN(n_classes=3, in_channels=1, width=4),
                                  lambda: ResNet20(n_classes=3, in_channels=1),
                                  lambda: ResNet20(n_classes=3, in_channels=1, normalized_classifier=True)])
def test_image_output_shapes(make, size):
    torch.manual_seed(0)
    net = make()
    x = torch.randn(2, 1, size, size)
    out = net(x)
    assert out.shape == (2, 3)
    out.sum().backward()
    assert all(torch.isfinite(p.grad).all() for p in net.parameters() if p.grad is not None)


def test_non_square_input():
    assert SimpleCNN(width=4)(torch.randn(2, 3, 12, 20)).shape == (2, 2)


def test_normalized_classifier_outputs_are_cosines():
    torch.manual_seed(0)
    net = CifarResNet(20, n_classes=5, normalized_classifier=True).eval()
    assert isinstance(net.fc, NormedLinear)
    out = net(100 * torch.randn(4, 3, 16, 16))
    assert out.abs().max() <= 1.0 + 1e-5
    # Each output is the cosine between a feature and a class column: recompute one directly.
    feats = net.pool(net.layers(torch.relu(net.bn(net.conv(100 * torch.randn(1, 3, 16, 16)))))).flatten(1)
    cos = torch.nn.functional.cosine_similarity(feats, net.fc.weight[:, 0][None], dim=1)
    assert torch.allclose(net.fc(feats)[:, 0], cos, atol=1e-5)


def test_mlp():
    torch.manual_seed(0)
    assert MLP(n_features=2, n_classes=3)(torch.randn(5, 2)).shape == (5, 3)
    linear = MLP(n_features=12, n_classes=2, hidden_sizes=())
    assert [type(m) for m in linear.net] == [nn.Flatten, nn.Linear]
    # Higher-dimensional input is flattened to n_features.
    assert linear(torch.randn(4, 3, 2, 2)).shape == (4, 2)
    dropped = MLP(hidden_sizes=[8], dropout=0.5)
    assert any(isinstance(m, nn.Dropout) for m in dropped.modules())


def test_kaiming_init_scale():
    torch.manual_seed(0)
    net = ResNet56()
    w = net.layers[-1].conv2.weight
    fan_in = w[0].numel()
    assert abs(w.std().item() / (2.0 / fan_in) ** 0.5 - 1) < 0.05
    assert torch.all(net.bn.weight == 1) and torch.all(net.bn.bias == 0)


def test_same_seed_same_weights():
    torch.manual_seed(3)
    a = SimpleCNN(width=4)
    torch.manual_seed(3)
    b = SimpleCNN(width=4)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))


def test_get_module_class():
    assert set(MODULES) == {"simple_cnn", "resnet20", "resnet32", "resnet56", "mlp"}
    for name, cls in MODULES.items():
        assert get_module_class(name) is cls
    assert get_module_class(MLP) is MLP

    class Custom(nn.Module):
        pass

    assert get_module_class(Custom) is Custom
    for bad in ["resnet18", 3, MLP(), int]:
        with pytest.raises(ValueError, match=r"module must be one of .*'simple_cnn'.*got"):
            get_module_class(bad)


@pytest.mark.parametrize(
    "make, param",
    [
        (lambda: CifarResNet(depth=30), "depth"),
        (lambda: CifarResNet(depth=2), "depth"),
        (lambda: CifarResNet(shortcut="C"), "shortcut"),
        (lambda: CifarResNet(normalized_classifier="yes"), "normalized_classifier"),
        (lambda: ResNet32(n_classes=0), "n_classes"),
        (lambda: SimpleCNN(in_channels=2.5), "in_channels"),
        (lambda: SimpleCNN(dropout=1.0), "dropout"),
        (lambda: SimpleCNN(width=0), "width"),
        (lambda: MLP(n_features=0), "n_features"),
        (lambda: MLP(hidden_sizes=(8, -1)), "hidden_sizes"),
        (lambda: MLP(hidden_sizes=8), "hidden_sizes"),
        (lambda: NormedLinear(0, 2), "in_features"),
    ],
)
def test_bad_arguments(make, param):
    with pytest.raises(ValueError, match=rf"^{param} must .*got"):
        make()
