"""Mixup and CutMix as per-batch transforms of :class:`imbsk.CNNClassifier`.

Both are skorch callbacks with a method ``transform_batch(net, Xi, yi) -> (Xi, yi)``, the classifier's
extension point for changing a training batch after augmentation and before the forward pass. They
pair every sample of the batch with another one of the same batch (a random permutation), blend the
inputs and replace the class codes by soft targets of shape (batch, n_classes): ``lam`` for the
sample's own class and ``1 - lam`` for its partner's. Validation and prediction batches are never
mixed.

Register a callback under a name, so that a grid search can reach its parameters::

    CNNClassifier(callbacks=[("mixup", Mixup(alpha=0.2))])
    GridSearchCV(clf, {"callbacks__mixup__alpha": [0.1, 0.2, 0.4]})

Randomness (``lam``, the partners, the boxes, whether a batch is mixed) comes from generators seeded
in ``on_train_begin`` from the classifier's ``random_state``, so a fit with a ``random_state`` is
reproducible; a continued fit draws new numbers.

References
----------
Zhang, Cisse, Dauphin and Lopez-Paz (2018), mixup: Beyond empirical risk minimization. ICLR.
Yun, Han, Oh, Chun, Choe and Yoo (2019), CutMix: Regularization strategy to train strong classifiers with
localizable features. ICCV.
"""

import numbers

import numpy as np
import torch
import torch.nn.functional as F
from skorch.callbacks import Callback

__all__ = ["CutMix", "Mixup", "check_soft_targets"]


def _check_params(name, alpha, p):
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real) or not np.isfinite(alpha) or alpha <= 0:
        raise ValueError(
            f"{name}: alpha must be a finite real number > 0 (the parameter of Beta(alpha, alpha)); got {alpha!r}. "
            "To switch the callback off, remove it or set it to None (callbacks__<name>=None)."
        )
    if isinstance(p, bool) or not isinstance(p, numbers.Real) or not 0.0 <= p <= 1.0:
        raise ValueError(f"{name}: p must be a real number in [0, 1] (the probability of mixing a batch); got {p!r}.")


def _loss_name(net):
    """How the user chose the loss: ``loss='focal'``, ``loss=MultiMarginLoss`` or ``criterion=...``."""
    if getattr(net, "criterion", None) is not None:
        crit = net.criterion
        return f"criterion={getattr(crit, '__name__', type(crit).__name__)}"
    loss = net.loss
    return f"loss={loss!r}" if isinstance(loss, str) else f"loss={getattr(loss, '__name__', loss)!r}"


def check_soft_targets(net, name="the batch transform"):
    """Check that the classifier's loss accepts soft targets, before the first batch.

    Runs two blank samples through the network (in evaluation mode, without gradients, so nothing
    is learned and no batch-normalisation statistic moves) and the loss against uniform soft targets of
    shape (2, n_classes).

    Parameters
    ----------
    net : imbsk.CNNClassifier
        An initialised classifier (``module_``, ``criterion_`` and ``classes_`` set), as in
        ``on_train_begin``.
    name : str, default="the batch transform"
        Who asks, for the message.

    Raises
    ------
    ValueError
        Naming the loss, if it fails on soft targets.
    """
    n_classes = len(net.classes_)
    device = net.device_
    x = torch.zeros((2,) + tuple(net.input_shape_), dtype=torch.float32, device=device)
    target = torch.full((2, n_classes), 1.0 / n_classes, dtype=torch.float32, device=device)
    module = net.module_
    was_training = module.training
    try:
        module.train(False)
        with torch.no_grad():
            loss = net.get_loss(net.infer(x), target, X=x, training=True)
        if not torch.is_tensor(loss):
            raise TypeError(f"the loss returned {type(loss).__name__}, not a tensor")
    except Exception as exc:  # any failure of a user's criterion is reported the same way
        raise ValueError(
            f"{name} makes soft targets of shape (batch, n_classes), but the loss {type(net.criterion_).__name__} "
            f"({_loss_name(net)}) does not accept them: {type(exc).__name__}: {exc}. Every loss of imbsk.losses "
            "accepts soft targets; use one of them, or remove the callback."
        ) from exc
    finally:
        module.train(was_training)


