"""``CNNClassifier`` and its parts.

How it fits together (see also the "How the classifier fits together" page of the docs):

* :mod:`._classifier` -- :class:`CNNClassifier`, a :class:`skorch.NeuralNetClassifier` whose ``fit``
  only coordinates: validate and encode (:mod:`._validation`), build module, loss and optimiser
  (``initialize_*``), then skorch's ``fit_loop -> run_single_epoch -> train_step -> infer``.
* :mod:`._validation` -- input checks, label encoding and normalisation statistics, as functions.
* :mod:`._callbacks` -- behaviour that runs during training, as named skorch callbacks:
  :class:`LRSchedule`, :class:`DeferredReweighting`, :class:`DivergenceGuard`,
  :class:`EpochProgressBar`.
* :mod:`._mixins` -- features that cut across the loop: :class:`InterruptMixin` (Ctrl-C stops the
  run), :class:`DeviceMixin` (``device="auto"``, pickling across machines), :class:`RandomStateMixin`,
  :class:`ThreadsMixin` (``n_threads``), :class:`MixedPrecisionMixin`.
* :mod:`._params` and :mod:`._build` -- parameter checks; building module, normaliser and loss.

Extension points for new remedies: a callback with ``transform_batch(net, Xi, yi)`` (mixup, CutMix),
``get_loss(..., sample_weight=...)`` (learned per-sample weights), a module returning a tuple (a
second head; prediction uses the first item), and a callback's ``on_train_end`` (a post-fit stage on
the fitted network, with the fold's training data).
"""

from ._callbacks import (
    DeferredReweighting,
    DivergenceGuard,
    EpochProgressBar,
    LRSchedule,
    TrainingDivergedError,
)
from ._classifier import LOSS_NAMES, CNNClassifier, FewStepsWarning
from ._mixins import DeviceMixin, InterruptMixin, MixedPrecisionMixin, RandomStateMixin, ThreadsMixin
from ._params import check_params
from ._validation import check_fit_X, check_predict_X, check_y, encode_labels, input_statistics

__all__ = [
    "LOSS_NAMES",
    "CNNClassifier",
    "DeferredReweighting",
    "DeviceMixin",
    "DivergenceGuard",
    "EpochProgressBar",
    "FewStepsWarning",
    "InterruptMixin",
    "LRSchedule",
    "MixedPrecisionMixin",
    "RandomStateMixin",
    "ThreadsMixin",
    "TrainingDivergedError",
    "check_fit_X",
    "check_params",
    "check_predict_X",
    "check_y",
    "encode_labels",
    "input_statistics",
]
