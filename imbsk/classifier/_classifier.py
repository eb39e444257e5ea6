"""``CNNClassifier``: a scikit-learn classifier that trains a neural network on images (or tables).

The class is a :class:`skorch.NeuralNetClassifier` whose behaviour is changed through skorch's
hooks only (``initialize_*``, ``get_split_datasets``, ``get_iterator``, ``train_step*``,
``validation_step``, ``evaluation_step``, ``infer``, ``get_loss``, ``run_single_epoch``, callbacks).
What it changes, and why:

* sklearn conventions: any labels (strings, ``{3, 7}``) through ``classes_``; ``predict`` returns
  those labels; no internal validation split unless asked for; a criterion on logits;
  ``device="auto"``; validation of every input with errors that name the problem.
* imbalance remedies as plain parameters (losses, balanced batches, deferred re-weighting, post-hoc
  logit adjustment), with all class priors taken from the ``y`` that ``fit`` receives, so each CV
  fold and each resampled set uses its own counts.
* a fast path: the training data is one tensor on the device (uint8 images stay uint8), batches
  are index gathers from it, augmentation and normalisation run on whole batches there, and the
  loop never waits for the device (the loss is accumulated on the device and read once an epoch).
"""

import copy
import inspect
import math
import warnings
from contextlib import contextmanager, nullcontext

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.model_selection import StratifiedShuffleSplit
from skorch import NeuralNetClassifier
from skorch.callbacks import EarlyStopping, EpochTimer, PrintLog
from skorch.utils import TeeGenerator, to_tensor
from torch import nn
from torch.utils.data import Subset

from ..augment import call_augmentation, get_augmentation
from ..batching import DeviceBatchIterator, DeviceDataset
from ..losses import LOSSES, class_weights
from ..models import NormedLinear, get_module_class
from ._build import Normalizer, accepted_kwargs, build, check_kwargs, probe_module
from ._callbacks import DeferredReweighting, DivergenceGuard, EpochProgressBar, LRSchedule
from ._mixins import DeviceMixin, InterruptMixin, MixedPrecisionMixin, RandomStateMixin, ThreadsMixin
from ._params import OPTIMIZERS, PARAMETER_CONSTRAINTS, check_params
from ._validation import (
    check_batch_size,
    check_fit_X,
    check_input_range,
    check_predict_X,
    check_y,
    encode_labels,
    encode_with_classes,
    input_range,
    input_statistics,
)

__all__ = ["CNNClassifier", "FewStepsWarning", "LOSS_NAMES"]

#: Loss names accepted by ``CNNClassifier(loss=...)``: the keys of :data:`imbsk.losses.LOSSES`.
LOSS_NAMES = tuple(LOSSES)

# Fewer optimisation steps than this in a fit draw a FewStepsWarning.
_FEW_STEPS = 100


class FewStepsWarning(UserWarning):
    """A fit is about to take so few optimisation steps that the network can hardly learn."""


# Keyword arguments the classifier fills in from the training data; users cannot override them.
_DATA_KWARGS = ("class_counts",)


