"""Decoupled classifier learning: adjust only the last layer of a network trained on long-tailed data.

Kang et al. (2020) found that a network trained on imbalanced data with plain instance-balanced
batches learns good *features*; what goes wrong is the last, linear layer, whose weight norms grow
with the class frequency so that the head classes win the argmax. Re-balancing that layer alone, in
a cheap second stage, is enough. This module provides the second stages as scikit-learn
meta-estimators around a :class:`~imbsk.CNNClassifier`:

* :class:`ClassifierRetraining` (cRT): re-initialise the last layer and train it with class-balanced
  batches on the frozen features.
* :class:`TauNormalization` (τ-norm): divide each class's weight vector by its norm to the power
  ``tau``; no training, and ``tau`` can be changed on the fitted estimator.
* :class:`LearnableWeightScaling` (LWS): learn one scale per class with class-balanced batches,
  everything else frozen.
* :class:`NearestClassMean` (NCM): nearest class mean of the L2-normalised features.
* :class:`MiSLAS` (Zhong et al. 2021): fine-tune the last layer and per-class scales with label-aware
  smoothing, and shift the batch-normalisation statistics to class-balanced batches.

Every estimator fits stage one (a clone of ``estimator``) itself, unless ``estimator`` is a
:class:`sklearn.frozen.FrozenEstimator` wrapping a fitted ``CNNClassifier``: then stage one is reused
as it is, which is how a grid search over stage-two parameters avoids re-training the network. Stage
two works on a deep copy, ``estimator_``; prediction is that network's own ``predict`` and
``predict_proba``, so its post-hoc logit adjustment (``tau`` of the classifier) still applies.

The layer that is adjusted is found by :func:`last_linear`; its input is what the papers call the
features.
"""

import copy
import math
import numbers
import warnings

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.base import BaseEstimator, ClassifierMixin, MetaEstimatorMixin, _fit_context, clone
from sklearn.frozen import FrozenEstimator
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted
from torch import nn

from .augment import call_augmentation, get_augmentation
from .batching import BalancedIndexSampler
from .classifier import CNNClassifier
from .classifier._validation import check_y, encode_with_classes
from .models import NormedLinear

__all__ = [
    "ClassifierRetraining",
    "LearnableWeightScaling",
    "MiSLAS",
    "NearestClassMean",
    "TAU_GRID",
    "TauNormalization",
    "label_aware_smoothing",
    "last_linear",
]

# Layers that can be the classifier of a network: plain linear and cosine (LDAM) classifiers.
_LAST_LAYER_TYPES = (nn.Linear, NormedLinear)


# ---------------------------------------------------------------------------------------- the last layer


def last_linear(module):
    """Find the last linear layer of a network: the classifier that decoupled training adjusts.

    The built-in networks keep it in a fixed place, and so do most hand-written ones:

    * ``module.fc`` (:class:`~imbsk.models.CifarResNet`, torchvision ResNets);
    * ``module.classifier``, or its last item when it is an :class:`~torch.nn.Sequential`
      (:class:`~imbsk.models.SimpleCNN`, VGG-style networks);
    * the last item of ``module.net`` (:class:`~imbsk.models.MLP`) or of ``module`` itself when it is
      an :class:`~torch.nn.Sequential`.

    The layer must be a :class:`torch.nn.Linear` or an :class:`imbsk.models.NormedLinear`, and its output
    must be the network's output; the estimators of :mod:`imbsk.decoupling` check the latter on the data.
    Its input is the *feature* vector of a sample.

    Parameters
    ----------
    module : torch.nn.Module
        The network.

    Returns
    -------
    name : str
        Dotted path of the layer in ``module`` (``"fc"``, ``"classifier.3"``, ``"net.5"``), as
        :meth:`torch.nn.Module.get_submodule` takes it.
    layer : torch.nn.Linear or imbsk.models.NormedLinear
        The layer itself (not a copy).

    Raises
    ------
    ValueError
        If there is no such layer, naming the class of ``module``.

    Examples
    --------
    >>> from imbsk.models import MLP, ResNet20, SimpleCNN
    >>> last_linear(SimpleCNN(n_classes=3))[0]
    'classifier.3'
    >>> last_linear(ResNet20())[0]
    'fc'
    >>> last_linear(MLP(hidden_sizes=(8,)))[0]
    'net.3'
    """
    if not isinstance(module, nn.Module):
        raise TypeError(f"module must be a torch.nn.Module; got {type(module).__name__}.")
    children = module._modules
    if isinstance(children.get("fc"), _LAST_LAYER_TYPES):
        return "fc", children["fc"]
    for attr in ("classifier", "net"):
        sub = children.get(attr)
        if isinstance(sub, _LAST_LAYER_TYPES):
            return attr, sub
        if isinstance(sub, nn.Sequential) and len(sub) and isinstance(sub[-1], _LAST_LAYER_TYPES):
            return f"{attr}.{list(sub._modules)[-1]}", sub[-1]
    if isinstance(module, nn.Sequential) and len(module) and isinstance(module[-1], _LAST_LAYER_TYPES):
        return list(children)[-1], module[-1]
    raise ValueError(
        f"{type(module).__name__} has no last linear layer that decoupled training can adjust: it looks for a "
        "torch.nn.Linear or imbsk.models.NormedLinear as `fc`, `classifier` (or its last item), the last item of "
        "`net`, or the last item of an nn.Sequential network (SimpleCNN, the CIFAR ResNets and MLP have one)."
    )


