"""Generative over-sampling: new samples decoded from an autoencoder's latent space (DeepSMOTE, conditional VAE)."""

import math
import time
import warnings
from numbers import Integral, Real

import numpy as np
import torch
from imblearn.over_sampling import SMOTE
from imblearn.over_sampling.base import BaseOverSampler
from imblearn.utils import Substitution
from imblearn.utils._docstring import _random_state_docstring
from scipy import sparse
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval
from torch import nn
from torch.nn import functional as F

from ..classifier import FewStepsWarning
from ..classifier._mixins import DeviceMixin, RandomStateMixin, ThreadsMixin
from ._base import NDInputMixin, cast_like

__all__ = ["ConditionalVAEOverSampler", "LatentSMOTEOverSampler"]

_MAX_DOWNSAMPLINGS = 3  # 32x32 -> 4x4: enough spatial context for a fully connected bottleneck
_MAX_CHANNELS = 256
_INFER_BATCH = 512
_FEW_STEPS = 100  # fewer training steps than this draw a FewStepsWarning, as in CNNClassifier


def _n_downsamplings(height, width):
    """How many stride-2 stages fit: both sides stay even and at least 2 pixels, at most three."""
    n = 0
    while n < _MAX_DOWNSAMPLINGS and height % 2 == 0 and width % 2 == 0 and min(height, width) >= 4:
        height, width, n = height // 2, width // 2, n + 1
    return n


def _conv_stacks(in_channels, height, width, width_factor):
    """Encoder and decoder convolution layers and the shape of the feature map between them."""
    n_down = _n_downsamplings(height, width)
    channels = [in_channels] + [min(width_factor * 2**i, _MAX_CHANNELS) for i in range(max(n_down, 1))]
    enc, dec = [], []
    if n_down == 0:
        enc += [nn.Conv2d(in_channels, channels[1], 3, padding=1), nn.LeakyReLU(0.2)]
        dec += [nn.Conv2d(channels[1], in_channels, 3, padding=1)]
    else:
        for c_in, c_out in zip(channels[:-1], channels[1:]):
            enc += [nn.Conv2d(c_in, c_out, 4, stride=2, padding=1), nn.LeakyReLU(0.2)]
        for i, (c_out, c_in) in enumerate(reversed(list(zip(channels[:-1], channels[1:])))):
            dec += [nn.ConvTranspose2d(c_in, c_out, 4, stride=2, padding=1)]
            if i < n_down - 1:
                dec.append(nn.LeakyReLU(0.2))
    return enc, dec, (channels[-1], height >> n_down, width >> n_down)


class ConvAutoencoder(nn.Module):
    """A small convolutional autoencoder for ``(C, H, W)`` images scaled to [0, 1].

    Stride-2 convolutions halve the image up to three times (as long as both sides are even), a linear
    layer maps the feature map to ``latent_dim`` numbers, and the decoder mirrors the encoder with
    transposed convolutions and a sigmoid output. Images of sizes that do not halve keep their size and
    pass through one stride-1 convolution instead.

    Parameters
    ----------
    in_channels, height, width : int
        Shape of one image.
    latent_dim : int
        Size of the code.
    width_factor : int
        Channels after the first stage; each further stage doubles them (at most 256).
    """

    def __init__(self, in_channels, height, width, latent_dim, width_factor=32):
        super().__init__()
        enc, dec, self.code_shape = _conv_stacks(in_channels, height, width, width_factor)
        n_code = int(np.prod(self.code_shape))
        self.encoder = nn.Sequential(*enc, nn.Flatten(), nn.Linear(n_code, latent_dim))
        self.decoder = nn.Sequential(
            nn.Linear(latent_dim, n_code), nn.LeakyReLU(0.2), nn.Unflatten(1, self.code_shape), *dec, nn.Sigmoid()
        )

    def forward(self, x):
        return self.decoder(self.encoder(x))


class MLPAutoencoder(nn.Module):
    """A one-hidden-layer autoencoder for tabular rows scaled to [0, 1] feature by feature.

    Parameters
    ----------
    n_features : int
        Length of one row.
    latent_dim : int
        Size of the code.
    hidden : int
        Units of the hidden layer on each side.
    """

    def __init__(self, n_features, latent_dim, hidden=128):
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(n_features, hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, latent_dim))
        self.decoder = nn.Sequential(
            nn.Linear(latent_dim, hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, n_features), nn.Sigmoid()
        )

    def forward(self, x):
        return self.decoder(self.encoder(x))


