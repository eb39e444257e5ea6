"""Losses for class-imbalanced classification, as :class:`torch.nn.Module` criteria on logits.

Every loss takes ``(logits, target)`` with ``logits`` of shape (N, K) (float) and ``target`` of shape
(N,) (int64 class indices) and, with the default ``reduction="mean"``, returns a scalar. They work in
plain PyTorch, as a skorch ``criterion`` and inside :class:`imbsk.CNNClassifier`. All are computed
from ``log_softmax`` and are numerically stable.

Every loss also takes soft targets: a float ``target`` of shape (N, K) whose rows are probability
vectors, as made by mixup and CutMix (:mod:`imbsk.mixup`) or label smoothing. A one-hot row gives
exactly the loss of its class index. Each loss documents what it computes for a soft row.

Class weights follow :class:`torch.nn.CrossEntropyLoss`: they live in the attribute ``weight`` (a
buffer, or None), and the mean is a weighted mean, ``sum_i w[y_i] l_i / sum_i w[y_i]``. With soft
targets a sample weighs ``sum_j t_ij w_j`` (its target's mix of the class weights), in the loss and in the
mean. ``weight`` may be
reassigned at any time, for instance by deferred re-weighting (Cao et al. 2019) at a chosen epoch;
array-likes are converted to a tensor. Class counts are converted to buffers, so ``.to(device)`` moves
them with the module.

References
----------
Lin et al. (2017), Focal loss for dense object detection. Cui et al. (2019), Class-balanced loss based on
effective number of samples. Cao et al. (2019), Learning imbalanced datasets with label-distribution-aware
margin loss. Ren et al. (2020), Balanced meta-softmax for long-tailed visual recognition. Menon et al.
(2021), Long-tail learning via logit adjustment.
"""

import numbers

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "LOSSES",
    "BalancedSoftmaxLoss",
    "ClassBalancedLoss",
    "CrossEntropyLoss",
    "FocalLoss",
    "LDAMLoss",
    "LogitAdjustedLoss",
    "class_weights",
    "get_loss",
    "ldam_margins",
]

WEIGHT_KINDS = ("inverse", "sqrt_inverse", "effective")
REDUCTIONS = ("mean", "sum", "none")


def _check_class_counts(class_counts):
    """Validated float64 copy of ``class_counts``: 1-D, finite, >= 0, at least one positive."""
    try:
        counts = np.array(class_counts, dtype=np.float64)  # a copy: the caller's array is never touched
    except (TypeError, ValueError):
        raise ValueError(
            f"class_counts must be a 1-D array-like of non-negative numbers; got {class_counts!r}."
        ) from None
    valid = counts.ndim == 1 and counts.size > 0 and np.all(np.isfinite(counts)) and np.all(counts >= 0)
    if not valid or counts.sum() <= 0:
        raise ValueError(
            "class_counts must be a non-empty 1-D array-like of finite non-negative numbers with at least one "
            f"positive; got {class_counts!r}."
        )
    return counts


def _check_real(name, value, low=None, high=None, low_open=False, high_open=False):
    ok = not isinstance(value, bool) and isinstance(value, numbers.Real) and np.isfinite(value)
    if ok and low is not None:
        ok = value > low if low_open else value >= low
    if ok and high is not None:
        ok = value < high if high_open else value <= high
    if not ok:
        lo = "(-inf" if low is None else ("(" if low_open else "[") + f"{low}"
        hi = "inf)" if high is None else f"{high}" + (")" if high_open else "]")
        raise ValueError(f"{name} must be a finite real number in {lo}, {hi}; got {value!r}.")
    return float(value)


def _check_reduction(reduction):
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {REDUCTIONS}; got {reduction!r}.")
    return reduction


