"""One-class detection on images: learn what the abundant class looks like and flag everything else.

When a class is very rare (ten images against thousands), a classifier has almost nothing to learn it
from. The one-class framing turns the problem around: a detector is fitted on the abundant ("normal")
class only and scores how far a new image lies from it; the rare class is whatever scores as unusual.
It also flags new kinds of rare cases that never appeared in training.

Three parts, each with scikit-learn's interface:

* :class:`DeepSVDD` -- Deep Support Vector Data Description (Ruff et al., 2018): a convolutional
  encoder trained to map the normal images close to a fixed centre; the distance to the centre is the
  anomaly score. scikit-learn's outlier API (``fit`` / ``decision_function`` / ``score_samples`` /
  ``predict`` giving +1 / -1).
* :class:`CNNFeatures` -- a transformer from images to embeddings, so that scikit-learn's
  ``OneClassSVM``, ``IsolationForest`` or ``LocalOutlierFactor(novelty=True)`` run on them in a pipeline.
* :class:`DetectorClassifier` -- a binary classifier from any such detector: the detector is fitted
  on the normal class, the threshold on its score is tuned by cross-validation on balanced accuracy,
  and the result goes into ``cross_val_score`` and ``GridSearchCV`` like any classifier.
"""

import copy
import numbers
from types import SimpleNamespace

import numpy as np
import torch
from sklearn.base import (
    BaseEstimator,
    ClassifierMixin,
    OutlierMixin,
    TransformerMixin,
    _fit_context,
    clone,
    is_outlier_detector,
)
from sklearn.model_selection import TunedThresholdClassifierCV
from sklearn.utils import check_array, check_random_state, column_or_1d
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import check_is_fitted
from torch import nn

from .classifier._build import Normalizer
from .classifier._mixins import DeviceMixin, RandomStateMixin, ThreadsMixin
from .classifier._validation import check_fit_X, check_input_range, check_predict_X, input_range, input_statistics

__all__ = ["CNNFeatures", "DeepSVDD", "DetectorClassifier"]

# Largest number of conv blocks "auto" chooses: the reference CIFAR encoder's three (32 -> 4 pixels).
_MAX_AUTO_BLOCKS = 3


def _resolve_device(device):
    """``"auto"`` -> ``"cuda"`` when available, else ``"cpu"``; a bad device is a clear ValueError."""
    # The classifier's own resolution, which only reads ``.device``.
    return DeviceMixin._resolve_device(SimpleNamespace(device=device))


def _check_images(X, name, fitted_shape=None, fitted_range=None):
    """4-D uint8 or float32 images, or a clear error; against the shape of ``fit`` when given."""
    if fitted_shape is None:
        X = check_fit_X(X, name)
    else:
        X = check_predict_X(X, 4, fitted_shape, name)
        check_input_range(X, fitted_range, name)
    if X.ndim != 4:
        raise ValueError(
            f"{name} takes images of shape (n_samples, channels, height, width); got X of shape {X.shape}. "
            "Reshape flat images, for example X.reshape(-1, 1, 8, 8)."
        )
    return X


def _learn_input(estimator, X):
    """What scoring needs to know of the training images: their shape and value range, the device, and the
    normaliser (per-channel statistics when ``estimator.normalize``)."""
    estimator.input_shape_ = tuple(X.shape[1:])
    estimator.input_range_ = input_range(X)
    estimator.device_ = _resolve_device(estimator.device)
    mean, std = input_statistics(X, normalize=estimator.normalize)
    estimator.normalizer_ = Normalizer(mean, std).to(estimator.device_)


def _normal_sign(classes, normal_class):
    """+1 when the normal class is ``classes[1]`` (high scores mean it, scikit-learn's binary convention), else -1."""
    return 1.0 if classes[1] == normal_class else -1.0


def _check_not_bool(estimator, names):
    """scikit-learn's integer and real constraints accept ``True``; a bool there is a slip, not a number."""
    for name in names:
        value = getattr(estimator, name)
        if isinstance(value, bool | np.bool_):
            raise ValueError(
                f"The {name!r} parameter of {type(estimator).__name__} must be a number, not a bool; "
                f"got {name}={value!r}."
            )


def _check_one_class_y(y, name):
    """``y`` is ignored, but a ``y`` with several classes means the caller expects a classifier."""
    if y is None:
        return
    y = np.asarray(y)
    labels = np.unique(y)
    if len(labels) > 1:
        shown = labels[:10].tolist()
        raise ValueError(
            f"{name} learns one class from normal samples only, but y holds {len(labels)} classes {shown}. "
            f"Fit it on the normal class alone (X[y == normal_class]), or use "
            f"DetectorClassifier({name}(), normal_class=...) to fit it on one class and classify two."
        )