class CNNClassifier(
    InterruptMixin, DeviceMixin, RandomStateMixin, ThreadsMixin, MixedPrecisionMixin, NeuralNetClassifier
):
    """Neural-network classifier for (imbalanced) images, with scikit-learn's interface.

    Trains a CNN (or an MLP on tabular data) with PyTorch through skorch, and behaves like any
    scikit-learn classifier: it goes into a ``Pipeline`` (also after an imbalanced-learn sampler),
    ``GridSearchCV``, ``cross_validate`` or ``TunedThresholdClassifierCV``. Every standard
    deep-learning remedy for class imbalance is a plain parameter, and all class priors are taken
    from the ``y`` given to ``fit``.

    Parameters
    ----------
    module : str or torch.nn.Module subclass, default="auto"
        The network: a name of :data:`imbsk.models.MODULES` (``"simple_cnn"``, ``"resnet20"``,
        ``"resnet32"``, ``"resnet56"``, ``"mlp"``), any ``nn.Module`` class, or an instance (trained
        on a copy). ``"auto"`` uses ``"simple_cnn"`` for 4-D and ``"mlp"`` for 2-D ``X``. The keyword
        arguments ``n_classes``, ``in_channels`` and ``n_features`` are filled in from the training
        data when the class accepts them; others are set as ``module__<name>`` (for example
        ``module__width=16`` or ``module__hidden_sizes=(32,)``).
    loss : str or torch.nn.Module subclass, default="ce"
        ``"ce"`` (cross-entropy), ``"weighted_ce"`` (cross-entropy with ``class_weight`` weights,
        inverse frequency if ``class_weight`` is None),
        ``"focal"``, ``"class_balanced"``, ``"ldam"``, ``"balanced_softmax"``, ``"logit_adjusted"``
        (:mod:`imbsk.losses`), or any criterion class taking ``(logits, target)``. Hyper-parameters
        are set as ``criterion__<name>``: ``criterion__gamma`` (focal, class_balanced),
        ``criterion__beta`` (class_balanced), ``criterion__max_margin`` and ``criterion__scale``
        (ldam), ``criterion__tau`` (logit_adjusted), ``criterion__label_smoothing`` (ce). Class
        counts are passed by the classifier. With ``"ldam"``, a module that accepts
        ``normalized_classifier`` (the built-in CNNs) gets ``True`` unless set otherwise, and the
        loss scales its cosines by ``criterion__scale=30``; a module without a
        :class:`~imbsk.models.NormedLinear` layer gives raw logits, so there the scale defaults to 1.
    class_weight : None, {"balanced", "inverse", "sqrt_inverse", "effective"} or dict, default=None
        Per-class weights of the loss, computed from the training labels (see
        :func:`imbsk.losses.class_weights`; ``"balanced"`` is ``"inverse"``), or a dict
        ``{label: weight}`` (missing labels weigh 1). Applied from the start, or from
        ``reweight_epoch`` on. ``None``: no weights, except ``"inverse"`` for
        ``loss="weighted_ce"`` and ``"effective"`` for deferred re-weighting.
    weight_beta : float in [0, 1), default=0.9999
        ``beta`` of the effective-number weights (``class_weight="effective"``).
    batch_balance : {"none", "class", "sqrt"}, default="none"
        How training batches are drawn each epoch: shuffled (``"none"``), every class equally likely
        (``"class"``), or class ``c`` with probability proportional to ``sqrt(n_c)`` (``"sqrt"``).
        Only indices are sampled; ``X`` is never copied.
    reweight_epoch : int or None, default=None
        Deferred re-weighting (Cao et al. 2019): the loss is unweighted before this epoch (counting
        from 0) and uses the ``class_weight`` weights from it on. ``None`` disables it.
    tau : float, default=0.0
        Post-hoc logit adjustment (Menon et al. 2021): ``predict_proba`` and ``predict`` use
        ``logits - tau * log(prior)``, with the class prior of the training labels.
    optimizer : {"sgd", "adamw"} or torch.optim.Optimizer subclass, default="sgd"
        Other optimiser arguments can be passed as ``optimizer__<name>``.
    lr : float, default=0.05
        Peak learning rate.
    momentum : float, default=0.9
        SGD momentum (ignored by other optimisers).
    nesterov : bool, default=True
        Nesterov momentum for SGD (needs ``momentum > 0``).
    weight_decay : float, default=5e-4
        Weight decay (decoupled for AdamW).
    lr_schedule : {"cosine", "step", "constant"}, default="cosine"
        Learning-rate schedule after the warm-up, updated every batch. Each call of ``fit`` or
        ``partial_fit`` runs the whole schedule over its ``max_epochs``.
    warmup_epochs : int or "auto", default="auto"
        Epochs of linear warm-up from ``lr / steps`` to ``lr``. ``"auto"`` is
        ``min(5, max(1, max_epochs // 10))`` epochs (one for up to 19 epochs). Without a warm-up, the
        first full-rate steps of a freshly initialised network without normalisation layers (such as
        ``SimpleCNN``) can silence every ReLU, after which the network predicts one class for ever;
        on CIFAR-10 cat vs dog at 5,000:500 that happened to two seeds out of three (see the user
        guide, "Defaults").
    lr_milestones : sequence of int or None, default=None
        Epochs at which ``lr_schedule="step"`` multiplies the rate by ``lr_gamma``; ``None`` means
        half and three quarters of ``max_epochs``.
    lr_gamma : float, default=0.1
        Decay factor of the step schedule.
    max_epochs : int, default=30
        Number of training epochs (passes over the training set that ``fit`` receives).
    max_steps : int or None, default=None
        A training budget in optimisation steps that replaces ``max_epochs``: training runs
        ``ceil(max_steps / steps_per_epoch)`` epochs and stops after exactly ``max_steps`` steps. An
        epoch's length depends on the training set, so after ``RandomUnderSampler`` a fixed
        ``max_epochs`` gives a network a handful of steps and after over-sampling twice as many as
        without; a fixed ``max_steps`` gives every remedy the same number of gradient steps. The
        learning-rate schedule and the ``"auto"`` warm-up follow the resulting number of epochs.
    batch_size : int, default=128
        Batch size for training and prediction.
    augment : None, str or callable, default=None
        On-the-fly training augmentation applied to whole batches on the device: a preset name of
        :func:`imbsk.augment.default_augmentation` (``"light"`` is the usual CIFAR flip and crop) or
        a callable on (N, C, H, W) tensors, called as :func:`imbsk.augment.call_augmentation` does
        (``aug(x, generator=None)`` or ``aug(x)``), such as the objects of :mod:`imbsk.augment`.
        Images only.
    normalize : bool, default=True
        Standardise inputs with per-channel (images) or per-feature (tables) mean and standard
        deviation learned in ``fit``. If False, inputs are only converted to float.
    precision : {"auto", "fp32", "bf16", "fp16"}, default="auto"
        Mixed precision on CUDA devices (autocast; ``"fp16"`` adds gradient scaling). ``"auto"``
        uses bf16 where the GPU supports it, else fp16. On CPU training is always fp32.
    early_stopping : bool, default=False
        Hold out a stratified ``validation_fraction`` of the training data, stop when its balanced
        accuracy has not improved for ``patience`` epochs, and keep the best weights.
    validation_fraction : float, default=0.1
        Size of the early-stopping validation split.
    patience : int, default=5
        Epochs without improvement before early stopping.
    progress_bar : bool, default=False
        Show a tqdm progress bar over epochs.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, batch order, dropout, augmentation and the validation split.
        With an int, two fits on CPU give identical results. torch's global random state is
        restored after ``fit``.
    n_threads : int or None, default=None
        Number of CPU threads torch uses inside ``fit``, ``partial_fit``, ``predict`` and
        ``predict_proba``; the caller's setting is put back when the call returns. ``None`` leaves
        torch's setting as it is: one thread per core, except in the worker processes of
        ``cross_validate(..., n_jobs=k)`` or ``GridSearchCV(n_jobs=k)``, which joblib starts with
        ``cores // k`` threads each. A seeded fit can differ in the last bits between thread counts,
        and so now and then in a prediction: a serial run on two threads and ``n_jobs=2`` on one
        thread each can give slightly different scores. Set ``n_threads=1`` for scores that do not
        depend on ``n_jobs``, and on a machine whose cores are busy with other work, where several
        torch threads wait for each other and a small network can train several times slower than
        on one thread (``benchmarks/results/parallel_cv.md``).
    device : str, default="auto"
        ``"auto"`` (CUDA if available, else CPU), ``"cpu"``, ``"cuda"``, ``"cuda:1"``, ...
    classes : array-like or None, default=None
        All class labels. Give them when a training set may lack a class (for example a CV fold),
        so that ``predict_proba`` always has one column per class.
    criterion : torch.nn.Module subclass or None, default=None
        skorch's name for the loss; when given it replaces ``loss``.
    train_split : callable or None, default=None
        A skorch split (such as ``skorch.dataset.ValidSplit(5, stratified=True)``) for an internal
        validation set. ``None``: train on all data (what ``cross_validate`` and ``GridSearchCV``
        expect). Use ``early_stopping`` for a stratified split with balanced-accuracy stopping.
    on_interrupt : {"raise", "stop"}, default="raise"
        What Ctrl-C (``KeyboardInterrupt``) during ``fit`` does. ``"raise"``: the callbacks clean up
        (``on_train_end``) and the interrupt propagates, so ``cross_validate``, a grid search or a
        script stops as a whole. ``"stop"``: skorch's behaviour, training ends and ``fit`` returns the
        network as it is.
    callbacks : list or None, default=None
        Extra skorch callbacks. The classifier's own are named and can be tuned or replaced through
        ``callbacks__<name>`` (see :mod:`imbsk.classifier`): ``lr_schedule``, ``divergence_guard``,
        ``reweight`` (with ``reweight_epoch``), ``progress_bar`` and ``early_stopping`` (when on),
        ``epoch_timer`` and ``print_log``. A skorch ``LRScheduler`` needs ``callbacks__lr_schedule=None``.
    warm_start : bool, default=False
        Continue training the fitted network (and keep its normalisation) on the next ``fit``.
    verbose : int, default=0
        Print one line per epoch if positive.
    **kwargs
        skorch-style routed parameters: ``module__*``, ``criterion__*``, ``optimizer__*``,
        ``callbacks__*``; and the remaining :class:`skorch.NeuralNet` parameters (``compile``, ...).
        ``iterator_train``, ``iterator_valid``, ``dataset`` (and their ``__`` arguments) and
        ``predict_nonlinearity`` are not used: batches come from the device-resident iterator of
        :mod:`imbsk.batching` and ``predict_proba`` is the softmax of the logits.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels (``classes`` if given, else the sorted labels seen in ``fit``).
    class_counts_ : ndarray of shape (n_classes,)
        Training samples per class in the last ``fit``.
    class_prior_ : ndarray of shape (n_classes,)
        Class frequencies used by ``tau`` (empty classes count as one sample).
    n_features_in_ : int
        Number of input features (``C * H * W`` for images).
    input_shape_ : tuple
        Shape of one sample, ``(C, H, W)`` or ``(n_features,)``.
    mean_, std_ : ndarray
        Normalisation statistics per channel (images) or feature (tables).
    device_ : str
        Device the network lives on.
    module_ : torch.nn.Module
        The trained network.
    criterion_ : torch.nn.Module
        The loss.
    optimizer_ : torch.optim.Optimizer
        The optimiser.
    history_ : skorch.History
        Per-epoch ``train_loss`` (and ``valid_loss``, ``valid_bacc`` with a validation split).

    See Also
    --------
    imbsk.batching.BalancedIndexSampler : the per-epoch balanced index sampling.
    imbsk.losses : the imbalance losses.

    Examples
    --------
    >>> import numpy as np
    >>> from imbsk import CNNClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = rng.integers(0, 256, size=(60, 3, 8, 8), dtype=np.uint8)
    >>> y = np.array(["cat"] * 50 + ["dog"] * 10)
    >>> clf = CNNClassifier(module__width=4, max_epochs=2, batch_balance="class", random_state=0)
    >>> clf.fit(X, y).predict(X[:3]).shape
    (3,)
    >>> clf.classes_
    array(['cat', 'dog'], dtype='<U3')
    """

    _parameter_constraints = PARAMETER_CONSTRAINTS

    def __init__(
        self,
        module="auto",
        *,
        loss="ce",
        class_weight=None,
        weight_beta=0.9999,
        batch_balance="none",
        reweight_epoch=None,
        tau=0.0,
        optimizer="sgd",
        lr=0.05,
        momentum=0.9,
        nesterov=True,
        weight_decay=5e-4,
        lr_schedule="cosine",
        warmup_epochs="auto",
        lr_milestones=None,
        lr_gamma=0.1,
        max_epochs=30,
        max_steps=None,
        batch_size=128,
        augment=None,
        normalize=True,
        precision="auto",
        early_stopping=False,
        validation_fraction=0.1,
        patience=5,
        progress_bar=False,
        random_state=None,
        n_threads=None,
        device="auto",
        classes=None,
        criterion=None,
        train_split=None,
        on_interrupt="raise",
        callbacks=None,
        warm_start=False,
        verbose=0,
        **kwargs,
    ):
        # Set before skorch's __init__: afterwards skorch's __setattr__ treats torch objects specially.
        self.loss = loss
        self.class_weight = class_weight
        self.weight_beta = weight_beta
        self.batch_balance = batch_balance
        self.reweight_epoch = reweight_epoch
        self.tau = tau
        self.momentum = momentum
        self.nesterov = nesterov
        self.weight_decay = weight_decay
        self.lr_schedule = lr_schedule
        self.warmup_epochs = warmup_epochs
        self.lr_milestones = lr_milestones
        self.lr_gamma = lr_gamma
        self.augment = augment
        self.normalize = normalize
        self.precision = precision
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.progress_bar = progress_bar
        self.random_state = random_state
        self.n_threads = n_threads
        self.on_interrupt = on_interrupt
        self.max_steps = max_steps
        super().__init__(
            module,
            criterion=criterion,
            optimizer=optimizer,
            lr=lr,
            max_epochs=max_epochs,
            batch_size=batch_size,
            train_split=train_split,
            classes=classes,
            callbacks=callbacks,
            warm_start=warm_start,
            verbose=verbose,
            device=device,
            **kwargs,
        )

    # ------------------------------------------------------------------ sklearn plumbing

    def _get_param_names(self):
        # skorch lists every non-fitted attribute; private bookkeeping is no parameter.
        return [k for k in super()._get_param_names() if not k.startswith("_")]

    def set_params(self, **params):
        """Set parameters, including nested ``module__*``, ``criterion__*`` and ``augment__*`` ones.

        Returns
        -------
        self : CNNClassifier
        """
        # skorch would store "augment__p" as a routed attribute; it belongs to the augmentation object.
        nested = {k: params.pop(k) for k in list(params) if k.startswith("augment__")}
        if params:
            on_device = hasattr(self, "device_") and "device" not in params
            with self._device_scope(self.device_) if on_device else nullcontext():
                super().set_params(**params)
            if "lr" in params and getattr(self, "optimizer_", None) is not None:
                for group in self.optimizer_.param_groups:
                    group["peak_lr"] = params["lr"]
        if nested:
            BaseEstimator.set_params(self, **nested)
        return self

    def _get_params_callbacks(self, deep=True):
        # skorch lists its static defaults, and after a fit the callbacks' fitted state. Parameters
        # describe the configuration: the callbacks this one uses (the user's included), with what
        # set_params gave them, so callbacks__* shows in get_params and does not change in fit.
        if not deep:
            return {}
        params = {}
        for name, cb in self._uniquely_named_callbacks():
            cb = vars(self).get("callbacks__" + name, cb)
            params["callbacks__" + name] = cb
            if cb is None or isinstance(cb, type):
                continue
            for key, value in cb.get_params().items():
                full = f"callbacks__{name}__{key}"
                params[full] = vars(self).get(full, value)
        return params

    def _resolved_warmup(self):
        epochs = getattr(self, "epochs_", self.max_epochs)
        if isinstance(self.warmup_epochs, str):  # "auto"
            return min(5, max(1, epochs // 10)) if epochs else 0
        return self.warmup_epochs

    def _plan_budget(self, dataset, codes):
        """Epochs and steps of this fit: ``max_epochs``, or as many epochs as ``max_steps`` needs."""
        train, _ = self.get_split_datasets(dataset, codes)
        steps = len(DeviceBatchIterator(self._as_device_dataset(train), self.batch_size, drop_last_single=True))
        if self.max_steps is None:
            self.epochs_, self.max_steps_ = self.max_epochs, None
            total = steps * self.max_epochs
        else:
            self.epochs_ = math.ceil(self.max_steps / max(steps, 1))
            self.max_steps_ = total = self.max_steps
        if 0 < total < _FEW_STEPS:
            warnings.warn(
                f"{type(self).__name__} will take only {total} optimisation steps ({steps} per epoch of {len(train)} "
                f"samples at batch_size={self.batch_size}, for {self.epochs_} epochs): too few for a network to "
                "learn much, which happens after under-sampling. Set a budget that does not depend on the size of "
                f"the training set, such as max_steps={_FEW_STEPS * 10}, or a smaller batch_size.",
                FewStepsWarning,
                stacklevel=4,
            )

    # ------------------------------------------------------------------ fitting

    def _prepare_fit(self, X, y, reset, classes=None):
        """Validate, set the data-dependent fitted attributes (when ``reset``) and move the data to the device."""
        name = type(self).__name__
        X = check_fit_X(X, name) if reset else check_predict_X(X, self.input_ndim_, self.input_shape_, name)
        y = check_y(y, len(X), name)
        if reset:
            class_set = self.classes if self.classes is not None else classes
            if np.unique(y).size < 2 and (class_set is None or len(np.unique(np.asarray(class_set))) < 2):
                raise ValueError(
                    f"y has 1 class ({np.unique(y).tolist()}); a classifier needs at least 2 classes in y "
                    "(or all of them given as classes=...)."
                )
            found, codes = encode_labels(y, class_set)
            if self.classes is None:
                self.classes_inferred_ = found
            self.input_ndim_ = X.ndim
            self.input_shape_ = tuple(int(s) for s in X.shape[1:])
            self.n_features_in_ = int(np.prod(self.input_shape_))
            self.input_range_ = input_range(X)
            self.class_counts_ = np.bincount(codes, minlength=len(found))
            counts = np.maximum(self.class_counts_, 1).astype(np.float64)
            self.class_prior_ = counts / counts.sum()
            self.mean_, self.std_ = input_statistics(X, self.normalize)
            self._check_components(X)
        else:
            if classes is not None and not np.array_equal(np.sort(np.asarray(classes)), np.sort(self.classes_)):
                raise ValueError(
                    f"classes={np.asarray(classes).tolist()} differs from the classes of the first fit, "
                    f"classes_={self.classes_.tolist()}."
                )
            codes = encode_with_classes(y, self.classes_)
        Xt = self._to_device(X)
        yt = torch.from_numpy(codes).to(self.device_)
        return DeviceDataset(Xt, yt), codes

    def _to_device(self, X):
        if not X.flags.writeable:
            # torch cannot wrap read-only memory (e.g. a memmap) without risking writes through it.
            X = X.copy()
        return torch.from_numpy(X).to(self.device_)

    def _check_components(self, X):
        """Fail early, with the parameter's name, on combinations the data cannot support."""
        cls = self._module_class()
        if not isinstance(self.module, nn.Module):
            kwargs = self.get_params_for("module")
            check_kwargs("module", cls, kwargs)
            accepted = accepted_kwargs(cls)
            if X.ndim == 2 and accepted is not None and "in_channels" in accepted and "n_features" not in accepted:
                raise ValueError(
                    f"module={self.module!r} ({cls.__name__}) needs 4-D images (N, C, H, W) but X is 2-D; "
                    "use module='mlp' (or 'auto') for tabular X."
                )
        if self.augment is not None and X.ndim != 4:
            raise ValueError(f"augment={self.augment!r} works on 4-D images only; X is {X.ndim}-D. Set augment=None.")

    def fit(self, X, y, **fit_params):
        """Train the network on ``X`` and ``y``.

        Parameters
        ----------
        X : ndarray of shape (n_samples, channels, height, width) or (n_samples, n_features)
            uint8 images (kept as uint8 on the device) or floats.
        y : array-like of shape (n_samples,)
            Class labels of any type.
        **fit_params : dict
            Passed to the module's ``forward``.

        Returns
        -------
        self : CNNClassifier

        Raises
        ------
        TrainingDivergedError
            If the training loss becomes NaN or inf, or the network dies (see
            :class:`~imbsk.classifier.DivergenceGuard`).
        KeyboardInterrupt
            On Ctrl-C, after the callbacks' clean-up, unless ``on_interrupt="stop"``.
        """
        reset = not (self.warm_start and self.initialized_ and hasattr(self, "input_shape_"))
        return self._fit(X, y, reset, "fit", fit_params)

    def partial_fit(self, X, y=None, classes=None, **fit_params):
        """Train for ``max_epochs`` more epochs without re-initialising a fitted network.

        Parameters
        ----------
        X : ndarray of shape (n_samples, channels, height, width) or (n_samples, n_features)
            Training inputs.
        y : array-like of shape (n_samples,)
            Class labels; on a fitted network they must be among ``classes_``.
        classes : array-like, default=None
            All class labels, as in scikit-learn's incremental estimators: needed on the first call
            when a chunk may lack some classes (a one-class chunk is then accepted). On later calls
            it must match ``classes_``. The constructor's ``classes`` takes precedence.
        **fit_params : dict
            Passed to the module's ``forward``.

        Returns
        -------
        self : CNNClassifier
        """
        reset = not (self.initialized_ and hasattr(self, "input_shape_"))
        if reset and classes is not None and self.classes is None:
            self.classes_partial_ = np.asarray(classes)
        return self._fit(X, y, reset, "partial_fit", fit_params, classes=classes)

    @property
    def classes_(self):
        if self.classes is not None:
            return np.asarray(self.classes)
        partial = getattr(self, "classes_partial_", None)
        return partial if partial is not None else self.classes_inferred_

    def _fit(self, X, y, reset, routing_method, fit_params, classes=None):
        check_params(self)  # also on a continued fit: set_params may have changed them since
        if reset:
            self.device_ = self._resolve_device()
            if routing_method == "fit":
                self.__dict__.pop("classes_partial_", None)
        dataset, codes = self._prepare_fit(X, y, reset=reset, classes=classes)
        seed = self._seed()
        if seed is not None and not reset:
            seed += len(self.history)  # a continued fit draws new batches and dropout masks
        with self._threads_scope(), self._device_scope(self.device_), self._rng_scope(seed):
            self.seed_ = seed
            if reset:
                self.initialize()
            check_batch_size(self.batch_size, len(codes), self._has_batch_norm())
            self._check_fit_params(fit_params, routing_method)
            self._plan_budget(dataset, codes)
            with self._interruptible(dataset, codes):
                # skorch's partial_fit runs the loop through the hooks below; its fit would re-initialise.
                super(NeuralNetClassifier, self).partial_fit(
                    dataset, codes, _routing_method=routing_method, **fit_params
                )
        return self

    def _check_fit_params(self, fit_params, routing_method):
        # skorch hands fit parameters to the module's forward; an unknown one (sample_weight, say) would
        # otherwise fail inside torch at the first batch.
        if not fit_params:
            return
        params = inspect.signature(self.module_.forward).parameters
        if any(p.kind is p.VAR_KEYWORD for p in params.values()):
            return
        unknown = sorted(set(fit_params) - set(params))
        if unknown:
            raise TypeError(
                f"{routing_method}() passes extra keyword arguments to the module's forward, and "
                f"{type(self.module_).__name__}.forward takes no {', '.join(map(repr, unknown))}. "
                "For per-class weights use class_weight; for per-sample weights, a weighted sampler in a pipeline."
            )

    def fit_loop(self, X, y=None, epochs=None, **fit_params):
        """skorch's loop over epochs, for the epochs of this fit's budget (``max_epochs`` or ``max_steps``).

        Returns
        -------
        self : CNNClassifier
        """
        return super().fit_loop(X, y, epochs=self.epochs_ if epochs is None else epochs, **fit_params)

    def check_data(self, X, y):
        # Validation and label encoding happen in fit; skorch's own check would overwrite classes_.
        pass

    def check_is_fitted(self, attributes=None, *args, **kwargs):
        """Raise ``NotInitializedError`` (a ``NotFittedError``) unless ``fit`` has been called.

        Parameters
        ----------
        attributes : list of str or None, default=None
            Attributes that must exist; by default the network and the fitted input shape.
        *args, **kwargs
            Passed to :func:`sklearn.utils.validation.check_is_fitted`.
        """
        super().check_is_fitted(attributes or ["module_", "input_shape_"], *args, **kwargs)

    def _module_class(self):
        if isinstance(self.module, nn.Module):
            return type(self.module)
        name = self.module
        if isinstance(name, str) and name == "auto":
            name = "mlp" if getattr(self, "input_ndim_", 4) == 2 else "simple_cnn"
        return get_module_class(name)

    def _has_batch_norm(self):
        module = getattr(self, "module_", None)
        return module is not None and any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in module.modules())

    def initialize_module(self):
        """Build the network (and its input normaliser) for the shape and classes of the training data.

        Returns
        -------
        self : CNNClassifier
        """
        kwargs = self.get_params_for("module")
        cls = self._module_class()
        fitted = hasattr(self, "input_shape_")
        if isinstance(self.module, nn.Module) and not kwargs:
            module = copy.deepcopy(self.module)  # the caller's instance is never trained in place
        else:
            accepted = accepted_kwargs(cls)
            data_kwargs = {}
            n_classes = len(self.classes_) if (fitted or self.classes is not None) else None
            if n_classes is not None:
                data_kwargs["n_classes"] = n_classes
            if fitted:
                if self.input_ndim_ == 4:
                    data_kwargs["in_channels"] = self.input_shape_[0]
                data_kwargs["n_features"] = self.n_features_in_
            if self._loss_key() == "ldam":
                data_kwargs["normalized_classifier"] = True
            if accepted is not None:
                data_kwargs = {k: v for k, v in data_kwargs.items() if k in accepted}
            else:
                data_kwargs = {k: v for k, v in data_kwargs.items() if k == "n_classes"}
            module = build("module", cls, {**data_kwargs, **kwargs}, kwargs)
        flatten = False
        channels_last = False
        if fitted:
            accepted = accepted_kwargs(cls) or set()
            # A tabular module on images sees the flattened pixels.
            flatten = self.input_ndim_ == 4 and "n_features" in accepted and "in_channels" not in accepted
            # Channels-last convolutions are faster on GPUs and on CPUs alike (oneDNN): about 1.1x for
            # simple_cnn and 1.4x for resnet20 training on 2 CPU cores (benchmarks/results/training.md).
            channels_last = self.input_ndim_ == 4 and not flatten
            mean, std = self.mean_, self.std_
        else:
            mean, std = np.zeros(1, np.float32), np.ones(1, np.float32)
        if channels_last:
            module = module.to(memory_format=torch.channels_last)
        self.module_ = module
        self.normalizer_ = Normalizer(mean, std, channels_last=channels_last, flatten=flatten)
        if fitted:
            what = (
                f"images of {self.input_shape_[1]}x{self.input_shape_[2]} pixels with {self.input_shape_[0]} channels"
                if self.input_ndim_ == 4 else f"{self.n_features_in_} features"
            )
            probe_module(
                module, self.normalizer_, self.input_shape_, self.classes_, f"module={self.module!r} ({cls.__name__})",
                what, self.logits_from_output,
            )
        return self

    def _loss_key(self):
        if self.criterion is not None:
            return None
        return self.loss if isinstance(self.loss, str) else None

    def initialize_criterion(self):
        """Build the loss, passing the class counts of the training labels to losses that use them.

        Returns
        -------
        self : CNNClassifier
        """
        kwargs = self.get_params_for("criterion")
        key = self._loss_key()
        if key is None:
            cls = self.criterion if self.criterion is not None else self.loss
        else:
            cls = LOSSES[key]
        check_kwargs("criterion", cls, kwargs)
        bad = sorted(set(kwargs) & set(_DATA_KWARGS))
        if bad:
            raise ValueError(f"criterion__{bad[0]} is set from the training labels; do not pass it.")
        counts = getattr(self, "class_counts_", None)
        accepted = accepted_kwargs(cls) or set()
        data_kwargs = {}
        if "class_counts" in accepted:
            if counts is None:
                raise ValueError(f"loss={self.loss!r} needs class counts; call fit instead of initialize.")
            data_kwargs["class_counts"] = np.maximum(counts, 1)
        weights = None if self.reweight_epoch is not None else self._class_weights(key)
        if weights is not None:
            if "weight" not in accepted:
                raise ValueError(
                    f"class_weight={self.class_weight!r} cannot be used with {cls.__name__}, which takes no "
                    "'weight'; use reweight_epoch to set the weights during training, or class_weight=None."
                )
            data_kwargs["weight"] = torch.as_tensor(weights, dtype=torch.float32)
        if key == "ldam" and "scale" not in kwargs and not self._has_normed_classifier():
            # A 30x scale suits cosines in [-1, 1]; on raw logits it multiplies the loss's gradient by 30.
            data_kwargs["scale"] = 1.0
        criterion = build("criterion", cls, {**data_kwargs, **kwargs}, kwargs)
        if self.reweight_epoch is not None and not hasattr(criterion, "weight"):
            raise ValueError(
                f"reweight_epoch={self.reweight_epoch} needs a loss with class weights; "
                f"{type(criterion).__name__} has no 'weight' attribute."
            )
        self.logit_scale_ = float(getattr(criterion, "scale", 1.0)) if key == "ldam" else 1.0
        self.criterion_ = criterion
        return self

    def _has_normed_classifier(self):
        module = getattr(self, "module_", None)
        return module is not None and any(isinstance(m, NormedLinear) for m in module.modules())

    def _class_weights(self, key, deferred=False):
        """Per-class weights for the loss (array of n_classes floats), or None for an unweighted loss."""
        kind = self.class_weight
        if kind is None:
            kind = "effective" if deferred else ("inverse" if key == "weighted_ce" else None)
        if kind is None:
            return None
        if isinstance(kind, dict):
            unknown = [k for k in kind if k not in set(self.classes_.tolist())]
            if unknown:
                raise ValueError(f"class_weight has labels that are not classes: {unknown}; classes_={self.classes_}.")
            return np.array([float(kind.get(c, 1.0)) for c in self.classes_.tolist()])
        counts = getattr(self, "class_counts_", None)
        if counts is None:
            raise ValueError(f"class_weight={kind!r} needs class counts; call fit instead of initialize.")
        kind = "inverse" if kind == "balanced" else kind
        return class_weights(counts, kind=kind, beta=self.weight_beta)

    def initialize_optimizer(self, triggered_directly=None):
        """Build the optimiser (``"sgd"`` with momentum and Nesterov, or ``"adamw"``).

        Returns
        -------
        self : CNNClassifier
        """
        named_parameters = self.get_all_learnable_params()
        args, kwargs = self.get_params_for_optimizer("optimizer", named_parameters)
        if isinstance(self.optimizer, str):
            cls = OPTIMIZERS[self.optimizer]
            defaults = {"weight_decay": self.weight_decay}
            if self.optimizer == "sgd":
                defaults.update(momentum=self.momentum, nesterov=bool(self.nesterov))
            kwargs = {**defaults, **kwargs}
        else:
            cls = self.optimizer
        self.optimizer_ = cls(*args, **kwargs)
        for group in self.optimizer_.param_groups:
            group["peak_lr"] = group["lr"]
        return self

    def get_default_callbacks(self):
        """The callbacks that carry the classifier's behaviour, by name (see :mod:`imbsk.classifier`).

        Returns
        -------
        callbacks : list of (str, skorch.callbacks.Callback)
        """
        callbacks = [("epoch_timer", EpochTimer()), ("lr_schedule", LRSchedule())]
        if self.reweight_epoch is not None:
            callbacks.append(("reweight", DeferredReweighting()))
        callbacks.append(("divergence_guard", DivergenceGuard()))
        if self.progress_bar:
            callbacks.append(("progress_bar", EpochProgressBar()))
        callbacks.append(("print_log", PrintLog()))
        if self.early_stopping:
            callbacks.append(
                (
                    "early_stopping",
                    EarlyStopping(
                        monitor="valid_bacc", patience=self.patience, lower_is_better=False, load_best=True,
                        threshold=0.0,
                    ),
                )
            )
        return callbacks

    def get_split_datasets(self, X, y=None, **fit_params):
        """Split off the stratified early-stopping validation set (views, no copy) when asked for.

        Returns
        -------
        dataset_train, dataset_valid : DeviceDataset, DeviceDataset or None
        """
        if not self.early_stopping:
            return super().get_split_datasets(X, y, **fit_params)
        split = StratifiedShuffleSplit(n_splits=1, test_size=self.validation_fraction, random_state=self.seed_)
        try:
            train, valid = next(split.split(np.zeros(len(y)), y))
        except ValueError as exc:
            raise ValueError(
                f"early_stopping needs a stratified validation split of validation_fraction="
                f"{self.validation_fraction}: {exc}"
            ) from None
        return X.subset(train), X.subset(valid)

    def get_dataset(self, X, y=None):
        if isinstance(X, DeviceDataset):
            return X
        self.check_is_fitted()
        X = check_predict_X(X, self.input_ndim_, self.input_shape_, type(self).__name__)
        check_input_range(X, getattr(self, "input_range_", None), type(self).__name__)
        return DeviceDataset(self._to_device(X))

    @staticmethod
    def _as_device_dataset(dataset):
        if isinstance(dataset, DeviceDataset):
            return dataset
        if isinstance(dataset, Subset) and isinstance(dataset.dataset, DeviceDataset):
            return dataset.dataset.subset(dataset.indices)
        raise TypeError(f"{type(dataset).__name__} is not supported; pass arrays to fit and predict.")

    def get_iterator(self, dataset, training=False):
        """Batches sliced from the device-resident tensors; balanced index sampling when training.

        Returns
        -------
        iterator : imbsk.batching.DeviceBatchIterator
        """
        dataset = self._as_device_dataset(dataset)
        if training:
            iterator = DeviceBatchIterator(
                dataset, self.batch_size, shuffle=True, balance=self.batch_balance, drop_last_single=True
            )
            self.steps_per_epoch_ = len(iterator)
            return iterator
        return DeviceBatchIterator(dataset, self.batch_size)

    # ------------------------------------------------------------------ the training loop

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        super().on_train_begin(net, X=X, y=y, **kwargs)
        self.train_steps_ = 0
        self.warmup_epochs_ = self._resolved_warmup()
        self.augment_ = None if self.augment is None else get_augmentation(self.augment)
        # Callbacks that change a batch before the forward pass (mixup, CutMix, ...), in order.
        self.batch_transforms_ = [cb for _, cb in self.callbacks_ if callable(getattr(cb, "transform_batch", None))]

    def train_step(self, batch, **fit_params):
        """One optimisation step without skorch's closure (every supported optimiser needs none).

        The learning rate is set by the ``lr_schedule`` callback before the batch.

        Returns
        -------
        step : dict
            ``{"loss": loss, "y_pred": logits}`` (tensors on the device).
        """
        self._zero_grad_optimizer(set_to_none=True)
        step = self.train_step_single(batch, **fit_params)
        self.notify(
            "on_grad_computed",
            named_parameters=TeeGenerator(self.get_all_learnable_params()),
            batch=batch,
            training=True,
        )
        self._step_optimizer(None)
        return step

    def transform_batch(self, Xi, yi):
        """The training batch the network sees: augmentation, then each callback's ``transform_batch``.

        A callback with a method ``transform_batch(net, Xi, yi) -> (Xi, yi)`` changes every training batch
        after augmentation and before the forward pass; ``yi`` may become soft targets of shape
        (batch, n_classes), which every loss of :mod:`imbsk.losses` accepts. This is where mixup and CutMix plug in.

        Parameters
        ----------
        Xi : torch.Tensor
            Batch inputs on the device (uint8 images stay uint8).
        yi : torch.Tensor
            Class codes of the batch.

        Returns
        -------
        Xi, yi : torch.Tensor
        """
        augment = getattr(self, "augment_", None)
        if augment is not None:
            Xi = call_augmentation(augment, Xi)
        for cb in getattr(self, "batch_transforms_", ()):
            Xi, yi = cb.transform_batch(self, Xi, yi)
        return Xi, yi

    def train_step_single(self, batch, **fit_params):
        """Batch transforms, forward, loss and backward for one batch.

        Returns
        -------
        step : dict
            ``{"loss": loss, "y_pred": logits}``.
        """
        if not self.module_.training:
            self._set_training(True)
        Xi, yi = self.transform_batch(*batch)
        with self._amp_context():
            y_pred = self.infer(Xi, **fit_params)
            loss = self.get_loss(y_pred, yi, X=Xi, training=True)
        self.backward(loss)
        return {"loss": loss, "y_pred": self.logits_from_output(y_pred)}

    def validation_step(self, batch, **fit_params):
        if self.module_.training:
            self._set_training(False)
        Xi, yi = batch
        with torch.no_grad(), self._amp_context():
            y_pred = self.infer(Xi, **fit_params)
            loss = self.get_loss(y_pred, yi, X=Xi, training=False)
        return {"loss": loss, "y_pred": self.logits_from_output(y_pred)}

    def evaluation_step(self, batch, training=False):
        self.check_is_fitted()
        if self.module_.training != training:
            self._set_training(training)
        Xi = batch[0] if isinstance(batch, (tuple, list)) else batch
        with torch.set_grad_enabled(training), self._amp_context():
            return self.logits_from_output(self.infer(Xi)).float()

    def infer(self, x, **fit_params):
        """Normalise a batch on the device and return the module's output (usually the logits).

        Returns
        -------
        output : torch.Tensor of shape (batch, n_classes), or what the module returns
        """
        if not torch.is_tensor(x):
            x = to_tensor(x, device=self.device_)
        return self.module_(self.normalizer_(x), **fit_params)

    @staticmethod
    def logits_from_output(output):
        """The class logits in a module's output: the output itself, or the first item of a tuple.

        A module with a second head (an auxiliary classifier, a two-branch network) returns a tuple;
        the loss receives the whole tuple, prediction uses the first item.

        Parameters
        ----------
        output : torch.Tensor or tuple of torch.Tensor

        Returns
        -------
        logits : torch.Tensor
        """
        return output[0] if isinstance(output, (tuple, list)) else output

    def get_loss(self, y_pred, y_true, X=None, training=False, sample_weight=None):
        """The criterion on float32 logits, optionally weighted per sample.

        Parameters
        ----------
        y_pred : torch.Tensor or tuple
            The module's output.
        y_true : torch.Tensor
            Class codes, or soft targets of shape (batch, n_classes).
        X : torch.Tensor, default=None
            The batch inputs.
        training : bool, default=False
        sample_weight : torch.Tensor of shape (batch,) or None, default=None
            Per-sample weights (learned re-weighting plugs in here): the loss is
            ``sum(w_i * loss_i) / sum(w_i)``. Needs a criterion with a ``reduction`` attribute.

        Returns
        -------
        loss : torch.Tensor
        """
        if not torch.is_tensor(y_true):
            y_true = to_tensor(y_true, device=self.device_)
        y_pred = y_pred.float() if torch.is_tensor(y_pred) else y_pred
        if sample_weight is None:
            return self.criterion_(y_pred, y_true)
        with self.unreduced_criterion("sample_weight") as criterion:
            losses = criterion(y_pred, y_true)
        sample_weight = sample_weight.to(losses.dtype)
        return (losses * sample_weight).sum() / sample_weight.sum().clamp_min(1e-12)

    @contextmanager
    def unreduced_criterion(self, what, class_weighted=True):
        """The criterion switched to one loss per sample (``reduction="none"``) inside a ``with`` block.

        For learned or per-sample re-weighting, which needs every sample's loss; the criterion is put back
        as it was on leaving the block, also after an error.

        Parameters
        ----------
        what : str
            What needs the per-sample losses, for the error message.
        class_weighted : bool, default=True
            Whether the criterion's class weights (its ``weight`` attribute) still multiply the losses.

        Yields
        ------
        criterion : torch.nn.Module

        Raises
        ------
        ValueError
            If the criterion has no ``reduction`` attribute.
        """
        criterion = self.criterion_
        reduction = getattr(criterion, "reduction", None)
        if reduction is None:
            raise ValueError(f"{what} needs a criterion with a 'reduction' attribute; "
                             f"{type(criterion).__name__} has none.")
        weight = getattr(criterion, "weight", None)
        drop_weight = weight is not None and not class_weighted
        criterion.reduction = "none"
        if drop_weight:
            criterion.weight = None
        try:
            yield criterion
        finally:
            criterion.reduction = reduction
            if drop_weight:
                criterion.weight = weight

    def run_single_epoch(self, iterator, training, prefix, step_fn, **fit_params):
        # skorch calls loss.item() every batch, a device sync; here losses (and validation
        # confusion counts) are summed on the device and read once at the end of the epoch.
        if iterator is None:
            return
        self._set_training(training)
        device = self.device_
        total = torch.zeros((), dtype=torch.float64, device=device)
        n_samples = 0
        n_batches = 0
        n_classes = len(self.classes_)
        confusion = None if training else torch.zeros(n_classes * n_classes, dtype=torch.long, device=device)
        budget = getattr(self, "max_steps_", None) if training else None
        for batch in iterator:
            if budget is not None and self.train_steps_ >= budget:
                break
            self.notify("on_batch_begin", batch=batch, training=training)
            step = step_fn(batch, **fit_params)
            size = len(batch[0])
            total += step["loss"].detach() * size
            n_samples += size
            if confusion is not None and batch[1] is not None:
                pred = step["y_pred"].argmax(1)
                confusion += torch.bincount(batch[1] * n_classes + pred, minlength=n_classes * n_classes)
            self.notify("on_batch_end", batch=batch, training=training, **step)
            n_batches += 1
            self.train_steps_ += training
        self.history.record(prefix + "_batch_count", n_batches)
        self.history.record(prefix + "_loss", (total / max(n_samples, 1)).item())
        if confusion is not None:
            cm = confusion.view(n_classes, n_classes).cpu().numpy()
            support = cm.sum(axis=1)
            recall = np.diag(cm)[support > 0] / support[support > 0]
            self.history.record(prefix + "_bacc", float(recall.mean()) if recall.size else 0.0)

    # ------------------------------------------------------------------ prediction

    def _logits(self, X):
        self.check_is_fitted()
        with self._threads_scope():
            logits = self.forward(self.get_dataset(X), training=False, device=self.device_)
        logits = logits * getattr(self, "logit_scale_", 1.0)
        if self.tau:
            log_prior = torch.as_tensor(np.log(self.class_prior_), dtype=logits.dtype, device=logits.device)
            logits = logits - self.tau * log_prior
        return logits

    def predict_proba(self, X):
        """Class probabilities, one column per entry of ``classes_``.

        Parameters
        ----------
        X : ndarray of the shape seen in ``fit`` (channels, image size or number of features)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes), float32
        """
        return torch.softmax(self._logits(X), dim=1).cpu().numpy()

    def predict(self, X):
        """Predicted class labels, taken from ``classes_``.

        Parameters
        ----------
        X : ndarray of the shape seen in ``fit``

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
        """
        codes = self._logits(X).argmax(dim=1).cpu().numpy()
        return self.classes_[codes]