def class_weights(class_counts, kind="inverse", beta=0.999):
    """Per-class weights from class counts, normalised to sum to the number of classes.

    Parameters
    ----------
    class_counts : array-like of shape (n_classes,)
        Number of training samples of each class. A class with zero samples gets weight 0: no sample
        of it is weighted, and the other classes share the total.
    kind : {"inverse", "sqrt_inverse", "effective"}, default="inverse"
        ``"inverse"``: ``1 / n``. ``"sqrt_inverse"``: ``1 / sqrt(n)``. ``"effective"``: the inverse
        effective number of samples of Cui et al. (2019), ``(1 - beta) / (1 - beta**n)``.
    beta : float in [0, 1), default=0.999
        Only for ``kind="effective"``. ``beta=0`` gives equal weights; ``beta`` close to 1 approaches
        inverse frequency.

    Returns
    -------
    weights : ndarray of shape (n_classes,), dtype float64
        Weights summing to ``n_classes`` (the convention of Cui et al. 2019); rarer classes weigh more.

    Raises
    ------
    ValueError
        If ``class_counts``, ``kind`` or ``beta`` is invalid.

    Examples
    --------
    >>> class_weights([900, 100]).round(2)
    array([0.2, 1.8])
    """
    counts = _check_class_counts(class_counts)
    if kind not in WEIGHT_KINDS:
        raise ValueError(f"kind must be one of {WEIGHT_KINDS}; got {kind!r}.")
    beta = _check_real("beta", beta, 0.0, 1.0, high_open=True)
    present = counts > 0
    n = counts[present]
    raw = np.zeros_like(counts)
    if kind == "inverse":
        raw[present] = 1.0 / n
    elif kind == "sqrt_inverse":
        raw[present] = 1.0 / np.sqrt(n)
    elif beta == 0.0:
        raw[present] = 1.0
    else:
        # 1 - beta**n through expm1: accurate when beta is close to 1 and n is small.
        raw[present] = (1.0 - beta) / -np.expm1(n * np.log(beta))
    return raw * (counts.size / raw.sum())


class _ImbalanceLoss(nn.Module):
    """Shared plumbing: the reassignable ``weight`` buffer, counts buffers, shape checks and reduction."""

    def __init__(self, weight=None, reduction="mean"):
        super().__init__()
        self.reduction = _check_reduction(reduction)
        self.register_buffer("weight", None)
        self.weight = weight

    def __setattr__(self, name, value):
        # Deferred re-weighting assigns ``weight`` mid-training, often from numpy; convert and validate
        # here so the buffer is always a float tensor (or None) and keeps its device.
        if name == "weight" and value is not None:
            value = self._as_weight(value)
        super().__setattr__(name, value)

    def _as_weight(self, value):
        if isinstance(value, torch.Tensor):
            w = value.detach().clone().float()
        else:
            try:
                w = torch.as_tensor(np.array(value, dtype=np.float32))
            except (TypeError, ValueError):
                raise ValueError(f"weight must be None or a 1-D array-like of non-negative numbers; "
                                 f"got {value!r}.") from None
            device = next((b.device for b in self._buffers.values() if b is not None), None) \
                if "_buffers" in self.__dict__ else None
            if device is not None:
                w = w.to(device)
        if w.ndim != 1 or w.numel() == 0 or not bool(torch.isfinite(w).all()) or bool((w < 0).any()):
            raise ValueError(f"weight must be None or a 1-D array-like of finite non-negative numbers; got {value!r}.")
        n_classes = getattr(self, "n_classes", None)
        if n_classes is not None and w.numel() != n_classes:
            raise ValueError(f"weight must have one entry per class ({n_classes}); got {w.numel()} entries.")
        return w

    def _register_counts(self, class_counts):
        counts = _check_class_counts(class_counts)
        self.n_classes = counts.size
        self.register_buffer("class_counts", torch.as_tensor(counts, dtype=torch.float32))
        return counts

    def _check_input(self, logits, target):
        """Check shapes; return True for soft targets (N, K), False for class indices (N,)."""
        soft = target.ndim == 2 and target.is_floating_point()
        if (logits.ndim != 2 or target.shape[0] != logits.shape[0] or not (target.ndim == 1 or soft)
                or (soft and target.shape[1] != logits.shape[1])):
            raise ValueError(
                f"expected logits of shape (N, K) and target of shape (N,) (class indices) or (N, K) (soft "
                f"targets, float); got {tuple(logits.shape)} and {tuple(target.shape)} ({target.dtype})."
            )
        n_classes = getattr(self, "n_classes", None)
        if n_classes is not None and logits.shape[1] != n_classes:
            raise ValueError(f"logits have {logits.shape[1]} columns but class_counts has {n_classes} classes.")
        return soft

    def _weight_for(self, logits):
        if self.weight is None:
            return None
        if self.weight.numel() != logits.shape[1]:
            raise ValueError(f"weight has {self.weight.numel()} entries but logits have {logits.shape[1]} columns.")
        return self.weight.to(device=logits.device, dtype=logits.dtype)

    def _cross_entropy(self, logits, target, soft=False):
        if soft:
            return self._soft_loss(-F.log_softmax(logits, dim=1), target, logits)
        return F.cross_entropy(logits, target, weight=self._weight_for(logits), reduction=self.reduction)

    def _soft_loss(self, per_class, target, logits):
        """Reduce the per-class losses ``per_class[i, j]`` (the loss of sample i were its class j) over soft
        targets: ``l_i = sum_j t_ij w_j per_class[i, j]``, weighted mean by ``sum_j t_ij w_j``."""
        target = target.to(per_class.dtype)
        w = self._weight_for(logits)
        tw = target if w is None else target * w
        loss = (tw * per_class).sum(1)
        if self.reduction == "none":
            return loss
        if self.reduction == "sum":
            return loss.sum()
        return loss.mean() if w is None else loss.sum() / tw.sum()

    def extra_repr(self):
        return f"reduction={self.reduction!r}"


