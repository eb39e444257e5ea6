"""BBN: a bilateral-branch network trained with cumulative learning (Zhou et al., CVPR 2020).

A network is split into a shared backbone and two branches with their own classifier layers. The
*conventional* branch sees the usual (uniformly shuffled) batches; the *re-balancing* branch sees batches
drawn by a reversed sampler, where class ``c`` is drawn with probability proportional to ``1 / n_c``.
The logits of the two branches are mixed with a weight ``alpha`` that falls from 1 to 0 over the epochs
(``alpha = 1 - (T / T_max) ** 2``), so training moves from learning features on the natural distribution
to re-balancing the classifier. At prediction both branches count equally.

Where the built-in networks of :mod:`imbsk.models` are split (the paper splits a ResNet before its last
residual block; the other splits follow the same idea, the last feature stage belongs to each branch):

============================  ===================================  ======================================
network                       shared backbone                      each branch (own copy), then its own
                                                                   classifier layer
============================  ===================================  ======================================
``CifarResNet`` (20/32/56)    stem and every residual block but    the last residual block and the
                              the last                             pooling; ``fc``
``SimpleCNN``, and any        ``features``                         ``classifier`` without its last layer
module with ``features``                                           (the dense layer); that last layer
and ``classifier``
``MLP``                       every layer before the last hidden   the last hidden layer; the output
                              layer                                layer
============================  ===================================  ======================================
"""

import copy
import numbers

import numpy as np
import torch
from sklearn.utils._param_validation import Interval, validate_parameter_constraints
from torch import nn

from .batching import BalancedIndexSampler
from .classifier import CNNClassifier
from .classifier._params import PARAMETER_CONSTRAINTS
from .models import MLP, CifarResNet, NormedLinear, _kaiming_init

__all__ = ["BBNClassifier", "BBNNetwork", "bbn_alpha"]


def bbn_alpha(epoch, n_epochs):
    """Cumulative-learning weight of the conventional branch: ``1 - (epoch / n_epochs) ** 2``.

    Parameters
    ----------
    epoch : int or float
        Current epoch ``T``, counting from 0.
    n_epochs : int or float
        ``T_max``, the number of training epochs.

    Returns
    -------
    alpha : float
        1 at ``epoch=0``, 0 at ``epoch=n_epochs``. A fit of ``E`` epochs uses epochs ``0 .. E - 1``, as
        the reference code does, so its last epoch has ``alpha = 1 - ((E - 1) / E) ** 2``.

    Raises
    ------
    ValueError
        If ``n_epochs`` is not positive or ``epoch`` is outside ``[0, n_epochs]``.

    Examples
    --------
    >>> bbn_alpha(0, 10), bbn_alpha(5, 10), bbn_alpha(10, 10)
    (1.0, 0.75, 0.0)
    """
    if isinstance(n_epochs, bool) or not isinstance(n_epochs, numbers.Real) or not 0 < n_epochs < np.inf:
        raise ValueError(f"n_epochs must be a finite positive number; got n_epochs={n_epochs!r}.")
    if isinstance(epoch, bool) or not isinstance(epoch, numbers.Real) or not 0 <= epoch <= n_epochs:
        raise ValueError(f"epoch must be a number in [0, n_epochs={n_epochs}]; got epoch={epoch!r}.")
    return float(1.0 - (epoch / n_epochs) ** 2)


# ----------------------------------------------------------------------------- the two-branch network


def _split_resnet(module):
    blocks = list(module.layers)
    if len(blocks) < 2:
        raise ValueError(f"{type(module).__name__} has {len(blocks)} residual block; BBN needs at least 2.")
    # The stem applies ReLU functionally in CifarResNet.forward; here it becomes a layer of the backbone.
    backbone = nn.Sequential(module.conv, module.bn, nn.ReLU(inplace=True), *blocks[:-1])
    branch = nn.Sequential(blocks[-1], module.pool, nn.Flatten(1))
    return backbone, branch, module.fc


def _split_mlp(module):
    layers = list(module.net)
    linear = [i for i, m in enumerate(layers) if isinstance(m, nn.Linear)]
    head = linear[-1]
    # The last hidden layer (with its activation and dropout) goes to each branch; a linear model has none.
    start = linear[-2] if len(linear) > 1 else head
    return nn.Sequential(*layers[:start]), nn.Sequential(*layers[start:head]), layers[head]