def _replace_layer(module, name, new):
    parent_name, _, child = name.rpartition(".")
    parent = module.get_submodule(parent_name) if parent_name else module
    setattr(parent, child, new)


def _new_like(layer):
    """A freshly initialised layer of the same kind and size (under torch's current random state)."""
    if isinstance(layer, NormedLinear):
        return NormedLinear(layer.in_features, layer.out_features)
    return nn.Linear(layer.in_features, layer.out_features, bias=layer.bias is not None)


class _TauNormalizedLinear(nn.Module):
    """A linear layer whose class weight vectors are divided by their norm to the power ``tau``."""

    def __init__(self, layer, tau, keep_bias=True):
        super().__init__()
        self.layer = layer
        self.tau = float(tau)
        self.keep_bias = bool(keep_bias)

    def forward(self, x):
        layer = self.layer
        if isinstance(layer, NormedLinear) or (self.tau == 0.0 and self.keep_bias):
            # A cosine classifier normalises its weights itself; tau=0 is the layer unchanged, bit for bit.
            return layer(x)
        weight = layer.weight
        norms = weight.norm(dim=1, keepdim=True).clamp_min(1e-12)
        bias = layer.bias if self.keep_bias else None
        return F.linear(x, weight / norms.pow(self.tau), bias)

    def extra_repr(self):
        return f"tau={self.tau}, keep_bias={self.keep_bias}"


class _ScaledLinear(nn.Module):
    """A layer whose output for class ``j`` is multiplied by a scale ``scales[j]`` (LWS)."""

    def __init__(self, layer, scales):
        super().__init__()
        self.layer = layer
        self.scales = scales if isinstance(scales, nn.Parameter) else nn.Parameter(scales)

    def forward(self, x):
        return self.layer(x) * self.scales


class _NearestMeanHead(nn.Module):
    """Negative squared distances between L2-normalised features and the class means."""

    def __init__(self, centroids):
        super().__init__()
        self.register_buffer("centroids", centroids)

    def forward(self, x):
        x = F.normalize(x.float(), dim=1)
        c = self.centroids
        return 2.0 * x @ c.T - (x * x).sum(1, keepdim=True) - (c * c).sum(1)


# ---------------------------------------------------------------------------------------- label-aware smoothing


def label_aware_smoothing(class_counts, smooth_head=0.3, smooth_tail=0.0, shape="concave"):
    """Per-class label-smoothing factors from the class counts (Zhong et al. 2021, eq. 4).

    The most frequent class gets ``smooth_head``, the rarest ``smooth_tail``, and the others a value in
    between that grows with their count: with ``r = (n_y - n_min) / (n_max - n_min)``,

    * ``"concave"`` (the paper's choice): ``tail + (head - tail) * sin(pi * r / 2)``;
    * ``"linear"``: ``tail + (head - tail) * r``;
    * ``"convex"``: ``head + (head - tail) * sin(3 * pi / 2 + pi * r / 2)``.

    Head classes, on which a network is over-confident, are smoothed more.

    Parameters
    ----------
    class_counts : array-like of shape (n_classes,)
        Training samples per class.
    smooth_head : float in [0, 1), default=0.3
        Smoothing factor of the most frequent class.
    smooth_tail : float in [0, 1), default=0.0
        Smoothing factor of the rarest class.
    shape : {"concave", "linear", "convex"}, default="concave"
        How the factor grows with the class count.

    Returns
    -------
    epsilon : ndarray of shape (n_classes,)
        Smoothing factor of each class. When every class has the same count, all get ``smooth_head``.

    References
    ----------
    Zhong, Cui, Liu, Jia. "Improving Calibration for Long-Tailed Recognition". CVPR 2021.

    Examples
    --------
    >>> label_aware_smoothing([100, 10, 1], smooth_head=0.4, smooth_tail=0.1, shape="linear").round(3)
    array([0.4  , 0.127, 0.1  ])
    """
    counts = np.asarray(class_counts, dtype=np.float64)
    if counts.ndim != 1 or counts.size == 0 or np.any(counts < 0):
        raise ValueError(f"class_counts must be a non-empty 1-D array of non-negative counts; got {class_counts!r}.")
    for name, value in (("smooth_head", smooth_head), ("smooth_tail", smooth_tail)):
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0.0 <= value < 1.0:
            raise ValueError(f"{name} must be a float in [0, 1); got {name}={value!r}.")
    if shape not in ("concave", "linear", "convex"):
        raise ValueError(f"shape must be one of 'concave', 'linear', 'convex'; got shape={shape!r}.")
    n_max, n_min = counts.max(), counts.min()
    if n_max == n_min:
        return np.full(counts.shape, float(smooth_head))
    r = (counts - n_min) / (n_max - n_min)
    head, tail = float(smooth_head), float(smooth_tail)
    if shape == "concave":
        return tail + (head - tail) * np.sin(r * np.pi / 2)
    if shape == "linear":
        return tail + (head - tail) * r
    return head + (head - tail) * np.sin(1.5 * np.pi + r * np.pi / 2)


def _smoothed_cross_entropy(logits, target, epsilon):
    """Cross-entropy with a per-sample smoothing factor: ``(1 - e) * nll + e * mean_k(-log p_k)``."""
    log_p = F.log_softmax(logits, dim=1)
    nll = -log_p.gather(1, target.unsqueeze(1)).squeeze(1)
    eps = epsilon[target]
    return ((1.0 - eps) * nll - eps * log_p.mean(dim=1)).mean()


# ---------------------------------------------------------------------------------------- the shared base