class _BatchMix(Callback):
    """Shared plumbing: parameters, generators and soft targets; subclasses blend the inputs."""

    # Distinguishes the random streams of two transforms registered on one classifier.
    _stream = 0

    def __init__(self, alpha=1.0, p=1.0):
        self.alpha = alpha
        self.p = p

    def _check_data(self, net):
        """Refuse data the transform cannot blend (overridden by CutMix)."""

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        """Validate the parameters, the data and the loss, and seed the generators."""
        name = type(self).__name__
        _check_params(name, self.alpha, self.p)
        self._check_data(net)
        check_soft_targets(net, name)
        self.n_classes_ = len(net.classes_)
        seed = getattr(net, "seed_", None)
        if seed is None:
            # No random_state: draw from torch's global generator, which a user's torch.manual_seed fixes.
            seed = int(torch.randint(2**31 - 1, (1,)).item())
        self.rng_ = np.random.default_rng([seed, self._stream])
        # The permutation is drawn on the device, so a batch costs no host-device transfer.
        self.generator_ = torch.Generator(device=net.device_)
        self.generator_.manual_seed(int(self.rng_.integers(2**62)))

    def transform_batch(self, net, Xi, yi):
        """Blend the training batch with a permutation of itself (with probability ``p``).

        Parameters
        ----------
        net : imbsk.CNNClassifier
            The classifier being fitted.
        Xi : torch.Tensor
            The batch inputs, uint8 or float. Never modified in place.
        yi : torch.Tensor
            Class codes of shape (batch,), or soft targets of shape (batch, n_classes) from an earlier
            transform.

        Returns
        -------
        Xi : torch.Tensor
            The blended batch.
        yi : torch.Tensor of shape (batch, n_classes), float32
            Soft targets; or the inputs unchanged when the batch is not mixed.
        """
        if not hasattr(self, "rng_"):
            raise RuntimeError(f"{type(self).__name__}.transform_batch runs inside fit (after on_train_begin).")
        if self.p < 1.0 and self.rng_.random() >= self.p:
            return Xi, yi
        lam = float(self.rng_.beta(self.alpha, self.alpha))
        perm = torch.randperm(len(Xi), generator=self.generator_, device=self.generator_.device)
        perm = perm.to(Xi.device)
        Xi, lam = self._blend(Xi, perm, lam)
        if yi.ndim == 1:
            yi = F.one_hot(yi, self.n_classes_)
        yi = yi.float()
        return Xi, lam * yi + (1.0 - lam) * yi.index_select(0, perm)

    def _blend(self, Xi, perm, lam):
        raise NotImplementedError

    def __getstate__(self):
        # The generators belong to one fit (on_train_begin seeds new ones); a CUDA generator in a pickle
        # would not load on a machine without the device.
        state = self.__dict__.copy()
        state.pop("rng_", None)
        state.pop("generator_", None)
        return state


class Mixup(_BatchMix):
    """Mixup (Zhang et al. 2018): train on convex combinations of pairs of samples and of their labels.

    For each training batch, ``lam ~ Beta(alpha, alpha)`` and a random permutation ``perm`` of the batch
    give ``x = lam * x + (1 - lam) * x[perm]`` and soft targets ``lam * onehot(y) + (1 - lam) *
    onehot(y[perm])``. One ``lam`` per batch, as in the reference.

    uint8 images are blended as float32 on their own scale, 0 to 255 (not rescaled to [0, 1]): the
    classifier's normaliser converts a batch with ``float()`` and standardises it with the statistics
    of the uint8 training images, and since that is affine per channel and the weights sum to 1,
    normalising the blend is the same as blending the normalised images. Float inputs stay in their
    dtype and scale. Works on images and on tabular ``X``.

    The classifier calls ``transform_batch(net, Xi, yi)`` on every training batch; it returns the blend
    and float32 soft targets of shape (batch, n_classes) (class codes and inputs unchanged for a batch
    that ``p`` leaves alone). ``on_train_begin`` checks the parameters and the loss and seeds the
    generators.

    Parameters
    ----------
    alpha : float > 0, default=1.0
        Parameter of the Beta distribution of ``lam``. Small values (0.1 to 0.4, common on ImageNet)
        keep most samples close to one of the pair; ``alpha=1`` draws ``lam`` uniformly (CIFAR).
    p : float in [0, 1], default=1.0
        Probability that a batch is mixed; the others are passed on unchanged (class codes).

    Attributes
    ----------
    n_classes_ : int
        Width of the soft targets (the classifier's number of classes).
    rng_ : numpy.random.Generator
        Draws ``lam`` and whether a batch is mixed; seeded in ``on_train_begin`` from the classifier's
        ``random_state``.
    generator_ : torch.Generator
        Draws the permutations, on the classifier's device.

    See Also
    --------
    CutMix : pastes a box of the partner image instead of blending whole images.

    Notes
    -----
    Mixup regularises the features; it does not correct the class prior (a mixed batch has the class
    frequencies of the data). For class imbalance it is mostly a first-stage method: train with it, then
    re-balance the classifier (decoupled re-training, a logit-adjusted loss, ``tau``), as in MiSLAS
    (Zhong et al. 2021). The loss must accept soft targets: every loss of :mod:`imbsk.losses` does, and
    another one is checked at the start of ``fit``.

    References
    ----------
    Zhang, Cisse, Dauphin and Lopez-Paz (2018), mixup: Beyond empirical risk minimization. ICLR.
    Zhong, Cui, Liu and Jia (2021), Improving calibration for long-tailed recognition. CVPR.

    Examples
    --------
    >>> from imbsk import CNNClassifier
    >>> from imbsk.mixup import Mixup
    >>> clf = CNNClassifier(callbacks=[("mixup", Mixup(alpha=0.2))])
    >>> clf.get_params()["callbacks__mixup__alpha"]
    0.2
    """

    _stream = 1

    def _blend(self, Xi, perm, lam):
        x = Xi if Xi.is_floating_point() else Xi.float()
        return torch.lerp(x.index_select(0, perm), x, lam), lam