def _split_features_classifier(module):
    classifier = module.classifier
    if isinstance(classifier, nn.Sequential):
        if len(classifier) == 0:
            raise ValueError(f"{type(module).__name__}.classifier is an empty nn.Sequential; BBN needs a last layer.")
        return module.features, nn.Sequential(*list(classifier)[:-1]), classifier[-1]
    return module.features, nn.Sequential(), classifier


def _split(module):
    if isinstance(module, CifarResNet):
        return _split_resnet(module)
    if isinstance(module, MLP):
        return _split_mlp(module)
    if isinstance(getattr(module, "features", None), nn.Module) and isinstance(
        getattr(module, "classifier", None), nn.Module
    ):
        return _split_features_classifier(module)
    raise ValueError(
        f"BBN cannot split module {type(module).__name__} into a shared backbone and a classifier layer: it is not a "
        "CifarResNet (resnet20/32/56) or MLP, and has no 'features' and 'classifier' sub-modules whose composition "
        "classifier(features(x)) is its forward pass (as SimpleCNN has). Give it those two attributes, or use one "
        "of the built-in modules."
    )


def _reinitialise(module):
    """Fresh weights for the re-balancing branch's copy, drawn as the built-in networks draw theirs."""
    _kaiming_init(module)
    for m in module.modules():
        if isinstance(m, nn.Conv2d | nn.Linear) or list(m.children()):
            continue
        if isinstance(m, NormedLinear):
            m.weight.data.copy_(NormedLinear(m.in_features, m.out_features).weight)
        elif callable(getattr(m, "reset_parameters", None)):
            # Batch norm included, running statistics too: the copy of a trained network must start afresh.
            m.reset_parameters()


class BBNNetwork(nn.Module):
    """A network split into a shared backbone and two branches, each with its own classifier layer.

    The conventional branch keeps the layers (and weights) of ``module``; the re-balancing branch is a
    copy of the same layers with freshly drawn weights, as the two branch blocks of the paper are
    initialised independently. See the module docstring for where each built-in network is split.

    Parameters
    ----------
    module : torch.nn.Module
        A built network: a :class:`~imbsk.models.CifarResNet` (``ResNet20/32/56``), an
        :class:`~imbsk.models.MLP`, or any module with ``features`` and ``classifier`` sub-modules whose
        forward pass is ``classifier(features(x))`` (such as :class:`~imbsk.models.SimpleCNN`). Its
        sub-modules are taken over, not copied.

    Attributes
    ----------
    backbone : torch.nn.Module
        The shared layers.
    conventional, rebalancing : torch.nn.Module
        The layers of each branch after the backbone (an empty ``nn.Sequential`` when there are none).
    conventional_head, rebalancing_head : torch.nn.Module
        The classifier layer of each branch.

    Raises
    ------
    ValueError
        If ``module`` has no split of that kind; the message names its class.

    Examples
    --------
    >>> import torch
    >>> from imbsk.models import SimpleCNN
    >>> net = BBNNetwork(SimpleCNN(n_classes=3, in_channels=1, width=4))
    >>> z_c, z_r = net.branch_logits(torch.zeros(2, 1, 8, 8))
    >>> z_c.shape, net(torch.zeros(2, 1, 8, 8)).shape
    (torch.Size([2, 3]), torch.Size([2, 3]))
    """

    def __init__(self, module):
        super().__init__()
        if not isinstance(module, nn.Module):
            raise TypeError(f"module must be a torch.nn.Module instance; got {module!r}.")
        backbone, branch, head = _split(module)
        self.backbone = backbone
        self.conventional = branch
        self.conventional_head = head
        self.rebalancing = copy.deepcopy(branch)
        self.rebalancing_head = copy.deepcopy(head)
        _reinitialise(self.rebalancing)
        _reinitialise(self.rebalancing_head)

    def conventional_logits(self, x):
        """Logits of the conventional branch alone (backbone, branch, classifier layer).

        Parameters
        ----------
        x : torch.Tensor
            A normalised batch.

        Returns
        -------
        z_c : torch.Tensor of shape (batch, n_classes)
        """
        return self._conventional(self.backbone(x))

    def branch_logits(self, x):
        """Logits of both branches on the same inputs (the backbone runs once).

        Parameters
        ----------
        x : torch.Tensor
            A normalised batch.

        Returns
        -------
        z_c, z_r : torch.Tensor of shape (batch, n_classes)
            Conventional and re-balancing branch.
        """
        f = self.backbone(x)
        return self._branches(f, f)

    def pair_logits(self, x_conventional, x_rebalancing):
        """Training forward pass: each branch on its own batch.

        The backbone runs once on both batches stacked (one pass of twice the batch size instead of two
        passes); the conventional branch then sees the first part, the re-balancing branch the second.
        Batch normalisation in the backbone therefore normalises over both batches together, where the
        reference code runs the backbone twice, once per batch.

        Parameters
        ----------
        x_conventional, x_rebalancing : torch.Tensor
            Normalised batches from the uniform and the reversed sampler.

        Returns
        -------
        z_c, z_r : torch.Tensor
            Logits of the conventional branch on ``x_conventional`` and of the re-balancing branch on
            ``x_rebalancing``.
        """
        n = len(x_conventional)
        f = self.backbone(torch.cat([x_conventional, x_rebalancing]))
        return self._branches(f[:n], f[n:])

    def _branches(self, f_conventional, f_rebalancing):
        """Each branch's logits from backbone features (its own, or the same for both)."""
        return self._conventional(f_conventional), self.rebalancing_head(self.rebalancing(f_rebalancing))

    def _conventional(self, f):
        return self.conventional_head(self.conventional(f))

    def forward(self, x, alpha=0.5):
        """Mixed logits ``alpha * z_c + (1 - alpha) * z_r`` on the same inputs; ``alpha=0.5`` predicts.

        Parameters
        ----------
        x : torch.Tensor
            A normalised batch.
        alpha : float, default=0.5
            Weight of the conventional branch.

        Returns
        -------
        logits : torch.Tensor of shape (batch, n_classes)
        """
        z_c, z_r = self.branch_logits(x)
        return alpha * z_c + (1.0 - alpha) * z_r