_TRAINING_CONSTRAINTS = {
    "epochs": [Interval(numbers.Integral, 1, None, closed="left")],
    "lr": [Interval(numbers.Real, 0, None, closed="neither")],
    "batch_size": [Interval(numbers.Integral, 1, None, closed="left")],
    "momentum": [Interval(numbers.Real, 0, 1, closed="left")],
    "weight_decay": [Interval(numbers.Real, 0, None, closed="left")],
    "balance": [StrOptions({"class", "sqrt", "none"})],
    "random_state": ["random_state"],
}


class _DecoupledClassifier(ClassifierMixin, MetaEstimatorMixin, BaseEstimator):
    """Stage one (fit or reuse a ``CNNClassifier``), then a stage two on a copy of its last layer.

    Subclasses implement ``_fit_stage_two(net, dataset, codes, name, layer)``, which changes
    ``net.module_`` (a deep copy) in place.
    """

    _parameter_constraints = {"estimator": "no_validation"}
    _required_parameters = ["estimator"]

    def __init__(self, estimator):
        self.estimator = estimator

    # -------------------------------------------------------------- stage one

    def _check_estimator(self):
        est = self.estimator
        name = type(self).__name__
        if isinstance(est, FrozenEstimator):
            inner = est.estimator
            if not isinstance(inner, CNNClassifier):
                raise TypeError(
                    f"{name}: estimator must be a CNNClassifier or a FrozenEstimator wrapping a fitted "
                    f"CNNClassifier; got FrozenEstimator({type(inner).__name__})."
                )
            if not (getattr(inner, "initialized_", False) and hasattr(inner, "input_shape_")):
                raise ValueError(
                    f"{name}: estimator is a FrozenEstimator around a CNNClassifier that is not fitted; fit the "
                    "network before freezing it, or pass the CNNClassifier itself to fit it here."
                )
            return True
        if not isinstance(est, CNNClassifier):
            raise TypeError(
                f"{name}: estimator must be a CNNClassifier (imbsk.CNNClassifier) or a "
                f"sklearn.frozen.FrozenEstimator wrapping a fitted one; got {type(est).__name__}."
            )
        return False

    def _probe_last_layer(self):
        """Fail before the stage-one fit when the network has no last linear layer to adjust."""
        probe = clone(self.estimator)
        try:
            # Only the module is built (with the class's default sizes); a module that cannot be built
            # this way is checked after the stage-one fit instead.
            with probe._current_init_context("module"):  # skorch sets module_ only inside this context
                probe.initialize_module()
            module = probe.module_
        except Exception:  # noqa: BLE001 - a best-effort early check
            return
        last_linear(module)

    def _stage_one(self, X, y):
        if self._check_estimator():
            return copy.deepcopy(self.estimator.estimator)
        self._probe_last_layer()
        return clone(self.estimator).fit(X, y)

    # -------------------------------------------------------------- fit

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y):
        """Fit (or reuse) the network, then adjust the last layer of a copy of it.

        Parameters
        ----------
        X : ndarray of shape (n_samples, channels, height, width) or (n_samples, n_features)
            Training inputs, as the network takes them.
        y : array-like of shape (n_samples,)
            Class labels; with a frozen network they must be among its ``classes_``.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        return self._fit(X, y)

    def _fit(self, X, y):
        net = self._stage_one(X, y)
        name = type(self).__name__
        dataset = net.get_dataset(X)
        y = check_y(y, len(dataset), name)
        codes = encode_with_classes(y, np.asarray(net.classes_))
        layer_name, layer = last_linear(net.module_)
        n_classes = len(net.classes_)
        n_out = layer.out_features
        if n_out != n_classes:
            raise ValueError(
                f"{name}: the last linear layer `{layer_name}` of {type(net.module_).__name__} has {n_out} outputs "
                f"but the network has {n_classes} classes."
            )
        self.class_counts_ = np.bincount(codes, minlength=n_classes)
        with net._threads_scope():
            self._fit_stage_two(net, dataset, codes, layer_name, layer)
        net.module_.eval()
        self.estimator_ = net
        self.layer_name_ = layer_name
        return self

    def _fit_stage_two(self, net, dataset, codes, name, layer):  # pragma: no cover - abstract
        raise NotImplementedError

    # -------------------------------------------------------------- helpers for stage two

    def _seed(self):
        return int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))

    def _require_all_classes(self, net):
        missing = np.flatnonzero(self.class_counts_ == 0)
        if missing.size:
            raise ValueError(
                f"{type(self).__name__} needs every class in y to train the last layer; classes "
                f"{np.asarray(net.classes_)[missing].tolist()} have no sample."
            )

    @staticmethod
    def _features(net, dataset, name, layer):
        """Inputs of the last layer for every sample (eval mode, no augmentation), on the network's device.

        Also checks that the layer's output is the network's output, so that adjusting the layer adjusts
        the predictions.
        """
        feats, outs = [], []

        def hook(module, inputs, output):
            feats.append(inputs[0].detach().float())
            outs.append(output.detach().float())

        handle = layer.register_forward_hook(hook)
        try:
            with torch.no_grad():
                logits = net.forward(dataset, training=False, device=net.device_)
        finally:
            handle.remove()
        outs = torch.cat(outs)
        if outs.shape != logits.shape or not torch.allclose(outs, logits.float(), rtol=1e-3, atol=1e-4):
            raise ValueError(
                f"the last linear layer `{name}` of {type(net.module_).__name__} does not produce the network's "
                "output (the network changes its output after that layer), so adjusting it would not adjust the "
                "predictions."
            )
        return torch.cat(feats).flatten(1)

    def _train(self, net, param_groups, logits_fn, codes, loss_fn, seed):
        """SGD with momentum and a cosine rate over ``epochs`` of class-balanced batches.

        ``logits_fn(idx)`` returns the logits of the samples ``idx`` (a LongTensor on the device).
        Returns the mean training loss of each epoch.
        """
        device = net.device_
        y_cpu = torch.as_tensor(codes, dtype=torch.long)
        y_dev = y_cpu.to(device)
        sampler = BalancedIndexSampler(y_cpu, balance=self.balance, generator=torch.Generator().manual_seed(seed))
        n = len(codes)
        batch_size = min(int(self.batch_size), n)
        n_batches = math.ceil(n / batch_size)
        if n_batches > 1 and n % batch_size == 1:
            n_batches -= 1  # no batch of one sample: batch normalisation cannot use it
        total = max(int(self.epochs) * n_batches, 1)
        optimizer = torch.optim.SGD(param_groups, lr=self.lr, momentum=self.momentum, weight_decay=self.weight_decay)
        for group in optimizer.param_groups:
            group["peak_lr"] = group["lr"]
        step = 0
        history = []
        for _ in range(int(self.epochs)):
            order = sampler.sample().to(device)
            epoch_loss = torch.zeros((), device=device)
            for b in range(n_batches):
                idx = order[b * batch_size : (b + 1) * batch_size]
                factor = 0.5 * (1.0 + math.cos(math.pi * step / total))
                for group in optimizer.param_groups:
                    group["lr"] = group["peak_lr"] * factor
                loss = loss_fn(logits_fn(idx), y_dev[idx])
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                epoch_loss += loss.detach()
                step += 1
            history.append(epoch_loss / n_batches)
        losses = torch.stack(history).cpu().numpy().astype(float)
        if not np.all(np.isfinite(losses)):
            raise FloatingPointError(
                f"{type(self).__name__}: the stage-two training loss became {losses[-1]}; lower lr={self.lr}."
            )
        return losses

    # -------------------------------------------------------------- prediction

    def _sync(self):
        """Bring the fitted network up to date with parameters that act at prediction time."""
        check_is_fitted(self, "estimator_")

    def predict(self, X):
        """Predicted class labels of the adjusted network.

        Parameters
        ----------
        X : ndarray of the shape the network was fitted on

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Labels from ``classes_``.
        """
        self._sync()
        return self.estimator_.predict(X)

    def predict_proba(self, X):
        """Class probabilities of the adjusted network, one column per entry of ``classes_``.

        Parameters
        ----------
        X : ndarray of the shape the network was fitted on

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        self._sync()
        return self.estimator_.predict_proba(X)

    @property
    def classes_(self):
        # No docstring: numpydoc would turn the entry of the Attributes section into a dead link.
        if "estimator_" not in self.__dict__:
            raise AttributeError(f"{type(self).__name__} has no classes_ before fit.")
        return self.estimator_.classes_

    @property
    def n_features_in_(self):
        if "estimator_" not in self.__dict__:
            raise AttributeError(f"{type(self).__name__} has no n_features_in_ before fit.")
        return self.estimator_.n_features_in_


