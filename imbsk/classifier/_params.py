"""The parameters of :class:`~imbsk.CNNClassifier`: what each accepts, and the checks across them."""

from numbers import Integral, Real

import numpy as np
import torch
from sklearn.utils._param_validation import Interval, StrOptions, validate_parameter_constraints
from skorch.callbacks import LRScheduler
from torch import nn

from ..augment import get_augmentation
from ..losses import LOSSES
from ..models import MODULES

__all__ = ["OPTIMIZERS", "PARAMETER_CONSTRAINTS", "check_params"]

OPTIMIZERS = {"sgd": torch.optim.SGD, "adamw": torch.optim.AdamW}

#: scikit-learn style constraints of every parameter that ``fit`` validates.
PARAMETER_CONSTRAINTS = {
    "module": [StrOptions(set(MODULES) | {"auto"}), type, nn.Module],
    "loss": [StrOptions(set(LOSSES)), type],
    "class_weight": [StrOptions({"balanced", "inverse", "sqrt_inverse", "effective"}), dict, None],
    "weight_beta": [Interval(Real, 0, 1, closed="left")],
    "batch_balance": [StrOptions({"none", "class", "sqrt"})],
    "reweight_epoch": [Interval(Integral, 0, None, closed="left"), None],
    "tau": [Interval(Real, None, None, closed="neither")],
    "optimizer": [StrOptions(set(OPTIMIZERS)), type],
    "lr": [Interval(Real, 0, None, closed="neither")],
    "momentum": [Interval(Real, 0, 1, closed="left")],
    "nesterov": ["boolean"],
    "weight_decay": [Interval(Real, 0, None, closed="left")],
    "lr_schedule": [StrOptions({"cosine", "step", "constant"})],
    "warmup_epochs": [Interval(Integral, 0, None, closed="left"), StrOptions({"auto"})],
    "lr_milestones": ["array-like", None],
    "lr_gamma": [Interval(Real, 0, 1, closed="right")],
    "max_epochs": [Interval(Integral, 0, None, closed="left")],
    "max_steps": [Interval(Integral, 1, None, closed="left"), None],
    "batch_size": [Interval(Integral, 1, None, closed="left")],
    "augment": [None, str, callable],
    "normalize": ["boolean"],
    "precision": [StrOptions({"auto", "fp32", "bf16", "fp16"})],
    "early_stopping": ["boolean"],
    "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
    "patience": [Interval(Integral, 1, None, closed="left")],
    "progress_bar": ["boolean"],
    "random_state": ["random_state"],
    "n_threads": [Interval(Integral, 1, None, closed="left"), None],
    "device": [str, torch.device],
    "classes": ["array-like", None],
    "criterion": [type, None],
    "train_split": [callable, None],
    "on_interrupt": [StrOptions({"raise", "stop"})],
}


def check_params(net):
    """Validate the parameters of a :class:`~imbsk.CNNClassifier`, as ``fit`` does first.

    Parameters
    ----------
    net : CNNClassifier

    Raises
    ------
    ValueError or sklearn.utils._param_validation.InvalidParameterError
        Naming the parameter, the value and what is allowed.
    """
    # A subclass (a two-branch or meta-learning classifier) adds its parameters to _parameter_constraints.
    constraints = getattr(net, "_parameter_constraints", PARAMETER_CONSTRAINTS)
    params = {k: v for k, v in net.get_params(deep=False).items() if k in constraints}
    validate_parameter_constraints(constraints, params, caller_name=type(net).__name__)
    for name in ("batch_size", "max_epochs", "max_steps", "patience", "warmup_epochs", "reweight_epoch", "n_threads"):
        if isinstance(getattr(net, name), bool):
            raise ValueError(f"{name} must be an integer, not a bool; got {name}={getattr(net, name)!r}.")
    if net.optimizer == "sgd" and net.nesterov and net.momentum == 0:
        raise ValueError("nesterov=True needs momentum > 0; got momentum=0. Set nesterov=False or a momentum.")
    if net.early_stopping and net.train_split is not None:
        raise ValueError("early_stopping=True makes its own stratified split; set train_split=None.")
    if isinstance(net.loss, str) and net.loss == "weighted_ce" and net.criterion is not None:
        raise ValueError("loss='weighted_ce' and criterion are both set; give only one of them.")
    if isinstance(net.augment, str):
        get_augmentation(net.augment)  # raises a ValueError listing the presets
    if isinstance(net.class_weight, dict):
        bad = {k: v for k, v in net.class_weight.items() if not (np.isscalar(v) and np.isfinite(v) and v >= 0)}
        if bad or not any(v > 0 for v in net.class_weight.values()):
            raise ValueError(
                f"class_weight must map labels to finite weights >= 0, not all zero; got {net.class_weight!r}."
            )
    unused = sorted(k for k in vars(net) if k.startswith(("iterator_train__", "iterator_valid__", "dataset__")))
    if unused:
        raise ValueError(
            f"{', '.join(unused)}: CNNClassifier does not use skorch's DataLoader or Dataset (batches are "
            "sliced from a tensor on the device); use batch_size and batch_balance instead."
        )
    if net.predict_nonlinearity != "auto":
        raise ValueError(
            f"predict_nonlinearity={net.predict_nonlinearity!r} is not used: predict_proba is the softmax of "
            "the logits (after the tau adjustment); leave it at 'auto'."
        )
    if net.lr_milestones is not None:
        ms = np.asarray(net.lr_milestones)
        if ms.ndim != 1 or not np.issubdtype(ms.dtype, np.integer) or np.any(ms < 0):
            raise ValueError(
                f"lr_milestones must be a sequence of non-negative epochs; got {net.lr_milestones!r}."
            )
    if _lr_owned_by_user(net) and _schedule_callback_active(net):
        raise ValueError(
            "callbacks has a skorch LRScheduler, and the built-in schedule (lr_schedule, warmup_epochs) would "
            "overwrite its rate every batch; pass callbacks__lr_schedule=None to let your scheduler own the rate."
        )

def _lr_owned_by_user(net):
    return any(
        isinstance(cb, LRScheduler) or cb is LRScheduler
        for cb in (c[1] if isinstance(c, (tuple, list)) else c for c in (net.callbacks or []))
    )

def _schedule_callback_active(net):
    return getattr(net, "callbacks__lr_schedule", True) is not None