class ConditionalVAE(nn.Module):
    """A class-conditional variational autoencoder (Sohn et al., 2015) for images or tabular rows in [0, 1].

    The encoder (the convolutions of :class:`ConvAutoencoder`, or one hidden layer for rows) gives the
    mean and log-variance of a Gaussian code from a sample and its one-hot label; the decoder makes a
    sample from a code and a label.

    Parameters
    ----------
    sample_shape : tuple of int
        ``(C, H, W)`` for images, ``(n_features,)`` for rows.
    latent_dim : int
        Size of the code.
    n_classes : int
        Number of labels.
    width_factor : int
        Channels after the first convolution (a quarter of the hidden units for rows).
    """

    def __init__(self, sample_shape, latent_dim, n_classes, width_factor=32):
        super().__init__()
        self.n_classes = n_classes
        if len(sample_shape) == 1:
            hidden = 4 * width_factor
            self.features = nn.Sequential(nn.Linear(sample_shape[0], hidden), nn.LeakyReLU(0.2))
            n_code = hidden
            self.decoder = nn.Sequential(
                nn.Linear(latent_dim + n_classes, hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, sample_shape[0]),
                nn.Sigmoid(),
            )
        else:
            enc, dec, code_shape = _conv_stacks(*sample_shape, width_factor)
            n_code = int(np.prod(code_shape))
            self.features = nn.Sequential(*enc, nn.Flatten())
            self.decoder = nn.Sequential(
                nn.Linear(latent_dim + n_classes, n_code), nn.LeakyReLU(0.2), nn.Unflatten(1, code_shape), *dec,
                nn.Sigmoid(),
            )
        self.to_latent = nn.Linear(n_code + n_classes, 2 * latent_dim)

    def _one_hot(self, labels):
        return F.one_hot(labels, self.n_classes).to(torch.float32)

    def encode(self, x, labels):
        """Mean and log-variance of the code of ``x`` (a batch) with integer ``labels``."""
        mean, log_var = self.to_latent(torch.cat([self.features(x), self._one_hot(labels)], 1)).chunk(2, dim=1)
        # Bounded so that exp() cannot overflow early in training.
        return mean, log_var.clamp(-10.0, 10.0)

    def decode(self, z, labels):
        """Samples decoded from codes ``z`` with integer ``labels``."""
        return self.decoder(torch.cat([z, self._one_hot(labels)], 1))

    def forward(self, x, labels):
        mean, log_var = self.encode(x, labels)
        z = mean + torch.randn_like(mean) * torch.exp(0.5 * log_var)
        return self.decode(z, labels), mean, log_var


def _positive_int(name, value):
    if isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be a positive int, not a bool; got {name}={value!r}.")


def _python_scalar(value):
    return value.item() if isinstance(value, np.generic) else value