# Docstring text several estimators share, written in where a class docstring says ``{name}``.
_SHARED_DOCS = {
    "estimator": """
    estimator : CNNClassifier or FrozenEstimator
        The stage-one network: cloned and fitted on ``(X, y)``, or, when wrapped in
        :class:`sklearn.frozen.FrozenEstimator`, a fitted network used as it is.""",
    "schedule": """
    epochs : int, default=10
        Passes of stage two; each draws ``n_samples`` class-balanced indices.
    lr : float, default=0.2
        Peak learning rate (cosine decay to 0 over all steps).
    batch_size : int, default=128
        Batch size of stage two.
    momentum : float, default=0.9
        SGD momentum.""",
    "attributes": """
    estimator_ : CNNClassifier
        The network after stage two: a deep copy of the stage-one network (the one fitted here, or the
        frozen one) whose last layer was adjusted. ``estimator`` itself is never modified.
    classes_ : ndarray of shape (n_classes,)
        Class labels (those of the network).
    class_counts_ : ndarray of shape (n_classes,)
        Samples of each class in the ``y`` given to ``fit``.
    layer_name_ : str
        Where the adjusted layer sits in the network (see :func:`last_linear`).
    n_features_in_ : int
        Number of input features of the network.""",
}


def _shared_docs(cls):
    """Write the shared texts into the class docstring, where a line says ``{estimator}``, ``{attributes}``..."""
    if cls.__doc__:  # None under python -OO
        for key, text in _SHARED_DOCS.items():
            cls.__doc__ = cls.__doc__.replace("    {" + key + "}", text.strip("\n"))
    return cls


class _BalancedLastLayerTraining(_DecoupledClassifier):
    """Stage two that trains parameters of the last layer with SGD on class-balanced batches (cRT, LWS)."""

    _parameter_constraints = {**_DecoupledClassifier._parameter_constraints, **_TRAINING_CONSTRAINTS}

    def __init__(
        self,
        estimator,
        *,
        epochs=10,
        lr=0.2,
        batch_size=128,
        momentum=0.9,
        weight_decay=5e-4,
        balance="class",
        random_state=None,
    ):
        self.estimator = estimator
        self.epochs = epochs
        self.lr = lr
        self.batch_size = batch_size
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.balance = balance
        self.random_state = random_state