class CutMix(_BatchMix):
    """CutMix (Yun et al. 2019): paste a random box of a partner image; labels mixed by the box area.

    For each training batch, ``lam ~ Beta(alpha, alpha)`` sets a box of side ``sqrt(1 - lam)`` times the
    image's height and width, centred on a uniformly drawn pixel and clipped at the border; the box of
    every image is replaced by the same box of its partner ``x[perm]``. Because clipping shrinks the box,
    ``lam`` is then corrected to the share of pixels each image keeps, ``1 - box area / image area``,
    and the soft targets are ``lam * onehot(y) + (1 - lam) * onehot(y[perm])``. One box per batch, as in
    the reference.

    Pixels are copied, not blended, so uint8 images stay uint8 and float images keep their dtype. Needs
    4-D images (N, C, H, W). The callback's methods are those of :class:`Mixup`.

    Parameters
    ----------
    alpha : float > 0, default=1.0
        Parameter of the Beta distribution of ``lam``; ``alpha=1`` (the reference's) draws the box's
        share of the image uniformly.
    p : float in [0, 1], default=0.5
        Probability that a batch is mixed; the others are passed on unchanged (class codes). The
        reference uses 0.5 on CIFAR and 1.0 on ImageNet; the default is the CIFAR value, for the small
        images this library is about (on long-tailed 8x8 digits, 30 epochs, ``p=1`` lost 0.24 balanced
        accuracy to no mixing and ``p=0.5`` 0.03; see the documentation page).

    Attributes
    ----------
    n_classes_ : int
        Width of the soft targets (the classifier's number of classes).
    rng_ : numpy.random.Generator
        Draws ``lam``, the box and whether a batch is mixed; seeded in ``on_train_begin`` from the
        classifier's ``random_state``.
    generator_ : torch.Generator
        Draws the permutations, on the classifier's device.

    See Also
    --------
    Mixup : blends whole images.

    Notes
    -----
    As mixup, CutMix improves the features but leaves the class prior of the data as it is; see
    :class:`Mixup` and the user guide page on mixup for how it is combined with re-balancing.

    References
    ----------
    Yun, Han, Oh, Chun, Choe and Yoo (2019), CutMix: Regularization strategy to train strong classifiers with
    localizable features. ICCV.

    Examples
    --------
    >>> from imbsk import CNNClassifier
    >>> from imbsk.mixup import CutMix
    >>> clf = CNNClassifier(callbacks=[("cutmix", CutMix(p=1.0))])
    >>> clf.get_params()["callbacks__cutmix__p"]
    1.0
    """

    _stream = 2

    def __init__(self, alpha=1.0, p=0.5):
        super().__init__(alpha=alpha, p=p)

    def _check_data(self, net):
        if getattr(net, "input_ndim_", 4) != 4:
            raise ValueError(
                f"CutMix pastes boxes of 4-D images (N, C, H, W); X is {net.input_ndim_}-D. Use Mixup for tabular X."
            )

    def _box(self, height, width, lam):
        """Rows ``r0:r1`` and columns ``c0:c1`` of a box of about ``(1 - lam)`` of the image."""
        cut = np.sqrt(1.0 - lam)
        h, w = int(height * cut), int(width * cut)
        cy, cx = int(self.rng_.integers(height)), int(self.rng_.integers(width))
        r0, r1 = np.clip([cy - h // 2, cy + h - h // 2], 0, height)
        c0, c1 = np.clip([cx - w // 2, cx + w - w // 2], 0, width)
        return int(r0), int(r1), int(c0), int(c1)

    def _blend(self, Xi, perm, lam):
        height, width = Xi.shape[-2:]
        r0, r1, c0, c1 = self._box(height, width, lam)
        Xi = Xi.clone()  # the batch may be a view of the caller's data
        Xi[..., r0:r1, c0:c1] = Xi[..., r0:r1, c0:c1].index_select(0, perm)
        return Xi, 1.0 - (r1 - r0) * (c1 - c0) / (height * width)