class _AutoencoderOverSampler(NDInputMixin, RandomStateMixin, ThreadsMixin, BaseOverSampler):
    """What the generative over-samplers share: input checks, scaling to [0, 1], device, training loop.

    A subclass builds its network (``_build``), gives the loss of one training step (``_step_loss``) and
    makes the new samples of the fitted network (``_generate``).
    """

    _nd_allow_nan = False
    _nd_dtype = "numeric"
    _int_params = ("latent_dim", "epochs", "batch_size", "width", "n_threads")

    _parameter_constraints: dict = {
        **BaseOverSampler._parameter_constraints,
        "latent_dim": [Interval(Integral, 1, None, closed="left")],
        "epochs": [Interval(Integral, 1, None, closed="left")],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "width": [Interval(Integral, 1, None, closed="left")],
        "device": [str, torch.device],
        "n_threads": [Interval(Integral, 1, None, closed="left"), None],
        "random_state": ["random_state"],
    }

    # Only the device lookup of DeviceMixin: the rest of it is skorch's (initialize, load_params, pickling).
    _resolve_device = DeviceMixin._resolve_device

    # ------------------------------------------------------------------ checks
    def _check_params(self, X, y):
        for name in self._int_params:
            _positive_int(name, getattr(self, name))
        n_values = int(np.prod(X.shape[1:]))
        if self.latent_dim > n_values:
            shape = " x ".join(map(str, X.shape[1:]))
            raise ValueError(
                f"latent_dim={self.latent_dim} is larger than one sample ({shape} = {n_values} values); an "
                f"autoencoder compresses, so latent_dim must be at most {n_values} (and is usually far smaller)."
            )
        if X.ndim > 4:
            raise ValueError(
                f"X must be (n_samples, C, H, W) images, (n_samples, H, W) or (n_samples, n_features); got a "
                f"{X.ndim}-D array of shape {X.shape}."
            )
        classes, counts = np.unique(y, return_counts=True)
        return dict(zip(classes.tolist(), counts.tolist()))

    def _check_X_y(self, X, y):
        X, y, binarize_y = super()._check_X_y(X, y)
        if sparse.issparse(X):
            raise TypeError(
                f"{type(self).__name__} needs dense X (images or a dense table); got a sparse matrix. "
                "Convert it with X.toarray(), or use imbalanced-learn's SMOTE, which accepts sparse input."
            )
        self._dtype_ = X.dtype
        self._input_ndim_ = X.ndim
        self._sample_shape_ = X.shape[1:] if X.ndim != 3 else (1,) + X.shape[1:]
        self._latent_dim = self.latent_dim
        return X, y, binarize_y

    # ---------------------------------------------------------------- scaling
    def _scaling(self, X):
        """Lower bound and span that map ``X`` to [0, 1]: per dataset for images, per feature for tables."""
        if X.dtype == np.uint8:
            return np.float32(0.0), np.float32(255.0)
        axis = 0 if X.ndim == 2 else None
        low = np.min(X, axis=axis).astype(np.float64)
        span = np.max(X, axis=axis).astype(np.float64) - low
        span = np.where(span > 0, span, 1.0)
        return low.astype(np.float32), span.astype(np.float32)

    def _to_unit(self, batch):
        """A batch of raw samples (torch, any dtype) -> float32 in [0, 1] on its device."""
        low = torch.as_tensor(self._low, device=batch.device)
        span = torch.as_tensor(self._span, device=batch.device)
        return ((batch.to(torch.float32) - low) / span).clamp_(0.0, 1.0)

    def _from_unit(self, unit):
        """Network outputs in [0, 1] (numpy) -> samples in the fitted ``X``'s dtype and range."""
        return cast_like(unit.astype(np.float64) * self._span + self._low, self._dtype_)

    def _to_device(self, images):
        # Kept in the input dtype where torch has it (uint8 stays 1 byte a pixel on the device).
        if images.dtype in (np.uint8, np.float32, np.float64, np.int16, np.int32, np.int64):
            return torch.from_numpy(np.ascontiguousarray(images)).to(self.device_)
        return torch.from_numpy(images.astype(np.float32)).to(self.device_)

    # ---------------------------------------------------------------- fitting
    def _fit_resample(self, X, y):
        count = self._check_params(X, y)
        random_state = check_random_state(self.random_state)
        images = X[:, None] if X.ndim == 3 else X
        self._low, self._span = self._scaling(images)
        self._classes, labels = np.unique(y, return_inverse=True)
        self.device_ = self._resolve_device()
        seed = int(random_state.randint(np.iinfo(np.int32).max))
        with self._threads_scope(), self._rng_scope(seed):
            module = self._build(images).to(self.device_)
            data = self._to_device(images)
            start = time.perf_counter()
            self.loss_curve_ = self._train(module, data, labels, random_state)
            self.fit_time_ = time.perf_counter() - start
            module.eval()
            self.autoencoder_ = module
            try:
                new_X, new_y = self._generate(data, y, count, random_state)
            finally:
                self.autoencoder_ = module.cpu()
        return np.concatenate([X, self._output_shape(new_X)]), np.concatenate([y, new_y])

    def _train(self, module, data, labels, random_state):
        n = len(data)
        n_steps = self.epochs * math.ceil(n / self.batch_size)
        if n_steps < _FEW_STEPS:
            warnings.warn(
                f"{type(self).__name__}'s autoencoder will take only {n_steps} optimisation steps ({self.epochs} "
                f"epochs of {n} samples at batch_size={self.batch_size}): too few to learn to reconstruct, "
                "so the new samples will be blurred averages of their class. Raise epochs or lower batch_size.",
                FewStepsWarning,
                stacklevel=5,
            )
        optimizer = torch.optim.Adam(module.parameters(), lr=self.lr)
        labels_device = torch.from_numpy(labels).to(data.device)
        by_class = [np.flatnonzero(labels == k) for k in range(len(self._classes))]
        losses = []
        module.train()
        for _ in range(self.epochs):
            order = random_state.permutation(n)
            total = 0.0
            for start in range(0, n, self.batch_size):
                idx = torch.from_numpy(order[start:start + self.batch_size]).to(data.device)
                batch = self._to_unit(data[idx])
                loss = self._step_loss(module, batch, labels_device[idx], data, by_class, random_state)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                total += loss.detach() * len(idx)
            losses.append(float(total) / n)
        return losses

    def _per_class(self, data, y, make, finish=None):
        """New samples and their labels: ``make(klass, n_new)`` for each class to over-sample, in the order of
        ``sampling_strategy_``, joined and passed through ``finish`` (when given)."""
        parts, new_y = [], []
        for klass, n_new in self.sampling_strategy_.items():
            if n_new == 0:
                continue
            parts.append(make(klass, n_new))
            new_y.append(np.full(n_new, klass, dtype=y.dtype))
        if not parts:
            return np.empty((0,) + tuple(data.shape[1:]), dtype=self._dtype_), np.empty(0, dtype=y.dtype)
        new = np.concatenate(parts)
        return (new if finish is None else finish(new)), np.concatenate(new_y)

    # ----------------------------------------------------------------- helpers
    def _check_fitted(self, what):
        if not hasattr(self, "autoencoder_"):
            raise ValueError(f"This {type(self).__name__} is not fitted yet; call fit_resample(X, y) before {what}.")

    def _check_shape(self, images):
        if images.shape[1:] != self._sample_shape_:
            raise ValueError(
                f"X has samples of shape {images.shape[1:]}, but the autoencoder was fitted on samples of shape "
                f"{self._sample_shape_}."
            )

    def _output_shape(self, out):
        return out[:, 0] if self._input_ndim_ == 3 else out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        tags.input_tags.allow_nan = False
        return tags