@_shared_docs
class ClassifierRetraining(_BalancedLastLayerTraining):
    """Classifier re-training (cRT): re-learn the last layer with class-balanced batches on frozen features.

    Stage one trains the network as usual (instance-balanced batches learn the best features). Stage two
    re-initialises the last linear layer and trains it alone, with every class equally likely in each
    batch, for a few ``epochs`` of SGD with momentum and a cosine learning rate; everything before that
    layer stays frozen.

    The features (the inputs of the last layer) are computed once, in evaluation mode and without
    augmentation, and the layer is trained on them: stage two then costs one pass of the network over the
    data plus the training of a linear model, whatever ``epochs`` is. Kang et al. instead re-run the frozen
    network on augmented images every batch; on a small or strongly augmented training set that gives the
    layer more varied features, at the cost of a forward pass per batch.

    Parameters
    ----------
    {estimator}
    {schedule}
    weight_decay : float, default=5e-4
        L2 penalty on the new layer.
    balance : {"class", "sqrt", "none"}, default="class"
        Batch sampling of stage two (see :class:`imbsk.batching.BalancedIndexSampler`): every class
        equally likely, square-root sampling, or the natural frequencies.
    random_state : int, RandomState instance or None, default=None
        Seeds the new layer's initialisation and the batches of stage two (stage one is seeded by the
        network's own ``random_state``).

    Attributes
    ----------
    train_loss_ : ndarray of shape (epochs,)
        Mean training loss of each stage-two epoch.
    {attributes}

    See Also
    --------
    LearnableWeightScaling : keep the layer, learn one scale per class.
    TauNormalization : re-balance the layer without training.

    References
    ----------
    Kang, Xie, Rohrbach, Yan, Gordo, Feng, Kalantidis. "Decoupling Representation and Classifier for
    Long-Tailed Recognition". ICLR 2020.

    Examples
    --------
    >>> import numpy as np
    >>> from imbsk import CNNClassifier
    >>> from imbsk.decoupling import ClassifierRetraining
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(60, 1, 8, 8)).astype(np.float32)
    >>> y = np.repeat([0, 1, 2], [40, 15, 5])
    >>> net = CNNClassifier(module__width=4, max_epochs=2, random_state=0)
    >>> crt = ClassifierRetraining(net, epochs=5, random_state=0).fit(X, y)
    >>> crt.predict(X[:4]).shape
    (4,)
    """

    def _fit_stage_two(self, net, dataset, codes, name, layer):
        self._require_all_classes(net)
        feats = self._features(net, dataset, name, layer)
        seed = self._seed()
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            new = _new_like(layer)
        new = new.to(device=feats.device)
        scale = float(getattr(net, "logit_scale_", 1.0))
        self.train_loss_ = self._train(
            net, [{"params": list(new.parameters())}], lambda idx: new(feats[idx]) * scale, codes,
            F.cross_entropy, seed + 1,
        )
        _replace_layer(net.module_, name, new)


@_shared_docs
class LearnableWeightScaling(_BalancedLastLayerTraining):
    """Learnable weight scaling (LWS): learn one scale per class on top of the frozen last layer.

    The logit of class ``j`` becomes ``s_j * (w_j . f + b_j)``; the scales ``s`` (initialised to 1) are the
    only parameters trained, with class-balanced batches, SGD with momentum and a cosine rate. This is
    τ-normalisation with a learned, per-class factor instead of ``1 / ||w_j||^tau``. As in
    :class:`ClassifierRetraining`, the layer's outputs are computed once (evaluation mode, no augmentation)
    and the scales are trained on them.

    Parameters
    ----------
    {estimator}
    {schedule}
    weight_decay : float, default=5e-4
        L2 penalty on the scales (as in the reference code).
    balance : {"class", "sqrt", "none"}, default="class"
        Batch sampling of stage two.
    random_state : int, RandomState instance or None, default=None
        Seeds the batches of stage two.

    Attributes
    ----------
    scales_ : ndarray of shape (n_classes,)
        The learned per-class scales.
    train_loss_ : ndarray of shape (epochs,)
        Mean training loss of each stage-two epoch.
    {attributes}

    References
    ----------
    Kang et al. "Decoupling Representation and Classifier for Long-Tailed Recognition". ICLR 2020.
    """

    def _fit_stage_two(self, net, dataset, codes, name, layer):
        feats = self._features(net, dataset, name, layer)
        with torch.no_grad():
            outputs = layer(feats) * float(getattr(net, "logit_scale_", 1.0))
        scales = nn.Parameter(torch.ones(layer.out_features, device=outputs.device))
        self.train_loss_ = self._train(
            net, [{"params": [scales]}], lambda idx: outputs[idx] * scales, codes, F.cross_entropy, self._seed()
        )
        self.scales_ = scales.detach().cpu().numpy().astype(float)
        for p in layer.parameters():
            p.requires_grad_(False)
        _replace_layer(net.module_, name, _ScaledLinear(layer, scales))


#: Values of ``tau`` that ``TauNormalization(tau="auto")`` chooses from: 0, 0.1, ..., 2 (the sweep of Kang et
#: al.'s reference code).
TAU_GRID = np.round(np.linspace(0.0, 2.0, 21), 2)


def _take(a, idx):
    return a[idx] if hasattr(a, "shape") else np.asarray(a)[idx]


def _stratified_holdout(y, fraction, random_state, name):
    """Indices of a training and a validation part with ``fraction`` of each class in the latter.

    Every class with at least two samples puts at least one into each part.
    """
    y = check_y(y, len(y), name)
    rng = check_random_state(random_state)
    _, codes = np.unique(y, return_inverse=True)
    val = []
    for c in range(codes.max() + 1):
        members = rng.permutation(np.flatnonzero(codes == c))
        n = len(members)
        n_val = min(max(int(round(n * fraction)), 1), n - 1) if n >= 2 else 0
        val.append(members[:n_val])
    val = np.sort(np.concatenate(val))
    if val.size == 0:
        raise ValueError(f"{name}: tau='auto' found no class with two samples to hold one out for validation.")
    return np.setdiff1d(np.arange(len(y)), val), val