class FocalLoss(_ImbalanceLoss):
    """Focal loss of Lin et al. (2017): cross-entropy scaled by ``(1 - p_t) ** gamma``.

    ``l_i = -w[y_i] (1 - p_i) ** gamma * log p_i`` with ``p_i`` the softmax probability of the true
    class. ``gamma=0`` is (weighted) cross-entropy. A soft target ``t_i`` mixes the focal terms of the
    classes, ``l_i = -sum_j t_ij w_j (1 - p_ij) ** gamma * log p_ij``: what mixup's usual
    ``lam * loss(y_a) + (1 - lam) * loss(y_b)`` gives for each sample.

    Parameters
    ----------
    gamma : float >= 0, default=2.0
        Focusing parameter; larger values down-weight well-classified samples more.
    weight : array-like of shape (n_classes,) or None, default=None
        Per-class weights (the ``alpha`` of Lin et al.); reassignable later through ``.weight``.
    reduction : {"mean", "sum", "none"}, default="mean"
        As in :class:`torch.nn.CrossEntropyLoss`; ``"mean"`` is the weighted mean.

    Examples
    --------
    >>> import torch
    >>> loss = FocalLoss(gamma=2.0)
    >>> float(loss(torch.tensor([[2.0, -1.0]]), torch.tensor([0]))) < 0.01
    True
    """

    def __init__(self, gamma=2.0, weight=None, reduction="mean"):
        super().__init__(weight=weight, reduction=reduction)
        self.gamma = _check_real("gamma", gamma, 0.0)

    def forward(self, logits, target):
        """Loss of ``logits`` (N, K) against ``target``: class indices (N,) or soft targets (N, K)."""
        soft = self._check_input(logits, target)
        if self.gamma == 0.0:
            return self._cross_entropy(logits, target, soft)
        logp = F.log_softmax(logits, dim=1)
        if not soft:
            logp = logp.gather(1, target[:, None]).squeeze(1)
        # -expm1(log p) is 1 - p without cancellation; the floor keeps the gradient of a fractional
        # power finite when p rounds to 1.
        focus = (-torch.expm1(logp)).clamp_min(1e-12) ** self.gamma
        loss = -focus * logp
        if soft:
            return self._soft_loss(loss, target, logits)
        w = self._weight_for(logits)
        if w is not None:
            wt = w[target]
            loss = loss * wt
            if self.reduction == "mean":
                return loss.sum() / wt.sum()
        if self.reduction == "mean":
            return loss.mean()
        return loss.sum() if self.reduction == "sum" else loss

    def extra_repr(self):
        return f"gamma={self.gamma}, reduction={self.reduction!r}"


