"""The skorch callbacks that carry :class:`~imbsk.CNNClassifier`'s training behaviour.

Each is a default callback of the classifier under a fixed name, so it can be tuned or switched off
like any skorch callback: ``callbacks__lr_schedule=None`` hands the learning rate to a callback of
your own, ``callbacks__divergence_guard__patience=5`` waits longer before calling a network dead.
"""

import math
import sys

import numpy as np
import torch
from skorch.callbacks import Callback

__all__ = [
    "DeferredReweighting",
    "DivergenceGuard",
    "EpochProgressBar",
    "LRSchedule",
    "TrainingDivergedError",
]


class TrainingDivergedError(RuntimeError):
    """Training produced a non-finite loss, or a network whose output no longer depends on its input."""


def _current_lr(net):
    return float(net.optimizer_.param_groups[0]["lr"])


class LRSchedule(Callback):
    """Linear warm-up, then cosine, step or constant learning rate, set before every training batch.

    It is the one owner of the optimiser's rate: it scales each parameter group's ``peak_lr`` (the
    rate the group was built with). Every ``fit`` or ``partial_fit`` call runs the whole schedule
    over its epochs (``max_epochs``, or those ``max_steps`` needs). The settings are read from the
    classifier (``lr_schedule``, ``warmup_epochs``, ``lr_milestones``, ``lr_gamma``) at the start of
    training.
    """

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        self.warmup_epochs_ = net.warmup_epochs_
        self.kind_ = net.lr_schedule
        epochs = getattr(net, "epochs_", net.max_epochs)
        self.max_epochs_ = epochs
        self.max_steps_ = getattr(net, "max_steps_", None)
        milestones = net.lr_milestones
        if milestones is None:
            milestones = (epochs // 2, (3 * epochs) // 4)
        self.milestones_ = tuple(int(m) for m in milestones)
        self.gamma_ = net.lr_gamma

    def factor(self, step, steps_per_epoch):
        """Multiplier of the peak rate at training step ``step`` (counting from 0).

        Parameters
        ----------
        step : int
        steps_per_epoch : int

        Returns
        -------
        factor : float
        """
        steps = max(1, steps_per_epoch)
        epoch = step / steps
        warmup = self.warmup_epochs_
        if warmup and epoch < warmup:
            return (step + 1) / (warmup * steps)
        if self.kind_ == "cosine":
            # A budget in steps ends mid-epoch: the decay reaches zero at the last step, not the epoch's end.
            total = self.max_steps_ / steps if self.max_steps_ else self.max_epochs_
            span = max(total - warmup, 1e-12)
            progress = min(max((epoch - warmup) / span, 0.0), 1.0)
            return 0.5 * (1.0 + math.cos(math.pi * progress))
        if self.kind_ == "step":
            return self.gamma_ ** sum(epoch >= m for m in self.milestones_)
        return 1.0

    def on_batch_begin(self, net, batch=None, training=False, **kwargs):
        if not training:
            return
        # The classifier counts the steps of this fit (its max_steps budget needs them too).
        factor = self.factor(net.train_steps_, getattr(net, "steps_per_epoch_", 1))
        for group in net.optimizer_.param_groups:
            group["lr"] = group.get("peak_lr", group["lr"]) * factor


class DeferredReweighting(Callback):
    """Deferred re-weighting (Cao et al. 2019): class weights switched on at ``net.reweight_epoch``."""

    def on_epoch_begin(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        if net.reweight_epoch is not None and len(net.history) - 1 == net.reweight_epoch:
            weights = net._class_weights(net._loss_key(), deferred=True)
            net.criterion_.weight = torch.as_tensor(weights, dtype=torch.float32, device=net.device_)


class EpochProgressBar(Callback):
    """One tqdm bar per ``fit``, advanced once per epoch (a per-batch bar would need a device sync).

    Where the error stream is not a terminal (a log file, a batch job), the bar is redrawn at most
    once every ``log_interval`` seconds, so that a long grid search does not fill a log with lines.

    Parameters
    ----------
    log_interval : float, default=60.0
        Seconds between redraws when the error stream is not a terminal.
    force : bool, default=False
        Redraw as often as on a terminal anyway.
    """

    def __init__(self, log_interval=60.0, force=False):
        self.log_interval = log_interval
        self.force = force

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        from tqdm.auto import tqdm

        terminal = hasattr(sys.stderr, "isatty") and sys.stderr.isatty()
        self.bar_ = tqdm(
            total=getattr(net, "epochs_", net.max_epochs), desc=type(net).__name__, unit="epoch", leave=False,
            file=sys.stderr,
            mininterval=0.1 if terminal or self.force else self.log_interval,
        )

    def on_epoch_end(self, net, **kwargs):
        row = net.history[-1]
        self.bar_.set_postfix({k: round(row[k], 4) for k in ("train_loss", "valid_bacc") if k in row}, refresh=False)
        self.bar_.update(1)

    def on_train_end(self, net, X=None, y=None, **kwargs):
        if getattr(self, "bar_", None) is not None:
            self.bar_.close()
        self.bar_ = None


class DivergenceGuard(Callback):
    """Stop a fit that has diverged or died, with a message saying what to change.

    Two failures are caught at the end of an epoch:

    * a non-finite training loss (NaN or inf): raised at once;
    * a dead network: for ``patience`` epochs in a row, its outputs on a fixed probe of up to
      ``n_probe`` training samples (spread over the training set) no longer depend on the input
      (every ReLU silenced by a too-large first step, for example). Such a network cannot
      recover, since no gradient reaches its hidden layers. A network that merely predicts the
      majority class for every input is *not* dead: its outputs still vary with the input, and a
      remedy for the imbalance is what it needs.

    Parameters
    ----------
    patience : int, default=2
        Consecutive epochs of input-independent outputs before the fit is stopped.
    n_probe : int, default=256
        Training samples the outputs are checked on.
    rtol : float, default=1e-5
        Outputs whose spread across the probe is below ``rtol`` times their magnitude (plus a tiny
        absolute floor) count as constant.
    """

    def __init__(self, patience=2, n_probe=256, rtol=1e-5):
        self.patience = patience
        self.n_probe = n_probe
        self.rtol = rtol

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        self.dead_epochs_ = 0
        self.probe_ = None

    def on_epoch_begin(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        if self.probe_ is None and dataset_train is not None and self.n_probe:
            X, indices = getattr(dataset_train, "X", None), getattr(dataset_train, "indices", None)
            if X is None:
                return
            n = len(X) if indices is None else len(indices)
            # Spread over the whole set: data sorted by class may start with many identical rows.
            rows = torch.linspace(0, n - 1, min(self.n_probe, n), device=X.device).long()
            probe = X[rows] if indices is None else X[indices[rows]]
            # Identical inputs give identical outputs from any network: nothing to judge by.
            self.probe_ = probe if len(probe) > 1 and not bool((probe == probe[:1]).all()) else None

    def _advice(self, net):
        return (
            f"learning rate {_current_lr(net):.3g} (peak lr={net.lr}, warmup_epochs={net.warmup_epochs_}). "
            "Lower lr, use a longer warm-up (warmup_epochs), clip gradients "
            "(callbacks=[skorch.callbacks.GradientNormClipping(1.0)]) or try optimizer='adamw'; check that the "
            "inputs are finite and of a sensible scale. Switch this check off with "
            "callbacks__divergence_guard=None."
        )

    def on_epoch_end(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        epoch = len(net.history)
        loss = net.history[-1].get("train_loss", 0.0)
        if not np.isfinite(loss):
            raise TrainingDivergedError(f"{type(net).__name__}: the training loss became {loss} in epoch {epoch}, at "
                                        + self._advice(net))
        if self.patience is None or self.probe_ is None or len(self.probe_) < 2:
            return
        if self._outputs_constant(net):
            self.dead_epochs_ += 1
        else:
            self.dead_epochs_ = 0
        if self.dead_epochs_ >= self.patience:
            raise TrainingDivergedError(
                f"{type(net).__name__}: the network died in training: for the last {self.dead_epochs_} epochs (up to "
                f"epoch {epoch}, training loss {loss:.4g}) its outputs were the same for every input, so it predicts "
                f"one class whatever it is shown and cannot learn any more. At " + self._advice(net)
            )

    def _outputs_constant(self, net):
        training = net.module_.training
        net._set_training(False)
        try:
            with torch.no_grad(), net._amp_context():
                out = net.logits_from_output(net.infer(self.probe_)).float()
        finally:
            net._set_training(training)
        if not torch.isfinite(out).all():
            return False  # the loss check reports non-finite values
        spread = (out.max(dim=0).values - out.min(dim=0).values).max()
        scale = out.abs().max()
        return bool(spread <= self.rtol * scale + 1e-12)