def _adjusted_logits(net, logits):
    """What the network's ``predict`` does to its module's output: the loss's scale, then logit adjustment."""
    logits = logits * float(getattr(net, "logit_scale_", 1.0))
    if net.tau:
        logits = logits - net.tau * torch.log(torch.as_tensor(net.class_prior_, dtype=logits.dtype,
                                                              device=logits.device))
    return logits


@_shared_docs
class TauNormalization(_DecoupledClassifier):
    """τ-normalisation: divide each class's weight vector by its norm to the power ``tau``.

    After training on long-tailed data the norms ``||w_j||`` of the last layer's weight vectors follow the
    class frequencies; ``w_j / ||w_j||^tau`` shrinks the head classes' weights and so their logits.
    ``tau=0`` is the network unchanged, ``tau=1`` gives every class a unit weight vector. Nothing is
    trained: ``fit`` fits (or reuses) the network and copies it, and ``tau`` acts at prediction time, so
    ``set_params(tau=...)`` on the fitted estimator takes effect at the next ``predict`` without a refit.
    With the network wrapped in :class:`sklearn.frozen.FrozenEstimator`, a ``GridSearchCV`` over ``tau``
    on held-out data costs one forward pass per candidate and fold.

    Parameters
    ----------
    {estimator}
    tau : float >= 0 or "auto", default=1.0
        The exponent. Kang et al. choose it on a validation set; values in [0, 2] cover the useful range.
        ``"auto"`` chooses it in ``fit`` from :data:`TAU_GRID` (0, 0.1, ..., 2, the reference's sweep) by
        balanced accuracy on validation data: a stratified ``validation_fraction`` of ``(X, y)``, held out
        from stage one, when the network is fitted here; all of ``(X, y)`` when the network is frozen (then
        ``(X, y)`` should be data it was not trained on). ``GridSearchCV`` over ``tau`` with a frozen network
        does the same with cross-validation.
    bias : {"keep", "drop"}, default="keep"
        What happens to the layer's bias. ``"keep"`` leaves it as it was trained, so that ``tau=0`` is
        exactly the stage-one network. ``"drop"`` removes it, as the reference code does (its logits are
        ``f . w_j / ||w_j||^tau``, at every ``tau``).
    validation_fraction : float in (0, 1), default=0.2
        With ``tau="auto"`` and a network fitted here: the share of each class held out to choose ``tau``
        (at least one sample of every class with two or more, so that the tail is represented). The
        network is then trained on the rest only. Unused otherwise.
    random_state : int, RandomState instance or None, default=None
        Seeds that validation split.

    Attributes
    ----------
    weight_norms_ : ndarray of shape (n_classes,)
        Norms of the stage-one weight vectors, one per class.
    tau_ : float
        With ``tau="auto"``: the exponent chosen, used while ``tau`` stays ``"auto"``.
    tau_scores_ : ndarray of shape (len(TAU_GRID),)
        With ``tau="auto"``: the balanced accuracy on the validation data of each value of
        :data:`TAU_GRID`.
    {attributes}

    Notes
    -----
    A cosine classifier (:class:`~imbsk.models.NormedLinear`, used with ``loss="ldam"``) normalises its
    weight vectors itself, so τ-normalisation does not change it; ``fit`` warns.

    References
    ----------
    Kang et al. "Decoupling Representation and Classifier for Long-Tailed Recognition". ICLR 2020.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.frozen import FrozenEstimator
    >>> from imbsk import CNNClassifier
    >>> from imbsk.decoupling import TauNormalization
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(60, 1, 8, 8)).astype(np.float32)
    >>> y = np.repeat([0, 1, 2], [40, 15, 5])
    >>> net = CNNClassifier(module__width=4, max_epochs=2, random_state=0).fit(X, y)
    >>> tn = TauNormalization(FrozenEstimator(net), tau=0.0).fit(X, y)
    >>> bool((tn.predict(X) == net.predict(X)).all())
    True
    >>> tn.set_params(tau=1.5).predict(X[:2]).shape
    (2,)
    """

    _parameter_constraints = {
        **_DecoupledClassifier._parameter_constraints,
        "tau": [Interval(numbers.Real, 0, None, closed="left"), StrOptions({"auto"})],
        "bias": [StrOptions({"keep", "drop"})],
        "validation_fraction": [Interval(numbers.Real, 0, 1, closed="neither")],
        "random_state": ["random_state"],
    }

    def __init__(self, estimator, *, tau=1.0, bias="keep", validation_fraction=0.2, random_state=None):
        self.estimator = estimator
        self.tau = tau
        self.bias = bias
        self.validation_fraction = validation_fraction
        self.random_state = random_state

    def _auto(self):
        return isinstance(self.tau, str) and self.tau == "auto"

    def _fit(self, X, y):
        self.__dict__.pop("tau_scores_", None)
        self.__dict__.pop("tau_", None)
        if not self._auto():
            return super()._fit(X, y)
        if self._check_estimator():
            super()._fit(X, y)
            X_val, y_val = X, y
        else:
            train, val = _stratified_holdout(y, self.validation_fraction, self.random_state, type(self).__name__)
            super()._fit(_take(X, train), _take(y, train))
            X_val, y_val = _take(X, val), _take(y, val)
        net = self.estimator_
        head = net.module_.get_submodule(self.layer_name_)
        head.keep_bias = self.bias == "keep"
        codes = torch.as_tensor(encode_with_classes(check_y(y_val, len(y_val)), np.asarray(net.classes_)))
        present = torch.unique(codes)
        with net._threads_scope():
            feats = self._features(net, net.get_dataset(X_val), self.layer_name_, head)
            scores = []
            for tau in TAU_GRID:
                head.tau = float(tau)
                with torch.no_grad():
                    pred = _adjusted_logits(net, head(feats)).argmax(1).cpu()
                # Balanced accuracy over the classes in the validation data.
                recalls = [(pred[codes == c] == c).float().mean() for c in present]
                scores.append(float(torch.stack(recalls).mean()))
        self.tau_scores_ = np.asarray(scores)
        # The smallest tau among the best: the least change to the network that scores best.
        self.tau_ = float(TAU_GRID[int(np.argmax(self.tau_scores_))])
        head.tau = self.tau_
        return self

    def _fit_stage_two(self, net, dataset, codes, name, layer):
        if isinstance(layer, NormedLinear):
            warnings.warn(
                f"TauNormalization: the last layer `{name}` is a NormedLinear cosine classifier, whose weight vectors "
                "are normalised already; tau does not change its predictions.",
                UserWarning,
                stacklevel=3,
            )
            norms = layer.weight.detach().norm(dim=0)
        else:
            norms = layer.weight.detach().norm(dim=1)
        self.weight_norms_ = norms.cpu().numpy().astype(float)
        for p in layer.parameters():
            p.requires_grad_(False)
        tau = 0.0 if self._auto() else self.tau
        _replace_layer(net.module_, name, _TauNormalizedLinear(layer, tau, self.bias == "keep"))

    def _sync(self):
        super()._sync()
        # tau and bias may have been changed by set_params since fit: check them again and apply them.
        # tau="auto" set after a fit with a number has chosen nothing: it needs a refit.
        self._validate_params()
        if self._auto() and "tau_" not in self.__dict__:
            raise ValueError("tau='auto' was set after fit; call fit to choose tau, or set a number.")
        head = self.estimator_.module_.get_submodule(self.layer_name_)
        head.tau = self.tau_ if self._auto() else float(self.tau)
        head.keep_bias = self.bias == "keep"


