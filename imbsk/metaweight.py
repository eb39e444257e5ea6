"""Learned per-sample loss weights from a small class-balanced meta set: Meta-Weight-Net and L2RW.

:class:`MetaWeightClassifier` is a :class:`~imbsk.CNNClassifier` whose training step weights every
sample's loss. The weights come from a small network (Meta-Weight-Net, Shu et al. 2019) that maps a
sample's loss to a weight in (0, 1), and which is itself trained so that a virtual SGD step of the
classifier with the weighted loss lowers the loss on a class-balanced meta set held out from the
training data. ``weighting="l2rw"`` computes the weights afresh every step from the same meta
gradient instead (Ren et al. 2018).

The step is a mixin (:class:`MetaWeightMixin`) that overrides ``train_step_single`` and uses the
classifier's own parts: ``transform_batch`` (augmentation, mixup, ...), ``infer``, ``get_loss`` with
``sample_weight`` and ``backward``.
"""

from numbers import Integral, Real

import numpy as np
import torch
from sklearn.utils import check_array, check_random_state
from sklearn.utils._param_validation import Interval, StrOptions, validate_parameter_constraints
from torch import nn
from torch.func import functional_call

from .augment import call_augmentation
from .classifier import CNNClassifier
from .classifier._params import PARAMETER_CONSTRAINTS

__all__ = ["MetaWeightClassifier", "MetaWeightMixin", "WeightNet"]

#: Constraints of the parameters :class:`MetaWeightClassifier` adds to those of ``CNNClassifier``.
META_PARAMETER_CONSTRAINTS = {
    "weighting": [StrOptions({"mwn", "l2rw"})],
    "meta_size": [Interval(Integral, 1, None, closed="left")],
    "meta_lr": [Interval(Real, 0, None, closed="neither")],
    "meta_optimizer": [StrOptions({"adam", "sgd"})],
    "hidden": [Interval(Integral, 1, None, closed="left")],
    "meta_interval": [Interval(Integral, 1, None, closed="left")],
    "meta_batch_size": [Interval(Integral, 1, None, closed="left"), None],
}


class WeightNet(nn.Module):
    """The weighting network of Meta-Weight-Net: loss -> weight in (0, 1).

    A multi-layer perceptron ``1 -> hidden -> 1`` with a ReLU and a sigmoid output, as in the paper.

    Parameters
    ----------
    hidden : int, default=100
        Width of the hidden layer.

    Examples
    --------
    >>> import torch
    >>> net = WeightNet(hidden=8)
    >>> net(torch.tensor([0.1, 2.0])).shape
    torch.Size([2])
    """

    def __init__(self, hidden=100):
        super().__init__()
        self.layers = nn.Sequential(nn.Linear(1, hidden), nn.ReLU(), nn.Linear(hidden, 1), nn.Sigmoid())

    def forward(self, losses):
        """Weights of a 1-D tensor of per-sample losses.

        Parameters
        ----------
        losses : torch.Tensor of shape (n,)

        Returns
        -------
        weights : torch.Tensor of shape (n,)
        """
        return self.layers(losses.reshape(-1, 1).to(self.layers[0].weight.dtype)).reshape(-1)


