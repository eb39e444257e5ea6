"""Network modules for :class:`imbsk.CNNClassifier`: a small CNN, CIFAR ResNets and an MLP.

Every module returns logits (no softmax), so it pairs with the losses of :mod:`imbsk.losses` and with
:class:`torch.nn.CrossEntropyLoss`. The image modules end in adaptive average pooling, so one instance
accepts any image size from 8x8 up; the constructor keywords (``n_classes``, ``in_channels``,
``n_features``) are the ones the classifier sets from the training data.

A module is chosen by name through :data:`MODULES` / :func:`get_module_class`, so that ``GridSearchCV``
can search over it as a plain string parameter.
"""

import numbers

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "MLP",
    "MODULES",
    "CifarResNet",
    "NormedLinear",
    "ResNet20",
    "ResNet32",
    "ResNet56",
    "SimpleCNN",
    "get_module_class",
    "resnet20",
    "resnet32",
    "resnet56",
]


def _check_int(name, value, minimum):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}; got {value!r}.")
    return int(value)


def _check_dropout(value):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0.0 <= value < 1.0:
        raise ValueError(f"dropout must be a float in [0, 1); got {value!r}.")
    return float(value)


def _kaiming_init(module):
    """Kaiming-normal weights for convolutions and linear layers, unit/zero batch-norm affine."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d | nn.Linear):
            nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)


class NormedLinear(nn.Module):
    """Cosine classifier: the logits are cosines between normalised features and normalised weights.

    This is the last layer that LDAM (Cao et al. 2019) pairs with its loss. Each output lies in
    ``[-1, 1]``; the loss multiplies by its ``scale`` (30 in :class:`imbsk.losses.LDAMLoss`), so the
    logits that enter the softmax are bounded by that scale.

    Parameters
    ----------
    in_features : int
        Size of each input sample.
    out_features : int
        Number of classes.

    Attributes
    ----------
    weight : torch.nn.Parameter of shape (in_features, out_features)
        One column per class; normalised at every forward pass.

    Examples
    --------
    >>> import torch
    >>> layer = NormedLinear(8, 3)
    >>> bool(layer(torch.randn(4, 8)).abs().max() <= 1.0)
    True
    """

    def __init__(self, in_features, out_features):
        super().__init__()
        self.in_features = _check_int("in_features", in_features, 1)
        self.out_features = _check_int("out_features", out_features, 1)
        self.weight = nn.Parameter(torch.empty(self.in_features, self.out_features))
        # The reference LDAM code's initialisation: uniform, then each column renormalised.
        self.weight.data.uniform_(-1, 1).renorm_(2, 1, 1e-5).mul_(1e5)

    def forward(self, x):
        """Cosine similarities of ``x`` (N, in_features) with each class, shape (N, out_features)."""
        return F.normalize(x, dim=1) @ F.normalize(self.weight, dim=0)

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}"


class SimpleCNN(nn.Module):
    """A small Keras-tutorial-style CNN: (conv-conv-pool-dropout) x 2, a dense layer, dropout, logits.

    Deliberately plain: without a remedy it collapses to the majority class on imbalanced CIFAR
    cat/dog, which is what makes it a useful baseline for imbalance remedies.

    Parameters
    ----------
    n_classes : int, default=2
        Number of output logits.
    in_channels : int, default=3
        Channels of the input images.
    width : int, default=32
        Channels of the first two convolutions; the next two have ``2 * width`` and the dense layer
        ``8 * width`` units.
    dropout : float, default=0.25
        Dropout after each pooling stage; the dense layer uses twice this rate (capped at 0.5), as the
        Keras tutorial does.
    normalized_classifier : bool, default=False
        If True the last layer is a :class:`NormedLinear` cosine classifier and the outputs are cosines
        in ``[-1, 1]``, as :class:`imbsk.losses.LDAMLoss` with ``scale=30`` expects.

    Examples
    --------
    >>> import torch
    >>> SimpleCNN(n_classes=2)(torch.zeros(4, 3, 32, 32)).shape
    torch.Size([4, 2])
    """

    def __init__(self, n_classes=2, in_channels=3, width=32, dropout=0.25, normalized_classifier=False):
        super().__init__()
        n_classes = _check_int("n_classes", n_classes, 1)
        in_channels = _check_int("in_channels", in_channels, 1)
        width = _check_int("width", width, 1)
        dropout = _check_dropout(dropout)
        if not isinstance(normalized_classifier, bool):
            raise ValueError(f"normalized_classifier must be a bool; got {normalized_classifier!r}.")

        def block(c_in, c_out):
            return [
                nn.Conv2d(c_in, c_out, 3, padding=1),
                nn.ReLU(inplace=True),
                nn.Conv2d(c_out, c_out, 3, padding=1),
                nn.ReLU(inplace=True),
                nn.MaxPool2d(2),
                nn.Dropout(dropout),
            ]

        self.features = nn.Sequential(
            *block(in_channels, width),
            *block(width, 2 * width),
            # Fixed 4x4 map whatever the input size, so the dense layer's size does not depend on it.
            nn.AdaptiveAvgPool2d(4),
            nn.Flatten(),
        )
        self.classifier = nn.Sequential(
            nn.Linear(2 * width * 16, 8 * width),
            nn.ReLU(inplace=True),
            nn.Dropout(min(2 * dropout, 0.5)),
            NormedLinear(8 * width, n_classes) if normalized_classifier else nn.Linear(8 * width, n_classes),
        )
        _kaiming_init(self)

    def forward(self, x):
        """Logits of shape (N, n_classes) for images ``x`` of shape (N, in_channels, H, W)."""
        return self.classifier(self.features(x))


class _BasicBlock(nn.Module):
    """Two 3x3 convolutions with a residual connection (He et al. 2016, CIFAR variant)."""

    def __init__(self, c_in, c_out, stride, shortcut):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.shortcut_kind = shortcut
        self.pad = c_out - c_in
        self.stride = stride
        self.projection = None
        if (stride != 1 or c_in != c_out) and shortcut == "B":
            self.projection = nn.Sequential(
                nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False), nn.BatchNorm2d(c_out)
            )

    def _shortcut(self, x):
        if self.projection is not None:
            return self.projection(x)
        if self.stride == 1 and self.pad == 0:
            return x
        # Option A: subsample and zero-pad the new channels; adds no parameters.
        x = x[:, :, :: self.stride, :: self.stride]
        return F.pad(x, (0, 0, 0, 0, self.pad // 2, self.pad - self.pad // 2))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self._shortcut(x))


class CifarResNet(nn.Module):
    """ResNet for CIFAR-sized images as in He et al. (2016), section 4.2.

    A 3x3 stem with 16 channels, three stages of ``n = (depth - 2) / 6`` basic blocks with 16, 32 and 64
    channels (the second and third start with stride 2), global average pooling and a linear layer.
    Weights use Kaiming-normal initialisation. With ``depth=32`` and ten classes it has 0.46M
    parameters (464,154 with option A shortcuts).

    Parameters
    ----------
    depth : int, default=32
        Number of weighted layers; ``depth - 2`` must be a positive multiple of 6 (20, 32, 44, 56, 110).
    n_classes : int, default=10
        Number of output logits.
    in_channels : int, default=3
        Channels of the input images.
    normalized_classifier : bool, default=False
        If True the last layer is a :class:`NormedLinear` cosine classifier (as LDAM uses) and the
        outputs are cosines in ``[-1, 1]``; pair it with a loss that rescales them, such as
        :class:`imbsk.losses.LDAMLoss` with ``scale=30``.
    shortcut : {"A", "B"}, default="A"
        Shortcut where the channel count grows. ``"A"`` (the paper's choice for CIFAR and the
        default): identity on a subsampled input, zero-padded to the new width, no extra parameters.
        ``"B"``: a strided 1x1 convolution with batch norm.

    Examples
    --------
    >>> import torch
    >>> net = CifarResNet(depth=20, n_classes=10)
    >>> net(torch.zeros(2, 3, 32, 32)).shape
    torch.Size([2, 10])
    """

    def __init__(self, depth=32, n_classes=10, in_channels=3, normalized_classifier=False, shortcut="A"):
        super().__init__()
        if isinstance(depth, bool) or not isinstance(depth, numbers.Integral) or depth < 8 or (depth - 2) % 6:
            raise ValueError(f"depth must be an integer with depth - 2 a positive multiple of 6 (20, 32, 56, ...); "
                             f"got {depth!r}.")
        n_classes = _check_int("n_classes", n_classes, 1)
        in_channels = _check_int("in_channels", in_channels, 1)
        if shortcut not in ("A", "B"):
            raise ValueError(f"shortcut must be one of 'A', 'B'; got {shortcut!r}.")
        if not isinstance(normalized_classifier, bool):
            raise ValueError(f"normalized_classifier must be a bool; got {normalized_classifier!r}.")
        self.depth = int(depth)
        n = (self.depth - 2) // 6
        self.conv = nn.Conv2d(in_channels, 16, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(16)
        layers, c_in = [], 16
        for c_out, stride in ((16, 1), (32, 2), (64, 2)):
            for i in range(n):
                layers.append(_BasicBlock(c_in, c_out, stride if i == 0 else 1, shortcut))
                c_in = c_out
        self.layers = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = NormedLinear(64, n_classes) if normalized_classifier else nn.Linear(64, n_classes)
        _kaiming_init(self)

    def forward(self, x):
        """Logits (or cosines, with a normalised classifier) of shape (N, n_classes)."""
        out = F.relu(self.bn(self.conv(x)))
        out = self.pool(self.layers(out)).flatten(1)
        return self.fc(out)


class ResNet20(CifarResNet):
    """:class:`CifarResNet` with ``depth=20`` (0.27M parameters with ten classes).

    Parameters
    ----------
    n_classes : int, default=10
        Number of output logits.
    in_channels : int, default=3
        Channels of the input images.
    normalized_classifier : bool, default=False
        Use a :class:`NormedLinear` cosine classifier as the last layer.
    shortcut : {"A", "B"}, default="A"
        Shortcut type, see :class:`CifarResNet`.
    """

    def __init__(self, n_classes=10, in_channels=3, normalized_classifier=False, shortcut="A"):
        super().__init__(20, n_classes, in_channels, normalized_classifier, shortcut)


class ResNet32(CifarResNet):
    """:class:`CifarResNet` with ``depth=32`` (0.46M parameters with ten classes).

    Parameters
    ----------
    n_classes : int, default=10
        Number of output logits.
    in_channels : int, default=3
        Channels of the input images.
    normalized_classifier : bool, default=False
        Use a :class:`NormedLinear` cosine classifier as the last layer.
    shortcut : {"A", "B"}, default="A"
        Shortcut type, see :class:`CifarResNet`.
    """

    def __init__(self, n_classes=10, in_channels=3, normalized_classifier=False, shortcut="A"):
        super().__init__(32, n_classes, in_channels, normalized_classifier, shortcut)


class ResNet56(CifarResNet):
    """:class:`CifarResNet` with ``depth=56`` (0.85M parameters with ten classes).

    Parameters
    ----------
    n_classes : int, default=10
        Number of output logits.
    in_channels : int, default=3
        Channels of the input images.
    normalized_classifier : bool, default=False
        Use a :class:`NormedLinear` cosine classifier as the last layer.
    shortcut : {"A", "B"}, default="A"
        Shortcut type, see :class:`CifarResNet`.
    """

    def __init__(self, n_classes=10, in_channels=3, normalized_classifier=False, shortcut="A"):
        super().__init__(56, n_classes, in_channels, normalized_classifier, shortcut)


# Lower-case names as in the papers' code; they are the classes themselves, so skorch and
# get_module_class treat them like any other module class.
resnet20 = ResNet20
resnet32 = ResNet32
resnet56 = ResNet56


class MLP(nn.Module):
    """Multi-layer perceptron for tabular or toy data (inputs of more than 2 dimensions are flattened).

    Parameters
    ----------
    n_features : int, default=2
        Number of input features (after flattening).
    n_classes : int, default=2
        Number of output logits.
    hidden_sizes : sequence of int, default=(64, 64)
        Units of each hidden layer (ReLU); an empty sequence gives a linear model.
    dropout : float, default=0.0
        Dropout after each hidden layer.

    Examples
    --------
    >>> import torch
    >>> MLP(n_features=2, n_classes=2)(torch.zeros(5, 2)).shape
    torch.Size([5, 2])
    """

    def __init__(self, n_features=2, n_classes=2, hidden_sizes=(64, 64), dropout=0.0):
        super().__init__()
        n_features = _check_int("n_features", n_features, 1)
        n_classes = _check_int("n_classes", n_classes, 1)
        dropout = _check_dropout(dropout)
        try:
            sizes = [_check_int("hidden_sizes", h, 1) for h in hidden_sizes]
        except (TypeError, ValueError):
            raise ValueError(f"hidden_sizes must be a sequence of integers >= 1; got {hidden_sizes!r}.") from None
        layers, c_in = [nn.Flatten()], n_features
        for h in sizes:
            layers += [nn.Linear(c_in, h), nn.ReLU(inplace=True)]
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            c_in = h
        layers.append(nn.Linear(c_in, n_classes))
        self.net = nn.Sequential(*layers)
        _kaiming_init(self)

    def forward(self, x):
        """Logits of shape (N, n_classes) for ``x`` of shape (N, n_features) (or (N, ...) flattening to it)."""
        return self.net(x)


MODULES = {
    "simple_cnn": SimpleCNN,
    "resnet20": ResNet20,
    "resnet32": ResNet32,
    "resnet56": ResNet56,
    "mlp": MLP,
}
"""dict: module names accepted by :func:`get_module_class` and the classifier's ``module`` parameter."""


def get_module_class(module):
    """Resolve a module name or class to an :class:`torch.nn.Module` subclass.

    Parameters
    ----------
    module : str or type
        A key of :data:`MODULES` (``"simple_cnn"``, ``"resnet20"``, ``"resnet32"``, ``"resnet56"``,
        ``"mlp"``) or any subclass of :class:`torch.nn.Module`.

    Returns
    -------
    module_class : type
        The module class, not an instance.

    Raises
    ------
    ValueError
        If ``module`` is neither a known name nor an ``nn.Module`` subclass.

    Examples
    --------
    >>> get_module_class("resnet32").__name__
    'ResNet32'
    """
    if isinstance(module, str):
        if module in MODULES:
            return MODULES[module]
    elif isinstance(module, type) and issubclass(module, nn.Module):
        return module
    raise ValueError(
        f"module must be one of {sorted(MODULES)} or a torch.nn.Module subclass; got {module!r}."
    )