@_shared_docs
class NearestClassMean(_DecoupledClassifier):
    """Nearest class mean (NCM) on L2-normalised features.

    Each class is represented by the mean of its samples' L2-normalised features (the inputs of the last
    layer, computed once in evaluation mode); a sample goes to the class whose mean is nearest in
    Euclidean distance. The class means do not depend on how many samples a class has, only on where they
    lie, which removes the bias of the trained layer towards the head classes.

    ``predict_proba`` is the softmax of the negative squared distances (multiplied by the network's logit
    scale): it ranks classes as ``predict`` does but is not calibrated.

    Parameters
    ----------
    {estimator}

    Attributes
    ----------
    centroids_ : ndarray of shape (n_classes, n_features)
        Mean of the L2-normalised features of each class.
    {attributes}

    References
    ----------
    Kang et al. "Decoupling Representation and Classifier for Long-Tailed Recognition". ICLR 2020.
    """

    def _fit_stage_two(self, net, dataset, codes, name, layer):
        self._require_all_classes(net)
        feats = F.normalize(self._features(net, dataset, name, layer), dim=1)
        codes_t = torch.as_tensor(codes, dtype=torch.long, device=feats.device)
        sums = torch.zeros(layer.out_features, feats.shape[1], device=feats.device).index_add_(0, codes_t, feats)
        centroids = sums / torch.as_tensor(self.class_counts_, dtype=feats.dtype, device=feats.device)[:, None]
        self.centroids_ = centroids.cpu().numpy()
        _replace_layer(net.module_, name, _NearestMeanHead(centroids))