class ClassBalancedLoss(FocalLoss):
    """Class-balanced loss of Cui et al. (2019): cross-entropy or focal loss weighted by the inverse
    effective number of samples of each class.

    Parameters
    ----------
    class_counts : array-like of shape (n_classes,)
        Training samples per class (of the data the model is fitted on).
    beta : float in [0, 1), default=0.9999
        Effective-number hyper-parameter, see :func:`class_weights`.
    gamma : float >= 0, default=0.0
        0 weights cross-entropy; a positive value weights the focal loss.
    reduction : {"mean", "sum", "none"}, default="mean"
        As in :class:`torch.nn.CrossEntropyLoss`.

    Attributes
    ----------
    weight : torch.Tensor of shape (n_classes,)
        ``class_weights(class_counts, kind="effective", beta=beta)``; reassignable.
    class_counts : torch.Tensor of shape (n_classes,)
        The counts, as a float buffer.

    Examples
    --------
    >>> import torch
    >>> loss = ClassBalancedLoss([900, 100], beta=0.999)
    >>> loss(torch.zeros(3, 2), torch.tensor([0, 1, 1])).shape
    torch.Size([])
    """

    def __init__(self, class_counts, beta=0.9999, gamma=0.0, reduction="mean"):
        weight = class_weights(class_counts, kind="effective", beta=beta)
        super().__init__(gamma=gamma, weight=None, reduction=reduction)
        self._register_counts(class_counts)
        self.beta = float(beta)
        self.weight = weight

    def extra_repr(self):
        return f"n_classes={self.n_classes}, beta={self.beta}, gamma={self.gamma}, reduction={self.reduction!r}"


def ldam_margins(class_counts, max_margin=0.5):
    """LDAM margins: proportional to ``n ** (-1/4)``, the rarest class getting ``max_margin``.

    Parameters
    ----------
    class_counts : array-like of shape (n_classes,)
        Training samples per class. A class with zero samples gets ``max_margin``.
    max_margin : float > 0, default=0.5
        Margin of the rarest class.

    Returns
    -------
    margins : ndarray of shape (n_classes,), dtype float64

    Examples
    --------
    >>> ldam_margins([10000, 625]).round(3)
    array([0.25, 0.5 ])
    """
    counts = _check_class_counts(class_counts)
    max_margin = _check_real("max_margin", max_margin, 0.0, low_open=True)
    present = counts > 0
    raw = np.ones_like(counts)
    raw[present] = counts[present] ** -0.25
    raw[~present] = raw[present].max()
    return raw * (max_margin / raw.max())


class LDAMLoss(_ImbalanceLoss):
    """Label-distribution-aware margin loss of Cao et al. (2019).

    The true-class logit is lowered by a class margin ``m_y`` proportional to ``n_y ** (-1/4)`` before
    the softmax, and all logits are multiplied by ``scale``: ``CE(scale * (z - m_y e_y), y)``. The
    reference pairs it with a cosine classifier
    (``CifarResNet(normalized_classifier=True)``), whose outputs lie in ``[-1, 1]``, and ``scale=30``;
    with an ordinary linear last layer use ``scale=1``.

    With a soft target ``t_i`` every logit is lowered by its share of its class's margin,
    ``CE(scale * (z - t_i * m), t_i)`` (elementwise product), which is LDAM for a one-hot row. (The
    mixture ``sum_j t_ij LDAM(z, j)`` would need one softmax per class present in the target.)

    Parameters
    ----------
    class_counts : array-like of shape (n_classes,)
        Training samples per class.
    max_margin : float > 0, default=0.5
        Margin of the rarest class.
    scale : float > 0, default=30.0
        Logit scale ``s``.
    weight : array-like of shape (n_classes,) or None, default=None
        Per-class weights; deferred re-weighting assigns them through ``.weight`` later.
    reduction : {"mean", "sum", "none"}, default="mean"
        As in :class:`torch.nn.CrossEntropyLoss`.

    Attributes
    ----------
    margins : torch.Tensor of shape (n_classes,)
        The per-class margins (buffer), see :func:`ldam_margins`.
    class_counts : torch.Tensor of shape (n_classes,)
        The counts, as a float buffer.

    Examples
    --------
    >>> import torch
    >>> loss = LDAMLoss([900, 100])
    >>> loss.margins
    tensor([0.2887, 0.5000])
    """

    def __init__(self, class_counts, max_margin=0.5, scale=30.0, weight=None, reduction="mean"):
        super().__init__(weight=None, reduction=reduction)
        counts = self._register_counts(class_counts)
        self.max_margin = float(max_margin)
        self.scale = _check_real("scale", scale, 0.0, low_open=True)
        self.register_buffer("margins", torch.as_tensor(ldam_margins(counts, max_margin), dtype=torch.float32))
        self.weight = weight

    def forward(self, logits, target):
        """Loss of ``logits`` (N, K) against ``target``: class indices (N,) or soft targets (N, K)."""
        soft = self._check_input(logits, target)
        margins = self.margins.to(device=logits.device, dtype=logits.dtype)
        # Scatter-free: subtract the margin only in the true-class column (its share, for soft targets).
        share = target.to(logits.dtype) if soft else F.one_hot(target, logits.shape[1]).to(logits.dtype)
        adjusted = logits - share * margins
        return self._cross_entropy(self.scale * adjusted, target, soft)

    def extra_repr(self):
        return (f"n_classes={self.n_classes}, max_margin={self.max_margin}, scale={self.scale}, "
                f"reduction={self.reduction!r}")