# ----------------------------------------------------------------------------- the classifier

_BBN_CONSTRAINTS = {
    "predict_alpha": [Interval(numbers.Real, 0, 1, closed="both")],
    "reversed_power": [Interval(numbers.Real, 0, None, closed="left")],
}


class BBNClassifier(CNNClassifier):
    """:class:`~imbsk.CNNClassifier` trained as a bilateral-branch network (BBN, Zhou et al. 2020).

    The network given by ``module`` is split into a shared backbone and two branches with their own
    classifier layers (:class:`BBNNetwork`). Every training step takes the classifier's usual batch
    (uniformly shuffled, or as ``batch_balance`` says) for the conventional branch, and a batch of the
    same size from a reversed sampler, class ``c`` drawn with probability proportional to
    ``n_c ** -reversed_power``, for the re-balancing branch. With ``alpha = 1 - (T / T_max) ** 2``, ``T``
    the epoch (from 0) and ``T_max`` the number of epochs of the fit, the logits are mixed as
    ``z = alpha * z_c + (1 - alpha) * z_r`` and the loss is
    ``alpha * L(z, y_c) + (1 - alpha) * L(z, y_r)``, with ``L`` the classifier's loss (``loss``,
    ``class_weight`` and ``criterion__*`` apply). Prediction uses
    ``predict_alpha * z_c + (1 - predict_alpha) * z_r`` on the same input, both branches equally
    weighted by default as in the paper.

    Class counts, and so the reversed sampler, come from the ``y`` given to ``fit`` (each
    cross-validation fold its own; an early-stopping validation split excluded). Each ``fit`` or
    ``partial_fit`` call runs the whole ``alpha`` schedule over its epochs, as it does the learning-rate
    schedule.

    Parameters
    ----------
    module : str or torch.nn.Module subclass or instance, default="auto"
        As for :class:`~imbsk.CNNClassifier`; the network must be one :class:`BBNNetwork` can split:
        ``"simple_cnn"``, ``"resnet20"``, ``"resnet32"``, ``"resnet56"``, ``"mlp"``, or a module with
        ``features`` and ``classifier`` sub-modules.
    predict_alpha : float in [0, 1], default=0.5
        Weight of the conventional branch in ``predict`` and ``predict_proba`` (and in the
        early-stopping validation); 0.5 is the paper's equal weighting.
    reversed_power : float >= 0, default=1.0
        The reversed sampler draws class ``c`` with probability proportional to ``n_c ** -reversed_power``:
        1 is the paper's ``1 / n_c``, 0 is class-balanced sampling.
    **kwargs
        Every other parameter of :class:`~imbsk.CNNClassifier` (``loss``, ``max_epochs``,
        ``module__*``, ...).

    Attributes
    ----------
    module_ : BBNNetwork
        The trained two-branch network.
    bbn_alpha_ : float
        ``alpha`` of the last training epoch. The value of every epoch is in ``history_`` under
        ``"bbn_alpha"``.
    reversed_class_probabilities_ : ndarray of shape (n_classes,)
        Probability of each class under the reversed sampler of the last fit.
    reversed_class_counts_ : ndarray of shape (n_classes,)
        How many samples of each class the re-balancing branch was shown in the last fit.
    classes_, class_counts_, history_, ...
        As for :class:`~imbsk.CNNClassifier`.

    See Also
    --------
    BBNNetwork : the split into backbone and branches.
    bbn_alpha : the cumulative-learning schedule.

    References
    ----------
    .. [1] B. Zhou, Q. Cui, X.-S. Wei and Z.-M. Chen, "BBN: Bilateral-Branch Network with Cumulative
       Learning for Long-Tailed Visual Recognition", CVPR 2020.

    Examples
    --------
    >>> import numpy as np
    >>> from imbsk.bbn import BBNClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = rng.integers(0, 256, size=(60, 1, 8, 8), dtype=np.uint8)
    >>> y = np.array([0] * 50 + [1] * 10)
    >>> clf = BBNClassifier(module__width=4, max_epochs=2, batch_size=16, random_state=0).fit(X, y)
    >>> clf.history_[:, "bbn_alpha"]
    [1.0, 0.75]
    >>> clf.reversed_class_probabilities_.round(3)
    array([0.167, 0.833])
    """

    _parameter_constraints = {**PARAMETER_CONSTRAINTS, **_BBN_CONSTRAINTS}

    def __init__(self, module="auto", *, predict_alpha=0.5, reversed_power=1.0, **kwargs):
        # Set before CNNClassifier's __init__, as it does with its own parameters.
        self.predict_alpha = predict_alpha
        self.reversed_power = reversed_power
        super().__init__(module, **kwargs)

    # ------------------------------------------------------------------ parameters and network

    def _check_bbn_params(self):
        params = {k: getattr(self, k) for k in _BBN_CONSTRAINTS}
        validate_parameter_constraints(_BBN_CONSTRAINTS, params, caller_name=type(self).__name__)
        for name, value in params.items():
            if isinstance(value, bool):
                raise ValueError(f"{name} must be a number, not a bool; got {name}={value!r}.")

    def _fit(self, X, y, reset, routing_method, fit_params, classes=None):
        self._check_bbn_params()
        if fit_params:
            # CNNClassifier hands them to the module's forward; the two-branch training pass takes none, and
            # dropping them (a sample_weight, say) would be a silent wrong answer.
            raise TypeError(
                f"{type(self).__name__}.{routing_method} takes no fit parameters (got "
                f"{', '.join(sorted(fit_params))}): the two-branch network's training pass has no keyword "
                "arguments. Use class_weight for weights."
            )
        return super()._fit(X, y, reset, routing_method, fit_params, classes=classes)

    def initialize_module(self):
        """Build the network as :class:`~imbsk.CNNClassifier` does, then split it into a :class:`BBNNetwork`.

        Returns
        -------
        self : BBNClassifier

        Raises
        ------
        ValueError
            If the network cannot be split, or the split does not reproduce its forward pass.
        """
        super().initialize_module()
        plain = self.module_
        name = f"module={self.module!r} ({type(plain).__name__})"
        try:
            bbn = BBNNetwork(plain)
        except ValueError as exc:
            raise ValueError(f"{type(self).__name__}: {name}: {exc}") from None
        if hasattr(self, "input_shape_"):
            self._check_split(plain, bbn, name)
        self.module_ = bbn
        return self

    def _check_split(self, plain, bbn, name):
        # A module may have features/classifier attributes and still do more in its forward (pooling in
        # between, say); then the split would silently train a different network.
        generator = torch.Generator().manual_seed(0)
        x = self.normalizer_(torch.randn((2,) + tuple(self.input_shape_), generator=generator))
        x = x.to(next(plain.parameters(), x).device)
        training = plain.training
        plain.eval()
        try:
            with torch.no_grad():
                expected = self.logits_from_output(plain(x))
                got = bbn.conventional_logits(x)
        except (RuntimeError, ValueError, IndexError) as exc:
            raise ValueError(
                f"{type(self).__name__}: the split of {name} fails on the training inputs: {exc}"
            ) from None
        finally:
            plain.train(training)
        if got.shape != expected.shape or not torch.allclose(got, expected, rtol=1e-4, atol=1e-5):
            raise ValueError(
                f"{type(self).__name__}: {name} computes more than classifier(features(x)) in its forward pass, so "
                "it cannot be split into a backbone and a classifier layer. Give it 'features' and 'classifier' "
                "sub-modules whose composition is the forward pass."
            )

    def infer(self, x, **fit_params):
        """Normalise a batch and return the mixed logits with ``predict_alpha`` (prediction and validation).

        Returns
        -------
        logits : torch.Tensor of shape (batch, n_classes)
        """
        fit_params.setdefault("alpha", float(self.predict_alpha))
        return super().infer(x, **fit_params)

    # ------------------------------------------------------------------ training

    def get_iterator(self, dataset, training=False):
        """The classifier's batches; when training, also the reversed sampler over the same training data.

        Returns
        -------
        iterator : imbsk.batching.DeviceBatchIterator
        """
        iterator = super().get_iterator(dataset, training=training)
        if training:
            data = iterator.dataset
            self.reversed_data_ = data
            self.reversed_sampler_ = BalancedIndexSampler(data.labels(), balance=-float(self.reversed_power))
            self.reversed_class_probabilities_ = self.reversed_sampler_.class_probabilities_.copy()
            self.reversed_order_ = None
        return iterator

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        """skorch's hook: the classifier's set-up; the ``alpha`` schedule starts at this fit's first epoch."""
        super().on_train_begin(net, X=X, y=y, **kwargs)
        self.bbn_first_epoch_ = len(self.history)
        self.reversed_counts_t_ = torch.zeros(len(self.classes_), dtype=torch.int64, device=self.device_)

    def on_epoch_begin(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        """skorch's hook: sets the epoch's ``alpha`` (``bbn_alpha_``) and records it in ``history_``."""
        super().on_epoch_begin(net, dataset_train=dataset_train, dataset_valid=dataset_valid, **kwargs)
        epoch = len(self.history) - 1 - self.bbn_first_epoch_
        self.bbn_alpha_ = bbn_alpha(min(epoch, self.epochs_), max(self.epochs_, 1))
        self.history.record("bbn_alpha", self.bbn_alpha_)

    def on_train_end(self, net, X=None, y=None, **kwargs):
        """skorch's hook: keeps ``reversed_class_counts_`` and frees the reversed sampler's device tensors."""
        self.reversed_class_counts_ = self.reversed_counts_t_.cpu().numpy()
        # Device tensors needed only while training.
        for name in ("reversed_data_", "reversed_sampler_", "reversed_order_", "reversed_counts_t_"):
            self.__dict__.pop(name, None)
        super().on_train_end(net, X=X, y=y, **kwargs)

    def _reversed_batch(self, size):
        """The next ``size`` samples of the reversed sampler (one epoch of indices drawn at a time)."""
        order = self.reversed_order_
        if order is None or self.reversed_cursor_ + size > len(order):
            order = self.reversed_order_ = self.reversed_sampler_.sample()
            self.reversed_cursor_ = 0
            if size > len(order):
                order = self.reversed_order_ = torch.cat([order] * (size // len(order) + 1))
        idx = order[self.reversed_cursor_ : self.reversed_cursor_ + size]
        self.reversed_cursor_ += size
        data = self.reversed_data_
        if data.indices is not None:
            idx = data.indices[idx]
        Xr, yr = data.X.index_select(0, idx), data.y.index_select(0, idx)
        self.reversed_counts_t_ += torch.bincount(yr, minlength=len(self.classes_))
        return Xr, yr

    def train_step_single(self, batch, **fit_params):
        """One BBN step: uniform and reversed batch, mixed logits, cumulative loss, backward.

        Returns
        -------
        step : dict
            ``{"loss": loss, "y_pred": mixed logits}``.
        """
        if not self.module_.training:
            self._set_training(True)
        Xc, yc = batch
        Xr, yr = self._reversed_batch(len(Xc))
        Xc, yc = self.transform_batch(Xc, yc)
        Xr, yr = self.transform_batch(Xr, yr)
        alpha = self.bbn_alpha_
        with self._amp_context():
            z_c, z_r = self.module_.pair_logits(self.normalizer_(Xc), self.normalizer_(Xr))
            mixed = alpha * z_c + (1.0 - alpha) * z_r
            loss = alpha * self.get_loss(mixed, yc, X=Xc, training=True)
            loss = loss + (1.0 - alpha) * self.get_loss(mixed, yr, X=Xr, training=True)
        self.backward(loss)
        return {"loss": loss, "y_pred": mixed}