class MetaWeightMixin:
    """The meta-learned re-weighting step, for a :class:`~imbsk.CNNClassifier` subclass.

    Expects the parameters of :class:`MetaWeightClassifier` (``weighting``, ``meta_size``, ``meta_lr``,
    ``meta_optimizer``, ``hidden``, ``meta_interval``, ``meta_batch_size``). It draws the meta set in
    ``_prepare_fit`` (and removes it from the training data), builds the weighting network in
    ``initialize_module`` (outside the main optimiser's parameters) and replaces ``train_step_single``.
    """

    # ------------------------------------------------------------------ parameters and data

    def _check_meta_params(self):
        params = {k: getattr(self, k) for k in META_PARAMETER_CONSTRAINTS}
        validate_parameter_constraints(META_PARAMETER_CONSTRAINTS, params, caller_name=type(self).__name__)
        for name in ("meta_size", "hidden", "meta_interval", "meta_batch_size"):
            if isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be an integer, not a bool; got {name}={getattr(self, name)!r}.")
        if self.weighting == "l2rw" and self.meta_interval != 1:
            raise ValueError(
                f"weighting='l2rw' computes the weights from the meta set at every step; meta_interval must be 1, "
                f"got meta_interval={self.meta_interval}."
            )

    def _split_meta(self, codes):
        """Training and meta indices: ``meta_size`` random samples of every class present in ``codes``."""
        rng = check_random_state(self.random_state)
        counts = np.bincount(codes, minlength=len(self.classes_))
        present = np.flatnonzero(counts)
        rarest = present[np.argmin(counts[present])]
        if counts[rarest] <= self.meta_size:
            label, count = self.classes_.tolist()[rarest], int(counts[rarest])
            hint = f"Use meta_size <= {count - 1}." if count > 1 else "That class needs at least 2 samples."
            raise ValueError(
                f"meta_size={self.meta_size} takes {self.meta_size} samples of every class into the meta set and "
                f"leaves at least one for training, so each class needs more than {self.meta_size} samples; class "
                f"{label!r} has {count} in y. {hint}"
            )
        meta = np.stack([rng.choice(np.flatnonzero(codes == c), self.meta_size, replace=False) for c in present])
        mask = np.ones(len(codes), dtype=bool)
        mask[meta.ravel()] = False
        return np.flatnonzero(mask), meta

    def _prepare_fit(self, X, y, reset, classes=None):
        self._check_meta_params()
        dataset, codes = super()._prepare_fit(X, y, reset, classes=classes)
        train, meta = self._split_meta(codes)
        self.meta_indices_ = np.sort(meta.ravel())
        index = torch.as_tensor(meta.ravel(), device=dataset.X.device)
        # (n_classes_present, meta_size) positions into the meta tensors, for class-balanced draws.
        rows = torch.arange(meta.size, device=dataset.X.device).reshape(meta.shape)
        self._meta = {"X": dataset.X[index], "y": dataset.y[index], "rows": rows}
        if reset:
            # Class counts and priors (losses, class weights, tau, balanced batches) describe the data the
            # network trains on, which no longer holds the meta set.
            self.class_counts_ = np.bincount(codes[train], minlength=len(self.class_counts_))
            counts = np.maximum(self.class_counts_, 1).astype(np.float64)
            self.class_prior_ = counts / counts.sum()
        return dataset.subset(train), codes[train]

    # ------------------------------------------------------------------ components

    def initialize_module(self):
        """Build the network (as :class:`~imbsk.CNNClassifier` does) and the weighting network.

        Returns
        -------
        self
        """
        super().initialize_module()
        # Set inside skorch's module context: registered as a module (moved to the device, mapped to the CPU
        # when unpickled without CUDA), but kept out of the main optimiser by get_all_learnable_params.
        self.weight_net_ = WeightNet(self.hidden) if self.weighting == "mwn" else None
        return self

    def get_all_learnable_params(self):
        """The parameters of the network and loss that the main optimiser updates (not the weighting net's).

        Yields
        ------
        name, parameter : str, torch.nn.Parameter
        """
        weight_net = getattr(self, "weight_net_", None)
        own = set() if weight_net is None else {id(p) for p in weight_net.parameters()}
        for name, param in super().get_all_learnable_params():
            if id(param) not in own:
                yield name, param

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        """skorch's hook: the classifier's set-up, then the meta-step counters and the weighting net's optimiser."""
        super().on_train_begin(net, X=X, y=y, **kwargs)
        self._meta["steps"] = 0
        self._meta["loss"] = torch.zeros((), dtype=torch.float64, device=self.device_)
        self._meta["count"] = 0
        if self.weight_net_ is None:
            self._meta["optimizer"] = None
        elif self.meta_optimizer == "adam":
            # The settings of the paper's code (MW-Net.py of xjtushujun/meta-weight-net).
            self._meta["optimizer"] = torch.optim.Adam(self.weight_net_.parameters(), self.meta_lr, weight_decay=1e-4)
        else:
            # The settings of its class-imbalance code (meta_lr=1e-5 there).
            self._meta["optimizer"] = torch.optim.SGD(
                self.weight_net_.parameters(), self.meta_lr, momentum=0.9, nesterov=True, weight_decay=5e-4
            )

    def on_epoch_end(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        """skorch's hook: records the epoch's mean meta loss as ``train_meta_loss`` in ``history_``."""
        meta = getattr(self, "_meta", None)
        if meta is not None and meta.get("count"):
            self.history.record("train_meta_loss", (meta["loss"] / meta["count"]).item())
            meta["loss"].zero_()
            meta["count"] = 0
        super().on_epoch_end(net, dataset_train=dataset_train, dataset_valid=dataset_valid, **kwargs)

    def fit_loop(self, X, y=None, epochs=None, **fit_params):
        """skorch's loop over epochs; the meta set and the weighting net's optimiser are dropped after it.

        Returns
        -------
        self
        """
        try:
            return super().fit_loop(X, y, epochs=epochs, **fit_params)
        finally:
            # Only needed while training, also when a fit stops with an error (a diverged loss, Ctrl-C).
            self.__dict__.pop("_meta", None)

    # ------------------------------------------------------------------ the training step

    def per_sample_loss(self, y_pred, y_true, class_weighted=True):
        """The criterion's loss of every sample of a batch (unreduced).

        Parameters
        ----------
        y_pred : torch.Tensor or tuple
            The module's output.
        y_true : torch.Tensor
            Class codes, or soft targets of shape (batch, n_classes).
        class_weighted : bool, default=True
            Whether the criterion's class weights (its ``weight`` attribute, set by ``class_weight``)
            multiply the losses.

        Returns
        -------
        losses : torch.Tensor of shape (batch,), float32
        """
        y_pred = y_pred.float() if torch.is_tensor(y_pred) else y_pred
        with self.unreduced_criterion(type(self).__name__, class_weighted=class_weighted) as criterion:
            return criterion(y_pred, y_true).float()

    def _meta_batch(self):
        """A class-balanced batch of the meta set: all of it if it fits a batch, else equal draws per class."""
        meta = self._meta
        rows = meta["rows"]
        size = self.meta_batch_size or self.batch_size
        if rows.numel() > size:
            per_class = max(1, size // rows.shape[0])
            pick = torch.rand(rows.shape, device=rows.device).argsort(dim=1)[:, :per_class]
            index = rows.gather(1, pick).reshape(-1)
            Xm, ym = meta["X"][index], meta["y"][index]
        else:
            Xm, ym = meta["X"], meta["y"]
        augment = getattr(self, "augment_", None)
        if augment is not None:
            # The meta set is augmented like the training data, as in the paper's code.
            Xm = call_augmentation(augment, Xm)
        return Xm, ym

    def _meta_loss_after_virtual_step(self, virtual_loss, fit_params):
        """Loss on a meta batch of the network after one SGD step on ``virtual_loss`` (differentiable)."""
        names, params = zip(*[(n, p) for n, p in self.module_.named_parameters() if p.requires_grad])
        grads = torch.autograd.grad(virtual_loss, params, create_graph=True, allow_unused=True)
        # The step size of the real step that follows: the rate the schedule set for this batch.
        lr = self.optimizer_.param_groups[0]["lr"]
        stepped = {n: p if g is None else p - lr * g for n, p, g in zip(names, params, grads)}
        # Copies of the buffers: the meta batch must not move batch-norm running statistics.
        stepped.update({n: b.clone() for n, b in self.module_.named_buffers()})
        Xm, ym = self._meta_batch()
        with self._amp_context():
            out = functional_call(self.module_, stepped, (self.normalizer_(Xm),), fit_params)
            meta_loss = self.get_loss(out, ym, X=Xm, training=True)
        self._meta["loss"] += meta_loss.detach()
        self._meta["count"] += 1
        return meta_loss

    def _update_weight_net(self, y_pred, yi, losses, fit_params):
        weight_net = self.weight_net_
        v = weight_net(losses.detach())
        # The paper's class-imbalance code normalises the weights to sum to one; get_loss does the same.
        virtual_loss = self.get_loss(y_pred, yi, training=True, sample_weight=v)
        meta_loss = self._meta_loss_after_virtual_step(virtual_loss, fit_params)
        own = list(weight_net.parameters())
        # retain_graph: the real step below back-propagates through the same forward pass.
        grads = torch.autograd.grad(meta_loss, own, retain_graph=True)
        for p, g in zip(own, grads):
            p.grad = g
        self._meta["optimizer"].step()
        for p in own:
            p.grad = None

    def _l2rw_weights(self, losses, fit_params):
        eps = torch.zeros_like(losses, requires_grad=True)
        meta_loss = self._meta_loss_after_virtual_step((losses * eps).sum(), fit_params)
        (grad,) = torch.autograd.grad(meta_loss, eps, retain_graph=True)
        # Samples whose up-weighting would lower the meta loss, in proportion (normalised in get_loss).
        return (-grad).clamp_min(0).detach()

    def train_step_single(self, batch, **fit_params):
        """One step of meta-learned re-weighting (the weighting net's update, then the weighted real step).

        Returns
        -------
        step : dict
            ``{"loss": weighted loss, "y_pred": logits}``.
        """
        if not self.module_.training:
            self._set_training(True)
        Xi, yi = self.transform_batch(*batch)
        with self._amp_context():
            y_pred = self.infer(Xi, **fit_params)
        meta = self._meta
        # The weights are learned for a sample's own loss; class weights (class_weight) multiply them once,
        # in get_loss, and do not push the losses off the weighting net's range.
        losses = self.per_sample_loss(y_pred, yi, class_weighted=False)
        if self.weighting == "l2rw":
            weights = self._l2rw_weights(losses, fit_params)
        else:
            if meta["steps"] % self.meta_interval == 0:
                self._update_weight_net(y_pred, yi, losses, fit_params)
            with torch.no_grad():
                weights = self.weight_net_(losses.detach())
        meta["steps"] += 1
        # The real step reuses the forward pass above: same batch, same parameters as the paper's second pass.
        loss = self.get_loss(y_pred, yi, X=Xi, training=True, sample_weight=weights)
        self.backward(loss)
        return {"loss": loss, "y_pred": self.logits_from_output(y_pred)}

    def loss_weights(self, losses):
        """The weights the fitted weighting network gives to per-sample losses (before normalisation).

        Parameters
        ----------
        losses : array-like of shape (n,)
            Per-sample loss values (finite).

        Returns
        -------
        weights : ndarray of shape (n,), in (0, 1)
        """
        self.check_is_fitted()
        if self.weight_net_ is None:
            raise ValueError("weighting='l2rw' has no weighting network; its weights exist only during a step.")
        param = next(self.weight_net_.parameters())
        losses = check_array(losses, ensure_2d=False, dtype=np.float32, input_name="losses").reshape(-1)
        losses = torch.as_tensor(losses, device=param.device)
        with torch.no_grad():
            return self.weight_net_(losses).cpu().numpy()


class MetaWeightClassifier(MetaWeightMixin, CNNClassifier):
    """CNN classifier trained with per-sample loss weights learned on a class-balanced meta set.

    Meta-Weight-Net (Shu et al. 2019): a small network (``1 -> hidden -> 1`` with a sigmoid) maps each
    training sample's loss to a weight. Every ``meta_interval`` steps it is updated so that a virtual
    SGD step of the classifier on the weighted batch loss lowers the loss on a class-balanced batch of
    a meta set; then the classifier takes its real step on the batch loss weighted by the updated
    weighting network (weights normalised to sum to one, as in the paper's class-imbalance code).
    ``weighting="l2rw"`` uses the meta gradient directly as the weights (Ren et al. 2018).

    The meta set is ``meta_size`` random samples of every class of the ``y`` given to ``fit``; as in
    the paper it is separate from the training data: those samples are removed from the set the
    network trains on (and from the class counts that losses, class weights and ``tau`` use). Each
    cross-validation fold draws its own from its training part. All other parameters are those of
    :class:`~imbsk.CNNClassifier`; the training loss (``loss``) is also the meta loss.

    A step costs about three times a plain one (a second-order backward pass through the network and a
    forward pass on the meta batch); see the documentation page "Meta-Weight-Net".

    Parameters
    ----------
    module : str or torch.nn.Module subclass, default="auto"
        The network, as in :class:`~imbsk.CNNClassifier`.
    weighting : {"mwn", "l2rw"}, default="mwn"
        ``"mwn"``: Meta-Weight-Net's learned loss-to-weight mapping. ``"l2rw"``: learning to reweight
        (Ren et al. 2018), weights ``max(0, -d meta_loss / d w_i)`` computed at every step, no
        weighting network.
    meta_size : int, default=10
        Samples per class in the meta set (10 in the paper's CIFAR-LT experiments). Every class of
        ``y`` needs more than ``meta_size`` samples.
    meta_lr : float, default=1e-3
        Learning rate of the weighting network's optimiser.
    meta_optimizer : {"adam", "sgd"}, default="adam"
        The weighting network's optimiser: Adam with weight decay 1e-4 (the paper's code for noisy
        labels), or SGD with Nesterov momentum 0.9 and weight decay 5e-4 (its class-imbalance code, with
        ``meta_lr=1e-5``).
    hidden : int, default=100
        Hidden width of the weighting network.
    meta_interval : int, default=1
        Update the weighting network every ``meta_interval`` training steps (1 as in the paper); the
        steps between use its current weights at the cost of a plain step. Must be 1 for ``"l2rw"``.
    meta_batch_size : int or None, default=None
        Size of a meta batch; ``None`` uses ``batch_size``. A meta set no larger than that is used
        whole at every meta step; a larger one gives ``meta_batch_size // n_classes`` random samples of
        each class.
    **kwargs
        Every parameter of :class:`~imbsk.CNNClassifier` (``loss``, ``lr``, ``max_epochs``,
        ``batch_size``, ``augment``, ``random_state``, ``device``, ``module__*``, ...).

    Attributes
    ----------
    meta_indices_ : ndarray of shape (n_classes_in_y * meta_size,)
        Sorted row indices, into the ``X`` of the last ``fit`` (or ``partial_fit``, which draws a meta set
        from each chunk), of the meta set; the network was not trained on these rows.
    weight_net_ : WeightNet or None
        The fitted weighting network (``None`` for ``weighting="l2rw"``).
    class_counts_ : ndarray of shape (n_classes,)
        Training samples per class, the meta set excluded.
    history_ : skorch.History
        Besides the classifier's entries, ``train_meta_loss``: the mean meta loss of each epoch that had a
        meta step. ``train_loss`` is the weighted loss.

    The other fitted attributes (``classes_``, ``class_prior_``, ``module_``, ``device_``, ...) are those of
    :class:`~imbsk.CNNClassifier`.

    References
    ----------
    .. [1] J. Shu, Q. Xie, L. Yi, Q. Zhao, S. Zhou, Z. Xu and D. Meng, "Meta-Weight-Net: Learning an
       Explicit Mapping For Sample Weighting", NeurIPS 2019.
    .. [2] M. Ren, W. Zeng, B. Yang and R. Urtasun, "Learning to Reweight Examples for Robust Deep
       Learning", ICML 2018.

    Examples
    --------
    >>> import numpy as np
    >>> from imbsk.metaweight import MetaWeightClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = rng.integers(0, 256, size=(60, 1, 8, 8), dtype=np.uint8)
    >>> y = np.array([0] * 45 + [1] * 15)
    >>> clf = MetaWeightClassifier(module__width=4, meta_size=5, hidden=8, max_epochs=1, random_state=0)
    >>> clf.fit(X, y).meta_indices_.shape
    (10,)
    >>> clf.class_counts_
    array([40, 10])
    """

    _parameter_constraints = {**PARAMETER_CONSTRAINTS, **META_PARAMETER_CONSTRAINTS}

    def __init__(
        self,
        module="auto",
        *,
        weighting="mwn",
        meta_size=10,
        meta_lr=1e-3,
        meta_optimizer="adam",
        hidden=100,
        meta_interval=1,
        meta_batch_size=None,
        **kwargs,
    ):
        self.weighting = weighting
        self.meta_size = meta_size
        self.meta_lr = meta_lr
        self.meta_optimizer = meta_optimizer
        self.hidden = hidden
        self.meta_interval = meta_interval
        self.meta_batch_size = meta_batch_size
        super().__init__(module, **kwargs)
