"""Features of :class:`~imbsk.CNNClassifier` that cut across the training loop, one mixin each.

Each mixin overrides a few of skorch's steps and calls ``super()``, in the way skorch's own
``AccelerateMixin`` adds devices and mixed precision, so a subclass can leave one out or replace it.
"""

import numbers
import signal
import threading
import warnings
from contextlib import contextmanager, nullcontext

import numpy as np
import torch
from sklearn.utils import check_random_state
from skorch.callbacks import Callback

__all__ = ["DeviceMixin", "InterruptMixin", "MixedPrecisionMixin", "RandomStateMixin", "ThreadsMixin"]

_AMP_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


class DeviceMixin:
    """``device="auto"``, a device scope for skorch's moves, and pickles that load on any machine.

    The requested ``device`` stays what the user set (``"auto"`` included); the resolved device is the
    fitted attribute ``device_``.
    """

    def _resolve_device(self):
        device = self.device
        if isinstance(device, str) and device == "auto":
            return "cuda" if torch.cuda.is_available() else "cpu"
        try:
            dev = torch.device(device)
        except (RuntimeError, TypeError):
            raise ValueError(
                f"device={device!r} is not a device; use 'auto', 'cpu', 'cuda' or 'cuda:<index>'."
            ) from None
        if dev.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(f"device={device!r} but CUDA is not available here; use device='auto' or 'cpu'.")
        return str(dev)

    @contextmanager
    def _device_scope(self, device):
        # skorch moves modules to ``self.device``; "auto" must be a real device while it does.
        requested = self.device
        self.device = device
        try:
            yield
        finally:
            if self.device == device:
                self.device = requested

    def initialize(self):
        """Build module, criterion and optimiser on the resolved device.

        Returns
        -------
        self
        """
        device = getattr(self, "device_", None) or self._resolve_device()
        self.device_ = device
        with self._device_scope(device):
            return super().initialize()

    def load_params(self, *args, **kwargs):
        """Load saved weights (skorch's ``load_params``) onto the device of this classifier.

        Returns
        -------
        None
        """
        device = getattr(self, "device_", None) or self._resolve_device()
        with self._device_scope(device):
            return super().load_params(*args, **kwargs)

    def __getstate__(self):
        state = super().__getstate__()
        # skorch maps the saved device onto what the loading machine has; it must be a real device.
        state["_device_param"] = state["device"]
        if "device_" in state:
            state["device"] = state["device_"]
        elif state["device"] == "auto":
            state["device"] = "cpu"
        return state

    def __setstate__(self, state):
        requested = state.pop("_device_param", state["device"])
        with warnings.catch_warnings():
            if requested == "auto":
                # "auto" asked for whatever is there; moving a GPU-trained net to CPU is expected.
                warnings.filterwarnings("ignore", message=".*CUDA.*")
                warnings.filterwarnings("ignore", message="Setting self.device.*")
            super().__setstate__(state)
        if "device_" in self.__dict__:
            self.device_ = str(self.device)
        if requested == "auto":
            self.device = requested


class RandomStateMixin:
    """``random_state`` seeds torch inside ``fit`` only; torch's global generator is restored after."""

    def _seed(self):
        if self.random_state is None:
            return None
        return int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))

    @contextmanager
    def _rng_scope(self, seed):
        if seed is None:
            yield
            return
        devices = []
        if torch.device(self.device_).type == "cuda":
            devices = [torch.device(self.device_).index or torch.cuda.current_device()]
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(seed)
            yield


class ThreadsMixin:
    """``n_threads``: torch's number of CPU threads inside ``fit`` and prediction, restored afterwards."""

    @contextmanager
    def _threads_scope(self):
        n_threads = getattr(self, "n_threads", None)
        if n_threads is None:
            yield
            return
        if isinstance(n_threads, bool) or not isinstance(n_threads, numbers.Integral) or n_threads < 1:
            # Also reached by predict after set_params, where fit's parameter validation does not run.
            raise ValueError(f"n_threads must be a positive int or None; got n_threads={n_threads!r}.")
        # torch's OpenMP thread count is kept per calling thread once that thread has run torch code, so
        # the calling thread's own count is the one to save and put back.
        saved = torch.get_num_threads()
        if saved == n_threads:
            yield
            return
        torch.set_num_threads(int(n_threads))
        try:
            yield
        finally:
            torch.set_num_threads(saved)