class LogitAdjustedLoss(_ImbalanceLoss):
    """Logit-adjusted loss of Menon et al. (2021): cross-entropy on ``logits + tau * log(prior)``.

    The prior is the class frequency ``n_k / sum(n)``. The model is trained against the adjusted
    logits, so its raw logits estimate balanced (prior-free) scores; no adjustment is needed at predict
    time. ``tau=1`` is the balanced softmax (:class:`BalancedSoftmaxLoss`). A soft target gives the
    soft cross-entropy of the adjusted logits.

    Parameters
    ----------
    class_counts : array-like of shape (n_classes,)
        Training samples per class. A class with zero samples gets a vanishing prior and is in effect
        left out of the softmax.
    tau : float >= 0, default=1.0
        Strength of the adjustment; 0 is plain cross-entropy.
    weight : array-like of shape (n_classes,) or None, default=None
        Per-class weights, reassignable through ``.weight``.
    reduction : {"mean", "sum", "none"}, default="mean"
        As in :class:`torch.nn.CrossEntropyLoss`.

    Attributes
    ----------
    log_prior : torch.Tensor of shape (n_classes,)
        ``log(n_k / sum(n))`` (buffer).
    class_counts : torch.Tensor of shape (n_classes,)
        The counts, as a float buffer.

    Examples
    --------
    >>> import torch
    >>> loss = LogitAdjustedLoss([900, 100], tau=1.0)
    >>> loss.log_prior.exp()
    tensor([0.9000, 0.1000])
    """

    def __init__(self, class_counts, tau=1.0, weight=None, reduction="mean"):
        super().__init__(weight=None, reduction=reduction)
        counts = self._register_counts(class_counts)
        self.tau = _check_real("tau", tau, 0.0)
        prior = counts / counts.sum()
        # A finite floor instead of log(0) = -inf, so that tau * log_prior never produces 0 * inf.
        log_prior = np.log(np.maximum(prior, np.finfo(np.float32).tiny))
        self.register_buffer("log_prior", torch.as_tensor(log_prior, dtype=torch.float32))
        self.weight = weight

    def forward(self, logits, target):
        """Loss of ``logits`` (N, K) against ``target``: class indices (N,) or soft targets (N, K)."""
        soft = self._check_input(logits, target)
        adjusted = logits + self.tau * self.log_prior.to(device=logits.device, dtype=logits.dtype)
        return self._cross_entropy(adjusted, target, soft)

    def extra_repr(self):
        return f"n_classes={self.n_classes}, tau={self.tau}, reduction={self.reduction!r}"


class BalancedSoftmaxLoss(LogitAdjustedLoss):
    """Balanced softmax of Ren et al. (2020): :class:`LogitAdjustedLoss` with ``tau=1``.

    Parameters
    ----------
    class_counts : array-like of shape (n_classes,)
        Training samples per class.
    weight : array-like of shape (n_classes,) or None, default=None
        Per-class weights, reassignable through ``.weight``.
    reduction : {"mean", "sum", "none"}, default="mean"
        As in :class:`torch.nn.CrossEntropyLoss`.

    Examples
    --------
    >>> import torch
    >>> BalancedSoftmaxLoss([900, 100])(torch.zeros(2, 2), torch.tensor([0, 1])).shape
    torch.Size([])
    """

    def __init__(self, class_counts, weight=None, reduction="mean"):
        super().__init__(class_counts, tau=1.0, weight=weight, reduction=reduction)

    def extra_repr(self):
        return f"n_classes={self.n_classes}, reduction={self.reduction!r}"