@_shared_docs
class MiSLAS(_DecoupledClassifier):
    """MiSLAS stage two: label-aware smoothing and shifted batch normalisation (Zhong et al. 2021).

    The stage-one network is meant to be trained with mixup (see :mod:`imbsk.mixup`); stage two then
    fine-tunes its last layer together with one learnable scale per class (as
    :class:`LearnableWeightScaling`), with class-balanced batches and

    * **label-aware smoothing**: the cross-entropy target of a sample of class ``y`` is smoothed by
      ``epsilon_y``, large for head classes (``smooth_head``) and small for tail ones (``smooth_tail``),
      see :func:`label_aware_smoothing`; this counters the over-confidence on head classes;
    * **shifted batch normalisation** (``shift_bn=True``): the running statistics of every batch-norm
      layer are re-estimated on the class-balanced batches of stage two (the layers are in training mode
      while everything else is frozen), since the features' statistics shift when the data are
      re-balanced. The network is then run on every batch, with its own training augmentation
      (``augment`` of the network), as the reference code does.

    The last layer starts from its stage-one weights and learns at ``lr * lr_factor``, the scales (from 1)
    at ``lr``; both with SGD, momentum and a cosine rate. Without ``shift_bn``, or for a network without
    batch normalisation (``SimpleCNN``), the features are computed once (evaluation mode, no
    augmentation), as in :class:`ClassifierRetraining`.

    Parameters
    ----------
    {estimator}
    epochs : int, default=10
        Passes of stage two; each draws ``n_samples`` class-balanced indices.
    lr : float, default=0.1
        Peak learning rate of the per-class scales (cosine decay to 0).
    lr_factor : float, default=0.2
        The last layer learns at ``lr * lr_factor`` (the reference uses 0.5 to 0.05 depending on the data
        set: 0.5 for CIFAR-10-LT at imbalance 100, 0.2 and 0.1 for CIFAR-100-LT, 0.05 for ImageNet-LT).
    batch_size : int, default=128
        Batch size of stage two.
    momentum : float, default=0.9
        SGD momentum.
    weight_decay : float, default=2e-4
        L2 penalty on the last layer and the scales.
    smooth_head : float in [0, 1), default=0.3
        Label smoothing of the most frequent class.
    smooth_tail : float in [0, 1), default=0.0
        Label smoothing of the rarest class.
    smooth_shape : {"concave", "linear", "convex"}, default="concave"
        How the smoothing grows with the class count (:func:`label_aware_smoothing`).
    shift_bn : bool, default=True
        Re-estimate the batch-norm running statistics on the class-balanced batches of stage two. The
        reference turns it on for CIFAR-100-LT, ImageNet-LT, Places-LT and iNaturalist, off for CIFAR-10-LT.
    balance : {"class", "sqrt", "none"}, default="class"
        Batch sampling of stage two.
    random_state : int, RandomState instance or None, default=None
        Seeds the batches and augmentations of stage two.

    Attributes
    ----------
    smoothing_ : ndarray of shape (n_classes,)
        Label-smoothing factor of each class, from ``class_counts_``.
    scales_ : ndarray of shape (n_classes,)
        The learned per-class scales.
    train_loss_ : ndarray of shape (epochs,)
        Mean training loss of each stage-two epoch.
    {attributes}

    References
    ----------
    Zhong, Cui, Liu, Jia. "Improving Calibration for Long-Tailed Recognition". CVPR 2021.
    """

    _parameter_constraints = {
        **_DecoupledClassifier._parameter_constraints,
        **_TRAINING_CONSTRAINTS,
        "lr_factor": [Interval(numbers.Real, 0, None, closed="left")],
        "smooth_head": [Interval(numbers.Real, 0, 1, closed="left")],
        "smooth_tail": [Interval(numbers.Real, 0, 1, closed="left")],
        "smooth_shape": [StrOptions({"concave", "linear", "convex"})],
        "shift_bn": ["boolean"],
    }

    def __init__(
        self,
        estimator,
        *,
        epochs=10,
        lr=0.1,
        lr_factor=0.2,
        batch_size=128,
        momentum=0.9,
        weight_decay=2e-4,
        smooth_head=0.3,
        smooth_tail=0.0,
        smooth_shape="concave",
        shift_bn=True,
        balance="class",
        random_state=None,
    ):
        self.estimator = estimator
        self.epochs = epochs
        self.lr = lr
        self.lr_factor = lr_factor
        self.batch_size = batch_size
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.smooth_head = smooth_head
        self.smooth_tail = smooth_tail
        self.smooth_shape = smooth_shape
        self.shift_bn = shift_bn
        self.balance = balance
        self.random_state = random_state

    def _fit_stage_two(self, net, dataset, codes, name, layer):
        module = net.module_
        device = net.device_
        self.smoothing_ = label_aware_smoothing(self.class_counts_, self.smooth_head, self.smooth_tail,
                                                self.smooth_shape)
        epsilon = torch.as_tensor(self.smoothing_, dtype=torch.float32, device=device)
        scale = float(getattr(net, "logit_scale_", 1.0))
        # net is already a copy of the stage-one network: its last layer is trained in place.
        for p in layer.parameters():
            p.requires_grad_(True)
        scales = nn.Parameter(torch.ones(layer.out_features, device=device))
        batch_norms = [m for m in module.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
        seed = self._seed()
        if self.shift_bn and batch_norms:
            logits_fn = self._shifted_bn_logits(net, dataset, layer, scales, scale, batch_norms, seed)
        else:
            feats = self._features(net, dataset, name, layer)

            def logits_fn(idx):
                return layer(feats[idx]) * scales * scale

        groups = [
            {"params": list(layer.parameters()), "lr": self.lr * self.lr_factor},
            {"params": [scales], "lr": self.lr},
        ]
        try:
            self.train_loss_ = self._train(
                net, groups, logits_fn, codes, lambda logits, target: _smoothed_cross_entropy(logits, target, epsilon),
                seed + 1,
            )
        finally:
            module.eval()
        self.scales_ = scales.detach().cpu().numpy().astype(float)
        _replace_layer(module, name, _ScaledLinear(layer, scales))

    @staticmethod
    def _shifted_bn_logits(net, dataset, layer, scales, scale, batch_norms, seed):
        """Logits of a batch from a forward pass with the batch-norm layers (only) in training mode."""
        module = net.module_
        module.eval()
        for bn in batch_norms:
            bn.train()
        augment = None if net.augment is None else get_augmentation(net.augment)
        generator = torch.Generator(device=net.device_).manual_seed(seed + 2)
        captured = []

        def hook(mod, inputs, output):
            captured.append(inputs[0].detach().float())

        def logits_fn(idx):
            Xi = dataset.X.index_select(0, dataset.indices[idx] if dataset.indices is not None else idx)
            if augment is not None:
                Xi = call_augmentation(augment, Xi, generator=generator)
            handle = layer.register_forward_hook(hook)
            try:
                with torch.no_grad(), net._amp_context():
                    net.infer(Xi)
            finally:
                handle.remove()
            feats = captured.pop().flatten(1)
            return layer(feats) * scales * scale

        return logits_fn