class MixedPrecisionMixin:
    """Autocast on CUDA (``precision``), with gradient scaling for fp16; CPU training stays fp32."""

    def _amp_context(self):
        dtype = getattr(self, "amp_dtype_", None)
        if dtype is None or torch.device(self.device_).type != "cuda":
            return nullcontext()
        return torch.autocast("cuda", dtype=_AMP_DTYPES[dtype])

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        super().on_train_begin(net, X=X, y=y, **kwargs)
        dtype = None
        if torch.device(self.device_).type == "cuda" and self.precision != "fp32":
            dtype = self.precision
            if dtype == "auto":
                dtype = "bf16" if torch.cuda.is_bf16_supported() else "fp16"
        self.amp_dtype_ = dtype
        self.grad_scaler_ = torch.amp.GradScaler("cuda") if dtype == "fp16" else None

    def on_train_end(self, net, X=None, y=None, **kwargs):
        # Holds device tensors and is only needed while training.
        self.grad_scaler_ = None
        super().on_train_end(net, X=X, y=y, **kwargs)

    def backward(self, loss):
        """Back-propagate ``loss`` (scaled when fp16 gradient scaling is on)."""
        scaler = getattr(self, "grad_scaler_", None)
        (scaler.scale(loss) if scaler is not None else loss).backward()

    def _step_optimizer(self, step_fn):
        scaler = getattr(self, "grad_scaler_", None)
        if scaler is None:
            return super()._step_optimizer(step_fn)
        for name in self._optimizers:
            scaler.step(getattr(self, name + "_"))
        scaler.update()
        return None


class _Interrupted(Exception):
    """Carries a Ctrl-C past skorch's ``partial_fit``, which would swallow a ``KeyboardInterrupt``."""


@contextmanager
def _watch_sigint():
    """Tell a real Ctrl-C from the ``KeyboardInterrupt`` that skorch's ``EarlyStopping`` raises to stop."""
    state = {"hit": None}
    if threading.current_thread() is threading.main_thread() and (
        signal.getsignal(signal.SIGINT) is signal.default_int_handler
    ):
        state["hit"] = False

        def handler(signum, frame):
            state["hit"] = True
            signal.default_int_handler(signum, frame)

        signal.signal(signal.SIGINT, handler)
        try:
            yield state
        finally:
            signal.signal(signal.SIGINT, signal.default_int_handler)
    else:
        yield state


def _raised_by_callback(exc):
    tb = exc.__traceback__
    while tb.tb_next is not None:
        tb = tb.tb_next
    return isinstance(tb.tb_frame.f_locals.get("self"), Callback)


class InterruptMixin:
    """Ctrl-C stops the whole run: skorch's ``partial_fit`` would swallow the ``KeyboardInterrupt``.

    With ``on_interrupt="raise"`` the callbacks still clean up (``on_train_end``), then the interrupt
    propagates out of ``fit``, so ``cross_validate``, a grid search or a script stops too. With
    ``"stop"``, skorch's behaviour: training ends and ``fit`` returns. skorch's ``EarlyStopping``
    stops training by raising ``KeyboardInterrupt`` too; that one is never taken for a Ctrl-C.
    """

    @contextmanager
    def _interruptible(self, dataset, codes):
        try:
            with _watch_sigint() as self._sigint:
                yield
        except _Interrupted:
            self.notify("on_train_end", X=dataset, y=codes)  # the clean-up skorch would have run
            raise KeyboardInterrupt from None
        finally:
            self.__dict__.pop("_sigint", None)

    def fit_loop(self, X, y=None, epochs=None, **fit_params):
        """skorch's loop over epochs; a Ctrl-C ends the whole run unless ``on_interrupt="stop"``.

        Returns
        -------
        self
        """
        try:
            return super().fit_loop(X, y, epochs=epochs, **fit_params)
        except KeyboardInterrupt as exc:
            hit = getattr(self, "_sigint", {}).get("hit")
            user = hit if hit is not None else not _raised_by_callback(exc)
            if not user or self.on_interrupt == "stop":
                raise  # skorch's partial_fit ends training and keeps the network (EarlyStopping's way to stop)
            raise _Interrupted from None