class CrossEntropyLoss(nn.CrossEntropyLoss):
    """:class:`torch.nn.CrossEntropyLoss` whose class-weighted mean treats soft targets like class indices.

    With class indices it is PyTorch's loss, unchanged. With soft targets (float, shape (N, K)), class
    weights and ``reduction="mean"``, PyTorch divides the summed loss by N, while with class indices it
    divides by ``sum_i w[y_i]``: a one-hot batch then gives a different loss, and mixup with class weights
    would silently rescale the learning rate by the mean sample weight. Here the divisor is
    ``sum_i sum_j t_ij w_j`` in both cases, so a one-hot row gives exactly the class-index loss
    (label smoothing included).

    Parameters
    ----------
    As :class:`torch.nn.CrossEntropyLoss` (``weight``, ``ignore_index``, ``reduction``,
    ``label_smoothing``, ...).

    Examples
    --------
    >>> import torch
    >>> loss = CrossEntropyLoss(weight=torch.tensor([0.2, 1.8]))
    >>> z, y = torch.tensor([[1.0, -1.0], [0.5, 0.0]]), torch.tensor([0, 1])
    >>> bool(torch.isclose(loss(z, y), loss(z, torch.eye(2)[y])))
    True
    """

    def forward(self, input, target):
        """Loss of ``input`` (N, K, ...) against class indices (N, ...) or soft targets (N, K, ...)."""
        soft = target.is_floating_point() and target.ndim == input.ndim
        if not soft or self.weight is None or self.reduction != "mean":
            return super().forward(input, target)
        losses = F.cross_entropy(input, target, weight=self.weight, reduction="none",
                                 label_smoothing=self.label_smoothing)
        w = self.weight.to(target.dtype).view((1, -1) + (1,) * (target.ndim - 2))
        return losses.sum() / (target * w).sum()


LOSSES = {
    "ce": CrossEntropyLoss,
    "weighted_ce": CrossEntropyLoss,
    "focal": FocalLoss,
    "class_balanced": ClassBalancedLoss,
    "ldam": LDAMLoss,
    "logit_adjusted": LogitAdjustedLoss,
    "balanced_softmax": BalancedSoftmaxLoss,
}
"""dict: the one registry of loss names, used by :func:`get_loss` and by ``CNNClassifier(loss=...)``.

``"ce"`` and ``"weighted_ce"`` are :class:`CrossEntropyLoss` (PyTorch's, with the weighted mean also for soft
targets); ``"weighted_ce"`` has inverse-frequency class weights (from ``class_counts``);
``"cross_entropy"`` is accepted by :func:`get_loss` as another name for ``"ce"``.
"""

_ALIASES = {"cross_entropy": "ce"}

_NEEDS_COUNTS = (ClassBalancedLoss, LDAMLoss, LogitAdjustedLoss)


def get_loss(loss, class_counts=None, **params):
    """Build a loss from its name (or class), passing the class counts to the losses that use them.

    Parameters
    ----------
    loss : str or type
        A key of :data:`LOSSES` or an :class:`torch.nn.Module` subclass.
    class_counts : array-like of shape (n_classes,) or None, default=None
        Training samples per class; required by ``"weighted_ce"``, ``"class_balanced"``, ``"ldam"``,
        ``"logit_adjusted"`` and ``"balanced_softmax"``, ignored by the others.
    **params : dict
        Further keyword arguments of the loss (``gamma``, ``beta``, ``tau``, ``weight``, ...).

    Returns
    -------
    criterion : torch.nn.Module

    Raises
    ------
    ValueError
        If ``loss`` is unknown, or ``class_counts`` is missing for a loss that needs it.

    Examples
    --------
    >>> get_loss("ldam", class_counts=[900, 100], max_margin=0.5).max_margin
    0.5
    """
    if isinstance(loss, str):
        loss = _ALIASES.get(loss, loss)
        if loss not in LOSSES:
            raise ValueError(f"loss must be one of {sorted(LOSSES)} or a torch.nn.Module subclass; got {loss!r}.")
        cls = LOSSES[loss]
        if loss == "weighted_ce" and "weight" not in params:
            if class_counts is None:
                raise ValueError("class_counts is required for loss 'weighted_ce'; got None.")
            params["weight"] = torch.as_tensor(class_weights(class_counts), dtype=torch.float32)
    elif isinstance(loss, type) and issubclass(loss, nn.Module):
        cls = loss
    else:
        raise ValueError(f"loss must be one of {sorted(LOSSES)} or a torch.nn.Module subclass; got {loss!r}.")
    if issubclass(cls, _NEEDS_COUNTS):
        if class_counts is None:
            raise ValueError(f"class_counts is required for loss {loss!r}; got None.")
        return cls(class_counts, **params)
    return cls(**params)
