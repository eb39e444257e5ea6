"""Features of :class:`~imbsk.CNNClassifier` that cut across the training loop, one mixin each.

Each mixin overrides a few of skorch's steps and calls ``super()``, in the way skorch's own
``AccelerateMixin`` adds devices and mixed precision, so a subclass can leave one out or replace it.
"""

import warnings
from contextlib import contextmanager, nullcontext

import numpy as np
import torch
from sklearn.utils import check_random_state

__all__ = ["DeviceMixin", "MixedPrecisionMixin", "RandomStateMixin"]

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
