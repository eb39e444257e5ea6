"""Building the network, its input normaliser and the loss for the data of a ``fit``."""

import inspect

import numpy as np
import torch
from torch import nn

__all__ = ["Normalizer", "accepted_kwargs", "build", "check_kwargs", "probe_module"]


class Normalizer(nn.Module):
    """Convert a batch to float32 and standardise it with statistics learned in ``fit``."""

    def __init__(self, mean, std, channels_last=False, flatten=False):
        super().__init__()
        mean = torch.as_tensor(np.asarray(mean, dtype=np.float32))
        std = torch.as_tensor(np.asarray(std, dtype=np.float32))
        self.register_buffer("scale", 1.0 / std)
        self.register_buffer("shift", -mean / std)
        self.identity = bool(torch.all(mean == 0) and torch.all(std == 1))
        self.channels_last = channels_last
        self.flatten = flatten

    def forward(self, x):
        x = x.float()
        if not self.identity:
            shape = (1, -1) + (1,) * (x.ndim - 2)
            x = torch.addcmul(self.shift.view(shape), x, self.scale.view(shape))
        if self.channels_last and x.ndim == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        if self.flatten:
            x = x.flatten(1)
        return x


def accepted_kwargs(cls):
    """Names of the keyword arguments of ``cls.__init__``, or None if it takes ``**kwargs``."""
    params = inspect.signature(cls.__init__).parameters.values()
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return None
    return {p.name for p in params if p.name != "self" and p.kind is not p.VAR_POSITIONAL}


def check_kwargs(prefix, cls, kwargs):
    accepted = accepted_kwargs(cls)
    if accepted is None:
        return
    unknown = sorted(set(kwargs) - accepted)
    if unknown:
        raise ValueError(
            f"{', '.join(prefix + '__' + k for k in unknown)}: not a parameter of {cls.__name__}; "
            f"it accepts {', '.join(sorted(accepted)) or 'no parameters'}."
        )


def build(prefix, cls, all_kwargs, user_kwargs):
    """Instantiate a module or criterion; a rejected value is reported under the user's parameter names."""
    try:
        return cls(**all_kwargs)
    except (TypeError, ValueError) as exc:
        given = ", ".join(f"{prefix}__{k}={v!r}" for k, v in user_kwargs.items()) or "no parameters"
        raise ValueError(f"{cls.__name__} could not be built from {given}: {exc}") from exc


def probe_module(module, normalizer, input_shape, classes, name, what, logits_from_output):
    """Run two blank samples through a new network: a shape it cannot take fails here, clearly.

    Parameters
    ----------
    module : torch.nn.Module
        The freshly built network.
    normalizer : Normalizer
        The input normaliser of the classifier.
    input_shape : tuple
        Shape of one sample.
    classes : ndarray
        The class labels; the network must return one logit per class.
    name : str
        How the module is named in messages (the parameter and its class).
    what : str
        How the input is described in messages.
    logits_from_output : callable
        Picks the logits from the module's output.

    Raises
    ------
    ValueError
        If the forward pass fails, or the output is not one logit per class.
    """
    training = module.training
    module.eval()
    x = normalizer(torch.zeros((2,) + tuple(input_shape)))
    x = x.to(next(module.parameters(), x).device)
    try:
        with torch.no_grad():
            out = logits_from_output(module(x))
    except (RuntimeError, ValueError, IndexError) as exc:
        raise ValueError(
            f"{name} cannot take {what}: {exc}. Use larger images (for example up-sample them) or a module built "
            "for this input size."
        ) from None
    finally:
        module.train(training)
    if out.ndim != 2 or out.shape[1] != len(classes):
        raise ValueError(
            f"{name} returns outputs of shape {tuple(out.shape[1:])} per sample, but there are {len(classes)} "
            f"classes {np.asarray(classes).tolist()}: the module must return one logit per class (set its output "
            "size, or accept n_classes)."
        )