# Parameter texts the generative over-samplers share, for their docstrings' ``{name}`` fields.
_SHARED_DOCS = {
    "sampling_strategy": BaseOverSampler._sampling_strategy_docstring
    + """

        On any number of classes, :class:`RatioStrategy` gives a ratio (e.g. ``RatioStrategy(0.5)``) or a
        power of the class counts, computed from each fit's own ``y``.""",
    "random_state": _random_state_docstring,
    "width": """width : int, default=32
        Channels of the first convolution (doubled at each halving of the image, at most 256), or a
        quarter of the hidden units for tabular data.""",
    "n_threads": """n_threads : int, default=None
        Torch's number of CPU threads while fitting (restored afterwards); ``None`` leaves it alone.""",
}


@Substitution(**_SHARED_DOCS)
class LatentSMOTEOverSampler(_AutoencoderOverSampler):
    """Over-sample with new images decoded from SMOTE points in a learned latent space (DeepSMOTE).

    SMOTE between raw images averages pixels and gives ghosted double exposures; between the codes of an
    autoencoder it moves along what the encoder learned, and the decoder turns the new point into a
    plausible image. This sampler follows DeepSMOTE (Dablain et al., 2022):

    1. a small convolutional autoencoder is trained on all the images it is given (every class) for
       ``epochs`` epochs with Adam, on the mean squared error of the reconstruction plus
       ``penalty_weight`` times DeepSMOTE's penalty term (below);
    2. every image is encoded; for each class to over-sample, SMOTE (imbalanced-learn's
       :class:`~imblearn.over_sampling.SMOTE`) interpolates between a code and one of its
       ``k_neighbors`` nearest codes of the same class;
    3. the new codes are decoded and appended to the originals, which are returned unchanged.

    The penalty term. In the reference code of DeepSMOTE, each step also draws one class uniformly at
    random, takes up to ``batch_size`` of its images, encodes them without gradient, shuffles the codes
    and the images by the same permutation and adds the decoder's reconstruction error on them. The
    shared permutation cancels out, so what the term does is give every class, the rarest included, an
    equal share of extra decoder training, whatever its frequency in the data; this is what is done
    here. ``penalty_weight=0`` trains a plain autoencoder.

    Input: images ``(n, C, H, W)`` (``(n, H, W)`` is treated as one channel) of any dtype, scaled to
    [0, 1] for the network (uint8 by 255; others by the minimum and maximum of ``X``), and decoded back
    to ``X``'s dtype: integers are rounded and clipped to their range, floats stay within the range of
    ``X``. Tabular ``(n, n_features)`` input gets a one-hidden-layer autoencoder instead (each feature
    scaled by its own range); SMOTE in a learned latent space rather than directly on features is then
    a choice, not a need (imbalanced-learn's SMOTE is there for that).

    Cost: training the autoencoder dominates; it is proportional to ``epochs`` times the number of
    images (all classes) and grows 1.5 to 2 times with the penalty term. On CIFAR-sized images
    (3, 32, 32) the default network trained 10 epochs over 5,500 images in about 90 CPU-seconds on one
    thread (about 600 images a second), far faster on a GPU. Generation itself is one encoder pass over
    ``X`` and one decoder pass over the new samples.

    Parameters
    ----------
    {sampling_strategy}

    latent_dim : int, default=64
        Size of the latent code. At most the number of values of one sample (``C * H * W``).
    epochs : int, default=10
        Passes of the autoencoder's training over all the samples. On small data an epoch is a few
        steps: fewer than 100 steps in all draw a :class:`~imbsk.classifier.FewStepsWarning`.
    lr : float, default=1e-3
        Learning rate of Adam.
    batch_size : int, default=128
        Samples per training step (and the size of the penalty term's one-class batch).
    k_neighbors : int, default=5
        Neighbours, within the class, that SMOTE interpolates towards. A class with ``n <= k_neighbors``
        samples uses ``n - 1`` neighbours (its attribute in ``k_neighbors_``); a class to be over-sampled
        must have at least 2 samples.
    {width}
    penalty_weight : float, default=1.0
        Weight of DeepSMOTE's penalty term (see above); 0 turns it off.
    device : str or torch.device, default="auto"
        Where the autoencoder trains: ``"auto"`` (CUDA when available, else CPU), ``"cpu"``, ``"cuda"``,
        ``"cuda:1"``... The fitted networks are moved back to the CPU afterwards.
    {n_threads}

    {random_state}

        On CUDA, convolutions may pick non-deterministic algorithms, so the output can differ in the
        last bits between runs unless ``torch.use_deterministic_algorithms(True)`` is set.

    Attributes
    ----------
    sampling_strategy_ : dict
        Number of new samples made for each over-sampled class.
    autoencoder_ : torch.nn.Module
        The trained autoencoder (``encoder`` and ``decoder`` sub-modules), on the CPU, in eval mode.
    k_neighbors_ : dict
        Neighbours used by SMOTE for each over-sampled class.
    loss_curve_ : list of float
        Mean training loss (reconstruction plus weighted penalty) of every epoch.
    device_ : str
        The device the autoencoder was trained on.
    fit_time_ : float
        Seconds spent training the autoencoder.
    n_features_in_ : int
        ``X.shape[1]`` (the number of channels for images).

    See Also
    --------
    AugmentedOverSampler : New samples as augmented copies of originals; cheaper, no training.
    RandomOverSampler : Duplicates.
    imblearn.over_sampling.SMOTE : SMOTE on the raw features (2-D data).

    Notes
    -----
    ``encode`` and ``decode`` give access to the fitted autoencoder, for instance to look at
    reconstructions of the rare class before trusting what is generated from it.

    References
    ----------
    .. [1] D. Dablain, B. Krawczyk and N. V. Chawla, "DeepSMOTE: Fusing deep learning and SMOTE for
       imbalanced data", IEEE Transactions on Neural Networks and Learning Systems, 34(9), 2023
       (online 2022). Reference code: https://github.com/dd1github/DeepSMOTE
    .. [2] N. V. Chawla, K. W. Bowyer, L. O. Hall and W. P. Kegelmeyer, "SMOTE: Synthetic minority
       over-sampling technique", Journal of Artificial Intelligence Research, 16, 2002.

    Examples
    --------
    >>> import numpy as np
    >>> from collections import Counter
    >>> from imbsk.sampling import LatentSMOTEOverSampler
    >>> X = np.random.RandomState(0).randint(0, 256, (40, 1, 8, 8)).astype(np.uint8)
    >>> y = np.array([0] * 30 + [1] * 10)
    >>> sampler = LatentSMOTEOverSampler(latent_dim=8, epochs=2, width=4, random_state=0)
    >>> X_res, y_res = sampler.fit_resample(X, y)
    >>> X_res.shape, X_res.dtype, sorted(Counter(y_res.tolist()).items())
    ((60, 1, 8, 8), dtype('uint8'), [(0, 30), (1, 30)])
    """

    _int_params = _AutoencoderOverSampler._int_params + ("k_neighbors",)

    _parameter_constraints: dict = {
        **_AutoencoderOverSampler._parameter_constraints,
        "k_neighbors": [Interval(Integral, 1, None, closed="left")],
        "penalty_weight": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(
        self,
        *,
        sampling_strategy="auto",
        latent_dim=64,
        epochs=10,
        lr=1e-3,
        batch_size=128,
        k_neighbors=5,
        width=32,
        penalty_weight=1.0,
        device="auto",
        n_threads=None,
        random_state=None,
    ):
        super().__init__(sampling_strategy=sampling_strategy)
        self.latent_dim = latent_dim
        self.epochs = epochs
        self.lr = lr
        self.batch_size = batch_size
        self.k_neighbors = k_neighbors
        self.width = width
        self.penalty_weight = penalty_weight
        self.device = device
        self.n_threads = n_threads
        self.random_state = random_state

    def _check_params(self, X, y):
        count = super()._check_params(X, y)
        for klass, n_new in self.sampling_strategy_.items():
            klass = _python_scalar(klass)
            if n_new > 0 and count.get(klass, 0) < 2:
                raise ValueError(
                    f"Class {klass!r} has {count.get(klass, 0)} sample(s) but is to be over-sampled with "
                    f"{n_new} new ones; latent SMOTE interpolates between two samples of a class and needs at "
                    "least 2. Leave the class out of sampling_strategy (a dict naming the classes to "
                    "over-sample), or use RandomOverSampler / AugmentedOverSampler for it."
                )
        return count

    def _build(self, images):
        if images.ndim == 2:
            return MLPAutoencoder(images.shape[1], self.latent_dim, hidden=4 * self.width)
        c, h, w = images.shape[1:]
        return ConvAutoencoder(c, h, w, self.latent_dim, width_factor=self.width)

    def _step_loss(self, module, batch, labels, data, by_class, random_state):
        loss = F.mse_loss(module(batch), batch)
        if self.penalty_weight > 0:
            loss = loss + self.penalty_weight * self._penalty(module, data, by_class, random_state)
        return loss

    def _penalty(self, module, data, by_class, random_state):
        """Reconstruction error, through the decoder only, on up to a batch of one uniformly drawn class."""
        members = by_class[random_state.randint(len(by_class))]
        pick = random_state.choice(members, size=min(len(members), self.batch_size), replace=False)
        images = self._to_unit(data[torch.from_numpy(pick).to(data.device)])
        with torch.no_grad():
            codes = module.encoder(images)
        return F.mse_loss(module.decoder(codes), images)

    def _generate(self, data, y, count, random_state):
        codes = self._encode_tensor(data)
        if not np.isfinite(codes).all():
            raise ValueError(
                f"The autoencoder's training diverged with lr={self.lr!r} (last epoch's loss "
                f"{self.loss_curve_[-1]:.4g}; some latent codes are not finite): lower lr."
            )
        self.k_neighbors_ = {}

        def smote_codes(klass, n_new):
            k = min(self.k_neighbors, count[klass] - 1)
            self.k_neighbors_[klass] = k
            smote = SMOTE(
                sampling_strategy={klass: count[klass] + n_new}, k_neighbors=k,
                random_state=int(random_state.randint(np.iinfo(np.int32).max)),
            )
            codes_res, _ = smote.fit_resample(codes, y)
            return codes_res[len(codes):]

        return self._per_class(data, y, smote_codes, finish=self._decode_array)

    @torch.no_grad()
    def _encode_tensor(self, data):
        module = self.autoencoder_
        out = [
            module.encoder(self._to_unit(data[i:i + _INFER_BATCH])).cpu()
            for i in range(0, len(data), _INFER_BATCH)
        ]
        return torch.cat(out).double().numpy()

    @torch.no_grad()
    def _decode_array(self, codes):
        module = self.autoencoder_
        device = next(module.parameters()).device
        parts = []
        for i in range(0, len(codes), _INFER_BATCH):
            z = torch.as_tensor(codes[i:i + _INFER_BATCH], dtype=torch.float32, device=device)
            parts.append(module.decoder(z).cpu().numpy())
        return self._from_unit(np.concatenate(parts))

    def encode(self, X):
        """Latent codes of ``X`` under the fitted autoencoder.

        Parameters
        ----------
        X : ndarray of shape (n_samples, ...)
            Samples shaped like those given to ``fit_resample``.

        Returns
        -------
        codes : ndarray of shape (n_samples, latent_dim)
        """
        self._check_fitted("encode")
        images = np.asarray(X)
        images = images[:, None] if images.ndim == 3 else images
        self._check_shape(images)
        data = torch.from_numpy(np.ascontiguousarray(images).astype(np.float32, copy=False))
        return self._encode_tensor(data)

    def decode(self, codes):
        """Samples decoded from latent ``codes``, in the dtype and value range of the fitted ``X``.

        Parameters
        ----------
        codes : array-like of shape (n_codes, latent_dim)

        Returns
        -------
        X : ndarray of shape (n_codes, ...)
        """
        self._check_fitted("decode")
        codes = np.asarray(codes, dtype=np.float64)
        if codes.ndim != 2 or codes.shape[1] != self._latent_dim:
            raise ValueError(f"codes must have shape (n_codes, {self._latent_dim}); got {codes.shape}.")
        return self._output_shape(self._decode_array(codes))


@Substitution(**_SHARED_DOCS)
class ConditionalVAEOverSampler(_AutoencoderOverSampler):
    """Over-sample with new images drawn from a class-conditional variational autoencoder.

    A conditional VAE (Sohn et al., 2015; Kingma and Welling, 2014) is trained on all the samples it
    is given, every class, with the label as an input of both encoder and decoder; new samples of a class
    are the decoder's output for codes drawn from the prior, a standard normal, with that class's label.
    Unlike :class:`LatentSMOTEOverSampler` it does not interpolate between given rare images, so a class
    with a single sample can be over-sampled; but the decoder learns what a label means from that label's
    samples only, so with a handful of them the new samples are close to the class average.

    Training minimises, per sample, the binary cross-entropy of the reconstruction summed over the
    values (images scaled to [0, 1] as in :class:`LatentSMOTEOverSampler`) plus ``beta`` times the
    Kullback-Leibler divergence of the code's distribution from the prior (Higgins et al., 2017, for
    ``beta != 1``), with Adam. The network is :class:`LatentSMOTEOverSampler`'s with the one-hot label
    joined to the flattened features before the code and to the code before the decoder; tabular
    ``(n, n_features)`` input gets one hidden layer on each side. uint8 in, uint8 out; other dtypes are
    kept and stay within the range of ``X``.

    Parameters
    ----------
    {sampling_strategy}

    latent_dim : int, default=32
        Size of the latent code. At most the number of values of one sample (``C * H * W``).
    epochs : int, default=10
        Passes of the training over all the samples (fewer than 100 steps in all draw a
        :class:`~imbsk.classifier.FewStepsWarning`).
    lr : float, default=1e-3
        Learning rate of Adam.
    batch_size : int, default=128
        Samples per training step.
    beta : float, default=1.0
        Weight of the Kullback-Leibler term: 1 is the VAE's evidence lower bound; smaller values give
        sharper reconstructions and a latent space further from the prior the new codes are drawn from.
    {width}
    device : str or torch.device, default="auto"
        Where the network trains: ``"auto"`` (CUDA when available, else CPU), ``"cpu"``, ``"cuda"``...
        It is moved back to the CPU afterwards.
    {n_threads}

    {random_state}

    Attributes
    ----------
    sampling_strategy_ : dict
        Number of new samples made for each over-sampled class.
    autoencoder_ : ConditionalVAE
        The trained network, on the CPU, in eval mode.
    loss_curve_ : list of float
        Mean training loss of every epoch (per value of a sample).
    device_ : str
        The device the network was trained on.
    fit_time_ : float
        Seconds spent training the network.
    n_features_in_ : int
        ``X.shape[1]`` (the number of channels for images).

    See Also
    --------
    LatentSMOTEOverSampler : New samples between the codes of given rare samples.
    AugmentedOverSampler : Augmented copies; no training.

    References
    ----------
    .. [1] K. Sohn, H. Lee and X. Yan, "Learning structured output representation using deep conditional
       generative models", NeurIPS, 2015.
    .. [2] D. P. Kingma and M. Welling, "Auto-encoding variational Bayes", ICLR, 2014.
    .. [3] I. Higgins et al., "beta-VAE: Learning basic visual concepts with a constrained variational
       framework", ICLR, 2017.

    Examples
    --------
    >>> import numpy as np
    >>> from collections import Counter
    >>> from imbsk.sampling import ConditionalVAEOverSampler
    >>> X = np.random.RandomState(0).randint(0, 256, (40, 1, 8, 8)).astype(np.uint8)
    >>> y = np.array([0] * 30 + [1] * 10)
    >>> sampler = ConditionalVAEOverSampler(latent_dim=4, epochs=2, width=4, random_state=0)
    >>> X_res, y_res = sampler.fit_resample(X, y)
    >>> X_res.shape, X_res.dtype, sorted(Counter(y_res.tolist()).items())
    ((60, 1, 8, 8), dtype('uint8'), [(0, 30), (1, 30)])
    """

    _parameter_constraints: dict = {
        **_AutoencoderOverSampler._parameter_constraints,
        "beta": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(
        self,
        *,
        sampling_strategy="auto",
        latent_dim=32,
        epochs=10,
        lr=1e-3,
        batch_size=128,
        beta=1.0,
        width=32,
        device="auto",
        n_threads=None,
        random_state=None,
    ):
        super().__init__(sampling_strategy=sampling_strategy)
        self.latent_dim = latent_dim
        self.epochs = epochs
        self.lr = lr
        self.batch_size = batch_size
        self.beta = beta
        self.width = width
        self.device = device
        self.n_threads = n_threads
        self.random_state = random_state

    def _build(self, images):
        return ConditionalVAE(images.shape[1:], self.latent_dim, len(self._classes), width_factor=self.width)

    def _step_loss(self, module, batch, labels, data, by_class, random_state):
        out, mean, log_var = module(batch, labels)
        n = len(batch)
        reconstruction = F.binary_cross_entropy(out, batch, reduction="sum") / n
        kl = -0.5 * torch.sum(1 + log_var - mean.pow(2) - log_var.exp()) / n
        return (reconstruction + self.beta * kl) / batch[0].numel()

    def _generate(self, data, y, count, random_state):
        if not np.isfinite(self.loss_curve_[-1]):
            raise ValueError(f"The network's training diverged with lr={self.lr!r} (loss not finite): lower lr.")
        return self._per_class(data, y, lambda klass, n_new: self._sample(n_new, klass, random_state))

    @torch.no_grad()
    def _sample(self, n_samples, klass, random_state):
        module = self.autoencoder_
        device = next(module.parameters()).device
        # Codes drawn on the CPU from random_state, so that the same seed gives the same samples anywhere.
        z = torch.from_numpy(check_random_state(random_state).standard_normal((n_samples, self._latent_dim)))
        label = int(np.flatnonzero(self._classes == klass)[0])
        # An empty list would make np.concatenate fail: sample(0, ...) gives an empty array.
        parts = [np.empty((0,) + tuple(self._sample_shape_), dtype=np.float32)]
        for i in range(0, n_samples, _INFER_BATCH):
            zb = z[i:i + _INFER_BATCH].to(device=device, dtype=torch.float32)
            labels = torch.full((len(zb),), label, dtype=torch.long, device=device)
            parts.append(module.decode(zb, labels).cpu().numpy())
        return self._from_unit(np.concatenate(parts))

    def sample(self, n_samples, klass, random_state=None):
        """New samples of class ``klass`` from the fitted network.

        Parameters
        ----------
        n_samples : int
            How many.
        klass : label
            One of the classes of the ``y`` given to ``fit_resample``.
        random_state : int, RandomState instance or None, default=None
            Draws the codes.

        Returns
        -------
        X : ndarray of shape (n_samples, ...)
            In the dtype and value range of the fitted ``X``.
        """
        self._check_fitted("sample")
        if klass not in self._classes.tolist():
            raise ValueError(f"klass={klass!r} is not one of the fitted classes {self._classes.tolist()}.")
        if isinstance(n_samples, (bool, np.bool_)) or not isinstance(n_samples, Integral) or n_samples < 0:
            raise ValueError(f"n_samples must be a non-negative int; got n_samples={n_samples!r}.")
        return self._output_shape(self._sample(int(n_samples), klass, random_state))