class _Encoder(nn.Module):
    """Bias-free conv encoder: ``n_blocks`` x (conv 3x3, batch norm without affine, leaky ReLU, 2x2 max pool),
    then a bias-free linear map to ``rep_dim``.

    No layer has a bias or a learnt shift, which Ruff et al. (2018, Prop. 2) require: with one, the
    network can map every input to the centre by zeroing its weights (a collapse that says nothing about
    the data).
    """

    def __init__(self, in_channels, image_size, width, rep_dim, n_blocks):
        super().__init__()
        layers, c = [], in_channels
        for i in range(n_blocks):
            out = width * 2**i
            layers += [
                nn.Conv2d(c, out, 3, padding=1, bias=False),
                nn.BatchNorm2d(out, eps=1e-4, affine=False),
                nn.LeakyReLU(0.1),
                nn.MaxPool2d(2),
            ]
            c = out
        self.features = nn.Sequential(*layers)
        self.map_shape = (c, image_size[0] >> n_blocks, image_size[1] >> n_blocks)
        self.fc = nn.Linear(int(np.prod(self.map_shape)), rep_dim, bias=False)

    def forward(self, x):
        return self.fc(self.features(x).flatten(1))


class _Decoder(nn.Module):
    """Mirror of :class:`_Encoder` (bias-free too) for the optional autoencoder pre-training."""

    def __init__(self, out_channels, image_size, map_shape, rep_dim, n_blocks):
        super().__init__()
        self.map_shape = map_shape
        self.image_size = tuple(image_size)
        self.fc = nn.Linear(rep_dim, int(np.prod(map_shape)), bias=False)
        layers, c = [], map_shape[0]
        for _ in range(n_blocks):
            out = max(c // 2, 1)
            layers += [
                nn.Upsample(scale_factor=2),
                nn.Conv2d(c, out, 3, padding=1, bias=False),
                nn.BatchNorm2d(out, eps=1e-4, affine=False),
                nn.LeakyReLU(0.1),
            ]
            c = out
        self.blocks = nn.Sequential(*layers)
        self.out = nn.Conv2d(c, out_channels, 3, padding=1, bias=False)

    def forward(self, z):
        x = self.blocks(self.fc(z).view(-1, *self.map_shape))
        if tuple(x.shape[2:]) != self.image_size:
            # Odd sizes lose a row or column in pooling; put it back before the last convolution.
            x = nn.functional.interpolate(x, size=self.image_size, mode="nearest")
        return self.out(x)


def _batches(n, batch_size, generator=None):
    """Index batches over ``n`` samples (shuffled when ``generator`` is given); a last batch of one
    sample joins the previous one, since batch normalisation cannot train on a single sample."""
    order = torch.randperm(n, generator=generator) if generator is not None else torch.arange(n)
    starts = list(range(0, n, batch_size))
    if len(starts) > 1 and n - starts[-1] == 1:
        starts.pop()
    bounds = starts[1:] + [n]
    return [order[s:e] for s, e in zip(starts, bounds, strict=True)]


@torch.no_grad()
def _encode(encoder, normalizer, X, batch_size, device, n_features):
    """``encoder(normalizer(x))`` of the images, flattened per image, float32 on the host, a batch at a time
    (only a batch of ``X`` is ever on the device)."""
    out = []
    for start in range(0, len(X), batch_size):
        x = torch.from_numpy(X[start : start + batch_size]).to(device)
        out.append(encoder(normalizer(x)).flatten(1).float().cpu())
    return torch.cat(out).numpy() if out else np.zeros((0, n_features), np.float32)


class DeepSVDD(RandomStateMixin, ThreadsMixin, OutlierMixin, BaseEstimator):
    """One-class Deep SVDD for images: a CNN maps normal images close to a centre; far means anomalous.

    The one-class objective of Ruff et al. (2018): an encoder :math:`\\phi` without bias terms is trained
    to minimise the mean squared distance :math:`\\|\\phi(x) - c\\|^2` of the training images to a centre
    :math:`c` fixed before training as the mean embedding of the training images (coordinates within
    ``eps`` of zero are pushed to ``+-eps``, as in the paper's code, so that a zero network is not the
    trivial solution). Weight decay is the paper's regulariser. The encoder is ``n_blocks`` blocks of
    (3x3 convolution, batch normalisation without affine parameters, leaky ReLU, 2x2 max pooling) and a
    linear map to ``rep_dim``, none with a bias.

    Fit it on images of the normal class only. It follows scikit-learn's outlier-detector API:
    :meth:`score_samples` is the negated squared distance (higher is more normal), :meth:`decision_function`
    is that minus ``offset_`` (positive for inliers), and :meth:`predict` gives +1 for inliers and -1 for
    outliers. ``offset_`` is set so that a fraction ``contamination`` of the training images are outliers.

    Images are converted and standardised per batch on the device, with per-channel statistics learnt in
    ``fit`` (the normaliser of :class:`~imbsk.CNNClassifier`), so uint8 images are never copied as floats.

    Parameters
    ----------
    width : int, default=16
        Channels of the first convolution; each further block doubles them.
    rep_dim : int, default=32
        Dimension of the embedding (the output of the encoder).
    n_blocks : int or "auto", default="auto"
        Number of conv blocks, each halving the image size. ``"auto"``: as many as keep the last feature
        map at least 2x2, at most 3 (8x8 images: 2 blocks; 16x16 and larger: 3). Images must be at least
        ``2 ** n_blocks`` pixels on each side.
    epochs : int, default=30
        Training epochs of the one-class objective. ``0`` keeps the randomly initialised encoder (its batch
        normalisation statistics set on the training images): random conv features, a weak baseline.
    pretrain_epochs : int, default=0
        Epochs of autoencoder pre-training (the paper's initialisation: a bias-free decoder mirrors the
        encoder, trained on the squared reconstruction error, then discarded). ``0`` skips it and starts
        from PyTorch's default (Kaiming-uniform) initialisation; ``pretrain_epochs=epochs`` doubles the cost.
    lr : float, default=1e-3
        Learning rate of Adam (both stages).
    weight_decay : float, default=1e-6
        Weight decay of Adam, the paper's weight regulariser.
    batch_size : int, default=128
        Images per training and scoring batch.
    eps : float, default=0.1
        Centre coordinates with absolute value below ``eps`` are set to ``+-eps``.
    contamination : float, default=0.1
        Expected fraction of outliers in the training images, in (0, 0.5]; sets ``offset_``, the score
        percentile below which :meth:`predict` says -1.
    normalize : bool, default=True
        Standardise each channel with the mean and standard deviation of the training images.
    device : str, default="auto"
        ``"auto"`` (CUDA when available), ``"cpu"``, ``"cuda"`` or ``"cuda:<index>"``.
    random_state : int, RandomState instance or None, default=None
        Seeds initialisation and batch order; the same seed gives the same scores on the same device.
        torch's global generator is restored after ``fit``.
    n_threads : int or None, default=None
        torch's CPU thread count inside ``fit`` and scoring (restored afterwards); ``None`` leaves it.

    Attributes
    ----------
    encoder_ : torch.nn.Module
        The trained encoder, in evaluation mode, on ``device_``.
    normalizer_ : Normalizer
        The input converter learnt in ``fit``.
    center_ : ndarray of shape (rep_dim,)
        The centre :math:`c`.
    offset_ : float
        ``decision_function = score_samples - offset_``.
    loss_history_ : list of float
        Mean training loss per epoch of the one-class objective.
    pretrain_loss_history_ : list of float
        Mean reconstruction loss per pre-training epoch (empty without pre-training).
    n_blocks_ : int
        The number of conv blocks used.
    input_shape_ : tuple of int
        ``(channels, height, width)`` of the training images.
    device_ : str
        The device the encoder was trained on.

    See Also
    --------
    CNNFeatures : The encoder's embeddings as features for scikit-learn's detectors.
    DetectorClassifier : A binary classifier from a detector fitted on the normal class.

    Notes
    -----
    The collapse the paper warns about is not fully ruled out by the architecture: with too many epochs
    or a large learning rate, the encoder can map everything (normal or not) close to the centre. The
    ``loss_history_`` dropping to near zero is the sign; fewer epochs or more weight decay help.

    References
    ----------
    .. [1] L. Ruff, R. Vandermeulen, N. Goernitz, L. Deecke, S. A. Siddiqui, A. Binder, E. Mueller and
       M. Kloft, "Deep One-Class Classification", ICML 2018, PMLR 80:4393-4402.

    Examples
    --------
    >>> import numpy as np
    >>> from imbsk.novelty import DeepSVDD
    >>> rng = np.random.default_rng(0)
    >>> X = rng.integers(0, 100, size=(64, 1, 8, 8), dtype=np.uint8)
    >>> det = DeepSVDD(width=4, rep_dim=8, epochs=2, random_state=0).fit(X)
    >>> det.predict(X).shape
    (64,)
    """

    _parameter_constraints: dict = {
        "width": [Interval(numbers.Integral, 1, None, closed="left")],
        "rep_dim": [Interval(numbers.Integral, 1, None, closed="left")],
        "n_blocks": [Interval(numbers.Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "epochs": [Interval(numbers.Integral, 0, None, closed="left")],
        "pretrain_epochs": [Interval(numbers.Integral, 0, None, closed="left")],
        "lr": [Interval(numbers.Real, 0, None, closed="neither")],
        "weight_decay": [Interval(numbers.Real, 0, None, closed="left")],
        "batch_size": [Interval(numbers.Integral, 1, None, closed="left")],
        "eps": [Interval(numbers.Real, 0, None, closed="left")],
        "contamination": [Interval(numbers.Real, 0, 0.5, closed="right")],
        "normalize": ["boolean"],
        "device": [str, torch.device],
        "random_state": ["random_state"],
        "n_threads": [Interval(numbers.Integral, 1, None, closed="left"), None],
    }

    def __init__(
        self,
        *,
        width=16,
        rep_dim=32,
        n_blocks="auto",
        epochs=30,
        pretrain_epochs=0,
        lr=1e-3,
        weight_decay=1e-6,
        batch_size=128,
        eps=0.1,
        contamination=0.1,
        normalize=True,
        device="auto",
        random_state=None,
        n_threads=None,
    ):
        self.width = width
        self.rep_dim = rep_dim
        self.n_blocks = n_blocks
        self.epochs = epochs
        self.pretrain_epochs = pretrain_epochs
        self.lr = lr
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.eps = eps
        self.contamination = contamination
        self.normalize = normalize
        self.device = device
        self.random_state = random_state
        self.n_threads = n_threads

    def _resolve_n_blocks(self, height, width):
        side = min(height, width)
        if self.n_blocks == "auto":
            if side < 4:
                raise ValueError(
                    f"DeepSVDD needs images of at least 4x4 pixels; got {height}x{width}. Up-sample the images "
                    "(for example with np.kron) or use a detector on flat features."
                )
            return min(_MAX_AUTO_BLOCKS, int(np.log2(side)) - 1)
        if side < 2**self.n_blocks:
            raise ValueError(
                f"n_blocks={self.n_blocks} halves the images {self.n_blocks} times, which needs at least "
                f"{2 ** self.n_blocks}x{2 ** self.n_blocks} pixels; got {height}x{width} images. Use "
                f"n_blocks <= {max(int(np.log2(side)), 0)} or n_blocks='auto'."
            )
        return int(self.n_blocks)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Train the encoder on normal images.

        Parameters
        ----------
        X : array-like of shape (n_samples, channels, height, width)
            Images of the normal class only, uint8 or float.
        y : None or array-like of shape (n_samples,)
            Ignored. A ``y`` holding more than one class is refused: the detector would silently learn
            both classes as normal.

        Returns
        -------
        self : DeepSVDD
        """
        _check_not_bool(self, ("width", "rep_dim", "n_blocks", "epochs", "pretrain_epochs", "lr", "weight_decay",
                               "batch_size", "eps", "contamination", "n_threads"))
        X = _check_images(X, "DeepSVDD")
        _check_one_class_y(y, "DeepSVDD")
        if len(X) < 2:
            raise ValueError(
                f"DeepSVDD needs at least 2 training images (batch normalisation, and a centre to learn); "
                f"got {len(X)}."
            )
        _, channels, height, width = X.shape
        self.n_blocks_ = self._resolve_n_blocks(height, width)
        _learn_input(self, X)
        seed = self._seed()
        with self._threads_scope(), self._rng_scope(seed):
            encoder = _Encoder(channels, (height, width), self.width, self.rep_dim, self.n_blocks_).to(self.device_)
            data = torch.from_numpy(X).to(self.device_)
            generator = torch.Generator().manual_seed(seed) if seed is not None else torch.Generator()
            if seed is None:
                generator.seed()
            self.pretrain_loss_history_ = self._pretrain(encoder, data, generator)
            center = self._init_center(encoder, data)
            self.loss_history_ = self._train(encoder, data, center, generator)
            encoder.eval()
            self.encoder_ = encoder
            self.center_ = center.cpu().numpy()
            scores = self.score_samples(X)
        self.offset_ = float(np.percentile(scores, 100.0 * self.contamination))
        return self

    def _pretrain(self, encoder, data, generator):
        if self.pretrain_epochs == 0:
            return []
        decoder = _Decoder(
            encoder.features[0].in_channels, data.shape[2:], encoder.map_shape, self.rep_dim, self.n_blocks_
        ).to(self.device_)
        decoder.train()

        def reconstruction_error(x):
            return torch.mean((decoder(encoder(x)) - x) ** 2)

        params = list(encoder.parameters()) + list(decoder.parameters())
        return self._run_epochs(encoder, params, data, generator, self.pretrain_epochs, reconstruction_error)

    @torch.no_grad()
    def _init_center(self, encoder, data):
        # One pass in training mode with a cumulative average sets the batch-norm statistics to those of
        # the whole training set; the centre is then the mean embedding as scoring will compute it.
        bns = [m for m in encoder.modules() if isinstance(m, nn.BatchNorm2d)]
        for bn in bns:
            bn.reset_running_stats()
            bn.momentum = None
        encoder.train()
        for idx in _batches(len(data), self.batch_size):
            encoder(self.normalizer_(data[idx.to(data.device)]))
        for bn in bns:
            bn.momentum = 0.1
        encoder.eval()
        center = torch.zeros(self.rep_dim, device=data.device)
        for idx in _batches(len(data), self.batch_size):
            center += encoder(self.normalizer_(data[idx.to(data.device)])).sum(0)
        center /= len(data)
        # The paper's fix: a coordinate near zero can be reached by zero weights, a trivial solution.
        small = center.abs() < self.eps
        center[small & (center < 0)] = -self.eps
        center[small & (center >= 0)] = self.eps
        return center

    def _train(self, encoder, data, center, generator):
        def squared_distance(x):
            return torch.mean(torch.sum((encoder(x) - center) ** 2, dim=1))

        return self._run_epochs(encoder, list(encoder.parameters()), data, generator, self.epochs, squared_distance)

    def _run_epochs(self, encoder, params, data, generator, epochs, loss_fn):
        """``epochs`` passes of Adam over shuffled normalised batches; the mean loss of each epoch."""
        if epochs == 0:
            return []
        optimizer = torch.optim.Adam(params, lr=self.lr, weight_decay=self.weight_decay)
        encoder.train()
        history = []
        for _ in range(epochs):
            total = torch.zeros((), device=data.device)
            for idx in _batches(len(data), self.batch_size, generator):
                loss = loss_fn(self.normalizer_(data[idx.to(data.device)]))
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                total += loss.detach() * len(idx)
            # One device sync an epoch, not one a batch.
            history.append(float(total) / len(data))
        return history

    def _check_X(self, X):
        check_is_fitted(self, "encoder_")
        return _check_images(X, type(self).__name__, self.input_shape_, self.input_range_)

    def _embed(self, X):
        with self._threads_scope():
            return _encode(self.encoder_, self.normalizer_, X, self.batch_size, self.device_, self.rep_dim)

    def embed(self, X):
        """Embeddings :math:`\\phi(x)` of the images.

        Parameters
        ----------
        X : array-like of shape (n_samples, channels, height, width)

        Returns
        -------
        Z : ndarray of shape (n_samples, rep_dim), float32
        """
        return self._embed(self._check_X(X))

    def score_samples(self, X):
        """Negated squared distance to the centre: the higher, the more normal.

        Parameters
        ----------
        X : array-like of shape (n_samples, channels, height, width)

        Returns
        -------
        scores : ndarray of shape (n_samples,)
        """
        Z = self.embed(X).astype(np.float64)
        return -np.sum((Z - self.center_) ** 2, axis=1)

    def decision_function(self, X):
        """``score_samples(X) - offset_``: positive for inliers, negative for outliers.

        Parameters
        ----------
        X : array-like of shape (n_samples, channels, height, width)

        Returns
        -------
        scores : ndarray of shape (n_samples,)
        """
        return self.score_samples(X) - self.offset_

    def predict(self, X):
        """+1 for inliers (normal images), -1 for outliers.

        Parameters
        ----------
        X : array-like of shape (n_samples, channels, height, width)

        Returns
        -------
        labels : ndarray of shape (n_samples,) with values in {-1, 1}
        """
        return np.where(self.decision_function(X) < 0, -1, 1)

    def __getstate__(self):
        state = super().__getstate__()
        # Weights travel on the CPU, so a pickle made on a GPU machine loads anywhere (and scores there).
        if "encoder_" in state and str(state.get("device_", "cpu")) != "cpu":
            state["encoder_"] = copy.deepcopy(self.encoder_).cpu()
            state["normalizer_"] = copy.deepcopy(self.normalizer_).cpu()
            state["device_"] = "cpu"
        return state


class CNNFeatures(TransformerMixin, BaseEstimator):
    """Images to embeddings, for scikit-learn's detectors (``OneClassSVM``, ``IsolationForest``, LOF).

    A transformer: :meth:`transform` returns one feature vector per image, so that a pipeline such as
    ``make_pipeline(CNNFeatures(), StandardScaler(), OneClassSVM())`` is a novelty detector on images.

    Which features make sense without any image of the rare class? Two kinds do:

    * an encoder trained on the normal class only, the default (``encoder="deep_svdd"``: a
      :class:`DeepSVDD` fitted on the images given to ``fit``, whose embeddings concentrate what is typical
      of the normal class, so that the detector's boundary is drawn where the normal images actually lie);
    * ``encoder="random"``: the same encoder, untrained (``DeepSVDD(epochs=0)``): random convolutions
      with batch-normalisation statistics of the training images. A weak but honest baseline -- it
      captures brightness, colour and coarse texture, not shape.

    A network trained with labels of the rare class (a fitted :class:`~imbsk.CNNClassifier`'s
    ``module_.features``) can be passed as a module too, but then the rare class was seen in training and
    the comparison with a one-class method is no longer fair.

    Parameters
    ----------
    encoder : "deep_svdd", "random", DeepSVDD or torch.nn.Module, default="deep_svdd"
        ``"deep_svdd"``: ``DeepSVDD(random_state=random_state, device=device, n_threads=n_threads)``,
        fitted in ``fit``. ``"random"``: the same with ``epochs=0``. A :class:`DeepSVDD` instance: cloned
        and fitted in ``fit`` (or, with ``prefit=True``, used as it is). A ``torch.nn.Module`` (for
        example ``imbsk.models.SimpleCNN(in_channels=1).features``): a copy is used as it is, never
        trained; ``fit`` only learns the input statistics; its output is flattened per image.
    prefit : bool, default=False
        With a fitted :class:`DeepSVDD` as ``encoder``: use it without refitting.
    normalize : bool, default=True
        For a ``torch.nn.Module`` encoder: standardise each channel with the training images' statistics.
    batch_size : int, default=256
        Images per batch when embedding with a ``torch.nn.Module`` encoder.
    device : str, default="auto"
        Device of a built or ``torch.nn.Module`` encoder.
    random_state : int, RandomState instance or None, default=None
        Seed of a built encoder.
    n_threads : int or None, default=None
        torch's CPU thread count of a built encoder.

    Attributes
    ----------
    encoder_ : DeepSVDD or torch.nn.Module
        The fitted detector whose embeddings are returned, or the copied module.
    n_features_out_ : int
        Length of each feature vector.

    See Also
    --------
    DeepSVDD : The encoder trained on the normal class.

    References
    ----------
    .. [1] L. Ruff et al., "Deep One-Class Classification", ICML 2018 (Deep SVDD features with a
       one-class SVM or isolation forest on top are among its baselines' variants).
    .. [2] B. Schoelkopf, J. C. Platt, J. Shawe-Taylor, A. J. Smola and R. C. Williamson, "Estimating the
       support of a high-dimensional distribution", Neural Computation 13(7), 2001.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.svm import OneClassSVM
    >>> from imbsk.novelty import CNNFeatures
    >>> rng = np.random.default_rng(0)
    >>> X = rng.integers(0, 100, size=(64, 1, 8, 8), dtype=np.uint8)
    >>> pipe = make_pipeline(CNNFeatures("random", random_state=0), OneClassSVM(nu=0.1)).fit(X)
    >>> sorted(set(pipe.predict(X).tolist()))
    [-1, 1]
    """

    _parameter_constraints: dict = {
        "encoder": [StrOptions({"deep_svdd", "random"}), DeepSVDD, nn.Module],
        "prefit": ["boolean"],
        "normalize": ["boolean"],
        "batch_size": [Interval(numbers.Integral, 1, None, closed="left")],
        "device": [str, torch.device],
        "random_state": ["random_state"],
        "n_threads": [Interval(numbers.Integral, 1, None, closed="left"), None],
    }

    def __init__(
        self,
        encoder="deep_svdd",
        *,
        prefit=False,
        normalize=True,
        batch_size=256,
        device="auto",
        random_state=None,
        n_threads=None,
    ):
        self.encoder = encoder
        self.prefit = prefit
        self.normalize = normalize
        self.batch_size = batch_size
        self.device = device
        self.random_state = random_state
        self.n_threads = n_threads

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y=None):
        """Fit (or take) the encoder on the training images.

        Parameters
        ----------
        X : array-like of shape (n_samples, channels, height, width)
            Images of the normal class only.
        y : None or array-like
            Ignored: the encoder learns from every image given, whatever its label. In a one-class
            pipeline these are the normal images only.

        Returns
        -------
        self : CNNFeatures
        """
        _check_not_bool(self, ("batch_size", "n_threads"))
        enc = self.encoder
        if isinstance(enc, nn.Module):
            X = _check_images(X, "CNNFeatures")
            _learn_input(self, X)
            self.encoder_ = copy.deepcopy(enc).to(self.device_).eval()
            try:
                out = self._module_features(X[:2])
            except (RuntimeError, ValueError, IndexError) as exc:
                raise ValueError(
                    f"encoder={type(enc).__name__} cannot take images of shape {self.input_shape_}: {exc}. Use "
                    "larger images or a module built for this input size."
                ) from None
            self.n_features_out_ = out.shape[1]
            return self
        if isinstance(enc, DeepSVDD):
            if self.prefit:
                check_is_fitted(enc, "encoder_", msg="encoder is an unfitted DeepSVDD but prefit=True; fit it first "
                                "or set prefit=False.")
                self.encoder_ = enc
            else:
                self.encoder_ = clone(enc).fit(X)
        else:
            params = {"random_state": self.random_state, "device": self.device, "n_threads": self.n_threads}
            if enc == "random":
                params["epochs"] = 0
            self.encoder_ = DeepSVDD(**params).fit(X)
        self.n_features_out_ = self.encoder_.rep_dim
        return self

    def _module_features(self, X):
        n_features = getattr(self, "n_features_out_", 0)
        return _encode(self.encoder_, self.normalizer_, X, self.batch_size, self.device_, n_features)

    def transform(self, X):
        """Embed the images.

        Parameters
        ----------
        X : array-like of shape (n_samples, channels, height, width)

        Returns
        -------
        Z : ndarray of shape (n_samples, n_features_out), float32
            ``n_features_out`` is ``n_features_out_``.
        """
        check_is_fitted(self, "encoder_")
        if isinstance(self.encoder_, DeepSVDD):
            return self.encoder_.embed(X)
        X = _check_images(X, "CNNFeatures", self.input_shape_, self.input_range_)
        return self._module_features(X)

    def get_feature_names_out(self, input_features=None):
        """Names ``cnnfeatures0``, ``cnnfeatures1``, ... of the output features.

        Parameters
        ----------
        input_features : None
            Ignored.

        Returns
        -------
        names : ndarray of str
        """
        check_is_fitted(self, "encoder_")
        return np.asarray([f"cnnfeatures{i}" for i in range(self.n_features_out_)], dtype=object)


def _check_samples(X):
    """Finite samples of any dimension >= 2 (tables or images), dtype kept, for a detector to check further."""
    X = check_array(X, allow_nd=True, ensure_2d=False, dtype=None, ensure_all_finite=True, input_name="X")
    if X.ndim < 2:
        raise ValueError(
            f"X must hold one sample per row, 2-D (n_samples, n_features) or 4-D images; got a {X.ndim}-D array "
            f"of shape {X.shape}. Reshape your data, with X.reshape(-1, 1) for a single feature."
        )
    return X


class _PrefitDetector(ClassifierMixin, BaseEstimator):
    """A fitted detector seen as a fitted binary classifier, for scikit-learn's threshold tuning.

    ``decision_function`` follows the binary convention of scikit-learn (high means ``classes_[1]``):
    the detector's own score when the normal class is ``classes_[1]``, its negation otherwise.
    """

    def __init__(self, detector_, classes_, normal_class_):
        self.detector_ = detector_
        self.classes_ = classes_
        self.normal_class_ = normal_class_

    def fit(self, X, y):  # pragma: no cover - only ever used with cv="prefit"
        raise NotImplementedError

    def decision_function(self, X):
        scores = np.asarray(self.detector_.decision_function(X), dtype=np.float64)
        return _normal_sign(self.classes_, self.normal_class_) * scores

    def predict(self, X):
        return self.classes_[(self.decision_function(X) > 0).astype(int)]


class DetectorClassifier(ClassifierMixin, BaseEstimator):
    """A binary classifier from an outlier detector fitted on the normal class only.

    ``fit(X, y)`` fits ``detector`` on samples of ``normal_class``; samples it scores as inliers are
    predicted as ``normal_class``, the others as the other class. The rare class is used only to choose
    the threshold on the detector's ``decision_function``. With ``threshold="auto"`` (the default), a
    fraction ``validation_fraction`` of the normal samples is held out from the detector's training; the
    held-out normal samples and *all* the rare ones are scored, and scikit-learn's
    :class:`~sklearn.model_selection.TunedThresholdClassifierCV` picks the threshold that maximises their
    balanced accuracy.

    Why a held-out part of the normal class and not k-fold cross-validation with a refit on all the data?
    The rare samples never train the detector, so each can score the threshold without a split of its
    own; only the normal samples need holding out. And a detector's scores drift with the size of its
    training set (a Deep SVDD trained on more images sits tighter around its centre; a one-class SVM's
    margin moves with ``nu`` times the sample count), so a threshold tuned on fold detectors does not carry
    over to a detector refitted on all the data: on the tests' striped images it sent every sample to one
    class. The detector scored on the held-out samples is therefore the final one.

    It has ``classes_``, :meth:`decision_function` (positive means ``classes_[1]``, as for scikit-learn's
    binary classifiers) and :meth:`predict`, so ``roc_auc``, average precision and
    :data:`imbsk.metrics.BALANCED_SCORING` work in ``cross_val_score`` and ``GridSearchCV``. It has no
    ``predict_proba``: a detector's score is not a probability.

    Parameters
    ----------
    detector : outlier detector
        An estimator with ``fit(X)`` and ``decision_function`` whose high values mean normal:
        :class:`DeepSVDD`, scikit-learn's ``OneClassSVM``, ``IsolationForest``,
        ``LocalOutlierFactor(novelty=True)``, or a pipeline ending in one (``CNNFeatures`` in front for
        images). Cloned in ``fit``.
    normal_class : label or None, default=None
        The class the detector learns. ``None``: the most frequent class of ``y`` (ties: the label that
        sorts first).
    threshold : "auto" or float, default="auto"
        ``"auto"``: tuned on balanced accuracy as above. A float: a fixed threshold on the detector's own
        ``decision_function`` (``0.0`` is the detector's own boundary, set by its ``contamination`` or
        ``nu``); the detector is then fitted on every normal sample and the rare samples are not used.
    validation_fraction : float, default=0.2
        Fraction of the normal samples held out for tuning the threshold, in (0, 1).
    random_state : int, RandomState instance or None, default=None
        Seed of the held-out split.

    Attributes
    ----------
    classes_ : ndarray of shape (2,)
        The two class labels, sorted.
    normal_class_ : label
        The class the detector was fitted on.
    detector_ : outlier detector
        The fitted detector.
    threshold_ : float
        Threshold on ``detector_.decision_function``: samples at or above it are predicted
        ``normal_class_``.
    tuner_ : TunedThresholdClassifierCV or None
        The fitted tuner (``best_score_`` is the balanced accuracy on the held-out samples at the chosen
        threshold: an optimistic estimate, since the threshold was chosen on them), or None for a fixed
        threshold.
    validation_indices_ : ndarray or None
        Indices (into the ``X`` of ``fit``) of the samples the threshold was tuned on.

    See Also
    --------
    sklearn.model_selection.TunedThresholdClassifierCV : The threshold tuning used here.
    DeepSVDD : A detector for images.

    References
    ----------
    .. [1] L. Ruff et al., "Deep One-Class Classification", ICML 2018.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.ensemble import IsolationForest
    >>> from imbsk.novelty import DetectorClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = np.vstack([rng.normal(0, 1, (200, 2)), rng.normal(4, 1, (20, 2))])
    >>> y = np.r_[np.zeros(200, int), np.ones(20, int)]
    >>> clf = DetectorClassifier(IsolationForest(random_state=0), random_state=0).fit(X, y)
    >>> int(clf.normal_class_), clf.predict(X[[0, 1, 210]]).tolist()
    (0, [0, 0, 1])
    """

    _parameter_constraints: dict = {
        "detector": [object],
        "normal_class": [object, None],
        "threshold": [StrOptions({"auto"}), numbers.Real],
        "validation_fraction": [Interval(numbers.Real, 0, 1, closed="neither")],
        "random_state": ["random_state"],
    }

    def __init__(self, detector, normal_class=None, threshold="auto", validation_fraction=0.2, random_state=None):
        self.detector = detector
        self.normal_class = normal_class
        self.threshold = threshold
        self.validation_fraction = validation_fraction
        self.random_state = random_state

    def _check_detector(self):
        det = self.detector
        if not (hasattr(det, "fit") and hasattr(det, "decision_function") and is_outlier_detector(det)):
            extra = ""
            if type(det).__name__ == "LocalOutlierFactor":
                extra = " LocalOutlierFactor needs novelty=True to score new samples."
            raise ValueError(
                f"detector must be an outlier detector with fit(X) and decision_function (DeepSVDD, OneClassSVM, "
                f"IsolationForest, LocalOutlierFactor(novelty=True), or a pipeline ending in one); got "
                f"{type(det).__name__}.{extra}"
            )

    def _check_y(self, X, y):
        if y is None:
            raise ValueError("DetectorClassifier requires y to be passed, but the target y is None; it needs two "
                             "classes. To fit on normal samples only, use the detector itself.")
        y = column_or_1d(y, warn=True)
        # Before type_of_target, which casts a float y and warns on NaN or infinity instead of naming them.
        y = check_array(y, ensure_2d=False, dtype=None, ensure_all_finite=True, input_name="y")
        if len(y) != len(X):
            raise ValueError(f"X has {len(X)} samples but y has {len(y)}; they must have the same length.")
        kind = type_of_target(y, input_name="y")
        if kind not in ("binary", "multiclass"):
            raise ValueError(f"Unknown label type: {kind}. DetectorClassifier needs class labels, two classes.")
        labels, counts = np.unique(y, return_counts=True)
        if len(labels) != 2:
            raise ValueError(
                f"Only binary classification is supported: DetectorClassifier separates two classes (a normal one "
                f"and a rare one); y holds {len(labels)} "
                f"classes {labels[:10].tolist()}. Merge the rare classes into one label, or fit one "
                "detector per normal class."
            )
        if self.normal_class is None:
            normal = labels[int(np.argmax(counts))]
        elif not np.any(labels == self.normal_class):
            raise ValueError(
                f"normal_class={self.normal_class!r} is not a class of y; the classes are {labels.tolist()}."
            )
        else:
            normal = labels[labels == self.normal_class][0]
        return y, labels, normal

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y):
        """Fit the detector on the normal class and choose the threshold.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
            Samples of both classes (images for an image detector).
        y : array-like of shape (n_samples,)
            Two classes.

        Returns
        -------
        self : DetectorClassifier
        """
        self._check_detector()
        _check_not_bool(self, ("threshold", "validation_fraction"))
        if not isinstance(self.threshold, str) and not np.isfinite(self.threshold):
            raise ValueError(f"threshold must be 'auto' or a finite number; got threshold={self.threshold!r}.")
        X = _check_samples(X)
        y, labels, normal = self._check_y(X, y)
        self.classes_ = labels
        self.normal_class_ = normal
        if X.ndim == 2:
            self.n_features_in_ = X.shape[1]
        normal_idx = np.flatnonzero(y == normal)
        rare_idx = np.flatnonzero(y != normal)
        if isinstance(self.threshold, str):
            n_val = int(round(self.validation_fraction * len(normal_idx)))
            if n_val < 1 or len(normal_idx) - n_val < 2:
                raise ValueError(
                    f"validation_fraction={self.validation_fraction} of {len(normal_idx)} normal samples leaves "
                    f"{n_val} for tuning the threshold and {len(normal_idx) - n_val} for the detector; both need "
                    "samples (at least 1 and 2). Change validation_fraction or give a float threshold."
                )
            rng = check_random_state(self.random_state)
            held = rng.permutation(normal_idx)[:n_val]
            train_idx = np.setdiff1d(normal_idx, held)
            self.validation_indices_ = np.sort(np.concatenate([held, rare_idx]))
            self.detector_ = clone(self.detector).fit(X[train_idx])
            tuner = TunedThresholdClassifierCV(
                _PrefitDetector(self.detector_, labels, normal), scoring="balanced_accuracy",
                response_method="decision_function", cv="prefit", refit=False,
            )
            tuner.fit(X[self.validation_indices_], y[self.validation_indices_])
            # Back from the class-oriented scores of the tuner to the detector's own decision_function.
            self.threshold_ = float(_normal_sign(labels, normal) * tuner.best_threshold_)
            self.tuner_ = tuner
        else:
            self.detector_ = clone(self.detector).fit(X[normal_idx])
            self.threshold_ = float(self.threshold)
            self.tuner_ = None
            self.validation_indices_ = None
        return self

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        return tags

    def _detector_scores(self, X):
        check_is_fitted(self, "detector_")
        X = _check_samples(X)
        n_features = getattr(self, "n_features_in_", None)
        if n_features is not None and (X.ndim != 2 or X.shape[1] != n_features):
            raise ValueError(
                f"X has {X.shape[1] if X.ndim == 2 else X.shape[1:]} features, but DetectorClassifier is expecting "
                f"{n_features} features as input."
            )
        return np.asarray(self.detector_.decision_function(X), dtype=np.float64)

    def decision_function(self, X):
        """Signed distance to the threshold, positive for ``classes_[1]``.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)

        Returns
        -------
        scores : ndarray of shape (n_samples,)
        """
        normality = self._detector_scores(X) - self.threshold_  # first: it checks that the classifier is fitted
        return _normal_sign(self.classes_, self.normal_class_) * normality

    def predict(self, X):
        """``normal_class_`` for samples the detector scores at or above ``threshold_``, else the other class.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
        """
        normal = self._detector_scores(X) >= self.threshold_
        other = self.classes_[self.classes_ != self.normal_class_][0]
        return np.where(normal, self.normal_class_, other)
